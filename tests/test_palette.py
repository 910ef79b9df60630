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
