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
    target, lo, hi = _search_range(max_delta_e, k_min, k_max, lock)
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
    k = _bisect(lo, hi, lambda k: at(k).delta_e <= target)
    return k, at(k)


def _search_range(max_delta_e, k_min, k_max, lock) -> tuple[float, int, int]:
    """The target ΔE and the range of k a search may try, checked: ``k_min`` is raised to the
    number of locked colours."""
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
    return target, max(lo, n_locked), hi


def _bisect(lo: int, hi: int, meets: Callable[[int], bool]) -> int:
    """Where ``meets`` turns true between ``lo`` and ``hi``: ``hi`` when even it does not meet
    the target, ``lo`` when it already does; else a k that meets it while ``k - 1`` does not.
    Tries ``hi`` first, then ``lo``, then halves the interval (``meets(lo)`` false, ``meets(hi)``
    true) until ``hi = lo + 1``."""
    if not meets(hi):
        return hi  # the target is out of reach in this range
    if meets(lo):
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    return hi


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


def smallest_k_for_delta_e_animation(
    source,
    max_delta_e: float,
    *,
    k_min: int = DEFAULT_K_MIN,
    k_max: int = K_MAX,
    on_step: Callable[[int, object], None] | None = None,
    **options,
):
    """The smallest k whose *worst* frame has a mean ΔE2000 of at most ``max_delta_e``.

    A clip is judged by its worst frame: a colour that only a late frame shows (a title, a
    flash) must reach the target as well as the rest. The search is :func:`smallest_k_for_delta_e`'s.

    Parameters
    ----------
    source : path, bytes or binary file object
        A GIF, APNG or WebP.
    max_delta_e : float
        Target mean CIEDE2000 of the worst frame, >= 0.
    k_min, k_max : int
        The range of k searched.
    on_step : callable, optional
        ``on_step(k, result)`` after each quantization tried.
    **options
        As for :func:`kmq_core.animation.quantize_animation` (``space``, ``dither``, ``seed``, ``lock``,
        ``frame_palette``, ``max_pixels``, ``max_frames``, ``lossy``, ``strength``, ``bayer_size``, ...).

    Returns
    -------
    k : int
    result : AnimationResult
        The quantization at that k; ``result.frame_delta_e`` holds each frame's mean ΔE2000.
    """
    from .animation import frame_delta_e, quantize_animation

    target, lo, hi = _search_range(max_delta_e, k_min, k_max, options.get("lock"))
    if hasattr(source, "read"):  # read once: every k reads the frames again
        source = source.read()
    target = max(target, 1e-9)
    tried: dict = {}

    def worst(k: int) -> float:
        if k not in tried:
            res = quantize_animation(source, k, **options)
            read_kw = {key: options[key] for key in ("max_pixels", "max_frames", "profile") if key in options}
            res.frame_delta_e = frame_delta_e(source, res, **read_kw)
            tried[k] = res
            if on_step is not None:
                on_step(k, res)
        return max(tried[k].frame_delta_e)

    k = _bisect(lo, hi, lambda k: worst(k) <= target)
    return k, tried[k]


def smallest_k_for_quality_animation(source, quality, *, k_min: int = DEFAULT_K_MIN, k_max: int = K_MAX,
                                     **options):
    """``--quality MIN-MAX`` for an animation: the fewest colours whose *worst* frame reaches MAX.

    As :func:`smallest_k_for_delta_e_animation` at MAX's ΔE (same ``source``, ``k_min``,
    ``k_max`` and ``**options``, ``on_step`` included); returns ``(k, AnimationResult)``.

    Raises
    ------
    QualityTooLowError
        When the worst frame at ``k_max`` stays below MIN (``.result``, ``.quality``).
    """
    q_min, q_max = check_quality(quality)
    k, res = smallest_k_for_delta_e_animation(source, delta_e_for_quality(q_max), k_min=k_min, k_max=k_max,
                                              **options)
    worst = max(res.frame_delta_e)
    reached = quality_for_delta_e(worst)
    if reached < q_min:
        i = int(max(range(res.n_frames), key=lambda j: res.frame_delta_e[j]))
        raise QualityTooLowError(
            f"quality {reached:.0f} (frame {i + 1}: mean ΔE2000 {worst:.2f}) at k={k} is below the minimum "
            f"{q_min} (mean ΔE2000 {delta_e_for_quality(q_min):.2f})", result=res, quality=reached)
    return k, res


__all__ = ["smallest_k_for_delta_e", "smallest_k_for_quality", "smallest_k_for_delta_e_animation",
           "smallest_k_for_quality_animation",
           "delta_e_for_quality", "quality_for_delta_e", "max_steps", "DEFAULT_K_MIN", "QUALITY_PER_DELTA_E"]
