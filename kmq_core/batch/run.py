"""The batch run: :func:`run_batch` takes the checked plan (:mod:`.plan`) through the two passes.

Pass 1 (``--shared-palette`` only) reads every image's colour votes in the
workers and fits one palette to their sum; pass 2 remaps every file whose
output is not up to date, in the workers, recording each in the manifest as
it finishes. The runner (local processes or Dask) and the manifest stay open
for both passes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from ..errors import KmqError, OutputExistsError
from ..histogram import MultiImageHistogram
from ..options import DEFAULT_BAYER_SIZE, DEFAULT_DITHER, DEFAULT_K, DEFAULT_MAX_PIXELS, DEFAULT_SEED, DEFAULT_SPACE
from ..palette import Palette
from .manifest import Manifest, _inputs_digest, options_key
from .plan import BatchFile, BatchPlan, check_settings, plan_batch
from .runners import DaskRunner, LocalRunner, default_jobs
from .summary import SUMMARY_FIELDS, SUMMARY_STEM, BatchSummary
from .worker import _votes_task, process_file

#: ``progress(stage, done, total, row)``, called after each file (see :func:`run_batch`)
Progress = Callable[[str, int, int, "dict | None"], None]
#: a runner's ``run(fn, items)``, yielding ``(item, result, error)`` as tasks finish
Run = Callable[[Callable, Iterable], Iterator[tuple[object, object, "str | None"]]]


def fit_shared_palette(tally: MultiImageHistogram, k: int, *, space: str, seed: int, lock=None) -> Palette:
    """Fit the one palette of a batch from the tally of all its images."""
    from ..fitting import fit_palette

    hist = tally.histogram()
    if len(hist) == 0:
        # every image is fully transparent: each becomes a fully transparent PNG, as one alone does
        return Palette(np.zeros((1, 3), np.uint8), np.zeros(1))
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
                raise OutputExistsError(f"{p} exists with other colours: pass force=True to overwrite it", p)
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
    settings = check_settings(k, space=space, dither=dither, seed=seed, lock=lock, bayer_size=bayer_size,
                              max_pixels=max_pixels)
    plan = plan_batch(in_dir, out_dir, settings, shared_palette=shared_palette, palette_files=palette_files,
                      summary=summary, force=force, jobs=jobs)
    runner = _open_runner(plan, jobs=jobs, dask_scheduler=dask_scheduler)
    try:
        rows, pal = _run_recorded(plan, run=runner.run, progress=progress or _no_progress)
    finally:
        runner.close()
    result = BatchSummary(plan.src, plan.dst, rows, pal, time.perf_counter() - t_start, plan.settings)
    targets = plan.summary_files or [plan.dst / f"{SUMMARY_STEM}.json", plan.dst / f"{SUMMARY_STEM}.csv"]
    result.summary_files = [result.write(p) for p in targets]
    return result


def _no_progress(stage: str, done: int, total: int, row: dict | None) -> None:
    pass


def _open_runner(plan: BatchPlan, *, jobs: int | None, dask_scheduler: str | None) -> LocalRunner | DaskRunner:
    """The Dask cluster (checked first: can its workers see the folders?), or at most one local worker per file."""
    if not dask_scheduler:
        return LocalRunner(min(jobs or default_jobs(), len(plan.files)))
    runner = DaskRunner(dask_scheduler)
    try:
        runner.check(plan.src, plan.dst)
    except BaseException:
        runner.close()
        raise
    return runner


def _run_recorded(plan: BatchPlan, *, run: Run, progress: Progress) -> tuple[list[dict], Palette | None]:
    """:func:`_run_passes` with OUT_DIR created and its manifest open, compacted at the end."""
    try:
        plan.dst.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise KmqError(f"cannot create {plan.dst}: {e.strerror or e}") from None
    manifest = Manifest(plan.dst)
    try:
        rows, pal = _run_passes(plan, manifest=manifest, run=run, progress=progress)
        manifest.compact({f.rel_output for f in plan.files})
    finally:
        manifest.close()
    return rows, pal


def _failed_row(f: BatchFile, error: str, seconds: float | None = None) -> dict:
    return {"input": f.rel, "output": f.rel_output, "status": "failed", "error": error, "seconds": seconds}


def _run_passes(plan: BatchPlan, *, manifest: Manifest, run: Run,
                progress: Progress) -> tuple[list[dict], Palette | None]:
    """The two passes; returns (rows sorted by input, shared palette or None)."""
    rows: dict[str, dict] = {}
    pal = None
    todo = plan.files
    if plan.shared_palette:
        pal, rows = _shared_palette(plan, manifest=manifest, run=run, progress=progress)
        if pal is None:  # not one image could be read
            return [rows[f.rel] for f in plan.files], None
        pal = _named(pal, plan.src.name or "kmq")
        _write_palette_files(pal, plan.palette_files, plan.force)
        todo = [f for f in plan.files if f.rel not in rows]
    rows.update(_remap(plan, todo, pal, manifest=manifest, run=run, progress=progress))
    return [rows[f.rel] for f in plan.files], pal


def _shared_palette(plan: BatchPlan, *, manifest: Manifest, run: Run,
                    progress: Progress) -> tuple[Palette | None, dict[str, dict]]:
    """Pass 1: the batch's one palette (None if no image could be read) and a failed row per unreadable image.

    The manifest remembers the last palette with a digest of its inputs and fit
    options; while they are unchanged it is reused and no image is read again.
    """
    digest = _inputs_digest(plan.files, plan.settings)
    remembered = manifest.palette
    if not plan.force and remembered and remembered.get("digest") == digest:
        return _remembered_palette(plan, remembered, progress)
    return _fit_shared(plan, digest, manifest=manifest, run=run, progress=progress)


def _remembered_palette(plan: BatchPlan, remembered: dict, progress: Progress) -> tuple[Palette, dict[str, dict]]:
    pal = Palette(np.array(remembered["colors"], np.uint8).reshape(-1, 3), remembered["weights"])
    bad = remembered.get("failed") or {}
    rows: dict[str, dict] = {}
    for f in plan.files:
        if f.rel in bad:  # failed when the palette was fitted, and unchanged since
            rows[f.rel] = _failed_row(f, bad[f.rel])
            progress("palette", len(rows), len(bad), rows[f.rel])
    return pal, rows


def _fit_shared(plan: BatchPlan, digest: str, *, manifest: Manifest, run: Run,
                progress: Progress) -> tuple[Palette | None, dict[str, dict]]:
    """Every image's votes (read in the workers) added up, one fit to them, remembered in the manifest."""
    tally = MultiImageHistogram()
    rows: dict[str, dict] = {}
    failed: dict[str, str] = {}
    by_path = {str(f.input): f for f in plan.files}
    items = [(str(f.input), plan.settings["max_pixels"]) for f in plan.files]
    for done, (item, votes, error) in enumerate(run(_votes_task, items), 1):
        f = by_path[item[0]]
        if isinstance(votes, str):  # a KmqError from the worker, as text
            error, votes = votes, None
        if error:
            rows[f.rel] = _failed_row(f, error)
            failed[f.rel] = error
        else:
            tally.add_image(votes)
        progress("palette", done, len(plan.files), rows.get(f.rel))
    if tally.images == 0:
        return None, rows
    s = plan.settings
    pal = fit_shared_palette(tally, s["k"], space=s["space"], seed=s["seed"], lock=s["lock"])
    manifest.append({"kind": "palette", "digest": digest, "colors": pal.colors.tolist(),
                     "weights": pal.weights.tolist(), "failed": failed})
    return pal, rows


