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
