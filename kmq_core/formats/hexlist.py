"""A plain list of hex codes (``.hex``, ``.txt``): one ``#rrggbb`` per line.

An optional name follows after one space (``#4682b4 steelblue``); it is left
out when it is just the hex code. The reader also takes codes without ``#``
(Lospec's ``.hex`` files), skips blank lines and comment lines starting with
``;`` or ``//``, and reads the name as the rest of the line after one space or
tab. Names cannot hold line breaks: they are replaced by spaces, as in .gpl.
"""

from __future__ import annotations

import re

from ..errors import KmqError
from ..palette import Palette, hex_code
from ._common import MAX_COLORS, check_size, encode_utf8, make_palette, one_line, text

WHAT = ".hex"
EXTENSIONS = ("hex", "txt")
MIME = "text/plain"
HOLDS_NAMES = True

_LINE = re.compile(r"#?([0-9a-fA-F]{6})(?:[ \t](.*))?\Z", re.S)


def write(p: Palette) -> bytes:
    """One ``#rrggbb [name]`` line per colour."""
    if len(p) == 0:
        raise KmqError(f"{WHAT}: cannot write an empty palette")
    lines = []
    for h, name in zip(p.hex, p.names):
        name = one_line(name)
        lines.append(h if name in ("", h) else f"{h} {name}")
    return encode_utf8("\n".join(lines) + "\n", WHAT)


def read(data: bytes) -> Palette:
    """Read a list of hex codes."""
    colors, names = [], []
    for number, line in enumerate(text(check_size(data, WHAT), WHAT).split("\n"), start=1):
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip() or line.startswith((";", "//")):
            continue
        m = _LINE.match(line)
        if not m:
            raise KmqError(f"{WHAT}: line {number}: expected '#rrggbb [name]', got {line[:40]!r}")
        code = m.group(1)
        rgb = (int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16))
        if len(colors) >= MAX_COLORS:
            raise KmqError(f"{WHAT}: more than the {MAX_COLORS} colours kmq reads")
        colors.append(rgb)
        names.append(m.group(2) or hex_code(rgb))
    return make_palette(colors, names, "", WHAT)
