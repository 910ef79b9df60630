"""kmq's JSON palette (``.json``): for scripts and web developers.

::

    {"format": "kmq-palette", "version": 1, "name": "...",
     "colors": [{"hex": "#4682b4", "name": "steelblue", "share": 0.25}, ...]}

``share`` is the fraction of pixels (the palette weights). The reader also
accepts a bare list of hex strings or ``colors`` entries that are hex strings.
Uses the standard library's ``json``; only the shape checks are kmq's.

For palettes of up to :data:`CONTRAST_MAX_COLORS` colours the writer adds
the WCAG 2.2 contrast of every pair (:mod:`kmq_core.wcag`), for a web
developer choosing text and background colours::

    "contrast": {"standard": "WCAG 2.2",
                 "levels": {"AA large": 3.0, "AA": 4.5, "AAA large": 4.5, "AAA": 7.0},
                 "pairs": [{"a": 0, "b": 1, "ratio": 5.0206, "passes": ["AA large", "AA", "AAA large"]}, ...]}

``a`` and ``b`` index ``colors``; ``ratio`` is cut (not rounded) to four
decimals, so that comparing it with a level's threshold gives what
``passes`` says (4.49996 is written 4.4999, never 4.5). The block is derived
from the colours: it is additive (``version`` stays 1, and readers that do
not know it, kmq's own included, ignore it) and :func:`read` does not read it.
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
#: the contrast block is written for palettes up to this size (kmq's largest k: 32,640 pairs)
CONTRAST_MAX_COLORS = 256


def contrast_dict(p: Palette) -> dict:
    """The WCAG 2.2 contrast block: every pair ``a < b`` in palette order (see the module docstring)."""
    from ..wcag import LEVELS, contrast_matrix, levels_passed

    m = contrast_matrix(p.colors)
    pairs = [{"a": a, "b": b, "ratio": math.floor(float(m[a, b]) * 1e4) / 1e4,
              "passes": list(levels_passed(float(m[a, b])))}
             for a in range(len(p)) for b in range(a + 1, len(p))]
    return {"standard": "WCAG 2.2", "levels": dict(LEVELS), "pairs": pairs}


def to_dict(p: Palette, contrast: bool = True) -> dict:
    """The palette as plain JSON-ready data; with ``contrast`` (and at most
    :data:`CONTRAST_MAX_COLORS` colours) its pairs' WCAG contrast too."""
    d = {
        "format": FORMAT_ID,
        "version": 1,
        "name": p.name,
        "colors": [
            {"hex": h, "name": n, "share": float(w)}
            for h, n, w in zip(p.hex, p.names, p.weights)
        ],
    }
    if contrast and len(p) <= CONTRAST_MAX_COLORS:
        d["contrast"] = contrast_dict(p)
    return d


def write(p: Palette, contrast: bool = True) -> bytes:
    """The palette as UTF-8 JSON, one colour (and one contrast pair) per line."""
    if len(p) == 0:
        raise KmqError(f"{WHAT}: cannot write an empty palette")
    try:
        d = to_dict(p, contrast)
        colors = d.pop("colors")
        block = d.pop("contrast", None)
        head = json.dumps(d, ensure_ascii=False, allow_nan=False)[:-1]
        rows = ",\n    ".join(json.dumps(c, ensure_ascii=False, allow_nan=False) for c in colors)
    except ValueError:
        raise KmqError(f"{WHAT}: palette weights must be finite numbers") from None
    tail = ""
    if block is not None:
        pairs = ",\n      ".join(json.dumps(q) for q in block.pop("pairs"))
        tail = (f',\n  "contrast": {json.dumps(block)[:-1]},\n    "pairs": [' + (f"\n      {pairs}\n    " if pairs else "")
                + "]}")
    return encode_utf8(f'{head},\n  "colors": [\n    {rows}\n  ]{tail}\n}}\n', WHAT)


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
