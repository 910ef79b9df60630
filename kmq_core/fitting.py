"""Fit a palette of k colours to an image with k-means.

The pipeline, after libimagequant and Celebi (2011, arXiv 1101.0395):

1. **Histogram**: the image becomes its distinct colours with pixel counts
   (one linear pass), then cells of ``2**bits`` levels per channel holding the
   count-weighted mean colour (:func:`kmq_core.histogram.reduce_histogram`).
   k-means then runs on a few thousand weighted points instead of millions of
   pixels, and its cost no longer grows with the pixel count.
2. **Seeding and coarse fit with OpenCV**: ``cv2.kmeans`` with k-means++
   seeding on a frequency-proportional sample of the cells (the same
   distribution as the pixels), seeded by ``cv2.setRNGSeed`` so runs repeat.
3. **Weighted refinement**: Lloyd iterations over every cell with its weight,
   which ``cv2.kmeans`` cannot do (it has no sample weights); this part is
   numpy, a matrix product per iteration.
4. **Accent rescue**: a small, strongly coloured object (a red buoy, an
   orange fish) holds too few pixels to pull a centre and comes back washed
   out. Colours served worse than ``ACCENT_DE`` (CIELAB ΔE) that still cover
   a visible area take the centre whose removal costs least, as libimagequant's
   feedback loop re-weights badly served colours (not when so much is served
   that badly that the palette is simply too small for the image).
5. **Centres at their pixels' mean**: the weights shape the boundaries
   between colours, not where a colour sits; last, every free centre moves
   to the mean colour of the pixels it serves, counted by pixels (Lloyd steps
   until the assignment settles), so a textured region keeps its average
   colour: the mean in the fitting space, or in linear light where the two
   differ by more than ``MEAN_MAX_DE``. At small k several starts run; up to k = 16 starts of the
   tutorials' RGB k-means join them, and the palette people would judge
   best wins: the least mean CIEDE2000 (the most chromatic pixels counted
   again), among candidates whose colours stand for their pixels and whose
   weighted error is near the best start's (:class:`_Judge`).
   Locked colours are fixed centres that take part in assignment but never
   move.

6. In ``rgb`` (judged by PSNR alone) five k-means++ starts run on the
   exact colours and the one with the least squared error is kept; Lloyd
   steps with the palette held in whole 8-bit values then finish it
   (Hamerly's bounds keep the hundreds of Lloyd steps cheap).

All of it happens in the chosen colour space; the palette is rounded to 8-bit
sRGB at the end and the final centre values are re-derived so that the
palette reported is the one used.

This module owns the k-means itself: seeding, the weighted and the bounded
Lloyd loops, the accent rescue, the 8-bit polish, and :func:`fit_palette`,
which dispatches to one of two fits that read separately: ``_fit_rgb`` (step
6) and ``_fit_perceptual`` (steps 2-5, for lab, oklab, de2000 and
perceptual). The nearest-colour search it runs on is
:mod:`kmq_core.nearest`, its tuning constants are in :mod:`kmq_core.tuning`,
lock parsing (:func:`kmq_core.palette.as_lock`, re-exported here) and the
order by share are in :mod:`kmq_core.palette`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
from threadpoolctl import threadpool_limits

from .colorspace import linear_to_srgb, rgb_to_space, space_to_rgb, srgb_to_linear, to_uint8
from .errors import KmqError
from .histogram import ColorHistogram, color_histogram, pack_rgb, reduce_histogram
from .loading import ImageSource, load_image
from .nearest import assign_histogram, nearest, nearest_fast, remember_assignment, sqdist, two_nearest
from .options import DEFAULT_SEED, DEFAULT_SPACE, check_k, check_space, check_lock_fits
from .palette import Palette, as_lock, dedupe_colors, order_by_share  # as_lock: re-exported for cli and batch
from .tuning import (ACCENT_DE, ACCENT_GROUP_DE, ACCENT_MAX_BAD_SHARE, ACCENT_MIN_PIXELS, ACCENT_MIN_SHARE,
                     ACCENT_ROUNDS, CELL_BITS_COARSE, CELL_BITS_FINE, CELL_EXACT_MAX, FEW_K, L1_EPS, L1_ITER,
                     L1_ITER_MANY, MANY_K, MAX_ITER, MEAN_MAX_DE, MEAN_ROUNDS, N_INIT_PERCEPTUAL, N_INIT_RGB, N_INIT_RGB_MANY, RGB_BITS, RGB_BITS_MANY, RGB_EXACT_MAX, RGB_MAX_ITER, RGB_MAX_ITER_MANY, RGB_POLISH,
                     RGB_SEED_SAMPLE, RGB_TOL, SEED_ITER, SELECT_ACCENT, SELECT_ACCENT_SHARE, SELECT_FIDELITY_DE,
                     SELECT_FIDELITY_SHARE, SELECT_K, SELECT_RGB, SELECT_RGB_ITER, SELECT_SQ_TOL, SEED_ITER_MANY, SEED_SAMPLE, TOL)


def _cell_bits(k: int, n_colors: int) -> tuple[int, int]:
    """Histogram resolution (coarse, fine): finer cells when many clusters share space."""
    if n_colors <= CELL_EXACT_MAX:
        return 8, 8  # few enough distinct colours to use them all, exactly
    return CELL_BITS_COARSE, (CELL_BITS_COARSE if k <= 32 else CELL_BITS_FINE)


def _refill_empty(moved, empty, n_fixed, x, w, d) -> None:
    """Each empty free centre (``empty``: a mask) jumps to the point served
    worst, by weight times squared distance ``d`` (which it updates)."""
    for j in np.flatnonzero(empty[n_fixed:]) + n_fixed:
        far = int(np.argmax(w * d))
        moved[j] = x[far]
        d[far] = 0.0


def _weighted_lloyd(x, w, centres, n_fixed, max_iter=MAX_ITER, tol=TOL, l1=False, on_step=None):
    """Weighted Lloyd iterations; the first ``n_fixed`` centres never move.

    With ``l1`` each step moves centres toward the weighted geometric median
    (one Weiszfeld step: weights divided by the distance), which lowers the
    MEAN distance, the figure ΔE is judged by, instead of the mean square.
    """
    k = len(centres)
    prev = np.inf
    x32 = np.asarray(x, np.float32)
    for _ in range(max_iter):
        idx, d = nearest_fast(x, x32, centres)
        inertia = float(w @ (np.sqrt(d) if l1 else d))
        if on_step is not None:
            on_step(centres, inertia / float(w.sum()))
        ww = w / np.maximum(np.sqrt(d), L1_EPS) if l1 else w
        sw = np.bincount(idx, weights=ww, minlength=k)
        moved = centres.copy()
        live = sw > 0
        for c in range(x.shape[1]):  # 3 colour coordinates (4 with alpha: kmq_core.alpha)
            moved[live, c] = np.bincount(idx, weights=ww * x[:, c], minlength=k)[live] / sw[live]
        moved[:n_fixed] = centres[:n_fixed]
        _refill_empty(moved, ~live, n_fixed, x, w, d)
        centres = moved
        if prev < np.inf and prev - inertia <= tol * prev and live.all():
            break
        prev = inertia
    return centres


def _lloyd_bounded(x, w, centres, n_fixed, max_iter=MAX_ITER, tol=TOL, on_step=None):
    """Weighted Lloyd iterations like :func:`_weighted_lloyd` (squared error
    only), for long runs over many points: the rgb fit's hundreds of steps on
    100k+ exact colours.

    Hamerly's bounds (2010) skip the distance search for the points that
    cannot have changed centre, and the error comes from per-cluster sums, so
    a late step costs O(points) of vector work instead of a points×k product.
    Same centres as plain Lloyd up to float32 near-ties. Written here because
    neither OpenCV's nor scikit-learn's k-means takes the per-colour weights
    (scikit-learn's does, but is not a dependency of the core).
    """
    k = len(centres)
    x = np.asarray(x, np.float64)
    centres = np.asarray(centres, np.float64).copy()
    idx, u, lo = two_nearest(x, centres)
    wx = w[:, None] * x
    wxx = w * (x * x).sum(1)
    total = float(w.sum())
    prev = np.inf
    for _ in range(max_iter):
        sw = np.bincount(idx, weights=w, minlength=k)
        s1 = np.stack([np.bincount(idx, weights=wx[:, c], minlength=k) for c in range(3)], 1)
        s2 = np.bincount(idx, weights=wxx, minlength=k)
        # the weighted squared error from cluster sums: O(k), no distances needed
        inertia = max(float(s2.sum() - 2.0 * (centres * s1).sum() + (sw * (centres * centres).sum(1)).sum()), 0.0)
        if on_step is not None:
            on_step(centres, inertia / total)
        moved = centres.copy()
        live = sw > 0
        moved[live] = s1[live] / sw[live, None]
        moved[:n_fixed] = centres[:n_fixed]
        empty = not live[n_fixed:].all()
        if empty:
            _refill_empty(moved, ~live, n_fixed, x, w, sqdist(x, centres[idx]))
        shift = np.sqrt(sqdist(moved, centres))
        centres = moved
        if prev < np.inf and prev - inertia <= tol * prev and live.all():
            break
        prev = inertia
        if empty:
            idx, u, lo = two_nearest(x, centres)
            continue
        # Hamerly (2010): the centre a point has can only be beaten when its
        # distance (upper bound) passes the second-nearest (lower bound)
        u += shift[idx]
        order = np.argsort(shift)
        top, second = order[-1], (order[-2] if k > 1 else order[-1])
        lo -= np.where(idx == top, shift[second], shift[top])
        need = np.flatnonzero(u > lo)
        if len(need):
            u[need] = np.sqrt(sqdist(x[need], centres[idx[need]]))
            need = need[u[need] > lo[need]]
            if len(need):
                idx[need], u[need], lo[need] = two_nearest(x[need], centres)
    return centres


def _mean_squared_distance(x, w, centres) -> float:
    """Weighted mean squared distance of the points to their nearest centre."""
    _, d = nearest(x, centres)
    return float(w @ d) / float(w.sum())


def _seed_with_opencv(x, w, k, fixed, rng, sample=SEED_SAMPLE) -> np.ndarray:
    """k-means++ and a few Lloyd steps by cv2.kmeans on a weight-proportional sample."""
    n_free = k - len(fixed)
    m = min(len(x), max(sample, 16 * k))
    p = w / w.sum()
    pick = rng.choice(len(x), size=m, replace=True, p=p)  # a pixel sample: heavy cells recur
    sample = np.ascontiguousarray(x[pick], dtype=np.float32)
    n_distinct = len(np.unique(pick))
    n_free_eff = min(n_free, n_distinct)
    cv2.setRNGSeed(int(rng.integers(0, 2**31 - 1)))
    if n_free_eff <= 0:
        free = np.zeros((0, 3))
    elif n_free_eff >= n_distinct:
        free = x[np.unique(pick)]
    else:
        steps = SEED_ITER if k <= MANY_K else SEED_ITER_MANY
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, steps, 1e-3)
        _, _, free = cv2.kmeans(sample, n_free_eff, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        free = free.astype(np.float64)
    if len(free) < n_free:
        # fewer distinct sampled points than centres: fill with the colours served worst
        extra = []
        cur = np.vstack([fixed, free]) if len(fixed) or len(free) else x[:1]
        _, d = nearest(x, cur)
        for i in np.argsort(-(w * d))[: n_free - len(free)]:
            extra.append(x[i])
        free = np.vstack([free, np.array(extra).reshape(-1, x.shape[1])])
    return np.vstack([fixed, free]) if len(fixed) else free


def _bad_groups(lab_x, w, bad_idx, radius, limit=64):
    """Greedy groups of badly served colours: (members, weight), heaviest first."""
    left = bad_idx[np.argsort(-w[bad_idx], kind="stable")]
    groups = []
    while len(left) and len(groups) < limit:
        seed = left[0]
        close = np.sqrt(((lab_x[left] - lab_x[seed]) ** 2).sum(1)) < radius
        groups.append((left[close], float(w[left[close]].sum())))
        left = left[~close]
    groups.sort(key=lambda g: -g[1])
    return groups


def _rescue_accents(x, w, centres, n_fixed, lab_x, space, rounds=ACCENT_ROUNDS, counts=None):
    """Give a centre to small, distinct colour groups that k-means washed out.

    ``w`` is the fit's weight (masking weights), ``counts`` the pixel counts:
    whether a group is big enough to earn a centre is a matter of pixels, not of
    how textured it is (a small bright object is all edge, so its masking
    weight is low, yet a missing colour is seen at once).
    """
    n = w if counts is None else counts
    total = n.sum()
    min_w = max(ACCENT_MIN_SHARE * total, ACCENT_MIN_PIXELS)
    k = len(centres)
    for _ in range(rounds):
        if k - n_fixed < 2:
            return centres, n_fixed
        idx, _ = nearest(x, centres)
        lab_c = rgb_to_space(space_to_rgb(centres, space), "lab") if space != "lab" else centres
        err = np.sqrt(((lab_x - lab_c[idx]) ** 2).sum(1))
        bad = np.flatnonzero(err > ACCENT_DE)
        if n[bad].sum() < min_w:
            return centres, n_fixed
        if n[bad].sum() > ACCENT_MAX_BAD_SHARE * total:
            # so much is served this badly that the palette is too small for the image
            # (CQ100 photos at k = 4), not one object lost: a rescue would move the damage
            return centres, n_fixed
        groups = [g for g in _bad_groups(lab_x, n, bad, ACCENT_GROUP_DE) if g[1] >= min_w]
        if not groups:
            return centres, n_fixed
        # the group that loses most: pixels times squared error
        members, gw = max(groups, key=lambda g: float(n[g[0]] @ err[g[0]] ** 2))
        target = (x[members] * n[members, None]).sum(0) / gw
        # the free centre whose loss costs least: the weight it serves times
        # the extra distance to each point's second-nearest centre
        two, d2 = nearest(x, centres, n=2)
        cost = np.bincount(two[:, 0], weights=w * (d2[:, 1] - d2[:, 0]), minlength=k)
        cost[:n_fixed] = np.inf
        victim = int(np.argmin(cost))
        trial = centres.copy()
        # the accent's centre joins the fixed ones, at its pixels' mean: with
        # masking weights its few, textured pixels would let neighbouring
        # colours drag a free centre off it again
        trial[victim] = trial[n_fixed]
        trial[n_fixed] = target
        n_fixed += 1
        centres = _weighted_lloyd(x, w, trial, n_fixed, max_iter=6)
    return centres, n_fixed


def _polish_rgb(hist: ColorHistogram, pal: np.ndarray, n_fixed: int, rounds: int = RGB_POLISH) -> np.ndarray:
    """Lloyd steps on the exact colours with the palette kept in whole 8-bit values.

    For a fixed assignment the squared error of a channel is least at the
    integer nearest the cluster mean, so each step (nearest colour, then the
    rounded mean) never raises the error of the 8-bit palette that is saved;
    it also finishes fits that ran on 7-bit cells. Stops when nothing changes.
    """
    x = hist.colors.astype(np.float64)
    w = hist.counts.astype(np.float64)
    pal = pal.copy()
    k = len(pal)
    for _ in range(rounds):
        idx, _ = nearest(x, pal.astype(np.float64))
        sw = np.bincount(idx, weights=w, minlength=k)
        live = sw > 0
        live[:n_fixed] = False
        new = pal.copy()
        for c in range(3):
            new[live, c] = to_uint8(np.bincount(idx, weights=w * x[:, c], minlength=k)[live] / sw[live])
        if np.array_equal(new, pal):
            break
        pal = new
    return pal


def _all_grey(colors: np.ndarray) -> bool:
    return bool(len(colors)) and bool((colors[:, 0] == colors[:, 1]).all() and (colors[:, 1] == colors[:, 2]).all())


def _fit_rgb(hist: ColorHistogram, k: int, fixed: np.ndarray, n_locked: int, rng, on_step) -> np.ndarray:
    """The exact-RGB fit (judged by PSNR alone), as a uint8 palette whose first
    ``n_locked`` centres stay at ``fixed``: several k-means++ starts on the
    exact colours (7-bit cells beyond RGB_EXACT_MAX), each run to convergence
    with Hamerly's bounds, the one of least squared error kept, then Lloyd
    steps on the exact colours with the palette in whole 8-bit values."""
    bits = RGB_BITS if len(hist) <= RGB_EXACT_MAX else RGB_BITS_MANY
    pts_rgb, w = reduce_histogram(hist, bits)
    x = rgb_to_space(pts_rgb, "rgb").astype(np.float64)
    # several k-means++ starts run to convergence, the one with the lowest
    # squared error kept (rgb is judged by PSNR alone, where the starts'
    # local optima differ by up to 0.1 dB); on_step sees the first
    best = None
    for start in range(N_INIT_RGB if k <= MANY_K else N_INIT_RGB_MANY):
        centres = _seed_with_opencv(x, w, k, fixed, rng, RGB_SEED_SAMPLE)
        centres = _lloyd_bounded(x, w, centres, n_locked, tol=RGB_TOL,
                                 max_iter=RGB_MAX_ITER if k <= MANY_K else RGB_MAX_ITER_MANY,
                                 on_step=on_step if start == 0 else None)
        score = _mean_squared_distance(x, w, centres)
        if best is None or score < best[0]:
            best = (score, centres)
    centres = best[1]
    # rgb optimises squared error and nothing else: no accent rescue, no mean-distance steps
    pal = to_uint8(space_to_rgb(centres, "rgb"))
    return _polish_rgb(hist, pal, n_locked)


def _centres_at_pixel_means(x: np.ndarray, lin: np.ndarray, counts: np.ndarray, centres: np.ndarray, space: str,
                            n_fixed: int, rounds: int = MEAN_ROUNDS) -> np.ndarray:
    """Lloyd steps whose centres are the mean colour of the pixels they serve
    (by pixel count, not by masking weight).

    The masking weights decide where the boundaries between colours fall,
    which is what they are for (errors hide in texture); but a centre placed
    at their weighted mean sits where the smooth pixels of its region are,
    not where all of them are: the fur of a tiger, textured and therefore
    light in weight, came back lavender where its pixels average a warm grey
    (ΔE2000 16.5). So after the weighted fit each free centre moves to its
    pixels' plain mean in the fitting space (the least squared error there,
    which the perceptual measures follow), except where that is more than
    ``MEAN_MAX_DE`` from their mean in linear light, the colour a flat area
    shows from a distance (a cluster that spans dark and light: the two means
    part); there it takes the linear-light mean. The assignment (still in
    the fitting space) follows, for at most ``rounds`` steps or until it no
    longer changes.
    ``x``, ``lin``, ``counts``: histogram cells in ``space`` and in linear
    light, and their pixel counts.
    """
    k = len(centres)
    centres = centres.copy()
    prev = None
    for _ in range(rounds):
        idx, _ = nearest(x, centres)
        if prev is not None and np.array_equal(idx, prev):
            break  # converged: every centre is its pixels' mean
        prev = idx
        n = np.bincount(idx, weights=counts, minlength=k)
        live = n > 0
        live[:n_fixed] = False
        if not live.any():
            break
        mean_x = _cluster_means(idx, counts, x, n, live)
        mean_lin = rgb_to_space(linear_to_srgb(_cluster_means(idx, counts, lin, n, live)) * 255.0, space)
        far = _too_far(mean_x, mean_lin, space)
        mean_x[far] = mean_lin[far]
        centres[live] = mean_x
    return centres


def _cluster_means(idx: np.ndarray, counts: np.ndarray, values: np.ndarray, n: np.ndarray,
                   rows: np.ndarray) -> np.ndarray:
    """The count-weighted mean of ``values`` (N×3) over each cluster of ``idx`` that ``rows``
    picks (a mask or indices into the clusters; ``n``: each cluster's total count)."""
    sums = np.stack([np.bincount(idx, weights=counts * values[:, c], minlength=len(n)) for c in range(3)], 1)
    return sums[rows] / n[rows, None]


def _too_far(a: np.ndarray, b: np.ndarray, space: str) -> np.ndarray:
    """Where colours ``a`` and ``b`` (in ``space``) are more than MEAN_MAX_DE (CIEDE2000) apart."""
    from .ciede2000 import ciede2000  # numpy: skimage.color would add 0.65 s to start-up

    lab = [rgb_to_space(space_to_rgb(c, space), "lab").astype(np.float64) for c in (a, b)]
    return ciede2000(lab[0], lab[1]) > MEAN_MAX_DE


@dataclass(frozen=True)
class _Cells:
    """The histogram cells a perceptual fit works on, made once for all its starts.

    ``x``/``w``: cell means in the fitting space and their weights (coarse,
    and fine for the last steps); ``lab``: the coarse cells in CIELAB and
    ``counts`` their pixel counts (None without masking weights), for the
    accent rescue; ``mean_x``/``mean_lin``/``mean_counts``: cells by pixel
    count, in the fitting space and in linear light, for the pixel means, and
    ``mean_rgb``, the same cells in sRGB, for the RGB starts and the judge.
    """

    x: np.ndarray
    w: np.ndarray
    lab: np.ndarray
    counts: np.ndarray | None
    fine_x: np.ndarray
    fine_w: np.ndarray
    mean_x: np.ndarray
    mean_lin: np.ndarray
    mean_counts: np.ndarray
    mean_rgb: np.ndarray

    @classmethod
    def of(cls, hist: ColorHistogram, k: int, space: str) -> "_Cells":
        # coarse to fine: most iterations run on coarse cells, which are cheap;
        # the last few on finer cells, where many clusters share little space
        coarse_bits, fine_bits = _cell_bits(k, len(hist))
        pts_rgb, w = reduce_histogram(hist, coarse_bits)
        x = rgb_to_space(pts_rgb, space).astype(np.float64)
        lab = x if space == "lab" else rgb_to_space(pts_rgb, "lab").astype(np.float64)
        counts = reduce_histogram(hist, coarse_bits, weighted=False)[1] if hist.weights is not None else None
        fine_x, fine_w = x, w
        if fine_bits != coarse_bits:
            fine_rgb, fine_w = reduce_histogram(hist, fine_bits)
            fine_x = rgb_to_space(fine_rgb, space).astype(np.float64)
        mean_rgb, mean_counts = reduce_histogram(hist, fine_bits, weighted=False)
        mean_x = rgb_to_space(mean_rgb, space).astype(np.float64)
        return cls(x, w, lab, counts, fine_x, fine_w, mean_x, srgb_to_linear(mean_rgb / 255.0), mean_counts,
                   mean_rgb)


def _fit_perceptual_once(cells: _Cells, k: int, space: str, fixed: np.ndarray, n_locked: int, rng,
                         on_step) -> np.ndarray:
    """One start of :func:`_fit_perceptual`, as centres in ``space``."""
    centres = _seed_with_opencv(cells.x, cells.w, k, fixed, rng, SEED_SAMPLE)
    centres = _weighted_lloyd(cells.x, cells.w, centres, n_locked, on_step=on_step)
    centres, n_held = _rescue_accents(cells.x, cells.w, centres, n_locked, cells.lab, space, counts=cells.counts)
    if L1_ITER:
        centres = _weighted_lloyd(cells.fine_x, cells.fine_w, centres, n_held,
                                  max_iter=L1_ITER if k <= MANY_K else L1_ITER_MANY, l1=True)
    return _centres_at_pixel_means(cells.mean_x, cells.mean_lin, cells.mean_counts, centres, space, n_locked)


def _accent_weights(lab: np.ndarray, counts: np.ndarray, share: float = SELECT_ACCENT_SHARE) -> np.ndarray:
    """Per cell, how many of its pixels are among the ``share`` most chromatic of the image
    (CIELAB chroma): the pixels where a lost object colour shows."""
    order = np.argsort(-np.hypot(lab[:, 1], lab[:, 2]), kind="stable")
    c = counts[order].astype(np.float64)
    before = np.cumsum(c) - c
    out = np.zeros(len(counts))
    out[order] = np.clip(share * c.sum() - before, 0.0, c)
    return out


@dataclass(frozen=True)
class _Judge:
    """What :func:`_fit_perceptual` judges its candidate palettes by, on the fine cells:
    their CIELAB colours (``lab``), pixel counts (``counts``) and how many of those pixels
    are among the most chromatic (``accent``)."""

    lab: np.ndarray
    counts: np.ndarray
    accent: np.ndarray

    @classmethod
    def of(cls, cells: "_Cells") -> "_Judge":
        lab = rgb_to_space(cells.mean_rgb, "lab").astype(np.float64)
        counts = cells.mean_counts.astype(np.float64)
        return cls(lab, counts, _accent_weights(lab, counts))

    def cost(self, pal: np.ndarray, cells: "_Cells", space: str) -> float:
        """Mean CIEDE2000 of the pixels to the colour they get (nearest in ``space``, as the
        remap assigns them), plus SELECT_ACCENT times that mean over the most chromatic
        pixels; infinite when a colour that SELECT_FIDELITY_SHARE of the pixels use is
        farther than SELECT_FIDELITY_DE from their mean colour in linear light (a colour
        the photo does not have)."""
        from .ciede2000 import ciede2000  # numpy: skimage.color would add 0.65 s to start-up

        idx, _ = nearest(cells.mean_x, rgb_to_space(pal, space).astype(np.float64))
        pal_lab = rgb_to_space(pal, "lab").astype(np.float64)
        de = ciede2000(self.lab, pal_lab[idx])
        n = np.bincount(idx, weights=self.counts, minlength=len(pal))
        big = np.flatnonzero(n >= SELECT_FIDELITY_SHARE * self.counts.sum())
        if len(big):
            lin = _cluster_means(idx, self.counts, cells.mean_lin, n, big)
            mean_lab = rgb_to_space(linear_to_srgb(lin) * 255.0, "lab").astype(np.float64)
            if float(ciede2000(mean_lab, pal_lab[big]).max()) > SELECT_FIDELITY_DE:
                return np.inf
        total = float(self.counts.sum())
        return float(self.counts @ de) / total + SELECT_ACCENT * float(self.accent @ de) / float(self.accent.sum())


def _fit_rgb_start(cells: "_Cells", k: int, space: str, fixed: np.ndarray, n_locked: int,
                   rng) -> tuple[np.ndarray, np.ndarray]:
    """One start of the tutorials' k-means: squared RGB distance, centres at the plain mean
    of the RGB values, on the fine cells by pixel count, then the accent rescue the
    perceptual starts have. Returns its centres in ``space`` as they are, and moved to
    their pixels' mean colour in ``space``'s assignment (:func:`_centres_at_pixel_means`):
    two candidates."""
    x = cells.mean_rgb.astype(np.float64)
    w = cells.mean_counts.astype(np.float64)
    fixed_rgb = space_to_rgb(fixed, space) if len(fixed) else fixed
    centres = _seed_with_opencv(x, w, k, fixed_rgb, rng, SEED_SAMPLE)
    centres = _lloyd_bounded(x, w, centres, n_locked, max_iter=SELECT_RGB_ITER, tol=RGB_TOL)
    centres = rgb_to_space(centres, space).astype(np.float64)
    centres[:n_locked] = fixed
    # the same rescue as the perceptual starts: a small saturated object keeps a colour
    centres, _ = _rescue_accents(cells.x, cells.w, centres, n_locked, cells.lab, space, counts=cells.counts)
    return centres, _centres_at_pixel_means(cells.mean_x, cells.mean_lin, cells.mean_counts, centres, space,
                                            n_locked)


def _fit_perceptual(hist: ColorHistogram, k: int, space: str, fixed: np.ndarray, n_locked: int, rng,
                    on_step) -> np.ndarray:
    """The fit in a perceptual space (lab, oklab, de2000, perceptual), as a uint8
    palette whose first ``n_locked`` centres stay at ``fixed``: k-means++
    starts with weighted Lloyd steps on coarse cells, the accent rescue,
    mean-distance (Weiszfeld) steps on finer cells, then the centres moved
    to their pixels' mean colour (:func:`_centres_at_pixel_means`).

    At ``k <= FEW_K`` several starts run: with few colours they end in
    visibly different palettes (an object's colour kept by one, merged by
    another), and each costs little. Up to SELECT_K, SELECT_RGB starts of the
    tutorials' RGB k-means join them (each as it is and at its pixels' mean), and
    the candidate with the least :meth:`_Judge.cost` is kept: mean CIEDE2000 with
    the most chromatic pixels counted again, among those whose colours stand
    for their pixels and whose weighted squared error is no more than
    SELECT_SQ_TOL above the best perceptual start's. Above SELECT_K, the start of least weighted squared error
    is kept. on_step sees the first start. The cells are made once for all.
    """
    cells = _Cells.of(hist, k, space)
    starts = N_INIT_PERCEPTUAL if k <= FEW_K else 1
    if starts == 1:
        return to_uint8(space_to_rgb(_fit_perceptual_once(cells, k, space, fixed, n_locked, rng, on_step), space))
    cands = [to_uint8(space_to_rgb(_fit_perceptual_once(cells, k, space, fixed, n_locked, rng,
                                                        on_step if start == 0 else None), space))
             for start in range(starts)]
    sq = [_mean_squared_distance(cells.fine_x, cells.fine_w, rgb_to_space(pal, space).astype(np.float64))
          for pal in cands]
    best = cands[int(np.argmin(sq))]
    if k > SELECT_K:
        return best
    limit = (1.0 + SELECT_SQ_TOL) * min(sq)
    for _ in range(SELECT_RGB):
        cands.extend(to_uint8(space_to_rgb(c, space)) for c in _fit_rgb_start(cells, k, space, fixed, n_locked, rng))
        sq.extend(_mean_squared_distance(cells.fine_x, cells.fine_w, rgb_to_space(pal, space).astype(np.float64))
                  for pal in cands[len(sq):])
    # the weighted squared error follows what SSIMULACRA2 sees (smooth areas' levels), the judge
    # what CIEDE2000 sees (hues, the most chromatic objects): a candidate is in the running
    # only when its weighted squared error is within SELECT_SQ_TOL of the best start's
    judge = _Judge.of(cells)
    costs = [judge.cost(pal, cells, space) if s <= limit else np.inf
             for pal, s in zip(cands, sq)]
    return cands[int(np.argmin(costs))] if np.isfinite(min(costs)) else best


def _fit_palette(
    image: ImageSource,
    k: int,
    *,
    space: str = DEFAULT_SPACE,
    seed: int = DEFAULT_SEED,
    lock=None,
    histogram: ColorHistogram | None = None,
    on_step=None,
) -> Palette:
    """Fit a palette of at most ``k`` colours to an image.

    Parameters
    ----------
    image : path, bytes, file object, or uint8 array (H×W, H×W×3, H×W×4)
        The image; fully transparent pixels take no part.
    k : int
        Number of colours, 1 to 256 (locked colours included).
    space : {'lab', 'oklab', 'rgb'}
        Colour space the clusters are formed in.
    seed : int
        Seed for k-means++; the same seed gives the same palette.
    lock : None, str, Palette or N×3 array
        Colours that must be in the palette unchanged ('#ff0000,#00ff00').
    histogram : ColorHistogram, optional
        The image's histogram, when the caller has it already.
    on_step : callable, optional
        Called as ``on_step(centres, inertia)`` with the centres (in ``space``)
        and their weighted mean squared distance at the seeds and at every
        iteration of the main Lloyd loop (see :mod:`kmq_core.progression`).

    Returns
    -------
    Palette
        At most ``k`` colours (exactly the image's colours when it has k or
        fewer), ordered by share of pixels, most used first, locked colours
        kept even when unused. Weights are the pixel shares.
    """
    k = check_k(k)
    space = check_space(space)
    locked = as_lock(lock)
    check_lock_fits(len(locked), k)
    hist = histogram if histogram is not None else color_histogram(load_image(image).pixels)
    if len(hist) == 0:
        raise KmqError("the image is fully transparent: there are no colours to fit")
    seed_int = int(seed) if seed is not None else 0
    rng = np.random.default_rng(seed_int & 0xFFFFFFFF)

    colors = hist.colors
    n_free = k - len(locked)
    if len(locked):
        # image colours identical to a locked colour are served by it already
        rest_codes = hist.codes[~np.isin(hist.codes, pack_rgb(locked))]
    else:
        rest_codes = hist.codes
    if len(rest_codes) <= n_free:
        # k or more colours available: the palette is exactly the image's colours
        pal = np.vstack([locked, colors[np.isin(hist.codes, rest_codes)]]) if len(locked) else colors
        return _finish(pal, hist, space, len(locked))

    fixed = rgb_to_space(locked, space).astype(np.float64) if len(locked) else np.zeros((0, 3))
    if space == "rgb":
        pal = _fit_rgb(hist, k, fixed, len(locked), rng, on_step)
    else:
        pal = _fit_perceptual(hist, k, space, fixed, len(locked), rng, on_step)
    if _all_grey(colors):
        # a grey image keeps a grey palette (the colour spaces' round trips
        # would otherwise leave one-level tints)
        pal[:] = np.rint(pal.mean(1, keepdims=True)).astype(np.uint8)
    if len(locked):
        pal[: len(locked)] = locked
    return _finish(pal, hist, space, len(locked))


@functools.wraps(_fit_palette)
def fit_palette(*args, **kwargs) -> Palette:
    # The loop's matrix products are tiny (n×3 by 3×k): BLAS threads cost more
    # in start-up and spinning than they save, so the fit runs them on one.
    with threadpool_limits(1, user_api="blas"):
        return _fit_palette(*args, **kwargs)


def _finish(pal: np.ndarray, hist: ColorHistogram, space: str, n_locked: int) -> Palette:
    """Drop duplicate and unused colours, weigh by exact share, order by share."""
    pal = dedupe_colors(np.asarray(pal, np.uint8).reshape(-1, 3))
    idx = assign_histogram(hist, pal, space)
    share = np.bincount(idx, weights=hist.counts, minlength=len(pal)) / max(hist.total, 1)
    is_locked = np.zeros(len(pal), bool)
    is_locked[:n_locked] = True
    used = (share > 0) | is_locked
    order = order_by_share(share, used)
    new_index = np.full(len(pal), -1, np.intp)
    new_index[order] = np.arange(len(order))
    # remapping to the final palette needs this same assignment: hand it over
    remember_assignment(hist, pal[order], space, new_index[idx])
    return Palette(pal[order], share[order])
