import math

import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from kmq_core.histogram import color_histogram
from kmq_core.metrics import bits_per_pixel, delta_e2000, histogram_errors, pixel_errors, psnr_from_mse


def test_delta_e_matches_scikit_image():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (100, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (100, 3), dtype=np.uint8)
    want = deltaE_ciede2000(rgb2lab(a[None] / 255.0), rgb2lab(b[None] / 255.0))[0]
    assert np.allclose(delta_e2000(a, b), want)


def test_histogram_and_pixel_errors_agree():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 8, (40, 50, 3), dtype=np.uint8) * 30
    out = (img // 60) * 60
    h = color_histogram(img)
    palette, index = np.unique((h.colors // 60) * 60, axis=0, return_inverse=True)
    assert histogram_errors(h, index.ravel(), palette) == pytest.approx(pixel_errors(img, out))


def test_psnr_and_bits():
    assert psnr_from_mse(0) == math.inf
    assert psnr_from_mse(255.0**2) == pytest.approx(0.0)
    assert [bits_per_pixel(n) for n in (1, 2, 3, 16, 17, 256)] == [1, 1, 2, 4, 5, 8]


def test_transparent_pixels_skipped():
    a = np.zeros((1, 2, 4), np.uint8)
    a[0, 0] = (10, 10, 10, 255)
    b = a.copy()
    b[0, 1, :3] = 255  # differs only where invisible
    assert pixel_errors(a, b) == (0.0, 0.0)
