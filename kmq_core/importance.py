"""Importance masks: say which pixels matter, and the fit weighs them so.

A small subject on a large background gets colours in proportion to its area,
so at a small k its colour can be lost to the background's. An importance mask,
as libimagequant's ``liq_image_set_importance_map``, is a greyscale image the
size of the picture: white (1) counts fully, black (0) not at all, grey in
proportion. The fit (:func:`kmq_core.fitting.fit_palette`) then works on a
histogram whose pixel counts and error weights are both multiplied by it
(:func:`importance_histogram`): the colours of what is white take the palette.
Every pixel is still remapped to its nearest palette colour.

A mask must be the size of the image: one that is not is refused rather than
scaled, since a mask made for another crop or rotation would weigh the wrong
pixels without a word. A mask that is black wherever the image is visible
leaves nothing to fit and is refused too.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .errors import KmqError
from .histogram import ColorHistogram, color_histogram

#: the weight of the pixels outside a marked region (:func:`region_mask`): they still count,
#: a fifth as much as the region, so the background keeps some colours of its own
REGION_OUTSIDE = 0.2


def _mask_name(mask) -> str:
    if isinstance(mask, (str, Path)):
        return Path(mask).name
    return "the importance mask"


def read_mask(source) -> np.ndarray:
    """A greyscale image (path, bytes, file object or ``PIL.Image``, any mode) as H×W float32 in 0..1.

    Colour images count by their luma (Pillow's ``L`` conversion), 16-bit and 32-bit
    greyscale by their full range, the EXIF orientation is applied as for images.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = _mask_name(source)
    try:
        if isinstance(source, Image.Image):
            img = source
        else:
            img = Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
        img = ImageOps.exif_transpose(img)
        if img.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N"):
            a = np.asarray(img, np.float64)
            return np.clip(a / (65535.0 if a.max() > 255 or img.mode != "I" else 255.0), 0, 1).astype(np.float32)
        if img.mode == "F":
            return np.clip(np.asarray(img, np.float32), 0, 1)
        return np.asarray(img.convert("L"), np.float32) / np.float32(255.0)
    except FileNotFoundError:
        raise KmqError(f"{name}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise KmqError(f"{name}: cannot read the importance mask as an image ({e})") from None


def check_importance(mask, shape: tuple[int, int], visible: np.ndarray | None = None) -> np.ndarray:
    """The importance of every pixel, H×W float32 in 0..1, or :class:`KmqError`.

    Parameters
    ----------
    mask : 2-D array or image
        uint8 (0-255), bool, or float (0-1) array of the image's height and width;
        anything else is read as a greyscale image (:func:`read_mask`).
    shape : (H, W)
        The image's size.
    visible : (H, W) bool array, optional
        The pixels that are not fully transparent.
    """
    name = _mask_name(mask)
    if isinstance(mask, np.ndarray):
        a = mask
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[..., 0]
        if a.ndim != 2:
            raise KmqError(f"the importance mask must be a 2-D (H×W) array, got shape {a.shape}")
        if a.dtype == bool:
            a = a.astype(np.float32)
        elif a.dtype == np.uint8:
            a = a.astype(np.float32) / np.float32(255.0)
        elif np.issubdtype(a.dtype, np.floating):
            if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
                raise KmqError("a float importance mask must hold values from 0 to 1")
            a = a.astype(np.float32)
        else:
            raise KmqError(f"the importance mask must be uint8 (0-255) or float (0-1), got {a.dtype}")
    else:
        a = read_mask(mask)
    if a.shape != tuple(shape):
        raise KmqError(f"{name} is {a.shape[1]}×{a.shape[0]} pixels but the image is {shape[1]}×{shape[0]}: "
                       f"the importance mask must be the same size as the image")
    seen = a > 0 if visible is None else (a > 0) & visible
    if not seen.any():
        raise KmqError(f"{name} is black everywhere the image is visible: nothing would count; "
                       f"paint white what matters (grey counts in part)")
    return a


def region_mask(shape: tuple[int, int], box: tuple[int, int, int, int], outside: float = REGION_OUTSIDE) -> np.ndarray:
    """An importance mask for a rectangle: 1 inside ``box`` = (x0, y0, x1, y1), pixel
    corners, x1 and y1 excluded, ``outside`` elsewhere; uint8 H×W."""
    h, w = shape
    x0, y0, x1, y1 = (int(v) for v in box)
    x0, x1 = sorted((min(max(x0, 0), w), min(max(x1, 0), w)))
    y0, y1 = sorted((min(max(y0, 0), h), min(max(y1, 0), h)))
    if x1 <= x0 or y1 <= y0:
        raise KmqError(f"the emphasis region {box} is empty inside the {w}×{h} image")
    m = np.full((h, w), np.uint8(round(255 * outside)), np.uint8)
    m[y0:y1, x0:x1] = 255
    return m


def importance_histogram(pixels: np.ndarray, importance: np.ndarray, weights=None) -> ColorHistogram:
    """The histogram the fit works on when pixels are weighed by ``importance``.

    Its ``counts`` are each colour's summed importance (a pixel of importance 0.5
    counts half: float, in pixels) and its ``weights`` the summed product of the
    fitting weights (``weights``: an H×W array, a function of row slices, or None
    for 1) and the importance. Pixels of importance 0 take no part, like fully
    transparent ones. It is for fitting only: remapping uses the image's own
    histogram, which has every colour.
    """
    imp = np.asarray(importance, np.float32)
    # 8 bits, as the histogram keeps weights (kmq_core.histogram._unique_weighted)
    imp = np.rint(imp * 255.0) / np.float32(255.0)
    alpha = imp > 0
    if pixels.shape[2] == 4:
        alpha &= pixels[..., 3] > 0
    fit_px = np.dstack([pixels[..., :3], alpha.astype(np.uint8) * np.uint8(255)])
    by_imp = color_histogram(fit_px, weights=imp)
    if weights is None:
        return ColorHistogram(by_imp.codes, by_imp.weights.copy())

    def product(rows: slice) -> np.ndarray:
        base = weights(rows) if callable(weights) else np.asarray(weights)[rows]
        return np.asarray(base, np.float32) * imp[rows]

    fit = color_histogram(fit_px, weights=product)
    assert np.array_equal(fit.codes, by_imp.codes)  # the same pixels counted both times
    return ColorHistogram(fit.codes, by_imp.weights.copy(), fit.weights)
