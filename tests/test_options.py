from kmq_core import options as o
import pytest
from kmq_core import KmqError


@pytest.mark.parametrize("v,want", [(1, 1), ("16", 16), (256, 256), (64.0, 64)])
def test_check_k_ok(v, want):
    assert o.check_k(v) == want


@pytest.mark.parametrize("v", [0, 257, -3, "abc", "1.5", 2.5, True, None, ""])
def test_check_k_bad(v):
    with pytest.raises(KmqError):
        o.check_k(v)


def test_defaults_are_valid_choices():
    assert o.DEFAULT_SPACE in o.SPACES and o.DEFAULT_DITHER in o.DITHERS
    assert o.check_dither(True) == "fs" and o.check_dither(None) == "none"
    with pytest.raises(KmqError):
        o.check_space("hsv")


def test_dithers_and_their_aliases():
    assert o.DITHERS == ("none", "fs", "bayer", "bluenoise")
    for alias in ("bluenoise", "blue-noise", "Blue_Noise", "BLUE-NOISE"):
        assert o.check_dither(alias) == "bluenoise"
    assert o.check_dither("ordered") == "bayer" and o.check_dither("floyd-steinberg") == "fs"
    with pytest.raises(KmqError, match="bluenoise"):
        o.check_dither("noise")


@pytest.mark.parametrize("v,want", [(2, 2), (4, 4), (8, 8), ("4", 4), (" 8 ", 8), ("4x4", 4), ("2X2", 2), (8.0, 8)])
def test_check_bayer_size_ok(v, want):
    assert o.check_bayer_size(v) == want


@pytest.mark.parametrize("v", [0, 1, 3, 16, "4x8", "x", "", None, True, 4.5, "four"])
def test_check_bayer_size_bad(v):
    with pytest.raises(KmqError, match="Bayer size"):
        o.check_bayer_size(v)


def test_default_bayer_size_is_the_matrix_kmq_always_used():
    assert o.BAYER_SIZES == (2, 4, 8) and o.DEFAULT_BAYER_SIZE == 8
