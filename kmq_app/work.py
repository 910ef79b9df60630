"""What the app's jobs do (see :mod:`kmq_app.jobs`): calls into kmq_core, stage by stage.

Each function returns the work for one job; the stages it names are what
the progress bar and the time line show. Every colour decision is made by
kmq_core (quantize, the ΔE search, the k sweep, the Lloyd snapshots); this
module only sequences the calls and makes the previews.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from typing import Callable

import numpy as np

from kmq_core import Palette, QuantizeResult, load_image, quantize, remap
from kmq_core.animation import fit_animation_palette, probe, quantize_animation
from kmq_core import options as opt
from kmq_core.auto_k import (max_steps, quality_for_delta_e, smallest_k_for_delta_e,
                             smallest_k_for_delta_e_animation, smallest_k_for_quality,
                             smallest_k_for_quality_animation)
from kmq_core.errors import KmqError, QualityTooLowError
from kmq_core.importance import region_mask
from kmq_core.loading import LoadedImage
from kmq_core.progression import lloyd_snapshots
from kmq_core.sweep import SweepPoint, k_sweep

from . import views
from .jobs import Job

#: stages of one quantization, and the share of the bar each takes (12 MP: fit ~50 %, the rest ~10 % each)
STAGES = {"read": ("Reading the image", 0.0), "fit": ("Fitting the palette", 0.1), "figures":
          ("Measuring the quality", 0.6), "png": ("Encoding the PNG", 0.72), "previews": ("Making the previews", 0.86)}
#: short names for the time line
STAGE_NAMES = {"Reading the image": "read", "Fitting the palette": "fit", "Measuring the quality": "figures",
               "Encoding the PNG": "PNG", "Making the previews": "previews"}


@dataclass(frozen=True)
class Options:
    """What a result depends on besides the image (the names are the CLI's).

    One of ``k``, ``target_de`` and ``quality`` (``(MIN, MAX)`` as
    ``kmq quantize --quality``) chooses the number of colours.
    """

    k: int | None
    target_de: float | None
    space: str
    dither: str
    seed: int
    lock: str  # canonical '#rrggbb,#rrggbb' or ''
    max_pixels: int
    quality: tuple[int, int] | None = None
    profile: str = opt.DEFAULT_PROFILE
    #: only dither='bayer' uses it (the app keeps the default otherwise, so a result is not redone)
    bayer_size: int = opt.DEFAULT_BAYER_SIZE
    #: a mood (kmq_core.moods), or None for the colours that reproduce the image best
    mood: str | None = None
    #: the emphasis region (x0, y0, x1, y1) in image pixels: the fit counts it fully, the rest
    #: kmq_core.importance.REGION_OUTSIDE (the CLI's --importance with that mask)
    emphasis: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Computed:
    """A quantization and everything the page shows of it, computed once."""

    result: QuantizeResult
    previews: views.Previews
    colors_used: int
    psnr: float
    delta_e: float
    png: bytes
    times: tuple[tuple[str, float], ...]
    #: with a quality target: the quality reached (0-100), and whether it fell below MIN
    quality: float | None = None
    below_min: bool = False
    #: frames of the upload (above 1: an animation, whose shared palette this result shows on its first frame)
    frames: int = 1

    @property
    def fitted(self) -> Palette:
        """The palette a designer takes: the fitted one, which the PNG uses too
        (dithering never moves the colours)."""
        return self.result.palette

    @property
    def nbytes(self) -> int:
        r = self.result
        return (r.source.pixels.nbytes + r.labels.nbytes + len(self.png) + len(self.previews.before)
                + len(self.previews.after) + (r.histogram.codes.nbytes * 2 if r.histogram is not None else 0))


def as_file(data: bytes, name: str) -> io.BytesIO:
    """The uploaded bytes as an in-memory file carrying its name (for kmq's messages)."""
    f = io.BytesIO(data)
    f.name = name
    return f


def _stage(job: Job, key: str) -> None:
    text, fraction = STAGES[key]
    job.begin(text, fraction)


def quantize_work(data: bytes, name: str, o: Options) -> Callable[[Job], Computed]:
    """Load, quantize (fixed k, or the smallest k for a target ΔE or a quality MIN-MAX), measure, encode,
    preview. Below the quality MIN the best result is still shown (the page warns; the CLI would exit 99)."""

    def work(job: Job) -> Computed:
        _stage(job, "read")
        src = load_image(as_file(data, name), max_pixels=o.max_pixels, profile=o.profile)
        _stage(job, "fit")
        opts = dict(space=o.space, dither=o.dither, seed=o.seed, lock=o.lock or None, max_pixels=o.max_pixels,
                    bayer_size=o.bayer_size)
        if o.mood is not None:
            opts["mood"] = o.mood
        if o.emphasis is not None:
            opts["importance"] = region_mask(src.pixels.shape[:2], o.emphasis)
        below_min = False
        frames = _frame_count(data, name, o)
        if frames > 1 and (o.mood is not None or o.emphasis is not None):
            raise KmqError("moods and the emphasis region work on still images; this one is an animation")
        if frames > 1 and o.target_de is None and o.quality is None:
            # an animation: the palette of all its frames (`kmq quantize` writes the same), shown on frame 1
            pal = fit_animation_palette(as_file(data, name), o.k, space=o.space, seed=o.seed, lock=o.lock or None,
                                        max_pixels=o.max_pixels, profile=o.profile)
            result = _with_shares(quantize(src, palette=pal, **opts), pal.weights)
        elif frames > 1:
            # the smallest k whose worst frame reaches the target, as `kmq quantize --quality` on a clip
            result, below_min, worst = _animation_search(job, data, name, o, opts)
        elif o.target_de is None and o.quality is None:
            result = quantize(src, o.k, **opts)
        else:
            on_step = _search_progress(job, "Fitting the palette")
            if o.quality is not None:
                try:
                    _, result = smallest_k_for_quality(src, o.quality, **opts, on_step=on_step)
                except QualityTooLowError as e:
                    result, below_min = e.result, True
            else:
                _, result = smallest_k_for_delta_e(src, o.target_de, **opts, on_step=on_step)
        _stage(job, "figures")
        colors_used, psnr, delta_e = result.colors_used, result.psnr, result.delta_e
        if frames > 1 and (o.target_de is not None or o.quality is not None):
            delta_e = worst  # the clip's figure is its worst frame's, as the search judged it
        _stage(job, "png")
        png = result.png
        _stage(job, "previews")
        previews = views.make_previews(result.source.pixels, result.labels, result.palette.colors,
                                       icc=result.source.icc_profile)
        job.finish()
        times = tuple((STAGE_NAMES.get(stage.split(":")[0], stage), t) for stage, t in job.times)
        quality = None if o.quality is None else quality_for_delta_e(delta_e)
        return Computed(result, previews, colors_used, psnr, delta_e, png, times, quality, below_min, frames)

    return work


def _search_progress(job: Job, what: str) -> Callable:
    """An ``on_step`` for a search over k: the tries so far on the progress bar; Cancel stops it
    between two tries."""
    steps = max_steps(1, opt.K_MAX)
    tried: list[int] = []

    def on_step(k: int, _result) -> None:
        tried.append(k)
        job.check()
        job.stage = f"{what}: tried k = {', '.join(map(str, tried))} (at most {steps} tries)"
        job.fraction = 0.1 + 0.5 * min(1.0, len(tried) / steps)

    return on_step


def _with_shares(result: QuantizeResult, shares) -> QuantizeResult:
    """Frame 1's result with the palette's shares of all the frames (the swatches' percentages and
    "not in image" marks speak for the whole clip)."""
    pal = result.palette
    return dataclasses.replace(result, palette=Palette(pal.colors, np.asarray(shares, np.float64), pal.names,
                                                       pal.name))


def _animation_search(job: Job, data: bytes, name: str, o: Options, opts: dict):
    """The target ΔE or quality search on all frames (kmq_core.auto_k): the palette found, shown on
    frame 1 with every frame's shares; whether the quality stayed below MIN; the worst frame's ΔE."""
    on_step = _search_progress(job, "Fitting the palette to every frame")
    kw = dict(space=o.space, dither=o.dither, seed=o.seed, lock=o.lock or None, max_pixels=o.max_pixels,
              profile=o.profile, bayer_size=o.bayer_size, on_step=on_step)
    below_min = False
    if o.quality is not None:
        try:
            _, anim = smallest_k_for_quality_animation(data, o.quality, **kw)
        except QualityTooLowError as e:
            anim, below_min = e.result, True
    else:
        _, anim = smallest_k_for_delta_e_animation(data, o.target_de, **kw)
    counts = np.zeros(len(anim.palette), np.float64)
    for lab in anim.labels:
        c = np.bincount(lab.ravel(), minlength=max(len(counts), int(lab.max()) + 1))
        counts += c[:len(counts)]
    src = load_image(as_file(data, name), max_pixels=o.max_pixels, profile=o.profile)
    result = quantize(src, palette=anim.palette, **opts)
    return _with_shares(result, counts / max(counts.sum(), 1.0)), below_min, max(anim.frame_delta_e)


def _frame_count(data: bytes, name: str, o: Options) -> int:
    return probe(as_file(data, name), max_pixels=o.max_pixels).n_frames


def animation_work(data: bytes, name: str, o: Options, palette: Palette) -> Callable[[Job], bytes]:
    """Every frame of an animated upload in the page's palette, as an animated GIF (what `kmq quantize
    in.gif -o out.gif` writes with the same options)."""

    def work(job: Job) -> bytes:
        job.begin("Quantizing the frames", 0.0)
        res = quantize_animation(as_file(data, name), palette=palette, space=o.space, dither=o.dither,
                                 max_pixels=o.max_pixels, profile=o.profile, bayer_size=o.bayer_size)
        job.check()
        job.begin("Encoding the GIF", 0.8)
        gif = res.encode("GIF")
        job.finish()
        return gif

    return work


def sweep_work(data: bytes, name: str, o: Options, ks: tuple[int, ...]) -> Callable[[Job], list[SweepPoint]]:
    """The k curve (kmq_core.sweep), one k per progress step."""

    def work(job: Job) -> list[SweepPoint]:
        job.begin("Reading the image", 0.0)
        src = load_image(as_file(data, name), max_pixels=o.max_pixels, profile=o.profile)

        def on_step(i: int, k: int, point: SweepPoint | None) -> None:
            if point is None:
                job.begin(f"Quantizing at k = {k} ({i + 1} of {len(ks)})", i / len(ks))

        return k_sweep(src, ks, space=o.space, dither=o.dither, seed=o.seed, lock=o.lock or None,
                       max_pixels=o.max_pixels, on_step=on_step, bayer_size=o.bayer_size)

    return work


def steps_work(data: bytes, name: str, o: Options, k: int, max_iter: int
               ) -> Callable[[Job], tuple[list[str], list[float | None], bytes]]:
    """The fit's Lloyd iterations from kmq_core (labels, inertia per step) and their animation."""

    def work(job: Job) -> tuple[list[str], list[float | None], bytes]:
        job.begin("Reading the image", 0.0)
        src: LoadedImage = load_image(as_file(data, name), max_pixels=o.max_pixels, profile=o.profile)
        job.begin("Running the fit step by step", 0.2)
        small = views.shrink(src.pixels[..., :3], views.ANIM_MAX_SIDE)
        shots = list(lloyd_snapshots(src, k, space=o.space, seed=o.seed, lock=o.lock or None, max_iter=max_iter))
        job.begin("Drawing the frames", 0.7)
        labels = [remap(small, s.colors, space=o.space) for s in shots]
        gif = views.progression_gif(labels, [s.colors for s in shots])
        return [s.label for s in shots], [s.inertia for s in shots], gif

    return work
