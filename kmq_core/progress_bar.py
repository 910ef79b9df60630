"""The command line's progress bar: one line on stderr, redrawn in place, for ``kmq quantize`` and ``kmq batch``.

    quantizing      [############............] 12/24         (kmq batch)
    [############............] 12/24 photo.jpg               (kmq quantize, several files)

The callers draw it only on a terminal and without ``--quiet``, so pipes and
logs never see it; messages about files go on lines of their own (see
:meth:`ProgressBar.clear` and :meth:`ProgressBar.newline`).
"""

from __future__ import annotations

import sys

#: characters between the brackets
WIDTH = 24


class ProgressBar:
    """``[####....] done/total``, with an optional label before it and a file name after it.

    Parameters
    ----------
    enabled : bool
        Draw at all (False: every method writes nothing).
    keep : bool
        When ``done == total``, end the line and leave the full bar on screen,
        instead of erasing it.
    """

    def __init__(self, enabled: bool, *, keep: bool = False):
        self.enabled = enabled
        self.keep = keep
        self.drawn = False

    def update(self, done: int, total: int, *, label: str | None = None, name: str | None = None) -> None:
        """Redraw the bar at ``done`` of ``total``; ``label`` (padded to 15) before it, ``name`` (40) after it."""
        if not self.enabled:
            return
        fill = int(WIDTH * done / max(total, 1))
        head = "" if label is None else f"{label:<15} "
        tail = "" if name is None else f" {name[:40]:<40}"
        sys.stderr.write(f"\r{head}[{'#' * fill}{'.' * (WIDTH - fill)}] {done}/{total}{tail}")
        self.drawn = True
        if done == total and self.keep:
            sys.stderr.write("\n")
            self.drawn = False
        sys.stderr.flush()
        if done == total:
            self.clear()

    def clear(self) -> None:
        """Erase the bar, if it is on screen, so that a message can take its line."""
        if self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.drawn = False

    def newline(self) -> None:
        """End the bar's line, so that a message starts on the next one (with ``keep``: the bar stays above)."""
        if self.enabled:
            sys.stderr.write("\n")
