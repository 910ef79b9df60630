"""The loops of :mod:`kmq_core.kernels`, compiled by numba, for a Python that has no build of the
C extension: GIMP's own Python (3.13 on Debian trixie) importing the kmq of another Python's
checkout, say. They are the code the C was written from; the C is held to them bit for bit
(tests/test_kernels.py), so either gives the same output. numba is imported only when the C
extension is missing.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

@njit(cache=True, parallel=True, nogil=True)
def _oklab(rgb, lin, m1, m2, chroma, out):
    n = rgb.shape[0]
    for i in prange(n):
        r = lin[rgb[i, 0]]
        g = lin[rgb[i, 1]]
        b = lin[rgb[i, 2]]
        l = np.cbrt(m1[0, 0] * r + m1[0, 1] * g + m1[0, 2] * b)
        m = np.cbrt(m1[1, 0] * r + m1[1, 1] * g + m1[1, 2] * b)
        s = np.cbrt(m1[2, 0] * r + m1[2, 1] * g + m1[2, 2] * b)
        out[i, 0] = 100.0 * (m2[0, 0] * l + m2[0, 1] * m + m2[0, 2] * s)
        out[i, 1] = 100.0 * chroma * (m2[1, 0] * l + m2[1, 1] * m + m2[1, 2] * s)
        out[i, 2] = 100.0 * chroma * (m2[2, 0] * l + m2[2, 1] * m + m2[2, 2] * s)
    return out


@njit(cache=True, parallel=True, nogil=True)
def _lightness(rgb, lin, out):
    h, w = out.shape
    for y in prange(h):
        for x in range(w):
            yy = 0.2126729 * lin[rgb[y, x, 0]] + 0.7151522 * lin[rgb[y, x, 1]] + 0.0721750 * lin[rgb[y, x, 2]]
            if yy > 0.008856451679035631:
                f = np.cbrt(yy)
            else:
                f = 7.787037037037037 * yy + 16.0 / 116.0
            out[y, x] = 116.0 * f - 16.0
    return out


@njit(cache=True, parallel=True, nogil=True)
def masking_from_moments(m, m2, c, p, out):
    """(c / (c + sqrt(max(m2 − m², 0))))**p, elementwise (float32 maps)."""
    h, w = m.shape
    for y in prange(h):
        for x in range(w):
            v = m2[y, x] - m[y, x] * m[y, x]
            s = np.sqrt(v) if v > 0.0 else 0.0
            out[y, x] = (c / (c + s)) ** p
    return out


#: squared working-space distance below which a pixel counts as exactly a palette colour
#: (float round-off between the image's and the palette's conversions; one 8-bit level is ~0.1)
EXACT_SQ = 1e-4


@njit(cache=True, nogil=True)
def rate_aware_band(x, labels, nearest, weight, free, pal, lam, cap, above, out):
    """Prefer the label of the left or upper neighbour when the eye cannot tell.

    Where ``free``, a pixel takes its left neighbour's label (else the upper
    one's) when that colour's squared error is within ``min(lam / weight,
    cap)`` of the nearest colour's: runs and repeated rows, which deflate
    stores in a fraction of the bytes, at a cost below the masking
    threshold that ``weight`` (:func:`kmq_core.contrast.masking_weights`)
    stands for. ``above`` is the previous band's last row of labels (−1: none).
    A pixel whose colour the palette holds exactly keeps it (pixel art, flat
    graphics and shared sprite palettes stay lossless).
    Elsewhere ``labels`` (e.g. dithered) are kept as they are.
    """
    h, w = labels.shape
    for yy in range(h):
        for xx in range(w):
            best = labels[yy, xx]
            if free[yy, xx]:
                nb = nearest[yy, xx]
                d0 = x[yy, xx, 0] - pal[nb, 0]
                d1 = x[yy, xx, 1] - pal[nb, 1]
                d2 = x[yy, xx, 2] - pal[nb, 2]
                e0 = d0 * d0 + d1 * d1 + d2 * d2
                if e0 <= EXACT_SQ:  # a colour the palette has exactly stays exact
                    out[yy, xx] = best
                    continue
                tol = lam / max(weight[yy, xx], 1e-3)
                if tol > cap:
                    tol = cap
                lim = e0 + tol
                chosen = False
                if xx > 0:
                    c = out[yy, xx - 1]
                    d0 = x[yy, xx, 0] - pal[c, 0]
                    d1 = x[yy, xx, 1] - pal[c, 1]
                    d2 = x[yy, xx, 2] - pal[c, 2]
                    if d0 * d0 + d1 * d1 + d2 * d2 <= lim:
                        best = c
                        chosen = True
                if not chosen:
                    c = out[yy - 1, xx] if yy > 0 else above[xx]
                    if c >= 0:
                        d0 = x[yy, xx, 0] - pal[c, 0]
                        d1 = x[yy, xx, 1] - pal[c, 1]
                        d2 = x[yy, xx, 2] - pal[c, 2]
                        if d0 * d0 + d1 * d1 + d2 * d2 <= lim:
                            best = c
            out[yy, xx] = best
    return out
