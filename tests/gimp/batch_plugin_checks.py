# Batch script run INSIDE a real GIMP 3.0 by tests/test_gimp_plugin.py:
#   gimp-console-3.0 -i -n --batch-interpreter=python-fu-eval -b - --quit < this
# It calls python-fu-kmq-quantize in many situations, dumps the layers' pixels before
# and after as .npy (GIMP's python has numpy) and writes results.json; the test
# compares everything with kmq_core computed on the host. Before each plug-in call it
# writes "=== SCENARIO <name>" to stderr, where the plug-in logs how it reached the core.
import json
import os
import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp, Gio, GLib  # noqa: E402

import numpy as np  # noqa: E402

IN, OUT = os.environ["KMQ_IN"], os.environ["KMQ_OUT"]
PDB = Gimp.get_pdb()
PROC_NAME = "python-fu-kmq-quantize"
CFG_PATH = os.path.join(Gimp.directory(), "plug-ins", "kmq-quantize", "kmq-quantize.json")
U8 = Babl.format("R'G'B' u8")
results = {}


def load(name):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.path.join(IN, name)))


def dump(name, drawable, fmt, nch, dtype):
    w, h = drawable.get_width(), drawable.get_height()
    raw = drawable.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
    np.save(os.path.join(OUT, name + ".npy"), np.frombuffer(raw, dtype).reshape(h, w, nch))


def palette_entries(name):
    pal = Gimp.Palette.get_by_name(name) if name else None
    if pal is None:
        return None
    return [[pal.get_entry_name(i)[1], list(c.get_bytes(U8).get_data())]
            for i, c in enumerate(pal.get_colors())]


def run(scenario, image, drawables=None, **props):
    print("=== SCENARIO %s" % scenario, file=sys.stderr, flush=True)
    proc = PDB.lookup_procedure(PROC_NAME)
    cfg = proc.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", drawables or [image.get_layers()[0]])
    for k, v in props.items():
        if k == "palette_file":
            cfg.set_property("palette-file", Gio.File.new_for_path(os.path.join(OUT, v)))
        else:
            cfg.set_property(k.replace("_", "-"), v)
    n_pal_before = len(Gimp.palettes_get_list(""))
    r = proc.run(cfg)
    vals = [r.index(i) for i in range(1, r.length())]
    status = r.index(0)
    res = {
        "status": status.value_nick if hasattr(status, "value_nick") else str(status),
        "success": status == Gimp.PDBStatusType.SUCCESS,
        "values": [v if isinstance(v, (int, str)) else str(v) for v in vals],
        "base_type": str(image.get_base_type().value_nick),
        "new_palettes": len(Gimp.palettes_get_list("")) - n_pal_before,
    }
    if res["success"]:
        res["palette"] = palette_entries(vals[0])
    results[scenario] = res
    print("=== END %s %s" % (scenario, res["status"]), file=sys.stderr, flush=True)
    return res


def set_config(cfg):
    with open(CFG_PATH, "w") as f:
        json.dump(cfg, f)


# ---------------------------------------------------------------- registration
proc = PDB.lookup_procedure(PROC_NAME)
results["registration"] = {
    "found": proc is not None,
    "menu_paths": list(proc.get_menu_paths()) if proc else [],
    "menu_label": proc.get_menu_label() if proc else "",
    "image_types": proc.get_image_types() if proc else "",
    "arguments": [a.name for a in proc.get_arguments()] if proc else [],
    "return_values": [a.name for a in proc.get_return_values()] if proc else [],
}
installed_config = json.load(open(CFG_PATH))

# ---------------------------------------------------------------- core imported in GIMP's Python
img = load("a.png")
layer = img.get_layers()[0]
dump("rgb_before", layer, "R'G'B' u8", 3, np.uint8)
run("rgb", img, k=12, space="lab", palette_name="KMQ test rgb", palette_file="rgb.gpl")
dump("rgb_after", layer, "R'G'B' u8", 3, np.uint8)

img = load("a.png")
layer = img.get_layers()[0]
run("rgb_fs", img, k=6, space="oklab", dither="fs", seed=3, lock="#ff0000",
    add_palette=False, palette_file="rgb_fs.ase")
dump("rgb_fs_after", layer, "R'G'B' u8", 3, np.uint8)

img = load("b.png")
layer = img.get_layers()[0]
dump("rgba_before", layer, "R'G'B'A u8", 4, np.uint8)
run("rgba", img, k=7)
dump("rgba_after", layer, "R'G'B'A u8", 4, np.uint8)

img = load("g.png")
layer = img.get_layers()[0]
results["gray_loaded_as"] = str(img.get_base_type().value_nick)
dump("gray_before", layer, "Y' u8", 1, np.uint8)
run("gray", img, k=5)
dump("gray_after", layer, "Y' u8", 1, np.uint8)

