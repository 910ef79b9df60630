#!/usr/bin/env python3
# kmq-quantize: GIMP 3.0 plug-in, Filters > Colors > K-means Quantize...
#
# Reduces the active layer (or the selection in it) to k colours with kmq's
# k-means quantizer and adds the palette to GIMP's Palettes. The image stays RGB
# (or grayscale); it is not converted to indexed mode.
#
# All colour decisions are made by the kmq core (kmq_core.gimp_bridge.process, and
# kmq_core.gimp_bridge.preview for the dialog's preview, which this file only displays).
# This file only talks to GIMP and finds the core, in this order:
#   1. import kmq_core in GIMP's own Python (the path recorded by `kmq gimp install`
#      in kmq-quantize.json next to this file, or anything already on sys.path);
#   2. otherwise run `PYTHON -m kmq_core.gimp_bridge IN.npz OUT.npz` in the user's kmq
#      environment, PYTHON being $KMQ_PYTHON or "python" in kmq-quantize.json.
# $KMQ_GIMP_CORE=subprocess skips step 1 (e.g. when GIMP's numpy is broken),
# $KMQ_GIMP_CORE=import skips step 2.
#
# This part of the file imports neither GIMP nor numpy, so the plug-in's own logic
# can be tested without GIMP, and the subprocess path works on GIMP builds whose
# Python has no numpy (pixels go to the core as raw .npy members of a zip).

import ast
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

PROC = "python-fu-kmq-quantize"
CONFIG_NAME = "kmq-quantize.json"
HERE = os.path.dirname(os.path.abspath(__file__))

# The option names, ranges, choices and defaults are kmq_core.options' own (its SPECS): the
# plug-in reads them from the kmq that `kmq gimp install` recorded, which needs no numpy
# (kmq_core loads lazily), and validates with the core's checks (QuantizeOptions).
# Only GIMP's own limit is here: the seed is a PDB int argument, 0 to 2**31 - 1.
SEED_MIN, SEED_MAX = 0, 2**31 - 1
# The PDB arguments k, seed and bayer-size are declared with the full int range on purpose:
# GIMP silently replaces a value outside the declared range by the default (it only prints
# a warning), so a script asking for k=300 would get k=16 without noticing. Declared
# wide, every value reaches check_args() and a wrong one fails with a clear message.
# The dialog still offers only the valid range (see show_dialog).
INT_MIN, INT_MAX = -2**31, 2**31 - 1


class PluginError(Exception):
    """A problem the user can fix; the message is shown by GIMP as is."""


