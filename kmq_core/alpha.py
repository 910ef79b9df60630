"""Transparency counted as the PNG counts it: k palette entries, colour and alpha together.

An indexed PNG has one palette; its tRNS chunk gives each entry an alpha.
pngquant's ``-k 8`` on an RGBA image therefore means at most 8 (colour,
alpha) entries, and so does kmq's:

- fully transparent pixels (alpha 0) share one entry, whatever their hidden
  colour, and the other k − 1 entries are fitted to the visible pixels;
- when every visible pixel is opaque, those k − 1 are the usual palette
  (:func:`kmq_core.fitting.fit_palette`), so nothing else changes;
- with translucent pixels, colour and alpha are clustered together
  (:func:`fit_rgba`): each pixel is the point (C·α, A·α_scale) with C its
  colour in the working space, premultiplied by α = alpha / 255 — what the
  eye sees over a dark background, where a colour at α = 0.1 counts a tenth
  of an opaque one — and A its alpha, scaled (``ALPHA_SCALE``) so that a
  step of alpha weighs like a step of lightness.

Translucent results are not dithered: the dithering passes work in three
colour coordinates and would move alpha with them.
"""

from __future__ import annotations

import numpy as np

from .colorspace import rgb_to_space, space_to_rgb, to_uint8
from .histogram import row_chunks

#: weight of alpha against colour: alpha 0..1 spans the 0..100 of lightness
ALPHA_SCALE = 100.0
#: 8-bit cells of the fit's histogram: RGB to 6 bits and alpha to 6 bits when
#: there are more distinct colours than CELL_EXACT_MAX
CELL_EXACT_MAX = 65536
CELL_BITS = 6
MAX_ITER = 30