img = load("a.png")
layer = img.get_layers()[0]
img.select_ellipse(Gimp.ChannelOps.REPLACE, 40, 60, 150, 110)
dump("sel_mask", img.get_selection(), "Y u8", 1, np.uint8)
run("sel", img, k=10)
dump("sel_after", layer, "R'G'B' u8", 3, np.uint8)

img = load("a.png")   # the same with the layer moved: selection (image coords) vs layer coords
layer = img.get_layers()[0]
layer.set_offsets(30, 20)
img.select_ellipse(Gimp.ChannelOps.REPLACE, 40, 60, 150, 110)
dump("sel_off_mask", img.get_selection(), "Y u8", 1, np.uint8)
run("sel_off", img, k=10)
dump("sel_off_after", layer, "R'G'B' u8", 3, np.uint8)


def make_u16(name):
    img = load("b.png")
    img.convert_precision(Gimp.Precision.U16_NON_LINEAR)
    layer = img.get_layers()[0]
    w, h = layer.get_width(), layer.get_height()
    rect = Gegl.Rectangle.new(0, 0, w, h)
    buf = layer.get_buffer()
    arr = np.frombuffer(buf.get(rect, 1.0, "R'G'B'A u16", Gegl.AbyssPolicy.CLAMP), np.uint16).reshape(h, w, 4).copy()
    yy, xx = np.mgrid[0:h, 0:w]
    arr[..., 3] = ((xx * 263 + yy * 7) % 65536).astype(np.uint16)   # not multiples of 257
    arr[:8, :8, 3] = 0
    buf.set(rect, "R'G'B'A u16", arr.tobytes())
    buf.flush()
    layer.update(0, 0, w, h)
    results[name + "_precision"] = str(img.get_precision().value_nick)
    dump(name + "_before", layer, "R'G'B'A u16", 4, np.uint16)
    return img, layer


img, layer = make_u16("u16")
run("u16", img, k=8)
dump("u16_after", layer, "R'G'B'A u16", 4, np.uint16)
results["u16_precision_after"] = str(img.get_precision().value_nick)

img = load("a.png")
layer = img.get_layers()[0]
Gimp.context_set_foreground(Gegl.Color.new("#ff0000"))
Gimp.context_set_background(Gegl.Color.new("#0000ff"))
run("fgbg", img, k=5, lock="#00ff00", lock_fg_bg=True)
dump("fgbg_after", layer, "R'G'B' u8", 3, np.uint8)

# moods and emphasis (kmq's importance masks): a mood; the layer's mask; a saved channel on a
# moved layer (a channel covers the image, the layer's pixels are offset)
def paint(drawable, array):
    w, h = drawable.get_width(), drawable.get_height()
    buf = drawable.get_buffer()
    buf.set(Gegl.Rectangle.new(0, 0, w, h), "Y u8", np.ascontiguousarray(array, np.uint8).tobytes())
    buf.flush()
    drawable.update(0, 0, w, h)


img = load("a.png")
layer = img.get_layers()[0]
run("mood", img, k=6, mood="muted")
dump("mood_after", layer, "R'G'B' u8", 3, np.uint8)

img = load("a.png")
layer = img.get_layers()[0]
w, h = layer.get_width(), layer.get_height()
lmask = layer.create_mask(Gimp.AddMaskType.WHITE)
layer.add_mask(lmask)
emph = np.zeros((h, w), np.uint8)
emph[150:230, 60:200] = 255   # the lower part: a small region decides the palette
emph[20:60, 20:60] = 128
paint(lmask, emph)
dump("emph_mask", lmask, "Y u8", 1, np.uint8)
run("emph_mask", img, k=4, emphasis="layer-mask")
dump("emph_mask_after", layer, "R'G'B' u8", 3, np.uint8)

img = load("a.png")
layer = img.get_layers()[0]
layer.set_offsets(30, 20)
iw, ih = img.get_width(), img.get_height()
channel = Gimp.Channel.new(img, "subject", iw, ih, 100.0, Gegl.Color.new("#000000"))
img.insert_channel(channel, None, 0)
ch = np.zeros((ih, iw), np.uint8)
ch[170:250, 90:230] = 255    # image coordinates
paint(channel, ch)
dump("emph_channel", channel, "Y u8", 1, np.uint8)
run("emph_channel", img, k=4, emphasis="channel", emphasis_channel=channel, mood="bright")
dump("emph_channel_after", layer, "R'G'B' u8", 3, np.uint8)

img = load("a.png")
run("err_emph_no_mask", img, k=4, emphasis="layer-mask")
run("err_emph_no_channel", img, k=4, emphasis="channel")
dump("err_emph_after", img.get_layers()[0], "R'G'B' u8", 3, np.uint8)

