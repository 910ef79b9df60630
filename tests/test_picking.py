"""kmq_core.picking: the eyedropper's colour is the mean of the square under the pointer."""

from __future__ import annotations

import numpy as np
import pytest

from kmq_core import KmqError
from kmq_core.picking import pick_color


@pytest.fixture
def img():
    px = np.zeros((10, 12, 3), np.uint8)
    px[:, :6] = (200, 10, 30)
    px[:, 6:] = (0, 100, 255)
    px[4, 3] = (0, 0, 0)  # one dark pixel (noise) inside the red half
    return px


def test_point_sample_is_the_pixel(img):
    assert pick_color(img, 3, 4) == (0, 0, 0)
    assert pick_color(img, 3.9, 4.99) == (0, 0, 0)  # anywhere inside the pixel
    assert pick_color(img, 8, 2) == (0, 100, 255)


def test_average_of_a_square(img):
    # 3×3 around (3, 4): eight red pixels and the black one
    assert pick_color(img, 3, 4, size=3) == tuple(int(round(v * 8 / 9)) for v in (200, 10, 30))
    # across the edge between the halves: columns 4..7 (size 4 starts one before the centre)
    assert pick_color(img, 5, 1, size=4) == (100, 55, 143)


def test_points_outside_are_clamped_to_the_edge(img):
    assert pick_color(img, -5, -5) == (200, 10, 30)
    assert pick_color(img, 99, 99) == (0, 100, 255)
    assert pick_color(img, 11, 9, size=5) == (0, 100, 255)


def test_transparent_pixels_are_left_out():
    px = np.zeros((4, 4, 4), np.uint8)
    px[..., :3] = (255, 255, 255)  # hidden white under alpha 0
    px[1, 1] = (10, 20, 30, 255)
    px[1, 2] = (30, 40, 50, 128)
    assert pick_color(px, 1, 1, size=3) == (20, 30, 40)
    assert pick_color(px, 3, 3) is None


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((0, 4, 3), np.uint8)])
def test_bad_images_are_refused(bad):
    with pytest.raises(KmqError):
        pick_color(bad, 0, 0)


def test_bad_points_are_refused(img):
    with pytest.raises(KmqError):
        pick_color(img, float("nan"), 0)
