"""The per-pixel loops, compiled (``kmq_core/_kernels.c``), with their inputs checked.

sRGB → Oklab (:func:`oklab_u8`) and → CIELAB L* (:func:`lightness_u8`) for whole
images, the last step of the masking weights (:func:`masking_from_moments`) and
the rate-aware label choice (:func:`rate_aware_band`) run on every pixel of every
image; the dithering loops (:func:`diffuse_band`, :func:`ordered_band`, the dither
map's :func:`flat_runs` and the contrast maps' :func:`contrast_u8`) on every pixel
of a ``--dither`` run. They are written in C because numpy would need several
float64 temporaries per pixel and cannot express most of them (each pixel
depends on the labels or the error left by the ones before it), and because
numba, which compiled them before, costs a command about 0.5 s and 120 MB to
import and load (issue 25). The C follows numba's arithmetic operation for
operation, so the results are the same bits (tests/test_kernels.py checks them
against numpy references and the numba loops). With the build, no command
imports numba. A Python for which the extension was not built (GIMP's own,
importing this checkout) gets the numba versions the C was written from
(:mod:`kmq_core.kernels_numba` for the default path, :mod:`kmq_core.scan` for
dithering), bit for bit the same.
"""

from __future__ import annotations

import numpy as np

try:
    from . import _kernels
except ImportError:  # not built for this Python: numba's versions of the same loops, loaded now so
    _kernels = None  # that a Python with neither fails here, on import, not halfway through a run
    from . import kernels_numba  # noqa: F401

#: 8-bit sRGB → linear light, the table every kernel decodes with
LINEAR = np.where(np.arange(256) / 255.0 <= 0.04045, np.arange(256) / 255.0 / 12.92,
                  ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4)
LINEAR.setflags(write=False)


def _out(out: np.ndarray, dtype, shape) -> np.ndarray:
    if out.dtype != dtype or out.shape != tuple(shape) or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"out must be a writable C-contiguous {np.dtype(dtype).name} array of shape {tuple(shape)}")
    return out


def oklab_u8(rgb: np.ndarray, m1: np.ndarray, m2: np.ndarray, chroma: float = 1.0) -> np.ndarray:
    """N×3 uint8 sRGB → N×3 float32 Oklab×100 (a and b times ``chroma``), via the matrices ``m1``, ``m2``."""
    rgb = np.ascontiguousarray(rgb, np.uint8).reshape(-1, 3)
    out = np.empty((len(rgb), 3), np.float32)
    if _kernels is None:
        from .kernels_numba import _oklab

        return _oklab(rgb, np.asarray(LINEAR), np.ascontiguousarray(m1, np.float64),
                      np.ascontiguousarray(m2, np.float64), float(chroma), out)
    _kernels.oklab_u8(rgb, LINEAR, np.ascontiguousarray(m1, np.float64).reshape(9),
                      np.ascontiguousarray(m2, np.float64).reshape(9), float(chroma), out)
    return out


def lightness_u8(rgb: np.ndarray) -> np.ndarray:
    """h×w×3|4 uint8 sRGB → h×w float32 CIELAB L* (D65, 0..100)."""
    rgb = np.ascontiguousarray(rgb, np.uint8)
    out = np.empty(rgb.shape[:2], np.float32)
    if _kernels is None:
        from .kernels_numba import _lightness

        return _lightness(rgb, np.asarray(LINEAR), out)
    _kernels.lightness_u8(rgb, int(rgb.shape[2]), LINEAR, out)
    return out


def masking_from_moments(m: np.ndarray, m2: np.ndarray, c: float, p: float, out: np.ndarray) -> np.ndarray:
    """``(c / (c + sqrt(max(m2 − m², 0))))**p`` elementwise into ``out`` (float32 maps of one shape)."""
    m = np.ascontiguousarray(m, np.float32)
    m2 = np.ascontiguousarray(m2, np.float32)
    if m.shape != m2.shape:
        raise ValueError("m and m2 differ in shape")
    _out(out, np.float32, m.shape)
    if _kernels is None:
        from .kernels_numba import masking_from_moments as compiled

        return compiled(m, m2, np.float32(c), np.float32(p), out)
    _kernels.masking_from_moments(m, m2, float(np.float32(c)), float(np.float32(p)), out)
    return out


