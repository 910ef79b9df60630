"""Floyd–Steinberg dithering, by Pillow.

Error diffusion is a sequential loop over every pixel, which numpy cannot
vectorise; Pillow's C implementation (``Image.quantize(palette=...,
dither=FLOYDSTEINBERG)``) does it in well under a second for 12 megapixels,
so kmq uses it rather than a Python loop. Pillow diffuses the error and picks
the nearest colour in sRGB; the palette itself is still fitted in the chosen
space, and the eye averages the pattern.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def floyd_steinberg(pixels: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """Dither an H×W×3|4 uint8 image to ``colors`` (≤ 256×3 uint8); returns H×W uint8 labels."""
    colors = np.asarray(colors, np.uint8).reshape(-1, 3)
    n = len(colors)
    pal_img = Image.new("P", (1, 1))
    # Pillow's palette is always 256 entries; unused slots repeat the first
    # colour so they can never be picked over a real one with a lower index.
    flat = np.vstack([colors, np.repeat(colors[:1], 256 - n, axis=0)]).ravel()
    pal_img.putpalette(flat.tobytes())
    rgb = Image.fromarray(np.ascontiguousarray(pixels[..., :3]), "RGB")
    out = rgb.quantize(palette=pal_img, dither=Image.Dither.FLOYDSTEINBERG)
    labels = np.asarray(out, dtype=np.uint8)
    if n < 256 and labels.max(initial=0) >= n:
        # duplicates of colour 0 in the padding: fold them back
        labels = np.where(labels >= n, 0, labels).astype(np.uint8)
    return labels
