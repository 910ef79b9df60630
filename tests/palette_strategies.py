"""Hypothesis strategies and fuzz helpers shared by the palette format tests."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kmq_core.errors import KmqError
from kmq_core.palette import Palette

#: any Unicode text without lone surrogates (which no UTF encoding can store)
names = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
#: names biased towards the awkward cases: line breaks, NUL, separators, emoji, RTL
tricky = st.sampled_from(
    ["", " ", "\t", "a\nb", "a\r\nb", "\x00", "x\x00y", " lead", "trail ", "*/", "/*", '"q"',
     "\\", "😀 emoji", "שלום", "漢字", "\u2028", "#ff0000", "Untitled", "a;b", "--kmq-1: #000;"]
)
entry_names = st.one_of(names, tricky)


@st.composite
def palettes(draw, min_size: int = 1, max_size: int = 256, weights: bool = False) -> Palette:
    n = draw(st.integers(min_size, max_size))
    colors = draw(arrays(np.uint8, (n, 3)))
    ns = draw(st.lists(entry_names, min_size=n, max_size=n))
    w = None
    if weights:
        w = np.array(draw(st.lists(st.floats(0, 1, allow_nan=False), min_size=n, max_size=n)))
    return Palette(colors, w, tuple(ns), draw(st.one_of(names, tricky)))


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """``valid`` with a few bytes flipped, cut, duplicated or inserted."""
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "dup", "set"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from([0, 0xFF, 0x7F, 0x80, 0x0A, 0x0D, 0x20]))
        elif op == "cut":
            data = data[:pos]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "dup":
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 64))]
    return bytes(data)


def only_kmq_error(read, data: bytes) -> None:
    """``read(data)`` returns a Palette or raises KmqError with a one-line message."""
    try:
        p = read(data)
    except KmqError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg, repr(msg)
        return
    assert isinstance(p, Palette)
