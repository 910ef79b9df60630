"""Adobe Swatch Exchange (``.ase``): Illustrator, InDesign, Photoshop, Affinity,
GIMP 3 and Krita all import it.

Layout (all numbers big-endian): ``ASEF``, u16 1, u16 0, u32 block count; then
blocks of u16 type (``0x0001`` colour, ``0xC001`` group start, ``0xC002`` group
end) and u32 body length. A colour body is a u16 name length in UTF-16 code
units including the NUL, the UTF-16BE name and ``00 00``, a 4-byte model
(``RGB ``, ``CMYK``, ``LAB ``, ``Gray``), float32 components, u16 type (0 global,
1 spot, 2 normal).

What the writer produces is the one layout that GIMP 3.0.4, Krita 5.2 and
Adobe's applications all read completely (see ``notes/palettes.md``): one group
named after the palette wrapping every colour, RGB model with r/255 as float32,
colour type 2 (normal), and a non-empty name on every colour (the hex code
when the name is empty; NUL becomes a space, every other character is kept).
GIMP keeps only the first group and needs at least two blocks; the writer never
produces anything else and refuses an empty palette.

The reader accepts the whole spec: flat colours, several groups (their colours
concatenated in file order; the first group's name becomes the palette name),
the ``Gray`` model and GIMP's ``GRAY`` spelling, ``CMYK`` (uncalibrated:
r = (1 - c)(1 - k), no ICC profile) and ``LAB`` (L stored as 0–1; converted
with scikit-image's ``lab2rgb`` and its D65 white, so white and grays stay
neutral; Adobe's Lab is relative to D50, and this simple white-point mapping
shifts saturated Lab swatches slightly compared with a colour-managed
conversion).

Written by hand: no maintained library does this. The PyPI ``swatch`` package
(last released 2014) writes whatever layout it is given and miscounts the
length of names outside the Basic Multilingual Plane (emoji); the tests use it
as an independent reader.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import KmqError
from ..palette import Palette
from ._common import (
    MAX_COLORS,
    MAX_NAME_CHARS,
    Reader,
    check_size,
    encode_utf16be,
    binary_name,
    make_palette,
    unit_to_u8,
    utf16be,
)

WHAT = ".ase"
EXTENSIONS = ("ase",)
MIME = "application/octet-stream"
HOLDS_NAMES = True
MAGIC = b"ASEF"
COLOR, GROUP_START, GROUP_END = 0x0001, 0xC001, 0xC002
NORMAL = 2


def _name_field(name: str) -> bytes:
    # NUL would end the name early in C readers; the length counts the NUL
    raw = encode_utf16be(name, WHAT)
    units = len(raw) // 2 + 1
    if units > 0xFFFF:
        raise KmqError(f"{WHAT}: name too long ({units} UTF-16 units, the format holds 65535)")
    return struct.pack(">H", units) + raw + b"\x00\x00"


def palette_name(name: str) -> str:
    """The group name written for a palette (never empty: GIMP and Adobe show it)."""
    return binary_name(name, (0, 0, 0)) if name else "kmq"


def write(p: Palette) -> bytes:
    """The palette as an ``.ase`` file (one group, RGB, normal colours)."""
    if len(p) == 0:
        raise KmqError(f"{WHAT}: cannot write an empty palette (GIMP refuses files without colours)")
    blocks = []
    group = _name_field(palette_name(p.name))
    blocks.append(struct.pack(">HI", GROUP_START, len(group)) + group)
    for rgb, name in zip(p.colors, p.names):
        body = (
            _name_field(binary_name(name, rgb))
            + b"RGB "
            + struct.pack(">3f", *(np.float32(int(v) / 255.0) for v in rgb))
            + struct.pack(">H", NORMAL)
        )
        blocks.append(struct.pack(">HI", COLOR, len(body)) + body)
    blocks.append(struct.pack(">HI", GROUP_END, 0))
    return MAGIC + struct.pack(">HHI", 1, 0, len(blocks)) + b"".join(blocks)


def _read_name(r: Reader) -> str:
    units = r.u16()
    if units == 0:
        return ""
    raw = r.take(2 * units)
    name = utf16be(raw, WHAT)
    if not name.endswith("\x00"):
        raise KmqError(f"{WHAT}: a name is not NUL-terminated")
    return name[:-1].rstrip("\x00")[:MAX_NAME_CHARS]


def _to_rgb(model: bytes, values: tuple[float, ...]) -> list[int]:
    from skimage.color import lab2rgb  # loaded when a file holds such colours

    v = np.asarray(values, np.float64)
    if not np.all(np.isfinite(v)):
        raise ValueError("not a finite number")
    if model == b"RGB ":
        return unit_to_u8(v)
    if model in (b"Gray", b"GRAY"):
        return unit_to_u8(np.repeat(v[:1], 3))
    if model == b"CMYK":
        c, m, y, k = np.clip(v, 0.0, 1.0)
        return unit_to_u8([(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)])
    if model == b"LAB ":
        lab = np.array([[[v[0] * 100.0, v[1], v[2]]]])
        lab = np.clip(lab, [0.0, -128.0, -128.0], [100.0, 127.0, 127.0])
        return unit_to_u8(lab2rgb(lab).reshape(3))
    raise KmqError(f"{WHAT}: unknown colour model {model!r}")


_COMPONENTS = {b"RGB ": 3, b"Gray": 1, b"GRAY": 1, b"CMYK": 4, b"LAB ": 3}


def read(data: bytes) -> Palette:
    """Read an ``.ase`` file; raise :class:`KmqError` if it is not one."""
    r = Reader(check_size(data, WHAT), WHAT)
    if data[:4] != MAGIC:
        raise KmqError(f"{WHAT}: not an Adobe Swatch Exchange file (no 'ASEF' signature)")
    r.take(4)
    major, _minor, count = r.unpack("HHI")
    if major != 1:
        raise KmqError(f"{WHAT}: unsupported version {major}")
    if count > r.left // 6:  # every block has at least a 6-byte header
        raise KmqError(f"{WHAT}: {count} blocks cannot fit in {len(data)} bytes")
    colors: list[list[int]] = []
    names: list[str] = []
    palette_name = ""
    for _ in range(count):
        kind, length = r.unpack("HI")
        body = Reader(r.take(length), WHAT)
        if kind == GROUP_START:
            name = _read_name(body)
            if not palette_name:
                palette_name = name
        elif kind == COLOR:
            name = _read_name(body)
            model = body.take(4)
            n = _COMPONENTS.get(model)
            if n is None:
                raise KmqError(f"{WHAT}: unknown colour model {model!r}")
            values = body.unpack(f"{n}f")
            ctype = body.u16()
            if ctype > 2:
                raise KmqError(f"{WHAT}: unknown colour type {ctype}")
            try:
                rgb = _to_rgb(model, values)
            except ValueError:
                raise KmqError(f"{WHAT}: colour {len(colors) + 1} has a component that is not a number") from None
            if len(colors) >= MAX_COLORS:
                raise KmqError(f"{WHAT}: more than the {MAX_COLORS} colours kmq reads")
            colors.append(rgb)
            names.append(binary_name(name, rgb))
        elif kind == GROUP_END:
            pass
        else:
            raise KmqError(f"{WHAT}: unknown block type 0x{kind:04x}")
    return make_palette(colors, names, palette_name, WHAT)
