"""Dithering that adapts to the image, and labels chosen for fewer bytes.

A palette of k colours renders a smooth gradient as bands; dithering mixes
neighbouring colours so the eye sees the tones in between. Dithered
everywhere, a photo pays for it twice: edges turn jagged, and noise in busy
areas (where the eye would not have seen bands anyway) costs bytes, because
deflate cannot compress noise. So kmq dithers the way libimagequant does:

- a **dither map** (:func:`kmq_core.contrast.edge_map`, scaled by
  :func:`kmq_core.kernels.flat_runs`) turns dithering down on edges, in noise
  and where the undithered labels already vary, and leaves it on in smooth
  areas that would show a false contour;
- ``fs``: Floyd–Steinberg error diffusion, scanned serpentine (no
  diagonal drift), with the diffused error damped when it grows large, so
  no far-off colour lands in a smooth area, and not applied where it would
  be below a level's worth (such areas stay one colour);
- ``bayer``: ordered dithering by a Bayer matrix along lightness, spread
  by the local palette step. Its pattern depends on the pixel's position
  only and repeats every ``bayer_size`` rows (8×8, 64 levels, by default;
  4×4 and 2×2 give a coarser, more visible grid of 16 or 4 levels; 2×2
  stored in 1–3 % fewer bytes at k=16 on skimage's astronaut,
  coffee and chelsea, 4×4 about as many as 8×8), and it holds still from
  frame to frame;
- ``bluenoise``: the same ordered dithering with a 64×64 blue-noise mask
  (:mod:`kmq_core.bluenoise`, Ulichney's void-and-cluster) instead of the
  Bayer matrix: still bound to position, so it holds still from frame to
  frame too, but with no cross-hatch: the dots look like fine grain. It
  repeats only every 64 rows, and its PNGs were up to 14 % larger than
  Bayer's on those photos at k=16 (within 1 % at k=64);
- everything happens in the colour space the palette was fitted in, on
  bands of rows, so memory stays bounded.

**Rate-aware labels** (``lossy``): where an error is masked by texture
(:func:`kmq_core.contrast.masking_weights`) and no dithering is going on, a
pixel takes its left or upper neighbour's label when the difference is
below the local threshold, as gifsicle's ``--lossy`` does for GIF's LZW:
runs and repeated rows that deflate stores in a fraction of the bytes, in
places where the eye cannot tell. ``lossy`` is in squared units of the
working space (Oklab×100): 1 allows a pixel in a smooth area 1 unit (about a
tenth of a just-noticeable difference) more error, in texture up to
``LOSSY_CAP`` (4 squared units, 2 units).

The dithering loops and the rate-aware choice are in :mod:`kmq_core.kernels` (C; numba's
versions, in :mod:`kmq_core.scan` and :mod:`kmq_core.kernels_numba`, only without the C build).
"""

from __future__ import annotations

import numpy as np

from .colorspace import rgb_to_space
from .contrast import edge_map, masking_weights
from .options import DEFAULT_BAYER_SIZE, check_bayer_size

#: squared error (working-space units) above which diffused error is damped: 8 units
FS_MAX_ERR = 64.0
#: squared diffused error below which a pixel is not dithered (0.3 units: a third of a level)
FS_MIN_ERR = 0.1
#: most extra squared error a rate-aware choice may add (2 units)
LOSSY_CAP = 4.0
#: the dither map below which rate-aware choices are allowed in dithered results
LOSSY_FREE = 0.25
#: palette steps (working-space distance from a colour to its nearest other
#: colour) at and below which contours are too fine to see: no dithering
#: there; full dithering from DITHER_STEP_FULL up (linear between)
DITHER_STEP_NONE = 3.0
DITHER_STEP_FULL = 6.0
#: rows per band
BAND_ROWS = 128


def bayer_matrix(n: int = 8) -> np.ndarray:
    """The n×n Bayer threshold matrix (n a power of 2), values (i + ½) / n², float32."""
    m = np.zeros((1, 1), np.int64)
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return ((m + 0.5) / m.size).astype(np.float32)


_BAYER = {n: bayer_matrix(n) for n in (2, 4, 8)}


def threshold_matrix(dither: str, bayer_size: int = DEFAULT_BAYER_SIZE) -> np.ndarray:
    """The threshold matrix of an ordered ``dither`` ('bayer' or 'bluenoise'), float32 in (0, 1)."""
    if dither == "bluenoise":
        from .bluenoise import blue_noise_mask

        # a writable copy: the cached mask is read-only, and numba compiles
        # its kernels again for a read-only array type
        return np.array(blue_noise_mask())
    if dither == "bayer":
        return _BAYER[check_bayer_size(bayer_size)]
    raise ValueError(f"{dither!r} is not an ordered dithering")


