"""CSS custom properties (``.css``): paste into a stylesheet.

::

    /* kmq palette: "Sunset" */
    :root {
      --kmq-1: #4682b4; /* "steelblue" */
      --kmq-2: #ff8800; /* "dark orange" */
    }

Properties are numbered in palette order (names can hold any character and
property names cannot); each name is in a comment as a JSON string with
``/`` escaped as ``\\/``, so no name can end the comment early and every name
round-trips exactly. The reader takes ``--anything: #rgb|#rrggbb;``
declarations in file order; a comment after one gives its name (a JSON string,
or plain text in a hand-written file); other lines are ignored.
"""

from __future__ import annotations

import json
import re

from ..errors import KmqError
from ..palette import Palette, parse_hex
from ._common import MAX_COLORS, check_size, encode_utf8, make_palette, text

WHAT = ".css"
EXTENSIONS = ("css",)
MIME = "text/css"
HOLDS_NAMES = True
PREFIX = "--kmq-"
MAX_LINE = 65536

_DECL = re.compile(r"\s*--[A-Za-z0-9_-]+\s*:\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\s*;\s*(?:/\*(.*)\*/)?\s*\Z")
_HEADER = re.compile(r"\s*/\* kmq palette: (\".*\") \*/\s*\Z")


def _quote(s: str) -> str:
    return json.dumps(s, ensure_ascii=False).replace("/", "\\/")


def _unquote(s: str) -> str:
    s = s.strip()
    if s.startswith('"'):
        try:
            value = json.loads(s)
        except ValueError:
            raise KmqError(f"{WHAT}: bad name {s[:40]!r}") from None
        if not isinstance(value, str):
            raise KmqError(f"{WHAT}: bad name {s[:40]!r}")
        return value
    return s


def write(p: Palette) -> bytes:
    """The palette as a ``:root`` block of custom properties."""
    if len(p) == 0:
        raise KmqError(f"{WHAT}: cannot write an empty palette")
    lines = [f"/* kmq palette: {_quote(p.name)} */", ":root {"]
    for i, (h, name) in enumerate(zip(p.hex, p.names), start=1):
        lines.append(f"  {PREFIX}{i}: {h}; /* {_quote(name)} */")
    lines.append("}")
    return encode_utf8("\n".join(lines) + "\n", WHAT)


def read(data: bytes) -> Palette:
    """Read colours declared as custom properties."""
    colors, names = [], []
    name = ""
    for number, line in enumerate(text(check_size(data, WHAT), WHAT).split("\n"), start=1):
        if len(line) > MAX_LINE:
            raise KmqError(f"{WHAT}: line {number} is too long")
        if number == 1 and (m := _HEADER.match(line)):
            name = _unquote(m.group(1))
            continue
        m = _DECL.match(line)
        if not m:
            continue
        rgb = parse_hex(m.group(1))
        comment = m.group(2)
        entry = _unquote(comment) if comment is not None else ""
        if len(colors) >= MAX_COLORS:
            raise KmqError(f"{WHAT}: more than the {MAX_COLORS} colours kmq reads")
        colors.append(rgb)
        names.append(entry if comment is not None else "#%02x%02x%02x" % rgb)
    if not colors:
        raise KmqError(f"{WHAT}: no '--name: #rrggbb;' declarations found")
    return make_palette(colors, names, name, WHAT)
