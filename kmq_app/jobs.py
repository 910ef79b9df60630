"""Long work off the page's thread: stages, progress, cancelling, and the results kept.

Streamlit runs the script in one thread per session and can only stop it
between two Streamlit calls. A quantization of 12 megapixels is a second of
numpy with no Streamlit call in it, so run there it would freeze the page:
no progress, a Cancel button that does nothing until the work is done. Here
the work runs in a small thread pool instead; the script polls the job a few
times a second, drawing a progress bar from :meth:`Job.status` (each draw is
a point where Streamlit can stop the script for a click), and a cancelled
job stops at its next stage.

A job is identified by everything its result depends on (the image's digest
and the options), so finished jobs double as the cache of results, shared by
every session of the server: a rerun with the same options finds the job done
and shows it at once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

#: threads doing the work (the machine the app is meant for has a few cores; the core uses threads too)
WORKERS = 2
#: finished jobs kept, and the memory they may hold in all (a 12 MP result holds about 80 MB)
MAX_KEPT = 12
MAX_KEPT_BYTES = 1_000_000_000


class Cancelled(Exception):
    """Raised inside a job's work when it has been cancelled."""


@dataclass
class Job:
    """One piece of work: its stages as they pass, their times, its result or error."""

    key: Hashable
    created: float = field(default_factory=time.perf_counter)
    started: float | None = None
    stage: str = "waiting for a free worker"
    stage_started: float = field(default_factory=time.perf_counter)
    fraction: float = 0.0
    times: list[tuple[str, float]] = field(default_factory=list)
    cancel_event: threading.Event = field(default_factory=threading.Event)
    future: Future | None = None
    size: int = 0
    sessions: set = field(default_factory=set)

    # ---- called from the work ----------------------------------------------------------------------
    def begin(self, stage: str, fraction: float | None = None) -> None:
        """Close the running stage (its time is recorded) and open ``stage``; stop here if cancelled."""
        now = time.perf_counter()
        if self.started is not None and self.stage:
            self.times.append((self.stage, now - self.stage_started))
        self.check()
        self.stage, self.stage_started = stage, now
        if fraction is not None:
            self.fraction = fraction

    def finish(self) -> None:
        self.begin("")

    def check(self) -> None:
        """Raise :class:`Cancelled` if the job has been cancelled."""
        if self.cancel_event.is_set():
            raise Cancelled

    # ---- called from the page ----------------------------------------------------------------------
    def done(self) -> bool:
        return self.future is not None and self.future.done()

    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def result(self) -> Any:
        """The work's return value (raises what the work raised)."""
        assert self.future is not None
        return self.future.result()

    def status(self) -> tuple[float, str]:
        """(fraction done, text) for a progress bar."""
        now = time.perf_counter()
        if self.started is None:
            return 0.0, f"Waiting for the computation before this one to stop… {now - self.created:.1f} s"
        return min(self.fraction, 1.0), f"{self.stage}… {now - self.started:.1f} s"

    @property
    def seconds(self) -> float:
        """Time the work took, stage by stage added up."""
        return sum(t for _, t in self.times)


class Jobs:
    """The jobs of a server: running ones, and finished ones as a cache (least recently used dropped first)."""

    def __init__(self, workers: int = WORKERS, max_kept: int = MAX_KEPT, max_bytes: int = MAX_KEPT_BYTES):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kmq-job")
        self._jobs: OrderedDict[Hashable, Job] = OrderedDict()
        self._lock = threading.Lock()
        self.max_kept, self.max_bytes = max_kept, max_bytes

    def get(self, key: Hashable) -> Job | None:
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                self._jobs.move_to_end(key)
            return job

    def start(self, key: Hashable, work: Callable[[Job], Any], session: Hashable = None,
              size: Callable[[Any], int] = lambda _: 0) -> Job:
        """The job for ``key``: the one running or finished, else ``work(job)`` started now.

        ``session`` names who waits for it (see :meth:`release`); ``size``
        tells the bytes a result holds, for the cache's budget. A job that
        failed or was cancelled is not kept: asking again starts it anew.
        """
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and not job.cancelled():
                job.sessions.add(session)
                self._jobs.move_to_end(key)
                return job
            job = Job(key)
            job.sessions.add(session)
            self._jobs[key] = job

        def run() -> Any:
            job.started = job.stage_started = time.perf_counter()
            job.stage = ""
            try:
                job.check()
                value = work(job)
                job.finish()
            except BaseException:
                with self._lock:
                    if self._jobs.get(key) is job:
                        del self._jobs[key]
                raise
            job.size = size(value)
            self._trim()
            return value

        job.future = self._pool.submit(run)
        return job

    def release(self, session: Hashable, keep: tuple) -> None:
        """``session`` no longer waits for the jobs of ``keep``'s kind (``keep[0]``) but ``keep``:
        cancel those nobody else waits for (the k it asked for before the one it asks for now)."""
        with self._lock:
            for key, job in self._jobs.items():
                if key == keep or session not in job.sessions or not isinstance(key, tuple) or key[0] != keep[0]:
                    continue
                job.sessions.discard(session)
                if not job.sessions and not job.done():
                    job.cancel_event.set()

    def cancel(self, key: Hashable) -> None:
        """Stop the job for ``key`` at its next stage, and forget it."""
        with self._lock:
            job = self._jobs.pop(key, None)
        if job is not None:
            job.cancel_event.set()

    def _trim(self) -> None:
        with self._lock:
            done = [k for k, j in self._jobs.items() if j.done() or j.future is None]
            total = sum(self._jobs[k].size for k in done)
            while done and (len(done) > self.max_kept or total > self.max_bytes):
                oldest = done.pop(0)
                total -= self._jobs.pop(oldest).size
