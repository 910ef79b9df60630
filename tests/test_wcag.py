"""WCAG 2.2 contrast: the definition's end points, published figures, the AA/AAA thresholds."""

import numpy as np
import pytest

from kmq_core import wcag
from kmq_core.errors import KmqError

WHITE, BLACK = [255, 255, 255], [0, 0, 0]


def test_black_on_white_is_21_to_1_and_a_colour_on_itself_1_to_1():
    assert float(wcag.contrast_ratio(BLACK, WHITE)) == pytest.approx(21.0, abs=1e-12)
    assert float(wcag.contrast_ratio(WHITE, BLACK)) == pytest.approx(21.0, abs=1e-12)
    assert float(wcag.contrast_ratio([18, 52, 86], [18, 52, 86])) == 1.0
    assert wcag.relative_luminance(np.array([BLACK, WHITE], np.uint8)).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("fg, bg, published", [
    # the figures WCAG's Understanding documents and the checkers built on the definition print
    ("#777777", "#ffffff", 4.48),   # fails AA body text by a hair
    ("#767676", "#ffffff", 4.54),   # the lightest grey passing AA on white
    ("#595959", "#ffffff", 7.00),   # the lightest grey passing AAA on white
    ("#ff0000", "#ffffff", 4.00),   # pure red on white: large text only
    ("#0000ff", "#ffffff", 8.59),
    ("#00ff00", "#000000", 15.30),
    ("#ffff00", "#ffffff", 1.07),
])
def test_published_ratios(fg, bg, published):
    rgb = [[int(h[k:k + 2], 16) for k in (1, 3, 5)] for h in (fg, bg)]
    assert round(float(wcag.contrast_ratio(*rgb)), 2) == published


def test_ratios_are_not_rounded_before_comparison():
    # #777 on white is 4.478...: WCAG forbids rounding it up to 4.5
    r = float(wcag.contrast_ratio([119] * 3, WHITE))
    assert 4.47 < r < 4.5
    assert wcag.levels_passed(r) == ("AA large",)
    assert wcag.levels_passed(float(wcag.contrast_ratio([118] * 3, WHITE))) == ("AA large", "AA", "AAA large")
    assert wcag.levels_passed(21.0) == ("AA large", "AA", "AAA large", "AAA")
    assert wcag.levels_passed(2.99) == ()
    assert wcag.levels_passed(3.0) == ("AA large",) and wcag.levels_passed(7.0)[-1] == "AAA"


def test_thresholds_are_wcag_22():
    assert wcag.LEVELS == {"AA large": 3.0, "AA": 4.5, "AAA large": 4.5, "AAA": 7.0}


def test_the_old_threshold_changes_no_8_bit_colour():
    """WCAG 2.0 printed 0.03928, 2.2 prints 0.04045: no 8-bit value lies between them."""
    codes = np.arange(256) / 255.0
    old = np.where(codes <= 0.03928, codes / 12.92, ((codes + 0.055) / 1.055) ** 2.4)
    new = np.where(codes <= 0.04045, codes / 12.92, ((codes + 0.055) / 1.055) ** 2.4)
    assert np.array_equal(old, new)
    grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    assert np.allclose(wcag.relative_luminance(grey), new, rtol=0, atol=1e-15)


def test_matrix_is_symmetric_and_matches_the_pairwise_ratio():
    rng = np.random.default_rng(3)
    colors = rng.integers(0, 256, (12, 3), dtype=np.uint8)
    m = wcag.contrast_matrix(colors)
    assert m.shape == (12, 12) and np.allclose(m, m.T) and np.allclose(np.diag(m), 1.0)
    i, j = 2, 9
    assert m[i, j] == pytest.approx(float(wcag.contrast_ratio(colors[i], colors[j])))
    assert (m >= 1.0).all() and (m <= 21.0).all()


def test_pairs_highest_first_and_filtered_by_level():
    colors = np.array([WHITE, [119] * 3, BLACK, [255, 0, 0]], np.uint8)
    pairs = wcag.contrast_pairs(colors)
    assert len(pairs) == 6
    assert (pairs[0].i, pairs[0].j, pairs[0].levels[-1]) == (0, 2, "AAA")
    assert [p.ratio for p in pairs] == sorted((p.ratio for p in pairs), reverse=True)
    aa = wcag.contrast_pairs(colors, "AA")
    assert {(p.i, p.j) for p in aa} == {(0, 2), (1, 2), (2, 3)}  # grey #777 on white is not among them
    assert all(p.ratio >= 4.5 for p in aa)
    assert {(p.i, p.j) for p in wcag.contrast_pairs(colors, "AAA")} == {(0, 2)}


def test_bad_input_is_one_clear_error():
    with pytest.raises(KmqError, match="3 channels"):
        wcag.contrast_matrix(np.zeros((4, 4)))
    with pytest.raises(KmqError, match="0-255"):
        wcag.relative_luminance([300, 0, 0])
    with pytest.raises(KmqError, match="unknown WCAG level"):
        wcag.contrast_pairs(np.zeros((2, 3), np.uint8), "A")


def test_pairs_of_huge_palettes_are_refused_not_computed():
    rng = np.random.default_rng(0)
    assert wcag.contrast_matrix(rng.integers(0, 256, (wcag.MAX_PAIR_COLORS, 3))).shape == (1024, 1024)
    with pytest.raises(KmqError, match="1025 colours; pairs are compared for up to 1024"):
        wcag.contrast_pairs(rng.integers(0, 256, (1025, 3)))
