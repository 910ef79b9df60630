"""The GIMP plug-in's own logic, without GIMP: arguments, lock parsing, the numpy-free
.npy exchange, the subprocess bridge (a real `python -m kmq_core.gimp_bridge`), finding
the core, and install/uninstall."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from hypothesis import given, settings
from hypothesis import strategies as st

import kmq_core
from kmq_core import KmqError, gimp_bridge, gimp_install, options
from kmq_core.palette import parse_hex_list

REPO = Path(__file__).resolve().parents[1]
PLUGIN_FILE = REPO / "plugins" / "gimp" / "kmq-quantize" / "kmq-quantize.py"


def _load_plugin():
    spec = importlib.util.spec_from_file_location("kmq_quantize_plugin", PLUGIN_FILE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # no GIMP needed: gi is imported only in _main()
    return mod


plugin = _load_plugin()
SMALL = skimage.data.astronaut()[::8, ::8].copy()  # 64x64


# ---------------------------------------------------------------- the file and its twin
def test_plugin_file_is_gimp3_shaped():
    text = PLUGIN_FILE.read_text()
    assert text.startswith("#!/usr/bin/env python3\n")
    assert os.access(PLUGIN_FILE, os.X_OK)
    assert PLUGIN_FILE.parent.name == PLUGIN_FILE.stem  # GIMP 3: plug-ins/NAME/NAME.py
    # logic importable without GIMP: gi is imported inside the functions that talk to GIMP only
    import ast

    top = [n for n in ast.parse(text).body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not [n for n in top if "gi" in [a.name.split(".")[0] for a in n.names] or
                getattr(n, "module", "") in ("gi", "gi.repository")]


def test_packaged_copy_is_the_plugin():
    # one source: the package data is a link to the plug-in (a wheel stores the content)
    assert gimp_install.PACKAGED_PLUGIN.read_bytes() == PLUGIN_FILE.read_bytes(), (
        "kmq_core/gimp/kmq-quantize.py must link to plugins/gimp/kmq-quantize/kmq-quantize.py")


def test_procedure_arguments_are_the_cores_options():
    """Every option the plug-in registers has the core's name, default and choices (SPECS)."""
    args = {name.replace("-", "_"): (kind, extra) for kind, name, _label, _help, extra in
            plugin.procedure_arguments(options)}
    for name in ("k", "space", "dither", "bayer_size", "seed"):
        kind, extra = args[name]
        spec = options.SPECS[name]
        if kind == "choice":
            choices, default = extra
            assert tuple(c for c, _ in choices) == spec.choices and default == spec.default
            assert all(label == spec.label_of(c) for c, label in choices)
        else:
            assert extra == spec.default, name
    assert dict(args["dither"][1][0])["bluenoise"] == "Blue noise (ordered)"
    # the file's GIMP side registers exactly these (the real registration: test_gimp_plugin)
    text = PLUGIN_FILE.read_text()
    assert "in procedure_arguments(options)" in text and 'get("bayer-size")' in text
    assert "from kmq_core import options" in text and "def check_args" in text


def test_plugin_holds_no_copy_of_the_options():
    """The ranges, choices and defaults come from kmq_core.options, not from the plug-in file."""
    text = PLUGIN_FILE.read_text()
    for copy in ("DEFAULT_K =", "K_MAX =", "SPACES =", "DITHERS =", "BAYER_SIZES", '"perceptual"', '"bluenoise"'):
        assert copy not in text, copy


def test_options_load_without_numpy(tmp_path):
    """What the plug-in imports of kmq at registration (kmq_core.options) needs no numpy:
    run in a Python where importing numpy fails."""
    blocker = tmp_path / "numpy"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('no numpy in this GIMP')\n")
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import importlib.util as u\n"
            "s = u.spec_from_file_location('p', %r); m = u.module_from_spec(s); s.loader.exec_module(m)\n"
            "o = m.core_options({'kmq_core_path': %r})\n"
            "print(m.check_args(8, 'oklab', 'blue-noise', 3, '#F00', ('#00ff00',), options=o))\n"
            "print('numpy' in sys.modules or 'cv2' in sys.modules)\n"
            % (str(tmp_path), str(PLUGIN_FILE), str(REPO)))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert p.returncode == 0, p.stderr
    req, loaded = p.stdout.splitlines()[-2:]
    assert req == str({"k": 8, "space": "oklab", "dither": "bluenoise", "seed": 3, "lock": "#ff0000,#00ff00"})
    assert loaded == "False"


# ---------------------------------------------------------------- arguments
def test_check_args_valid():
    req = plugin.check_args(8, "oklab", "fs", 5, "#FF0000, 0f0", ("#0000ff", "#ff0000"))
    assert req == {"k": 8, "space": "oklab", "dither": "fs", "seed": 5, "lock": "#ff0000,#00ff00,#0000ff"}
    assert plugin.check_args(1, "lab", "none", 0, "")["lock"] == ""
    assert plugin.check_args(256, "rgb", "none", 2**31 - 1, None)["k"] == 256


