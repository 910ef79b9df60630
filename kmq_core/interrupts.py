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
import threading

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
