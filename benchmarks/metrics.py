"""Quality measures for a quantized image against its original.

- PSNR in 8-bit RGB: 10·log10(255² / MSE) over all three channels; higher is
  better, +3 dB halves the squared error.
- Mean CIEDE2000 ΔE per pixel (scikit-image ``rgb2lab`` + ``deltaE_ciede2000``,
  D65): how far, to the eye, each pixel moved. About 1 is a just noticeable
  difference side by side, 2.3 the JND of the CIE76 formula, above ~5 colours
  are clearly different, 40+ is a different colour altogether.
- Blurred ΔE: the same after a Gaussian blur (σ = 1 px) of both images, in
  float, before converting to Lab. Dithering trades per-pixel error for a
  correct local average; per-pixel ΔE punishes that by construction, so
  dithered results are judged blurred (as the eye sees them from a normal
  viewing distance).
- Colours used: distinct RGB triplets in the result.

Lab conversion runs in chunks of rows so a 12-megapixel image needs tens of
megabytes, not gigabytes, of float64 scratch space.
"""

from __future__ import annotations

import cv2
import numpy as np

#: pixels per chunk for the Lab conversions (float64: ~20 MB of scratch each)
CHUNK_PIXELS = 1 << 18


def psnr(original: np.ndarray, result: np.ndarray) -> float:
    """PSNR in dB of two uint8 RGB images of the same shape (inf if equal)."""
    a = np.asarray(original).reshape(-1, 3)
    b = np.asarray(result).reshape(-1, 3)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {original.shape} vs {result.shape}")
    sse = 0.0
    for start in range(0, len(a), CHUNK_PIXELS):
        d = a[start:start + CHUNK_PIXELS].astype(np.int32) - b[start:start + CHUNK_PIXELS]
        sse += float(np.einsum("ij,ij->", d, d, dtype=np.int64))
    mse = sse / a.size
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def _to_unit_float(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float64) / 255.0
    return rgb.astype(np.float64, copy=False)


def deltaE2000_per_pixel(original: np.ndarray, result: np.ndarray) -> np.ndarray:
    """CIEDE2000 of each pixel pair, float32, flat (N,), computed in chunks.

    ``original`` and ``result`` are N×3 (or H×W×3) RGB, uint8 or float 0..1.
    """
    from skimage.color import deltaE_ciede2000, rgb2lab

    a = np.asarray(original).reshape(-1, 3)
    b = np.asarray(result).reshape(-1, 3)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {original.shape} vs {result.shape}")
    out = np.empty(len(a), np.float32)
    for start in range(0, len(a), CHUNK_PIXELS):
        s = slice(start, start + CHUNK_PIXELS)
        la = rgb2lab(_to_unit_float(a[s])[None])[0]
        lb = rgb2lab(_to_unit_float(b[s])[None])[0]
        out[s] = deltaE_ciede2000(la, lb)
    return out


def mean_deltaE2000(original: np.ndarray, result: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean CIEDE2000 over all pixels, or over ``mask`` (H×W bool) if given."""
    if mask is not None:
        m = np.asarray(mask, bool).reshape(-1)
        original = np.asarray(original).reshape(-1, 3)[m]
        result = np.asarray(result).reshape(-1, 3)[m]
    return float(deltaE2000_per_pixel(original, result).mean(dtype=np.float64))


def blur(rgb: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur (σ in pixels) of an RGB image, as float32 in 0..1."""
    f = np.asarray(rgb).astype(np.float32) / (255.0 if np.asarray(rgb).dtype == np.uint8 else 1.0)
    # kernel size (0, 0): OpenCV picks about 6σ+1 taps from sigma
    return cv2.GaussianBlur(f, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)


def blurred_mean_deltaE2000(original: np.ndarray, result: np.ndarray, sigma: float = 1.0,
                            step: int = 1) -> float:
    """Mean CIEDE2000 after blurring both images with the same Gaussian.

    ``step`` > 1 evaluates every step-th row and column of the blurred
    images (the blur itself always sees every pixel).
    """
    a = blur(original, sigma)[::step, ::step]
    b = blur(result, sigma)[::step, ::step]
    return float(deltaE2000_per_pixel(a, b).mean(dtype=np.float64))


def colours_used(rgb: np.ndarray) -> int:
    """Number of distinct RGB colours in an 8-bit image."""
    p = np.asarray(rgb, np.uint8).reshape(-1, 3)
    seen = np.zeros(1 << 24, bool)  # 16 MB bitmap: O(N), no sort
    seen[(p[:, 0].astype(np.uint32) << 16) | (p[:, 1].astype(np.uint32) << 8) | p[:, 2]] = True
    return int(np.count_nonzero(seen))
