"""Quantize a whole folder tree: in parallel, resumable, optionally with one palette, locally or on Dask.

    kmq batch photos/ out/ -k 32                       # every image, its own palette
    kmq batch frames/ out/ -k 64 --shared-palette --palette out/frames.gpl
    kmq batch /shared/in /shared/out -k 32 --dask-scheduler tcp://10.0.0.5:8786

The run, in the order it happens:

1. **Plan** (:mod:`.plan`, :func:`find_images`): walk IN_DIR for image files (by extension,
   hidden files and OUT_DIR skipped), sorted. ``a/b.jpg`` becomes
   ``OUT_DIR/a/b.jpg.png``: the input's extension stays in the name, so
   ``b.jpg`` and ``b.png`` side by side give ``b.jpg.png`` and ``b.png.png``
   and no two inputs can ever share an output (a name that only changes on a
   clash would change when a file is added).
2. **Shared palette** (``--shared-palette`` only): every image is reduced to
   colour *votes* (:func:`image_votes`, :class:`kmq_core.histogram.ImageVotes`):
   each image has the same number of votes, spread over its colours, so a
   24-megapixel photo does not drown a folder of thumbnails. Votes are whole
   numbers and are added up, so the sum
   (:class:`kmq_core.histogram.MultiImageHistogram`) is the same whatever the
   file order, the number of workers or the machine; the tally has a fixed size (2**18 cells of
   6 bits per channel, keeping their exact mean colour), so memory does not
   grow with the number of files. While all images together have few colours
   (pixel art, sprites) the exact colours are kept instead, so they survive
   unchanged. One :func:`kmq_core.fitting.fit_palette` on the tally, with the
   seed, gives the palette, like libimagequant's histogram of several images.
3. **Remap**: each image is quantized (:func:`.worker.process_file`, calling
   :func:`kmq_core.pipeline.quantize`, with ``palette=`` when shared) and
   written atomically. Workers get paths and options, never pixels, and at
   most two tasks per worker are in flight, so memory stays bounded whatever
   the number of files.
4. **Resume** (:mod:`.manifest`): ``OUT_DIR/.kmq-manifest.jsonl`` gets one line per finished
   file: the options' fingerprint, the input's size and mtime and the
   output's. A file is skipped when the line matches the file as it is now
   (same options, same input, output untouched); otherwise it is redone. An
   output file that the manifest does not know is not replaced without
   ``--force``.
5. **Summary** (:mod:`.summary`): one row per file (done, skipped or failed; colours, PSNR,
   ΔE2000, sizes, seconds, error) in ``OUT_DIR/kmq-summary.json`` and ``.csv``.

Parallel work runs (:mod:`.runners`) in local processes (:mod:`concurrent.futures`) or, with
``dask_scheduler``, as Dask tasks; the worker functions are plain
module-level functions, so Dask workers need kmq installed and IN_DIR and
OUT_DIR at the same paths (shared storage). Dask is imported only then.

The modules, in that order: :mod:`.plan`, :mod:`.worker` (what the worker
processes run), :mod:`.runners`, :mod:`.manifest`, :mod:`.summary`,
:mod:`.run` (:func:`run_batch`, the orchestration) and :mod:`.command`
(``kmq batch``: its arguments and progress bar).
"""

from __future__ import annotations

from .command import add_arguments, run_from_args
from .manifest import MANIFEST_NAME, OUTPUT_VERSION, Manifest, options_key
from .plan import BatchFile, find_images, output_name
from .run import Progress, fit_shared_palette, run_batch
from .runners import TASKS_PER_WORKER, DaskRunner, LocalRunner, run_local
from .summary import SUMMARY_FIELDS, SUMMARY_STEM, BatchSummary
from .worker import image_votes, process_file

__all__ = [
    "BatchFile", "BatchSummary", "DaskRunner", "LocalRunner", "Manifest", "Progress",
    "add_arguments", "find_images", "fit_shared_palette", "image_votes", "options_key", "output_name",
    "process_file", "run_batch", "run_from_args", "run_local",
    "MANIFEST_NAME", "OUTPUT_VERSION", "SUMMARY_FIELDS", "SUMMARY_STEM", "TASKS_PER_WORKER",
]
