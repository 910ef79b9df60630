"""A Ctrl-C that Python swallowed (in a finaliser) still stops the next write and the run."""

import os
import signal
import subprocess
import sys

import pytest

from kmq_core import interrupts
from kmq_core.saving import atomic_write


@pytest.fixture()
def pending():
    interrupts._INTERRUPTED.set()
    yield
    interrupts._INTERRUPTED.clear()


def test_a_swallowed_interrupt_stops_the_next_write(tmp_path, pending):
    out = tmp_path / "a.png"
    with pytest.raises(KeyboardInterrupt):
        atomic_write(out, b"data")
    assert list(tmp_path.iterdir()) == []


def test_no_interrupt_no_effect(tmp_path):
    assert not interrupts.interrupt_pending()
    atomic_write(tmp_path / "a.png", b"data")
    assert (tmp_path / "a.png").read_bytes() == b"data"


SWALLOWED = """
import os, signal, sys
from kmq_core.interrupts import catch_interrupts
from kmq_core.cli import run

catch_interrupts()

class Finaliser:
    def __del__(self):
        os.kill(os.getpid(), signal.SIGINT)  # the KeyboardInterrupt is raised here ...
        for _ in range(10000):  # ... (Python checks for signals between bytecodes)
            pass

Finaliser()  # ... and Python prints 'Exception ignored' and drops it
sys.argv = ["kmq", "quantize", sys.argv[1], "-k", "4", "-o", sys.argv[2]]
run()
"""


def test_the_command_exits_130_after_a_swallowed_ctrl_c(tmp_path):
    from PIL import Image

    src, out = tmp_path / "in.png", tmp_path / "out.png"
    Image.new("RGB", (16, 16), "#336699").save(src)
    r = subprocess.run([sys.executable, "-c", SWALLOWED, str(src), str(out)], capture_output=True, text=True)
    assert "Exception ignored" in r.stderr  # the interrupt was swallowed, as in numba's finalisers
    assert r.returncode == 130, r.stderr
    assert r.stderr.splitlines()[-1] == "kmq: error: interrupted (nothing half-written was left)"
    assert not out.exists()
