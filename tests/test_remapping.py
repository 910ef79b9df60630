"""Remapping: exact nearest colour for every pixel, with any palette."""

import numpy as np
import pytest
from sklearn.datasets import load_sample_image

from kmq_core import KmqError, Palette, fit_palette, remap
from kmq_core.colorspace import rgb_to_space


@pytest.mark.parametrize("space", ["de2000", "lab", "oklab", "rgb"])
def test_nearest_is_exact(space):
    img = load_sample_image("flower.jpg")[::3, ::3]
    pal = fit_palette(img, 24, space=space)
    labels = remap(img, pal, space=space)
    x = rgb_to_space(img.reshape(-1, 3), space).astype(np.float64)
    c = rgb_to_space(pal.colors, space).astype(np.float64)
    brute = ((x[:, None, :] - c[None]) ** 2).sum(2)
    chosen = brute[np.arange(len(x)), labels.ravel()]
    assert np.allclose(chosen, brute.min(1), atol=1e-6)


def test_palette_from_another_image_and_plain_array():
    a = load_sample_image("china.jpg")
    b = load_sample_image("flower.jpg")
    pal = fit_palette(a, 8)
    labels = remap(b, pal)
    assert labels.shape == b.shape[:2] and labels.max() < 8
    assert np.array_equal(remap(b, pal.colors), labels)


def test_dithered_labels_valid_and_different():
    img = load_sample_image("china.jpg")[:416, :640]
    pal = fit_palette(img, 8)
    plain = remap(img, pal)
    fs = remap(img, pal, dither="fs")
    assert fs.max() < len(pal)
    assert (fs != plain).mean() > 0.05

    # error diffusion keeps local averages: 16×16 block means come much closer
    def block_err(labels):
        blocks = lambda a: a.astype(float).reshape(26, 16, 40, 16, 3).mean((1, 3))
        return np.abs(blocks(img) - blocks(pal.colors[labels])).mean()

    assert block_err(fs) < 0.75 * block_err(plain)


def test_bad_palettes():
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(KmqError, match="empty"):
        remap(img, np.zeros((0, 3), np.uint8))
    with pytest.raises(KmqError, match="at most 256"):
        remap(img, Palette(np.zeros((300, 3), np.uint8)))
    with pytest.raises(KmqError, match="dithering"):
        remap(img, Palette(np.zeros((2, 3), np.uint8)), dither="ordered")
