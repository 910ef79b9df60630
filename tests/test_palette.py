"""The Palette model and its hex helpers."""

import numpy as np
import pytest

from kmq_core.errors import KmqError
from kmq_core.palette import Palette, hex_code, parse_hex, parse_hex_list


def test_hex_helpers():
    assert hex_code((255, 136, 0)) == "#ff8800"
    assert parse_hex("#ff8800") == parse_hex("FF8800") == parse_hex(" #f80 ") == (255, 136, 0)
    assert parse_hex_list("#ff0000, #00f;0f0").tolist() == [[255, 0, 0], [0, 0, 255], [0, 255, 0]]
    assert parse_hex_list(None).shape == (0, 3)
    for bad in ("", "#ff88", "#gg0000", "ff880000"):
        with pytest.raises(KmqError):
            parse_hex(bad)


def test_defaults_and_immutability():
    p = Palette(np.array([[1, 2, 3], [4, 5, 6]]))
    assert p.colors.dtype == np.uint8 and p.names == ("#010203", "#040506")
    assert p.weights.tolist() == [0, 0] and p.name == "kmq" and len(p) == 2
    with pytest.raises(ValueError):
        p.colors[0, 0] = 9
    assert p.hex == ["#010203", "#040506"]


def test_take_and_renamed():
    p = Palette(np.array([[1, 2, 3], [4, 5, 6]]), np.array([0.25, 0.75]), ("a", "b"), "x")
    q = p.take([1, 0])
    assert q.names == ("b", "a") and q.weights.tolist() == [0.75, 0.25] and q.name == "x"
    assert p.renamed("y").name == "y" and p.renamed("y").names == p.names


@pytest.mark.parametrize(
    "kwargs",
    [
        {"colors": np.zeros((2, 4))},
        {"colors": np.array([[0, 0, 256]])},
        {"colors": np.array([[0, 0, -1]])},
        {"colors": np.zeros((65536, 3), np.uint8)},
        {"colors": np.zeros((2, 3)), "weights": np.zeros(3)},
        {"colors": np.zeros((2, 3)), "names": ("a",)},
    ],
)
def test_invalid_palettes(kwargs):
    with pytest.raises(KmqError):
        Palette(**kwargs)


def test_dedupe_keeps_first_occurrences_in_order():
    from kmq_core.palette import dedupe_colors

    c = np.array([[9, 9, 9], [1, 2, 3], [9, 9, 9], [0, 0, 0], [1, 2, 3]], np.uint8)
    assert dedupe_colors(c).tolist() == [[9, 9, 9], [1, 2, 3], [0, 0, 0]]
    rgba = np.array([[1, 2, 3, 255], [1, 2, 3, 0], [1, 2, 3, 255]], np.uint8)
    assert dedupe_colors(rgba).tolist() == [[1, 2, 3, 255], [1, 2, 3, 0]]


def test_order_by_share_is_stable_and_keeps_only_the_kept():
    from kmq_core.palette import order_by_share

    share = np.array([0.1, 0.4, 0.1, 0.0, 0.4])
    assert order_by_share(share).tolist() == [1, 4, 0, 2, 3]
    assert order_by_share(share, share > 0).tolist() == [1, 4, 0, 2]
    keep = np.array([True, False, True, True, False])
    assert order_by_share(share, keep).tolist() == [0, 2, 3]


def test_as_lock_accepts_every_form():
    from kmq_core.palette import as_lock

    want = [[255, 0, 0], [0, 255, 0]]
    assert as_lock(None).shape == (0, 3)
    assert as_lock("#ff0000, #0f0").tolist() == want
    assert as_lock(["#ff0000", "#00ff00"]).tolist() == want
    assert as_lock(Palette(np.array(want, np.uint8))).tolist() == want
    assert as_lock([[255, 0, 0], [0, 255, 0], [255, 0, 0]]).tolist() == want  # duplicates dropped
    assert as_lock([]).shape == (0, 3)
    with pytest.raises(KmqError):
        as_lock([[256, 0, 0]])
