"""Several images quantized with ONE palette fitted to all of them together.

The frames of an animation held as separate images, e.g. GIMP's layers (GIMP's
convention for animations: each top-level layer, or each child of a layer group,
is a frame). Same idea as an animation's shared palette
(:func:`kmq_core.animation.fit_animation_palette`): each frame's histogram, with the
fitting weights a still image of it would have (:func:`kmq_core.animation.frame_histogram`),
is added up (:func:`kmq_core.animation.merge_histograms`), and one palette is fitted
to the sum, so every pixel of every frame counts once. Each frame is then remapped
to that palette as :func:`kmq_core.pipeline.quantize` remaps with a given palette,
and the palette is ordered by the colours' shares over all frames.

Frames may differ in size (layers need not cover the canvas). Alpha is kept per
frame and takes no palette entry (``count_alpha=False``, as for one GIMP layer);
fully transparent pixels take no part in the fit. A single frame gives the
palette :func:`~kmq_core.pipeline.quantize` fits to it alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .animation import frame_histogram, merge_histograms
from .errors import KmqError
from .histogram import ColorHistogram, fitting_weights
from .options import DEFAULT_BAYER_SIZE, DEFAULT_DITHER, DEFAULT_K, DEFAULT_SEED, DEFAULT_SPACE
from .palette import Palette, order_by_share
from .pipeline import QuantizeResult, label_counts, quantize


@dataclass
class SharedResult:
    """What :func:`quantize_frames` returns.

    Attributes
    ----------
    palette : Palette
        The one palette, most used (over all frames) first, with those shares as weights.
    frames : list of QuantizeResult
        Each frame's result with that palette (``frames[i].image``, ``frames[i].labels``).
    """

    palette: Palette
    frames: list[QuantizeResult]


def _merge_float(a: ColorHistogram | None, b: ColorHistogram) -> ColorHistogram:
    """:func:`~kmq_core.animation.merge_histograms` keeping fractional counts (an importance mask
    makes a pixel count part: rounding would undo it)."""
    if a is None:
        return b
    uniq, inv = np.unique(np.concatenate([a.codes, b.codes]), return_inverse=True)
    counts = np.bincount(inv, weights=np.concatenate([a.counts, b.counts]).astype(np.float64), minlength=len(uniq))
    weights = None
    if a.weights is not None and b.weights is not None:
        weights = np.bincount(inv, weights=np.concatenate([a.weights, b.weights]), minlength=len(uniq))
    return ColorHistogram(uniq.astype(np.uint32), counts, weights)


def _frame(pixels) -> np.ndarray:
    px = np.asarray(pixels)
    if px.dtype != np.uint8 or px.ndim != 3 or px.shape[2] not in (3, 4) or 0 in px.shape[:2]:
        raise KmqError(f"a frame must be H×W×3 or H×W×4 uint8, got {px.dtype} {px.shape}")
    return px


def quantize_frames(frames, k: int = DEFAULT_K, *, space: str = DEFAULT_SPACE, dither: str = DEFAULT_DITHER,
                    seed: int = DEFAULT_SEED, lock=None, bayer_size: int = DEFAULT_BAYER_SIZE,
                    mood: str | None = None, importance=None) -> SharedResult:
    """Quantize several frames with one palette of at most ``k`` colours fitted to all of them.

    Parameters
    ----------
    frames : sequence of H×W×3|4 uint8 arrays
        The frames (sizes may differ). Alpha is kept; alpha 0 takes no part in the fit.
    k, space, dither, seed, lock, bayer_size, mood
        As for :func:`kmq_core.pipeline.quantize`.
    importance : None or a sequence (one per frame) of None or H×W masks
        How much each pixel counts in the fit (:mod:`kmq_core.importance`).

    Returns
    -------
    SharedResult
    """
    from .fitting import fit_palette
    from .importance import check_importance, importance_histogram
    from .options import check_k, check_mood, check_space

    frames = [_frame(f) for f in frames]
    if not frames:
        raise KmqError("no frames to quantize")
    k, space, mood = check_k(k), check_space(space), check_mood(mood)
    imps = [None] * len(frames) if importance is None else list(importance)
    if len(imps) != len(frames):
        raise KmqError(f"{len(imps)} importance masks for {len(frames)} frames")
    hist = None
    for px, imp in zip(frames, imps):
        if imp is None:
            h = frame_histogram(px, k, space)
        else:
            visible = px[..., 3] > 0 if px.shape[2] == 4 else None
            h = importance_histogram(px, check_importance(imp, px.shape[:2], visible),
                                     fitting_weights(px, k, space))
        hist = merge_histograms(hist, h) if importance is None else _merge_float(hist, h)
    if hist is None or len(hist) == 0 or hist.counts.sum() <= 0:
        raise KmqError("every frame is fully transparent (or of no importance): there are no colours to fit")
    if mood is not None:
        from .moods import mood_palette

        pal = mood_palette(hist, k, mood, space=space, seed=seed, lock=lock)
    else:
        pal = fit_palette(None, k, space=space, seed=seed, lock=lock, histogram=hist)
    results = [quantize(px, palette=pal, space=space, dither=dither, seed=seed, bayer_size=bayer_size,
                        count_alpha=False, max_pixels=None) for px in frames]
    # the shares over all frames; the palette (and every frame's labels) ordered by them
    share = sum(label_counts(r.labels, r.alpha, len(pal)).astype(np.float64) for r in results)
    order = order_by_share(share)
    new_index = np.empty(len(order), np.uint8)
    new_index[order] = np.arange(len(order))
    palette = Palette(pal.colors[order], share[order] / max(share.sum(), 1))
    for r in results:
        r.labels = new_index[r.labels]
        r.palette = palette
    return SharedResult(palette, results)