@pytest.mark.parametrize("args, words", [
    ((0, "lab", "none", 0, ""), ["from 1 to 256", "got 0"]),
    ((257, "lab", "none", 0, ""), ["from 1 to 256", "257"]),
    ((-5, "lab", "none", 0, ""), ["-5"]),
    ((True, "lab", "none", 0, ""), ["k"]),
    ((8.5, "lab", "none", 0, ""), ["k", "8.5"]),
    ((8, "hsv", "none", 0, ""), ["perceptual, de2000, lab, oklab, rgb", "hsv"]),
    ((8, "lab", "sierra", 0, ""), ["none, fs, bayer", "sierra"]),
    ((8, "lab", "none", -1, ""), ["Seed", "-1"]),
    ((8, "lab", "none", 2**31, ""), ["Seed"]),
    ((8, "lab", "none", 0, "#ff00zz"), ["#ff00zz", "hex code"]),
    ((8, "lab", "none", 0, "red"), ["'red'"]),
    ((8, "lab", "bayer", 0, "", None, 3), ["Bayer size must be one of 2, 4, 8", "3"]),
    ((8, "lab", "none", 0, "", ("#12345g", "#000000")), ["#12345g", "hex code"]),
    ((8, "lab", "none", 0, "", None, 16), ["Bayer size", "16"]),
    ((8, "lab", "bayer", 0, "", None, True), ["Bayer size"]),
    ((8, "lab", "blue noise", 0, ""), ["none, fs, bayer, bluenoise", "blue noise"]),
    ((2, "lab", "none", 0, "#f00,#0f0,#00f"), ["3 locked colours", "k=2"]),
])
def test_check_args_rejects_with_clear_message(args, words):
    with pytest.raises(plugin.PluginError) as e:
        plugin.check_args(*args)
    msg = str(e.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_bayer_size_is_sent_only_where_it_changes_the_result():
    """A request is what it was before the option existed unless Bayer at 2 or 4 is asked for
    (so an older core serves every request whose result it would get right)."""
    assert plugin.check_args(8, "lab", "bayer", 0, "", None, 4)["bayer_size"] == 4
    assert plugin.check_args(8, "lab", "bayer", 0, "", None, 2)["bayer_size"] == 2
    assert "bayer_size" not in plugin.check_args(8, "lab", "bayer", 0, "", None, 8)
    assert "bayer_size" not in plugin.check_args(8, "lab", "fs", 0, "", None, 4)
    assert plugin.check_args(8, "lab", "bluenoise", 0, "") == {"k": 8, "space": "lab", "dither": "bluenoise",
                                                               "seed": 0, "lock": ""}


@pytest.mark.parametrize("dither, size", [("bluenoise", 8), ("bayer", 4), ("bayer", 2)])
def test_bridge_passes_every_dithering_and_the_bayer_size(dither, size):
    req = plugin.check_args(6, "oklab", dither, 1, "", None, size)
    imp = plugin.ImportedCore(gimp_bridge).process(SMALL.tobytes(), SMALL.shape, "|u1", dict(req))
    expected = kmq_core.quantize(SMALL, 6, space="oklab", dither=dither, seed=1, bayer_size=size, count_alpha=False)
    assert np.array_equal(np.frombuffer(imp["image"], np.uint8).reshape(SMALL.shape), expected.image)
    assert imp["colors"] == [tuple(map(int, c)) for c in expected.palette.colors]


def test_bridge_subprocess_with_the_bayer_size(tmp_path):
    p, dst = _bridge(tmp_path, SMALL, {"k": 6, "dither": "bayer", "bayer_size": 2})
    assert p.returncode == 0, p.stderr
    img = np.frombuffer(plugin.read_result(str(dst))["image"], np.uint8).reshape(SMALL.shape)
    assert np.array_equal(img, kmq_core.quantize(SMALL, 6, dither="bayer", bayer_size=2, count_alpha=False).image)
    p, dst = _bridge(tmp_path, SMALL, {"k": 6, "dither": "bayer", "bayer_size": 5})
    assert p.returncode == 2 and "Bayer size must be one of 2, 4, 8" in p.stderr


def test_fg_bg_counts_against_k():
    with pytest.raises(plugin.PluginError, match="3 locked colours"):
        plugin.check_args(2, "lab", "none", 0, "#00ff00", ("#000000", "#ffffff"))
    # the same colour twice is one lock
    assert plugin.check_args(1, "lab", "none", 0, "#000000", ("#000000", "#000")) ["lock"] == "#000000"


_hex = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)).map(
    lambda c: "#%02x%02x%02x" % c)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_hex, st.booleans(), st.sampled_from([",", ", ", ";", " "])), max_size=8))
def test_lock_sent_is_the_cores_reading(items):
    text = "".join((h.upper() if up else h) + sep for h, up, sep in items)
    core = list(dict.fromkeys(kmq_core.hex_code(c) for c in parse_hex_list(text)))
    req = plugin.check_args(256, "lab", "none", 0, text)
    assert req["lock"] == ",".join(core)  # same colours, in order, duplicates dropped


class _Layer:
    def __init__(self, layer=True, group=False, indexed=False):
        self.flags = (layer, group, indexed)

    def is_layer(self):
        return self.flags[0]

    def is_group(self):
        return self.flags[1]

    def is_indexed(self):
        return self.flags[2]


def test_the_layer_is_one_plain_rgb_layer():
    good = _Layer()
    assert plugin.the_layer([good]) is good
    for drawables, words in (([], "exactly one layer to quantize (0"), ([good, good], "(2 are selected)"),
                             ([_Layer(layer=False)], "not a mask or channel"), ([_Layer(group=True)], "layer group"),
                             ([_Layer(indexed=True)], "Image > Mode > RGB")):
        with pytest.raises(plugin.PluginError, match=re.escape(words)):
            plugin.the_layer(drawables)


