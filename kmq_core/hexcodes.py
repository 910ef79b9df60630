"""Hex colour codes (``#ff8800``): read and write them, in plain Python.

No numpy here on purpose: :mod:`kmq_core.options` checks locked colours with
these functions, and a GIMP whose Python has no numpy imports that module to
validate the plug-in's arguments (see ``plugins/gimp/``).
"""

from __future__ import annotations

from .errors import KmqError

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def hex_code(rgb) -> str:
    """``(255, 136, 0)`` -> ``'#ff8800'``."""
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def parse_hex(text: str) -> tuple[int, int, int]:
    """``'#ff8800'``, ``'ff8800'`` or ``'#f80'`` -> ``(255, 136, 0)``."""
    s = str(text).strip()
    if s.startswith("#"):
        s = s[1:]
    if len(s) == 3:
        s = "".join(c * 2 for c in s)
    if len(s) != 6 or any(c not in _HEX_DIGITS for c in s):
        raise KmqError(f"not a colour: {text!r} (expected a hex code like #ff8800)")
    return int(s[0:2], 16), int(s[2:4], 16), int(s[4:6], 16)


def split_hex_list(text: str | None) -> list[tuple[int, int, int]]:
    """``'#ff0000, #00f'`` -> ``[(255, 0, 0), (0, 0, 255)]``: commas, semicolons or spaces
    between the codes; order and repeats kept (empty for None or '')."""
    if text is None:
        return []
    parts = [p for p in str(text).replace(";", ",").replace(" ", ",").split(",") if p.strip()]
    return [parse_hex(p) for p in parts]
