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


def accent_error(original: np.ndarray, result: np.ndarray, share: float = 0.02) -> float:
    """Mean CIEDE2000 over the ``share`` most chromatic pixels of the original
    (CIELAB chroma): where a lost object colour shows, which the mean over all
    pixels hides (an orange fish turned khaki moves 2 % of the pixels)."""
    from skimage.color import rgb2lab

    a = np.asarray(original).reshape(-1, 3)
    lab = rgb2lab(_to_unit_float(a)[None])[0]
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    keep = chroma >= np.quantile(chroma, 1.0 - share)
    return float(deltaE2000_per_pixel(a[keep], np.asarray(result).reshape(-1, 3)[keep]).mean(dtype=np.float64))


def palette_fidelity(original: np.ndarray, result: np.ndarray, min_share: float = 0.005) -> float:
    """The largest CIEDE2000 between a colour of ``result`` that at least
    ``min_share`` of the pixels use and the mean colour, in linear light, of
    the original pixels it stands for: 0 when every flat area has its pixels'
    average colour (what the eye sees from a distance), large when an entry
    stands for pixels of another colour (white fur painted lavender)."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    o = np.asarray(original).reshape(-1, 3)
    q = np.asarray(result, np.uint8).reshape(-1, 3)
    codes = (q[:, 0].astype(np.uint32) << 16) | (q[:, 1].astype(np.uint32) << 8) | q[:, 2]
    uniq, inv, counts = np.unique(codes, return_inverse=True, return_counts=True)
    big = np.flatnonzero(counts >= min_share * len(codes))
    if not len(big):
        return 0.0
    lin = _srgb_to_linear(o.astype(np.float64) / 255.0)
    sums = np.stack([np.bincount(inv, weights=lin[:, c], minlength=len(uniq)) for c in range(3)], 1)
    mean = _linear_to_srgb(sums[big] / counts[big, None])
    entry = np.stack([(uniq[big] >> 16) & 255, (uniq[big] >> 8) & 255, uniq[big] & 255], 1) / 255.0
    return float(deltaE_ciede2000(rgb2lab(mean[None])[0], rgb2lab(entry[None])[0]).max())


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    # the benchmark's own copy (it judges kmq, so it does not borrow kmq's conversions)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)
