"""Adobe Swatch Exchange (.ase): layout, round trips, the spec's other shapes, hostile input,
and the PyPI ``swatch`` parser as an independent reader and writer."""

import struct

import numpy as np
import pytest
import swatch
from hypothesis import given, settings
from hypothesis import strategies as st

from kmq_core.errors import KmqError
from kmq_core.formats import ase
from kmq_core.formats._common import binary_name
from kmq_core.palette import Palette
from palette_strategies import mutated, only_kmq_error, palettes

P = Palette(np.array([[255, 0, 0], [0, 128, 255], [7, 7, 7]]), names=("red", "", "漢字 😀"), name="Sunset")


def blocks(data):
    """(type, body) of every block, checked against the header's count."""
    assert data[:4] == b"ASEF" and struct.unpack(">HH", data[4:8]) == (1, 0)
    (count,) = struct.unpack(">I", data[8:12])
    pos, out = 12, []
    while pos < len(data):
        kind, length = struct.unpack(">HI", data[pos:pos + 6])
        out.append((kind, data[pos + 6:pos + 6 + length]))
        pos += 6 + length
    assert pos == len(data) and len(out) == count
    return out


def test_layout_one_group_rgb_normal_named():
    b = blocks(ase.write(P))
    assert [k for k, _ in b] == [0xC001, 1, 1, 1, 0xC002]
    assert b[0][1] == struct.pack(">H", 7) + "Sunset".encode("utf-16-be") + b"\0\0"
    assert b[-1][1] == b""
    for (_, body), rgb in zip(b[1:-1], P.colors):
        (units,) = struct.unpack(">H", body[:2])
        assert units > 1  # never an empty name
        rest = body[2 + 2 * units:]
        assert rest[:4] == b"RGB "
        assert struct.unpack(">3fH", rest[4:]) == tuple(np.float32(v / 255) for v in rgb) + (2,)
    # the empty name became the hex code; the emoji takes two UTF-16 units
    assert b[2][1][:2] == struct.pack(">H", 8)
    assert b[3][1][:2] == struct.pack(">H", 6)


def test_single_colour_still_has_more_than_one_block():
    # GIMP refuses a file with a single block ("Invalid number of colors")
    assert len(blocks(ase.write(Palette(np.array([[1, 2, 3]]))))) == 3


@settings(max_examples=60, deadline=None)
@given(palettes())
def test_round_trip(p):
    q = ase.read(ase.write(p))
    assert np.array_equal(q.colors, p.colors)
    assert q.names == tuple(binary_name(n, c) for n, c in zip(p.names, p.colors))
    assert q.name == ase.palette_name(p.name)


def test_names_kept_exactly_except_nul():
    p = Palette(np.zeros((3, 3), np.uint8), names=("a\nb", "x\x00y", " lead"), name="two\nlines")
    q = ase.read(ase.write(p))
    assert q.names == ("a\nb", "x y", " lead") and q.name == "two\nlines"


def _colour(name, model, values, ctype=2):
    body = struct.pack(">H", len(name) + 1) + name.encode("utf-16-be") + b"\0\0" + model
    body += struct.pack(f">{len(values)}fH", *values, ctype)
    return struct.pack(">HI", 1, len(body)) + body


def _group(name):
    body = struct.pack(">H", len(name) + 1) + name.encode("utf-16-be") + b"\0\0"
    return struct.pack(">HI", 0xC001, len(body)) + body


def _file(*bs):
    return b"ASEF" + struct.pack(">HHI", 1, 0, len(bs)) + b"".join(bs)


END = struct.pack(">HI", 0xC002, 0)