class _GFile:
    def __init__(self, path, uri="file:///x"):
        self.path, self.uri = path, uri

    def get_path(self):
        return self.path

    def get_uri(self):
        return self.uri


def test_layer_request_from_the_procedure_settings():
    settings = {"k": 12, "space": "oklab", "dither": "bayer", "seed": 2, "lock": "#f00", "bayer-size": 4,
                "palette-name": "  ", "palette-file": _GFile("/tmp/p.ase"), "quality": " 60-80 "}
    req = plugin.layer_request(settings.get, ("#000000", "#ff0000"), "photo.jpg")
    assert req == {"k": 12, "space": "oklab", "dither": "bayer", "seed": 2, "lock": "#ff0000,#000000",
                   "bayer_size": 4, "palette_name": "kmq photo k=12", "quality": "60-80",
                   "palette_file": "/tmp/p.ase"}
    assert gimp_bridge.request_options(req).bayer_size == 4  # the bridge takes exactly this
    settings.update({"palette-name": "Mood", "palette-file": None, "quality": None})
    req = plugin.layer_request(settings.get, None, "photo.jpg")
    assert (req["palette_name"], req["palette_file"], req["quality"]) == ("Mood", "", "")
    settings["palette-file"] = _GFile(None, "sftp://host/p.gpl")
    with pytest.raises(plugin.PluginError, match="must be a local file .sftp://host/p.gpl"):
        plugin.layer_request(settings.get, None, "photo.jpg")


def test_pixel_format():
    assert plugin.pixel_format(True, False) == ("R'G'B' u8", "|u1", 3)
    assert plugin.pixel_format(True, True) == ("R'G'B'A u8", "|u1", 4)
    assert plugin.pixel_format(False, True) == ("R'G'B'A float", "<f4", 4)


def test_default_palette_name():
    assert plugin.default_palette_name("photo.jpg", 16) == "kmq photo k=16"
    assert plugin.default_palette_name("[Untitled]", 4) == "kmq Untitled k=4"
    assert plugin.default_palette_name("", 4) == "kmq Untitled k=4"


# ---------------------------------------------------------------- .npy without numpy
@pytest.mark.parametrize("dtype, descr", [(np.uint8, "|u1"), (np.float32, "<f4")])
@pytest.mark.parametrize("shape", [(3, 5, 3), (1, 1, 4), (7, 2), (4,)])
def test_npy_writer_is_read_by_numpy(dtype, descr, shape):
    arr = (np.arange(int(np.prod(shape))) % 251).astype(dtype).reshape(shape)
    back = np.load(io.BytesIO(plugin.npy_bytes(arr.tobytes(), descr, shape)), allow_pickle=False)
    assert back.dtype == arr.dtype and np.array_equal(back, arr)


@pytest.mark.parametrize("text", ["", "a", "Ünïcödé ✓ 🎨", json.dumps({"k": 3, "lock": "#ff0000"})])
def test_npy_strings_both_ways(text):
    assert str(np.load(io.BytesIO(plugin.npy_str(text)), allow_pickle=False)) == text
    buf = io.BytesIO()
    np.save(buf, np.array(text))
    assert plugin.npy_to_str(buf.getvalue()) == text


def test_parse_npy_reads_numpy_output():
    buf = io.BytesIO()
    arr = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    np.save(buf, arr)
    descr, shape, raw = plugin.parse_npy(buf.getvalue())
    assert (descr, shape, raw) == ("|u1", (2, 4, 3), arr.tobytes())


# ---------------------------------------------------------------- the bridge, really run
def _bridge(tmp_path, pixels: np.ndarray, request: dict, mask=None, python=sys.executable):
    src, dst = tmp_path / "in.npz", tmp_path / "out.npz"
    descr = "|u1" if pixels.dtype == np.uint8 else "<f4"
    plugin.write_request(str(src), pixels.tobytes(), pixels.shape, descr, request,
                         None if mask is None else mask.tobytes())
    p = subprocess.run([python, "-m", "kmq_core.gimp_bridge", str(src), str(dst)],
                       capture_output=True, text=True, cwd=tmp_path)
    return p, dst


def test_bridge_round_trip_equals_quantize(tmp_path):
    req = {"k": 6, "space": "lab", "dither": "fs", "seed": 2, "lock": "#ffffff",
           "palette_name": "Mine", "palette_file": str(tmp_path / "p.gpl")}
    p, dst = _bridge(tmp_path, SMALL, req)
    assert p.returncode == 0, p.stderr
    res = plugin.read_result(str(dst))
    expected = kmq_core.quantize(SMALL, 6, space="lab", dither="fs", seed=2, lock="#ffffff")
    img = np.frombuffer(res["image"], np.uint8).reshape(SMALL.shape)
    assert np.array_equal(img, expected.image)
    assert res["colors"] == [tuple(map(int, c)) for c in expected.palette.colors]
    assert res["names"] == list(expected.palette.names) and res["name"] == "Mine"
    assert (tmp_path / "p.gpl").read_text().startswith("GIMP Palette\nName: Mine\n")


