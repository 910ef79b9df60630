"""kmq_core._stderr: fd 2 captured while a decoder runs, restored after, one section at a time."""

import os
import threading

from kmq_core import _stderr


def test_what_is_written_to_fd_2_is_captured_and_fd_2_restored(capfd):
    with _stderr.captured_stderr() as said:
        os.write(2, b"TIFFFillStrip: Read error on strip 0.\n")  # what a C library's fprintf does
        assert said() == "TIFFFillStrip: Read error on strip 0.\n"
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "after\n"


def test_nested_captures_in_one_thread(capfd):
    with _stderr.captured_stderr() as outer:
        os.write(2, b"a\n")
        with _stderr.captured_stderr() as inner:
            os.write(2, b"b\n")
            assert inner() == "b\n"
        os.write(2, b"c\n")
        assert outer() == "a\nc\n"
    assert capfd.readouterr().err == ""


def test_another_thread_waits_while_fd_2_is_redirected():
    inside, release, seen = threading.Event(), threading.Event(), []

    def hold():
        with _stderr.captured_stderr():
            inside.set()
            release.wait()

    t = threading.Thread(target=hold)
    t.start()
    inside.wait()
    seen.append(_stderr.LOCK.acquire(blocking=False))  # held by the other thread's capture
    release.set()
    t.join()
    assert seen == [False]
    assert _stderr.LOCK.acquire(blocking=False)
    _stderr.LOCK.release()


def test_a_flood_is_read_back_bounded():
    with _stderr.captured_stderr() as said:
        os.write(2, b"x" * (_stderr.MAX_BYTES * 3))
        assert len(said()) == _stderr.MAX_BYTES
