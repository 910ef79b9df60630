"""Nearest-colour search: which palette colour serves each colour.

Every stage asks the same question: for each of N points (colours in some
colour space), which of k centres (palette colours) is nearest by Euclidean
distance? The fit asks it at every Lloyd step, the remapping once per distinct
colour of the image, the accent rescue for the two nearest. This module is the
one place that answers it, in the way that fits each use:

- :func:`nearest` is exact (float64). Few points against few centres take one
  matrix product, ``|c|² - 2 x·c`` (then ``+ |x|²``); otherwise a k-d tree over
  the palette (scipy's ``cKDTree``) answers each query in O(log k), and can
  return the ``n`` nearest.
- :func:`nearest_fast` is the fitting loop's: a float32 product, which may
  break near-ties differently from exact arithmetic; that does not matter
  while centres still move, and the final assignment is exact.
- :func:`two_nearest` gives the nearest centre, its exact distance and a safe
  lower bound of the second-nearest distance: the bounds Hamerly's k-means
  (2010) keeps so that most points skip the search on later steps.
- :func:`assign_histogram` labels every distinct colour of a
  :class:`~kmq_core.histogram.ColorHistogram` with its nearest palette colour
  in a given space, in bounded-memory chunks, and keeps the answer with the
  histogram so the fit's final assignment is reused by the remapping
  (:func:`remember_assignment` stores one computed elsewhere).

This follows libimagequant's split of the work into ``hist`` (counting),
``nearest`` (the search), ``kmeans`` (the fit) and ``remap`` (labelling).

Examples
--------
>>> import numpy as np
>>> from kmq_core.nearest import nearest
>>> idx, d2 = nearest(np.array([[0., 0, 0], [250, 250, 250]]), np.array([[255., 255, 255], [10, 0, 0]]))
>>> idx.tolist(), d2.tolist()
([1, 0], [100.0, 75.0])
"""

from __future__ import annotations

import numpy as np

from .colorspace import rgb_to_space
from .histogram import ColorHistogram, unpack_rgb
from .tuning import (COLOR_CHUNK, DIRECT_BLOCK, DIRECT_PAIRS, EXACT_PRODUCT_PAIRS, FAST_PRODUCT_PAIRS, KDTREE_PARALLEL_MIN,
                     TWO_NEAREST_BLOCK)