def test_bridge_mask_and_float(tmp_path):
    rgba = np.dstack([SMALL, np.full(SMALL.shape[:2], 200, np.uint8)])
    f = rgba.astype(np.float32) / 255
    f[..., 3] = np.linspace(0, 1, f[..., 3].size, dtype=np.float32).reshape(f.shape[:2])
    mask = np.zeros(SMALL.shape[:2], np.uint8)
    mask[10:40, 5:50] = 255
    p, dst = _bridge(tmp_path, f, {"k": 5}, mask)
    assert p.returncode == 0, p.stderr
    out = np.frombuffer(plugin.read_result(str(dst))["image"], np.float32).reshape(f.shape)
    assert np.array_equal(out[..., 3], f[..., 3])  # float alpha untouched
    rgb8 = np.rint(out[..., :3] * 255)
    assert np.allclose(out[..., :3] * 255, rgb8, atol=1e-4)  # exactly palette colours
    a8 = np.clip(np.rint(f[..., 3] * 255), 0, 255).astype(np.uint8)
    core_in = np.dstack([SMALL, np.where(mask > 0, a8, 0).astype(np.uint8)])
    expected = kmq_core.quantize(core_in, 5, count_alpha=False).image[..., :3]
    assert np.array_equal(rgb8[mask > 0].astype(np.uint8), expected[mask > 0])


def test_full_mask_is_the_same_as_no_mask():
    full = np.full(SMALL.shape[:2], 255, np.uint8)
    a = gimp_bridge.process(SMALL, {"k": 4}, full)["image"]
    assert np.array_equal(a, kmq_core.quantize(SMALL, 4).image)
    with pytest.raises(KmqError, match="selection is empty"):
        gimp_bridge.process(SMALL, {"k": 4}, np.zeros_like(full))


@pytest.mark.parametrize("request_, words", [
    ({"k": 300}, ["300"]),
    ({"k": 4, "space": "hsv"}, ["hsv"]),
    ({"k": 4, "palette_file": "/nonexistent-dir/x.gpl"}, ["nonexistent-dir"]),
    ({"k": 4, "palette_file": "x.xyz"}, ["xyz"]),
    ({"k": 4, "bogus": 1}, ["bogus"]),
])
def test_bridge_bad_input_is_one_line(tmp_path, request_, words):
    p, dst = _bridge(tmp_path, SMALL, request_)
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    with pytest.raises(plugin.PluginError) as e:
        plugin.read_result(str(dst))
    for w in words:
        assert w in str(e.value)


def test_bridge_unreadable_request(tmp_path):
    (tmp_path / "in.npz").write_bytes(b"not a zip")
    p = subprocess.run([sys.executable, "-m", "kmq_core.gimp_bridge", str(tmp_path / "in.npz"),
                        str(tmp_path / "out.npz")], capture_output=True, text=True)
    assert p.returncode == 2 and "cannot read the plug-in's request" in p.stderr and "Traceback" not in p.stderr


def test_bridge_check():
    p = subprocess.run([sys.executable, "-m", "kmq_core.gimp_bridge", "--check"], capture_output=True, text=True)
    assert p.returncode == 0
    info = json.loads(p.stdout)
    assert info["kmq"] == kmq_core.__version__ and info["python"]


# ---------------------------------------------------------------- finding and running the core
def test_subprocess_core_equals_imported_core():
    req = plugin.check_args(7, "oklab", "none", 1, "")
    sub = plugin.SubprocessCore(sys.executable, "test").process(SMALL.tobytes(), SMALL.shape, "|u1", dict(req))
    imp = plugin.ImportedCore(gimp_bridge).process(SMALL.tobytes(), SMALL.shape, "|u1", dict(req))
    expected = kmq_core.quantize(SMALL, 7, space="oklab", dither="none", seed=1)
    for r in (sub, imp):
        assert np.array_equal(np.frombuffer(r["image"], np.uint8).reshape(SMALL.shape), expected.image)
        assert r["colors"] == [tuple(map(int, c)) for c in expected.palette.colors]


def test_subprocess_core_missing_interpreter():
    core = plugin.SubprocessCore("/nonexistent/python3", "KMQ_PYTHON")
    with pytest.raises(plugin.PluginError, match="KMQ_PYTHON does not exist: /nonexistent/python3"):
        core.process(SMALL.tobytes(), SMALL.shape, "|u1", {"k": 3})


def test_subprocess_core_interpreter_not_runnable(tmp_path):
    fake = tmp_path / "MyEnv" / "python"
    fake.parent.mkdir()
    fake.write_text("not a program")  # exists, no run bit
    core = plugin.SubprocessCore(str(fake), "KMQ_PYTHON")
    with pytest.raises(plugin.PluginError) as e:
        core.process(SMALL.tobytes(), SMALL.shape, "|u1", {"k": 3})
    msg = str(e.value)
    assert msg.startswith(f"Cannot run the Python for kmq ({fake}, set in KMQ_PYTHON)")
    assert f"Install kmq in it ({fake} -m pip install kmq)" in msg


def test_subprocess_core_interpreter_without_kmq(tmp_path):
    # a real interpreter that cannot import kmq_core (isolated mode, no site-packages)
    wrapper = tmp_path / "bare-python"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -I -S "$@"\n')
    wrapper.chmod(0o755)
    core = plugin.SubprocessCore(str(wrapper), "kmq-quantize.json")
    with pytest.raises(plugin.PluginError) as e:
        core.process(SMALL.tobytes(), SMALL.shape, "|u1", {"k": 3})
    assert "has no kmq" in str(e.value) and "pip install kmq" in str(e.value)


