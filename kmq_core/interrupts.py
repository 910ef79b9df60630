"""Ctrl-C in the command-line front ends, remembered as well as raised.

Python turns SIGINT into ``KeyboardInterrupt`` in the main thread, but an exception
raised while a finaliser (``__del__``) runs is printed as "Exception ignored in ..." and
dropped: a Ctrl-C that lands in one, as it can while numba compiles a kernel, was lost,
and the run went on to exit 0 with its files written. :func:`catch_interrupts` installs
a handler that also sets a flag, and :func:`stop_if_interrupted` (called by
:func:`kmq_core.saving.atomic_write` before it creates and before it renames) raises
again from a place where nothing swallows it. No numpy here: the command line imports
this before it knows what it will do.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Callable, NoReturn

#: a Ctrl-C this process received (set by the handler :func:`catch_interrupts` installs)
_INTERRUPTED = threading.Event()


def catch_interrupts() -> None:
    """Install the SIGINT handler: ``KeyboardInterrupt`` as usual, and remembered."""
    def handler(signum, frame):
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: Python's own handling stays
        pass


def interrupt_pending() -> bool:
    """True once a Ctrl-C reached the handler, whether or not its ``KeyboardInterrupt`` got through."""
    return _INTERRUPTED.is_set()


def stop_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a Ctrl-C came, even one that was swallowed."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


def ignore_further_interrupts() -> None:
    """The work is already undone and reported: a second Ctrl-C (or the first one's echo
    while the interpreter shuts down its threads) must not turn exit 130 into a death by
    signal, which wrapping build tools read differently."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except (ValueError, OSError):  # not the main thread: nothing to do
        pass


def run_command(main: Callable[[], int], interrupted: int) -> NoReturn:
    """A command's entry point: Ctrl-C caught and remembered, ``main()``, then exit with its
    status. After an interrupted run (status ``interrupted``, 130 by pngquant's convention)
    a further SIGINT is ignored while the interpreter shuts down (worker processes are
    joined then), so it cannot turn the status into a death by signal."""
    catch_interrupts()
    code = main()
    if code == interrupted:
        ignore_further_interrupts()
    sys.exit(code)
