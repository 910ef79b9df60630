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
        "contrast": {"standard": "WCAG 2.2", "levels": {"AA large": 3.0, "AA": 4.5, "AAA large": 4.5, "AAA": 7.0},
                     "pairs": [{"a": 0, "b": 1, "ratio": 1.0532, "passes": []}]},
    }
    assert json.loads(json_.write(P, contrast=False)) == {k: v for k, v in obj.items() if k != "contrast"}


def test_contrast_of_every_pair():
    grey = Palette(np.array([[255, 255, 255], [119, 119, 119], [0, 0, 0], [118, 118, 118]], np.uint8))
    text = json_.write(grey).decode()
    block = json.loads(text)["contrast"]
    assert [(q["a"], q["b"]) for q in block["pairs"]] == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    by_pair = {(q["a"], q["b"]): q for q in block["pairs"]}
    assert by_pair[0, 2] == {"a": 0, "b": 2, "ratio": 21.0, "passes": ["AA large", "AA", "AAA large", "AAA"]}
    assert by_pair[0, 1] == {"a": 0, "b": 1, "ratio": 4.4780, "passes": ["AA large"]}  # #777 on white fails AA
    assert by_pair[0, 3]["ratio"] == 4.5422 and "AA" in by_pair[0, 3]["passes"]
    for q in block["pairs"]:  # the written ratio and the passes agree for any reader comparing them
        assert q["passes"] == [name for name, need in block["levels"].items() if q["ratio"] >= need]
    assert text.count("\n") == 1 + 1 + 4 + 1 + 1 + 1 + 6 + 1 + 1  # one colour, one pair per line


def test_ratios_are_cut_not_rounded():
    """A ratio just under 4.5 must not be written as 4.5 (a reader would call it AA)."""
    from kmq_core import wcag

    colors = np.array([[c, c, c] for c in range(256)], np.uint8)
    m = wcag.contrast_matrix(colors)
    i, j = np.unravel_index(np.argmin(np.where(m < 4.5, 4.5 - m, np.inf)), m.shape)
    assert 4.5 - m[i, j] < 1e-2
    close = Palette(colors[[i, j]])
    pair = json.loads(json_.write(close))["contrast"]["pairs"][0]
    assert pair["ratio"] < 4.5 and "AA" not in pair["passes"]


def test_readers_ignore_the_contrast_block():
    q = json_.read(json_.write(P))
    assert q == P and np.array_equal(q.weights, P.weights)
    obj = json.loads(json_.write(P))
    obj["contrast"]["pairs"] = "anything"  # derived data: never read back, never an error
    assert json_.from_obj(obj) == P


def test_large_palettes_have_no_contrast_block():
    rng = np.random.default_rng(1)
    assert "contrast" in json.loads(json_.write(Palette(rng.integers(0, 256, (256, 3)))))
    assert "contrast" not in json.loads(json_.write(Palette(rng.integers(0, 256, (257, 3)))))


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
