"""GIMP palette (``.gpl``): the text format of GIMP, Inkscape, Krita, Aseprite.

Written exactly the way GIMP 3 writes it (UTF-8, LF line endings)::

    GIMP Palette
    Name: <palette name>
    Columns: <n>
    #
    <r:%3d> <g:%3d> <b:%3d>\\t<colour name>

The reader follows GIMP 3.0.4's own loader (``gimppalette-load.c``) where it
matters for names: the palette name is stripped of surrounding white space; a
colour's name is the rest of the line after ONE separator following the blue
value, so leading spaces in a name survive. It is stricter than GIMP about
numbers (a component must be a whole number 0–255, GIMP clamps with a warning)
and more lenient about blank lines (white-space-only lines and a trailing
``\\r`` from CRLF files are ignored; GIMP turns them into black "Untitled"
entries and keeps the ``\\r`` in names).

Names cannot hold line breaks: the writer replaces line breaks and NUL in
names with a space (see :func:`kmq_core.formats._common.one_line`), and writes
the hex code for an empty name (GIMP would show "Untitled").

Written by hand because it is a few lines of text; Pillow's
``GimpPaletteFile`` only reads, and at most 256 entries.
"""

from __future__ import annotations

import re

from ..errors import KmqError
from ..palette import Palette
from ._common import (
    MAX_COLORS,
    check_size,
    encode_utf8,
    entry_name,
    make_palette,
    one_line,
    text,
)

WHAT = ".gpl"
EXTENSIONS = ("gpl",)
MIME = "text/plain"
HOLDS_NAMES = True
#: GIMP shows this many swatches per row; kmq writes min(n, 16)
MAX_COLUMNS = 16

_COLOUR = re.compile(r"[ \t]*([+-]?\d{1,9})[ \t]+([+-]?\d{1,9})[ \t]+([+-]?\d{1,9})(?:[ \t](.*))?\Z", re.S)


def palette_name(name: str) -> str:
    """The palette name as GIMP will show it (one line, no surrounding space)."""
    return one_line(name).strip() or "kmq"


def write(p: Palette) -> bytes:
    """The palette as a GIMP ``.gpl`` file."""
    if len(p) == 0:
        raise KmqError(f"{WHAT}: cannot write an empty palette")
    lines = [
        "GIMP Palette",
        f"Name: {palette_name(p.name)}",
        f"Columns: {min(len(p), MAX_COLUMNS)}",
        "#",
    ]
    for rgb, name in zip(p.colors, p.names):
        r, g, b = (int(v) for v in rgb)
        lines.append(f"{r:3d} {g:3d} {b:3d}\t{entry_name(name, rgb)}")
    return encode_utf8("\n".join(lines) + "\n", WHAT)


def read(data: bytes) -> Palette:
    """Read a ``.gpl`` file; raise :class:`KmqError` if it is not one."""
    lines = text(check_size(data, WHAT), WHAT).split("\n")
    if not lines[0].startswith("GIMP Palette"):
        raise KmqError(f"{WHAT}: not a GIMP palette (the first line must be 'GIMP Palette')")
    name = ""
    start = 1
    if len(lines) > 1 and lines[1].startswith("Name: "):
        name = lines[1][len("Name: "):].strip()
        start = 2
        if len(lines) > 2 and lines[2].startswith("Columns: "):
            columns = lines[2][len("Columns: "):].strip()
            if not re.fullmatch(r"[+-]?\d{1,9}", columns):
                raise KmqError(f"{WHAT}: line 3: invalid column count {columns[:20]!r}")
            start = 3
    colors: list[tuple[int, int, int]] = []
    names: list[str] = []
    for number, line in enumerate(lines[start:], start=start + 1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip() or line.startswith("#"):
            continue
        m = _COLOUR.match(line)
        if not m:
            raise KmqError(f"{WHAT}: line {number}: expected 'R G B name', got {line[:40]!r}")
        rgb = tuple(int(v) for v in m.group(1, 2, 3))
        if any(not 0 <= v <= 255 for v in rgb):
            raise KmqError(f"{WHAT}: line {number}: colour values must be 0-255, got {rgb}")
        if len(colors) >= MAX_COLORS:
            raise KmqError(f"{WHAT}: more than the {MAX_COLORS} colours kmq reads")
        colors.append(rgb)  # type: ignore[arg-type]
        names.append(entry_name(m.group(4) or "", rgb))
    return make_palette(colors, names, name, WHAT)
