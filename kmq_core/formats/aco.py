"""Photoshop colour swatches (``.aco``): the Swatches panel's own format.

Layout (big-endian u16 unless noted): a version 1 block — version 1, count,
then per colour the colour space and four 16-bit values — followed by a
version 2 block with the same colours, each followed by a u32 name length in
UTF-16 code units including the NUL and the UTF-16BE name with ``00 00``.
Old readers (and GIMP 3.0.4, which reads only the first block and ignores
names) stop after version 1; Photoshop reads the names from version 2.

The writer always writes both blocks, RGB colour space (0), each 8-bit value
v stored as v × 257 so 255 becomes 65535. The reader takes version 2 when
present (for the names), else version 1, and converts the other colour
spaces Photoshop writes: HSB (1) through scikit-image's ``hsv2rgb``, CMYK (2,
uncalibrated: 0 is full ink), Lab (7, L × 100 and signed a/b × 100, through
``lab2rgb``) and grayscale (8, 0 white to 10000 black, as GIMP reads it).
Colour-book spaces (Pantone, Focoltone, Trumatch, Toyo, HKS…) hold only a
reference into a book Photoshop ships, not a colour, and are refused.

Written by hand: no maintained Python library reads or writes ``.aco``.
"""

from __future__ import annotations

import struct

import numpy as np

from ..errors import KmqError
from ..palette import Palette
from ._common import (
    MAX_NAME_CHARS,
    Reader,
    binary_name,
    check_size,
    encode_utf16be,
    make_palette,
    unit_to_u8,
    utf16be,
)

WHAT = ".aco"
EXTENSIONS = ("aco",)
MIME = "application/octet-stream"
HOLDS_NAMES = True
RGB, HSB, CMYK, LAB, GRAY = 0, 1, 2, 7, 8
_BOOKS = {3: "Pantone", 4: "Focoltone", 5: "Trumatch", 6: "Toyo", 9: "wide CMYK", 10: "HKS"}


def write(p: Palette) -> bytes:
    """The palette as an ``.aco`` file (version 1 then version 2 with names)."""
    n = len(p)
    if n == 0:
        raise KmqError(f"{WHAT}: cannot write an empty palette")
    if n > 0xFFFF:
        raise KmqError(f"{WHAT}: the format holds at most 65535 colours")
    records = [struct.pack(">5H", RGB, *(int(v) * 257 for v in rgb), 0) for rgb in p.colors]
    v1 = struct.pack(">HH", 1, n) + b"".join(records)
    v2 = [struct.pack(">HH", 2, n)]
    for record, rgb, name in zip(records, p.colors, p.names):
        raw = encode_utf16be(binary_name(name, rgb), WHAT)
        v2.append(record + struct.pack(">I", len(raw) // 2 + 1) + raw + b"\x00\x00")
    return v1 + b"".join(v2)


def _to_rgb(space: int, w: int, x: int, y: int, z: int) -> list[int]:
    from skimage.color import hsv2rgb, lab2rgb  # loaded when a file holds such colours

    if space == RGB:
        return [int(round(v / 257.0)) for v in (w, x, y)]
    if space == HSB:
        hsv = np.array([[[w / 65536.0, x / 65535.0, y / 65535.0]]])
        return unit_to_u8(hsv2rgb(hsv).reshape(3))
    if space == CMYK:
        c, m, ye, k = (1.0 - v / 65535.0 for v in (w, x, y, z))
        return unit_to_u8([(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - ye) * (1 - k)])
    if space == LAB:
        a, b = (v - 65536 if v >= 32768 else v for v in (x, y))
        lab = np.array([[[min(w / 100.0, 100.0), a / 100.0, b / 100.0]]])
        lab = np.clip(lab, [0.0, -128.0, -128.0], [100.0, 127.0, 127.0])
        return unit_to_u8(lab2rgb(lab).reshape(3))
    if space == GRAY:
        v = 1.0 - min(w, 10000) / 10000.0
        return unit_to_u8([v, v, v])
    book = _BOOKS.get(space)
    if book:
        raise KmqError(f"{WHAT}: colour space {space} ({book}) refers to a colour book, not a colour; "
                       "export the swatches as RGB from Photoshop")
    raise KmqError(f"{WHAT}: unknown colour space {space}")


def _read_block(r: Reader, version: int) -> tuple[list[list[int]], list[str]]:
    count = r.u16()
    # each record is at least 10 bytes (version 2: 16): refuse counts that cannot fit
    if count * (10 if version == 1 else 16) > r.left:
        raise KmqError(f"{WHAT}: truncated file ({count} colours announced, {r.left} bytes left)")
    colors, names = [], []
    for _ in range(count):
        space, w, x, y, z = r.unpack("5H")
        rgb = _to_rgb(space, w, x, y, z)
        name = ""
        if version == 2:
            units = r.u32()
            if units:
                raw = utf16be(r.take(2 * units), WHAT)
                if not raw.endswith("\x00"):
                    raise KmqError(f"{WHAT}: a name is not NUL-terminated")
                name = raw[:-1][:MAX_NAME_CHARS]
        colors.append(rgb)
        names.append(binary_name(name, rgb))
    return colors, names


def read(data: bytes) -> Palette:
    """Read an ``.aco`` file; raise :class:`KmqError` if it is not one."""
    r = Reader(check_size(data, WHAT), WHAT)
    if len(data) < 4:
        raise KmqError(f"{WHAT}: file too short to be a Photoshop swatch file")
    version = r.u16()
    if version not in (1, 2):
        raise KmqError(f"{WHAT}: not a Photoshop swatch file (version {version}, expected 1 or 2)")
    colors, names = _read_block(r, version)
    if version == 1 and r.left:
        if r.left < 4 or r.u16() != 2:
            raise KmqError(f"{WHAT}: unexpected data after the version 1 block")
        colors2, names2 = _read_block(r, 2)
        if len(colors2) != len(colors):
            raise KmqError(f"{WHAT}: the version 1 and 2 blocks hold different numbers of colours")
        colors, names = colors2, names2
    return make_palette(colors, names, "", WHAT)
