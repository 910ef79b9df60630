"""sRGB → Oklab for whole images, compiled with numba (both cores).

numpy's version (:func:`kmq_core.colorspace.rgb_to_space`) makes five
float64 temporaries per pixel; on a 12-megapixel photo that is seconds and
hundreds of megabytes. This kernel converts each 8-bit pixel in one step
(the sRGB decoding from a 256-entry table), with the same float64
arithmetic, so both paths give the same values to float32 precision.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_LIN = np.where(np.arange(256) / 255.0 <= 0.04045, np.arange(256) / 255.0 / 12.92,
                ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4)


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


def oklab_u8(rgb: np.ndarray, m1: np.ndarray, m2: np.ndarray, chroma: float = 1.0) -> np.ndarray:
    """N×3 uint8 sRGB → N×3 float32 Oklab×100 (a, b times ``chroma``)."""
    rgb = np.ascontiguousarray(rgb, np.uint8).reshape(-1, 3)
    out = np.empty((len(rgb), 3), np.float32)
    return _oklab(rgb, _LIN, np.ascontiguousarray(m1, np.float64), np.ascontiguousarray(m2, np.float64),
                  float(chroma), out)


@njit(cache=True, parallel=True, nogil=True)
def contrast_u8(p, noise, edges):
    """Second differences of a (h+2)×(w+2)×3 uint8 band with a 1-pixel border:
    libimagequant-style noise (1 = flat) and edge (1 = no edge) maps, uint8."""
    h, w = noise.shape
    for y in prange(h):
        for x in range(w):
            hz = 0
            vt = 0
            for c in range(3):
                cc = 2 * np.int32(p[y + 1, x + 1, c])
                a = abs(np.int32(p[y + 1, x, c]) + np.int32(p[y + 1, x + 2, c]) - cc)
                b = abs(np.int32(p[y, x + 1, c]) + np.int32(p[y + 2, x + 1, c]) - cc)
                if a > hz:
                    hz = a
                if b > vt:
                    vt = b
            fh = hz / 255.0
            fv = vt / 255.0
            e = max(fh, fv)
            z = e - 0.5 * abs(fh - fv)
            z = 1.0 - max(z, min(fh, fv))
            if z < 0.0:
                z = 0.0
            z = z * z
            z = z * z
            noise[y, x] = np.uint8(z * 255.0 + 0.5)
            e = 1.0 - min(e, 1.0)
            edges[y, x] = np.uint8(e * 255.0 + 0.5)


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


def lightness_u8(rgb: np.ndarray) -> np.ndarray:
    """h×w×3|4 uint8 sRGB → h×w float32 CIELAB L* (D65, 0..100)."""
    out = np.empty(rgb.shape[:2], np.float32)
    return _lightness(rgb, _LIN, out)