def _rgba_codes(block: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(block).view("<u4").reshape(block.shape[:-1])


def rgba_histogram(pixels: np.ndarray, weights=None):
    """Distinct visible (alpha > 0) RGBA values: (N×4 uint8, counts, weights)."""
    h, w = pixels.shape[:2]
    codes, cnts, wts = [], [], []
    for rows in row_chunks(h, w):
        block = np.ascontiguousarray(pixels[rows])
        c = _rgba_codes(block).ravel()
        keep = block[..., 3].ravel() > 0
        c = c[keep]
        wt = np.ones(len(c)) if weights is None else np.asarray(weights(rows) if callable(weights) else
                                                                weights[rows], np.float64).ravel()[keep]
        u, inv = np.unique(c, return_inverse=True)
        codes.append(u)
        cnts.append(np.bincount(inv, minlength=len(u)))
        wts.append(np.bincount(inv, weights=wt, minlength=len(u)))
    allc = np.concatenate(codes)
    u, inv = np.unique(allc, return_inverse=True)
    counts = np.bincount(inv, weights=np.concatenate(cnts), minlength=len(u)).astype(np.int64)
    weights_ = np.bincount(inv, weights=np.concatenate(wts), minlength=len(u))
    rgba = u.astype("<u4").view(np.uint8).reshape(-1, 4)
    return u, rgba, counts, weights_


def features(rgba: np.ndarray, space: str) -> np.ndarray:
    """(C·α, A·scale) for N×4 uint8 RGBA (see the module notes)."""
    a = rgba[:, 3].astype(np.float64) / 255.0
    c = rgb_to_space(np.ascontiguousarray(rgba[:, :3]), space).astype(np.float64)
    return np.column_stack([c * a[:, None], a * ALPHA_SCALE])


def from_features(x: np.ndarray, space: str) -> np.ndarray:
    """N×4 features back to N×4 uint8 RGBA."""
    a = np.clip(x[:, 3] / ALPHA_SCALE, 0.0, 1.0)
    c = x[:, :3] / np.maximum(a, 1e-3)[:, None]
    rgb = to_uint8(space_to_rgb(c, space))
    return np.column_stack([rgb, np.clip(np.rint(a * 255.0), 1, 255).astype(np.uint8)])


def merge_rgba_histograms(a, b):
    """One :func:`rgba_histogram` of two images' pixels (counts and weights added per RGBA value);
    ``a`` may be None (the first image)."""
    if a is None:
        return b
    u, inv = np.unique(np.concatenate([a[0], b[0]]), return_inverse=True)
    counts = np.bincount(inv, weights=np.concatenate([a[2], b[2]]), minlength=len(u)).astype(np.int64)
    weights = np.bincount(inv, weights=np.concatenate([a[3], b[3]]), minlength=len(u))
    return u, u.astype("<u4").view(np.uint8).reshape(-1, 4), counts, weights


def fit_rgba_histogram(rgba: np.ndarray, counts: np.ndarray, wts: np.ndarray, k: int, *, space: str, seed: int = 0,
                       lock=None):
    """At most ``k`` RGBA palette entries for the distinct visible colours of :func:`rgba_histogram`.

    Returns
    -------
    palette : (n, 4) uint8, n ≤ k, most used first
    idx : (N,) uint8, each distinct colour's entry (:func:`rgba_labels` spreads them to pixels)
    share : (n,) int64, visible pixels per entry
    """
    from .fitting import _seed_with_opencv, _weighted_lloyd
    from .nearest import nearest
    from .options import check_lock_fits
    from .palette import as_lock, dedupe_colors, order_by_share

    locked = as_lock(lock)
    check_lock_fits(len(locked), k)
    fixed_rgba = np.column_stack([locked, np.full(len(locked), 255, np.uint8)]).astype(np.uint8)
    if len(rgba) + len(locked) <= k:
        pal = np.vstack([fixed_rgba, rgba])
    else:
        x = features(rgba, space)
        w = wts.copy()
        if len(rgba) > CELL_EXACT_MAX:
            # cells: 6 bits per channel, weighted means (the fit then costs the same for any image)
            q = (rgba >> (8 - CELL_BITS)).astype(np.int64)
            cell = ((q[:, 0] << 18) | (q[:, 1] << 12) | (q[:, 2] << 6) | q[:, 3])
            uc, ci = np.unique(cell, return_inverse=True)
            sw = np.bincount(ci, weights=w, minlength=len(uc))
            xs = np.stack([np.bincount(ci, weights=w * x[:, d], minlength=len(uc)) for d in range(4)], 1)
            x, w = xs / np.maximum(sw, 1e-12)[:, None], sw
        rng = np.random.default_rng(int(seed) & 0xFFFFFFFF)
        fixed = features(fixed_rgba, space) if len(locked) else np.zeros((0, 4))
        centres = _seed_with_opencv(x, w, k, fixed, rng)
        centres = _weighted_lloyd(x, w, centres, len(locked), max_iter=MAX_ITER)
        pal = from_features(centres, space)
        pal[: len(locked)] = fixed_rgba
        pal = dedupe_colors(pal)
    idx, _ = nearest(features(rgba, space), features(pal, space))
    used = np.bincount(idx, weights=counts, minlength=len(pal))
    keep = used > 0
    is_locked = (pal[:, None, :3] == locked[None, :, :]).all(-1).any(-1) & (pal[:, 3] == 255) if len(locked) else \
        np.zeros(len(pal), bool)
    keep |= is_locked
    order = order_by_share(used, keep)
    new = np.zeros(len(pal), np.intp)
    new[order] = np.arange(len(order))
    return pal[order], new[idx].astype(np.uint8), used[order].astype(np.int64)


def rgba_labels(pixels: np.ndarray, codes: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Each pixel's entry: ``idx`` of its colour among ``codes`` (:func:`rgba_histogram`'s, which
    must hold every visible colour of ``pixels``); fully transparent pixels get 0."""
    h, w_ = pixels.shape[:2]
    labels = np.zeros((h, w_), np.uint8)
    if len(codes) == 0:
        return labels
    for rows in row_chunks(h, w_):
        block = np.ascontiguousarray(pixels[rows])
        c = _rgba_codes(block)
        pos = np.clip(np.searchsorted(codes, c), 0, len(codes) - 1)
        lab = idx[pos]
        lab[block[..., 3] == 0] = 0
        labels[rows] = lab
    return labels


def fit_rgba(pixels: np.ndarray, k: int, *, space: str, seed: int = 0, weights=None, lock=None):
    """At most ``k`` RGBA palette entries for the visible pixels, and every pixel's label.

    Returns
    -------
    palette : (n, 4) uint8, n ≤ k, most used first
    labels : (H, W) uint8 (fully transparent pixels: 0; the caller gives them their own entry)
    counts : (n,) int64, visible pixels per entry
    """
    from .options import check_lock_fits
    from .palette import as_lock

    check_lock_fits(len(as_lock(lock)), k)
    codes, rgba, counts, wts = rgba_histogram(pixels, weights)
    pal, idx, share = fit_rgba_histogram(rgba, counts, wts, k, space=space, seed=seed, lock=lock)
    return pal, rgba_labels(pixels, codes, idx), share
