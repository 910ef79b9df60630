"""Transparency counted against k (kmq_core.alpha and the pipeline)."""

import io

import numpy as np
import pytest
from PIL import Image

from kmq_core import quantize
from kmq_core.alpha import features, fit_rgba, from_features


def _rgba_gradient(h=64, w=256):
    x = np.linspace(0, 1, w)[None, :].repeat(h, 0)
    y = np.linspace(0, 1, h)[:, None].repeat(w, 1)
    img = np.dstack([x * 255, y * 255, (1 - x) * 255, x * 255]).astype(np.uint8)
    img[:8] = 0  # fully transparent rows
    return img


def _png_palette(png: bytes):
    with Image.open(io.BytesIO(png)) as im:
        return im.mode, len(im.getpalette()) // 3, im


@pytest.mark.parametrize("k", [2, 8, 16, 256])
def test_rgba_image_at_k_has_at_most_k_entries_and_honest_bits(k):
    r = quantize(_rgba_gradient(), k)
    mode, entries, _ = _png_palette(r.png)
    assert mode == "P" and entries <= k
    depth = r.png[24]
    assert r.bits_per_pixel == depth == r.to_dict()["bits_per_pixel"]
    assert depth >= next(d for d in (1, 2, 4, 8) if entries <= 2 ** d)  # the encoder keeps the smaller file


def test_binary_transparency_takes_one_entry():
    img = _rgba_gradient()
    img[..., 3] = np.where(img[..., 3] > 100, 255, 0)
    r = quantize(img, 8)
    _, entries, im = _png_palette(r.png)
    assert entries <= 8
    back = np.asarray(im.convert("RGBA"))
    assert (back[..., 3] == img[..., 3]).all()  # alpha kept exactly: 0 stays 0, 255 stays 255


def test_translucent_alpha_is_approximated_and_transparent_kept():
    img = _rgba_gradient()
    r = quantize(img, 16)
    back = np.asarray(Image.open(io.BytesIO(r.png)).convert("RGBA")).astype(int)
    assert (back[img[..., 3] == 0, 3] == 0).all()
    vis = img[..., 3] > 0
    assert np.abs(back[vis, 3] - img[vis, 3]).mean() < 12  # 15 translucent levels for a 0..255 ramp
    assert np.array_equal(r.image, back.astype(np.uint8))


def test_features_round_trip():
    rgba = np.array([[255, 0, 0, 255], [10, 200, 30, 128], [0, 0, 255, 17]], np.uint8)
    back = from_features(features(rgba, "perceptual"), "perceptual")
    assert np.abs(back.astype(int) - rgba).max() <= 2


def test_fit_rgba_keeps_locked_colours_and_is_deterministic():
    img = _rgba_gradient()
    a = fit_rgba(img, 6, space="perceptual", seed=3, lock="#123456")
    b = fit_rgba(img, 6, space="perceptual", seed=3, lock="#123456")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert any((p[:3] == [0x12, 0x34, 0x56]).all() and p[3] == 255 for p in a[0])
    assert len(a[0]) <= 6


def test_same_seed_same_bytes_with_alpha():
    img = _rgba_gradient()
    assert quantize(img, 8, seed=1).png == quantize(img, 8, seed=1).png


def test_count_alpha_false_counts_colours_and_keeps_alpha():
    """For a GIMP layer: k counts colours only; alpha comes out as it went in."""
    g = np.tile(np.array([0, 80, 160, 255], np.uint8), (10, 5))
    a = np.zeros_like(g)
    a[:, 5:10], a[:, 10:15], a[:, 15:] = 100, 200, 255
    img = np.dstack([g, g, g, a])
    r = quantize(img, 4, count_alpha=False)
    vis = a > 0
    assert np.array_equal(r.image[..., 3], a)
    assert np.array_equal(r.image[vis][:, :3], img[vis][:, :3])  # 4 greys at k=4: unchanged
    counted = quantize(img, 4)  # as pngquant counts: 13 colour/alpha pairs do not fit in 4 entries
    assert counted.png_entries()[1].shape[0] <= 4
