"""quantize(): the whole pipeline, its result and its figures."""

import io

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image

from kmq_core import KmqError, Palette, quantize
from kmq_core.metrics import delta_e2000


@pytest.fixture(scope="module")
def flower():
    return load_sample_image("flower.jpg")[::2, ::2]


@pytest.mark.parametrize("dither", ["none", "fs"])
def test_result_shapes_and_colour_count(flower, dither):
    r = quantize(flower, 12, dither=dither)
    assert r.labels.shape == flower.shape[:2]
    assert r.image.shape == flower.shape and r.image.dtype == np.uint8
    assert r.palette.colors.shape[1] == 3 and len(r.palette) <= 12
    assert len(np.unique(r.image.reshape(-1, 3), axis=0)) <= 12
    assert np.array_equal(r.image, r.palette.colors[r.labels])
    assert r.colors_used <= len(r.palette)


def test_indexed_png_reopens_with_same_pixels(flower):
    r = quantize(flower, 16)
    img = Image.open(io.BytesIO(r.png))
    assert img.mode == "P"
    assert np.array_equal(np.asarray(img.convert("RGB")), r.image)
    assert img.info.get("transparency") is None
    # the bits per pixel reported are the file's (IHDR bit depth: 4, or 8 when oxipng finds that smaller)
    assert r.png[24] in (4, 8) and r.bits_per_pixel == r.png[24]


def test_alpha_kept_exactly_when_it_fits():
    rng = np.random.default_rng(0)
    rgb = load_sample_image("china.jpg")[:64, :64]
    alpha = rng.choice([0, 255, 128], size=(64, 64)).astype(np.uint8)
    img = np.dstack([rgb, alpha])
    r = quantize(img, 8)
    assert r.image.shape == (64, 64, 4)
    assert np.array_equal(r.image[..., 3], alpha)
    back = np.asarray(Image.open(io.BytesIO(r.png)).convert("RGBA"))
    assert np.array_equal(back[..., 3], alpha)
    vis = alpha > 0
    assert np.array_equal(back[..., :3][vis], r.image[..., :3][vis])


def test_many_alpha_levels_share_the_k_entries():
    """k counts colour and alpha together, as pngquant does: an alpha ramp at k=4 gets 4 entries."""
    rgb = np.zeros((16, 256, 3), np.uint8)
    rgb[..., 0] = 200
    alpha = np.tile(np.arange(256, dtype=np.uint8), (16, 1))
    r = quantize(np.dstack([rgb, alpha]), 4)
    back = np.asarray(Image.open(io.BytesIO(r.png)).convert("RGBA"))
    assert np.array_equal(back, r.image)
    assert len(np.unique(back.reshape(-1, 4), axis=0)) <= 4
    assert (back[alpha == 0, 3] == 0).all()
    assert np.abs(back[..., 3].astype(int) - alpha).mean() < 32  # 3 translucent levels + transparent


def test_metrics_are_right(flower):
    r = quantize(flower, 8, dither="none", lossy=0)
    diff = flower.astype(float) - r.image
    assert r.mse == pytest.approx((diff**2).mean(), rel=1e-9)
    assert r.psnr == pytest.approx(10 * np.log10(255**2 / r.mse))
    assert r.delta_e == pytest.approx(delta_e2000(flower, r.image).mean(), rel=1e-6)
    assert r.bits_per_pixel == r.png[24] in (4, 8)  # as the file stores them
    d = r.to_dict()
    assert d["colors_used"] == r.colors_used and d["png_bytes"] == len(r.png)
    fs = quantize(flower, 8, dither="fs")
    assert fs.delta_e == pytest.approx(delta_e2000(flower, fs.image).mean(), rel=1e-6)


def test_compression_figures_for_files(tmp_path, flower):
    p = tmp_path / "f.png"
    Image.fromarray(flower).save(p)
    r = quantize(p, 16)
    assert r.input_bytes == p.stat().st_size
    assert r.compression_ratio == pytest.approx(r.input_bytes / r.png_bytes)
    assert r.png_bytes < r.input_bytes


def test_same_seed_identical_output(flower):
    a, b = quantize(flower, 32, seed=7), quantize(flower, 32, seed=7)
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.palette.colors, b.palette.colors)
    assert a.png == b.png


def test_k1_and_grey():
    r = quantize(load_sample_image("china.jpg")[:50, :50], 1)
    assert len(r.palette) == 1 and len(np.unique(r.image.reshape(-1, 3), axis=0)) == 1
    g = quantize(np.tile(np.arange(256, dtype=np.uint8), (8, 1)), 4)
    assert g.image.shape == (8, 256, 3)
    assert (g.image[..., 0] == g.image[..., 1]).all()


def test_apply_given_palette(flower):
    pal = Palette(np.array([[0, 0, 0], [255, 255, 255], [200, 30, 30]], np.uint8), name="brand")
    r = quantize(flower, palette=pal)
    assert np.array_equal(r.palette.colors, pal.colors)
    assert set(np.unique(r.labels)) <= {0, 1, 2}
    assert abs(r.palette.weights.sum() - 1) < 1e-9


def test_options_validated():
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(KmqError, match="colour space"):
        quantize(img, 4, space="hsv")
    with pytest.raises(KmqError, match="seed"):
        quantize(img, 4, seed="x")
    with pytest.raises(KmqError, match="k must"):
        quantize(img, 0)


def test_input_array_not_modified(flower):
    before = flower.copy()
    rgba = np.dstack([flower, np.full(flower.shape[:2], 77, np.uint8)])
    rgba_before = rgba.copy()
    quantize(flower, 8, dither="fs")
    quantize(rgba, 8)
    assert np.array_equal(flower, before) and np.array_equal(rgba, rgba_before)


def test_dithering_never_moves_the_fitted_colours(flower):
    """The swatch file a designer takes and the PNG hold the same k-means colours,
    dithered or not (only the order, by share in the result, may differ)."""
    plain = quantize(flower, 12, seed=2, dither="none", lossy=0)
    for kw in ({"dither": "fs"}, {"dither": "bayer"}, {"dither": "none", "lossy": 4}):
        other = quantize(flower, 12, seed=2, **kw)
        assert sorted(other.palette.hex) == sorted(plain.palette.hex), kw
    locked = quantize(flower, 12, seed=2, dither="fs", lock="#123456")
    assert "#123456" in locked.palette.hex



@pytest.mark.parametrize("dither,lossy", [("none", None), ("fs", None), ("bayer", 0.0), ("none", 0.0)])
def test_one_quantize_loads_once_and_computes_the_masking_weights_once(tmp_path, flower, monkeypatch, dither, lossy):
    """The histogram and the rate-aware labels share one weight map; the file is decoded once
    (issue 25: counted, not timed)."""
    import kmq_core.contrast as contrast
    import kmq_core.loading as loading

    maps, decodes = [], []
    real_weights, real_open = contrast.masking_weights, loading.Image.open

    def counting_weights(*a, **kw):
        maps.append(1)
        return real_weights(*a, **kw)

    def counting_open(*a, **kw):
        decodes.append(1)
        return real_open(*a, **kw)

    monkeypatch.setattr(contrast, "masking_weights", counting_weights)
    monkeypatch.setattr("kmq_core.dithering.masking_weights", counting_weights)
    monkeypatch.setattr(loading.Image, "open", counting_open)
    path = tmp_path / "flower.png"
    Image.fromarray(flower).save(path)
    kw = {} if lossy is None else {"lossy": lossy}
    res = quantize(path, 16, dither=dither, **kw)
    assert len(decodes) == 1
    assert len(maps) == 1
    assert len(res.palette) == 16
