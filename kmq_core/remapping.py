"""Map every pixel to its nearest palette colour, exactly.

The nearest colour is found once per distinct colour of the image (in the
chosen space, exact Euclidean distance) and stored in a lookup table indexed
by the packed 24-bit colour; labelling the full-resolution image is then one
table lookup per pixel, in row chunks. This works with any palette: one
fitted on this image, on another image, or read from a swatch file.
"""

from __future__ import annotations

import numpy as np

from .errors import KmqError
from .histogram import N_CODES, ColorHistogram, color_histogram, pack_rgb, row_chunks
from .loading import ImageSource, load_image
from .nearest import assign_histogram
from .options import (DEFAULT_BAYER_SIZE, DEFAULT_DITHER, DEFAULT_LOSSY, DEFAULT_SPACE, DEFAULT_STRENGTH,
                      check_bayer_size, check_dither, check_lossy, check_space, check_strength)
from .palette import Palette


def _palette_colors(palette) -> np.ndarray:
    colors = palette.colors if isinstance(palette, Palette) else np.asarray(palette)
    colors = np.asarray(colors).reshape(-1, 3)
    if len(colors) == 0:
        raise KmqError("the palette is empty")
    if len(colors) > 256:
        raise KmqError(f"a palette for an indexed image holds at most 256 colours, this one has {len(colors)}")
    return colors.astype(np.uint8)


def nearest_lut(hist: ColorHistogram, colors: np.ndarray, space: str) -> np.ndarray:
    """A 2**24-entry uint8 table: packed colour -> index of the nearest palette colour.

    Only the entries of colours in ``hist`` are filled (the rest are 0).
    """
    lut = np.zeros(N_CODES, np.uint8)
    if len(hist):
        lut[hist.codes] = assign_histogram(hist, colors, space)
    return lut


def apply_lut(pixels: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Label an H×W×3|4 image through a colour lookup table, in row chunks."""
    h, w = pixels.shape[:2]
    labels = np.empty((h, w), np.uint8)
    for rows in row_chunks(h, w):
        labels[rows] = lut[pack_rgb(pixels[rows, :, :3])]
    return labels


def remap(
    image: ImageSource,
    palette,
    *,
    space: str = DEFAULT_SPACE,
    dither: str = DEFAULT_DITHER,
    histogram: ColorHistogram | None = None,
    lossy: float = DEFAULT_LOSSY,
    strength: float = DEFAULT_STRENGTH,
    k: int | None = None,
    bayer_size: int = DEFAULT_BAYER_SIZE,
    weights=None,
) -> np.ndarray:
    """Label each pixel with the index of a palette colour.

    Parameters
    ----------
    image : path, bytes, file object or uint8 array
        The image to map.
    palette : Palette or N×3 uint8 array
        At most 256 colours.
    space : str
        Space in which "nearest" is measured and dithering works (one of
        ``kmq_core.options.SPACES``).
    dither : {'none', 'fs', 'bayer', 'bluenoise'}
        ``'fs'``: adaptive Floyd–Steinberg error diffusion; ``'bayer'``:
        adaptive ordered dithering by a Bayer matrix; ``'bluenoise'``: the
        same with a blue-noise mask (see :mod:`kmq_core.dithering`).
    histogram : ColorHistogram, optional
        The image's histogram, when the caller has it.
    lossy : float
        Rate-aware label choice for smaller files (0: exact nearest colours).
    strength : float
        Dithering strength, 0..1.
    k : int, optional
        Palette size the masking weights of ``lossy`` are set for.
    bayer_size : {2, 4, 8}
        Side of the Bayer matrix (``dither='bayer'`` only; default 8).
    weights : kmq_core.contrast.MaskingWeights, optional
        The image's masking weights for ``k`` colours when the caller has them (the fit's),
        for ``lossy``; computed here otherwise.

    Returns
    -------
    (H, W) uint8 array of palette indices.
    """
    space = check_space(space)
    dither = check_dither(dither)
    lossy = check_lossy(lossy)
    strength = check_strength(strength)
    bayer_size = check_bayer_size(bayer_size)
    colors = _palette_colors(palette)
    pixels = load_image(image).pixels
    # transparent pixels are not in the histogram: they get label 0, which is
    # valid and irrelevant (the saved PNG makes them transparent)
    hist = histogram if histogram is not None else color_histogram(pixels)
    labels = apply_lut(pixels, nearest_lut(hist, colors, space))
    if dither == "none" and lossy == 0:
        return labels
    from .dithering import refine_labels

    return refine_labels(pixels, colors, labels, space=space, dither=dither, strength=strength, lossy=lossy,
                         k=k if k is not None else len(colors), bayer_size=bayer_size, weights=weights)