def _dither_map_band(pixels, guess, y0, y1, strength, step_gain=None):
    from .kernels import flat_runs

    h, w = guess.shape
    edges = edge_map(pixels, slice(y0, y1))
    above = guess[y0 - 1].astype(np.int16) if y0 > 0 else np.full(w, -1, np.int16)
    below = guess[y1].astype(np.int16) if y1 < h else np.full(w, -1, np.int16)
    dm = flat_runs(guess[y0:y1], edges, above, below, np.empty((y1 - y0, w), np.float32))
    if strength != 1.0:
        dm *= np.float32(strength)
    if step_gain is not None:
        dm *= step_gain[guess[y0:y1]]
    return dm


def dither_map(pixels: np.ndarray, guess: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """How much each pixel is dithered, 0..1 float32 (see the module notes)."""
    h = guess.shape[0]
    return np.concatenate([_dither_map_band(pixels, guess, y0, min(h, y0 + BAND_ROWS), strength)
                           for y0 in range(0, h, BAND_ROWS)], axis=0)


def refine_labels(
    pixels: np.ndarray,
    colors: np.ndarray,
    guess: np.ndarray,
    *,
    space: str,
    dither: str = "fs",
    strength: float = 1.0,
    lossy: float = 0.0,
    k: int | None = None,
    bayer_size: int = DEFAULT_BAYER_SIZE,
    weights=None,
) -> np.ndarray:
    """Dither and/or choose labels for bytes, starting from the nearest-colour labels.

    Parameters
    ----------
    pixels : (H, W, 3|4) uint8 array
        The image (fully transparent pixels keep their label).
    colors : (n, 3) uint8 array
        The palette.
    guess : (H, W) uint8 array
        Each pixel's nearest palette colour in ``space`` (kmq_core.remapping).
    space : str
        The working colour space (the one the palette was fitted in).
    dither : {'none', 'fs', 'bayer', 'bluenoise'}
        ``fs`` error diffusion; ``bayer`` and ``bluenoise`` ordered
        dithering by a Bayer matrix or a blue-noise mask (see the module notes).
    strength : float
        0..1, scales the dither map.
    lossy : float
        Rate-aware tolerance (0: off); see the module notes.
    k : int, optional
        The palette size the masking weights are set for (default: ``len(colors)``).
    bayer_size : {2, 4, 8}
        Side of the Bayer matrix (``dither='bayer'`` only; default 8).
    weights : kmq_core.contrast.MaskingWeights, optional
        The image's masking weights for ``k`` colours, when the caller has them (the fit's).

    Returns
    -------
    (H, W) uint8 array of labels.
    """
    from .kernels import diffuse_band, neighbour_table, ordered_band, rate_aware_band

    colors = np.asarray(colors, np.uint8).reshape(-1, 3)
    h, w = guess.shape
    out = np.empty((h, w), np.uint8)
    if dither == "none" and lossy <= 0:
        out[:] = guess
        return out
    pal = rgb_to_space(colors, space).astype(np.float32)
    if dither != "none":  # the palette's neighbour table: only when dithering
        order, dist = neighbour_table(pal)
        spacing = dist[:, 1].copy() if len(pal) > 1 else np.zeros(1, np.float32)
        # no dithering where the palette's steps are too fine to show as contours
        span = max(DITHER_STEP_FULL - DITHER_STEP_NONE, 1e-6)
        step_gain = (np.clip((spacing - DITHER_STEP_NONE) / span, 0.0, 1.0).astype(np.float32)
                     if DITHER_STEP_FULL > 0 else None)
    err = np.zeros((2, w + 2, 3), np.float32)
    above = np.full(w, -1, np.int16)
    k = len(colors) if k is None else k
    has_alpha = pixels.shape[2] == 4
    matrix = threshold_matrix(dither, bayer_size) if dither in ("bayer", "bluenoise") else None
    for y0 in range(0, h, BAND_ROWS):
        y1 = min(h, y0 + BAND_ROWS)
        band = pixels[y0:y1]
        x = rgb_to_space(band[..., :3].reshape(-1, 3), space).reshape(y1 - y0, w, 3).astype(np.float32)
        visible = band[..., 3] > 0 if has_alpha else np.ones((y1 - y0, w), np.bool_)
        g = guess[y0:y1]
        lab = out[y0:y1]
        if dither == "none":
            lab[:] = g
            free = visible
        else:
            dm = _dither_map_band(pixels, guess, y0, y1, strength, step_gain)
            if dither == "fs":
                diffuse_band(x, g, dm, visible, pal, order, dist, err, y0, FS_MAX_ERR, FS_MIN_ERR, lab)
            elif matrix is not None:
                ordered_band(x, g, dm, visible, pal, order, dist, spacing, matrix, y0, lab)
            else:
                raise ValueError(f"unknown dithering {dither!r}")
            free = visible & (dm < LOSSY_FREE)
        if lossy > 0:
            wts = weights(slice(y0, y1)) if weights is not None else masking_weights(pixels, k, slice(y0, y1))
            tmp = lab.copy()
            rate_aware_band(x, tmp, g, wts, free, pal, np.float32(lossy), np.float32(LOSSY_CAP), above, lab)
        above = lab[-1].astype(np.int16)
    return out