def nearest(x: np.ndarray, c: np.ndarray, n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Exact nearest row of ``c`` for each row of ``x``: (indices, squared distances).

    Few points against few centres: one matrix product. Otherwise a k-d tree
    over the palette (scipy's cKDTree) answers each query in O(log k); with
    ``n=2`` the two nearest are returned as N×2 arrays.
    """
    if n == 1 and len(x) * len(c) <= EXACT_PRODUCT_PAIRS:
        x = np.asarray(x, np.float64)
        c = np.asarray(c, np.float64)
        d = (c * c).sum(1)[None, :] - 2.0 * (x @ c.T)
        i = d.argmin(1)
        dist = d[np.arange(len(x)), i] + (x * x).sum(1)
        return i, np.maximum(dist, 0.0)
    x = np.asarray(x, np.float64)
    c = np.asarray(c, np.float64)
    if len(x) * len(c) > DIRECT_PAIRS:
        return _nearest_tree(x, c, n)
    idx, dist, tied = _nearest_direct(x, c, n)
    if tied.any():  # equally near centres: the tree's choice among them, as before
        idx[tied], dist[tied] = _nearest_tree(x[tied], c, n)
    return idx, dist


def _nearest_tree(x: np.ndarray, c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy.spatial import cKDTree  # 0.3 s to import: only for large searches and ties

    d, i = cKDTree(c).query(x, k=n, workers=-1 if len(x) > KDTREE_PARALLEL_MIN else 1)
    return i.astype(np.intp), d * d


def _nearest_direct(x: np.ndarray, c: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`nearest` without the k-d tree, for searches too small to repay importing
    scipy.spatial: the tree's float64 sums (its distance rooted and squared again, as the tree
    returns it). Rows where two centres are equally near are marked ``tied``: the tree picks
    among them by its own order, so the caller asks it for those rows."""
    shape = (len(x), n) if n > 1 else (len(x),)
    idx, dist, tied = np.empty(shape, np.intp), np.empty(shape), np.zeros(len(x), np.bool_)
    step = max(1, DIRECT_BLOCK // max(len(c), 1))
    search = _one_nearest if n == 1 else _several_nearest
    for s in range(0, len(x), step):
        idx[s:s + step], dist[s:s + step], tied[s:s + step] = search(x[s:s + step], c, n)
    r = np.sqrt(dist)
    return idx, r * r, tied


def _exact_sq(xs: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Every squared distance, summed over the channels in order (as the k-d tree sums them)."""
    d = xs[:, None, 0] - c[None, :, 0]
    d *= d
    e = xs[:, None, 1] - c[None, :, 1]
    e *= e
    d += e
    e = np.subtract(xs[:, None, 2], c[None, :, 2], out=e)
    e *= e
    d += e
    return d


def _several_nearest(xs: np.ndarray, c: np.ndarray, n: int):
    d = _exact_sq(xs, c)
    j = np.argsort(d, axis=1, kind="stable")[:, :n + 1]
    near = np.take_along_axis(d, j, axis=1)
    return j[:, :n], near[:, :n], (np.diff(near, axis=1) == 0).any(1)


def _one_nearest(xs: np.ndarray, c: np.ndarray, n: int = 1):
    """The nearest centre by a float32 product, checked: a row whose runner-up is within the
    product's rounding bound of the best gets every exact distance; the others get the exact
    distance of their one centre. The float32 error of ``|c|² - 2 x·c`` is below 1e-6 of
    ``|x|² + |c|²``; the bound used is ten times that."""
    c32 = c.astype(np.float32)
    d = xs.astype(np.float32) @ (-2.0 * c32.T)
    d += (c32 * c32).sum(1)[None, :]
    j = d.argmin(1)
    rows = np.arange(len(xs))
    best = d[rows, j]
    d[rows, j] = np.inf
    tol = 1e-5 * ((xs * xs).sum(1) + float((c * c).sum(1).max())) + 1e-4
    unsure = d.min(1) <= best + tol
    diff = xs - c[j]
    diff *= diff
    dist = diff[:, 0] + diff[:, 1]
    dist += diff[:, 2]
    tied = np.zeros(len(xs), np.bool_)
    if unsure.any():
        u = np.flatnonzero(unsure)
        e = _exact_sq(xs[u], c)
        ju = e.argmin(1)
        bu = e[np.arange(len(u)), ju]
        j[u], dist[u], tied[u] = ju, bu, (e == bu[:, None]).sum(1) > 1
    return j, dist, tied

def nearest_fast(x: np.ndarray, x32: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre for the fitting loop: float32 matrix product (or a k-d
    tree for large problems). Float32 may break near-ties differently from
    exact arithmetic, which does not matter while centres still move; the
    final assignment (:func:`nearest`) is exact."""
    if len(x32) * len(c) > FAST_PRODUCT_PAIRS:
        return nearest(x, c)
    c32 = np.asarray(c, np.float32)
    d = x32 @ (-2.0 * c32.T)
    d += (c32 * c32).sum(1)[None, :]
    i = d.argmin(1)
    diff = x - np.asarray(c, np.float64)[i]  # the distance itself in float64
    return i, (diff * diff).sum(1)


def sqdist(x, c):
    """Squared distance of each row of x to the matching row of c."""
    dd = x - c
    dd *= dd
    return dd[:, 0] + dd[:, 1] + dd[:, 2]


def two_nearest(x, c, block=TWO_NEAREST_BLOCK):
    """Nearest centre, its exact distance, and a lower bound of the second-nearest distance."""
    n, k = len(x), len(c)
    i = np.empty(n, np.intp)
    d1 = np.empty(n)
    c32 = np.asarray(c, np.float32)
    m2 = -2.0 * c32.T
    cc = (c32 * c32).sum(1)[None, :]
    step = max(1, block // max(k, 1))
    for s in range(0, n, step):
        xs = np.asarray(x[s:s + step], np.float32)
        d = xs @ m2
        d += cc
        j = d.argmin(1)
        i[s:s + step] = j
        if k > 1:
            d[np.arange(len(xs)), j] = np.inf
            d1[s:s + step] = d.min(1)
        else:
            d1[s:s + step] = np.inf
    xx = (x * x).sum(1)
    u = np.sqrt(sqdist(x, c[i]))
    # float32 rounding of the expanded form: keep the bound on the safe side
    lo = np.sqrt(np.maximum(d1 + xx * (1.0 - 1e-6) - 1.0, 0.0))
    return i, u, lo


def assign_histogram(hist: ColorHistogram, palette_colors: np.ndarray, space: str) -> np.ndarray:
    """Index of the nearest palette colour (in ``space``) for each distinct colour of ``hist``.

    uint8 indices for palettes of up to 256 colours. The answer is kept with
    the histogram (one palette and space at a time) and returned again while
    the same palette and space are asked for.
    """
    pal = np.ascontiguousarray(palette_colors, np.uint8)
    key = (space, pal.tobytes())
    memo = hist._assigned
    if key not in memo:
        memo.clear()
        target = rgb_to_space(pal, space)
        idx = np.empty(len(hist.codes), np.uint8 if len(pal) <= 256 else np.intp)
        for s in range(0, len(hist.codes), COLOR_CHUNK):  # bounded memory for millions of colours
            idx[s:s + COLOR_CHUNK], _ = nearest(rgb_to_space(unpack_rgb(hist.codes[s:s + COLOR_CHUNK]), space), target)
        memo[key] = idx
    return memo[key]


def remember_assignment(hist: ColorHistogram, palette_colors: np.ndarray, space: str, idx: np.ndarray) -> None:
    """Keep an assignment computed elsewhere (e.g. for a reordered palette) as
    :func:`assign_histogram`'s answer for this palette and space."""
    pal = np.ascontiguousarray(palette_colors, np.uint8)
    hist._assigned.clear()
    hist._assigned[(space, pal.tobytes())] = idx
