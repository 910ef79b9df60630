"""Quality and compression figures.

- MSE and PSNR over the RGB channels, as the k-means compression posts report
  them (PSNR = 10·log10(255² / MSE); 30 dB looks good, 40 dB is hard to tell
  from the original).
- Mean CIEDE2000 ΔE, from scikit-image (on
  :func:`kmq_core.colorspace.srgb_to_cielab`): a ΔE of about 1 is the smallest
  difference a trained eye sees side by side, 2.3 a "just noticeable"
  difference (Sharma 2005), above 5 colours look different.
- Bits per pixel of the index (⌈log2 k⌉ against 24 for RGB) and real bytes.

When the output is a function of the input colour (no dithering), the figures
are computed over the distinct colours weighted by their counts, which is
exact and much cheaper than per pixel; otherwise per pixel in row chunks.
Fully transparent pixels are left out.
"""

from __future__ import annotations

import math

import numpy as np

from .colorspace import srgb_to_cielab
from .histogram import CHUNK_PIXELS, ColorHistogram, pack_rgb, unpack_rgb


def _lab(rgb_u8: np.ndarray) -> np.ndarray:
    return srgb_to_cielab(np.asarray(rgb_u8, np.uint8))


def delta_e2000(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """CIEDE2000 between two arrays of 8-bit sRGB colours (same shape, last axis 3)."""
    from skimage.color import deltaE_ciede2000

    a = np.asarray(a, np.uint8)
    shape = a.shape[:-1]
    return deltaE_ciede2000(_lab(a), _lab(b)).reshape(shape)


def psnr_from_mse(mse: float) -> float:
    """PSNR in dB for 8-bit data; infinite for a perfect match."""
    return math.inf if mse <= 0 else 10.0 * math.log10(255.0**2 / mse)


def histogram_errors(hist: ColorHistogram, mapped_index: np.ndarray, palette: np.ndarray) -> tuple[float, float]:
    """(MSE, mean ΔE2000) when each distinct colour of ``hist`` becomes ``palette[mapped_index]``."""
    if len(hist) == 0:
        return 0.0, 0.0
    sq = de = 0.0
    step = 1 << 18
    for s in range(0, len(hist), step):
        src = unpack_rgb(hist.codes[s:s + step])
        dst = palette[mapped_index[s:s + step]]
        w = hist.counts[s:s + step].astype(np.float64)
        sq += float(w @ ((src.astype(np.float64) - dst) ** 2).mean(1))
        de += float(w @ delta_e2000(src, dst))
    total = float(hist.counts.sum())
    return sq / total, de / total


#: pixels per chunk of the pixel-by-pixel errors (CIEDE2000 holds about a dozen
#: float64 copies of its input: 2**19 pixels is ~150 MB at most)
ERROR_CHUNK = 1 << 19


def _chunks(h: int, w: int):
    rows = max(1, ERROR_CHUNK // max(1, w))
    for y in range(0, h, rows):
        yield slice(y, min(h, y + rows))


def pixel_errors(original: np.ndarray, result: np.ndarray) -> tuple[float, float]:
    """(MSE, mean ΔE2000) pixel by pixel, skipping fully transparent pixels."""
    return label_errors(original, None, result)


def label_errors(original: np.ndarray, labels: np.ndarray | None, colors: np.ndarray) -> tuple[float, float]:
    """(MSE, mean ΔE2000) of ``colors[labels]`` against ``original``, in bounded memory
    (the result image is never built whole). ``labels`` None: ``colors`` is the image.

    With labels, each distinct (colour, label) pair is measured once, weighted by
    its pixel count: a dithered photo has a few times fewer pairs than pixels, and
    CIEDE2000 is the costly part.
    """
    h, w = original.shape[:2]
    sq, de, n = 0.0, 0.0, 0
    if labels is None:
        for rows in _chunks(h, w):
            a = original[rows].reshape(-1, original.shape[2])
            b = colors[rows].reshape(-1, colors.shape[-1])
            if a.shape[1] == 4:
                keep = a[:, 3] > 0
                a, b = a[keep], b[keep]
            a, b = a[:, :3], b[:, :3]
            if not len(a):
                continue
            sq += float(((a.astype(np.float64) - b) ** 2).mean(1).sum())
            de += float(delta_e2000(a, b).sum())
            n += len(a)
        return (sq / n, de / n) if n else (0.0, 0.0)
    colors = np.asarray(colors, np.uint8)[:, :3]
    rows_per = max(1, CHUNK_PIXELS // max(1, w))
    for y in range(0, h, rows_per):
        block = original[y:y + rows_per]
        key = (pack_rgb(block[..., :3]).ravel().astype(np.uint64) << np.uint64(8)) | labels[y:y + rows_per].ravel()
        if block.shape[2] == 4:
            key = key[block[..., 3].ravel() > 0]
        if not len(key):
            continue
        pairs, counts = np.unique(key, return_counts=True)
        for s in range(0, len(pairs), ERROR_CHUNK):
            p = pairs[s:s + ERROR_CHUNK]
            c = counts[s:s + ERROR_CHUNK].astype(np.float64)
            a = unpack_rgb((p >> np.uint64(8)).astype(np.uint32))
            b = colors[(p & np.uint64(255)).astype(np.intp)]
            sq += float(c @ ((a.astype(np.float64) - b) ** 2).mean(1))
            de += float(c @ delta_e2000(a, b))
        n += len(key)
    return (sq / n, de / n) if n else (0.0, 0.0)


def bits_per_pixel(n_colors: int) -> int:
    """Index bits per pixel for a palette of ``n_colors`` (⌈log2 n⌉, at least 1)."""
    return max(1, math.ceil(math.log2(max(n_colors, 1))))
