"""The k-means fit one Lloyd iteration at a time, to show how a palette forms.

:func:`kmq_core.fitting.fit_palette` runs, in this order: the colour
histogram reduced to weighted cells; k-means++ seeding with a short
``cv2.kmeans`` run on a sample; weighted Lloyd iterations over all cells;
then accent rescue and a few mean-distance steps on finer cells.
:func:`lloyd_snapshots` calls the same functions of :mod:`kmq_core.fitting`
with the same random generator, but stops after every Lloyd iteration to
yield the centres, and ends with the palette ``fit_palette`` itself returns,
so the last snapshot is exactly the palette :func:`kmq_core.quantize` uses.
Nothing here is a separate imitation of k-means: the iterations are the
engine's own ``_weighted_lloyd``, run one step per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from . import fitting
from .colorspace import rgb_to_space, space_to_rgb, to_uint8
from .errors import KmqError
from .histogram import color_histogram, pack_rgb, reduce_histogram
from .loading import ImageSource, load_image
from .options import DEFAULT_MAX_PIXELS, DEFAULT_SEED, DEFAULT_SPACE, check_k, check_space


@dataclass(frozen=True)
class Snapshot:
    """The palette at one step of the fit.

    Attributes
    ----------
    step : int
        0 for the seeds, then 1, 2, ... per Lloyd iteration; the final
        snapshot continues the count.
    stage : {'seeds', 'lloyd', 'final'}
    colors : (n, 3) uint8 array
        The centres as 8-bit sRGB. ``'final'`` is ``fit_palette``'s palette
        (ordered by share, duplicates and unused colours dropped).
    inertia : float or None
        Weighted mean squared distance from the cells to their nearest centre
        in the fitting space (falls as k-means converges); None for the final
        palette, which is judged by the pipeline's own metrics instead.
    """

    step: int
    stage: str
    colors: np.ndarray
    inertia: float | None

    @property
    def label(self) -> str:
        return {"seeds": "seeds (k-means++)", "final": "final palette"}.get(self.stage, f"iteration {self.step}")


def lloyd_snapshots(
    image: ImageSource,
    k: int,
    *,
    space: str = DEFAULT_SPACE,
    seed: int = DEFAULT_SEED,
    lock=None,
    max_iter: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Iterator[Snapshot]:
    """Yield the palette after seeding, after each Lloyd iteration, and at the end.

    Parameters
    ----------
    image : path, bytes, binary file object, uint8 array or LoadedImage
    k, space, seed, lock, max_pixels
        As for :func:`kmq_core.pipeline.quantize`.
    max_iter : int, optional
        Stop the Lloyd snapshots after this many iterations (the fit's own
        limit by default); the final palette is yielded either way.

    Yields
    ------
    Snapshot
        ``seeds``, then one ``lloyd`` per iteration until the relative fall
        of the inertia drops under the fit's tolerance, then ``final``. An
        image with k colours or fewer needs no k-means and yields ``final``
        only.
    """
    k = check_k(k)
    space = check_space(space)
    locked = fitting.as_lock(lock)
    if len(locked) > k:
        raise KmqError(f"{len(locked)} locked colours do not fit in a palette of k={k}")
    hist = color_histogram(load_image(image, max_pixels=max_pixels).pixels)
    if len(hist) == 0:
        raise KmqError("the image is fully transparent: there are no colours to fit")
    final = fitting.fit_palette(None, k, space=space, seed=seed, lock=lock, histogram=hist)

    rest = hist.codes[~np.isin(hist.codes, pack_rgb(locked))] if len(locked) else hist.codes
    if len(rest) > k - len(locked):  # otherwise the palette is the image's colours: no k-means
        # the same set-up as fit_palette: generator, cells, seeding
        rng = np.random.default_rng((int(seed) if seed is not None else 0) & 0xFFFFFFFF)
        fixed = rgb_to_space(locked, space).astype(np.float64) if len(locked) else np.zeros((0, 3))
        if space == "rgb":
            bits, sample, limit, tol = fitting.RGB_BITS, fitting.RGB_SEED_SAMPLE, fitting.RGB_MAX_ITER, fitting.RGB_TOL
        else:
            bits = fitting._cell_bits(k, len(hist))[0]  # the coarse cells, where fit_palette's Lloyd runs
            sample, limit, tol = fitting.SEED_SAMPLE, fitting.MAX_ITER, fitting.TOL
        pts_rgb, w = reduce_histogram(hist, bits)
        x = rgb_to_space(pts_rgb, space).astype(np.float64)
        centres = fitting._seed_with_opencv(x, w, k, fixed, rng, sample)

        def snap(step: int, stage: str, c: np.ndarray) -> tuple[Snapshot, float]:
            _, d = fitting.nearest(x, c)
            inertia = float(w @ d) / float(w.sum())
            rgb = to_uint8(space_to_rgb(c, space))
            if len(locked):
                rgb[: len(locked)] = locked
            return Snapshot(step, stage, rgb, inertia), inertia

        shot, prev = snap(0, "seeds", centres)
        yield shot
        for step in range(1, (limit if max_iter is None else min(limit, max_iter)) + 1):
            centres = fitting._weighted_lloyd(x, w, centres, len(locked), max_iter=1)
            shot, inertia = snap(step, "lloyd", centres)
            yield shot
            if prev - inertia <= tol * prev:
                break
            prev = inertia
        last = step + 1
    else:
        last = 0
    yield Snapshot(last, "final", final.colors.copy(), None)


__all__ = ["Snapshot", "lloyd_snapshots"]
