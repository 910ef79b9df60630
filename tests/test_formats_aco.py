"""Photoshop swatches (.aco): v1 + v2 layout, round trips, colour spaces, hostile input."""

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmq_core.errors import KmqError
from kmq_core.formats import aco
from kmq_core.formats._common import binary_name
from kmq_core.palette import Palette
from palette_strategies import mutated, only_kmq_error, palettes

P = Palette(np.array([[255, 0, 0], [0, 128, 255]]), names=("red", "😀"), name="Sunset")


def test_layout_version1_then_version2_with_names():
    data = aco.write(P)
    v1 = struct.pack(">HH", 1, 2) + struct.pack(">5H", 0, 65535, 0, 0, 0) + struct.pack(">5H", 0, 0, 128 * 257, 65535, 0)
    assert data.startswith(v1)
    v2 = data[len(v1):]
    assert v2[:4] == struct.pack(">HH", 2, 2)
    first = struct.pack(">5H", 0, 65535, 0, 0, 0) + struct.pack(">I", 4) + "red".encode("utf-16-be") + b"\0\0"
    second = struct.pack(">5H", 0, 0, 128 * 257, 65535, 0) + struct.pack(">I", 3) + "😀".encode("utf-16-be") + b"\0\0"
    assert v2[4:] == first + second


@settings(max_examples=60, deadline=None)
@given(palettes())
def test_round_trip(p):
    q = aco.read(aco.write(p))
    assert np.array_equal(q.colors, p.colors)
    assert q.names == tuple(binary_name(n, c) for n, c in zip(p.names, p.colors))


def test_reads_version1_only_and_version2_only():
    v1 = struct.pack(">HH5H", 1, 1, 0, 257 * 10, 257 * 20, 257 * 30, 0)
    assert aco.read(v1).hex == ["#0a141e"] and aco.read(v1).names == ("#0a141e",)
    v2 = struct.pack(">HH5HI", 2, 1, 0, 0, 0, 65535, 0, 3) + "ab".encode("utf-16-be") + b"\0\0"
    q = aco.read(v2)
    assert q.hex == ["#0000ff"] and q.names == ("ab",)


def _v1(*records):
    return struct.pack(">HH", 1, len(records)) + b"".join(struct.pack(">5H", *r) for r in records)


def test_other_colour_spaces():
    q = aco.read(_v1(
        (1, 0, 65535, 65535, 0),        # HSB pure red
        (1, 21845, 65535, 65535, 0),    # HSB hue 120: green
        (2, 65535, 0, 0, 65535),        # CMYK (0 = full ink): cyan=0, m=y=100% -> red
        (2, 65535, 65535, 65535, 0),    # full black ink
        (7, 10000, 0, 0, 0),            # Lab white
        (7, 5000, 0, 0, 0),             # Lab L 50 -> 119
        (8, 0, 0, 0, 0),                # gray 0 = white
        (8, 10000, 0, 0, 0),            # gray 10000 = black
    ))
    assert q.hex == ["#ff0000", "#00ff00", "#ff0000", "#000000", "#ffffff", "#777777", "#ffffff", "#000000"]


def test_negative_lab_components():
    a = (-2000) & 0xFFFF
    q = aco.read(_v1((7, 5000, a, 0, 0)))
    r, g, b = (int(v) for v in q.colors[0])
    assert g > r  # negative a* is greenish


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "too short"),
        (b"\0\3\0\0", "version"),
        (b"\0\1\0\5", "truncated"),
        (_v1((3, 0, 0, 0, 0)), "Pantone"),
        (_v1((99, 0, 0, 0, 0)), "colour space 99"),
        (_v1((0, 0, 0, 0, 0)) + b"\0\7", "after the version 1"),
        (_v1((0, 0, 0, 0, 0)) + struct.pack(">HH", 2, 2) + bytes(40), "different numbers"),
        (struct.pack(">HH5HI", 2, 1, 0, 0, 0, 0, 0, 0xFFFFFFFF), "truncated"),
        (struct.pack(">HH5HI", 2, 1, 0, 0, 0, 0, 0, 1) + b"\0A", "NUL"),
        (struct.pack(">HH5HI", 2, 1, 0, 0, 0, 0, 0, 2) + b"\xdc\0\0\0", "UTF-16"),
        (struct.pack(">HH", 1, 0), "no colours"),
    ],
)
def test_refuses_bad_files(data, message):
    with pytest.raises(KmqError, match=message):
        aco.read(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    only_kmq_error(aco.read, data)
    only_kmq_error(aco.read, b"\0\1" + data)
    only_kmq_error(aco.read, b"\0\2" + data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data):
    only_kmq_error(aco.read, data.draw(mutated(aco.write(P))))
