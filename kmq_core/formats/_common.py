"""Helpers shared by the palette format modules: limits, names, bounded reading.

Every reader works on ``bytes`` already in memory and checks each length
against what is left before it reads, so a hostile file can neither make a
reader loop for long nor allocate more than a small multiple of its own size.
"""

from __future__ import annotations

import re
import struct

import numpy as np

from ..errors import KmqError
from ..palette import Palette, hex_code

#: the largest palette any reader accepts (also the Palette model's limit)
MAX_COLORS = 65535
#: the largest palette file any reader accepts
MAX_FILE_BYTES = 16 * 1024 * 1024
#: the longest colour or palette name written or read, in characters
MAX_NAME_CHARS = 1024

# What str.splitlines() treats as line breaks, plus NUL (C readers stop at it).
_LINE_BREAKS = re.compile("[\x00\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def check_size(data: bytes, what: str) -> bytes:
    """Refuse non-bytes and files above :data:`MAX_FILE_BYTES`."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise KmqError(f"{what}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_FILE_BYTES:
        raise KmqError(f"{what}: file is too large ({len(data)} bytes, the limit is {MAX_FILE_BYTES})")
    return data


def check_count(n: int, what: str) -> int:
    if n > MAX_COLORS:
        raise KmqError(f"{what}: {n} colours is more than the {MAX_COLORS} kmq reads")
    return n


def one_line(name: str) -> str:
    """``name`` with line breaks and NUL replaced by spaces (for line-based formats)."""
    return _LINE_BREAKS.sub(" ", str(name))


def entry_name(name: str, rgb) -> str:
    """A name fit for a named format: one line, no NUL, never empty (the hex code then)."""
    cleaned = one_line(name)[:MAX_NAME_CHARS]
    return cleaned if cleaned else hex_code(rgb)


def binary_name(name: str, rgb) -> str:
    """A name fit for a binary format with length-prefixed names: no NUL, never empty."""
    cleaned = str(name).replace("\x00", " ")[:MAX_NAME_CHARS]
    return cleaned if cleaned else hex_code(rgb)


def text(data: bytes, what: str) -> str:
    """Decode a UTF-8 text format (a leading BOM is allowed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KmqError(f"{what}: not UTF-8 text (bad byte at offset {exc.start})") from None


def utf16be(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-16-be")
    except UnicodeDecodeError:
        raise KmqError(f"{what}: a name is not valid UTF-16") from None


def encode_utf16be(name: str, what: str) -> bytes:
    try:
        return name.encode("utf-16-be")
    except UnicodeEncodeError:
        raise KmqError(f"{what}: name {name!r} cannot be stored (lone surrogate)") from None


def encode_utf8(s: str, what: str) -> bytes:
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError:
        raise KmqError(f"{what}: name {s!r} cannot be stored (lone surrogate)") from None


def make_palette(colors, names: list[str] | None, name: str, what: str, weights=None) -> Palette:
    """A Palette from what a reader collected (no names: the hex codes)."""
    if len(colors) == 0:
        raise KmqError(f"{what}: the file holds no colours")
    check_count(len(colors), what)
    arr = np.asarray(colors, dtype=np.int64).reshape(-1, 3)
    return Palette(np.clip(arr, 0, 255).astype(np.uint8), weights, None if names is None else tuple(names), name)


def unit_to_u8(values) -> list[int]:
    """Components in 0..1 (clamped) to 0..255, rounding to nearest."""
    arr = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("not a finite number")
    return [int(v) for v in np.rint(np.clip(arr, 0.0, 1.0) * 255.0)]


class Reader:
    """Big-endian reads from ``bytes`` that raise :class:`KmqError` past the end."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    @property
    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.left:
            raise KmqError(f"{self.what}: truncated file (needs {n} bytes at offset {self.pos}, {self.left} left)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str):
        return struct.unpack(">" + fmt, self.take(struct.calcsize(">" + fmt)))

    def u16(self) -> int:
        return self.unpack("H")[0]

    def u32(self) -> int:
        return self.unpack("I")[0]
