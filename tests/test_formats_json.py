"""kmq JSON palettes: exact round trips (with shares), other shapes, hostile input."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmq_core.errors import KmqError
from kmq_core.formats import json_
from kmq_core.palette import Palette
from palette_strategies import mutated, only_kmq_error, palettes

P = Palette(np.array([[255, 0, 0], [0, 128, 255]]), np.array([0.75, 0.25]), ("red", "sky"), "Sunset")


def test_layout():
    obj = json.loads(json_.write(P))
    assert obj == {
        "format": "kmq-palette", "version": 1, "name": "Sunset",
        "colors": [{"hex": "#ff0000", "name": "red", "share": 0.75}, {"hex": "#0080ff", "name": "sky", "share": 0.25}],
    }


@settings(max_examples=60, deadline=None)
@given(palettes(weights=True))
def test_round_trip_exact(p):
    q = json_.read(json_.write(p))
    assert q == p
    assert np.array_equal(q.weights, p.weights)


def test_other_shapes():
    assert json_.read(b'["#f00", "00ff00"]').hex == ["#ff0000", "#00ff00"]
    q = json_.read(b'{"colors": ["#0000ff", {"hex": "#010203"}]}')
    assert q.names == ("#0000ff", "#010203") and q.name == ""


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff", "UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "nested|JSON"),
        (b'{"colors": 5}', "colors"),
        (b'{"format": "other", "colors": []}', "unknown format"),
        (b'{"colors": [{"name": "x"}]}', "hex"),
        (b'{"colors": [{"hex": "#zzzzzz"}]}', "not a colour"),
        (b'{"colors": [{"hex": "#000000", "share": NaN}]}', "NaN"),
        (b'{"colors": [{"hex": "#000000", "share": -1}]}', "share"),
        (b'{"colors": [{"hex": "#000000", "share": true}]}', "share"),
        (b'{"colors": [{"hex": "#000000", "name": 3}]}', "name"),
        (b'{"name": [], "colors": ["#000000"]}', "name"),
        (b'{"colors": []}', "no colours"),
    ],
)
def test_refuses_bad_files(data, message):
    with pytest.raises(KmqError, match=message):
        json_.read(data)


def test_count_capped():
    with pytest.raises(KmqError, match="65535"):
        json_.read(json.dumps(["#000000"] * 65536).encode())


def test_refuses_non_finite_weights_on_write():
    with pytest.raises(KmqError, match="finite"):
        json_.write(Palette(np.zeros((1, 3), np.uint8), np.array([np.inf])))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    only_kmq_error(json_.read, data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data):
    only_kmq_error(json_.read, data.draw(mutated(json_.write(P))))
