"""What the worker processes (local or Dask) run: one task per file, given paths and options, never pixels.

These are plain module-level functions: the runners send them to worker
processes and Dask workers by their qualified name, so they must stay
importable as ``kmq_core.batch.worker.NAME``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..errors import KmqError, OutputExistsError
from ..histogram import ImageVotes, color_histogram, votes_from_histogram
from ..options import DEFAULT_BAYER_SIZE, DEFAULT_MAX_PIXELS
from .manifest import file_stat
from .plan import output_name


def _is_animation(path: str, max_pixels: int | None) -> bool:
    """A GIF, APNG or WebP of several frames (other extensions are never opened twice)."""
    if Path(path).suffix.lower() not in (".gif", ".png", ".apng", ".webp"):
        return False
    from ..animation import probe

    return probe(path, max_pixels=max_pixels).n_frames > 1


def image_votes(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> ImageVotes:
    """Worker, pass 1: load an image and return its :class:`ImageVotes` (raises KmqError).

    An animation votes once, with all its frames together: as many votes as a still image.
    """
    if _is_animation(path, max_pixels):
        from ..animation import DamagedAnimationError, merge_histograms, read_frames

        hist = None
        try:
            for frame in read_frames(path, max_pixels=max_pixels):
                hist = merge_histograms(hist, color_histogram(frame.pixels))
        except DamagedAnimationError:  # its default image stands for it, as when it is quantized
            if hist is None:
                raise
        return votes_from_histogram(hist)
    from ..loading import load_image

    return votes_from_histogram(color_histogram(load_image(path, max_pixels=max_pixels).pixels))


def _round(x, digits):
    if x is None or x == float("inf"):
        return None
    return round(float(x), digits)


def process_file(task: dict) -> dict:
    """Worker, pass 2: quantize one file and write its indexed PNG; returns its summary row.

    ``task`` holds plain values only (paths as strings, the options, the
    shared palette as a list of RGB triples), so it pickles small. A file
    that cannot be done gives a row with ``status='failed'`` and the error;
    this function raises only for bugs.
    """
    from ..pipeline import quantize

    t0 = time.perf_counter()
    src, out = Path(task["input"]), Path(task["output"])
    row: dict = {"input": task["rel"], "output": output_name(task["rel"]), "status": "done", "error": None}
    s = task["settings"]
    try:
        try:
            in_stat = file_stat(src)
        except OSError as e:
            raise KmqError(f"cannot read {src}: {e.strerror or e}") from None
        palette = None if task.get("palette") is None else np.array(task["palette"], np.uint8).reshape(-1, 3)
        kw = dict(space=s["space"], dither=s["dither"], seed=s["seed"], lock=s["lock"], palette=palette,
                  max_pixels=s["max_pixels"], bayer_size=s.get("bayer_size", DEFAULT_BAYER_SIZE))
        if _is_animation(str(src), s["max_pixels"]):
            # every frame, one palette, written as an APNG (the output's name ends in .png)
            from ..animation import quantize_animation

            res = quantize_animation(src, s["k"], fmt="PNG", **kw)
            used = int(len(np.unique(np.concatenate([np.unique(lab) for lab in res.labels]))))
            figures = {"colors_used": used, "psnr": None, "delta_e2000": None, "input_bytes": res.input_bytes,
                       "frames": res.n_frames}
            if res.warnings:
                figures["warnings"] = list(res.warnings)
        else:
            res = quantize(src, s["k"], **kw)
            figures = {"colors_used": res.colors_used, "psnr": _round(res.psnr, 3),
                       "delta_e2000": _round(res.delta_e, 4), "input_bytes": res.input_bytes, "frames": 1}
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise KmqError(f"cannot create the folder {out.parent}: {e.strerror or e}") from None
        res.save(out, force=task["replace"], inputs=[src])
        row.update(figures)
        row.update({"png_bytes": out.stat().st_size, "in_stat": in_stat, "out_stat": file_stat(out)})
    except KmqError as e:  # the library says force=True; this command's user types --force
        row.update(status="failed", error=f"{e.path} already exists: use --force to overwrite it"
                   if isinstance(e, OutputExistsError) else str(e))
    except MemoryError:
        row.update(status="failed", error="not enough memory for this image")
    row["seconds"] = round(time.perf_counter() - t0, 4)
    return row


def _votes_task(item: tuple[str, int | None]):
    """Worker, pass 1, for the runners: votes, or the KmqError's message (not raised: it is not a bug)."""
    try:
        return image_votes(*item)
    except KmqError as e:
        return str(e)
    except MemoryError:
        return "not enough memory for this image"
