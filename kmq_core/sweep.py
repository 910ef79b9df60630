"""Quality and size across k: the curve a user reads to choose k.

:func:`k_sweep` quantizes one image at several k with the same options and
reports, per k, the figures that trade off against each other: colour
difference (mean CIEDE2000 ΔE; about 1 is barely visible side by side, 2.3
just noticeable, above 5 clearly different), PSNR, and the indexed PNG's
bytes. Each point is an ordinary :func:`kmq_core.pipeline.quantize` call, so
the point at k is exactly what ``quantize(image, k)`` gives. The image is
decoded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from .errors import KmqError
from .loading import ImageSource, load_image
from .options import DEFAULT_BAYER_SIZE, DEFAULT_DITHER, DEFAULT_MAX_PIXELS, DEFAULT_SEED, DEFAULT_SPACE, check_k
from .palette import as_lock
from .pipeline import quantize

#: the k a curve shows by default: powers of two over the whole range
DEFAULT_KS = (2, 4, 8, 16, 32, 64, 128, 256)


@dataclass(frozen=True)
class SweepPoint:
    """The figures of one k (see :class:`kmq_core.pipeline.QuantizeResult`)."""

    k: int
    colors_used: int
    psnr: float
    delta_e: float
    png_bytes: int

    def to_dict(self) -> dict:
        return {"k": self.k, "colours used": self.colors_used, "PSNR (dB)": self.psnr,
                "mean ΔE": self.delta_e, "PNG size (kB)": self.png_bytes / 1e3}


def k_sweep(
    image: ImageSource,
    ks: Iterable[int] = DEFAULT_KS,
    *,
    space: str = DEFAULT_SPACE,
    dither: str = DEFAULT_DITHER,
    seed: int = DEFAULT_SEED,
    lock=None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    on_step: Callable[[int, int, SweepPoint | None], None] | None = None,
    bayer_size: int = DEFAULT_BAYER_SIZE,
) -> list[SweepPoint]:
    """Quantize ``image`` at each k of ``ks`` and return the figures, in the order given.

    Parameters
    ----------
    image : path, bytes, binary file object, uint8 array or LoadedImage
    ks : iterable of int
        The k to try (each 1..256; duplicates are tried once).
    space, dither, seed, lock, max_pixels, bayer_size
        As for :func:`kmq_core.pipeline.quantize`.
    on_step : callable, optional
        Called as ``on_step(i, k, point)`` before each k (``point`` None) and
        after it (``point`` its figures), ``i`` counting from 0: for a progress
        bar. An exception it raises stops the sweep and propagates (that is
        how a caller cancels).

    Returns
    -------
    list of SweepPoint
        One per k; a k smaller than the number of locked colours is left out.
    """
    todo = list(dict.fromkeys(check_k(k) for k in ks))
    if not todo:
        raise KmqError("no k to sweep")
    n_locked = len(as_lock(lock))
    src = load_image(image, max_pixels=max_pixels)
    points = []
    for i, k in enumerate(todo):
        if on_step is not None:
            on_step(i, k, None)
        if k < n_locked:
            continue
        r = quantize(src, k, space=space, dither=dither, seed=seed, lock=lock, max_pixels=max_pixels,
                     bayer_size=bayer_size)
        point = SweepPoint(k, r.colors_used, r.psnr, r.delta_e, r.png_bytes)
        points.append(point)
        if on_step is not None:
            on_step(i, k, point)
    return points


__all__ = ["SweepPoint", "k_sweep", "DEFAULT_KS"]
