"""kmq's JSON palette (``.json``): for scripts and web developers.

::

    {"format": "kmq-palette", "version": 1, "name": "...",
     "colors": [{"hex": "#4682b4", "name": "steelblue", "share": 0.25}, ...]}

``share`` is the fraction of pixels (the palette weights). The reader also
accepts a bare list of hex strings or ``colors`` entries that are hex strings.
Uses the standard library's ``json``; only the shape checks are kmq's.
"""

from __future__ import annotations

import json
import math

from ..errors import KmqError
from ..palette import Palette, parse_hex
from ._common import MAX_COLORS, check_size, encode_utf8, make_palette, text

WHAT = ".json"
EXTENSIONS = ("json",)
MIME = "application/json"
HOLDS_NAMES = True
FORMAT_ID = "kmq-palette"


def to_dict(p: Palette) -> dict:
    """The palette as plain JSON-ready data."""
    return {
        "format": FORMAT_ID,
        "version": 1,
        "name": p.name,
        "colors": [
            {"hex": h, "name": n, "share": float(w)}
            for h, n, w in zip(p.hex, p.names, p.weights)
        ],
    }


def write(p: Palette) -> bytes:
    """The palette as UTF-8 JSON, one colour per line."""
    if len(p) == 0:
        raise KmqError(f"{WHAT}: cannot write an empty palette")
    try:
        d = to_dict(p)
        colors = d.pop("colors")
        head = json.dumps(d, ensure_ascii=False, allow_nan=False)[:-1]
        rows = ",\n    ".join(json.dumps(c, ensure_ascii=False, allow_nan=False) for c in colors)
    except ValueError:
        raise KmqError(f"{WHAT}: palette weights must be finite numbers") from None
    return encode_utf8(f'{head},\n  "colors": [\n    {rows}\n  ]\n}}\n', WHAT)


def _reject_constant(name: str):
    raise KmqError(f"{WHAT}: {name} is not a number JSON allows")


def from_obj(obj: object) -> Palette:
    """A Palette from parsed JSON (see the module docstring for the shape)."""
    name = ""
    if isinstance(obj, dict):
        if obj.get("format", FORMAT_ID) != FORMAT_ID:
            raise KmqError(f"{WHAT}: unknown format {str(obj.get('format'))[:40]!r}")
        name = obj.get("name", "")
        if not isinstance(name, str):
            raise KmqError(f"{WHAT}: 'name' must be a string")
        entries = obj.get("colors")
    else:
        entries = obj
    if not isinstance(entries, list):
        raise KmqError(f"{WHAT}: expected a 'colors' list")
    if len(entries) > MAX_COLORS:
        raise KmqError(f"{WHAT}: more than the {MAX_COLORS} colours kmq reads")
    colors, names, weights = [], [], []
    for i, entry in enumerate(entries, start=1):
        if isinstance(entry, str):
            entry = {"hex": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("hex"), str):
            raise KmqError(f"{WHAT}: colour {i} needs a 'hex' string")
        rgb = parse_hex(entry["hex"])
        entry_name = entry.get("name", "#%02x%02x%02x" % rgb)
        share = entry.get("share", 0.0)
        if not isinstance(entry_name, str):
            raise KmqError(f"{WHAT}: colour {i}: 'name' must be a string")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not math.isfinite(share) or share < 0:
            raise KmqError(f"{WHAT}: colour {i}: 'share' must be a number of 0 or more")
        colors.append(rgb)
        names.append(entry_name)
        weights.append(float(share))
    return make_palette(colors, names, name, WHAT, weights)


def read(data: bytes) -> Palette:
    """Read a kmq JSON palette."""
    s = text(check_size(data, WHAT), WHAT)
    try:
        obj = json.loads(s, parse_constant=_reject_constant)
    except RecursionError:
        raise KmqError(f"{WHAT}: nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, KmqError):
            raise
        raise KmqError(f"{WHAT}: not valid JSON ({str(exc).splitlines()[0]})") from None
    return from_obj(obj)