def log(*args):
    print("[kmq-quantize]", *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- arguments
_OPTIONS = []  # kmq_core.options once found (one lookup per plug-in process)


def _forget_kmq_core():
    for name in [m for m in sys.modules if m == "kmq_core" or m.startswith("kmq_core.")]:
        del sys.modules[name]


def core_options(config=None, environ=None):
    """``kmq_core.options``, or PluginError saying how to make kmq findable.

    Plain Python: it imports neither numpy nor anything compiled, so it loads in any GIMP.
    Found where `kmq gimp install` recorded kmq (or on sys.path); else the configured kmq
    Python is asked where its kmq_core is, and the options are loaded from there."""
    if _OPTIONS:
        return _OPTIONS[0]
    config = load_config() if config is None else config
    try:
        _import_kmq_core(config.get("kmq_core_path"))
        from kmq_core import options
    except Exception as e:  # not importable here: ask the kmq environment GIMP runs
        log("kmq_core is not importable here (%s: %s)" % (type(e).__name__, e))
        core = find_core(config, environ)  # the PluginError says what to do
        if not isinstance(core, SubprocessCore):
            raise PluginError("kmq_core imports but its options do not (%s: %s); reinstall kmq"
                              % (type(e).__name__, e))
        path = core.kmq_core_path()
        _forget_kmq_core()
        _import_kmq_core(path)
        from kmq_core import options
        # only the options are used from there: the core stays a subprocess, as configured
        _forget_kmq_core()
    _OPTIONS.append(options)
    return options


def registered_options():
    """The options for registering the procedure, or None (it then registers without arguments,
    and running it says how to make kmq findable)."""
    try:
        return core_options()
    except PluginError as e:
        log("registering without options: %s" % e)
        return None


def procedure_arguments(options):
    """The procedure's arguments from kmq's option declarations: (kind, name, label, help, extra).

    ``extra`` is the default for int/string/boolean arguments, ``(choices, default)`` for a
    choice. The GIMP side only turns these into ``add_*_argument`` calls."""
    spec = options.SPECS
    k, space, dither, bayer, seed = spec["k"], spec["space"], spec["dither"], spec["bayer_size"], spec["seed"]
    return [
        ("int", "k", "_Number of colors (k)", "How many colours, %d-%d" % (k.low, k.high), k.default),
        ("choice", "space", "Color s_pace", "Colour space for fitting and matching",
         ([(c, space.label_of(c)) for c in space.choices], space.default)),
        ("choice", "dither", "_Dithering", "Dithering in smooth areas",
         ([(c, dither.label_of(c)) for c in dither.choices], dither.default)),
        ("int", "bayer-size", "_Bayer size", "Side of the Bayer matrix, %s (Bayer dithering only; default %d)"
         % (", ".join(str(n) for n in bayer.choices), bayer.default), bayer.default),
        ("int", "seed", "S_eed", "Same seed, same result (0-%d)" % SEED_MAX, seed.default),
        ("string", "lock", "Loc_k colors", "Colours to keep, e.g. #ffffff,#000000", ""),
        ("boolean", "lock-fg-bg", "Keep fore_ground and background colors",
         "Lock the current foreground and background colours too", False),
        ("string", "quality", "_Quality (MIN-MAX)",
         "Like kmq quantize --quality: the fewest colours up to k whose quality "
         "(100 - 10 x mean CIEDE2000) reaches MAX; fails below MIN. Empty: use k", ""),
        ("boolean", "add-palette", "_Add palette to GIMP's Palettes", "Create a palette resource with the colours",
         True),
        ("string", "palette-name", "Palette na_me", "Name of the new palette (default: kmq IMAGE k=K)", ""),
    ]


#: the "Emphasis" choices: what says which pixels count most in the fit (kmq's importance mask)
EMPHASIS = (("none", "None"), ("layer-mask", "Layer mask"), ("channel", "Channel"))
#: the "Frames" choices: which layers are quantized, with ONE palette fitted to all of them together
#: (GIMP's animations are images whose layers are the frames: a GIF opened in GIMP, or a layer group)
FRAMES = (("layer", "This layer (a layer group: its layers)"), ("all", "All layers (one palette)"))
NO_MOOD = "none"


def extra_arguments(options):
    """The arguments registered after palette-file (appended: scripts passing arguments by
    position keep working): the mood and the emphasis, when this kmq has them. Same shape as
    :func:`procedure_arguments`; ``channel`` arguments have no default."""
    spec = options.SPECS.get("mood")
    if spec is None:  # an older kmq: no moods, no importance
        return []
    return [
        ("choice", "mood", "Mood", "Pick the palette's colours from the image for a mood; none: the colours "
         "that best reproduce the image",
         ([(NO_MOOD, "None (best reproduction)")] + [(c, spec.label_of(c)) for c in spec.choices], NO_MOOD)),
        ("choice", "emphasis", "Emphas_is", "What counts most in the fit: white pixels of the layer's mask or "
         "of a saved channel count fully, black ones not at all; the whole layer is still quantized",
         (list(EMPHASIS), "none")),
        ("channel", "emphasis-channel", "Emphasis channel", "The saved channel used when Emphasis is Channel",
         None),
        ("choice", "frames", "Frames", "Which layers to quantize: the selected layer (a selected layer group: "
         "every layer in it), or every layer of the image (an animation's frames); several layers get ONE "
         "palette fitted to all of them together", (list(FRAMES), "layer")),
    ]


def optional(get, name, default=None):
    """``get(name)``, or ``default`` when the procedure has no such argument (an older kmq)."""
    try:
        value = get(name)
    except (TypeError, AttributeError, KeyError):
        return default
    return default if value is None else value


def check_args(k, space, dither, seed, lock, fg_bg=None, bayer_size=8, options=None, mood=None):
    """Validate the procedure's arguments with kmq's own checks; return the request for the core.

    ``fg_bg`` is None or the (foreground, background) hex codes to keep as well (a colour
    given twice is locked once). ``bayer_size`` (2, 4 or 8) is sent only with Bayer
    dithering at a size other than 8: the request is then exactly what it was before the
    option existed whenever the result is the same, so an older core still serves it.
    ``options``: ``kmq_core.options`` (default: :func:`core_options`). ``mood``: None or
    ``"none"`` (sent only when set, like ``bayer_size``) or one of the core's moods.
    Raises PluginError with the core's message for the GIMP user.
    """
    options = core_options() if options is None else options
    KmqError = options.KmqError  # noqa: N806 (the core's error type, however it was loaded)

    # GIMP's limit: the PDB's seed is a 32-bit int (the core takes any whole number)
    if isinstance(seed, int) and not isinstance(seed, bool) and not SEED_MIN <= seed <= SEED_MAX:
        raise PluginError("Seed must be a whole number from %d to %d, got %r" % (SEED_MIN, SEED_MAX, seed))
    try:
        both = options.lock_colours(lock) + options.lock_colours(",".join(fg_bg or ()))
        colors = list(dict.fromkeys(options.hex_code(c) for c in both))  # order kept, repeats dropped
        more = {} if mood in (None, "", NO_MOOD) else {"mood": mood}
        o = options.QuantizeOptions(k=k, space=space, dither=dither, seed=seed, bayer_size=bayer_size,
                                    lock=",".join(colors) or None, max_pixels=None, **more)
    except KmqError as e:
        raise PluginError(str(e)) from None
    request = {"k": o.k, "space": o.space, "dither": o.dither, "seed": o.seed, "lock": ",".join(o.lock_hex)}
    if o.dither == "bayer" and o.bayer_size != options.DEFAULT_BAYER_SIZE:
        request["bayer_size"] = o.bayer_size
    if getattr(o, "mood", None) is not None:
        request["mood"] = o.mood
    return request


# ---------------------------------------------------------------- the dialog's preview, without GIMP
#: longest side, in pixels, of the copy of the layer the dialog's preview is computed on (by the
#: core: kmq_core.gimp_bridge.preview downscales and quantizes it; the dialog only shows it)
PREVIEW_SIDE = 320
#: how long the settings must rest before the preview is recomputed (ms): dragging k runs it once
PREVIEW_DELAY_MS = 250
#: swatches: at most this many in a row, each at most this wide and this tall (px), 1 px apart
SWATCH_COLUMNS, SWATCH_MAX_WIDTH, SWATCH_HEIGHT = 16, 32, 20


def preview_request(get, fg_bg, options=None):
    """The core's request for the dialog's preview: the filter's colour settings (the same
    checks and the same messages) on a copy at most PREVIEW_SIDE pixels long, no palette file."""
    request = check_args(get("k"), get("space"), get("dither"), get("seed"), get("lock"), fg_bg,
                         get("bayer-size"), options=options, mood=optional(get, "mood"))
    request["quality"] = (get("quality") or "").strip()  # checked by the core
    request["preview"] = PREVIEW_SIDE
    return request


def swatch_layout(n, width):
    """(columns, rows, cell width, cell height) of the palette swatches under a preview ``width`` wide."""
    cols = max(1, min(n, SWATCH_COLUMNS))
    cell_w = max(6, min(SWATCH_MAX_WIDTH, width // cols))
    rows = -(-n // cols)
    return cols, rows, cell_w, max(6, min(SWATCH_HEIGHT, 96 // rows))  # at most ~96 px for 256 colours


def swatch_pixels(colors, width):
    """The palette as swatches: (RGBA bytes, width, height); cells 1 px apart (transparent).

    Only lays the core's colours out, in the core's order: no colour is computed here."""
    cols, rows, cw, ch = swatch_layout(len(colors), width)
    w, h = cols * cw, rows * ch
    clear = bytes(4)
    out = bytearray()
    for r in range(rows):
        line = bytearray()
        for c in range(cols):
            i = r * cols + c
            cell = bytes(colors[i][:3]) + b"\xff" if i < len(colors) else clear
            line += cell * (cw - 1) + clear
        out += bytes(line) * (ch - 1) + clear * w
    return bytes(out), w, h


def default_palette_name(image_name, k):
    base = os.path.splitext(os.path.basename(image_name or ""))[0].strip("[] ") or "Untitled"
    return "kmq %s k=%d" % (base, k)


# ---------------------------------------------------------------- .npy / .npz without numpy
def npy_bytes(data, dtype, shape):
    """A .npy file (format 1.0) holding raw C-order ``data`` of ``dtype`` ('|u1', '<f4')."""
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        dtype, "".join("%d," % n for n in shape) if len(shape) == 1 else ", ".join(str(n) for n in shape))
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + bytes(data)


def npy_str(text):
    """A .npy holding a 0-d unicode array (what numpy's np.array(str) saves)."""
    raw = str(text).encode("utf-32-le")
    n = max(1, len(raw) // 4)
    raw = raw or b"\0\0\0\0"
    header = "{'descr': '<U%d', 'fortran_order': False, 'shape': (), }" % n
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + raw


def parse_npy(blob):
    """-> (descr, shape, raw bytes) for a .npy written by numpy (format 1.x/2.x/3.x)."""
    if blob[:6] != b"\x93NUMPY":
        raise ValueError("not a .npy file")
    major = blob[6]
    if major == 1:
        hlen = struct.unpack("<H", blob[8:10])[0]
        start = 10
    else:
        hlen = struct.unpack("<I", blob[8:12])[0]
        start = 12
    header = ast.literal_eval(blob[start:start + hlen].decode("latin1"))
    if header.get("fortran_order"):
        raise ValueError("Fortran-order arrays are not supported")
    return header["descr"], tuple(header["shape"]), blob[start + hlen:]


def npy_to_str(blob):
    descr, shape, raw = parse_npy(blob)
    if not descr.lstrip("<>|=").startswith("U") or shape != ():
        raise ValueError("expected a unicode scalar, got %s %s" % (descr, shape))
    return raw.decode("utf-32-le" if not descr.startswith(">") else "utf-32-be").rstrip("\0")


def write_layers_request(path, layers, request):
    """A request for several layers (the core's process_layers): ``layers`` holds
    (pixels, shape, dtype, mask, importance) per layer; members pixels_0, mask_0, ..."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        for i, (pixels, shape, dtype, mask, importance) in enumerate(layers):
            z.writestr("pixels_%d.npy" % i, npy_bytes(pixels, dtype, shape))
            if mask is not None:
                z.writestr("mask_%d.npy" % i, npy_bytes(mask, "|u1", shape[:2]))
            if importance is not None:
                z.writestr("importance_%d.npy" % i, npy_bytes(importance, "|u1", shape[:2]))
        z.writestr("request.npy", npy_str(json.dumps(dict(request, layers=len(layers)))))


def write_request(path, pixels, shape, dtype, request, mask=None, importance=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as z:
        z.writestr("pixels.npy", npy_bytes(pixels, dtype, shape))
        if mask is not None:
            z.writestr("mask.npy", npy_bytes(mask, "|u1", shape[:2]))
        if importance is not None:
            z.writestr("importance.npy", npy_bytes(importance, "|u1", shape[:2]))
        z.writestr("request.npy", npy_str(json.dumps(request)))


def read_result(path):
    """-> dict with 'image' (raw bytes), 'colors' (list of (r,g,b)), 'names', 'hex', ...

    or raises PluginError with the core's one-line message."""
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        if "error.npy" in names:
            raise PluginError(npy_to_str(z.read("error.npy")))
        result = json.loads(npy_to_str(z.read("result.npy")))
        if "image.npy" in names:
            _, result["shape"], result["image"] = parse_npy(z.read("image.npy"))
        else:  # several layers: image_0.npy, image_1.npy, ...
            n = len([m for m in names if m.startswith("image_")])
            result["images"] = [parse_npy(z.read("image_%d.npy" % i))[2] for i in range(n)]
        descr, shape, raw = parse_npy(z.read("colors.npy"))
        result["colors"] = [tuple(raw[i:i + 3]) for i in range(0, len(raw), 3)]
        if "source.npy" in names:  # a preview: the downscaled copy it was made from
            result["source_dtype"], result["source_shape"], result["source"] = parse_npy(z.read("source.npy"))
            result["mask"] = parse_npy(z.read("mask.npy"))[2] if "mask.npy" in names else None
            result["importance"] = parse_npy(z.read("importance.npy"))[2] if "importance.npy" in names else None
    return result


# ---------------------------------------------------------------- finding the core
def load_config(directory=HERE):
    path = os.path.join(directory, CONFIG_NAME)
    try:
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
        return cfg if isinstance(cfg, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        log("ignoring unreadable %s: %s" % (path, e))
        return {}


def _raw_result(r):
    pal = r["palette"]
    out = {"colors": [tuple(int(v) for v in c) for c in pal.colors],
           "names": list(pal.names), "hex": pal.hex, "name": pal.name,
           "palette_file": r["palette_file"], "seconds": r["seconds"]}
    if "images" in r:  # several layers
        out["images"] = [im.tobytes() for im in r["images"]]
    else:
        out.update(image=r["image"].tobytes(), shape=tuple(r["image"].shape))
    if "source" in r:  # a preview
        src = r["source"]
        out.update(source=src.tobytes(), source_shape=tuple(src.shape), source_dtype=src.dtype.str,
                   mask=None if r["mask"] is None else r["mask"].tobytes(),
                   importance=None if r.get("importance") is None else r["importance"].tobytes())
    return out


class ImportedCore:
    """kmq_core imported into GIMP's own Python."""

    how = "import"

    def __init__(self, bridge):
        self.bridge = bridge
        self.where = os.path.dirname(os.path.dirname(os.path.abspath(bridge.__file__)))

    def process(self, pixels, shape, dtype, request, mask=None, pulse=None, importance=None):
        import numpy as np
        from kmq_core.errors import KmqError

        arr = np.frombuffer(pixels, dtype=np.dtype(dtype)).reshape(shape)
        m = None if mask is None else np.frombuffer(mask, np.uint8).reshape(shape[:2])
        more = {} if importance is None else {"importance": np.frombuffer(importance, np.uint8).reshape(shape[:2])}
        try:
            r = (self.bridge.preview if request.get("preview") else self.bridge.process)(arr, request, m, **more)
        except KmqError as e:
            raise PluginError(str(e)) from None
        return _raw_result(r)

    def process_layers(self, layers, request, pulse=None):
        """Several layers, one palette: ``layers`` holds (pixels, shape, dtype, mask, importance)."""
        import numpy as np
        from kmq_core.errors import KmqError

        arrays = [(np.frombuffer(px, dtype=np.dtype(dt)).reshape(shape),
                   None if mask is None else np.frombuffer(mask, np.uint8).reshape(shape[:2]),
                   None if imp is None else np.frombuffer(imp, np.uint8).reshape(shape[:2]))
                  for px, shape, dt, mask, imp in layers]
        if not hasattr(self.bridge, "process_layers"):
            raise PluginError("This kmq is too old for several layers: update kmq (pip install -U kmq)")
        try:
            r = self.bridge.process_layers(arrays, request)
        except KmqError as e:
            raise PluginError(str(e)) from None
        return _raw_result(r)


class SubprocessCore:
    """kmq_core in the user's kmq environment, run as ``PYTHON -m kmq_core.gimp_bridge``."""

    how = "subprocess"

    def __init__(self, python, source):
        self.python = python
        self.source = source  # where the interpreter was configured, for messages
        self.where = python

    def _env(self):
        env = dict(os.environ)
        # GIMP's own Python settings must not leak into another interpreter
        for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONNOUSERSITE"):
            env.pop(var, None)
        return env

    def _fix_hint(self):
        return ("install kmq in it (%s -m pip install kmq) or point %s at the Python of your kmq "
                "environment (run `kmq gimp install` there)" % (self.python, self.source))

    def _check_exists(self):
        if not os.path.isfile(self.python) and os.path.sep in self.python:
            raise PluginError("The Python for kmq set in %s does not exist: %s. Point it at the "
                              "Python of your kmq environment (`kmq gimp install` does that)"
                              % (self.source, self.python))

    def kmq_core_path(self):
        """The folder holding that environment's kmq_core (its ``gimp_bridge --check``)."""
        self._check_exists()
        try:
            p = subprocess.run([self.python, "-m", "kmq_core.gimp_bridge", "--check"], stdin=subprocess.DEVNULL,
                               capture_output=True, env=self._env(), timeout=120,
                               creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0))
        except (OSError, subprocess.SubprocessError) as e:
            hint = self._fix_hint()
            raise PluginError("Cannot run the Python for kmq (%s, set in %s): %s. %s"
                              % (self.python, self.source, getattr(e, "strerror", None) or e,
                                 hint[:1].upper() + hint[1:]))
        err = p.stderr.decode("utf-8", "replace")
        if "No module named kmq_core" in err or "No module named 'kmq_core'" in err:
            raise PluginError("The Python for kmq (%s, set in %s) has no kmq: %s"
                              % (self.python, self.source, self._fix_hint()))
        try:
            return json.loads(p.stdout.decode("utf-8", "replace"))["kmq_core_path"]
        except (ValueError, KeyError, TypeError):
            last = [l for l in err.strip().splitlines() if l.strip()][-1:] or ["no message"]
            raise PluginError("kmq in %s (set in %s) did not answer (exit status %s): %s. Update kmq there "
                              "and run `kmq gimp install` again" % (self.python, self.source, p.returncode, last[0]))

    def process(self, pixels, shape, dtype, request, mask=None, pulse=None, importance=None):
        return self._run(lambda src: write_request(src, pixels, shape, dtype, request, mask, importance), pulse)

    def process_layers(self, layers, request, pulse=None):
        """Several layers, one palette: ``layers`` holds (pixels, shape, dtype, mask, importance)."""
        return self._run(lambda src: write_layers_request(src, layers, request), pulse)

    def _run(self, write, pulse=None):
        self._check_exists()
        tmp = tempfile.mkdtemp(prefix="kmq-gimp-")
        src, dst = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
        try:
            write(src)
            flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
            try:
                proc = subprocess.Popen([self.python, "-m", "kmq_core.gimp_bridge", src, dst],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=self._env(), creationflags=flags)
            except OSError as e:
                hint = self._fix_hint()
                raise PluginError("Cannot run the Python for kmq (%s, set in %s): %s. %s"
                                  % (self.python, self.source, e.strerror or e, hint[:1].upper() + hint[1:]))
            while True:
                try:
                    out, err = proc.communicate(timeout=0.25)
                    break
                except subprocess.TimeoutExpired:
                    if pulse:
                        pulse()
            err = err.decode("utf-8", "replace")
            if err.strip():
                log("core stderr:", err.strip()[-2000:])
            if proc.returncode == 2 and os.path.exists(dst):
                read_result(dst)  # raises PluginError with the core's message
            if "No module named kmq_core" in err or "No module named 'kmq_core'" in err:
                raise PluginError("The Python for kmq (%s, set in %s) has no kmq: %s"
                                  % (self.python, self.source, self._fix_hint()))
            if proc.returncode != 0 or not os.path.exists(dst):
                last = [l for l in err.strip().splitlines() if l.strip()][-1:] or ["no message"]
                raise PluginError("kmq failed (exit status %s): %s. Run %s -m kmq_core.gimp_bridge --check "
                                  "to test that environment; please report a bug if it persists"
                                  % (proc.returncode, last[0], self.python))
            return read_result(dst)
        finally:
            for f in (src, dst, dst + ".part.npz"):
                try:
                    os.remove(f)
                except OSError:
                    pass
            try:
                os.rmdir(tmp)
            except OSError:
                pass


def _import_kmq_core(path):
    """Import the kmq_core package found in ``path`` (if given), else from sys.path.

    Only the package itself is loaded from ``path``: its dependencies (numpy, OpenCV...)
    must come from GIMP's own Python. Putting the whole folder on sys.path would not
    do, because ``path`` is often another Python's site-packages, whose compiled
    modules may not fit GIMP's Python.
    """
    import importlib.util

    if "kmq_core" in sys.modules:
        return sys.modules["kmq_core"]
    init = os.path.join(path, "kmq_core", "__init__.py") if path else None
    if not init or not os.path.isfile(init):
        import kmq_core
        return kmq_core
    spec = importlib.util.spec_from_file_location(
        "kmq_core", init, submodule_search_locations=[os.path.dirname(init)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["kmq_core"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        for name in [m for m in sys.modules if m == "kmq_core" or m.startswith("kmq_core.")]:
            del sys.modules[name]
        raise
    return module


def find_core(config=None, environ=None):
    """Return an ImportedCore or SubprocessCore, or raise PluginError saying what to do."""
    config = load_config() if config is None else config
    environ = os.environ if environ is None else environ
    mode = environ.get("KMQ_GIMP_CORE", "auto").strip().lower() or "auto"
    if mode not in ("auto", "import", "subprocess"):
        raise PluginError("KMQ_GIMP_CORE must be auto, import or subprocess, got %r" % mode)
    import_error = None
    if mode in ("auto", "import"):
        try:
            _import_kmq_core(config.get("kmq_core_path"))
            from kmq_core import gimp_bridge
            # the compiled loops (kmq_core._kernels) are built for the Python kmq was installed with;
            # GIMP's Python is often another version, which cannot load them: load them now, so that
            # such a kmq is reached through the subprocess instead of failing halfway through a run
            from kmq_core import kernels  # noqa: F401
            return ImportedCore(gimp_bridge)
        except Exception as e:  # ImportError, or a dependency failing to load
            import_error = "%s: %s" % (type(e).__name__, e)
            log("cannot import kmq_core in GIMP's Python (%s)" % import_error)
            if mode == "import":
                raise PluginError("KMQ_GIMP_CORE=import but GIMP's Python (%s) cannot import kmq_core "
                                  "(%s); install kmq's dependencies for it or unset KMQ_GIMP_CORE"
                                  % (sys.executable, import_error))
    python = environ.get("KMQ_PYTHON", "").strip()
    source = "KMQ_PYTHON"
    if not python:
        python = str(config.get("python") or "").strip()
        source = os.path.join(HERE, CONFIG_NAME)
    if python:
        return SubprocessCore(python, source)
    raise PluginError(
        "kmq-quantize cannot find kmq. GIMP's Python (%s) cannot import kmq_core (%s) and no kmq "
        "Python is configured. Fix: install kmq (pip install kmq) and run `kmq gimp install` in that "
        "environment, which records its Python in %s; or set the environment variable KMQ_PYTHON "
        "to a Python that has kmq installed, then restart GIMP."
        % (sys.executable, import_error or "not tried", os.path.join(HERE, CONFIG_NAME)))


# ---------------------------------------------------------------- the layer, without GIMP
def the_layer(drawables):
    """The one layer to quantize among the selected drawables, or PluginError saying why not."""
    if len(drawables) != 1:
        raise PluginError("Select exactly one layer to quantize (%d are selected)" % len(drawables))
    drawable = drawables[0]
    if not drawable.is_layer():
        raise PluginError("K-means Quantize works on layers; select a layer, not a mask or channel")
    if drawable.is_group():
        raise PluginError("K-means Quantize works on one layer, not on a layer group; select a layer "
                          "inside the group (or merge the group first)")
    if drawable.is_indexed():
        raise PluginError("The image is indexed: convert it to RGB (Image > Mode > RGB) first")
    return drawable


def leaf_layers(items):
    """The layers (not groups) in ``items``, groups opened recursively, in stacking order."""
    out = []
    for item in items:
        if item.is_group():
            out.extend(leaf_layers(item.get_children()))
        else:
            out.append(item)
    return out


def target_layers(drawables, image=None, frames="layer"):
    """The layers to quantize, or PluginError saying why there are none.

    ``frames="layer"``: the one selected layer, or every layer in a selected layer group;
    ``"all"``: every layer of ``image`` (groups opened). Several layers get one palette."""
    if frames not in [c for c, _ in FRAMES]:
        raise PluginError("Frames must be %s, got %r" % (" or ".join(c for c, _ in FRAMES), frames))
    if frames == "all":
        layers = leaf_layers(image.get_layers())
        if not layers:
            raise PluginError("The image has no layers to quantize")
    else:
        if len(drawables) != 1:
            raise PluginError("Select exactly one layer to quantize (%d are selected)" % len(drawables))
        drawable = drawables[0]
        if drawable.is_group():
            layers = leaf_layers(drawable.get_children())
            if not layers:
                raise PluginError("The layer group %r has no layers to quantize: select a layer, or put "
                                  "layers in the group" % drawable.get_name())
        else:
            layers = [the_layer(drawables)]
    if layers[0].is_indexed():
        raise PluginError("The image is indexed: convert it to RGB (Image > Mode > RGB) first")
    return layers


def layer_request(get, fg_bg, image_name, options=None):
    """The core's request from the procedure's settings (``get``: the config's get_property)."""
    request = check_args(get("k"), get("space"), get("dither"), get("seed"), get("lock"), fg_bg,
                         get("bayer-size"), options=options, mood=optional(get, "mood"))
    pal_name = (get("palette-name") or "").strip()
    gfile = get("palette-file")
    pal_path = gfile.get_path() if gfile is not None else None
    if gfile is not None and not pal_path:
        raise PluginError("The palette file must be a local file (%s)" % gfile.get_uri())
    request["palette_name"] = pal_name or default_palette_name(image_name, request["k"])
    request["quality"] = (get("quality") or "").strip()  # checked by the core
    request["palette_file"] = pal_path or ""
    return request


def pixel_format(eight_bit, alpha):
    """(babl format, .npy dtype, channels) the layer is read and written in.

    8-bit images are read and written as R'G'B'(A) u8 (exact). Every other precision
    (16/32-bit integer, half/float, and 8-bit *linear*) is read as non-linear R'G'B'(A)
    float: the core rounds colours to 8-bit sRGB for the fit (palettes are 8-bit), writes
    the palette colours back exactly as v/255, and the float alpha goes back untouched, so
    alpha keeps its precision. Grayscale layers are read as R'G'B' too (babl replicates Y');
    kmq's palette for gray pixels is gray, and GIMP converts what is written back to Y'.
    """
    fmt = ("R'G'B'A" if alpha else "R'G'B'") + (" u8" if eight_bit else " float")
    return fmt, ("|u1" if eight_bit else "<f4"), (4 if alpha else 3)


def image_name(image):
    """The file name GIMP knows the image by (for the palette's default name)."""
    for getter in ("get_file", "get_imported_file", "get_xcf_file"):
        f = getattr(image, getter, lambda: None)()
        if f is not None and f.get_basename():
            return f.get_basename()
    return image.get_name()


# ---------------------------------------------------------------- GIMP side
# ``g`` is the GIMP adapter: the gi.repository modules (Gimp, Gegl, Babl, GLib, GObject),
# made in _main(); everything below talks to GIMP only through it.
def fail(g, procedure, message):
    log("error:", message)
    return procedure.new_return_values(g.Gimp.PDBStatusType.EXECUTION_ERROR, g.GLib.Error(message))


def color_hex(g, color):
    r, gr, b = bytes(color.get_bytes(g.Babl.format("R'G'B' u8")).get_data())[:3]
    return "#%02x%02x%02x" % (r, gr, b)


def fg_bg_colors(g, config):
    """GIMP's foreground and background colours as hex codes when they are to be kept, else None."""
    if not config.get_property("lock-fg-bg"):
        return None
    Gimp = g.Gimp
    return color_hex(g, Gimp.context_get_foreground()), color_hex(g, Gimp.context_get_background())


def read_layer(g, image, drawable):
    """The pixels the filter works on: the selection's bounding box in the layer, with the selection
    mask (None when nothing is selected). -> dict x, y, w, h, fmt, dtype, nch, pixels, mask."""
    Gimp, Gegl = g.Gimp, g.Gegl
    ok, x, y, w, h = drawable.mask_intersect()
    if not ok or w <= 0 or h <= 0:
        raise PluginError("The selection does not touch this layer: nothing to quantize")
    prec = image.get_precision()
    eight_bit = prec in (Gimp.Precision.U8_NON_LINEAR, Gimp.Precision.U8_PERCEPTUAL)
    fmt, dtype, nch = pixel_format(eight_bit, drawable.has_alpha())
    pixels = drawable.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
    mask = None
    if not Gimp.Selection.is_empty(image):
        _, offx, offy = drawable.get_offsets()
        sel_rect = Gegl.Rectangle.new(x + offx, y + offy, w, h)
        mask = image.get_selection().get_buffer().get(sel_rect, 1.0, "Y u8", Gegl.AbyssPolicy.NONE)
    return {"x": x, "y": y, "w": w, "h": h, "fmt": fmt, "dtype": dtype, "nch": nch, "pixels": pixels,
            "mask": mask}


def read_emphasis(g, image, drawable, get, layer):
    """The emphasis chosen in the settings over the pixels ``layer`` (read_layer's) covers: "Y u8"
    bytes (H×W, white counts most), or None for none. PluginError when it cannot be had."""
    kind = optional(get, "emphasis", "none")
    if kind == "none":
        return None
    Gegl = g.Gegl
    x, y, w, h = layer["x"], layer["y"], layer["w"], layer["h"]
    if kind == "layer-mask":
        mask = drawable.get_mask()
        if mask is None:
            raise PluginError("Emphasis is the layer mask, but this layer has no mask: add one "
                              "(Layer > Mask > Add Layer Mask) or choose another emphasis")
        return mask.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, "Y u8", Gegl.AbyssPolicy.NONE)
    if kind == "channel":
        channel = optional(get, "emphasis-channel")
        if channel is None:
            raise PluginError("Emphasis is a channel, but no channel is chosen: choose one under "
                              "Emphasis channel (save a selection with Select > Save to Channel)")
        if channel.get_image() != image:
            raise PluginError("The emphasis channel %r belongs to another image: choose one of this image's "
                              "channels" % channel.get_name())
        _, offx, offy = drawable.get_offsets()  # a channel covers the image; the layer may be moved
        return channel.get_buffer().get(Gegl.Rectangle.new(x + offx, y + offy, w, h), 1.0, "Y u8",
                                        Gegl.AbyssPolicy.NONE)
    raise PluginError("Emphasis must be none, layer-mask or channel, got %r" % kind)


class DialogPreview:
    """The dialog's preview: the core's result on a downscaled copy of the layer, and its palette.

    Every change of the settings (re)starts a PREVIEW_DELAY_MS timer; when it fires, the core
    runs in a worker thread (the dialog stays responsive). At most one run is in flight: a
    change meanwhile is run once that one is done, with the settings as they are then. The
    first run sends the layer and gets its downscaled copy back; later runs send the copy.
    Nothing here touches the image: the filter itself reads the layer again when it runs.
    """

    def __init__(self, g, gtk, config, image, drawables):
        import threading

        from gi.repository import GdkPixbuf

        self.g, self.Gtk, self.GdkPixbuf, self.threading = g, gtk, GdkPixbuf, threading
        self.config = config
        self.timer = None
        self.busy = False
        self.pending = None
        self.last = None  # the request shown, or being computed
        self.closed = False
        self.source = None  # (pixels, shape, dtype, mask, importance) sent to the core
        self.layer = None  # (image, drawable, read_layer's dict) for reading the emphasis again
        self.emphasis = None  # (the emphasis settings the source's importance was read with)
        self.fg_bg_both = None  # GIMP's foreground and background, for lock-fg-bg
        self.core = None
        self.problem = None  # a PluginError message that stops any preview (no layer, no kmq)

        self.widget = gtk.Box(orientation=gtk.Orientation.VERTICAL, spacing=6)
        self.picture = gtk.Image()
        frame = gtk.Frame()
        frame.set_shadow_type(gtk.ShadowType.IN)
        frame.set_halign(gtk.Align.CENTER)
        frame.add(self.picture)
        self.picture.set_size_request(PREVIEW_SIDE // 2, PREVIEW_SIDE // 2)
        self.swatches = gtk.Image()
        self.swatches.set_halign(gtk.Align.CENTER)
        self.label = gtk.Label(label="Preview: computing\u2026")
        self.label.set_line_wrap(True)
        self.label.set_max_width_chars(40)
        self.label.set_xalign(0.5)
        for w in (frame, self.swatches, self.label):
            self.widget.pack_start(w, False, False, 0)

        self.image, self.drawables = image, drawables
        try:
            drawable = target_layers(drawables, image, "layer")[0]
            layer = read_layer(g, image, drawable)
            self.source = (layer["pixels"], (layer["h"], layer["w"], layer["nch"]), layer["dtype"], layer["mask"],
                           None)
            self.layer = (image, drawable, layer)
            self.fg_bg_both = (color_hex(g, g.Gimp.context_get_foreground()),
                               color_hex(g, g.Gimp.context_get_background()))
            self.core = find_core()
        except PluginError as e:
            self.problem = str(e)
            self.label.set_text("No preview: " + self.problem)
        config.connect("notify", lambda *a: self.schedule())
        self.schedule(0)

    def schedule(self, delay=PREVIEW_DELAY_MS):
        GLib = self.g.GLib
        if self.closed or self.problem:
            return
        if self.timer is not None:
            GLib.source_remove(self.timer)
        self.timer = GLib.timeout_add(delay, self._fire)

    def _fire(self):
        self.timer = None
        get = self.config.get_property
        try:  # several layers share one palette: the preview (of one layer) would not show that
            n = len(target_layers(self.drawables, self.image, optional(get, "frames", "layer")))
        except PluginError as e:
            n, self.last = 0, None
            self._show_problem(str(e))
            return False
        if n > 1:
            self.last = None
            self._show_problem("the filter quantizes %d layers with one palette fitted to all of them; the "
                               "preview shows a single layer only" % n)
            return False
        try:
            request = preview_request(get, self.fg_bg_both if get("lock-fg-bg") else None)
        except PluginError as e:  # e.g. half-typed locked colours: say so, keep the last picture
            self.last = None
            self._show_problem(str(e))
            return False
        try:  # the emphasis: read from the image again whenever its settings change
            emphasis = (optional(get, "emphasis", "none"), optional(get, "emphasis-channel"))
            request["emphasis"] = emphasis[0] + ("" if emphasis[1] is None else ":%d" % emphasis[1].get_id())
            if emphasis != self.emphasis:
                image, drawable, layer = self.layer
                importance = read_emphasis(self.g, image, drawable, get, layer)
                pixels, shape, dtype, mask = (layer["pixels"], (layer["h"], layer["w"], layer["nch"]),
                                              layer["dtype"], layer["mask"])
                self.source, self.emphasis = (pixels, shape, dtype, mask, importance), emphasis
        except PluginError as e:
            self.last = None
            self._show_problem(str(e))
            return False
        if request == self.last:
            return False  # e.g. only the palette's name changed
        self.last = request
        if self.busy:
            self.pending = request
        else:
            self._start(request)
        return False

    def _start(self, request):
        self.busy = True
        self.label.set_text("Preview: computing\u2026")
        self.threading.Thread(target=self._work, args=(request, self.source), daemon=True).start()

    def _work(self, request, source):
        pixels, shape, dtype, mask, importance = source
        res, err = None, None
        t0 = time.time()
        sent = {k: v for k, v in request.items() if k != "emphasis"}  # "emphasis": the plug-in's own key
        try:
            res = self.core.process(pixels, shape, dtype, sent, mask, importance=importance)
        except PluginError as e:
            err = str(e)
        except Exception as e:  # a bug: keep the dialog usable, say what happened
            import traceback

            traceback.print_exc()
            err = "the preview failed (%s: %s)" % (type(e).__name__, e)
        self.g.GLib.idle_add(self._done, request, source, res, err, time.time() - t0)

    def _done(self, request, source, res, err, seconds):
        self.busy = False
        if self.closed:
            return False
        if res is not None and res.get("source") is not None and source is self.source:
            # later runs send the downscaled copy (unless the emphasis was read again meanwhile)
            self.source = (res["source"], res["source_shape"], res["source_dtype"], res["mask"],
                           res.get("importance"))
        if self.pending is not None:
            request, self.pending = self.pending, None
            self._start(request)
            return False  # a newer result is on its way
        if err is not None:
            self._show_problem(err)
        else:
            self._show(request, res, seconds)
        return False

    def _show_problem(self, message):
        self.picture.set_sensitive(False)
        self.swatches.clear()
        self.label.set_text("No preview: " + message)

    def _show(self, request, res, seconds):
        GdkPixbuf, GLib = self.GdkPixbuf, self.g.GLib
        h, w, c = res["shape"]
        pix = GdkPixbuf.Pixbuf.new_from_bytes(GLib.Bytes.new(res["image"]), GdkPixbuf.Colorspace.RGB, c == 4,
                                              8, w, h, w * c)
        if max(w, h) < PREVIEW_SIDE // 2:  # a tiny layer: enlarge it (nearest: the same colours)
            f = (PREVIEW_SIDE // 2) // max(w, h)
            pix = pix.scale_simple(w * f, h * f, GdkPixbuf.InterpType.NEAREST)
        self.picture.set_from_pixbuf(pix)
        self.picture.set_sensitive(True)
        colors = res["colors"]
        data, sw, sh = swatch_pixels(colors, max(pix.get_width(), 200))
        self.swatches.set_from_pixbuf(GdkPixbuf.Pixbuf.new_from_bytes(
            GLib.Bytes.new(data), GdkPixbuf.Colorspace.RGB, True, 8, sw, sh, sw * 4))
        self.swatches.set_tooltip_text(" ".join(res["hex"]))
        self.label.set_text("Preview (%d\u00d7%d copy): %d colour%s"
                            % (w, h, len(colors), "" if len(colors) == 1 else "s"))
        log("preview shown: k=%d, %d colours %s, %dx%d, %.2fs, mood %s, emphasis %s"
            % (request["k"], len(colors), ",".join(res["hex"]), w, h, seconds, request.get("mood", NO_MOOD),
               request.get("emphasis", "none")))

    def close(self):
        self.closed = True
        if self.timer is not None:
            self.g.GLib.source_remove(self.timer)
            self.timer = None


def show_dialog(g, procedure, config, image=None, drawables=()):
    import gi

    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    gi.require_version("Gtk", "3.0")
    GimpUi.init(PROC)
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "K-means Quantize")
    # show only the valid ranges (the PDB declares wider ones, see INT_MIN above)
    try:
        spec = core_options().SPECS
        dialog.get_scale_entry("k", 1.0).set_bounds(spec["k"].low, spec["k"].high, False)
        # (an int argument's widget is a GimpLabelSpin: GIMP 3.0.4 refuses to make a GtkSpinButton)
        dialog.get_widget("seed", GimpUi.LabelSpin.__gtype__).get_spin_button().set_range(SEED_MIN, SEED_MAX)
        sizes = spec["bayer_size"].choices
        dialog.get_widget("bayer-size", GimpUi.LabelSpin.__gtype__).get_spin_button().set_range(min(sizes),
                                                                                                max(sizes))
    except Exception as e:  # cosmetic only: never let it stop the plug-in
        log("could not narrow the dialog's ranges: %s" % e)
    # (the mood and the channel have no mnemonic: every letter of theirs is taken, by the buttons too)
    extra = [a[1] for a in extra_arguments(core_options())]
    if extra:  # mood under k, the emphasis after the quality (registered last: see extra_arguments)
        names = ["frames", "k", "mood", "space", "dither", "bayer-size", "seed", "lock", "lock-fg-bg", "quality",
                 "emphasis", "emphasis-channel", "add-palette", "palette-name", "palette-file"]
        dialog.fill(names)
        try:  # the channel only matters for Emphasis: Channel
            values = g.Gimp.ValueArray.new(1)
            values.append(g.GObject.Value(g.GObject.TYPE_STRING, "channel"))
            dialog.set_sensitive_if_in("emphasis-channel", None, "emphasis", values, True)
        except Exception as e:  # cosmetic only
            log("could not tie the emphasis channel to the emphasis: %s" % e)
    else:
        dialog.fill(None)
    preview = None
    try:  # the preview, left of the settings
        from gi.repository import Gtk

        preview = DialogPreview(g, Gtk, config, image, drawables)
        # fill() packs the settings straight into the content area, which also holds the row of
        # Help/Reset/Cancel/OK: move the settings (not that row: a default button taken out of its
        # window stops being the default, and Return would no longer run the filter) into a
        # column right of the preview
        content = dialog.get_content_area()
        keep = set()
        for response in (Gtk.ResponseType.OK, Gtk.ResponseType.CANCEL, Gtk.ResponseType.HELP):
            w = dialog.get_widget_for_response(response)
            while w is not None and w.get_parent() is not None and w.get_parent() is not content:
                w = w.get_parent()
            if w is not None:
                keep.add(w)
        settings = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=content.get_spacing())
        for child in content.get_children():
            if child in keep or isinstance(child, Gtk.ButtonBox):
                continue
            expand, fill, padding, _ = content.query_child_packing(child)
            content.remove(child)
            settings.pack_start(child, expand, fill, padding)
        row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=12)
        row.pack_start(preview.widget, False, False, 0)
        row.pack_start(settings, True, True, 0)
        content.pack_start(row, True, True, 0)
        content.reorder_child(row, 0)
        settings.show()
        row.show()
        preview.widget.show_all()
        dialog.set_default_response(Gtk.ResponseType.OK)
        # the dialog opens with the keyboard in k's field (arrows change k, Return runs the filter)
        spin = dialog.get_scale_entry("k", 1.0).get_spin_button()
        spin.set_activates_default(True)
        spin.grab_focus()
    except Exception as e:  # the preview is a help: never let it stop the filter
        import traceback

        traceback.print_exc()
        log("no preview: %s" % e)
    ok = dialog.run()
    if preview is not None:
        preview.close()
    dialog.destroy()
    return ok


def run(g, procedure, run_mode, image, drawables, config, run_data):
    try:
        core_options()  # or the PluginError saying how to make kmq findable
        if run_mode == g.Gimp.RunMode.INTERACTIVE and not show_dialog(g, procedure, config, image, drawables):
            return procedure.new_return_values(g.Gimp.PDBStatusType.CANCEL, g.GLib.Error())
        return quantize_layer(g, procedure, image, drawables, config)
    except PluginError as e:
        return fail(g, procedure, str(e))
    except Exception as e:  # a bug: say so, keep the traceback for the report
        import traceback

        traceback.print_exc()
        return fail(g, procedure, "kmq-quantize failed unexpectedly (%s: %s). Please report this bug "
                                  "with GIMP's error console output." % (type(e).__name__, e))


def quantize_layer(g, procedure, image, drawables, config):
    Gimp = g.Gimp
    layers = target_layers(drawables, image, optional(config.get_property, "frames", "layer"))
    if len(layers) > 1:
        return quantize_layers(g, procedure, image, layers, config)
    drawable = layers[0]
    request = layer_request(config.get_property, fg_bg_colors(g, config), image_name(image))
    add_palette = config.get_property("add-palette")

    t0 = time.time()
    layer = read_layer(g, image, drawable)  # or "the selection does not touch this layer"
    x, y, w, h, fmt = layer["x"], layer["y"], layer["w"], layer["h"], layer["fmt"]
    importance = read_emphasis(g, image, drawable, config.get_property, layer)
    t_read = time.time() - t0

    Gimp.progress_init("K-means Quantize (k=%d)" % request["k"])
    t1 = time.time()
    core = find_core()
    t_find = time.time() - t1
    log("core via %s (%s)" % (core.how, core.where))
    Gimp.progress_update(0.1)
    t1 = time.time()
    res = core.process(layer["pixels"], (h, w, layer["nch"]), layer["dtype"], request, layer["mask"],
                       pulse=Gimp.progress_pulse, importance=importance)
    Gimp.progress_update(0.9)
    t_core = time.time() - t1
    t1 = time.time()

    image.undo_group_start()
    try:
        write_pixels(g, drawable, x, y, w, h, fmt, res["image"])
    finally:
        image.undo_group_end()

    gimp_name = finish(g, res, add_palette)
    log("done: %d colours, palette %r, file %r; %dx%d px: finding the core %.2fs, reading %.2fs, "
        "core %.2fs (k-means %.2fs), writing %.2fs"
        % (len(res["colors"]), gimp_name, res["palette_file"], w, h, t_find, t_read, t_core,
           res["seconds"], time.time() - t1))
    return with_results(g, procedure, gimp_name, len(res["colors"]), res["palette_file"])


def write_pixels(g, drawable, x, y, w, h, fmt, pixels):
    """Put kmq's pixels into the rectangle (x, y, w, h) of the drawable through its shadow buffer: merging it
    applies the selection mask and pushes the undo step (inside the caller's undo group)."""
    shadow = drawable.get_shadow_buffer()
    shadow.set(g.Gegl.Rectangle.new(x, y, w, h), fmt, pixels)
    shadow.flush()
    drawable.merge_shadow(True)
    drawable.update(x, y, w, h)


def finish(g, res, add_palette):
    """The palette into GIMP's Palettes (when asked), the progress bar closed, the displays
    redrawn; returns the GIMP palette's name ("" when none was added)."""
    gimp_name = add_gimp_palette(g, res) if add_palette else ""
    g.Gimp.progress_update(1.0)
    g.Gimp.progress_end()
    g.Gimp.displays_flush()
    return gimp_name


def add_gimp_palette(g, res):
    """The core's palette as a new palette in GIMP's Palettes; returns the name GIMP gave it."""
    pal = g.Gimp.Palette.new(res["name"])
    pal.set_columns(min(16, max(1, len(res["colors"]))))
    for name, (r, gr, b) in zip(res["names"], res["colors"]):
        pal.add_entry(name, g.Gegl.Color.new("#%02x%02x%02x" % (r, gr, b)))
    return pal.get_name()


def quantize_layers(g, procedure, image, layers, config):
    """Several layers (an animation's frames) with ONE palette fitted to all of them together
    (the core's process_layers); each keeps its alpha and offsets; one undo step."""
    Gimp = g.Gimp
    request = layer_request(config.get_property, fg_bg_colors(g, config), image_name(image))
    add_palette = config.get_property("add-palette")
    t0 = time.time()
    read = []
    for drawable in layers:
        try:
            layer = read_layer(g, image, drawable)
        except PluginError:  # the selection does not touch this layer: it stays as it is
            continue
        importance = read_emphasis(g, image, drawable, config.get_property, layer)
        read.append((drawable, layer, importance))
    if not read:
        raise PluginError("The selection touches none of the %d layers: nothing to quantize" % len(layers))
    t_read = time.time() - t0
    Gimp.progress_init("K-means Quantize (k=%d, %d layers, one palette)" % (request["k"], len(read)))
    core = find_core()
    log("core via %s (%s)" % (core.how, core.where))
    Gimp.progress_update(0.1)
    t1 = time.time()
    res = core.process_layers([(lay["pixels"], (lay["h"], lay["w"], lay["nch"]), lay["dtype"], lay["mask"], imp)
                               for _, lay, imp in read], request, pulse=Gimp.progress_pulse)
    Gimp.progress_update(0.9)
    t_core = time.time() - t1
    image.undo_group_start()  # every layer in one undo step
    try:
        for (drawable, lay, _), pixels in zip(read, res["images"]):
            write_pixels(g, drawable, lay["x"], lay["y"], lay["w"], lay["h"], lay["fmt"], pixels)
    finally:
        image.undo_group_end()
    gimp_name = finish(g, res, add_palette)
    log("done: %d layers, one palette of %d colours %s, palette %r, file %r; reading %.2fs, core %.2fs"
        % (len(read), len(res["colors"]), ",".join(res["hex"]), gimp_name, res["palette_file"], t_read, t_core))
    return with_results(g, procedure, gimp_name, len(res["colors"]), res["palette_file"])


def with_results(g, procedure, palette_name, n_colors, palette_file):
    # new_return_values gives [status, <one default per declared return value>]
    GObject = g.GObject
    retvals = procedure.new_return_values(g.Gimp.PDBStatusType.SUCCESS, g.GLib.Error())
    for i, (gtype, value) in enumerate(((GObject.TYPE_STRING, palette_name),
                                        (GObject.TYPE_INT, n_colors),
                                        (GObject.TYPE_STRING, palette_file)), start=1):
        retvals.remove(i)
        retvals.insert(i, GObject.Value(gtype, value))
    return retvals


def _main():
    """Register the procedure with GIMP and hand it the adapter."""
    import types

    import gi

    gi.require_version("Gimp", "3.0")
    gi.require_version("Gegl", "0.4")
    gi.require_version("Babl", "0.1")
    from gi.repository import Babl, Gegl, Gimp, GLib, GObject

    g = types.SimpleNamespace(Gimp=Gimp, Gegl=Gegl, Babl=Babl, GLib=GLib, GObject=GObject)
    rw = GObject.ParamFlags.READWRITE

    def run_procedure(procedure, run_mode, image, drawables, config, run_data):
        return run(g, procedure, run_mode, image, drawables, config, run_data)

    class KmqQuantize(Gimp.PlugIn):
        def do_query_procedures(self):
            return [PROC]

        def do_set_i18n(self, name):
            return False

        def do_create_procedure(self, name):
            p = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run_procedure, None)
            p.set_image_types("RGB*, GRAY*")
            p.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
            p.set_menu_label("_K-means Quantize\u2026")
            p.add_menu_path("<Image>/Filters/Colors")
            p.set_documentation(
                "Reduce the layer to k colours with k-means (kmq)",
                "Fits k colours to the layer (or the selection) with kmq's k-means quantizer, "
                "replaces every pixel by its nearest palette colour (with adaptive "
                "dithering in smooth areas by default) and adds the palette to GIMP's Palettes. "
                "The image stays RGB or grayscale; alpha is kept. Arguments have the same "
                "names as kmq's command line.", name)
            p.set_attribution("kmq developers", "kmq developers", "2026")
            options = registered_options()
            if options is None:  # registered without arguments: running it says how to fix that
                return p
            def add(kind, arg, label, blurb, extra):
                if kind == "int":  # the full int range: see INT_MIN above
                    p.add_int_argument(arg, label, blurb, INT_MIN, INT_MAX, extra, rw)
                elif kind == "choice":
                    choice = Gimp.Choice.new()
                    for i, (nick, text) in enumerate(extra[0]):
                        choice.add(nick, i, text, "")
                    p.add_choice_argument(arg, label, blurb, choice, extra[1], rw)
                elif kind == "string":
                    p.add_string_argument(arg, label, blurb, extra, rw)
                elif kind == "channel":
                    p.add_channel_argument(arg, label, blurb, True, rw)
                else:
                    p.add_boolean_argument(arg, label, blurb, extra, rw)

            for argument in procedure_arguments(options):
                add(*argument)
            p.add_file_argument("palette-file", "Export palette to _file",
                                "Optional .gpl, .ase, .aco, .act, .css, .json, .txt, .png file",
                                Gimp.FileChooserAction.SAVE, True, None, rw)
            for argument in extra_arguments(options):  # after palette-file: positions kept
                add(*argument)
            p.add_string_return_value("palette-name", "Palette name",
                                      "Name GIMP gave the new palette ('' if none)", "", rw)
            p.add_int_return_value("colors", "Colors", "Number of colours in the palette", 0, 256, 0, rw)
            p.add_string_return_value("palette-file", "Palette file", "The file written ('' if none)", "", rw)
            return p

    Gimp.main(KmqQuantize.__gtype__, sys.argv)


if __name__ == "__main__":
    _main()
