"""kmq_app.jobs: work off the page's thread, with stages, cancelling and the results kept."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # kmq_app sits beside streamlit_app.py

import pytest

from kmq_app.jobs import Cancelled, Jobs


def test_stages_are_timed_and_the_result_is_kept():
    jobs = Jobs(workers=1)

    def work(job):
        job.begin("one", 0.0)
        job.begin("two", 0.5)
        return 42

    job = jobs.start(("a", 1), work, session="s")
    assert job.result() == 42
    assert [name for name, _ in job.times] == ["one", "two"] and all(t >= 0 for _, t in job.times)
    assert jobs.start(("a", 1), lambda j: 0, session="t") is job  # the same key: the finished job, not a new run
    assert jobs.get(("a", 1)) is job


def test_cancel_stops_at_the_next_stage_and_is_not_kept():
    jobs = Jobs(workers=1)
    gate, reached = threading.Event(), []

    def work(job):
        job.begin("waiting", 0.0)
        gate.wait(5)
        job.begin("after", 0.5)  # cancelled meanwhile: raises here
        reached.append(True)

    job = jobs.start(("a", 1), work, session="s")
    jobs.cancel(("a", 1))
    gate.set()
    with pytest.raises(Cancelled):
        job.result()
    assert reached == [] and jobs.get(("a", 1)) is None
    again = jobs.start(("a", 1), lambda j: "new", session="s")
    assert again is not job and again.result() == "new"


def test_a_session_asking_for_another_k_cancels_the_one_nobody_waits_for():
    jobs = Jobs(workers=2)
    gate = threading.Event()

    def slow(job):
        job.begin("slow", 0.0)
        gate.wait(5)
        job.check()
        return "old"

    old = jobs.start(("quantize", 16), slow, session="s")
    shared = jobs.start(("quantize", 17), slow, session="s")
    jobs.start(("quantize", 17), slow, session="t")  # another session waits for this one
    other_kind = jobs.start(("sweep", 1), slow, session="s")
    jobs.release("s", keep=("quantize", 18))
    gate.set()
    with pytest.raises(Cancelled):
        old.result()
    assert shared.result() == "old" and other_kind.result() == "old"


def test_errors_reach_the_page_and_are_not_kept():
    jobs = Jobs(workers=1)

    def bad(job):
        raise ValueError("no")

    job = jobs.start(("a",), bad)
    with pytest.raises(ValueError):
        job.result()
    assert jobs.get(("a",)) is None


def test_the_cache_keeps_within_its_budget():
    jobs = Jobs(workers=1, max_kept=2)
    done = [jobs.start(("a", i), lambda j, i=i: i) for i in range(4)]
    for j in done:
        j.result()
    jobs.start(("a", 9), lambda j: 9).result()
    kept = [i for i in range(4) if jobs.get(("a", i)) is not None]
    assert len(kept) <= 2 and 3 in kept
