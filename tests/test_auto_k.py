"""Tests for kmq_core.auto_k: the smallest k for a target mean ΔE, by bisection."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

from kmq_core import KmqError, quantize
from kmq_core.auto_k import max_steps, smallest_k_for_delta_e


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A small real photograph (astronaut, 64×64) so each quantization is quick."""
    return np.asarray(Image.fromarray(data.astronaut()).resize((64, 64), Image.LANCZOS))


def five_colours() -> np.ndarray:
    colours = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 128, 255], [40, 200, 40]], np.uint8)
    rng = np.random.default_rng(1)
    return colours[rng.integers(0, 5, size=(40, 50))]


@pytest.fixture(scope="module")
def search(photo):
    """One search at a target of 3.0 with every step recorded."""
    steps = []
    k, result = smallest_k_for_delta_e(photo, 3.0, on_step=lambda k, r: steps.append((k, r.delta_e)))
    return k, result, steps


@pytest.mark.parametrize("target", [6.0, 2.0])
def test_k_found_is_a_crossing_point(photo, target):
    k, result = smallest_k_for_delta_e(photo, target)
    assert result.delta_e <= target
    assert result.k == k
    # k - 1 misses the target, so no smaller k was skipped at the crossing point
    assert k > 2
    assert quantize(photo, k - 1).delta_e > target


def test_steps_bracket_the_answer(search):
    k, result, steps = search
    assert result.delta_e <= 3.0 and result.k == k
    tried = dict(steps)
    assert tried[k] == result.delta_e
    assert tried[k - 1] > 3.0  # the neighbour below was tried and missed


def test_result_is_what_quantize_gives(photo):
    k, result = smallest_k_for_delta_e(photo, 3.0, space="oklab", seed=7)
    again = quantize(photo, k, space="oklab", seed=7)
    assert np.array_equal(result.palette.colors, again.palette.colors)
    assert np.array_equal(result.labels, again.labels)
    assert result.space == "oklab" and result.seed == 7


def test_stricter_target_needs_more_colours(photo, search):
    loose, _ = smallest_k_for_delta_e(photo, 5.0)
    assert search[0] > loose


def test_easy_target_gives_k_min(photo):
    k, result = smallest_k_for_delta_e(photo, 50.0, k_min=3)
    assert k == 3 and result.k == 3


def test_unreachable_target_gives_k_max_and_says_so_in_the_result(photo):
    k, result = smallest_k_for_delta_e(photo, 0.5, k_max=4)
    assert k == 4
    assert result.delta_e > 0.5


def test_exact_colour_count_is_found_for_a_flat_image():
    img = five_colours()
    k, result = smallest_k_for_delta_e(img, 0.01)
    # four colours must merge two of these very different ones; five are exact
    assert k == 5
    assert result.delta_e == 0.0
    assert sorted(result.palette.hex) == sorted(["#000000", "#ffffff", "#ff0000", "#0080ff", "#28c828"])


def test_number_of_quantizations_is_logarithmic(search):
    steps = search[2]
    assert 2 < len(steps) <= max_steps(2, 256) == 10
    assert len({k for k, _ in steps}) == len(steps)  # no k quantized twice
    assert steps[0][0] == 256 and steps[1][0] == 2  # both ends first, then halving


def test_locked_colours_are_kept_and_raise_k_min(photo):
    k, result = smallest_k_for_delta_e(photo, 50.0, lock="#ff0000,#00ff00,#0000ff")
    assert k == 3
    assert {"#ff0000", "#00ff00", "#0000ff"} <= set(result.palette.hex)


def test_bytes_input_and_pixel_limit(photo):
    import io

    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "PNG")
    k, result = smallest_k_for_delta_e(buf.getvalue(), 10.0)
    assert result.source.file_size == len(buf.getvalue())
    with pytest.raises(KmqError, match="megapixels"):
        smallest_k_for_delta_e(buf.getvalue(), 4.0, max_pixels=1000)


@pytest.mark.parametrize("target", [-0.5, -1, float("nan"), float("inf"), "abc", None])
def test_bad_target_is_a_kmq_error(photo, target):
    # checked before any quantization runs
    with pytest.raises(KmqError, match="target ΔE"):
        smallest_k_for_delta_e(photo, target)


def test_bad_range_is_a_kmq_error(photo):
    with pytest.raises(KmqError, match="larger than k_max"):
        smallest_k_for_delta_e(photo, 3.0, k_min=20, k_max=10)
    with pytest.raises(KmqError, match="k must be"):
        smallest_k_for_delta_e(photo, 3.0, k_max=300)
    with pytest.raises(KmqError, match="locked colours do not fit"):
        smallest_k_for_delta_e(photo, 3.0, k_max=2, lock="#000000,#ffffff,#ff0000")


# ---- the 0-100 quality scale (pngquant's --quality MIN-MAX) -------------------------------------
from kmq_core.auto_k import delta_e_for_quality, quality_for_delta_e, smallest_k_for_quality  # noqa: E402
from kmq_core.errors import QualityTooLowError  # noqa: E402
from kmq_core.options import check_quality  # noqa: E402


def test_quality_scale_is_ten_points_per_delta_e():
    assert delta_e_for_quality(100) == 0.0 and delta_e_for_quality(90) == 1.0
    assert delta_e_for_quality(77) == pytest.approx(2.3) and delta_e_for_quality(0) == 10.0
    assert quality_for_delta_e(2.3) == pytest.approx(77) and quality_for_delta_e(25.0) == 0.0
    assert quality_for_delta_e(delta_e_for_quality(63)) == pytest.approx(63)


@pytest.mark.parametrize("text,expected", [("65-80", (65, 80)), ("80", (72, 80)), ("-80", (0, 80)),
                                           ("65-", (65, 100)), ((10, 20), (10, 20)), ("0-100", (0, 100))])
def test_quality_forms_are_pngquants(text, expected):
    assert check_quality(text) == expected


@pytest.mark.parametrize("text", ["80-65", "abc", "1-2-3", "-", "101", "40-101", "", True, (1, 2, 3)])
def test_bad_quality_is_a_kmq_error(text):
    with pytest.raises(KmqError, match="quality"):
        check_quality(text)


def test_smallest_k_for_quality_reaches_max_with_the_fewest_colours(photo):
    k, result = smallest_k_for_quality(photo, "50-75")
    assert quality_for_delta_e(result.delta_e) >= 75
    assert quality_for_delta_e(quantize(photo, k - 1).delta_e) < 75  # one colour fewer misses it
    # the same as asking for the ΔE the quality stands for
    assert smallest_k_for_delta_e(photo, delta_e_for_quality(75))[0] == k


def test_quality_below_min_raises_with_the_best_result(photo):
    with pytest.raises(QualityTooLowError, match="below the minimum 95") as info:
        smallest_k_for_quality(photo, "95-99", k_max=8)
    assert info.value.result.k == 8 and info.value.quality < 95
    # between MIN and MAX: the most colours allowed, no error (pngquant does the same)
    k, result = smallest_k_for_quality(photo, "10-99", k_max=8)
    assert k == 8 and quality_for_delta_e(result.delta_e) < 99


def test_quality_100_is_exact_for_few_colours():
    k, result = smallest_k_for_quality(five_colours(), "100")
    assert k == 5 and result.delta_e == 0
