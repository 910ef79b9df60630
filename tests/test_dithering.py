import numpy as np

from kmq_core.dithering import floyd_steinberg


def test_two_colour_dither_of_mid_grey_is_half_and_half():
    img = np.full((32, 32, 3), 128, np.uint8)
    labels = floyd_steinberg(img, np.array([[0, 0, 0], [255, 255, 255]], np.uint8))
    assert set(np.unique(labels)) == {0, 1}
    assert abs(labels.mean() - 128 / 255) < 0.03


def test_labels_stay_below_palette_size_and_rgba_ok():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (20, 20, 4), dtype=np.uint8)
    pal = np.array([[255, 0, 0], [0, 0, 255], [255, 0, 0]], np.uint8)
    labels = floyd_steinberg(img, pal)
    assert labels.shape == (20, 20) and labels.max() < 3
