"""What the GIMP plug-in asks of the core, in-process or as a subprocess.

The GIMP 3 plug-in (``plugins/gimp/kmq-quantize/kmq-quantize.py``) runs in GIMP's
own Python, which may lack kmq's dependencies. It therefore either imports this
module and calls :func:`process`, or runs it in the user's kmq environment::

    python -m kmq_core.gimp_bridge IN.npz OUT.npz

Both ways run the same :func:`process`, so the result does not depend on how
the core was reached.

``IN.npz`` holds ``pixels`` (H×W×C, C = 3 or 4, ``uint8`` or ``float32`` 0..1,
non-linear sRGB as GIMP hands out ``R'G'B'(A)``), optionally ``mask`` (H×W
``uint8``, the selection: 0 = not selected), optionally ``importance`` (H×W ``uint8``, the
layer mask or channel chosen as the emphasis: white counts most, :mod:`kmq_core.importance`)
and ``request`` (a 0-d unicode array
holding JSON: ``k``, ``space``, ``dither``, ``seed``, ``lock``, ``bayer_size`` and ``mood`` (optional),
``palette_name``, ``palette_file``, ``quality``: ``'MIN-MAX'`` or ``''``, ``preview``: 0 or the
longest side of the dialog's preview, see :func:`preview`). The plug-in writes it without numpy (plain
``.npy`` members in a zip), so GIMP builds without numpy can use this path.

``OUT.npz`` holds ``image`` (same shape and dtype as ``pixels``; alpha copied
unchanged), ``colors`` (n×3 ``uint8``), ``weights`` (n ``float64``) and
``result`` (JSON: palette ``name``, ``names``, ``hex``, ``palette_file``,
``seconds``) on success; or ``error`` (one line) when the input is bad. For a preview
request ``image`` is the ``uint8`` picture to show, and ``source`` (and ``mask``, when
one was sent) the downscaled copy it was made from.
Several layers (an animation's frames, :func:`process_layers`): the request has ``layers`` = n and
the members ``pixels_0`` ... ``pixels_{n-1}`` (with ``mask_i``, ``importance_i`` where given); the
result holds ``image_0`` ... ``image_{n-1}`` and the one palette.
Exit status: 0 success, 2 bad input (:class:`KmqError`), 1 anything else (a
bug: the traceback goes to stderr).

Choices made here (not in the plug-in, which stays thin):

- High bit depth: GIMP gives ``float32`` 0..1. Colours are rounded to 8-bit sRGB
  for the fit (palettes are 8-bit), the written colours are exactly the palette
  colours (as ``v / 255``), and the original float alpha is written back
  untouched, so alpha keeps its full precision.
- Colour profiles: the plug-in asks GIMP for ``R'G'B'(A)`` pixels, babl's sRGB
  formats, so GIMP converts the layer from the image's own profile (Display P3,
  Adobe RGB, ...) to sRGB when it hands the pixels out and back when it takes
  the result: the palette is sRGB, like the command line's, and the layer stays
  in the image's profile. The core therefore gets pixels without a profile and
  treats them as sRGB.
- Selection: pixels with ``mask == 0`` take no part in the fit (they are given
  alpha 0, which the core ignores when fitting); GIMP itself keeps them
  unchanged when the plug-in merges its result through the selection. A mask
  that selects every pixel is dropped, so a selection covering the whole
  bounding box gives exactly the unselected result for that box.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from .errors import KmqError
from .options import QuantizeOptions

#: the colour options a request may carry (kmq_core.options: the same checks and defaults as
#: everywhere); the plug-in sends all of them but ``bayer_size``, which it sends only for
#: Bayer dithering at a size other than the default, so an older core still serves it
REQUEST_OPTIONS = ("k", "space", "dither", "seed", "lock", "bayer_size", "quality", "mood")
#: what else a request carries: where the palette goes; ``layers``: 0, or how many layers a
#: request for :func:`process_layers` holds (``pixels_0``, ``mask_0``, ``importance_0``, ...)
REQUEST_EXTRAS = {"palette_name": "", "palette_file": "", "preview": 0, "layers": 0}
#: longest side, in pixels, of the copy the dialog's preview is computed on (small, so it stays quick)
PREVIEW_SIDE = 320


def request_options(request: dict) -> QuantizeOptions:
    """The validated options of a request (an unknown key is a :class:`KmqError`)."""
    unknown = set(request) - set(REQUEST_OPTIONS) - set(REQUEST_EXTRAS)
    if unknown:
        raise KmqError(f"unknown request keys {sorted(unknown)} (plug-in and kmq versions differ?)")
    # no pixel limit: GIMP has the layer in memory already
    return QuantizeOptions.from_dict({**{k: request[k] for k in REQUEST_OPTIONS if k in request}, "max_pixels": None})


def _to_u8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.nan_to_num(values, nan=0.0) * 255.0), 0, 255).astype(np.uint8)


def process(pixels: np.ndarray, request: dict, mask: np.ndarray | None = None,
            importance: np.ndarray | None = None) -> dict:
    """Quantize GIMP pixels. See the module docstring for shapes and choices.

    ``importance``: None, or H×W (``uint8`` 0-255 or float 0-1): how much each pixel
    counts in the fit (the plug-in's "Emphasis"), as ``quantize(importance=...)``.

    Returns a dict with ``image`` (array like ``pixels``), ``palette``
    (:class:`~kmq_core.palette.Palette`, already named), ``palette_file`` (str or
    ``""``) and ``seconds``. Raises :class:`KmqError` for bad input.
    """
    from .pipeline import quantize

    o = request_options(request)
    req = {**REQUEST_EXTRAS, **request}
    pixels, core_in, high = _core_input(pixels, mask)

    t0 = time.perf_counter()
    opts = {**o.quantize_kwargs(), "count_alpha": False}  # max_pixels None: see request_options
    if importance is not None:
        importance = np.asarray(importance)
        if importance.shape != pixels.shape[:2]:
            raise KmqError(f"the emphasis mask's shape {importance.shape} does not match the pixels "
                           f"{pixels.shape[:2]}")
        opts["importance"] = importance
    if o.quality:
        # the fewest colours (up to k) reaching MAX; below MIN a KmqError, so the layer is left alone
        from .auto_k import smallest_k_for_quality

        _, res = smallest_k_for_quality(core_in, o.quality, k_max=o.k, **opts)
    else:
        # k counts colours: the layer keeps its own alpha, which has no palette entry in GIMP
        res = quantize(core_in, o.k, **opts)
    palette, written = _named_and_written(res.palette, req)
    return {"image": _written_back(pixels, res.image, high), "palette": palette, "palette_file": written,
            "seconds": time.perf_counter() - t0}


def _core_input(pixels, mask) -> tuple[np.ndarray, np.ndarray, bool]:
    """(pixels as an array, the uint8 pixels the core fits, whether they are high bit depth);
    unselected pixels (``mask == 0``) get alpha 0 (module docstring)."""
    pixels = np.asarray(pixels)
    if pixels.ndim != 3 or pixels.shape[2] not in (3, 4) or 0 in pixels.shape[:2]:
        raise KmqError(f"the plug-in sent pixels of shape {pixels.shape}; expected H×W×3 or H×W×4")
    if pixels.dtype == np.uint8:
        high = False
        px8 = pixels
    elif pixels.dtype in (np.float32, np.float64):
        high = True
        px8 = _to_u8(pixels)
    else:
        raise KmqError(f"the plug-in sent pixels of type {pixels.dtype}; expected uint8 or float32")
    has_alpha = pixels.shape[2] == 4

    core_in = px8
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != pixels.shape[:2]:
            raise KmqError(f"selection mask shape {mask.shape} does not match the pixels {pixels.shape[:2]}")
        if not (mask > 0).any():
            raise KmqError("the selection is empty: select the pixels to quantize, or select none")
        if not (mask > 0).all():
            alpha = px8[..., 3] if has_alpha else np.full(px8.shape[:2], 255, np.uint8)
            core_in = np.dstack([px8[..., :3], np.where(mask > 0, alpha, 0).astype(np.uint8)])
    return pixels, core_in, high


def _written_back(pixels: np.ndarray, result: np.ndarray, high: bool) -> np.ndarray:
    """What goes back into the layer: the result's colours (exactly v / 255 at high bit depth),
    the layer's own alpha."""
    rgb8 = result[..., :3]
    if high:
        out = pixels.astype(np.float32, copy=True)
        out[..., :3] = rgb8.astype(np.float32) / np.float32(255.0)
    else:
        out = pixels.copy()
        out[..., :3] = rgb8
    return out


def _named_and_written(palette, req: dict):
    name = str(req["palette_name"] or "").strip()
    if name:
        palette = palette.renamed(name)
    written = ""
    if req["palette_file"]:
        from .formats import write_palette

        written = str(write_palette(palette, req["palette_file"]))
    return palette, written


def process_layers(layers, request: dict) -> dict:
    """Quantize several GIMP layers (an animation's frames) with ONE palette fitted to all of them.

    ``layers``: a sequence of ``(pixels, mask, importance)``, each as for :func:`process`
    (sizes may differ: each layer is read in its own coordinates). The palette is fitted to
    every layer's (selected, visible) pixels together (:func:`kmq_core.shared_frames.quantize_frames`).
    ``quality`` is not supported here (a :class:`KmqError`). Returns a dict with ``images``
    (one array like each layer's pixels, alpha unchanged), ``palette``, ``palette_file`` and
    ``seconds``.
    """
    from .shared_frames import quantize_frames

    o = request_options(request)
    req = {**REQUEST_EXTRAS, **request}
    if o.quality:
        raise KmqError("Quality (MIN-MAX) works on one layer; for all layers give k and leave Quality empty")
    inputs, fits, imps = [], [], []
    for pixels, mask, importance in layers:
        pixels, core_in, high = _core_input(pixels, mask)
        if importance is not None:
            importance = np.asarray(importance)
            if importance.shape != pixels.shape[:2]:
                raise KmqError(f"the emphasis mask's shape {importance.shape} does not match the pixels "
                               f"{pixels.shape[:2]}")
        inputs.append((pixels, high))
        fits.append(core_in)
        imps.append(importance)
    if not fits:
        raise KmqError("no layers to quantize")
    t0 = time.perf_counter()
    kw = o.quantize_kwargs()
    res = quantize_frames(fits, o.k, space=kw["space"], dither=kw["dither"], seed=kw["seed"], lock=kw["lock"],
                          bayer_size=kw["bayer_size"], mood=kw.get("mood"),
                          importance=None if all(i is None for i in imps) else imps)
    images = [_written_back(px, r.image, high) for (px, high), r in zip(inputs, res.frames)]
    palette, written = _named_and_written(res.palette, req)
    return {"images": images, "palette": palette, "palette_file": written, "seconds": time.perf_counter() - t0}


def downscale(pixels: np.ndarray, mask: np.ndarray | None, max_side: int,
              importance: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """A copy of ``pixels`` (and ``mask``, ``importance``) whose longest side is at most ``max_side``.

    Each pixel of the copy is the area-weighted mean of the layer pixels it covers
    (OpenCV's ``INTER_AREA``), colours weighted by alpha (premultiplied), so fully
    transparent pixels lend no colour to their neighbours. Same dtype as ``pixels``.
    An image already small enough is returned as is, so downscaling a copy again
    changes nothing (the plug-in sends the copy back for later previews).
    """
    import cv2

    h, w = pixels.shape[:2]
    if max_side < 1:
        raise KmqError(f"the preview size must be at least 1 pixel, got {max_side}")
    if max(h, w) <= max_side:
        return pixels, mask, importance
    s = max_side / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    f = pixels.astype(np.float32) / (255.0 if pixels.dtype == np.uint8 else 1.0)
    if f.shape[2] == 4:
        a = f[..., 3:4]
        small = cv2.resize(np.dstack([f[..., :3] * a, a]), size, interpolation=cv2.INTER_AREA)
        sa = small[..., 3:4]
        small[..., :3] = np.where(sa > 0, small[..., :3] / np.maximum(sa, 1e-12), 0.0)
    else:
        small = cv2.resize(f, size, interpolation=cv2.INTER_AREA)
    small = np.clip(small, 0.0, 1.0)
    small = _to_u8(small) if pixels.dtype == np.uint8 else small.astype(np.float32)
    if mask is not None:
        mask = np.clip(np.rint(cv2.resize(np.asarray(mask, np.float32), size, interpolation=cv2.INTER_AREA)),
                       0, 255).astype(np.uint8)
    if importance is not None:  # the same scale as given (uint8 0-255 or float 0-1)
        imp = cv2.resize(np.asarray(importance, np.float32), size, interpolation=cv2.INTER_AREA)
        importance = (np.clip(np.rint(imp), 0, 255).astype(np.uint8) if np.asarray(importance).dtype == np.uint8
                      else imp)
    return small, mask, importance


def preview(pixels: np.ndarray, request: dict, mask: np.ndarray | None = None,
            importance: np.ndarray | None = None) -> dict:
    """What the plug-in's dialog shows: the request's result on a downscaled copy.

    The copy's longest side is ``request["preview"]`` pixels at most (:data:`PREVIEW_SIDE`
    if 0 or absent; :func:`downscale`), and it is quantized by :func:`process` exactly as
    the layer would be (the palette file is never written). Returns ``image``: the
    picture to show, ``uint8`` with the pixels' channels: the result where the (downscaled)
    selection is full, blended with the original where it is partial, the original
    outside it, as GIMP merges the filter through the selection; ``source``, ``mask`` and
    ``importance``: the downscaled copy (send them back for the next preview to skip the downscaling);
    ``palette`` and ``seconds`` as :func:`process`.
    """
    side = int(request.get("preview") or PREVIEW_SIDE)
    small, smask, simp = downscale(np.asarray(pixels), None if mask is None else np.asarray(mask), side,
                                   None if importance is None else np.asarray(importance))
    r = process(small, {**request, "palette_file": "", "preview": side}, smask, simp)
    shown = r["image"] if small.dtype == np.uint8 else _to_u8(r["image"])
    if smask is not None and not (smask == 255).all():
        orig = small if small.dtype == np.uint8 else _to_u8(small)
        m = smask.astype(np.float32)[..., None] / 255.0
        blend = np.rint(shown.astype(np.float32) * m + orig.astype(np.float32) * (1 - m)).astype(np.uint8)
        shown = np.dstack([blend[..., :3], orig[..., 3:]]) if orig.shape[2] == 4 else blend
    return {"image": shown, "source": small, "mask": smask, "importance": simp, "palette": r["palette"],
            "palette_file": "",
            "seconds": r["seconds"]}


def read_request(path: str | os.PathLike) -> tuple[np.ndarray | list, dict, np.ndarray | None, np.ndarray | None]:
    """(pixels, request, mask, importance); for a request with ``layers`` = n > 0, ``pixels`` is
    the list of n ``(pixels, mask, importance)`` for :func:`process_layers` (mask, importance None)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            request = json.loads(str(z["request"]))
            n = int(request.get("layers") or 0) if isinstance(request, dict) else 0
            if n > 0:
                pixels = [(z[f"pixels_{i}"], z[f"mask_{i}"] if f"mask_{i}" in z.files else None,
                           z[f"importance_{i}"] if f"importance_{i}" in z.files else None) for i in range(n)]
                mask = importance = None
            else:
                pixels = z["pixels"]
                mask = z["mask"] if "mask" in z.files else None
                importance = z["importance"] if "importance" in z.files else None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise KmqError(f"cannot read the plug-in's request {path}: {e}") from None
    if not isinstance(request, dict):
        raise KmqError("the plug-in's request is not a JSON object")
    return pixels, request, mask, importance


def _write_npz(path: str | os.PathLike, **arrays) -> None:
    tmp = str(path) + ".part.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--check"]:
        # the plug-in asks whether this interpreter has a usable kmq
        from . import __version__

        # kmq_core_path: where the plug-in loads kmq_core.options from (plain Python) when
        # GIMP's own Python cannot import the rest
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        print(json.dumps({"kmq": __version__, "python": sys.executable, "kmq_core_path": root}))
        return 0
    if len(argv) != 2:
        print("usage: python -m kmq_core.gimp_bridge IN.npz OUT.npz   (or --check)", file=sys.stderr)
        return 2
    src, dst = argv
    try:
        pixels, request, mask, importance = read_request(src)
        if request.get("layers"):
            r = process_layers(pixels, request)
        else:
            r = (preview if request.get("preview") else process)(pixels, request, mask, importance)
    except KmqError as e:
        msg = str(e).splitlines()[0] if str(e) else "bad input"
        _write_npz(dst, error=np.array(msg))
        print(f"kmq: error: {msg}", file=sys.stderr)
        return 2
    pal = r["palette"]
    result = {"name": pal.name, "names": list(pal.names), "hex": pal.hex,
              "palette_file": r["palette_file"], "seconds": r["seconds"]}
    extra = {} if "source" not in r else {"source": r["source"]}
    for name in ("mask", "importance"):
        if r.get(name) is not None:
            extra[name] = r[name]
    if "images" in r:  # process_layers: one image per layer
        extra.update({f"image_{i}": im for i, im in enumerate(r["images"])})
    else:
        extra["image"] = r["image"]
    _write_npz(dst, colors=pal.colors, weights=pal.weights,
               result=np.array(json.dumps(result)), **extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
