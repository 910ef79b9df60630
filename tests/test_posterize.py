"""kmq_core.posterize: pngquant's --posterize N on kmq's results (issue 28)."""

import io

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image

from kmq_core import KmqError, quantize
from kmq_core.posterize import check_posterize, posterize, posterize_values


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_values_keep_the_top_bits_and_both_ends(bits):
    v = posterize_values(np.arange(256), bits)
    levels = np.unique(v)
    assert len(levels) == 256 >> bits and levels[0] == 0 and levels[-1] == 255
    assert np.all(np.diff(v.astype(int)) >= 0)  # order kept
    assert np.array_equal(v >> bits, np.arange(256) >> bits)  # the top bits are the input's
    assert np.array_equal(posterize_values(v, bits), v)  # a posterized value stays
    assert np.array_equal(posterize_values(np.arange(256), 0), np.arange(256))


def test_pngquants_levels():
    assert posterize_values(np.arange(0, 256, 16), 4).tolist() == list(range(0, 256, 17))
    assert posterize_values([127, 128, 200], 1).tolist() == [126, 129, 201]


@pytest.mark.parametrize("bad", [-1, 5, 8, "x", 1.5, True, None, "02"])
def test_bad_bits(bad):
    with pytest.raises(KmqError, match="posterization"):
        check_posterize(bad)


def test_opaque_result_is_mapped_again_onto_the_posterized_palette():
    photo = load_sample_image("flower.jpg")[::4, ::4]
    res = quantize(photo, 64, dither="fs")
    assert posterize(res, 0) is res
    post = posterize(res, 3)
    assert np.array_equal(post.palette.colors, posterize_values(res.palette.colors, 3))
    assert post.dither == "fs" and post.k == 64 and post.shape == res.shape
    used = {tuple(c) for c in post.image.reshape(-1, 3)}
    assert used <= {tuple(c) for c in post.palette.colors}
    # the pixels were mapped again: each takes its nearest posterized colour (or a dithered neighbour)
    assert not np.array_equal(post.labels, res.labels) or not np.array_equal(post.image, res.image)
    png = Image.open(io.BytesIO(post.png))
    assert png.mode == "P" and 0.5 < post.psnr / res.psnr <= 1.0


def test_alpha_keeps_labels_and_transparency():
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0] = np.arange(32)[None, :] * 8
    rgba[..., 1] = 90
    rgba[..., 2] = np.arange(32)[:, None] * 8
    rgba[..., 3] = 255
    rgba[:8, :8, 3] = 0  # a transparent corner
    rgba[8:16, :8, 3] = 77  # a translucent patch
    res = quantize(rgba, 16)
    post = posterize(res, 4)
    assert np.array_equal(post.labels, res.labels)
    assert np.array_equal(post.palette.colors, posterize_values(res.palette.colors, 4))
    assert np.array_equal(post.entry_alpha, posterize_values(res.entry_alpha, 4))
    img = np.asarray(Image.open(io.BytesIO(post.png)).convert("RGBA"))
    assert (img[:8, :8, 3] == 0).all() and (img[16:, :, 3] == 255).all()
    assert set(np.unique(img[..., :3])) <= set(posterize_values(np.arange(256), 4).tolist())
