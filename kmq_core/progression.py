"""The k-means fit one Lloyd iteration at a time, to show how a palette forms.

:func:`kmq_core.fitting.fit_palette` runs, in this order: the colour
histogram reduced to weighted cells; k-means++ seeding with a short
``cv2.kmeans`` run on a sample; weighted Lloyd iterations over all cells;
then accent rescue and a few mean-distance steps on finer cells.
:func:`lloyd_snapshots` runs that fit once and yields the centres it had
at the seeds and after each Lloyd iteration, then the palette ``fit_palette``
returns, so the last snapshot is exactly the palette :func:`kmq_core.quantize` uses.
Nothing here is a separate imitation of k-means: ``fit_palette`` itself
reports its centres at every step through its ``on_step`` hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from . import fitting
from .colorspace import space_to_rgb, to_uint8
from .errors import KmqError
from .histogram import fitting_histogram
from .loading import ImageSource, load_image
from .options import DEFAULT_MAX_PIXELS, DEFAULT_SEED, DEFAULT_SPACE, check_k, check_space, check_lock_fits
from .palette import as_lock


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
    locked = as_lock(lock)
    check_lock_fits(len(locked), k)
    hist = fitting_histogram(load_image(image, max_pixels=max_pixels).pixels, k, space)
    if len(hist) == 0:
        raise KmqError("the image is fully transparent: there are no colours to fit")
    steps: list[tuple[np.ndarray, float]] = []
    final = fitting.fit_palette(None, k, space=space, seed=seed, lock=lock, histogram=hist,
                                on_step=lambda c, inertia: steps.append((c.copy(), inertia)))
    if max_iter is not None:
        steps = steps[: max_iter + 1]
    for step, (centres, inertia) in enumerate(steps):
        rgb = to_uint8(space_to_rgb(centres, space))
        if len(locked):
            rgb[: len(locked)] = locked
        yield Snapshot(step, "seeds" if step == 0 else "lloyd", rgb, inertia)
    yield Snapshot(len(steps), "final", final.colors.copy(), None)


__all__ = ["Snapshot", "lloyd_snapshots"]