def test_subprocess_core_reports_core_errors():
    core = plugin.SubprocessCore(sys.executable, "test")
    with pytest.raises(plugin.PluginError, match="colour space"):
        core.process(SMALL.tobytes(), SMALL.shape, "|u1", {"k": 3, "space": "hsv"})


def test_find_core_choices(tmp_path):
    imported = plugin.find_core({"kmq_core_path": str(REPO)}, {})
    assert imported.how == "import"
    sub = plugin.find_core({"python": "/cfg/python"}, {"KMQ_GIMP_CORE": "subprocess"})
    assert (sub.how, sub.python) == ("subprocess", "/cfg/python")
    env = plugin.find_core({"python": "/cfg/python"}, {"KMQ_GIMP_CORE": "subprocess", "KMQ_PYTHON": "/env/py"})
    assert (env.python, env.source) == ("/env/py", "KMQ_PYTHON")
    with pytest.raises(plugin.PluginError, match="KMQ_GIMP_CORE must be"):
        plugin.find_core({}, {"KMQ_GIMP_CORE": "magic"})


def test_find_core_nothing_available(tmp_path):
    # GIMP's Python without kmq: an isolated interpreter that cannot import kmq_core
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(PLUGIN_FILE)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "try:\n    m.find_core({}, {})\nexcept m.PluginError as e:\n    print(e)\n"
        "print(m.find_core({}, {'KMQ_PYTHON': '/x/py'}).python)\n"
    )
    p = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    msg, fallback = p.stdout.strip().splitlines()
    for w in ("cannot find kmq", "No module named 'kmq_core'", "pip install kmq", "kmq gimp install", "KMQ_PYTHON"):
        assert w in msg
    assert fallback == "/x/py"


def test_import_uses_recorded_folder_without_putting_it_on_sys_path(tmp_path):
    import shutil

    shutil.copytree(REPO / "kmq_core", tmp_path / "site" / "kmq_core",
                    ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(PLUGIN_FILE)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"core = m.find_core({{'kmq_core_path': {str(tmp_path / 'site')!r}}}, {{}})\n"
        f"print(core.how, core.where, {str(tmp_path / 'site')!r} in sys.path)\n"
    )
    p = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["import", str(tmp_path / "site"), "False"]


@pytest.mark.parametrize("numba", [False, True])
def test_import_falls_back_to_the_subprocess_when_the_compiled_part_does_not_load(tmp_path, numba):
    """A kmq built for another Python (no _kernels for GIMP's): with numba there, its loops (the same
    bytes, kmq_core.kernels_numba) and the import; without, the subprocess, not a failure mid-run."""
    import shutil

    shutil.copytree(REPO / "kmq_core", tmp_path / "site" / "kmq_core",
                    ignore=shutil.ignore_patterns("__pycache__", "_kernels*.so", "_kernels*.pyd"))
    code = (
        f"import importlib.util, sys\nNUMBA = {numba}\n"
        # as in a GIMP whose Python is not the one kmq was built for (an editable install's finder
        # would otherwise find this machine's build)
        "class NoKernels:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'kmq_core._kernels' or (name == 'numba' and not NUMBA):\n"
        "            raise ImportError(f'no {name} for this Python')\n"
        "sys.meta_path.insert(0, NoKernels())\n"
        f"spec = importlib.util.spec_from_file_location('p', {str(PLUGIN_FILE)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"core = m.find_core({{'kmq_core_path': {str(tmp_path / 'site')!r}, 'python': '/kmq/python'}}, {{}})\n"
        "print(core.how, core.where)\n"
        "try:\n"
        f"    m.find_core({{'kmq_core_path': {str(tmp_path / 'site')!r}}}, {{'KMQ_GIMP_CORE': 'import'}})\n"
        "except m.PluginError as e:\n    print(e)\n"
    )
    p = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    if numba:
        assert p.stdout.split() == ["import", str(tmp_path / "site")], p.stdout + p.stderr
        return
    chosen, message = p.stdout.strip().splitlines()
    assert chosen == "subprocess /kmq/python"
    assert "cannot import kmq_core" in message and "numba" in message
    assert "cannot import kmq_core in GIMP's Python" in p.stderr


def test_load_config(tmp_path):
    assert plugin.load_config(str(tmp_path)) == {}
    (tmp_path / plugin.CONFIG_NAME).write_text("{broken")
    assert plugin.load_config(str(tmp_path)) == {}
    (tmp_path / plugin.CONFIG_NAME).write_text('{"python": "/p"}')
    assert plugin.load_config(str(tmp_path)) == {"python": "/p"}


# ---------------------------------------------------------------- install / uninstall
def test_install_and_uninstall(tmp_path):
    target = gimp_install.install(tmp_path / "plug-ins")
    assert target == tmp_path / "plug-ins" / "kmq-quantize" / "kmq-quantize.py"
    assert target.read_bytes() == PLUGIN_FILE.read_bytes()
    assert os.stat(target).st_mode & 0o111 == 0o111
    cfg = json.loads((target.parent / "kmq-quantize.json").read_text())
    assert cfg["python"] == sys.executable
    assert Path(cfg["kmq_core_path"], "kmq_core", "gimp_bridge.py").is_file()
    # what the plug-in does with it: the recorded path makes kmq_core importable
    assert plugin.load_config(str(target.parent)) == cfg
    # reinstall over it is fine; uninstall removes it once
    gimp_install.install(tmp_path / "plug-ins", python=sys.executable)
    assert gimp_install.uninstall(tmp_path / "plug-ins") is True
    assert not (tmp_path / "plug-ins" / "kmq-quantize").exists()
    assert gimp_install.uninstall(tmp_path / "plug-ins") is False


