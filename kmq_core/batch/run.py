"""The batch run: :func:`run_batch`, from the plan through the shared palette to the remapped files."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..errors import KmqError
from ..histogram import MultiImageHistogram
from ..loading import IMAGE_EXTENSIONS
from ..options import (DEFAULT_BAYER_SIZE, DEFAULT_DITHER, DEFAULT_K, DEFAULT_MAX_PIXELS, DEFAULT_SEED, DEFAULT_SPACE,
                       check_bayer_size, check_dither, check_k, check_space)
from ..palette import Palette
from .manifest import Manifest, _inputs_digest, options_key
from .plan import BatchFile, find_images
from .runners import DaskRunner, LocalRunner, default_jobs
from .summary import SUMMARY_FIELDS, SUMMARY_STEM, BatchSummary
from .worker import _votes_task, process_file

Progress = Callable[[str, int, int, "dict | None"], None]


def fit_shared_palette(tally: MultiImageHistogram, k: int, *, space: str, seed: int, lock=None) -> Palette:
    """Fit the one palette of a batch from the tally of all its images."""
    from ..fitting import fit_palette

    hist = tally.histogram()
    if len(hist) == 0:
        raise KmqError("no visible pixels in any image: there are no colours to fit a shared palette to")
    return fit_palette(None, k, space=space, seed=seed, lock=lock, histogram=hist)


def _write_palette_files(pal: Palette, files: Iterable[str], force: bool) -> None:
    """Write the shared palette once per requested file; an unrelated existing file needs ``force``."""
    from ..formats import format_for, palette_bytes, write_palette

    todo = []
    for f in files:
        data = palette_bytes(pal, format_for(f))
        p = Path(f)
        if p.is_dir():
            raise KmqError(f"{p} is a folder: give a file name for the palette")
        if p.exists():
            try:
                same = p.read_bytes() == data
            except OSError:
                same = False
            if same:
                continue
            if not force:
                raise KmqError(f"{p} exists with other colours: use --force to overwrite it")
        todo.append(p)
    for p in todo:
        if not p.parent.is_dir():
            p.parent.mkdir(parents=True, exist_ok=True)
        write_palette(pal, p, force=True)


def _named(pal: Palette, name: str) -> Palette:
    from ..palette_ops import name_colors

    return name_colors(pal).renamed(name)


def run_batch(
    in_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    k: int = DEFAULT_K,
    *,
    space: str = DEFAULT_SPACE,
    dither: str = DEFAULT_DITHER,
    seed: int = DEFAULT_SEED,
    lock=None,
    bayer_size: int = DEFAULT_BAYER_SIZE,
    shared_palette: bool = False,
    palette_files: Iterable[str | os.PathLike] = (),
    jobs: int | None = None,
    dask_scheduler: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    summary: Iterable[str | os.PathLike] | None = None,
) -> BatchSummary:
    """Quantize every image below ``in_dir`` into ``out_dir`` (see the module notes).

    Parameters
    ----------
    in_dir, out_dir : path
        Input tree and output tree (created if missing). ``a/b.jpg`` becomes
        ``out_dir/a/b.jpg.png``.
    k, space, dither, seed, lock, bayer_size, max_pixels
        As for :func:`kmq_core.pipeline.quantize`.
    shared_palette : bool
        Fit one palette to all images together and remap each to it.
    palette_files : paths
        Write the shared palette to these files (format by extension).
    jobs : int, optional
        Local worker processes (default: all cores; 1 runs in this process).
    dask_scheduler : str, optional
        ``tcp://host:port`` of a Dask scheduler: run the tasks there instead.
    force : bool
        Redo every file and replace outputs the manifest does not know.
    progress : callable, optional
        ``progress(stage, done, total, row)`` after each file, with stage
        ``'palette'`` (reading for the shared palette) or ``'quantize'``.
    summary : paths, optional
        Summary files (.json/.csv); default ``out_dir/kmq-summary.json`` and ``.csv``.

    Returns
    -------
    BatchSummary
        Failures are rows with ``status='failed'``; only problems with the
        batch as a whole (a missing folder, bad options) raise KmqError.
    """
    t_start = time.perf_counter()
    from ..fitting import as_lock
    from ..formats import format_for

    settings = {"k": check_k(k), "space": check_space(space), "dither": check_dither(dither),
                "seed": int(seed), "lock": lock, "max_pixels": max_pixels, "bayer_size": check_bayer_size(bayer_size)}
    locked = as_lock(lock)
    if len(locked) > settings["k"]:
        raise KmqError(f"{len(locked)} locked colours do not fit in k={settings['k']}")
    settings["lock"] = ",".join(Palette(locked).hex) or None  # plain text: pickles small, prints well
    palette_files = [str(p) for p in palette_files]
    if palette_files and not shared_palette:
        raise KmqError("--palette writes the shared palette: add --shared-palette")
    for p in palette_files:
        format_for(p)
    summary_files = [Path(p) for p in summary] if summary else None
    for p in summary_files or ():
        if p.suffix.lower() not in (".json", ".csv"):
            raise KmqError(f"the summary is written as .json or .csv, not {p.suffix or 'no extension'!r}: {p}")
    if jobs is not None and jobs < 1:
        raise KmqError(f"--jobs must be 1 or more, got {jobs}")

    files = find_images(in_dir, out_dir)
    src, dst = Path(os.path.abspath(in_dir)), Path(os.path.abspath(out_dir))
    if not files:
        raise KmqError(f"no images below {in_dir} ({' '.join(IMAGE_EXTENSIONS)})")
    if dst.exists() and not dst.is_dir():
        raise KmqError(f"{dst} exists and is not a folder")

    if dask_scheduler:
        runner = DaskRunner(dask_scheduler)
        try:
            runner.check(src, dst)
        except BaseException:
            runner.close()
            raise
    else:
        runner = LocalRunner(min(jobs or default_jobs(), len(files)))
    try:
        try:
            dst.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise KmqError(f"cannot create {dst}: {e.strerror or e}") from None
        manifest = Manifest(dst)
        try:
            rows, pal = _run(files, src, dst, settings, shared_palette, palette_files, force, progress, manifest,
                             runner.run)
            manifest.compact({f.rel_output for f in files})
        finally:
            manifest.close()
    finally:
        runner.close()

    result = BatchSummary(src, dst, rows, pal, time.perf_counter() - t_start, settings)
    targets = summary_files or [dst / f"{SUMMARY_STEM}.json", dst / f"{SUMMARY_STEM}.csv"]
    result.summary_files = [result.write(p) for p in targets]
    return result


def _failed_row(f: BatchFile, error: str, seconds: float | None = None) -> dict:
    return {"input": f.rel, "output": f.rel_output, "status": "failed", "error": error, "seconds": seconds}


def _run(files, src, dst, settings, shared, palette_files, force, progress, manifest, run):
    """The two passes; returns (rows sorted by input, shared palette or None)."""
    rows: dict[str, dict] = {}
    pal = None
    todo = files
    if shared:
        digest = _inputs_digest(files, settings)
        remembered = manifest.palette
        if not force and remembered and remembered.get("digest") == digest:
            pal = Palette(np.array(remembered["colors"], np.uint8).reshape(-1, 3), remembered["weights"])
            bad = remembered.get("failed") or {}
            for f in files:
                if f.rel in bad:  # failed when the palette was fitted, and unchanged since
                    rows[f.rel] = _failed_row(f, bad[f.rel])
                    if progress:
                        progress("palette", len(rows), len(bad), rows[f.rel])
        else:
            tally = MultiImageHistogram()
            done = 0
            by_path = {str(f.input): f for f in files}
            failed: dict[str, str] = {}
            for item, votes, error in run(_votes_task, [(str(f.input), settings["max_pixels"]) for f in files]):
                f = by_path[item[0]]
                if isinstance(votes, str):  # a KmqError from the worker, as text
                    error, votes = votes, None
                if error:
                    rows[f.rel] = _failed_row(f, error)
                    failed[f.rel] = error
                else:
                    tally.add_image(votes)
                done += 1
                if progress:
                    progress("palette", done, len(files), rows.get(f.rel))
            if tally.images == 0:
                return [rows[f.rel] for f in files], None
            pal = fit_shared_palette(tally, settings["k"], space=settings["space"], seed=settings["seed"],
                                     lock=settings["lock"])
            manifest.append({"kind": "palette", "digest": digest, "colors": pal.colors.tolist(),
                             "weights": pal.weights.tolist(), "failed": failed})
        pal = _named(pal, src.name or "kmq")
        _write_palette_files(pal, palette_files, force)
        todo = [f for f in files if f.rel not in rows]

    key = options_key(settings, pal)
    stale = []
    for f in todo:
        rec = None if force else manifest.up_to_date(f, key)
        if rec is not None:
            rows[f.rel] = {**rec["row"], "status": "skipped", "error": None}
        else:
            stale.append(f)
    palette_rgb = None if pal is None else pal.colors.tolist()

    def tasks():
        # decided as each task is handed out, so the claims are written just before the outputs
        for f in stale:
            owned = manifest.owns(f.rel_output)
            if not owned and (force or not f.output.exists()):
                manifest.claim(f.rel_output)  # from now on the batch may replace it
            yield {"input": str(f.input), "output": str(f.output), "rel": f.rel, "settings": settings,
                   "palette": palette_rgb, "replace": force or owned}

    done = len(files) - len(stale)
    by_rel = {f.rel: f for f in files}
    for task, row, error in run(process_file, tasks()):
        f = by_rel[task["rel"]]
        if error:
            row = _failed_row(f, error)
        if row["status"] == "done":
            manifest.append({"output": f.rel_output, "key": key, "in_stat": row.pop("in_stat"),
                             "out_stat": row.pop("out_stat"), "row": {k: row.get(k) for k in SUMMARY_FIELDS}})
        rows[f.rel] = {k: row.get(k) for k in SUMMARY_FIELDS}
        done += 1
        if progress:
            progress("quantize", done, len(files), rows[f.rel])
    return [rows[f.rel] for f in files], pal
