"""Colour spaces for fitting and matching: sRGB, CIELAB and Oklab.

k-means measures distance with the Euclidean norm, so the space decides what
"close" means. In ``rgb`` (what the tutorials do) equal steps of the 8-bit code
values count the same everywhere, which optimises PSNR. In ``lab`` (CIELAB,
D65) distances follow perceived difference much better, which is what ΔE
measures. ``oklab`` (Björn Ottosson, 2020) is a newer perceptual space with a
more uniform hue, especially in blues.

CIELAB comes from OpenCV (``cv2.cvtColor`` on float32, D65, L in 0..100).
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
_OK_M2_INV = np.linalg.inv(_OK_M2)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def rgb_to_space(rgb: np.ndarray, space: str) -> np.ndarray:
    """Convert N×3 sRGB colours (uint8 0..255, or float 0..255) to ``space``.

    Returns
    -------
    (N, 3) float32 array
        ``rgb``: 0..255 unchanged; ``lab``: CIELAB L 0..100; ``oklab``: Oklab×100.
    """
    space = check_space(space)
    x = np.asarray(rgb, dtype=np.float32).reshape(-1, 3)
    if space == "rgb":
        return x.copy() if x is rgb else x
    if space == "lab":
        return cv2.cvtColor((x / 255.0).reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(-1, 3)
    lin = _srgb_to_linear(x.astype(np.float64) / 255.0)
    lms = np.cbrt(lin @ _OK_M1.T)
    return (lms @ _OK_M2.T * 100.0).astype(np.float32)


def space_to_rgb(values: np.ndarray, space: str) -> np.ndarray:
    """Convert N×3 colours in ``space`` back to sRGB, as float 0..255 (clipped)."""
    space = check_space(space)
    v = np.asarray(values, dtype=np.float32).reshape(-1, 3)
    if space == "rgb":
        out = v.astype(np.float64)
    elif space == "lab":
        out = cv2.cvtColor(v.reshape(-1, 1, 3), cv2.COLOR_Lab2RGB).reshape(-1, 3).astype(np.float64) * 255.0
    else:
        lms = (v.astype(np.float64) / 100.0) @ _OK_M2_INV.T
        out = _linear_to_srgb((lms ** 3) @ _OK_M1_INV.T) * 255.0
    return np.clip(out, 0.0, 255.0)


def to_uint8(rgb_float: np.ndarray) -> np.ndarray:
    """Round float sRGB 0..255 to uint8."""
    return np.clip(np.rint(rgb_float), 0, 255).astype(np.uint8)
