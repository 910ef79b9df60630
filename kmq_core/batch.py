"""Quantize a whole folder tree: in parallel, resumable, optionally with one palette, locally or on Dask.

    kmq batch photos/ out/ -k 32                       # every image, its own palette
    kmq batch frames/ out/ -k 64 --shared-palette --palette out/frames.gpl
    kmq batch /shared/in /shared/out -k 32 --dask-scheduler tcp://10.0.0.5:8786

The run, in the order it happens:

1. **Plan** (:func:`find_images`): walk IN_DIR for image files (by extension,
   hidden files and OUT_DIR skipped), sorted. ``a/b.jpg`` becomes
   ``OUT_DIR/a/b.jpg.png``: the input's extension stays in the name, so
   ``b.jpg`` and ``b.png`` side by side give ``b.jpg.png`` and ``b.png.png``
   and no two inputs can ever share an output (a name that only changes on a
   clash would change when a file is added).
2. **Shared palette** (``--shared-palette`` only): every image is reduced to
   colour *votes* (:func:`image_votes`): each image has the same number of
   votes, spread over its colours, so a 24-megapixel photo does not drown a
   folder of thumbnails. Votes are whole numbers and are added up, so the sum
   (:class:`kmq_core.histogram.MultiImageHistogram`) is the same whatever the file order, the number of
   workers or the machine; the tally has a fixed size (2**18 cells of
   6 bits per channel, keeping their exact mean colour), so memory does not
   grow with the number of files. While all images together have few colours
   (pixel art, sprites) the exact colours are kept instead, so they survive
   unchanged. One :func:`kmq_core.fitting.fit_palette` on the tally, with the
   seed, gives the palette, like libimagequant's histogram of several images.
3. **Remap**: each image is quantized (:func:`process_file`, calling
   :func:`kmq_core.pipeline.quantize`, with ``palette=`` when shared) and
   written atomically. Workers get paths and options, never pixels, and at
   most two tasks per worker are in flight, so memory stays bounded whatever
   the number of files.
4. **Resume**: ``OUT_DIR/.kmq-manifest.jsonl`` gets one line per finished
   file: the options' fingerprint, the input's size and mtime and the
   output's. A file is skipped when the line matches the file as it is now
   (same options, same input, output untouched); otherwise it is redone. An
   output file that the manifest does not know is not replaced without
   ``--force``.
5. **Summary**: one row per file (done, skipped or failed; colours, PSNR,
   ΔE2000, sizes, seconds, error) in ``OUT_DIR/kmq-summary.json`` and ``.csv``.

Parallel work runs in local processes (:mod:`concurrent.futures`) or, with
``dask_scheduler``, as Dask tasks; the worker functions are plain
module-level functions, so Dask workers need kmq installed and IN_DIR and
OUT_DIR at the same paths (shared storage). Dask is imported only then.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .errors import KmqError, OutputExistsError
from .histogram import (CELL_BITS, EXACT_COLORS, VOTES_PER_IMAGE, ImageVotes, MultiImageHistogram,  # noqa: F401
                        color_histogram, votes_from_histogram)
from .loading import IMAGE_EXTENSIONS
from .options import (DEFAULT_BAYER_SIZE, DEFAULT_DITHER, DEFAULT_K, DEFAULT_MAX_PIXELS, DEFAULT_SEED, DEFAULT_SPACE,
                      check_bayer_size, check_dither, check_k, check_space)
from .palette import Palette

#: resume records, one JSON line per finished file (in OUT_DIR)
MANIFEST_NAME = ".kmq-manifest.jsonl"
#: default summary files (in OUT_DIR), ``.json`` and ``.csv``
SUMMARY_STEM = "kmq-summary"
SUMMARY_FIELDS = ("input", "output", "status", "colors_used", "psnr", "delta_e2000", "input_bytes", "png_bytes",
                  "seconds", "error")
#: tasks in flight per worker: enough to keep workers busy, few enough to bound memory
TASKS_PER_WORKER = 2
#: bump when outputs for the same options would differ (forces a redo on resume)
OUTPUT_VERSION = 1

Progress = Callable[[str, int, int, "dict | None"], None]


# --------------------------------------------------------------------------- plan


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


# --------------------------------------------------------------------------- shared palette


def image_votes(path: str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> ImageVotes:
    """Worker, pass 1: load an image and return its :class:`ImageVotes` (raises KmqError)."""
    from .loading import load_image

    return votes_from_histogram(color_histogram(load_image(path, max_pixels=max_pixels).pixels))


def fit_shared_palette(tally: MultiImageHistogram, k: int, *, space: str, seed: int, lock=None) -> Palette:
    """Fit the one palette of a batch from the tally of all its images."""
    from .fitting import fit_palette

    hist = tally.histogram()
    if len(hist) == 0:
        raise KmqError("no visible pixels in any image: there are no colours to fit a shared palette to")
    return fit_palette(None, k, space=space, seed=seed, lock=lock, histogram=hist)


# --------------------------------------------------------------------------- one file


def _stat(path: Path) -> list[int]:
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


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
    from .pipeline import quantize

    t0 = time.perf_counter()
    src, out = Path(task["input"]), Path(task["output"])
    row: dict = {"input": task["rel"], "output": output_name(task["rel"]), "status": "done", "error": None}
    s = task["settings"]
    try:
        try:
            in_stat = _stat(src)
        except OSError as e:
            raise KmqError(f"cannot read {src}: {e.strerror or e}") from None
        palette = None if task.get("palette") is None else np.array(task["palette"], np.uint8).reshape(-1, 3)
        res = quantize(src, s["k"], space=s["space"], dither=s["dither"], seed=s["seed"], lock=s["lock"],
                       palette=palette, max_pixels=s["max_pixels"],
                       bayer_size=s.get("bayer_size", DEFAULT_BAYER_SIZE))
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise KmqError(f"cannot create the folder {out.parent}: {e.strerror or e}") from None
        res.save(out, force=task["replace"], inputs=[src])
        row.update({
            "colors_used": res.colors_used,
            "psnr": _round(res.psnr, 3),
            "delta_e2000": _round(res.delta_e, 4),
            "input_bytes": res.input_bytes,
            "png_bytes": res.png_bytes,
            "in_stat": in_stat,
            "out_stat": _stat(out),
        })
    except KmqError as e:  # the library says force=True; this command's user types --force
        row.update(status="failed", error=f"{e.path} already exists: use --force to overwrite it"
                   if isinstance(e, OutputExistsError) else str(e))
    except MemoryError:
        row.update(status="failed", error="not enough memory for this image")
    row["seconds"] = round(time.perf_counter() - t0, 4)
    return row


def _probe_worker(in_dir: str, out_parent: str) -> str | None:
    """Dask: can a worker import kmq and see the shared folders? Returns a problem or None."""
    if not os.path.isdir(in_dir):
        return f"the Dask workers cannot see IN_DIR {in_dir}: it must be on storage shared with them, at the same path"
    if not os.path.isdir(out_parent):
        return (f"the Dask workers cannot see {out_parent}: OUT_DIR must be on storage shared with them, "
                "at the same path")
    return None


# --------------------------------------------------------------------------- running tasks


def _limit_threads() -> None:
    """Worker processes: one thread each for OpenCV and BLAS, as the tasks fill the cores."""
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # pragma: no cover - cv2 is a dependency
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:
        pass


def _local_worker_init() -> None:
    """Local worker processes: :func:`_limit_threads`, and Ctrl-C left to the parent.

    A terminal's Ctrl-C reaches the whole process group; the parent stops the batch
    (cancels what has not started, lets the running files finish, writes its one line),
    so a worker must not die mid-file or print a KeyboardInterrupt traceback of its own.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_threads()


