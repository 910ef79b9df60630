"""Photoshop colour table (.act): the 768-byte form kmq writes, both forms read."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmq_core.errors import KmqError
from kmq_core.formats import act
from kmq_core.palette import Palette
from palette_strategies import mutated, only_kmq_error, palettes

P = Palette(np.array([[255, 0, 0], [0, 128, 255], [1, 2, 3]]), names=("a", "b", "c"), name="x")


def test_writes_exactly_768_bytes_padded_with_the_last_colour():
    data = act.write(P)
    assert len(data) == 768
    table = np.frombuffer(data, np.uint8).reshape(256, 3)
    assert np.array_equal(table[:3], P.colors)
    assert (table[3:] == [1, 2, 3]).all()


def test_full_256_table_has_no_padding():
    colors = np.random.default_rng(0).integers(0, 256, (256, 3)).astype(np.uint8)
    assert act.write(Palette(colors)) == colors.tobytes()


@settings(max_examples=60, deadline=None)
@given(palettes(max_size=256))
def test_round_trip_colours_and_order(p):
    q = act.read(act.write(p))
    assert np.array_equal(q.colors, act.collapse_trailing(p.colors))
    assert q.names == tuple(q.hex)  # no names in the format: hex codes


def test_round_trip_is_exact_without_trailing_repeats():
    q = act.read(act.write(P))
    assert np.array_equal(q.colors, P.colors)


def test_black_padded_768_from_other_writers():
    data = bytes([9, 9, 9, 200, 100, 50]) + bytes(762)
    assert act.read(data).hex == ["#090909", "#c86432", "#000000"]


def test_reads_photoshop_772_form_by_count():
    table = np.zeros((256, 3), np.uint8)
    table[:2] = [[5, 6, 7], [5, 6, 7]]
    data = table.tobytes() + (2).to_bytes(2, "big") + b"\xff\xff"
    assert act.read(data).hex == ["#050607", "#050607"]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "768 or 772"),
        (bytes(767), "768 or 772"),
        (bytes(768) + b"\0\0\xff\xff", "count 0"),
        (bytes(768) + b"\1\1\xff\xff", "count 257"),
    ],
)
def test_refuses_bad_files(data, message):
    with pytest.raises(KmqError, match=message):
        act.read(data)


def test_refuses_more_than_256_and_empty():
    with pytest.raises(KmqError, match="256"):
        act.write(Palette(np.zeros((257, 3), np.uint8)))
    with pytest.raises(KmqError, match="empty"):
        act.write(Palette(np.zeros((0, 3), np.uint8)))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=800), st.binary(min_size=768, max_size=768), st.binary(min_size=772, max_size=772)))
def test_fuzz_random_bytes(data):
    only_kmq_error(act.read, data)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data):
    only_kmq_error(act.read, data.draw(mutated(act.write(P))))