def rate_aware_band(x, labels, nearest, weight, free, pal, lam, cap, above, out) -> np.ndarray:
    """Prefer the label of the left or upper neighbour when the eye cannot tell.

    Where ``free``, a pixel takes its left neighbour's label (else the upper
    one's) when that colour's squared error is within ``min(lam / weight,
    cap)`` of the nearest colour's: runs and repeated rows, which deflate
    stores in a fraction of the bytes, at a cost below the masking threshold
    that ``weight`` (:func:`kmq_core.contrast.masking_weights`) stands for.
    ``above`` is the previous band's last row of labels (−1: none). A pixel
    whose colour the palette holds exactly keeps it (pixel art, flat graphics
    and shared sprite palettes stay lossless). Elsewhere ``labels`` (e.g.
    dithered) are kept as they are.

    Parameters
    ----------
    x : (h, w, 3) float32, the band's pixels in the working space.
    labels : (h, w) uint8, the labels so far (kept where not ``free``).
    nearest : (h, w) uint8, each pixel's nearest palette colour.
    weight : (h, w) float32, the masking weights.
    free : (h, w) bool, where the choice may move a label.
    pal : (n, 3) float32, the palette in the working space.
    lam, cap : float, the tolerance and its cap (squared working-space units).
    above : (w,) int16.
    out : (h, w) uint8, written.
    """
    h, w = labels.shape
    args = (np.ascontiguousarray(x, np.float32), np.ascontiguousarray(labels, np.uint8),
            np.ascontiguousarray(nearest, np.uint8), np.ascontiguousarray(weight, np.float32),
            np.ascontiguousarray(free, np.bool_), np.ascontiguousarray(pal, np.float32))
    if args[0].shape != (h, w, 3) or any(a.shape != (h, w) for a in args[2:5]) or len(above) != w:
        raise ValueError("rate_aware_band: the band's arrays differ in shape")
    above = np.ascontiguousarray(above, np.int16)
    _out(out, np.uint8, (h, w))
    if _kernels is None:
        from .kernels_numba import rate_aware_band as compiled

        return compiled(*args, np.float32(lam), np.float32(cap), above, out)
    _kernels.rate_aware_band(*args, float(np.float32(lam)), float(np.float32(cap)), above, out, h, w)
    return out


# ---- the dithering loops: only --dither runs them (kmq_core.dithering, kmq_core.contrast.edge_map)


