"""Sorting and naming palettes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.color import deltaE_ciede2000

from kmq_core.errors import KmqError
from kmq_core.palette import Palette
from kmq_core.palette_ops import (
    SORT_KEYS,
    default_names,
    name_colors,
    NAME_MAX_DELTA_E,
    _name_table,
    colour_names,
    describe_colour,
    nearest_names,
    sort_palette,
    to_lab,
)

RED, GREEN, BLUE, YELLOW = [255, 0, 0], [0, 128, 0], [0, 0, 255], [255, 255, 0]
BLACK, GRAY, WHITE, NAVY, PINK = [0, 0, 0], [128, 128, 128], [255, 255, 255], [0, 0, 128], [255, 192, 203]


def pal(*colors, weights=None):
    return Palette(np.array(colors), None if weights is None else np.array(weights, float))


def test_sort_by_share_is_stable():
    p = pal(RED, GREEN, BLUE, YELLOW, weights=[0.1, 0.4, 0.1, 0.4])
    assert sort_palette(p, "share").hex == ["#008000", "#ffff00", "#ff0000", "#0000ff"]


def test_sort_by_lightness():
    p = pal(WHITE, RED, BLACK, YELLOW, NAVY)
    assert sort_palette(p, "lightness").hex == ["#000000", "#000080", "#ff0000", "#ffff00", "#ffffff"]


def test_sort_by_hue_grays_first():
    p = pal(BLUE, WHITE, GREEN, RED, BLACK, YELLOW, GRAY)
    assert sort_palette(p, "hue").hex == ["#000000", "#808080", "#ffffff", "#ff0000", "#ffff00", "#008000", "#0000ff"]


def test_sort_strip_grays_then_lightness_bands_by_hue():
    p = pal(PINK, YELLOW, NAVY, WHITE, RED, BLACK, GREEN, GRAY)
    # grays dark->light; dark band (navy); mid band (red, green by hue); light band (pink, yellow by hue)
    assert sort_palette(p, "strip").hex == [
        "#000000", "#808080", "#ffffff", "#000080", "#ff0000", "#008000", "#ffc0cb", "#ffff00",
    ]


def test_sort_keeps_entries_together_and_rejects_unknown():
    p = Palette(np.array([RED, BLUE]), np.array([0.2, 0.8]), ("r", "b"), "x")
    q = sort_palette(p, "share")
    assert q.names == ("b", "r") and q.weights.tolist() == [0.8, 0.2] and q.name == "x"
    with pytest.raises(KmqError, match="share, hue, lightness, strip"):
        sort_palette(p, "random")


@settings(max_examples=50, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 64), st.just(3))), st.sampled_from(SORT_KEYS))
def test_sort_is_a_permutation(colors, by):
    p = Palette(colors, np.linspace(0, 1, len(colors)))
    q = sort_palette(p, by)
    assert sorted(map(tuple, q.colors.tolist())) == sorted(map(tuple, colors.tolist()))
    assert sort_palette(q, by) == q  # sorting a sorted palette changes nothing


def hexes(*codes):
    return np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in codes], np.uint8)


def test_names_of_the_naming_set_are_exact():
    names, _ = _name_table()
    assert len(names) > 700 and len(set(names)) == len(names)
    picked = ["dark olive", "mauve", "dusty rose", "navy blue", "olive green", "taupe", "slate grey", "black"]
    rows = dict(line.split("\t") for line in open(_TABLE, encoding="utf-8").read().splitlines()
                if line and not line.startswith("#"))
    assert [n for n, d in nearest_names(hexes(*[rows[n] for n in picked]))] == picked


_TABLE = __import__("kmq_core").__path__[0] + "/data/colour_names.tsv"


def test_dark_and_muted_colours_get_a_designers_name():
    # the examples: a dark olive was "black", a mauve-brown was "brown"
    names = colour_names(hexes("#372f14", "#6d444d", "#1a1a1a", "#4682b4", "#5a4a42"))
    assert names[0] == "dark olive"
    assert names[1] not in ("brown", "black") and "purpl" in names[1]
    assert names[2] == "almost black" and names[4] == "dark brown"
    assert "blue" in names[3]


def test_never_a_far_name():
    rng = np.random.default_rng(7)
    colors = rng.integers(0, 256, (400, 3)).astype(np.uint8)
    names, table = _name_table()
    lab = to_lab(colors)
    far = 0
    for i, ((near, d), shown) in enumerate(zip(nearest_names(colors), colour_names(colors))):
        if d <= NAME_MAX_DELTA_E:
            assert shown == near
            j = names.index(near)
            assert deltaE_ciede2000(lab[i], table[j]) <= NAME_MAX_DELTA_E
        else:
            far += 1
            assert shown == describe_colour(lab[i])  # a description, not the far-off name
    assert 0 < far < 200


@pytest.mark.parametrize("code,name", [("#000000", "black"), ("#ffffff", "white"), ("#777777", "grey"),
                                       ("#2a2a10", "dark olive"), ("#403028", "dark brown"),
                                       ("#f0b0c0", "light pink"), ("#8090a8", "greyish blue")])
def test_describe_colour(code, name):
    assert describe_colour(to_lab(hexes(code))[0]) == name


def test_default_names_unique_and_human():
    colors = np.array([[70, 130, 180], [72, 130, 182], [71, 131, 181], [250, 2, 3]])
    assert default_names(colors) == ["cool blue", "cool blue 2", "cool blue 3", "fire engine red"]
    p = name_colors(Palette(colors, name="x"))
    assert p.names == ("cool blue", "cool blue 2", "cool blue 3", "fire engine red") and p.name == "x"


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 300), st.just(3))))
def test_default_names_always_unique(colors):
    names = default_names(colors)
    assert len(set(names)) == len(names) == len(colors)
    assert all(n and n.replace(" ", "").isalnum() for n in names)