def test_install_honours_gimp3_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("GIMP3_DIRECTORY", str(tmp_path / "prof"))
    target = gimp_install.install(python=sys.executable)
    assert target == tmp_path / "prof" / "plug-ins" / "kmq-quantize" / "kmq-quantize.py"
    assert gimp_install.uninstall() is True


def test_default_dir_on_linux(monkeypatch, tmp_path):
    monkeypatch.delenv("GIMP3_DIRECTORY", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert gimp_install.default_plugins_dir() == tmp_path / ".config" / "GIMP" / "3.0" / "plug-ins"


def test_install_errors(tmp_path):
    with pytest.raises(KmqError, match="no such interpreter"):
        gimp_install.install(tmp_path, python="/nonexistent/python9")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(KmqError, match="cannot install the GIMP plug-in"):
        gimp_install.install(blocker / "plug-ins", python=sys.executable)
    other = tmp_path / "pi" / "kmq-quantize"
    other.mkdir(parents=True)
    (other / "something-else.txt").write_text("mine")
    with pytest.raises(KmqError, match="does not look like"):
        gimp_install.uninstall(tmp_path / "pi")
    assert (other / "something-else.txt").exists()


# ---- quality target (issue 17): the same option as kmq quantize --quality --------------------------
def test_bridge_quality_equals_the_cores_search(tmp_path):
    from kmq_core.auto_k import smallest_k_for_quality

    req = {"k": 64, "space": "de2000", "dither": "none", "seed": 0, "lock": "", "palette_name": "",
           "palette_file": "", "quality": "40-70"}
    p, dst = _bridge(tmp_path, SMALL, req)
    assert p.returncode == 0, p.stderr
    res = plugin.read_result(str(dst))
    k, expected = smallest_k_for_quality(SMALL, "40-70", k_max=64, space="de2000", dither="none")
    assert np.array_equal(np.frombuffer(res["image"], np.uint8).reshape(SMALL.shape), expected.image)
    assert len(res["colors"]) == len(expected.palette) <= k < 64


def test_bridge_quality_below_min_is_a_clear_error(tmp_path):
    req = {"k": 4, "quality": "95-99"}
    p, dst = _bridge(tmp_path, SMALL, req)
    assert p.returncode == 2
    with pytest.raises(plugin.PluginError, match="below the minimum 95"):
        plugin.read_result(str(dst))
    p, dst = _bridge(tmp_path, SMALL, {"k": 4, "quality": "80-60"})
    with pytest.raises(plugin.PluginError, match="above the maximum"):
        plugin.read_result(str(dst))


# ---------------------------------------------------------------- the dialog's preview
BIG = skimage.data.astronaut()[:, 32:480].copy()  # 512x448: larger than the preview's copy


def _settings(**over):
    d = {arg: (extra[1] if kind == "choice" else extra) for kind, arg, _l, _h, extra in
         plugin.procedure_arguments(options) + plugin.extra_arguments(options)}
    d.update(over)
    return d.get


def test_preview_request_is_the_filters_colour_request():
    get = _settings(k=9, space="oklab", lock="#ff0000", quality="", **{"palette-name": "x"})
    req = plugin.preview_request(get, ("#00ff00", "#0000ff"))
    layer = plugin.layer_request(get, ("#00ff00", "#0000ff"), "a.png")
    assert req == {**{k: v for k, v in layer.items() if k not in ("palette_name", "palette_file")},
                   "preview": plugin.PREVIEW_SIDE}
    with pytest.raises(plugin.PluginError, match="#12"):  # half-typed locks: the filter's message
        plugin.preview_request(_settings(lock="#12"), None)


def test_preview_is_the_core_result_on_a_downscaled_copy(tmp_path):
    req = plugin.preview_request(_settings(k=8, space="lab", dither="fs"), None)
    r = gimp_bridge.preview(BIG, req)
    small = r["source"]
    assert small.shape == (320, 280, 3) and small.dtype == np.uint8
    # OpenCV's area average (computed in float here, so at most 1 off OpenCV's 8-bit rounding)
    assert np.abs(small.astype(int) - cv2_area(BIG, (320, 280)).astype(int)).max() <= 1
    expected = kmq_core.quantize(small, 8, space="lab", dither="fs", count_alpha=False)
    assert np.array_equal(r["image"], expected.image)
    assert np.array_equal(r["palette"].colors, expected.palette.colors)
    # the copy sent back gives the same preview (the plug-in's later runs send it)
    again = gimp_bridge.preview(small, req)
    assert np.array_equal(again["image"], r["image"]) and again["source"] is small
    # the same through both ways of reaching the core
    for core in (plugin.ImportedCore(gimp_bridge), plugin.SubprocessCore(sys.executable, "test")):
        got = core.process(BIG.tobytes(), BIG.shape, "|u1", dict(req))
        assert got["shape"] == (320, 280, 3) and got["source_shape"] == (320, 280, 3)
        assert got["source_dtype"] == "|u1" and got["source"] == small.tobytes() and got["mask"] is None
        assert got["image"] == r["image"].tobytes() and got["colors"] == [tuple(map(int, c)) for c in expected.palette.colors]


def cv2_area(img, size_hw):
    import cv2

    return cv2.resize(img, size_hw[::-1], interpolation=cv2.INTER_AREA)


def test_preview_never_writes_the_palette_file(tmp_path):
    req = plugin.preview_request(_settings(k=4), None)
    r = gimp_bridge.preview(SMALL, {**req, "palette_file": str(tmp_path / "p.gpl")})
    assert r["palette_file"] == "" and not (tmp_path / "p.gpl").exists()


def test_preview_downscales_with_alpha_weights_and_the_selection():
    rgba = np.zeros(BIG.shape[:2] + (4,), np.uint8)
    rgba[:] = (10, 200, 30, 255)
    rgba[:, ::2] = (255, 0, 255, 0)  # transparent magenta every other column: lends no colour
    small, _, _ = gimp_bridge.downscale(rgba, None, 100)
    assert small.shape == (100, 88, 4)
    assert (small[..., :3] == (10, 200, 30)).all()
    assert (small[..., 3] > 100).all() and (small[..., 3] < 155).all()
    # a selection: the result where selected, the original outside (as GIMP merges the filter)
    mask = np.zeros(BIG.shape[:2], np.uint8)
    mask[:, :256] = 255
    r = gimp_bridge.preview(BIG, {"k": 3, "preview": 64}, mask)
    assert r["mask"].shape == r["image"].shape[:2] == (64, 56)
    inside, outside = r["mask"] == 255, r["mask"] == 0
    assert inside.any() and outside.any()
    assert np.array_equal(r["image"][outside], r["source"][outside])
    assert len(np.unique(r["image"][inside], axis=0)) <= 3
    f = gimp_bridge.preview(BIG.astype(np.float32) / 255, {"k": 3, "preview": 64})
    assert f["image"].dtype == np.uint8 and f["source"].dtype == np.float32


def test_swatches_show_the_palette_in_order():
    colors = [(i, 255 - i, 7) for i in range(0, 200, 10)]  # 20 colours: two rows
    data, w, h = plugin.swatch_pixels(colors, 320)
    cols, rows, cw, ch = plugin.swatch_layout(20, 320)
    assert (cols, rows) == (16, 2) and (w, h) == (cols * cw, rows * ch)
    px = np.frombuffer(data, np.uint8).reshape(h, w, 4)
    centres = [tuple(px[r * ch + ch // 2, c * cw + cw // 2]) for r in range(rows) for c in range(cols)]
    assert centres[:20] == [c + (255,) for c in colors] and all(c[3] == 0 for c in centres[20:])
    for n in (1, 16, 17, 256):
        _, w, h = plugin.swatch_pixels([(0, 0, 0)] * n, 320)
        assert w <= 16 * plugin.SWATCH_MAX_WIDTH and h <= 100


# ---------------------------------------------------------------- moods and emphasis
def test_mood_and_emphasis_arguments_are_the_cores():
    """Registered after palette-file (positions kept); the moods and their labels are the core's."""
    extra = {name: (kind, x) for kind, name, _l, _h, x in plugin.extra_arguments(options)}
    assert list(extra) == ["mood", "emphasis", "emphasis-channel", "frames"]
    assert extra["frames"][1] == (list(plugin.FRAMES), "layer")  # the default: the selected layer, as before
    spec = options.SPECS["mood"]
    choices, default = extra["mood"][1]
    assert default == "none" and choices[0][0] == "none"
    assert choices[1:] == [(c, spec.label_of(c)) for c in spec.choices]
    assert extra["emphasis"][1] == (list(plugin.EMPHASIS), "none") and extra["emphasis-channel"][0] == "channel"


def test_mood_is_sent_only_when_set():
    assert "mood" not in plugin.check_args(6, "lab", "none", 0, "", mood="none")
    assert "mood" not in plugin.check_args(6, "lab", "none", 0, "", mood=None)
    assert plugin.check_args(6, "lab", "none", 0, "", mood="colourful")["mood"] == "colorful"
    with pytest.raises(plugin.PluginError, match="unknown mood 'sad'"):
        plugin.check_args(6, "lab", "none", 0, "", mood="sad")
    get = _settings(k=5, mood="deep")
    assert plugin.layer_request(get, None, "a.png")["mood"] == "deep"
    assert plugin.preview_request(get, None)["mood"] == "deep"

    def older(name):  # a procedure registered by an older kmq has no mood argument
        if name == "mood":
            raise TypeError("no property mood")
        return _settings(k=5)(name)

    assert "mood" not in plugin.layer_request(older, None, "a.png")


def test_bridge_passes_mood_and_importance_both_ways(tmp_path):
    importance = np.zeros(SMALL.shape[:2], np.uint8)
    importance[40:, 20:50] = 255
    req = plugin.check_args(4, "lab", "none", 0, "", mood="bright")
    expected = kmq_core.quantize(SMALL, 4, space="lab", mood="bright", importance=importance, count_alpha=False)
    assert not np.array_equal(expected.image, kmq_core.quantize(SMALL, 4, space="lab", mood="bright").image)
    for core in (plugin.ImportedCore(gimp_bridge), plugin.SubprocessCore(sys.executable, "test")):
        r = core.process(SMALL.tobytes(), SMALL.shape, "|u1", dict(req), importance=importance.tobytes())
        assert np.array_equal(np.frombuffer(r["image"], np.uint8).reshape(SMALL.shape), expected.image)
        assert r["colors"] == [tuple(map(int, c)) for c in expected.palette.colors]
    with pytest.raises(KmqError, match="emphasis mask's shape"):
        gimp_bridge.process(SMALL, {"k": 4}, None, importance[1:])


def test_preview_downscales_the_importance_with_the_layer():
    importance = np.zeros(BIG.shape[:2], np.uint8)
    importance[300:, 100:300] = 255
    req = plugin.preview_request(_settings(k=4, space="lab"), None)
    r = gimp_bridge.preview(BIG, req, None, importance)
    assert r["importance"].shape == r["source"].shape[:2] == (320, 280) and r["importance"].dtype == np.uint8
    expected = kmq_core.quantize(r["source"], 4, space="lab", importance=r["importance"], count_alpha=False)
    assert np.array_equal(r["image"], expected.image)
    again = gimp_bridge.preview(r["source"], req, None, r["importance"])  # what later runs send
    assert np.array_equal(again["image"], r["image"])
    got = plugin.SubprocessCore(sys.executable, "test").process(BIG.tobytes(), BIG.shape, "|u1", dict(req),
                                                                importance=importance.tobytes())
    assert got["importance"] == r["importance"].tobytes() and got["image"] == r["image"].tobytes()


# ---------------------------------------------------------------- frames as layers: one palette
class _Item(_Layer):
    def __init__(self, name, children=None, indexed=False):
        super().__init__(group=children is not None, indexed=indexed)
        self.name, self.children = name, children

    def get_children(self):
        return self.children

    def get_name(self):
        return self.name


class _Image:
    def __init__(self, layers):
        self.layers = layers

    def get_layers(self):
        return self.layers


def test_target_layers():
    a, b, c, d = (_Item(n) for n in "abcd")
    inner = _Item("inner", [c])
    group = _Item("group", [b, inner])
    image = _Image([a, group, d])
    assert plugin.target_layers([a], image) == [a]  # the default: the selected layer alone
    assert plugin.target_layers([group], image) == [b, c]  # a group: its layers, groups opened
    assert plugin.target_layers([a], image, "all") == [a, b, c, d]  # every layer of the image
    assert plugin.target_layers([c], image, "all") == [a, b, c, d]
    for args, words in ((([_Item("empty", [])], image), "layer group 'empty' has no layers"),
                        (([a, d], image), "(2 are selected)"),
                        (([a], _Image([]), "all"), "no layers"),
                        (([a], image, "some"), "Frames must be layer or all"),
                        (([_Item("x", indexed=True)], image), "Image > Mode > RGB")):
        with pytest.raises(plugin.PluginError, match=re.escape(words)):
            plugin.target_layers(*args)


def _three_frames():
    f1 = SMALL.copy()
    f2 = np.dstack([SMALL[:, ::-1], np.tile(np.arange(0, 256, 4, dtype=np.uint8), (64, 1))])
    f3 = SMALL[:48].copy()
    f3[10:30, 10:30] = (0, 255, 0)
    return f1, f2, f3


def test_bridge_layers_both_ways_equal_the_cores_shared_palette():
    from kmq_core.shared_frames import quantize_frames

    frames = _three_frames()
    req = plugin.check_args(5, "lab", "none", 0, "")
    expected = quantize_frames(frames, 5, space="lab")
    assert (0, 255, 0) in map(tuple, expected.palette.colors.tolist())
    layers = [(f.tobytes(), f.shape, "|u1", None, None) for f in frames]
    for core in (plugin.ImportedCore(gimp_bridge), plugin.SubprocessCore(sys.executable, "test")):
        r = core.process_layers(layers, dict(req, palette_name="anim"))
        assert r["colors"] == [tuple(map(int, c)) for c in expected.palette.colors] and r["name"] == "anim"
        for f, got, want in zip(frames, r["images"], expected.frames):
            assert np.array_equal(np.frombuffer(got, np.uint8).reshape(f.shape), want.image)


def test_bridge_layers_selection_float_and_errors(tmp_path):
    f1, f2, f3 = _three_frames()
    mask = np.zeros(f3.shape[:2], np.uint8)
    mask[:, :32] = 255
    hi = f1.astype(np.float32) / 255
    req = {"k": 4, "space": "lab", "palette_file": str(tmp_path / "p.gpl")}
    r = gimp_bridge.process_layers([(hi, None, None), (f3, mask, None)], req)
    from kmq_core.shared_frames import quantize_frames

    cut = np.dstack([f3, np.where(mask > 0, 255, 0).astype(np.uint8)])  # unselected pixels: no part in the fit
    expected = quantize_frames([f1, cut], 4, space="lab")
    assert r["images"][0].dtype == np.float32
    assert np.array_equal(np.rint(r["images"][0] * 255).astype(np.uint8), expected.frames[0].image)
    assert np.array_equal(r["images"][1], expected.frames[1].image[..., :3])
    assert (tmp_path / "p.gpl").exists() and r["palette_file"].endswith("p.gpl")
    with pytest.raises(KmqError, match="Quality"):
        gimp_bridge.process_layers([(f1, None, None)], {"k": 4, "quality": "50-90"})
    with pytest.raises(KmqError, match="no layers"):
        gimp_bridge.process_layers([], {"k": 4})
    with pytest.raises(KmqError, match="emphasis mask's shape"):
        gimp_bridge.process_layers([(f1, None, np.zeros((3, 3), np.uint8))], {"k": 4})
