import numpy as np
import pytest
from skimage.color import deltaE_ciede2000, rgb2lab

from kmq_core.colorspace import lab_to_de2000, de2000_to_lab, rgb_to_space, space_to_rgb, to_uint8


@pytest.mark.parametrize("space", ["rgb", "lab", "oklab", "de2000"])
def test_round_trip(space):
    c = np.random.default_rng(0).integers(0, 256, (2000, 3)).astype(np.uint8)
    assert np.abs(to_uint8(space_to_rgb(rgb_to_space(c, space), space)).astype(int) - c).max() <= 1


def test_lab_matches_scikit_image():
    c = np.random.default_rng(1).integers(0, 256, (500, 3)).astype(np.uint8)
    # OpenCV interpolates the sRGB curve; it agrees with scikit-image to a few tenths
    assert np.abs(rgb_to_space(c, "lab") - rgb2lab(c[None] / 255.0)[0]).max() < 0.5


def test_oklab_reference_values():
    # white and a pure red, from Ottosson's reference implementation (×100)
    v = rgb_to_space(np.array([[255, 255, 255], [255, 0, 0]], np.uint8), "oklab")
    assert np.allclose(v[0], [100.0, 0.0, 0.0], atol=0.05)
    assert np.allclose(v[1], [62.8, 22.5, 12.6], atol=0.1)


def test_de2000_space_follows_ciede2000_better_than_lab():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (4000, 3)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-6, 7, a.shape), 0, 255).astype(np.uint8)
    truth = deltaE_ciede2000(rgb2lab(a[None] / 255.0), rgb2lab(b[None] / 255.0))[0]

    def corr(space):
        d = np.linalg.norm(rgb_to_space(a, space).astype(float) - rgb_to_space(b, space), axis=1)
        keep = truth > 0
        return np.corrcoef(d[keep], truth[keep])[0, 1]

    assert corr("de2000") > 0.95 > corr("lab")


def test_de2000_inverse():
    lab = np.array([[50.0, 20.0, -30.0], [90.0, -1.0, 2.0], [10.0, 60.0, 40.0]])
    assert np.allclose(de2000_to_lab(lab_to_de2000(lab)), lab, atol=1e-6)


def test_exact_cielab_is_scikit_image_and_not_opencv():
    from kmq_core.colorspace import srgb_to_cielab

    rng = np.random.default_rng(7)
    c = rng.integers(0, 256, (5000, 3)).astype(np.uint8)
    lab = srgb_to_cielab(c)
    assert lab.dtype == np.float64 and lab.shape == (5000, 3)
    assert np.array_equal(lab, rgb2lab(c.reshape(-1, 1, 3)).reshape(-1, 3))
    f = c.astype(np.float64) / 255.0
    assert np.array_equal(srgb_to_cielab(f), rgb2lab(f.reshape(-1, 1, 3)).reshape(-1, 3))
    np.testing.assert_allclose(srgb_to_cielab(f), lab, atol=1e-9)  # the two scalings: last bits only
    fast = rgb_to_space(c, "lab")
    assert np.abs(fast - lab).max() < 1.0  # close, but OpenCV's float32 is another conversion
    assert srgb_to_cielab(np.array([[255, 255, 255]], np.uint8))[0, 0] == pytest.approx(100.0)
