"""Colour spaces for fitting and matching: sRGB, CIELAB and Oklab.

k-means measures distance with the Euclidean norm, so the space decides what
"close" means. In ``rgb`` (what the tutorials do) equal steps of the 8-bit code
values count the same everywhere, which optimises PSNR. In ``lab`` (CIELAB,
D65) distances follow perceived difference much better, which is what ΔE
measures. ``oklab`` (Björn Ottosson, 2020) is a newer perceptual space with a
more uniform hue, especially in blues. ``perceptual`` (the default) is Oklab
with its chroma axes weighted 1.3×: Oklab's lightness follows what
SSIMULACRA2 and butteraugli see (dark gradients get their share of levels,
which plain CIELAB starves), while unweighted Oklab lets skin and other muted
colours drift toward greys of the same lightness. The weight trades the two
measures: on ten CQ100 images at k = 8 and 16 (fits with centres at their
pixels' mean, see :mod:`kmq_core.fitting`), 1.0 won SSIMULACRA2 against
scikit-learn's RGB k-means on all of them but lost mean CIEDE2000 on most;
1.5 won CIEDE2000 and lost SSIMULACRA2 on half; 1.3 held both on most
(10 and 7 of 10 for SSIMULACRA2, 8 and 9 for ΔE2000 with four starts). At
k = 64 it raised SSIMULACRA2 by 3.9 on each of the ten over 1.5, for 0.06
mean ΔE2000 (benchmarks/README.md).

CIELAB comes from OpenCV (``cv2.cvtColor`` on float32, D65, L in 0..100).
This module is also the one place that converts to CIELAB for colour
*figures*, in two precisions on purpose:

- :func:`rgb_to_space` (``'lab'``): OpenCV's float32 conversion, fast, for the
  fit and the matching, where distances are only compared with each other.
- :func:`srgb_to_cielab`: scikit-image's ``rgb2lab`` in float64, the exact
  one, for what is reported or thresholded against published figures: the
  mean CIEDE2000 of :mod:`kmq_core.metrics` (which also feeds the quality
  target of :mod:`kmq_core.auto_k`) and the designer's operations of
  :mod:`kmq_core.palette_ops` (names within ΔE 5, hue orders, merging).

The two differ by up to 0.4 in a* (OpenCV approximates the gamma curve), so
neither can stand in for the other without changing results.
Oklab is written here because neither OpenCV nor scikit-image ships it; it is
two 3×3 matrices and a cube root, scaled by 100 so its L spans 0..100 like
CIELAB's and distances in both spaces are of similar size.
"""

from __future__ import annotations

import cv2
import numpy as np

from .options import check_space

# sRGB (linear) -> LMS -> Oklab, from https://bottosson.github.io/posts/oklab/
_OK_M1 = np.array(
    [[0.4122214708, 0.5363325363, 0.0514459929],
     [0.2119034982, 0.6806995451, 0.1073969566],
     [0.0883024619, 0.2817188376, 0.6299787005]], np.float64)
_OK_M2 = np.array(
    [[0.2104542553, 0.7936177850, -0.0040720468],
     [1.9779984951, -2.4285922050, 0.4505937099],
     [0.0259040371, 0.7827717662, -0.8086757660]], np.float64)
_OK_M1_INV = np.linalg.inv(_OK_M1)
#: weight of Oklab's a and b in the ``perceptual`` space
PERCEPTUAL_CHROMA = 1.3
_OK_M2_INV = np.linalg.inv(_OK_M2)


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB code values in 0..1 to linear light (IEC 61966-2-1)."""
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear light (clipped to 0..1) to sRGB code values in 0..1."""
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


# --- CIEDE2000-shaped CIELAB ---------------------------------------------
# k-means can only use a Euclidean distance. CIEDE2000 (the ΔE users and
# benchmarks judge by) is not Euclidean in CIELAB: it shrinks differences
# between saturated colours (S_C = 1 + 0.045 C'), stretches a* for near-greys
# (the G factor) and shrinks lightness steps away from L = 50 (S_L). Warping
# CIELAB so that those scale factors become part of the coordinates makes the
# plain Euclidean distance follow CIEDE2000 closely for the small differences
# that matter inside a cluster: lightness becomes ∫ dL / S_L, chroma
# ∫ dC' / S_C = ln(1 + 0.045 C') / 0.045, hue stays the angle. (The hue
# weighting T(h) and the blue rotation term have no Euclidean form and are
# left out.) Nothing in OpenCV or scikit-image offers this, hence it is here.
_L_GRID = np.linspace(0.0, 100.0, 2001)
_S_L = 1.0 + 0.015 * (_L_GRID - 50.0) ** 2 / np.sqrt(20.0 + (_L_GRID - 50.0) ** 2)
_L_WARP = np.concatenate([[0.0], np.cumsum((1.0 / _S_L[1:] + 1.0 / _S_L[:-1]) / 2.0 * np.diff(_L_GRID))])
_K_C = 0.045
# hue: CIEDE2000 divides hue differences by S_H = 1 + 0.015 C' T(h), and T
# varies with hue (differences among oranges count more than among greens).
# Warping the hue angle by ∫ dh / (1 + 0.015 C0 T(h)), normalised to a full
# turn, carries T into the coordinates for a typical chroma C0.
_H_GRID = np.linspace(-np.pi, np.pi, 3601)
_C0 = 30.0


def _t_factor(h: np.ndarray) -> np.ndarray:
    return (1 - 0.17 * np.cos(h - np.radians(30)) + 0.24 * np.cos(2 * h)
            + 0.32 * np.cos(3 * h + np.radians(6)) - 0.20 * np.cos(4 * h - np.radians(63)))


