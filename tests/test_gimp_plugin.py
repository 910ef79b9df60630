"""The GIMP 3 plug-in inside a real GIMP 3.0.4 (Debian trixie chroot, tests/gimp_harness.py).

One GIMP session (tests/gimp/batch_plugin_checks.py) calls python-fu-kmq-quantize in
every situation below and dumps the pixels; each test compares one aspect with
kmq_core computed here on the host. The core is reached both ways in that session:
imported into GIMP's own Python 3.13 (the path `kmq gimp install` records; the chroot
has numpy/OpenCV/scikit-image/Pillow from Debian), and as a subprocess running the
very interpreter that runs these tests (bind-mounted into the chroot at the same
path), as users whose GIMP Python lacks kmq get it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data

import kmq_core
from gimp_harness import (REPO, gimp_import_palette, gimp_load_gpl, gimp_root, host_python_usable_in_root,
                          run_gimp_script)
from kmq_core import gimp_install

BATCH = REPO / "tests" / "gimp" / "batch_plugin_checks.py"
SIZE = 256


def _png(arr: np.ndarray) -> bytes:
    if arr.ndim == 3:
        arr = arr[..., [2, 1, 0, 3][: arr.shape[2]]] if arr.shape[2] == 4 else arr[..., ::-1]
    ok, data = cv2.imencode(".png", np.ascontiguousarray(arr))
    assert ok
    return data.tobytes()


def _inputs() -> dict[str, bytes]:
    a = cv2.resize(skimage.data.astronaut(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    alpha = ((xx + yy) * 255 // (2 * SIZE - 2)).astype(np.uint8)
    alpha[100:140, 100:140] = 0
    alpha[:, -20:] = 255
    b = np.dstack([a, alpha])
    g = cv2.resize(skimage.data.camera(), (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    f1, f2, f3 = _frames()
    return {"a.png": _png(a), "b.png": _png(b), "g.png": _png(g), "f1.png": _png(f1), "f2.png": _png(f2),
            "f3.png": _png(f3)}


#: the colour the third frame adds (the astronaut photo has nothing near it)
GREEN = (0, 255, 0)


def _frames() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three frames of a little animation: a pan over the photo; the second translucent in parts
    (and moved by (8, 4) in GIMP); the third with a green square the first lacks."""
    a = cv2.resize(skimage.data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    f1, f3 = a[:96, :96].copy(), a[:96, 8:104].copy()
    f3[50:80, 10:40] = GREEN
    yy, xx = np.mgrid[0:96, 0:96]
    alpha = (64 + (xx + yy) * 191 // 190).astype(np.uint8)
    alpha[10:30, 60:90] = 0
    f2 = np.dstack([a[:96, 4:100], alpha])
    return f1, f2, f3


class Session:
    def __init__(self, outdir: Path, stderr: str, python: str):
        self.outdir = outdir
        self.stderr = stderr
        self.python = python
        self.results = json.loads((outdir / "results.json").read_text())

    def npy(self, name: str) -> np.ndarray:
        return np.load(self.outdir / f"{name}.npy")

    def log(self, scenario: str) -> str:
        m = re.search(rf"=== SCENARIO {re.escape(scenario)}\n(.*?)=== END {re.escape(scenario)} ",
                      self.stderr, re.S)
        assert m, f"no log for {scenario}"
        return m.group(1)

    def ok(self, scenario: str) -> dict:
        r = self.results[scenario]
        assert r["success"], (scenario, r, self.log(scenario))
        return r


@pytest.fixture(scope="module")
def session() -> Session:
    gimp_root()
    if host_python_usable_in_root():
        python = sys.executable  # the host interpreter, bind-mounted at the same path
    else:  # e.g. a system Python under /usr: use the chroot's python3 with the repo on its path
        python = "/opt/kmq-test-python"

    def setup(profile: Path) -> None:
        target = gimp_install.install(profile / "plug-ins", python=sys.executable)
        assert target.stat().st_mode & 0o111
        cfg = json.loads((target.parent / gimp_install.CONFIG_NAME).read_text())
        if python != sys.executable:
            wrapper = gimp_root() / python.lstrip("/")
            wrapper.write_text(f'#!/bin/sh\nPYTHONPATH={REPO} exec /usr/bin/python3 "$@"\n')
            wrapper.chmod(0o755)
            cfg["python"] = python
            (target.parent / gimp_install.CONFIG_NAME).write_text(json.dumps(cfg))

    r = run_gimp_script(BATCH.read_text(), files=_inputs(), setup=setup, timeout=900)
    assert r.returncode == 0 and (r.outdir / "results.json").exists(), r.stdout[-3000:] + r.stderr[-6000:]
    return Session(r.outdir, r.stderr, python)


# ---------------------------------------------------------------- registration
def test_registered_under_filters_colors(session):
    reg = session.results["registration"]
    assert reg["found"]
    assert reg["menu_paths"] == ["<Image>/Filters/Colors"]
    assert reg["menu_label"].replace("_", "") == "K-means Quantize\u2026"
    assert reg["image_types"] == "RGB*, GRAY*"
    assert reg["arguments"] == ["run-mode", "image", "drawables", "k", "space", "dither", "bayer-size", "seed",
                                "lock", "lock-fg-bg", "quality", "add-palette", "palette-name", "palette-file",
                                "mood", "emphasis", "emphasis-channel", "frames"]
    assert reg["return_values"] == ["palette-name", "colors", "palette-file"]


# ---------------------------------------------------------------- the core imported in GIMP's Python
def test_rgb_layer_equals_core_result(session):
    r = session.ok("rgb")
    assert "core via import" in session.log("rgb")
    before, after = session.npy("rgb_before"), session.npy("rgb_after")
    expected = kmq_core.quantize(before, 12, space="lab")
    assert np.array_equal(after, expected.image)
    assert len(np.unique(after.reshape(-1, 3), axis=0)) <= 12
    assert r["base_type"] == "rgb"  # not converted to indexed
    assert r["values"][1] == len(expected.palette)


def test_palette_added_to_gimp(session):
    r = session.ok("rgb")
    before = session.npy("rgb_before")
    expected = kmq_core.quantize(before, 12, space="lab").palette
    assert r["values"][0] == "KMQ test rgb"
    assert r["new_palettes"] == 1
    assert r["palette"] == [[n, list(map(int, c))] for n, c in zip(expected.names, expected.colors)]
    assert len(r["palette"]) == 12


def test_exported_gpl_loads_in_gimp(session):
    expected = kmq_core.quantize(session.npy("rgb_before"), 12, space="lab").palette
    assert session.results["rgb"]["values"][2].endswith("/rgb.gpl")
    name, entries = gimp_load_gpl(session.outdir / "rgb.gpl")
    assert name == "KMQ test rgb"
    assert [c for _, c in entries] == [tuple(map(int, c)) for c in expected.colors]


def test_dither_oklab_lock_and_ase_export(session):
    r = session.ok("rgb_fs")
    assert r["new_palettes"] == 0 and r["values"][0] == ""  # add-palette off
    expected = kmq_core.quantize(session.npy("rgb_before"), 6, space="oklab", dither="fs", seed=3, lock="#ff0000")
    assert np.array_equal(session.npy("rgb_fs_after"), expected.image)
    assert [255, 0, 0] in expected.palette.colors.tolist()
    name, entries = gimp_import_palette(session.outdir / "rgb_fs.ase")
    assert [c for _, c in entries] == [tuple(map(int, c)) for c in expected.palette.colors]


def test_rgba_keeps_alpha(session):
    session.ok("rgba")
    before, after = session.npy("rgba_before"), session.npy("rgba_after")
    assert (before[..., 3] == 0).any() and (before[..., 3] == 128).any()
    assert np.array_equal(after[..., 3], before[..., 3])
    expected = kmq_core.quantize(before, 7, count_alpha=False)  # a layer: k counts colours, alpha kept
    visible = before[..., 3] > 0
    assert np.array_equal(after[visible], expected.image[visible])
    assert len(np.unique(after[..., :3][visible], axis=0)) <= 7


def test_grayscale_layer(session):
    r = session.ok("gray")
    assert session.results["gray_loaded_as"] == "gray" and r["base_type"] == "gray"
    before, after = session.npy("gray_before")[..., 0], session.npy("gray_after")[..., 0]
    expected = kmq_core.quantize(before, 5)
    assert np.array_equal(after, expected.image[..., 0])
    assert len(np.unique(after)) <= 5
    assert all(c[1][0] == c[1][1] == c[1][2] for c in r["palette"])  # a gray palette


def _check_selection(session, scenario: str, after_name: str, mask: np.ndarray | None = None) -> None:
    session.ok(scenario)
    mask = session.npy("sel_mask")[..., 0] if mask is None else mask
    before, after = session.npy("rgb_before"), session.npy(after_name)
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box_mask = mask[y0:y1, x0:x1]
    assert (box_mask == 0).any(), "an ellipse leaves unselected pixels inside its bounding box"
    outside = mask == 0
    assert np.array_equal(after[outside], before[outside])
    # the palette is fitted to the selected pixels only (unselected ones get alpha 0 for the core)
    core_in = np.dstack([before[y0:y1, x0:x1], np.where(box_mask > 0, 255, 0).astype(np.uint8)])
    expected = kmq_core.quantize(core_in, 10, count_alpha=False).image[..., :3]
    full = box_mask == 255
    assert np.array_equal(after[y0:y1, x0:x1][full], expected[full])
    assert (after[mask == 255] != before[mask == 255]).any()


def test_selection_respected(session):
    _check_selection(session, "sel", "sel_after")


def test_selection_on_a_moved_layer(session):
    sel = session.npy("sel_off_mask")[..., 0]  # image coordinates
    offx, offy = 30, 20
    mask = np.zeros((SIZE, SIZE), np.uint8)  # in layer coordinates
    mask[: SIZE - offy, : SIZE - offx] = sel[offy:, offx:]
    assert mask.sum() == sel.sum()  # the ellipse lies on the layer
    _check_selection(session, "sel_off", "sel_off_after", mask)


def _check_u16(session, scenario: str) -> None:
    session.ok(scenario)
    assert session.results[scenario + "_precision"] == "u16-non-linear"
    before, after = session.npy(scenario + "_before"), session.npy(scenario + "_after")
    assert np.array_equal(after[..., 3], before[..., 3]), "16-bit alpha must survive untouched"
    assert (before[..., 3] % 257 != 0).any()
    assert (before[..., :3] % 257 == 0).all()  # converted from 8-bit, so the expectation is exact
    rgb8 = (before[..., :3] // 257).astype(np.uint8)
    a8 = np.clip(np.rint(before[..., 3] / 257.0), 0, 255).astype(np.uint8)
    expected = kmq_core.quantize(np.dstack([rgb8, a8]), 8, count_alpha=False).image[..., :3]
    assert (after[..., :3] % 257 == 0).all()  # exactly the 8-bit palette colours
    assert np.array_equal((after[..., :3] // 257).astype(np.uint8), expected)


def test_high_bit_depth_keeps_precision_and_alpha(session):
    _check_u16(session, "u16")
    assert session.results["u16_precision_after"] == "u16-non-linear"


def test_lock_foreground_background(session):
    r = session.ok("fgbg")
    expected = kmq_core.quantize(session.npy("rgb_before"), 5, lock="#00ff00,#ff0000,#0000ff")
    assert np.array_equal(session.npy("fgbg_after"), expected.image)
    colors = [c for _, c in r["palette"]]
    for locked in ([0, 255, 0], [255, 0, 0], [0, 0, 255]):
        assert locked in colors


@pytest.mark.parametrize("scenario, words", [
    ("err_k300", ["from 1 to 256", "300"]),
    ("err_k0", ["from 1 to 256", "got 0"]),
    ("err_seed", ["Seed", "-1"]),
    ("err_lock", ["#12345g", "hex code"]),
    ("err_lock_k", ["3 locked colours", "k=2"]),
    ("err_ext", ["xyz"]),
    ("err_group", ["layer group", "no layers"]),
    ("err_frames_quality", ["Quality", "one layer"]),
    ("sub_err_ext", ["xyz"]),
    ("err_bad_python", ["/nonexistent/bin/python3", "kmq gimp install"]),
    ("err_no_core", ["cannot find kmq", "pip install kmq", "kmq gimp install", "KMQ_PYTHON"]),
])
def test_errors_are_clear_execution_errors(session, scenario, words):
    r = session.results[scenario]
    assert r["status"] == "execution-error", r
    message = r["values"][0]
    assert "\n" not in message and "Traceback" not in message
    for w in words:
        assert w in message, (w, message)
    assert "Traceback" not in session.log(scenario)


# ---------------------------------------------------------------- frames as layers: one palette
def _check_frames(session, scenario: str, before: str, after: str) -> np.ndarray:
    """Every layer is the core's result for the three layers' pixels together, pixel for pixel, with
    ONE palette (GIMP's new palette), alpha and offsets kept. Returns the palette's colours."""
    from kmq_core.shared_frames import quantize_frames

    r = session.ok(scenario)
    frames = [session.npy(f"{before}_{i}") for i in range(3)]  # top first: f3, f2, f1
    assert [lay["name"] for lay in session.results[before + "_layers"]] == ["f3.png", "f2.png", "Background"]
    assert [lay["offsets"] for lay in session.results[after + "_layers"]] == [[0, 0], [8, 4], [0, 0]]
    expected = quantize_frames(frames, 6)
    for i, frame in enumerate(frames):
        got = session.npy(f"{after}_{i}")
        assert np.array_equal(got, expected.frames[i].image), f"layer {i}"
        if frame.shape[2] == 4:
            assert np.array_equal(got[..., 3], frame[..., 3]), "alpha kept"
    colors = expected.palette.colors
    assert r["values"][1] == len(colors) == 6
    assert [c for _, c in r["palette"]] == colors.tolist()  # the one palette, in GIMP's Palettes
    used = np.unique(np.concatenate([session.npy(f"{after}_{i}")[..., :3].reshape(-1, 3) for i in range(3)]),
                     axis=0)
    assert {tuple(c) for c in used} <= {tuple(c) for c in colors.tolist()}
    return colors


def _distance_to(colors: np.ndarray, rgb) -> float:
    return float(np.abs(colors.astype(int) - np.array(rgb)).max(axis=1).min())


def test_all_layers_get_one_palette_fitted_to_all_frames(session):
    colors = _check_frames(session, "frames_all", "frames_before", "frames_all_after")
    assert session.results["frames_all"]["values"][0] == "KMQ frames"
    assert _distance_to(colors, GREEN) <= 8, "the third layer's green is in the palette"
    f1 = session.npy("frames_before_2")
    alone = kmq_core.quantize(f1, 6)
    assert _distance_to(alone.palette.colors, GREEN) > 100  # the first layer alone has no green
    # the default (this layer only) quantizes the first layer alone; all layers give it another result
    assert np.array_equal(session.npy("frames_layer1_after_2"), alone.image)
    assert not np.array_equal(session.npy("frames_all_after_2"), alone.image)
    for i in (0, 1):  # the other layers are left alone by the default
        assert np.array_equal(session.npy(f"frames_layer1_after_{i}"), session.npy(f"frames_before_{i}"))


def test_a_layer_group_gets_one_palette_for_its_layers(session):
    assert session.results["frames_group_parent"] == "frames"
    for i in range(3):
        assert np.array_equal(session.npy(f"frames_group_before_{i}"), session.npy(f"frames_before_{i}"))
    colors = _check_frames(session, "frames_group", "frames_group_before", "frames_group_after")
    assert _distance_to(colors, GREEN) <= 8


def test_all_layers_through_the_subprocess(session):
    assert "core via subprocess" in session.log("sub_frames_all")
    _check_frames(session, "sub_frames_all", "frames_before", "sub_frames_all_after")


def test_frames_error_leaves_every_layer_alone(session):
    for i in range(3):
        assert np.array_equal(session.npy(f"err_frames_after_{i}"), session.npy(f"frames_before_{i}"))


# ---------------------------------------------------------------- moods and emphasis
def test_mood(session):
    session.ok("mood")
    before = session.npy("rgb_before")
    expected = kmq_core.quantize(before, 6, mood="muted")
    assert np.array_equal(session.npy("mood_after"), expected.image)
    assert not np.array_equal(expected.image, kmq_core.quantize(before, 6).image)  # the mood mattered


def test_emphasis_from_the_layer_mask(session):
    r = session.ok("emph_mask")
    before, importance = session.npy("rgb_before"), session.npy("emph_mask")[..., 0]
    assert set(np.unique(importance)) == {0, 128, 255}
    expected = kmq_core.quantize(before, 4, importance=importance)
    assert np.array_equal(session.npy("emph_mask_after"), expected.image)
    assert [c for _, c in r["palette"]] == expected.palette.colors.tolist()
    assert not np.array_equal(expected.image, kmq_core.quantize(before, 4).image)  # the emphasis mattered


def test_emphasis_from_a_channel_on_a_moved_layer(session):
    session.ok("emph_channel")
    before, channel = session.npy("rgb_before"), session.npy("emph_channel")[..., 0]
    offx, offy = 30, 20  # the layer's offsets: its pixel (x, y) is the image's (x + 30, y + 20)
    importance = np.zeros((SIZE, SIZE), np.uint8)
    importance[: SIZE - offy, : SIZE - offx] = channel[offy:, offx:]
    assert importance.any() and not importance.all()
    expected = kmq_core.quantize(before, 4, importance=importance, mood="bright")
    assert np.array_equal(session.npy("emph_channel_after"), expected.image)
    assert not np.array_equal(expected.image, kmq_core.quantize(before, 4, mood="bright").image)


@pytest.mark.parametrize("scenario, words", [
    ("err_emph_no_mask", ["no mask", "Add Layer Mask"]),
    ("err_emph_no_channel", ["no channel is chosen", "Save to Channel"]),
])
def test_emphasis_errors(session, scenario, words):
    r = session.results[scenario]
    assert r["status"] == "execution-error", r
    for w in words:
        assert w in r["values"][0], (w, r["values"][0])
    assert np.array_equal(session.npy("err_emph_after"), session.npy("rgb_before"))


def test_errors_leave_the_layer_unchanged(session):
    assert np.array_equal(session.npy("err_after"), session.npy("rgb_before"))
    assert np.array_equal(session.npy("sub_err_after"), session.npy("rgb_before"))


# ---------------------------------------------------------------- the core as a subprocess
def test_subprocess_path_equals_core_result(session):
    r = session.ok("sub_rgb")
    log = session.log("sub_rgb")
    assert "cannot import kmq_core" in log and f"core via subprocess ({session.python})" in log
    expected = kmq_core.quantize(session.npy("rgb_before"), 12, space="lab")
    assert np.array_equal(session.npy("sub_rgb_after"), expected.image)
    assert r["values"][0] == "KMQ test sub"
    assert r["palette"] == [[n, list(map(int, c))] for n, c in zip(expected.palette.names, expected.palette.colors)]
    name, entries = gimp_load_gpl(session.outdir / "sub.gpl")
    assert name == "KMQ test sub" and len(entries) == 12


def test_subprocess_path_selection_and_high_bit_depth(session):
    assert "core via subprocess" in session.log("sub_sel")
    _check_selection(session, "sub_sel", "sub_sel_after")
    assert "core via subprocess" in session.log("sub_u16")
    _check_u16(session, "sub_u16")


def test_subprocess_path_mood_and_emphasis(session):
    session.ok("sub_emph")
    assert "core via subprocess" in session.log("sub_emph")
    before, importance = session.npy("rgb_before"), session.npy("emph_mask")[..., 0]
    expected = kmq_core.quantize(before, 4, mood="muted", importance=importance)
    assert np.array_equal(session.npy("sub_emph_after"), expected.image)


# ---------------------------------------------------------------- the dialog, cancel and undo (GUI)
def test_dialog_cancel_ok_and_one_undo(tmp_path):
    """GIMP's GUI under Xvfb, driven with real X key events (xdotool): the plug-in's
    dialog appears with its preview (screenshot: the core's result on the downscaled copy
    and its palette, found pixel for pixel), the Down key in k's field lowers k and the
    preview follows (second screenshot), Escape cancels it without touching the image, Return
    runs it with the defaults, and ONE Ctrl+Z in the image window restores the layer.
    libgimp 3.0.4 has no PDB call that undoes (only undo-group/enable/freeze calls),
    so undo is checked the way a user does it."""
    import os
    import shutil

    from gimp_harness import prepare_gimp_work, read_xwd, run_in_root

    gimp_root()
    # larger than the preview's copy (PREVIEW_SIDE), not square: the preview is a downscaled copy
    a = cv2.resize(skimage.data.astronaut(), (480, 360), interpolation=cv2.INTER_AREA)

    def setup(profile: Path) -> None:
        gimp_install.install(profile / "plug-ins", python=sys.executable)
        (profile / "gimprc").write_text("(show-welcome-dialog no)\n(show-tips no)\n")

    work = prepare_gimp_work(files={"a.png": _png(a)}, setup=setup)
    for f in ("gui_checks.py", "gui_controller.py"):
        shutil.copy(REPO / "tests" / "gimp" / f, work.host / f)
    r = run_in_root(["python3", f"{work.inside}/gui_controller.py"], env=work.env, timeout=600, cwd=work.inside)
    out = work.host / "out"
    assert r.returncode == 0 and (out / "gui_results.json").exists(), r.stdout[-2000:] + r.stderr[-5000:]
    res = json.loads((out / "gui_results.json").read_text())
    before = np.load(out / "before.npy")
    assert res["cancel"]["status"] == "cancel"
    assert np.array_equal(np.load(out / "after_cancel.npy"), before)
    assert res["ok"]["status"] == "success" and res["base_type"] == "rgb"
    after_ok = np.load(out / "after_ok.npy")
    assert np.array_equal(after_ok, kmq_core.quantize(before, kmq_core.DEFAULT_K).image)  # dialog defaults
    assert not np.array_equal(after_ok, before)
    assert np.array_equal(np.load(out / "after_undo.npy"), before), "one Ctrl+Z must restore the layer"
    assert "duplicate mnemonic" not in r.stderr
    for problem in ("could not narrow the dialog's ranges", "could not tie the emphasis", "no preview"):
        assert problem not in r.stderr, problem

    from PIL import Image

    shot = read_xwd(out / "dialog.xwd")
    assert shot.shape[0] > 200 and shot.shape[1] > 200 and shot.reshape(-1, 3).std(axis=0).max() > 10
    # the screenshots, to look at: $KMQ_ARTIFACTS (default /tmp/kmq-artifacts)
    artifacts = Path(os.environ.get("KMQ_ARTIFACTS") or "/tmp/kmq-artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    # the preview, at the default k and after k was lowered with the keyboard in the dialog
    # (the dialog opened with the mood "muted" and the layer's mask as the emphasis)
    emphasis = np.load(out / "emphasis.npy")
    for name, k in (("dialog.xwd", kmq_core.DEFAULT_K), ("dialog_k12.xwd", 12)):
        Image.fromarray(read_xwd(out / name)).save(artifacts / ("gimp-" + name.replace(".xwd", ".png")))
        _check_preview(read_xwd(out / name), before, k, r.stderr, name, mood="muted", importance=emphasis)
    if os.environ.get("KMQ_SAVE_DIALOG_PNG"):  # refresh docs/gimp-dialog.png
        Image.fromarray(shot).save(os.environ["KMQ_SAVE_DIALOG_PNG"], optimize=True)


def _load_plugin():
    import importlib.util

    spec = importlib.util.spec_from_file_location("kmq_quantize_plugin", gimp_install.PACKAGED_PLUGIN)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _find_exactly(shot: np.ndarray, picture: np.ndarray, mask: np.ndarray | None = None) -> tuple[int, int]:
    """(x, y) where ``picture`` appears pixel for pixel in the screenshot (where ``mask``), or fail."""
    res = cv2.matchTemplate(shot.astype(np.float32), picture.astype(np.float32), cv2.TM_SQDIFF,
                            mask=None if mask is None else np.repeat(mask[..., None], 3, 2).astype(np.float32))
    low, _, at, _ = cv2.minMaxLoc(res)
    y, x = at[1], at[0]
    window = shot[y:y + picture.shape[0], x:x + picture.shape[1]]
    sel = np.ones(picture.shape[:2], bool) if mask is None else mask > 0
    assert np.array_equal(window[sel], picture[sel]), f"not on screen (best match off by {low:.0f})"
    return x, y


def _check_preview(shot: np.ndarray, before: np.ndarray, k: int, log: str, name: str, mood: str,
                   importance: np.ndarray) -> None:
    """The dialog shows the core's preview of the layer at k (with that mood and emphasis): its
    picture pixel for pixel, and the palette as swatches under it, in the core's order."""
    from kmq_core import gimp_bridge, options

    plugin = _load_plugin()
    defaults = {arg: (extra[1] if kind == "choice" else extra)
                for kind, arg, _l, _h, extra in plugin.procedure_arguments(options) + plugin.extra_arguments(options)}
    settings = {**defaults, "k": k, "mood": mood}
    expected = gimp_bridge.preview(before, plugin.preview_request(settings.get, None, options), None, importance)
    without = gimp_bridge.preview(before, plugin.preview_request({**settings, "mood": None}.get, None, options))
    assert not np.array_equal(expected["image"], without["image"])  # the mood and emphasis matter
    picture, colors = expected["image"], expected["palette"].colors
    assert picture.shape[:2] == (240, 320) and len(np.unique(picture.reshape(-1, 3), axis=0)) <= k
    line = re.search(rf"preview shown: k={k}, (\d+) colours (\S+), .*, mood {mood}, emphasis layer-mask", log)
    assert line and line.group(2).split(",") == list(expected["palette"].hex), (name, line and line.group(0))
    x, y = _find_exactly(shot, picture)
    data, sw, sh = plugin.swatch_pixels([tuple(map(int, c)) for c in colors], max(picture.shape[1], 200))
    strip = np.frombuffer(data, np.uint8).reshape(sh, sw, 4)
    sx, sy = _find_exactly(shot, np.ascontiguousarray(strip[..., :3]), (strip[..., 3] == 255).astype(np.uint8))
    assert sy > y + picture.shape[0] and abs((sx + sw / 2) - (x + picture.shape[1] / 2)) <= 2, "swatches under it"
