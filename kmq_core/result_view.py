"""A quantization result as a PIL image, and as a picture for notebooks.

:meth:`QuantizeResult.to_pil` gives the PNG kmq writes, decoded by Pillow: a
mode ``P`` image whose palette, transparency and colour tag are exactly those
of the file. :meth:`QuantizeResult._repr_png_` (what Jupyter shows for
``res``) puts the original and the result side by side, scaled down to
:data:`PREVIEW_SIDE` pixels at most, with the palette as a row of swatches
below, each as wide as its share of the pixels. Transparent pixels are shown
on a grey checkerboard.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

#: longest side of each image in the notebook preview, in pixels
PREVIEW_SIDE = 384
#: height of the palette strip and the gap between the pictures
STRIP_HEIGHT, GAP = 32, 8


def to_pil(result) -> Image.Image:
    """The result's indexed PNG as a loaded ``PIL.Image.Image`` (mode ``P``)."""
    img = Image.open(io.BytesIO(result.png))
    img.load()
    return img


def _checker(h: int, w: int, cell: int = 8) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    light = ((yy // cell + xx // cell) % 2 == 0)
    return np.where(light[..., None], 204, 153).astype(np.float64) * np.ones(3)


def _flat(pixels: np.ndarray) -> np.ndarray:
    """RGB(A) -> RGB over a checkerboard, for display."""
    if pixels.shape[2] == 3:
        return pixels
    a = pixels[..., 3:4].astype(np.float64) / 255.0
    out = pixels[..., :3] * a + _checker(*pixels.shape[:2]) * (1 - a)
    return np.rint(out).astype(np.uint8)


def _shrink(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = min(1.0, side / max(h, w))
    if scale == 1.0:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX))


def preview_png(result, side: int = PREVIEW_SIDE) -> bytes:
    """Original | result, palette strip below, as PNG bytes."""
    before = _shrink(_flat(result.source.pixels), side)
    after = _shrink(_flat(result.image), side)
    h, w = before.shape[:2]
    width = 2 * w + GAP
    canvas = np.full((h + GAP + STRIP_HEIGHT, width, 3), 255, np.uint8)
    canvas[:h, :w] = before
    canvas[:h, w + GAP:] = after
    colors, weights = result.palette.colors, np.asarray(result.palette.weights, np.float64)
    if len(colors):
        share = weights / weights.sum() if weights.sum() > 0 else np.full(len(colors), 1 / len(colors))
        edges = np.rint(np.concatenate([[0], np.cumsum(share)]) * width).astype(int)
        for c, x0, x1 in zip(colors, edges[:-1], edges[1:]):
            canvas[h + GAP:, x0:max(x1, x0 + 1)] = c
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, "PNG")
    return buf.getvalue()


__all__ = ["to_pil", "preview_png", "PREVIEW_SIDE"]