#: end of an iterator (items may be anything, None included)
_END = object()


def _default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class LocalRunner:
    """Tasks in local worker processes, one pool kept for the whole batch (both passes).

    :meth:`run` calls ``fn(item)`` for each item and yields ``(item, result,
    None)`` or ``(item, None, error)`` as they finish; at most
    ``TASKS_PER_WORKER * jobs`` items are submitted at a time. If a worker
    process dies (a crash in a decoder, the OOM killer), the pool is
    restarted and the items that were in flight are retried one at a time,
    so only the file that kills a worker on its own is reported as failed.
    With ``jobs=1`` everything runs in this process.
    """

    def __init__(self, jobs: int):
        self.jobs = max(1, int(jobs))
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        # forkserver, not fork: the caller may have threads (a Dask client, a GUI) and
        # forking a process with threads can deadlock; the server imports kmq once
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["__main__", "kmq_core.batch", "kmq_core.pipeline"])
        return ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx, initializer=_local_worker_init)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, fn, items: Iterable) -> Iterator[tuple[object, object, str | None]]:
        it = iter(items)
        if self.jobs <= 1:
            for item in it:
                try:
                    yield item, fn(item), None
                except Exception as e:  # a bug in fn: reported per file, the batch goes on
                    yield item, None, f"internal error ({type(e).__name__}: {e})"
            return
        if self._pool is None:
            self._pool = self._new_pool()
        window = TASKS_PER_WORKER * self.jobs
        pending: dict = {}
        suspects: list = []  # in flight when a worker died: retried alone
        retried: set[int] = set()
        exhausted = False
        try:
            while True:
                if suspects:
                    if not pending:
                        item = suspects.pop(0)
                        retried.add(id(item))
                        pending[self._pool.submit(fn, item)] = item
                else:
                    while not exhausted and len(pending) < window:
                        item = next(it, _END)
                        if item is _END:
                            exhausted = True
                        else:
                            pending[self._pool.submit(fn, item)] = item
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                broken = False
                for fut in done:
                    item = pending.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        if id(item) in retried:
                            yield item, None, ("the worker process died while processing this file "
                                               "(crash or out of memory)")
                        else:
                            suspects.append(item)
                        continue
                    except Exception as e:
                        yield item, None, f"internal error ({type(e).__name__}: {e})"
                        continue
                    yield item, result, None
                if broken:
                    suspects.extend(pending.values())
                    pending.clear()
                    self._pool.shutdown(wait=True, cancel_futures=True)
                    self._pool = self._new_pool()
        finally:
            if pending:  # interrupted: do not wait for the files in flight
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


