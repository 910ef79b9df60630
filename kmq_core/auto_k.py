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

from .errors import KmqError, QualityTooLowError
from .loading import ImageSource, load_image
from .options import (DEFAULT_BAYER_SIZE, DEFAULT_DITHER, DEFAULT_LOSSY, DEFAULT_STRENGTH, DEFAULT_MAX_PIXELS,
                      DEFAULT_PROFILE, DEFAULT_SEED, DEFAULT_SPACE, K_MAX, QUALITY_MAX, check_k, check_lock_fits,
                      check_quality)
from .palette import as_lock
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
    lossy: float = DEFAULT_LOSSY,
    strength: float = DEFAULT_STRENGTH,
    seed: int = DEFAULT_SEED,
    lock=None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    profile: str = DEFAULT_PROFILE,
    count_alpha: bool = True,
    bayer_size: int = DEFAULT_BAYER_SIZE,
    mood: str | None = None,
    importance=None,
    on_step: Callable[[int, QuantizeResult], None] | None = None,
) -> tuple[int, QuantizeResult]:
    """The smallest k whose mean ΔE2000 is at most ``max_delta_e``, by bisection.

    Parameters
    ----------
    image : path, bytes, binary file object, uint8 array or LoadedImage
        The image; it is loaded (and checked against ``max_pixels``) once.
    max_delta_e : float
        Target mean CIEDE2000 colour difference per visible pixel, >= 0
        (0 asks for an exact result, which only images of at most
        ``k_max`` colours reach).
    k_min, k_max : int
        The range searched, within 1..256. ``k_min`` is raised to the number
        of locked colours when there are more of them.
    space, dither, lossy, strength, seed, lock, max_pixels, profile, count_alpha, bayer_size
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
    if not math.isfinite(target) or target < 0:
        raise KmqError(f"the target ΔE must be a number of 0 or more, got {max_delta_e!r}")
    lo, hi = check_k(k_min), check_k(k_max)
    if lo > hi:
        raise KmqError(f"k_min ({lo}) is larger than k_max ({hi})")
    n_locked = len(as_lock(lock))
    check_lock_fits(n_locked, hi)
    lo = max(lo, n_locked)
    src = load_image(image, max_pixels=max_pixels, profile=profile)
    tried: dict[int, QuantizeResult] = {}

    def at(k: int) -> QuantizeResult:
        if k not in tried:
            tried[k] = quantize(src, k, space=space, dither=dither, lossy=lossy, strength=strength, seed=seed,
                                lock=lock, max_pixels=max_pixels, count_alpha=count_alpha, bayer_size=bayer_size,
                                mood=mood, importance=importance)
            if on_step is not None:
                on_step(k, tried[k])
        return tried[k]

    # a mean ΔE below 1e-9 is an exact result (the figure is a float sum)
    target = max(target, 1e-9)
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


#: quality points per unit of mean ΔE2000 (quality = 100 - 10·ΔE)
QUALITY_PER_DELTA_E = 10.0


def delta_e_for_quality(quality: float) -> float:
    """The mean CIEDE2000 ΔE that a quality on kmq's 0-100 scale stands for.

    ``quality = 100 - 10·ΔE``: 100 is an exact result, 90 a mean ΔE of 1
    (the smallest difference a trained eye sees side by side), 77 the just
    noticeable difference of 2.3, 50 a mean ΔE of 5 (colours read as
    different) and 0 a ΔE of 10 or more. pngquant's scale is its own mapping
    of MSE; the numbers are not interchangeable (see the README).
    """
    return max(0.0, (QUALITY_MAX - float(quality)) / QUALITY_PER_DELTA_E)


def quality_for_delta_e(delta_e: float) -> float:
    """The inverse of :func:`delta_e_for_quality`, clipped to 0-100."""
    return float(min(QUALITY_MAX, max(0.0, QUALITY_MAX - QUALITY_PER_DELTA_E * float(delta_e))))


def smallest_k_for_quality(
    image: ImageSource,
    quality,
    *,
    k_min: int = DEFAULT_K_MIN,
    k_max: int = K_MAX,
    **options,
) -> tuple[int, QuantizeResult]:
    """pngquant's ``--quality MIN-MAX``: the fewest colours that reach MAX.

    Parameters
    ----------
    image : path, bytes, binary file object, PIL image, uint8 array or LoadedImage
    quality : str or (int, int)
        ``'MIN-MAX'`` on kmq's 0-100 scale (see :func:`delta_e_for_quality`
        and :func:`kmq_core.options.check_quality` for the accepted forms).
    k_min, k_max : int
        The range of k searched (``k_max`` is pngquant's colour count).
    **options
        ``space``, ``dither``, ``lossy``, ``strength``, ``seed``, ``lock``, ``max_pixels``, ``profile``,
        ``count_alpha``, ``bayer_size``, ``mood``, ``importance``, ``on_step``, as for :func:`smallest_k_for_delta_e`.

    Returns
    -------
    k : int
    result : QuantizeResult
        The smallest k whose quality reaches MAX; when even ``k_max`` does
        not, the ``k_max`` result, as long as it reaches MIN.

    Raises
    ------
    QualityTooLowError
        When even ``k_max`` colours stay below MIN. The exception carries the
        best result reached (``.result``) and its quality (``.quality``).
    """
    q_min, q_max = check_quality(quality)
    k, result = smallest_k_for_delta_e(image, delta_e_for_quality(q_max), k_min=k_min, k_max=k_max, **options)
    reached = quality_for_delta_e(result.delta_e)
    if reached < q_min:
        raise QualityTooLowError(
            f"quality {reached:.0f} (mean ΔE2000 {result.delta_e:.2f}) at k={k} is below the minimum {q_min} "
            f"(mean ΔE2000 {delta_e_for_quality(q_min):.2f})", result=result, quality=reached)
    return k, result


__all__ = ["smallest_k_for_delta_e", "smallest_k_for_quality", "delta_e_for_quality", "quality_for_delta_e",
           "max_steps", "DEFAULT_K_MIN", "QUALITY_PER_DELTA_E"]