# frames as layers (GIMP's animations): three layers, the second moved and translucent, the third
# with an orange the first lacks; frames=all gives them ONE palette fitted to all three together
def frames_image(group=False):
    img = load("f1.png")   # the bottom layer: frame 1
    parent = None
    if group:
        parent = Gimp.GroupLayer.new(img, "frames")
        img.insert_layer(parent, None, 0)
        bottom = img.get_layers()[1]
        img.reorder_item(bottom, parent, 0)
    for name, off in (("f2.png", (8, 4)), ("f3.png", (0, 0))):
        lay = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(os.path.join(IN, name)))
        img.insert_layer(lay, parent, 0)
        lay.set_offsets(*off)
    return img, (parent.get_children() if group else img.get_layers())   # top first: f3, f2, f1


def dump_frames(prefix, layers):
    info = []
    for i, lay in enumerate(layers):
        alpha = lay.has_alpha()
        dump("%s_%d" % (prefix, i), lay, "R'G'B'A u8" if alpha else "R'G'B' u8", 4 if alpha else 3, np.uint8)
        info.append({"name": lay.get_name(), "offsets": list(lay.get_offsets()[1:]), "alpha": alpha})
    results[prefix + "_layers"] = info


img, frames = frames_image()
dump_frames("frames_before", frames)
run("frames_all", img, drawables=[frames[-1]], k=6, frames="all", palette_name="KMQ frames")
dump_frames("frames_all_after", frames)
img, frames = frames_image()
run("frames_layer1", img, drawables=[frames[-1]], k=6)   # the default: the selected layer alone
dump_frames("frames_layer1_after", frames)
img, frames = frames_image(group=True)
results["frames_group_parent"] = frames[0].get_parent().get_name()
dump_frames("frames_group_before", frames)
run("frames_group", img, drawables=[frames[0].get_parent()], k=6)   # a group: its layers, one palette
dump_frames("frames_group_after", frames)
img, frames = frames_image()
run("err_frames_quality", img, drawables=[frames[-1]], k=6, frames="all", quality="80-90")
dump_frames("err_frames_after", frames)

# errors: each must be an error status with a message, and leave the layer alone
img = load("a.png")
layer = img.get_layers()[0]
run("err_k300", img, k=300)
run("err_k0", img, k=0)
run("err_seed", img, seed=-1)
run("err_lock", img, lock="#12345g")
run("err_lock_k", img, k=2, lock="#ff0000,#00ff00,#0000ff")
run("err_ext", img, k=4, palette_file="pal.xyz")
dump("err_after", layer, "R'G'B' u8", 3, np.uint8)
grp_img = load("a.png")
grp_img.insert_layer(Gimp.GroupLayer.new(grp_img, "group"), None, 0)
run("err_group", grp_img, k=4)

# ---------------------------------------------------------------- core as a subprocess
sub_config = {k: v for k, v in installed_config.items() if k != "kmq_core_path"}
set_config(sub_config)
img = load("a.png")
layer = img.get_layers()[0]
run("sub_rgb", img, k=12, space="lab", palette_name="KMQ test sub", palette_file="sub.gpl")
dump("sub_rgb_after", layer, "R'G'B' u8", 3, np.uint8)

img = load("a.png")
layer = img.get_layers()[0]
img.select_ellipse(Gimp.ChannelOps.REPLACE, 40, 60, 150, 110)
run("sub_sel", img, k=10)
dump("sub_sel_after", layer, "R'G'B' u8", 3, np.uint8)

img, layer = make_u16("sub_u16")
run("sub_u16", img, k=8)
dump("sub_u16_after", layer, "R'G'B'A u16", 4, np.uint16)

img = load("a.png")   # the emphasis (a layer mask) and a mood through the subprocess
layer = img.get_layers()[0]
lmask = layer.create_mask(Gimp.AddMaskType.WHITE)
layer.add_mask(lmask)
paint(lmask, emph)
run("sub_emph", img, k=4, emphasis="layer-mask", mood="muted")
dump("sub_emph_after", layer, "R'G'B' u8", 3, np.uint8)

img, frames = frames_image()
run("sub_frames_all", img, drawables=[frames[-1]], k=6, frames="all", palette_name="KMQ frames sub")
dump_frames("sub_frames_all_after", frames)

img = load("a.png")
layer = img.get_layers()[0]
run("sub_err_ext", img, k=4, palette_file="pal.xyz")
dump("sub_err_after", layer, "R'G'B' u8", 3, np.uint8)

set_config({"python": "/nonexistent/bin/python3"})
run("err_bad_python", img, k=4)
set_config({})
run("err_no_core", img, k=4)
set_config(installed_config)

with open(os.path.join(OUT, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
print("batch checks done", file=sys.stderr, flush=True)
