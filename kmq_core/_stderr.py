"""Catch what C libraries print on the process's stderr while kmq decodes.

libtiff reports damage with ``fprintf(stderr, ...)`` through its default error
and warning handlers (``TIFFFillStrip: Read error on strip 0; ...``,
``Fax4Decode: Bad code word at line 55 ...``), below Python: neither
``warnings`` nor ``logging`` sees it, and a user would get a stray line before
kmq's own one-line error, or on a run that succeeds. Pillow exposes no way to
replace libtiff's handlers, so kmq points file descriptor 2 at a temporary
file for the length of a decode and hands what was written to the caller,
who makes it part of its error or a note.

Threads: fd 2 belongs to the whole process. A re-entrant lock serialises the
captured sections, so two decodes in two threads (the Streamlit app runs one
script thread per session) never save and restore each other's descriptors.
The price is that decodes in threads run one at a time, and that anything
another thread writes to stderr during a decode lands in the capture: it is
then logged (``logging.getLogger('kmq_core.loading')``, level INFO) with the
decoder's words instead of reaching the terminal. Processes (``kmq batch``'s
workers) each have their own fd 2 and are not serialised.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator

#: held while fd 2 is redirected; re-entrant so a nested capture in the same thread works
LOCK = threading.RLock()
#: at most this much of what a decoder wrote is read back (a fuzzed file can print megabytes)
MAX_BYTES = 64 * 1024


def _flush() -> None:
    for stream in (sys.stderr, sys.__stderr__):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()


@contextlib.contextmanager
def captured_stderr() -> Iterator[Callable[[], str]]:
    """Redirect fd 2 to a temporary file; yield a function that returns what was written so far.

    When fd 2 cannot be redirected (closed, no temporary directory), nothing
    is captured and the function returns ``''``.
    """
    with LOCK:
        _flush()
        try:
            scratch = tempfile.TemporaryFile()
        except OSError:
            yield lambda: ""
            return
        with scratch:
            try:
                saved = os.dup(2)
            except OSError:
                yield lambda: ""
                return
            try:
                os.dup2(scratch.fileno(), 2)

                def written() -> str:
                    _flush()
                    with contextlib.suppress(OSError):
                        scratch.seek(0)
                        return scratch.read(MAX_BYTES).decode("utf-8", "replace")
                    return ""

                yield written
            finally:
                _flush()
                os.dup2(saved, 2)
                os.close(saved)
