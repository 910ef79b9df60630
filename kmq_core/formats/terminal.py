"""A palette for the terminal (``kmq palette show FILE``).

One line per colour: a swatch (24-bit ANSI background colour when ``color``
is true, nothing otherwise), the hex code, the share of pixels when known and
the name. Control characters in names are shown escaped, so a hostile palette
file cannot send escape sequences to the terminal.
"""

from __future__ import annotations

from ..palette import Palette

SWATCH = "      "
RESET = "\x1b[0m"


def _printable(s: str) -> str:
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in s)


def render(p: Palette, color: bool) -> str:
    """The palette as text lines, without a final newline (ready for ``print``).

    Parameters
    ----------
    p : Palette
    color : bool
        Draw 24-bit colour swatches with ANSI escape codes.

    Returns
    -------
    str
    """
    has_share = bool(len(p)) and float(p.weights.sum()) > 0
    lines = [f"{_printable(p.name) or '(unnamed)'}: {len(p)} colour{'s' if len(p) != 1 else ''}"]
    width = len(str(len(p)))
    for i, (rgb, h, name, w) in enumerate(zip(p.colors, p.hex, p.names, p.weights), start=1):
        parts = [f"{i:>{width}}"]
        if color:
            r, g, b = (int(v) for v in rgb)
            parts.append(f"\x1b[48;2;{r};{g};{b}m{SWATCH}{RESET}")
        parts.append(h)
        if has_share:
            parts.append(f"{100.0 * float(w):5.1f}%")
        if name != h:
            parts.append(_printable(name))
        lines.append("  ".join(parts))
    return "\n".join(lines)
