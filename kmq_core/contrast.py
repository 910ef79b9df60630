"""Where errors show: local contrast, and the maps kmq builds from it.

The eye forgives an error in busy texture (foliage, fur, gravel) that it sees
at once in a smooth sky, a gradient or skin: texture *masks* errors of about
its own amplitude. The perceptual metrics the image-compression field trusts
(SSIMULACRA2, butteraugli) model exactly this, and so does libimagequant,
whose "contrast maps" weigh the histogram by local smoothness and turn
dithering down on edges and in noise. kmq does both, with its own measures:

- :func:`masking_weights` weighs each pixel by how visible an error there is:
  ``w = (c / (c + σ))**p``, σ the local amplitude of CIELAB lightness L*
  detail (L* minus its blur, RMS in a Gaussian window, σ_window = 1.5 px;
  smooth ramps have none). Minimising ``Σ w·e²``
  is minimising the squared error measured in units of the local masking
  threshold ``c + σ`` (Weber-like masking). At small k the palette is coarse
  and false contours in smooth areas are what people (and the metrics) see,
  so ``p`` is 2; at large k the steps are fine everywhere and colour
  accuracy in texture matters as much, so ``p`` falls to 1 at k = 256
  (log-linear in k between; chosen on the benchmark photos' rate-quality
  curves, see benchmarks/README.md).
- :func:`edge_map` is 1 in smooth areas and falls toward 0 on edges and in
  noise: dithering there makes jagged edges and costs bytes, and noise
  dithers itself. :func:`flat_runs` (``kmq_core.kernels``) lowers it further
  where the undithered result is already varied, as libimagequant's dither
  map does.

Every map is computed in bands of rows with a margin, so memory stays
bounded for any image size. Written here because no library offers these
maps (OpenCV supplies the blurs and the 3×3 minimum and maximum filters).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

#: masking constant c, in CIELAB L* units: texture of this σ halves the weight (p = 1)
MASK_C = 2.0
#: window of the local standard deviation (Gaussian σ, pixels)
MASK_SIGMA = 1.5
#: exponent p at k <= 16 and at k = 256 (log-linear between)
MASK_P_FEW = 2.0
MASK_P_MANY = 1.0
#: rows computed per band, and the margin each band reads beyond its rows
BAND_ROWS = 512
_MARGIN = 16  # two Gaussian passes of radius 6


def masking_exponent(k: int) -> float:
    """The exponent p of :func:`masking_weights` for a palette of ``k`` colours."""
    t = min(max((math.log2(max(k, 1)) - 4.0) / 4.0, 0.0), 1.0)
    return MASK_P_FEW + (MASK_P_MANY - MASK_P_FEW) * t


def _lightness(rgb: np.ndarray) -> np.ndarray:
    """CIELAB L* (0..100) of an h×w×3|4 uint8 band, float32."""
    from .kernels import lightness_u8

    return lightness_u8(rgb)


def _visible_rgb(block: np.ndarray) -> np.ndarray:
    """The RGB of a band, black under fully transparent pixels: their hidden
    colour (often garbage) must not count as texture or edges next to them."""
    rgb = np.ascontiguousarray(block[..., :3])
    if block.shape[-1] == 4:
        hidden = block[..., 3] == 0
        if hidden.any():
            rgb = rgb.copy()
            rgb[hidden] = 0
    return rgb


def _bands(height: int, rows: int = BAND_ROWS):
    for y0 in range(0, height, rows):
        y1 = min(height, y0 + rows)
        yield y0, y1, max(0, y0 - _MARGIN), min(height, y1 + _MARGIN)


def _moments(pixels: np.ndarray, rows: slice | None):
    """Local mean (zero) and local energy of L's detail, for ``pixels[rows]``.

    The detail is L minus its Gaussian blur: zero on a flat area *and* on a
    smooth ramp (a sky, a vignette), so a gradient counts as smooth, as the
    eye sees it; texture, noise and edges keep their amplitude. Its energy,
    blurred by the same window, is the σ² of the masking formula. (A plain
    local standard deviation would count a steep ramp as texture.)
    """
    h = pixels.shape[0]
    rows = rows or slice(0, h)
    y0, y1 = rows.start or 0, min(h, rows.stop if rows.stop is not None else h)
    a0, a1 = max(0, y0 - _MARGIN), min(h, y1 + _MARGIN)
    L = _lightness(_visible_rgb(pixels[a0:a1]))
    d = L - cv2.GaussianBlur(L, (0, 0), MASK_SIGMA, borderType=cv2.BORDER_REFLECT)
    m2 = cv2.GaussianBlur(d * d, (0, 0), MASK_SIGMA, borderType=cv2.BORDER_REFLECT)
    m2 = np.ascontiguousarray(m2[y0 - a0:y1 - a0])
    return np.zeros_like(m2), m2


def local_activity(pixels: np.ndarray, rows: slice | None = None) -> np.ndarray:
    """Local amplitude of CIELAB lightness detail (σ of the masking formula), float32."""
    m, m2 = _moments(pixels, rows)
    return np.sqrt(np.maximum(m2 - m * m, 0.0))


def masking_weights(pixels: np.ndarray, k: int, rows: slice | None = None) -> np.ndarray:
    """How much an error at each pixel counts, 0 < w <= 1 (float32).

    Parameters
    ----------
    pixels : (H, W, 3|4) uint8 array
    k : int
        Palette size; sets the exponent (:func:`masking_exponent`).
    rows : slice, optional
        Only these rows (the map is the same as the whole image's there).

    Returns
    -------
    (h, W) float32 array, ``(c / (c + σ))**p``.
    """
    from .kernels import masking_from_moments

    m, m2 = _moments(pixels, rows)
    return masking_from_moments(m, m2, np.float32(MASK_C), np.float32(masking_exponent(k)),
                                np.empty(m.shape, np.float32))


class MaskingWeights:
    """:func:`masking_weights` as a function of row slices, for the passes that work in chunks
    (the histogram, then the rate-aware labels): computed once for the whole image and sliced,
    up to :data:`kmq_core.tuning.KEEP_WEIGHTS_PIXELS`; above it, per slice, so memory stays
    bounded (a slice's weights are the whole map's there, bit for bit). ``computed`` counts the
    maps made."""

    def __init__(self, pixels: np.ndarray, k: int):
        self.pixels, self.k = pixels, k
        self.computed = 0
        self._map = None

    def __call__(self, rows: slice) -> np.ndarray:
        from .tuning import KEEP_WEIGHTS_PIXELS

        if self._map is None and self.pixels.shape[0] * self.pixels.shape[1] <= KEEP_WEIGHTS_PIXELS:
            self._map = masking_weights(self.pixels, self.k)
            self.computed += 1
        if self._map is not None:
            return self._map[rows]
        self.computed += 1
        return masking_weights(self.pixels, self.k, rows)


_K3 = np.ones((3, 3), np.uint8)
_K5 = np.ones((5, 5), np.uint8)
_K7 = np.ones((7, 7), np.uint8)


def edge_map(pixels: np.ndarray, rows: slice | None = None) -> np.ndarray:
    """1 in smooth areas, toward 0 on edges and in noise (float32, for ``pixels[rows]``).

    From the second differences of each channel (0..1 scale), horizontal and
    vertical: ``edge = max`` of both, noise where both are large. Noise areas
    are opened (shrunk then grown) so that thin lines do not count as noise,
    the way libimagequant's contrast maps are cleaned. The maps are kept in
    8 bits, where OpenCV's minimum, maximum and box filters are fastest.
    """
    h, w = pixels.shape[:2]
    rows = rows or slice(0, h)
    y0, y1 = rows.start or 0, min(h, rows.stop if rows.stop is not None else h)
    a0, a1 = max(0, y0 - _MARGIN), min(h, y1 + _MARGIN)
    from .kernels import contrast_u8  # C (numba's scan.contrast_u8 without the build): only dithering asks

    p = cv2.copyMakeBorder(_visible_rgb(pixels[a0:a1]), 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    noise = np.empty((a1 - a0, w), np.uint8)
    edges = np.empty((a1 - a0, w), np.uint8)
    contrast_u8(p, noise, edges)
    noise = cv2.dilate(noise, _K5)  # two 3×3 maxima
    noise = cv2.dilate(cv2.blur(noise, (7, 7)), _K3)
    noise = cv2.erode(noise, _K7)  # three 3×3 minima
    edges = cv2.dilate(cv2.erode(edges, _K3), _K3)
    return np.minimum(noise, edges)[y0 - a0:y1 - a0].astype(np.float32) * np.float32(1.0 / 255.0)
