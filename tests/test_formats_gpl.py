"""GIMP palette (.gpl): exact layout, round trips, sanitising, hostile input, Pillow."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import GimpPaletteFile

from kmq_core.errors import KmqError
from kmq_core.formats import gpl
from kmq_core.formats._common import entry_name
from kmq_core.palette import Palette
from palette_strategies import mutated, only_kmq_error, palettes

P = Palette(np.array([[255, 0, 0], [0, 128, 255], [7, 7, 7]]), names=("red", " sky", "Ünïcødé"), name="Sunset")


def test_exact_layout_gimp_writes():
    assert gpl.write(P).decode("utf-8") == (
        "GIMP Palette\n"
        "Name: Sunset\n"
        "Columns: 3\n"
        "#\n"
        "255   0   0\tred\n"
        "  0 128 255\t sky\n"
        "  7   7   7\tÜnïcødé\n"
    )


def test_columns_capped_at_16():
    p = Palette(np.zeros((40, 3), np.uint8))
    assert b"\nColumns: 16\n" in gpl.write(p)


def test_names_sanitised_to_one_line():
    p = Palette(np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]]), names=("a\nb\r\nc", "", "x\x00y\u2028z"), name=" two\nlines ")
    text = gpl.write(p).decode("utf-8")
    assert text.count("\n") == 4 + 3
    q = gpl.read(gpl.write(p))
    assert q.names == ("a b  c", "#040506", "x y z")
    assert q.name == "two lines"


@settings(max_examples=60, deadline=None)
@given(palettes())
def test_round_trip(p):
    q = gpl.read(gpl.write(p))
    assert np.array_equal(q.colors, p.colors)
    assert q.names == tuple(entry_name(n, c) for n, c in zip(p.names, p.colors))
    assert q.name == gpl.palette_name(p.name)


def test_reads_gimp_variants():
    data = (
        "GIMP Palette\r\nName:  Spaced  \r\nColumns: 4\r\n# comment\r\n\r\n"
        "  1 2 3\r\n4\t5\t6\tsix\r\n   \r\n255 255 255  two spaces\r\n"
    ).encode()
    q = gpl.read(data)
    assert q.name == "Spaced"
    assert q.hex == ["#010203", "#040506", "#ffffff"]
    assert q.names == ("#010203", "six", " two spaces")


def test_old_format_without_name_line():
    q = gpl.read(b"GIMP Palette\n1 2 3 a\n")
    assert q.name == "" and q.names == ("a",)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "first line"),
        (b"GIMP Palettx\n", "first line"),
        (b"GIMP Palette\nName: x\nColumns: abc\n1 2 3\n", "column count"),
        (b"GIMP Palette\nName: x\n1 2\n", "line 3"),
        (b"GIMP Palette\nName: x\n1 2 300 big\n", "0-255"),
        (b"GIMP Palette\nName: x\n-1 2 3\n", "0-255"),
        (b"GIMP Palette\nName: x\n", "no colours"),
        (b"GIMP Palette\nName: \xff\n1 2 3\n", "UTF-8"),
    ],
)
def test_refuses_bad_files(data, message):
    with pytest.raises(KmqError, match=message):
        gpl.read(data)


def test_count_capped():
    data = b"GIMP Palette\nName: x\n" + b"1 2 3\n" * 65536
    with pytest.raises(KmqError, match="65535"):
        gpl.read(data)


def test_refuses_empty_palette():
    with pytest.raises(KmqError):
        gpl.write(Palette(np.zeros((0, 3), np.uint8)))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    only_kmq_error(gpl.read, data)
    only_kmq_error(gpl.read, b"GIMP Palette\n" + data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data):
    only_kmq_error(gpl.read, data.draw(mutated(gpl.write(P))))


# --- independent reader: Pillow's GimpPaletteFile (no names; <= 256 entries, lines <= 100 bytes)


@settings(max_examples=40, deadline=None)
@given(palettes(max_size=256))
def test_pillow_reads_same_colours(p):
    data = gpl.write(p)
    assert np.array_equal(np.frombuffer(GimpPaletteFile.GimpPaletteFile.frombytes(data).palette, np.uint8).reshape(-1, 3), p.colors)


def test_pillow_limited_reader_on_256_named_colours():
    rng = np.random.default_rng(0)
    p = Palette(rng.integers(0, 256, (256, 3)), names=tuple(f"colour {i}" for i in range(256)))
    pal, mode = GimpPaletteFile.GimpPaletteFile(io.BytesIO(gpl.write(p))).getpalette()
    assert mode == "RGB" and pal == p.colors.tobytes()
