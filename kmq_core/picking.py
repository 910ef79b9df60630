"""Pick a colour off an image, as an image editor's eyedropper does.

An eyedropper reads the colour under the pointer. On a photograph a single
pixel carries sensor noise and JPEG ringing, so editors offer a sample size:
Photoshop's "Point Sample", "3 by 3 Average", "5 by 5 Average" ... GIMP's
"Sample average" with a radius. Both average the stored (gamma-encoded)
values of the pixels in a square around the pointer; :func:`pick_color`
does the same. A front end that shows the image scaled down passes the
number of image pixels under one screen pixel as ``size``, so the colour
picked is the colour seen.
"""

from __future__ import annotations

import numpy as np

from .errors import KmqError


def pick_color(pixels: np.ndarray, x: float, y: float, size: int = 1) -> tuple[int, int, int] | None:
    """The mean colour of a ``size``×``size`` square of pixels centred on (x, y).

    Parameters
    ----------
    pixels : (H, W, 3) or (H, W, 4) uint8 array
        8-bit sRGB(A) pixels, e.g. ``LoadedImage.pixels``.
    x, y : float
        The point, in pixels from the top-left corner (x across, y down);
        a point on or past an edge picks from the nearest pixels inside.
    size : int, default 1
        Side of the square averaged (1: the pixel itself); clipped at the
        image's edges.

    Returns
    -------
    (r, g, b) tuple of int, or None
        The mean of the stored values, rounded; fully transparent pixels
        (alpha 0, whose colour is not seen) are left out. None when every
        pixel in the square is fully transparent.
    """
    px = np.asarray(pixels)
    if px.ndim != 3 or px.shape[2] not in (3, 4) or px.dtype != np.uint8 or px.shape[0] * px.shape[1] == 0:
        raise KmqError("pick_color needs an H×W×3 or H×W×4 uint8 image")
    if not (np.isfinite(x) and np.isfinite(y)):
        raise KmqError(f"not a point in the image: ({x!r}, {y!r})")
    size = max(1, int(size))
    h, w = px.shape[:2]
    cx = int(np.clip(np.floor(x), 0, w - 1))
    cy = int(np.clip(np.floor(y), 0, h - 1))
    x0, y0 = max(0, cx - (size - 1) // 2), max(0, cy - (size - 1) // 2)
    window = px[y0:min(h, y0 + size), x0:min(w, x0 + size)].reshape(-1, px.shape[2])
    if px.shape[2] == 4:
        window = window[window[:, 3] > 0]
    if not len(window):
        return None
    mean = np.floor(window[:, :3].astype(np.float64).mean(axis=0) + 0.5).astype(int)  # halves round up
    return int(mean[0]), int(mean[1]), int(mean[2])


__all__ = ["pick_color"]
