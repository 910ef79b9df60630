"""Remapping: exact nearest colour for every pixel, with any palette."""

import numpy as np
import pytest
from sklearn.datasets import load_sample_image

from kmq_core import KmqError, Palette, fit_palette, remap
from kmq_core.colorspace import rgb_to_space


@pytest.mark.parametrize("space", ["perceptual", "de2000", "lab", "oklab", "rgb"])
def test_nearest_is_exact(space):
    img = load_sample_image("flower.jpg")[::3, ::3]
    pal = fit_palette(img, 24, space=space)
    labels = remap(img, pal, space=space, dither="none", lossy=0)
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
    # the 8 colours an earlier fit gave (83f9bf0): a remapping test keeps its palette
    # when the fit changes (with the fit of 2f48d8d: fs 6.67 against plain 8.21, 0.81)
    pal = Palette(np.array([[234, 241, 250], [194, 208, 221], [68, 62, 48], [24, 21, 14], [118, 116, 92],
                            [246, 171, 105], [144, 154, 55], [182, 77, 65]], np.uint8))
    plain = remap(img, pal, dither="none", lossy=0)
    fs = remap(img, pal, dither="fs", lossy=0)
    assert fs.max() < len(pal)
    assert (fs != plain).mean() > 0.05

    # error diffusion keeps local averages where it dithers, in smooth areas (it
    # stays off on edges and in noise, and its clamp keeps far-off colours out,
    # at some cost in average): 16×16 block means come closer there
    from kmq_core.contrast import edge_map

    blocks = lambda a: a.astype(float).reshape(26, 16, 40, 16, -1).mean((1, 3))
    smooth = blocks(edge_map(img)[..., None])[..., 0] > 0.8
    assert smooth.sum() > 300

    def block_err(labels):
        return np.abs(blocks(img) - blocks(pal.colors[labels])).mean(-1)[smooth].mean()

    assert block_err(fs) < 0.8 * block_err(plain)  # measured 0.77


def test_bad_palettes():
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(KmqError, match="empty"):
        remap(img, np.zeros((0, 3), np.uint8))
    with pytest.raises(KmqError, match="at most 256"):
        remap(img, Palette(np.zeros((300, 3), np.uint8)))
    with pytest.raises(KmqError, match="dithering"):
        remap(img, Palette(np.zeros((2, 3), np.uint8)), dither="sierra")
