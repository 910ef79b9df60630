"""Sorting, merging and naming palettes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import ImageColor
from skimage.color import deltaE_ciede2000

from kmq_core.errors import KmqError
from kmq_core.palette import Palette
from kmq_core.palette_ops import (
    SORT_KEYS,
    default_names,
    merge_similar,
    name_colors,
    nearest_css_names,
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


def test_merge_keeps_heavier_colour_and_sums_weights():
    p = Palette(np.array([[100, 100, 100], RED, [101, 100, 100], [254, 0, 0]]), np.array([0.1, 0.2, 0.3, 0.4]), ("a", "b", "c", "d"))
    q = merge_similar(p, 2.0)
    assert q.names == ("c", "d")  # heavier members survive, in palette order
    assert q.hex == ["#656464", "#fe0000"]
    assert np.allclose(q.weights, [0.4, 0.6])


def test_merge_threshold_zero_merges_only_identical_and_no_chaining():
    p = pal(RED, RED, BLUE)
    assert merge_similar(p, 0).hex == ["#ff0000", "#0000ff"]
    # a chain of close colours is not merged transitively beyond the threshold
    chain = pal([100, 100, 100], [103, 103, 103], [106, 106, 106], [109, 109, 109])
    q = merge_similar(chain, 1.5)
    lab = to_lab(q.colors)
    for i in range(len(q)):
        for j in range(i + 1, len(q)):
            assert deltaE_ciede2000(lab[i], lab[j]) > 1.5


@settings(max_examples=50, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 40), st.just(3))), st.floats(0, 30))
def test_merge_properties(colors, threshold):
    w = np.linspace(1, 2, len(colors))
    q = merge_similar(Palette(colors, w), threshold)
    assert np.isclose(q.weights.sum(), w.sum())
    lab = to_lab(q.colors)
    for i in range(len(q)):
        d = deltaE_ciede2000(np.broadcast_to(lab[i], lab.shape), lab)
        d[i] = np.inf
        assert (d > threshold).all()


def test_merge_rejects_bad_thresholds_and_huge_palettes():
    for bad in (-1, float("nan"), "x"):
        with pytest.raises(KmqError):
            merge_similar(pal(RED, BLUE), bad)
    with pytest.raises(KmqError, match="4096"):
        merge_similar(Palette(np.zeros((4097, 3), np.uint8)), 1.0)


def test_css_names_exact_colours():
    names = ["steelblue", "red", "white", "black", "gray", "cyan", "magenta", "rebeccapurple"]
    rgb = np.array([ImageColor.getrgb(n)[:3] for n in names])
    assert nearest_css_names(rgb) == names


def test_default_names_unique_and_human():
    colors = np.array([[70, 130, 180], [72, 130, 182], [71, 131, 181], [250, 2, 3]])
    assert default_names(colors) == ["steelblue", "steelblue 2", "steelblue 3", "red"]
    p = name_colors(Palette(colors, name="x"))
    assert p.names == ("steelblue", "steelblue 2", "steelblue 3", "red") and p.name == "x"


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, st.tuples(st.integers(1, 300), st.just(3))))
def test_default_names_always_unique(colors):
    names = default_names(colors)
    assert len(set(names)) == len(names) == len(colors)
    assert all(n and n.replace(" ", "").isalnum() for n in names)