def test_reads_flat_list_multiple_groups_and_other_models():
    data = _file(
        _colour("flat", b"RGB ", [1, 0, 0], 0),
        _group("First"), _colour("g1", b"Gray", [0.5]), END,
        _group("Second"),
        _colour("g2", b"GRAY", [1.0]),
        _colour("c", b"CMYK", [0, 1, 1, 0], 1),
        _colour("k", b"CMYK", [0, 0, 0, 1]),
        _colour("labwhite", b"LAB ", [1.0, 0, 0]),
        _colour("labred", b"LAB ", [0.5328, 80.09, 67.2]),
        END,
    )
    q = ase.read(data)
    assert q.name == "First"
    assert q.names == ("flat", "g1", "g2", "c", "k", "labwhite", "labred")
    assert q.hex[:6] == ["#ff0000", "#808080", "#ffffff", "#ff0000", "#000000", "#ffffff"]
    assert np.abs(q.colors[6].astype(int) - [255, 0, 0]).max() <= 2


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "ASEF"),
        (b"ASEX" + bytes(8), "ASEF"),
        (b"ASEF\0\2\0\0\0\0\0\0", "version"),
        (b"ASEF\0\1\0\0\xff\xff\xff\xff", "cannot fit"),
        (_file(_group("only")), "no colours"),
        (_file(_colour("x", b"HSV ", [1, 1, 1])), "colour model"),
        (_file(_colour("x", b"RGB ", [float("nan"), 0, 0])), "not a number"),
        (_file(_colour("x", b"RGB ", [1, 0, 0], 7)), "colour type"),
        (_file(struct.pack(">HI", 0x1234, 0)), "block type"),
        (_file(struct.pack(">HI", 1, 1000) + b"\0" * 10), "truncated"),
        (_file(struct.pack(">HI", 1, 6) + b"\xff\xff" + b"\0" * 4), "truncated"),
        (_file(struct.pack(">HI", 0xC001, 6) + b"\0\2\xd8\0\0\0"), "UTF-16"),
        (_file(struct.pack(">HI", 0xC001, 4) + b"\0\1\0A"), "NUL"),
    ],
)
def test_refuses_bad_files(data, message):
    with pytest.raises(KmqError, match=message):
        ase.read(data)


def test_refuses_empty_palette_and_unstorable_names():
    with pytest.raises(KmqError, match="empty"):
        ase.write(Palette(np.zeros((0, 3), np.uint8)))
    with pytest.raises(KmqError, match="surrogate"):
        ase.write(Palette(np.zeros((1, 3), np.uint8), names=("\ud800",)))


def test_huge_block_count_is_refused_without_allocating():
    with pytest.raises(KmqError):
        ase.read(b"ASEF\0\1\0\0\x7f\xff\xff\xff" + bytes(60))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    only_kmq_error(ase.read, data)
    only_kmq_error(ase.read, b"ASEF\0\1\0\0" + data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data):
    only_kmq_error(ase.read, data.draw(mutated(ase.write(P))))


# --- independent reader and writer: the PyPI swatch package


@settings(max_examples=60, deadline=None)
@given(palettes(max_size=64))
def test_swatch_reads_what_kmq_writes(tmp_path_factory, p):
    path = tmp_path_factory.mktemp("ase") / "p.ase"
    path.write_bytes(ase.write(p))
    parsed = swatch.parse(str(path))
    assert len(parsed) == 1 and parsed[0]["type"] == "Color Group"
    assert parsed[0]["name"] == ase.palette_name(p.name)
    entries = parsed[0]["swatches"]
    assert [e["name"] for e in entries] == [binary_name(n, c) for n, c in zip(p.names, p.colors)]
    for e, rgb in zip(entries, p.colors):
        assert e["data"]["mode"] == "RGB" and e["type"] == "Process"
        assert [round(v * 255) for v in e["data"]["values"]] == [int(v) for v in rgb]


def test_kmq_reads_what_swatch_writes(tmp_path):
    doc = [
        {"name": "loose", "type": "Process", "data": {"mode": "RGB", "values": [0.0, 0.5, 1.0]}},
        {"name": "Brand", "type": "Color Group", "swatches": [
            {"name": "ink", "type": "Spot", "data": {"mode": "CMYK", "values": [0.0, 0.0, 0.0, 1.0]}},
            {"name": "paper", "type": "Global", "data": {"mode": "Gray", "values": [1.0]}},
        ]},
        {"name": "Other", "type": "Color Group", "swatches": [
            {"name": "mid", "type": "Process", "data": {"mode": "LAB", "values": [0.5, 0.0, 0.0]}},
        ]},
    ]
    path = tmp_path / "s.ase"
    swatch.write(doc, str(path))
    q = ase.read(path.read_bytes())
    assert q.names == ("loose", "ink", "paper", "mid")
    assert q.hex[:3] == ["#0080ff", "#000000", "#ffffff"]
    assert q.hex[3] == "#777777"  # L* 50 is sRGB 119
    assert q.name == "Brand"
