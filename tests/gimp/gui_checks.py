# Batch script run INSIDE GIMP 3's GUI (under Xvfb) by tests/gimp/gui_controller.py.
# It opens a.png in an image window and calls python-fu-kmq-quantize INTERACTIVELY
# twice: the controller cancels the first dialog (Escape) and accepts the second
# (Return), then presses Ctrl+Z in the image window; pixels are dumped at each stage.
import json
import os
import sys
import time

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

import numpy as np  # noqa: E402

IN, OUT = os.environ["KMQ_IN"], os.environ["KMQ_OUT"]
results = {}


def signal(name):
    open(os.path.join(OUT, name), "w").close()


def wait(name, timeout=90):
    t = time.time()
    while not os.path.exists(os.path.join(OUT, name)):
        if time.time() - t > timeout:
            raise RuntimeError("controller never signalled " + name)
        time.sleep(0.2)


def dump(name, drawable):
    w, h = drawable.get_width(), drawable.get_height()
    raw = drawable.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, "R'G'B' u8", Gegl.AbyssPolicy.CLAMP)
    np.save(os.path.join(OUT, name + ".npy"), np.frombuffer(raw, np.uint8).reshape(h, w, 3))


def run_interactive(image, **props):
    proc = Gimp.get_pdb().lookup_procedure("python-fu-kmq-quantize")
    cfg = proc.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", [image.get_layers()[0]])
    for k, v in props.items():  # the dialog opens with these
        cfg.set_property(k, v)
    r = proc.run(cfg)
    st = r.index(0)
    return {"status": st.value_nick, "values": [v if isinstance(v, (int, str)) else str(v)
                                               for v in (r.index(i) for i in range(1, r.length()))]}


image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.path.join(IN, "a.png")))
layer = image.get_layers()[0]
display = Gimp.Display.new(image)
Gimp.displays_flush()
dump("before", layer)
# a layer mask: the first dialog opens with the mood "muted" and the layer mask as the emphasis
w, h = layer.get_width(), layer.get_height()
lmask = layer.create_mask(Gimp.AddMaskType.WHITE)
layer.add_mask(lmask)
emph = np.full((h, w), 40, np.uint8)
emph[h // 3:, w // 4: 3 * w // 4] = 255
lmask.get_buffer().set(Gegl.Rectangle.new(0, 0, w, h), "Y u8", emph.tobytes())
lmask.get_buffer().flush()
lmask.update(0, 0, w, h)
np.save(os.path.join(OUT, "emphasis.npy"), emph)
Gimp.displays_flush()
signal("image-shown")
results["cancel"] = run_interactive(image, mood="muted", emphasis="layer-mask")
dump("after_cancel", layer)
results["ok"] = run_interactive(image)
dump("after_ok", layer)
results["base_type"] = image.get_base_type().value_nick
signal("ready-for-undo")
wait("undone")
before = np.load(os.path.join(OUT, "before.npy"))
t = time.time()
while time.time() - t < 20:  # give a busy GUI time to process the key press
    w, h = layer.get_width(), layer.get_height()
    raw = layer.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, "R'G'B' u8", Gegl.AbyssPolicy.CLAMP)
    if np.array_equal(np.frombuffer(raw, np.uint8).reshape(h, w, 3), before):
        break
    time.sleep(0.5)
dump("after_undo", layer)
with open(os.path.join(OUT, "gui_results.json"), "w") as f:
    json.dump(results, f)
signal("done")
print("gui checks done", file=sys.stderr, flush=True)
