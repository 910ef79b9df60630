"""Photoshop colour table (``.act``): Image ▸ Mode ▸ Color Table, Save for Web.

Two forms exist: 256 RGB triplets (768 bytes), and Photoshop's newer form with
a 4-byte trailer, u16 number of colours and u16 transparent index (0xFFFF for
none), 772 bytes. GIMP 3.0.4 recognises only the 768-byte form (the 772-byte
form is "Unknown type of palette file") and then takes all 256 slots.

kmq writes the 768-byte form, because every program that reads ``.act`` reads
it (Photoshop, GIMP, Paint Shop Pro, Aseprite, ImageMagick); the count trailer
would make GIMP refuse the file. Unused slots repeat the LAST colour rather
than black: a program that indexes an image with this table then has no
colour to map to that is not in the palette (black padding would add black).
Consequently, when reading the 768-byte form (which has no count), a trailing
run of identical colours is read as ONE colour; that covers kmq's padding and
the black padding of other writers, at the price of collapsing a palette that
truly ends with repeated colours. The 772-byte form is read by its count.
The format holds neither names nor a palette name.
"""

from __future__ import annotations

import numpy as np

from ..errors import KmqError
from ..palette import Palette
from ._common import check_size, make_palette

WHAT = ".act"
EXTENSIONS = ("act",)
MIME = "application/octet-stream"
HOLDS_NAMES = False
SLOTS = 256


def write(p: Palette) -> bytes:
    """The palette as a 768-byte ``.act`` colour table (last colour repeated)."""
    n = len(p)
    if n == 0:
        raise KmqError(f"{WHAT}: cannot write an empty palette")
    if n > SLOTS:
        raise KmqError(f"{WHAT}: a colour table holds at most {SLOTS} colours, this palette has {n}")
    table = np.empty((SLOTS, 3), np.uint8)
    table[:n] = p.colors
    table[n:] = p.colors[-1]
    return table.tobytes()


def collapse_trailing(colors: np.ndarray) -> np.ndarray:
    """``colors`` with a trailing run of identical colours reduced to one."""
    n = len(colors)
    while n > 1 and np.array_equal(colors[n - 1], colors[n - 2]):
        n -= 1
    return colors[:n]


def read(data: bytes) -> Palette:
    """Read a 768- or 772-byte ``.act`` file."""
    data = check_size(data, WHAT)
    if len(data) == 768:
        colors = collapse_trailing(np.frombuffer(data, np.uint8).reshape(SLOTS, 3))
    elif len(data) == 772:
        count = int.from_bytes(data[768:770], "big")
        if not 1 <= count <= SLOTS:
            raise KmqError(f"{WHAT}: invalid colour count {count} (expected 1-256)")
        colors = np.frombuffer(data, np.uint8, count * 3).reshape(count, 3)
    else:
        raise KmqError(f"{WHAT}: a colour table is 768 or 772 bytes, this file has {len(data)}")
    return make_palette(colors, None, "", WHAT)
