"""Choose k for a target quality: the fewest colours whose mean ΔE is small enough.

This is pngquant's ``--quality`` idea stated in the unit designers think in:
instead of "16 colours" a user asks for "no worse than a mean CIEDE2000 ΔE of
2.3" (a just noticeable difference, Sharma 2005; about 1 is the smallest
difference a trained eye sees side by side, above 5 colours look different)
and gets the smallest k that reaches it.

The search is a bisection over k. It relies on the mean ΔE falling as k grows.
That holds roughly but not strictly: k-means finds a local optimum, so
``ΔE(k + 1)`` can come out slightly above ``ΔE(k)`` for a given seed. The
bisection therefore guarantees a *crossing point*, not a global minimum: the k
it returns meets the target and ``k - 1`` does not (or k is ``k_min``). It
needs about ``log2(k_max - k_min) + 2`` quantizations (10 for 2..256) where a
scan would need up to 255, and every quantization it runs is a normal
:func:`kmq_core.pipeline.quantize` call, so the result returned is exactly
what ``quantize(image, k, ...)`` gives.
"""

from __future__ import annotations

import math
from typing import Callable

from .errors import KmqError
from .fitting import as_lock
from .loading import ImageSource, load_image
from .options import (DEFAULT_DITHER, DEFAULT_MAX_PIXELS, DEFAULT_SEED, DEFAULT_SPACE, K_MAX,
                      check_k)
from .pipeline import QuantizeResult, quantize

#: smallest k the search tries by default (one colour is rarely what anyone wants)
DEFAULT_K_MIN = 2


def max_steps(k_min: int, k_max: int) -> int:
    """Most quantizations :func:`smallest_k_for_delta_e` runs for this range."""
    return 2 + max(0, math.ceil(math.log2(max(k_max - k_min, 1))))


def smallest_k_for_delta_e(
    image: ImageSource,
    max_delta_e: float,
    *,
    k_min: int = DEFAULT_K_MIN,
    k_max: int = K_MAX,
    space: str = DEFAULT_SPACE,
    dither: str = DEFAULT_DITHER,
    seed: int = DEFAULT_SEED,
    lock=None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    on_step: Callable[[int, QuantizeResult], None] | None = None,
) -> tuple[int, QuantizeResult]:
    """The smallest k whose mean ΔE2000 is at most ``max_delta_e``, by bisection.

    Parameters
    ----------
    image : path, bytes, binary file object, uint8 array or LoadedImage
        The image; it is loaded (and checked against ``max_pixels``) once.
    max_delta_e : float
        Target mean CIEDE2000 colour difference per visible pixel, > 0.
    k_min, k_max : int
        The range searched, within 1..256. ``k_min`` is raised to the number
        of locked colours when there are more of them.
    space, dither, seed, lock, max_pixels
        As for :func:`kmq_core.pipeline.quantize`.
    on_step : callable, optional
        Called as ``on_step(k, result)`` after each quantization tried (for a
        progress bar); at most :func:`max_steps` calls.

    Returns
    -------
    k : int
        The k found. When even ``k_max`` misses the target, ``k_max``:
        compare ``result.delta_e`` with ``max_delta_e`` to tell.
    result : QuantizeResult
        The quantization at that k (the same as ``quantize(image, k, ...)``).

    Notes
    -----
    Invariant of the search: ``ΔE(lo) > max_delta_e >= ΔE(hi)``; the interval
    halves until ``hi = lo + 1``, and ``hi`` is returned. Since ΔE(k) is only
    roughly monotonic (see the module docstring), ``hi`` is a k where the
    target is crossed, which is the smallest such k whenever ΔE does fall
    steadily, as it does for photographs.
    """
    try:
        target = float(max_delta_e)
    except (TypeError, ValueError):
        raise KmqError(f"the target ΔE must be a number, got {max_delta_e!r}") from None
    if not math.isfinite(target) or target <= 0:
        raise KmqError(f"the target ΔE must be a positive number, got {max_delta_e!r}")
    lo, hi = check_k(k_min), check_k(k_max)
    if lo > hi:
        raise KmqError(f"k_min ({lo}) is larger than k_max ({hi})")
    n_locked = len(as_lock(lock))
    if n_locked > hi:
        raise KmqError(f"{n_locked} locked colours do not fit in a palette of k={hi}")
    lo = max(lo, n_locked)
    src = load_image(image, max_pixels=max_pixels)
    tried: dict[int, QuantizeResult] = {}

    def at(k: int) -> QuantizeResult:
        if k not in tried:
            tried[k] = quantize(src, k, space=space, dither=dither, seed=seed, lock=lock, max_pixels=max_pixels)
            if on_step is not None:
                on_step(k, tried[k])
        return tried[k]

    if at(hi).delta_e > target:
        return hi, at(hi)  # the target is out of reach in this range
    if at(lo).delta_e <= target:
        return lo, at(lo)
    while hi - lo > 1:  # ΔE(lo) > target >= ΔE(hi)
        mid = (lo + hi) // 2
        if at(mid).delta_e <= target:
            hi = mid
        else:
            lo = mid
    return hi, at(hi)


__all__ = ["smallest_k_for_delta_e", "max_steps", "DEFAULT_K_MIN"]
