"""Running tasks in parallel: local worker processes (:class:`LocalRunner`) or a Dask cluster (:class:`DaskRunner`).

Both have ``run(fn, items)``, which yields ``(item, result, error)`` as tasks
finish and keeps at most :data:`TASKS_PER_WORKER` tasks per worker in flight,
so memory stays bounded whatever the number of items. ``fn`` must be a
module-level function (it is pickled by name). Dask is imported only by
:class:`DaskRunner`.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Iterable, Iterator

from ..errors import KmqError

#: tasks in flight per worker: enough to keep workers busy, few enough to bound memory
TASKS_PER_WORKER = 2


def _probe_worker(in_dir: str, out_parent: str) -> str | None:
    """Dask: can a worker import kmq and see the shared folders? Returns a problem or None."""
    if not os.path.isdir(in_dir):
        return f"the Dask workers cannot see IN_DIR {in_dir}: it must be on storage shared with them, at the same path"
    if not os.path.isdir(out_parent):
        return (f"the Dask workers cannot see {out_parent}: OUT_DIR must be on storage shared with them, "
                "at the same path")
    return None


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


def default_jobs() -> int:
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
        ctx.set_forkserver_preload(["__main__", "kmq_core.batch.worker", "kmq_core.pipeline"])
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
            raise KmqError("running on a Dask cluster needs Dask: pip install 'kmq[dask]'") from None
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
