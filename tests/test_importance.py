"""Importance masks (kmq_core.importance): the fit weighs pixels by them."""

import numpy as np
import pytest
from PIL import Image

from benchmarks.moods import CQ100_DIR
from kmq_core import KmqError, quantize
from kmq_core.histogram import color_histogram
from kmq_core.importance import check_importance, importance_histogram, read_mask, region_mask
from kmq_core.metrics import delta_e2000

RED = np.array([220, 20, 40], np.uint8)
PATCH = (slice(200, 224), slice(300, 324))  # 24×24 px: 0.15 % of the 768×512 photo
REGION = (290, 190, 334, 234)  # a box around it, as marked in the app


def _tiger_with_red_patch():
    if not CQ100_DIR.is_dir():
        pytest.skip("../shared/data/cq100 is not there")
    px = np.asarray(Image.open(CQ100_DIR / "siberian_tiger.png").convert("RGB")).copy()
    px[PATCH] = RED
    return px


def _red_error(pal) -> float:
    return float(delta_e2000(pal.colors, np.broadcast_to(RED, pal.colors.shape)).min())


def test_a_small_subject_gets_its_colour_with_the_mask():
    px = _tiger_with_red_patch()
    mask = region_mask(px.shape[:2], REGION)
    plain = quantize(px, 8).palette
    weighed = quantize(px, 8, importance=mask).palette
    assert _red_error(plain) > 15  # lost among the tiger's colours
    assert _red_error(weighed) < 3  # a swatch of its own
    # the same through the command's form: a greyscale file, and a float mask
    weighed_f = quantize(px, 8, importance=mask.astype(np.float32) / 255).palette
    assert weighed_f.hex == weighed.hex


def test_cli_palette_and_quantize_take_the_mask(tmp_path):
    from kmq_core.cli import main

    px = _tiger_with_red_patch()
    Image.fromarray(px).save(tmp_path / "t.png")
    Image.fromarray(region_mask(px.shape[:2], REGION)).convert("RGB").save(tmp_path / "m.png")  # any mode
    assert main(["palette", str(tmp_path / "t.png"), "-k", "8", "--importance", str(tmp_path / "m.png"),
                 "-o", str(tmp_path / "p.gpl")]) == 0
    from kmq_core.formats import read_palette

    assert _red_error(read_palette(tmp_path / "p.gpl")) < 3
    assert main(["quantize", str(tmp_path / "t.png"), "-k", "8", "--importance", str(tmp_path / "m.png"),
                 "-o", str(tmp_path / "q.png"), "-q"]) == 0
    out = np.asarray(Image.open(tmp_path / "q.png").convert("RGB"))
    assert float(delta_e2000(out[PATCH], np.broadcast_to(RED, out[PATCH].shape)).mean()) < 3


def test_an_all_white_mask_changes_nothing():
    rng = np.random.default_rng(3)
    px = np.clip(rng.normal(128, 50, (80, 120, 3)), 0, 255).astype(np.uint8)
    for space in ("perceptual", "rgb"):
        a = quantize(px, 6, space=space)
        b = quantize(px, 6, space=space, importance=np.full((80, 120), 255, np.uint8))
        assert a.palette.hex == b.palette.hex and np.array_equal(a.labels, b.labels)


def test_black_pixels_take_no_part_in_the_fit():
    px = np.zeros((40, 40, 3), np.uint8)
    px[:, :20] = (200, 0, 0)
    px[:, 20:] = (0, 0, 200)
    mask = np.zeros((40, 40), np.uint8)
    mask[:, :20] = 255
    res = quantize(px, 2, importance=mask)
    assert res.palette.hex == ["#c80000"]  # only what counts is fitted; every pixel is still remapped
    assert res.labels.shape == (40, 40)
    h = importance_histogram(px, mask.astype(np.float32) / 255)
    assert len(h) == 1 and float(h.counts[0]) == 800


def test_importance_histogram_counts_and_weights():
    px = np.zeros((2, 2, 3), np.uint8)
    px[0, 0] = px[0, 1] = (10, 20, 30)
    imp = np.array([[1.0, 0.5], [0.0, 0.25]], np.float32)
    h = importance_histogram(px, imp, weights=np.full((2, 2), 0.5, np.float32))
    full = color_histogram(px)
    assert len(full) == 2 and len(h) == 2  # the zero-importance pixel is (0,0,0), counted by the other
    counts = dict(zip(h.codes.tolist(), h.counts.tolist()))
    # importance is kept in 8 bits, as the histogram keeps weights: 0.5 is 128/255
    assert counts[int(full.codes[1])] == pytest.approx(1.5, abs=1 / 255) and counts[0] == pytest.approx(0.25, abs=1 / 255)
    np.testing.assert_allclose(h.weights, [0.125, 0.75], atol=1 / 255)


def test_bad_masks_are_refused_in_one_line(tmp_path):
    px = np.zeros((10, 20, 3), np.uint8)
    with pytest.raises(KmqError, match=r"is 5×10 pixels but the image is 20×10: .* same size"):
        quantize(px, 2, importance=np.ones((10, 5), np.uint8))
    with pytest.raises(KmqError, match="black everywhere"):
        quantize(px, 2, importance=np.zeros((10, 20), np.uint8))
    with pytest.raises(KmqError, match="from 0 to 1"):
        check_importance(np.full((10, 20), 2.0), (10, 20))
    with pytest.raises(KmqError, match="2-D"):
        check_importance(np.ones((10, 20, 3), np.uint8), (10, 20))
    # black where the image is visible is black: the mask only counts on visible pixels
    rgba = np.zeros((10, 20, 4), np.uint8)
    rgba[:, :10, 3] = 255
    mask = np.zeros((10, 20), np.uint8)
    mask[:, 10:] = 255
    with pytest.raises(KmqError, match="black everywhere"):
        quantize(rgba, 2, importance=mask)
    (tmp_path / "m.txt").write_text("not an image")
    with pytest.raises(KmqError, match="m.txt: cannot read the importance mask"):
        quantize(px, 2, importance=tmp_path / "m.txt")
    Image.new("L", (30, 10), 255).save(tmp_path / "m.png")
    with pytest.raises(KmqError, match=r"m.png is 30×10 pixels but the image is 20×10"):
        quantize(px, 2, importance=tmp_path / "m.png")


def test_masks_of_every_mode_read_as_grey(tmp_path):
    for mode, value, want in (("L", 128, 128 / 255), ("RGB", (255, 255, 255), 1.0), ("1", 1, 1.0),
                              ("I;16", 65535, 1.0), ("LA", (51, 0), 0.2)):
        Image.new(mode, (4, 3), value).save(tmp_path / f"m{len(mode)}.png")
        np.testing.assert_allclose(read_mask(tmp_path / f"m{len(mode)}.png"), np.full((3, 4), want), atol=1e-3)


def test_region_mask():
    m = region_mask((4, 6), (4, 3, 1, 1))  # corners in any order
    assert m.dtype == np.uint8 and m[1:3, 1:4].min() == 255 and m[0].max() == 51 and (m == 255).sum() == 6
    with pytest.raises(KmqError, match="empty"):
        region_mask((4, 6), (2, 2, 2, 3))