def neighbour_table(palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each palette colour, the others by distance: (order n×n int32, distance n×n float32).

    Column 0 is the colour itself (distance 0). The nearest-colour search of the
    dithering loops starts from a guess and walks this table (see :func:`diffuse_band`).
    """
    p = np.asarray(palette, np.float64)
    d = np.sqrt(np.maximum(((p[:, None, :] - p[None, :, :]) ** 2).sum(-1), 0.0))
    order = np.argsort(d, axis=1, kind="stable").astype(np.int32)
    return order, np.take_along_axis(d, order, axis=1).astype(np.float32)


def _band_args(x, guess, strength, visible, pal, order, dist):
    """The arrays every dithering loop reads, contiguous and of numba's types, their shapes checked."""
    h, w = guess.shape
    args = (np.ascontiguousarray(x, np.float32), np.ascontiguousarray(guess, np.uint8),
            np.ascontiguousarray(strength, np.float32), np.ascontiguousarray(visible, np.bool_),
            np.ascontiguousarray(pal, np.float32), np.ascontiguousarray(order, np.int32),
            np.ascontiguousarray(dist, np.float32))
    n = len(args[4])
    if (args[0].shape != (h, w, 3) or args[2].shape != (h, w) or args[3].shape != (h, w)
            or args[4].shape != (n, 3) or args[5].shape != (n, n) or args[6].shape != (n, n)):
        raise ValueError("dithering: the band's or the palette's arrays differ in shape")
    if n == 0 or n > 256 or (args[1].size and int(args[1].max()) >= n):
        raise ValueError("dithering: a guess is not a palette index")
    return args, h, w, n


def diffuse_band(x, guess, strength, visible, pal, order, dist, err, row0, max_err, min_err, out) -> np.ndarray:
    """Floyd–Steinberg on one band: serpentine, with a strength map and error limits.

    Parameters
    ----------
    x : (h, w, 3) float32, the band's pixels in the working colour space.
    guess : (h, w) uint8, undithered labels (where the search starts).
    strength : (h, w) float32 0..1, how much diffused error each pixel takes.
    visible : (h, w) bool; invisible pixels keep their guess and pass no error.
    pal, order, dist : the palette in the same space and its neighbour table
        (:func:`neighbour_table`).
    err : (2, w + 2, 3) float32, the error carried into this row and the next
        (kept between bands, updated in place; zeros at the start).
    row0 : int, the image row of the band's first row (sets the scan direction).
    max_err : float, squared length above which diffused error is damped
        (no far-off colour appears in a smooth area: libimagequant does this too).
    min_err : float, squared length below which a pixel is not dithered at all
        (smooth areas that need no dither stay one colour, which costs no bytes).
    out : (h, w) uint8, the labels, written.
    """
    args, h, w, n = _band_args(x, guess, strength, visible, pal, order, dist)
    _out(err, np.float32, (2, w + 2, 3))
    _out(out, np.uint8, (h, w))
    if _kernels is None:
        from .scan import diffuse_band as compiled

        return compiled(*args, err, int(row0), float(max_err), float(min_err), out)
    _kernels.diffuse_band(*args, err, out, int(row0), float(max_err), float(min_err), h, w, n)
    return out


def ordered_band(x, guess, strength, visible, pal, order, dist, spacing, matrix, row0, out) -> np.ndarray:
    """Ordered (threshold-matrix) dithering on one band, along lightness.

    Each pixel's lightness moves by ``(M[y, x] − ½) · spacing · strength``,
    ``spacing`` (n float32) being the distance from its undithered colour to the
    nearest other palette colour, then takes the nearest colour. ``matrix``:
    the (mh, mw) float32 threshold matrix; the other arguments as in
    :func:`diffuse_band`.
    """
    args, h, w, n = _band_args(x, guess, strength, visible, pal, order, dist)
    spacing = np.ascontiguousarray(spacing, np.float32)
    matrix = np.ascontiguousarray(matrix, np.float32)
    if spacing.shape != (n,) or matrix.ndim != 2 or matrix.size == 0:
        raise ValueError("ordered_band: spacing must have one value per colour, matrix be a 2-d matrix")
    _out(out, np.uint8, (h, w))
    if _kernels is None:
        from .scan import ordered_band as compiled

        return compiled(*args, spacing, matrix, int(row0), out)
    _kernels.ordered_band(*args, spacing, matrix, out, int(row0), h, w, n, *matrix.shape)
    return out


def flat_runs(labels, edges, above, below, out) -> np.ndarray:
    """Scale the edge map by how uniform the undithered labels are around each pixel.

    Along each row, a run of equal labels whose pixels above and below share
    the label is a flat area that would show a false contour: dithering stays
    on. Short runs (busy areas) get ``1 − 2.5 / (2.5 + run + neighbours)`` of
    it, as libimagequant's dither map does. ``labels`` (h, w) uint8, ``edges``
    (h, w) float32; ``above``/``below`` (w,) int16: the rows just outside the
    band (−1 where there is none); ``out`` (h, w) float32, written.
    """
    labels = np.ascontiguousarray(labels, np.uint8)
    h, w = labels.shape
    edges = np.ascontiguousarray(edges, np.float32)
    above = np.ascontiguousarray(above, np.int16)
    below = np.ascontiguousarray(below, np.int16)
    if edges.shape != (h, w) or above.shape != (w,) or below.shape != (w,):
        raise ValueError("flat_runs: the arrays differ in shape")
    _out(out, np.float32, (h, w))
    if _kernels is None:
        from .scan import flat_runs as compiled

        return compiled(labels, edges, above, below, out)
    _kernels.flat_runs(labels, edges, above, below, out, h, w)
    return out


def contrast_u8(p, noise, edges) -> None:
    """Second differences of a (h+2)×(w+2)×3 uint8 band with a 1-pixel border:
    libimagequant-style noise (1 = flat) and edge (1 = no edge) maps, (h, w) uint8, written."""
    h, w = noise.shape
    p = np.ascontiguousarray(p, np.uint8)
    if p.shape != (h + 2, w + 2, 3):
        raise ValueError(f"contrast_u8: p must be {(h + 2, w + 2, 3)} for maps of {(h, w)}")
    _out(noise, np.uint8, (h, w))
    _out(edges, np.uint8, (h, w))
    if _kernels is None:
        from .scan import contrast_u8 as compiled

        compiled(p, noise, edges)
        return
    _kernels.contrast_u8(p, noise, edges, h, w)