def run_local(fn, items: Iterable, jobs: int) -> Iterator[tuple[object, object, str | None]]:
    """:meth:`LocalRunner.run` with a pool of its own."""
    runner = LocalRunner(jobs)
    try:
        yield from runner.run(fn, items)
    finally:
        runner.close()


class DaskRunner:
    """Tasks on a Dask cluster through ``dask.distributed.Client``; Dask is imported here only."""

    def __init__(self, address: str, timeout: float = 20.0):
        try:
            from dask.distributed import Client
        except ImportError:
            raise KmqError("--dask-scheduler needs Dask: pip install 'kmq[dask]'") from None
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise KmqError(f"cannot connect to the Dask scheduler at {address}: {e}") from None

    def close(self) -> None:
        self.client.close()

    @property
    def workers(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def check(self, in_dir: Path, out_dir: Path) -> None:
        """Fail early, with one clear line, when the workers lack kmq or the shared folders."""
        parent = out_dir if out_dir.exists() else out_dir.parent
        try:
            problem = self.client.submit(_probe_worker, str(in_dir), str(parent), pure=False).result(timeout=120)
        except ImportError as e:
            raise KmqError(f"the Dask workers cannot import kmq ({e}): install kmq on them") from None
        except Exception as e:
            raise KmqError(f"the Dask workers cannot run kmq tasks ({type(e).__name__}: {e})") from None
        if problem:
            raise KmqError(problem)
        # parallelism comes from the tasks: one OpenCV/BLAS thread each, as in local workers
        try:
            self.client.run(_limit_threads)
        except Exception:
            pass

    def run(self, fn, items: Iterable) -> Iterator[tuple[object, object, str | None]]:
        """Like :func:`run_local`, with at most two tasks per worker thread in flight."""
        from dask.distributed import as_completed

        it = iter(items)
        window = TASKS_PER_WORKER * self.workers
        owner: dict = {}  # future -> item, for the futures in flight
        ac = as_completed(loop=self.client.loop)

        def submit(item) -> None:
            fut = self.client.submit(fn, item, pure=False)
            owner[fut] = item
            ac.add(fut)

        try:
            for item in it:
                submit(item)
                if len(owner) >= window:
                    break
            for fut in ac:
                item = owner.pop(fut)
                try:
                    result, error = fut.result(), None
                except Exception as e:  # KilledWorker (the file crashed workers), or a bug
                    result, error = None, f"the Dask task failed ({type(e).__name__}: {e})"
                fut.release()
                nxt = next(it, _END)
                if nxt is not _END:
                    submit(nxt)
                yield item, result, error
        finally:
            if owner:  # interrupted: take back what was handed out
                self.client.cancel(list(owner))


# --------------------------------------------------------------------------- resume records


class Manifest:
    """``OUT_DIR/.kmq-manifest.jsonl``: what was written, from what, with which options.

    One JSON line is appended as each file finishes, so an interrupted run
    keeps what it finished; a torn last line is ignored. Before the batch
    first writes an output path, a ``"claim"`` line says that it owns that
    path, so an output written just before an interruption (and not yet
    recorded) is replaced on resume, while a file the batch never claimed
    is not (without ``--force``). Lines of kind ``"palette"``
    remember the last shared palette and the inputs it came from, so a
    resumed run does not read every image again to refit it.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.path = out_dir / MANIFEST_NAME
        self.files: dict[str, dict] = {}
        self.claimed: set[str] = set()
        self.palette: dict | None = None
        self._fh = None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as e:
            raise KmqError(f"cannot read {self.path}: {e}; delete it to start over") from None
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # torn by an interruption
            if not isinstance(rec, dict):
                continue
            if rec.get("kind") == "palette":
                self.palette = rec
            elif rec.get("kind") == "claim" and isinstance(rec.get("output"), str):
                self.claimed.add(rec["output"])
            elif isinstance(rec.get("output"), str):
                self.files[rec["output"]] = rec

    def up_to_date(self, f: BatchFile, key: str) -> dict | None:
        """The record of ``f`` if its output is current for ``key``, else None."""
        rec = self.files.get(f.rel_output)
        if not rec or rec.get("key") != key:
            return None
        try:
            if _stat(f.input) != rec.get("in_stat") or _stat(f.output) != rec.get("out_stat"):
                return None
        except OSError:
            return None
        return rec

    def owns(self, rel_output: str) -> bool:
        """Did this batch write (or claim) that output, so that it may replace it?"""
        return rel_output in self.files or rel_output in self.claimed

    def claim(self, rel_output: str) -> None:
        self.append({"kind": "claim", "output": rel_output})

    def append(self, rec: dict) -> None:
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self._fh.flush()
        if rec.get("kind") == "palette":
            self.palette = rec
        elif rec.get("kind") == "claim":
            self.claimed.add(rec["output"])
        else:
            self.files[rec["output"]] = rec

    def compact(self, keep: set[str]) -> None:
        """Rewrite with one line per output still in the batch (atomically)."""
        from .saving import atomic_write

        self.close()
        lines = [self.palette] if self.palette else []
        lines += [rec for out, rec in sorted(self.files.items()) if out in keep]
        # claims still matter only for outputs that exist without a record
        lines += [{"kind": "claim", "output": out} for out in sorted(self.claimed)
                  if out in keep and out not in self.files and (self.out_dir / out).exists()]
        atomic_write(self.path, "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in lines).encode())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _extra_options(settings: dict) -> dict:
    """Options added after the first manifests, present only where they change the pixels.

    An option at its default (or one the chosen dithering ignores) is left
    out, so the fingerprints of earlier runs stay the same and their outputs
    are not redone; the Bayer size counts only for ``dither='bayer'``, and
    8 was the only size before.
    """
    size = settings.get("bayer_size", DEFAULT_BAYER_SIZE)
    return {"bayer_size": size} if settings["dither"] == "bayer" and size != DEFAULT_BAYER_SIZE else {}


def options_key(settings: dict, palette: Palette | None) -> str:
    """Fingerprint of everything that decides an output's pixels."""
    from .fitting import as_lock

    fields = {"v": OUTPUT_VERSION, "k": settings["k"], "space": settings["space"], "dither": settings["dither"],
              "seed": settings["seed"], "lock": Palette(as_lock(settings["lock"])).hex,
              "palette": None if palette is None else palette.hex}
    fields.update(_extra_options(settings))
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:20]