_H_RATE = 1.0 / (1.0 + 0.015 * _C0 * _t_factor(_H_GRID))
_H_WARP = np.concatenate([[0.0], np.cumsum((_H_RATE[1:] + _H_RATE[:-1]) / 2 * np.diff(_H_GRID))])
_H_WARP = _H_WARP / _H_WARP[-1] * 2 * np.pi - np.pi


def _g_factor(c: np.ndarray) -> np.ndarray:
    c7 = c**7
    return 0.5 * (1.0 - np.sqrt(c7 / (c7 + 25.0**7)))


def lab_to_de2000(lab: np.ndarray) -> np.ndarray:
    """Warp N×3 CIELAB into the CIEDE2000-shaped space (float64)."""
    lab = np.asarray(lab, np.float64)
    L, a, b = lab[:, 0], lab[:, 1], lab[:, 2]
    a1 = a * (1.0 + _g_factor(np.hypot(a, b)))
    c1 = np.hypot(a1, b)
    h = np.arctan2(b, a1)
    r = np.log1p(_K_C * c1) / _K_C
    h = np.interp(h, _H_GRID, _H_WARP)
    return np.stack([np.interp(L, _L_GRID, _L_WARP), r * np.cos(h), r * np.sin(h)], axis=1)


def de2000_to_lab(v: np.ndarray) -> np.ndarray:
    """Inverse of :func:`lab_to_de2000`."""
    v = np.asarray(v, np.float64)
    L = np.interp(v[:, 0], _L_WARP, _L_GRID)
    r = np.hypot(v[:, 1], v[:, 2])
    h = np.interp(np.arctan2(v[:, 2], v[:, 1]), _H_WARP, _H_GRID)
    c1 = np.expm1(_K_C * r) / _K_C
    a1, b = c1 * np.cos(h), c1 * np.sin(h)
    a = a1.copy()
    for _ in range(8):  # a1 = a (1 + G(C)), C = |(a, b)|: a few fixed-point steps converge
        a = a1 / (1.0 + _g_factor(np.hypot(a, b)))
    return np.stack([L, a, b], axis=1)


def rgb_to_space(rgb: np.ndarray, space: str) -> np.ndarray:
    """Convert N×3 sRGB colours (uint8 0..255, or float 0..255) to ``space``.

    Returns
    -------
    (N, 3) float32 array
        ``rgb``: 0..255 unchanged; ``lab``: CIELAB L 0..100; ``oklab``: Oklab×100;
        ``perceptual``: Oklab×100 with a and b ×PERCEPTUAL_CHROMA (1.3).
    """
    space = check_space(space)
    if space in ("oklab", "perceptual") and isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.size >= 3 * 4096:
        from .kernels import oklab_u8  # compiled: one pass, both cores

        return oklab_u8(rgb, _OK_M1, _OK_M2, PERCEPTUAL_CHROMA if space == "perceptual" else 1.0)
    x = np.asarray(rgb, dtype=np.float32).reshape(-1, 3)
    if space == "rgb":
        return x.copy() if x is rgb else x
    if space in ("lab", "de2000"):
        lab = cv2.cvtColor((x / 255.0).reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(-1, 3)
        return lab if space == "lab" else lab_to_de2000(lab).astype(np.float32)
    lin = srgb_to_linear(x.astype(np.float64) / 255.0)
    lms = np.cbrt(lin @ _OK_M1.T)
    ok = lms @ _OK_M2.T * 100.0
    if space == "perceptual":
        ok[:, 1:] *= PERCEPTUAL_CHROMA
    return ok.astype(np.float32)


def space_to_rgb(values: np.ndarray, space: str) -> np.ndarray:
    """Convert N×3 colours in ``space`` back to sRGB, as float 0..255 (clipped)."""
    space = check_space(space)
    v = np.asarray(values, dtype=np.float32).reshape(-1, 3)
    if space == "rgb":
        out = v.astype(np.float64)
    elif space in ("lab", "de2000"):
        if space == "de2000":
            v = de2000_to_lab(v).astype(np.float32)
        out = cv2.cvtColor(v.reshape(-1, 1, 3), cv2.COLOR_Lab2RGB).reshape(-1, 3).astype(np.float64) * 255.0
    else:
        v = v.astype(np.float64)
        if space == "perceptual":
            v = v.copy()
            v[:, 1:] /= PERCEPTUAL_CHROMA
        lms = (v / 100.0) @ _OK_M2_INV.T
        out = linear_to_srgb((lms ** 3) @ _OK_M1_INV.T) * 255.0
    return np.clip(out, 0.0, 255.0)


def to_uint8(rgb_float: np.ndarray) -> np.ndarray:
    """Round float sRGB 0..255 to uint8."""
    return np.clip(np.rint(rgb_float), 0, 255).astype(np.uint8)


def srgb_to_cielab(rgb: np.ndarray) -> np.ndarray:
    """sRGB to CIELAB (D65, 2° observer) in float64: scikit-image's ``rgb2lab``.

    Parameters
    ----------
    rgb : (..., 3) array
        uint8 0..255, which scikit-image scales by multiplying by 1/255, or
        float 0..1. The two differ in the last bit for about one colour in
        eight (``x * (1/255)`` is not always ``x / 255``): :mod:`kmq_core.metrics`
        passes uint8 and :mod:`kmq_core.palette_ops` floats divided by 255, as
        each always has, so that no figure moves.

    Returns
    -------
    (N, 3) float64 array
        L* 0..100, a*, b*.
    """
    from skimage.color import rgb2lab  # imported when needed: it adds ~0.3 s to every start-up

    return rgb2lab(np.asarray(rgb).reshape(-1, 1, 3)).reshape(-1, 3)
