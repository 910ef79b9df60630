"""``kmq batch``: its arguments, its progress bar and its closing line; the work is :func:`run_batch`."""

from __future__ import annotations

import os
import sys

from ..errors import KmqError
from ..progress_bar import ProgressBar
from .manifest import MANIFEST_NAME
from .run import run_batch
from .summary import SUMMARY_STEM


def add_arguments(parser, add_fit_options, add_dither_options) -> None:
    """The ``kmq batch`` arguments (the colour and dithering options come from the CLI's shared
    ``add_fit_options`` and ``add_dither_options``)."""
    parser.epilog = (
        "Rerunning the same command resumes: files whose output is up to date are skipped "
        f"(records in OUT_DIR/{MANIFEST_NAME}). Each failed file is reported as 'kmq: error: PATH: message' and "
        "the batch goes on; the exit status is 1 if any file failed. Example: "
        "kmq batch frames/ out/ -k 64 --shared-palette --palette out/frames.gpl")
    parser.add_argument("in_dir", metavar="IN_DIR", help="folder of images (searched recursively)")
    parser.add_argument("out_dir", metavar="OUT_DIR",
                        help="output folder: IN_DIR/a/b.jpg becomes OUT_DIR/a/b.jpg.png")
    add_fit_options(parser)
    add_dither_options(parser)
    parser.add_argument("--shared-palette", action="store_true",
                        help="fit one palette to all images together and use it for every image "
                             "(animation frames, sprite sheets)")
    parser.add_argument("--palette", action="append", default=[], metavar="FILE",
                        help="write the shared palette to FILE; the extension picks the format "
                             "(.gpl .ase .aco .act .json .css .hex .png); repeatable")
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                        help="worker processes on this machine (default: all cores; ignored with --dask-scheduler)")
    parser.add_argument("--dask-scheduler", metavar="ADDR",
                        help="run on a Dask cluster, e.g. tcp://host:8786 (needs kmq[dask]; workers need kmq "
                             "and the folders at the same paths)")
    parser.add_argument("-f", "--force", action="store_true",
                        help="redo every file, even those already up to date, and replace existing outputs")
    parser.add_argument("--summary", action="append", default=None, metavar="PATH",
                        help=f"summary file, .json or .csv; repeatable (default OUT_DIR/{SUMMARY_STEM}.json and .csv)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no closing line")


class _Report:
    """:func:`run_batch`'s ``progress`` for the command: each failed file on a line of its own, then the bar."""

    def __init__(self, bar: ProgressBar, in_dir: str):
        self.bar = bar
        self.in_dir = in_dir

    def __call__(self, stage: str, done: int, total: int, row: dict | None) -> None:
        if row and row.get("status") == "failed":
            self.bar.clear()
            sys.stderr.write(f"kmq: error: {os.path.join(self.in_dir, row['input'])}: {row['error']}\n")
        for warning in (row or {}).get("warnings") or ():  # a damaged APNG read as its default image
            self.bar.clear()
            sys.stderr.write(f"kmq: warning: {os.path.join(self.in_dir, row['input'])}: {warning}\n")
        self.bar.update(done, total, label="reading colours" if stage == "palette" else "quantizing")


def run_from_args(args) -> int:
    """``kmq batch``: run :func:`run_batch` with the parsed arguments; exit status 1 if any file failed."""
    # the checks whose core messages name parameters: here in the command line's words
    if args.palette and not args.shared_palette:
        raise KmqError("--palette writes the shared palette: add --shared-palette")
    if args.jobs is not None and args.jobs < 1:
        raise KmqError(f"--jobs must be 1 or more, got {args.jobs}")
    if args.dask_scheduler:
        try:
            import dask.distributed  # noqa: F401 (the runner imports it again, from the cache)
        except ImportError:
            raise KmqError("--dask-scheduler needs Dask: pip install 'kmq[dask]'") from None
    bar = ProgressBar(not args.quiet and sys.stderr.isatty())
    try:
        result = run_batch(
            args.in_dir, args.out_dir, args.k, space=args.space, dither=args.dither, seed=args.seed,
            lock=args.lock, bayer_size=args.bayer_size, shared_palette=args.shared_palette, palette_files=args.palette,
            jobs=args.jobs, dask_scheduler=args.dask_scheduler, force=args.force, progress=_Report(bar, args.in_dir),
            max_pixels=args.max_pixels, summary=args.summary)
    finally:
        bar.clear()
    # each failure was reported as it happened, one line: kmq: error: IN_DIR/path: message
    if not args.quiet:
        rate = result.done / result.seconds if result.seconds > 0 else 0.0
        print(f"{result.done} done, {result.skipped} up to date, {result.failed} failed in {result.seconds:.1f} s "
              f"({rate:.2f} images/s); summary: {', '.join(str(p) for p in result.summary_files)}", flush=True)
    if result.failed:
        sys.stderr.write(f"kmq: error: {result.failed} of {len(result.rows)} images failed\n")
        return 1
    return 0