def _inputs_digest(files: list[BatchFile], settings: dict) -> str:
    """Fingerprint of the shared palette's inputs: the fit options and every input's size and mtime."""
    # max_pixels too: a file refused for its size may be accepted with another limit
    fit = {k: settings[k] for k in ("k", "space", "seed", "lock", "max_pixels")}
    h = hashlib.sha256(json.dumps(fit, sort_keys=True).encode())
    h.update(str(OUTPUT_VERSION).encode())
    for f in files:
        try:
            st = _stat(f.input)
        except OSError:
            st = [-1, -1]
        h.update(f"\0{f.rel}\0{st[0]}\0{st[1]}".encode())
    return h.hexdigest()[:32]


# --------------------------------------------------------------------------- the batch


@dataclass
class BatchSummary:
    """What :func:`run_batch` did.

    Attributes
    ----------
    rows : list of dict
        One per input, sorted by input path: ``input``, ``output`` (both
        relative), ``status`` (``'done'``, ``'skipped'`` - already up to date -
        or ``'failed'``), ``colors_used``, ``psnr``, ``delta_e2000``,
        ``input_bytes``, ``png_bytes``, ``seconds``, ``error``.
    palette : Palette or None
        The shared palette, when there was one.
    seconds : float
        Wall-clock time of the whole run.
    summary_files : list of Path
        The summary files written.
    """

    in_dir: Path
    out_dir: Path
    rows: list[dict]
    palette: Palette | None
    seconds: float
    settings: dict
    summary_files: list[Path] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    @property
    def done(self) -> int:
        return self._count("done")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "failed"]

    def to_dict(self) -> dict:
        return {
            "in_dir": str(self.in_dir),
            "out_dir": str(self.out_dir),
            "options": {**{k: self.settings[k] for k in ("k", "space", "dither", "seed", "lock")},
                        **_extra_options(self.settings)},
            "shared_palette": None if self.palette is None else self.palette.hex,
            "files": len(self.rows),
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "rows": [{k: r.get(k) for k in SUMMARY_FIELDS} for r in self.rows],
        }

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in SUMMARY_FIELDS})
        return buf.getvalue()

    def write(self, path: str | os.PathLike) -> Path:
        """Write the summary as JSON or CSV, by the extension of ``path``."""
        from .saving import atomic_write

        p = Path(path)
        ext = p.suffix.lower()
        if ext == ".json":
            data = json.dumps(self.to_dict(), indent=1).encode() + b"\n"
        elif ext == ".csv":
            data = self.to_csv().encode()
        else:
            raise KmqError(f"the summary is written as .json or .csv, not {p.suffix or 'no extension'!r}")
        return atomic_write(p, data)


