"""Issue 7, the GIMP 3 plug-in: the corpus cases tests/test_gimp_plugin.py does not already cover.

That module checks k=0 and k=300, a bad seed, bad locked colours and a bad
palette extension. Here, in ONE GIMP batch session (real GIMP 3.0.4 in the
Debian trixie chroot of tests/gimp_harness.py): k=257 and k=-3 (the exact
edges), k="abc" from a script, k=1, a 1×1 image, a single-colour image with
k=64, a 1×5000 strip, a grey+alpha PNG and a palette PNG with transparency
(which GIMP opens as an indexed image). Errors must be an error status with a
one-line message and leave the layer unchanged; valid odd images must give
the core's result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

import corpus
import kmq_core
from gimp_harness import gimp_root, run_gimp_script
from kmq_core import gimp_install

SCRIPT = r'''
import json, os, sys
import gi
gi.require_version("Gimp", "3.0"); gi.require_version("Gegl", "0.4"); gi.require_version("Babl", "0.1")
from gi.repository import Babl, Gegl, Gimp, Gio, GLib
import numpy as np

IN, OUT = os.environ["KMQ_IN"], os.environ["KMQ_OUT"]
PDB = Gimp.get_pdb()
proc = PDB.lookup_procedure("python-fu-kmq-quantize")
results = {"registered": proc is not None}


def load(name):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.path.join(IN, name)))


def dump(name, image, fmt, nch):
    d = image.get_layers()[0]
    w, h = d.get_width(), d.get_height()
    raw = d.get_buffer().get(Gegl.Rectangle.new(0, 0, w, h), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
    np.save(os.path.join(OUT, name + ".npy"), np.frombuffer(raw, np.uint8).reshape(h, w, nch))


def run(scenario, image, **props):
    print("=== SCENARIO %s" % scenario, file=sys.stderr, flush=True)
    res = {"base_type": str(image.get_base_type().value_nick)}
    cfg = proc.create_config()
    try:
        cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
        cfg.set_property("image", image)
        cfg.set_core_object_array("drawables", [image.get_layers()[0]])
        for k, v in props.items():
            cfg.set_property(k.replace("_", "-"), v)
    except Exception as e:  # refused before the plug-in runs
        res.update(status="refused-by-gobject", error="%s: %s" % (type(e).__name__, e))
        results[scenario] = res
        return res
    r = proc.run(cfg)
    status = r.index(0)
    res.update(status=status.value_nick, values=[v if isinstance(v, (int, str)) else str(v)
                                                for v in (r.index(i) for i in range(1, r.length()))])
    if status != Gimp.PDBStatusType.SUCCESS:
        try:
            res["error"] = r.index(1) if isinstance(r.index(1), str) else ""
        except Exception:
            pass
    results[scenario] = res
    print("=== END %s %s" % (scenario, res["status"]), file=sys.stderr, flush=True)
    return res


img = load("a.png")
dump("a_before", img, "R'G'B' u8", 3)
run("k257", img, k=257)
run("k_neg3", img, k=-3)
run("k_abc", img, k="abc")
dump("a_after_errors", img, "R'G'B' u8", 3)
run("k1", img, k=1)
dump("a_k1", img, "R'G'B' u8", 3)

img = load("dot.png")
run("dot", img, k=16)
dump("dot_after", img, "R'G'B' u8", 3)

img = load("flat.png")
run("flat", img, k=64)
dump("flat_after", img, "R'G'B' u8", 3)

img = load("strip.png")
run("strip", img, k=8)
dump("strip_after", img, "R'G'B' u8", 3)

img = load("la.png")
dump("la_before", img, "Y'A u8", 2)
run("la", img, k=4)
dump("la_after", img, "Y'A u8", 2)

img = load("ptrns.png")
run("ptrns", img, k=4)

with open(os.path.join(OUT, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
'''


@pytest.fixture(scope="module")
def session():
    gimp_root()

    def setup(profile: Path) -> None:
        gimp_install.install(profile / "plug-ins", python=sys.executable)

    files = {
        "a.png": corpus.photo_png(),
        "dot.png": corpus.one_by_one()[0],
        "flat.png": corpus.single_colour()[0],
        "strip.png": corpus.strip_1x5000()[0],
        "la.png": corpus.la_png()[0],
        "ptrns.png": corpus.p_transparent_png()[0],
    }
    r = run_gimp_script(SCRIPT, files=files, setup=setup, timeout=600)
    assert r.returncode == 0 and (r.outdir / "results.json").exists(), r.stdout[-2000:] + r.stderr[-4000:]
    res = json.loads((r.outdir / "results.json").read_text())
    assert res["registered"]
    for name, v in res.items():  # shown with -s: the outcome table of the issue
        if isinstance(v, dict):
            print(f"\n[gimp] {name}: {v.get('status')} {v.get('error') or (v.get('values') or [''])[0]!r}")
    return res, r.outdir, r.stderr


def _npy(outdir: Path, name: str) -> np.ndarray:
    return np.load(outdir / f"{name}.npy")


@pytest.mark.parametrize("scenario, words", [
    ("k257", ["from 1 to 256", "257"]),
    ("k_neg3", ["from 1 to 256", "-3"]),
])
def test_bad_k_is_an_execution_error_with_the_message(session, scenario, words):
    res, _, stderr = session
    r = res[scenario]
    assert r["status"] == "execution-error", r
    message = r["values"][0]
    assert "\n" not in message and "Traceback" not in message
    for w in words:
        assert w in message, (w, message)


def test_k_abc_from_a_script_is_refused_by_gimp_before_the_plug_in(session):
    """GIMP's config object is typed: a string for the int argument k fails in the caller's script."""
    r = session[0]["k_abc"]
    assert r["status"] == "refused-by-gobject"
    assert r["error"].startswith("TypeError:"), r


def test_errors_leave_the_layer_unchanged(session):
    _, outdir, _ = session
    assert np.array_equal(_npy(outdir, "a_after_errors"), _npy(outdir, "a_before"))


def test_k1_gives_one_colour(session):
    res, outdir, _ = session
    assert res["k1"]["status"] == "success" and res["k1"]["values"][1] == 1
    before = _npy(outdir, "a_before")
    assert np.array_equal(_npy(outdir, "a_k1"), kmq_core.quantize(before, 1).image)


def test_one_pixel_image(session):
    res, outdir, _ = session
    assert res["dot"]["status"] == "success" and res["dot"]["values"][1] == 1
    assert _npy(outdir, "dot_after").tolist() == [[[200, 30, 90]]]


def test_single_colour_with_k64_is_unchanged_with_one_colour(session):
    res, outdir, _ = session
    assert res["flat"]["status"] == "success" and res["flat"]["values"][1] == 1
    assert np.array_equal(_npy(outdir, "flat_after"), corpus.single_colour()[1])


def test_1x5000_strip(session):
    res, outdir, _ = session
    assert res["strip"]["status"] == "success"
    after = _npy(outdir, "strip_after")
    assert after.shape == (5000, 1, 3)
    assert np.array_equal(after, kmq_core.quantize(corpus.strip_1x5000()[1], 8).image)


def test_grey_alpha_layer_keeps_alpha(session):
    res, outdir, _ = session
    assert res["la"]["status"] == "success" and res["la"]["base_type"] == "gray"
    before, after = _npy(outdir, "la_before"), _npy(outdir, "la_after")
    assert np.array_equal(after[..., 1], before[..., 1])
    vis = before[..., 1] > 0
    assert np.array_equal(after[..., 0][vis], before[..., 0][vis])  # 4 greys at k=4: unchanged


def test_indexed_image_is_refused_with_a_message(session):
    """GIMP opens a palette PNG as an INDEXED image, which the plug-in does not take (RGB*, GRAY*)."""
    r = session[0]["ptrns"]
    assert r["base_type"] == "indexed"
    assert r["status"] == "execution-error", r
    assert r["values"][0] == "The image is indexed: convert it to RGB (Image > Mode > RGB) first"