def _remap(plan: BatchPlan, todo: Iterable[BatchFile], pal: Palette | None, *, manifest: Manifest, run: Run,
           progress: Progress) -> dict[str, dict]:
    """Pass 2: a row per file of ``todo``: skipped if its output is up to date, else quantized in the workers."""
    key = options_key(plan.settings, pal)
    rows, stale = _up_to_date(todo, key, manifest=manifest, force=plan.force)
    done = len(plan.files) - len(stale)
    by_rel = {f.rel: f for f in plan.files}
    for task, row, error in run(process_file, _remap_tasks(plan, stale, pal, manifest)):
        f = by_rel[task["rel"]]
        if error:
            row = _failed_row(f, error)
        if row["status"] == "done":
            manifest.append({"output": f.rel_output, "key": key, "in_stat": row.pop("in_stat"),
                             "out_stat": row.pop("out_stat"), "row": {k: row.get(k) for k in SUMMARY_FIELDS}})
        rows[f.rel] = {k: row.get(k) for k in SUMMARY_FIELDS}
        done += 1
        progress("quantize", done, len(plan.files), rows[f.rel])
    return rows


def _up_to_date(todo: Iterable[BatchFile], key: str, *, manifest: Manifest,
                force: bool) -> tuple[dict[str, dict], list[BatchFile]]:
    """Rows (``'skipped'``) for the files whose outputs are current for ``key``, and the files to redo."""
    rows: dict[str, dict] = {}
    stale: list[BatchFile] = []
    for f in todo:
        rec = None if force else manifest.up_to_date(f, key)
        if rec is not None:
            rows[f.rel] = {**rec["row"], "status": "skipped", "error": None}
        else:
            stale.append(f)
    return rows, stale


def _remap_tasks(plan: BatchPlan, stale: list[BatchFile], pal: Palette | None, manifest: Manifest) -> Iterator[dict]:
    """The tasks of pass 2, made as each is handed out, so the claims are written just before the outputs."""
    palette_rgb = None if pal is None else pal.colors.tolist()
    for f in stale:
        owned = manifest.owns(f.rel_output)
        if not owned and (plan.force or not f.output.exists()):
            manifest.claim(f.rel_output)  # from now on the batch may replace it
        yield {"input": str(f.input), "output": str(f.output), "rel": f.rel, "settings": plan.settings,
               "palette": palette_rgb, "replace": plan.force or owned}