def _write_palette_files(pal: Palette, files: Iterable[str], force: bool) -> None:
    """Write the shared palette once per requested file; an unrelated existing file needs ``force``."""
    from .formats import format_for, palette_bytes, write_palette

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
    from .palette_ops import name_colors

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
    from .fitting import as_lock
    from .formats import format_for

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
        runner = LocalRunner(min(jobs or _default_jobs(), len(files)))
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


def _votes_task(item: tuple[str, int | None]):
    """Worker, pass 1, for the runners: votes, or the KmqError's message (not raised: it is not a bug)."""
    try:
        return image_votes(*item)
    except KmqError as e:
        return str(e)
    except MemoryError:
        return "not enough memory for this image"


# --------------------------------------------------------------------------- command line


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


class _Bar:
    """A one-line progress bar on stderr (only drawn on a terminal)."""

    def __init__(self, enabled: bool, in_dir: str):
        self.enabled = enabled
        self.in_dir = in_dir
        self.drawn = False

    def __call__(self, stage: str, done: int, total: int, row: dict | None) -> None:
        if row and row.get("status") == "failed":
            self.clear()
            sys.stderr.write(f"kmq: error: {os.path.join(self.in_dir, row['input'])}: {row['error']}\n")
        if not self.enabled:
            return
        width = 24
        fill = int(width * done / max(total, 1))
        label = "reading colours" if stage == "palette" else "quantizing"
        sys.stderr.write(f"\r{label:<15} [{'#' * fill}{'.' * (width - fill)}] {done}/{total}")
        sys.stderr.flush()
        self.drawn = True
        if done == total:
            self.clear()

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.drawn = False


def run_from_args(args) -> int:
    """``kmq batch``: run :func:`run_batch` with the parsed arguments; exit status 1 if any file failed."""
    bar = _Bar(not args.quiet and sys.stderr.isatty(), args.in_dir)
    try:
        result = run_batch(
            args.in_dir, args.out_dir, args.k, space=args.space, dither=args.dither, seed=args.seed,
            lock=args.lock, bayer_size=args.bayer_size, shared_palette=args.shared_palette, palette_files=args.palette, jobs=args.jobs,
            dask_scheduler=args.dask_scheduler, force=args.force, progress=bar, max_pixels=args.max_pixels,
            summary=args.summary)
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
