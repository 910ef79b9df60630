"""The plan of a batch, checked before anything is written: which images, their outputs, the options.

``a/b.jpg`` becomes ``OUT_DIR/a/b.jpg.png``: the input's extension stays in the
name, so ``b.jpg`` and ``b.png`` side by side give ``b.jpg.png`` and ``b.png.png``
and no two inputs can ever share an output (a name that only changes on a clash
would change when a file is added).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import KmqError
from ..loading import IMAGE_EXTENSIONS
from ..options import QuantizeOptions


@dataclass(frozen=True)
class BatchFile:
    """One input and where its output goes.

    Attributes
    ----------
    input : Path
        The image, absolute.
    rel : str
        Its path below IN_DIR, with ``/`` separators (what the summary shows).
    output : Path
        ``OUT_DIR/rel.png``, absolute.
    """

    input: Path
    rel: str
    output: Path

    @property
    def rel_output(self) -> str:
        return output_name(self.rel)


def output_name(rel: str) -> str:
    """``'a/b.jpg'`` -> ``'a/b.jpg.png'``: the extension stays, so outputs never collide."""
    return rel + ".png"


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def find_images(in_dir: str | os.PathLike, out_dir: str | os.PathLike) -> list[BatchFile]:
    """The images below ``in_dir`` (recursively, by extension), sorted, with their outputs.

    Hidden files and folders (``.name``) are skipped, and so is ``out_dir``
    when it lies inside ``in_dir``, so outputs are never read back as inputs.
    """
    src = Path(in_dir)
    if not src.exists():
        raise KmqError(f"no such folder: {src}")
    if not src.is_dir():
        raise KmqError(f"{src} is not a folder")
    # paths handed to workers stay as the user wrote them (made absolute): a Dask worker
    # mounts shared storage by that name, which may be a symlink on this machine
    src_real, dst_real = src.resolve(), Path(out_dir).resolve()
    src, dst = Path(os.path.abspath(src)), Path(os.path.abspath(out_dir))
    if dst_real == src_real:
        raise KmqError("OUT_DIR is IN_DIR: give another output folder (outputs would be read back as inputs)")
    if _is_within(src_real, dst_real):
        raise KmqError(f"IN_DIR {src} is inside OUT_DIR {dst}: give an output folder outside the input tree")
    found: list[BatchFile] = []
    for root, dirs, files in os.walk(src, onerror=None, followlinks=False):
        here = Path(root)
        # prune in place: hidden folders and the output folder are not walked
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _is_within((here / d).resolve(), dst_real))
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            path = here / name
            if not path.is_file():
                continue
            rel = path.relative_to(src).as_posix()
            found.append(BatchFile(path, rel, dst / output_name(rel)))
    found.sort(key=lambda f: f.rel)
    return found


@dataclass(frozen=True)
class BatchPlan:
    """A checked batch: what to read, where to write, with which options (nothing written yet).

    Attributes
    ----------
    src, dst : Path
        IN_DIR and OUT_DIR, absolute as the user wrote them (not resolved: a
        Dask worker mounts shared storage by that name).
    files : tuple of BatchFile
        The inputs, sorted (:func:`find_images`).
    settings : dict
        The options every task gets, as plain values so that tasks pickle
        small (:func:`check_settings`).
    shared_palette : bool
        Fit one palette to all images together.
    palette_files : tuple of str
        Where to write the shared palette.
    summary_files : tuple of Path, or None
        The summary files asked for; None for the default two in ``dst``.
    force : bool
        Redo every file and replace outputs the manifest does not know.
    """

    src: Path
    dst: Path
    files: tuple[BatchFile, ...]
    settings: dict
    shared_palette: bool
    palette_files: tuple[str, ...]
    summary_files: tuple[Path, ...] | None
    force: bool


def check_settings(k: int, *, space: str, dither: str, seed: int, lock, bayer_size: int,
                   max_pixels: int | None) -> dict:
    """The options of :func:`kmq_core.pipeline.quantize` checked, as the dict every task gets."""
    o = QuantizeOptions(k=k, space=space, dither=dither, seed=seed, lock=lock, bayer_size=bayer_size)
    # the lock as plain text: pickles small, prints well; the pixel limit as given (it keys the
    # shared palette's inputs digest)
    return {"k": o.k, "space": o.space, "dither": o.dither, "seed": o.seed, "lock": o.lock,
            "max_pixels": max_pixels, "bayer_size": o.bayer_size}


def _check_output_files(palette_files: Iterable, summary: Iterable | None, *,
                        shared_palette: bool) -> tuple[tuple[str, ...], tuple[Path, ...] | None]:
    """The palette and summary files asked for, checked (format by extension)."""
    from ..formats import format_for

    palette_files = tuple(str(p) for p in palette_files)
    if palette_files and not shared_palette:
        raise KmqError("palette files hold the shared palette: ask for one too (shared_palette=True)")
    for p in palette_files:
        format_for(p)
    summary_files = tuple(Path(p) for p in summary) if summary else None
    for p in summary_files or ():
        if p.suffix.lower() not in (".json", ".csv"):
            raise KmqError(f"the summary is written as .json or .csv, not {p.suffix or 'no extension'!r}: {p}")
    return palette_files, summary_files


def plan_batch(in_dir: str | os.PathLike, out_dir: str | os.PathLike, settings: dict, *, shared_palette: bool,
               palette_files: Iterable, summary: Iterable | None, force: bool, jobs: int | None) -> BatchPlan:
    """Check the whole batch before anything is written; raises KmqError for the batch as a whole.

    ``jobs`` is only checked here (it is the runner's), with the other options,
    before the folders are looked at.
    """
    palette_files, summary_files = _check_output_files(palette_files, summary, shared_palette=shared_palette)
    if jobs is not None and jobs < 1:
        raise KmqError(f"jobs must be 1 or more, got {jobs}")
    files = find_images(in_dir, out_dir)
    src, dst = Path(os.path.abspath(in_dir)), Path(os.path.abspath(out_dir))
    if not files:
        raise KmqError(f"no images below {in_dir} ({' '.join(IMAGE_EXTENSIONS)})")
    if dst.exists() and not dst.is_dir():
        raise KmqError(f"{dst} exists and is not a folder")
    return BatchPlan(src, dst, tuple(files), settings, shared_palette, palette_files, summary_files, force)
