"""Plain hex lists (.hex/.txt): layout, round trips, Lospec files, hostile input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmq_core.errors import KmqError
from kmq_core.formats import hexlist
from kmq_core.formats._common import one_line
from kmq_core.palette import Palette
from palette_strategies import mutated, only_kmq_error, palettes

P = Palette(np.array([[255, 0, 0], [0, 128, 255], [1, 2, 3]]), names=("red", "#0080ff", " two\nlines"))


def test_layout():
    assert hexlist.write(P).decode() == "#ff0000 red\n#0080ff\n#010203  two lines\n"


@settings(max_examples=60, deadline=None)
@given(palettes())
def test_round_trip(p):
    q = hexlist.read(hexlist.write(p))
    assert np.array_equal(q.colors, p.colors)
    assert q.names == tuple(one_line(n) or h for n, h in zip(p.names, p.hex))


def test_reads_lospec_and_comments():
    q = hexlist.read(b"; paint.net style comment\r\n// another\r\nFF0000\r\n\r\n00ff00\tgreen\r\n")
    assert q.hex == ["#ff0000", "#00ff00"] and q.names == ("#ff0000", "green")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "no colours"),
        (b"#ff00\n", "line 1"),
        (b"#ff0000\nnope\n", "line 2"),
        (b"#ff0000x\n", "line 1"),
        (b"\xff\n", "UTF-8"),
    ],
)
def test_refuses_bad_files(data, message):
    with pytest.raises(KmqError, match=message):
        hexlist.read(data)


def test_count_capped():
    with pytest.raises(KmqError, match="65535"):
        hexlist.read(b"#000000\n" * 65536)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    only_kmq_error(hexlist.read, data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data):
    only_kmq_error(hexlist.read, data.draw(mutated(hexlist.write(P))))
