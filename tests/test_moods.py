"""Mood palettes (kmq_core.moods): the README's rules measured on CQ100 photos.

All 48 photos are checked by ``python -m benchmarks.moods``; a handful here keeps the suite quick.
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from benchmarks.moods import CQ100_DIR, check_image, pixel_cover
from kmq_core import KmqError, quantize
from kmq_core.histogram import color_histogram
from kmq_core.moods import coverage, mood_palette, mood_scores, oklab_lightness_chroma
from kmq_core.options import MOODS, QuantizeOptions, check_mood

needs_cq100 = pytest.mark.skipif(not CQ100_DIR.is_dir(), reason="../shared/data/cq100 is not there")


@needs_cq100
@pytest.mark.parametrize("name", ["macaws", "siberian_tiger", "cruise_ship", "curler", "daisy_poster"])
def test_moods_keep_their_promises_on_cq100(name):
    r = check_image(CQ100_DIR / f"{name}.png", k=5)
    m = r["moods"]
    assert m["muted"]["C"] < m["colorful"]["C"], m
    assert m["dark"]["L"] < m["bright"]["L"], m
    # every swatch has >= 1 % of the image's pixels within CIEDE2000 10 (measured per pixel)
    assert r["worst_cover"] >= 0.01, m
    for mood in MOODS:
        assert len(m[mood]["hex"]) == 5


@needs_cq100
def test_mood_palettes_differ_from_the_best_fit_and_each_other():
    px = np.asarray(Image.open(CQ100_DIR / "macaws.png").convert("RGB"))
    best = set(quantize(px, 5).palette.hex)
    pals = {m: set(quantize(px, 5, mood=m).palette.hex) for m in MOODS}
    assert all(p != best for p in pals.values())
    assert len({frozenset(p) for p in pals.values()}) >= 4
    # colourful is the most chromatic of all five, dark the darkest
    chroma = {m: oklab_lightness_chroma(np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in p]))[1].mean()
              for m, p in pals.items()}
    light = {m: oklab_lightness_chroma(np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in p]))[0].mean()
             for m, p in pals.items()}
    assert max(chroma, key=chroma.get) == "colorful" and min(light, key=light.get) == "dark"


def test_scores_follow_the_documented_rules():
    colours = np.array([[128, 128, 128], [230, 30, 30], [20, 20, 60], [250, 240, 120], [120, 110, 100]], np.uint8)
    L, C = oklab_lightness_chroma(colours)
    assert C[0] < 1e-3 and 0.0 < L[2] < L[0] < L[3] < 1.0
    assert np.argmax(mood_scores(colours, "colorful")) == 1  # the red
    assert np.argmax(mood_scores(colours, "dark")) == 2  # the navy
    assert np.argmax(mood_scores(colours, "bright")) == 3  # the light yellow
    np.testing.assert_allclose(mood_scores(colours, "deep"), 2 * C - L)
    np.testing.assert_allclose(mood_scores(colours, "muted"), -2 * C - np.abs(L - 0.6))
    assert np.argmax(mood_scores(colours, "muted")) in (0, 4)  # a grey of middle lightness


def test_coverage_counts_pixels_within_de_10():
    # 97 % mid grey, 3 % red: the red covers 3 %, a colour near neither covers nothing
    px = np.full((100, 100, 3), 128, np.uint8)
    px[:3] = (200, 30, 30)
    hist = color_histogram(px)
    cov = coverage(np.array([[128, 128, 128], [200, 30, 30], [30, 200, 30]], np.uint8), hist)
    np.testing.assert_allclose(cov, [0.97, 0.03, 0.0])
    np.testing.assert_allclose(pixel_cover(px, np.array([[200, 30, 30]]), step=1), [0.03])


def test_a_colour_below_one_percent_is_never_a_swatch():
    # a tiny vivid patch (0.5 %) on a dull field: the colourful mood must not pick it
    rng = np.random.default_rng(1)
    px = np.clip(rng.normal(120, 25, (200, 200, 3)), 0, 255).astype(np.uint8)
    px[:10, :20] = (20, 40, 250)
    pal = quantize(px, 4, mood="colorful").palette
    assert all(np.abs(c.astype(int) - (20, 40, 250)).max() > 40 for c in pal.colors)
    assert pixel_cover(px, pal.colors, step=1).min() >= 0.01


def test_locked_colours_stay_and_the_mood_fills_the_rest():
    px = np.asarray(Image.open(CQ100_DIR / "macaws.png").convert("RGB"))[::2, ::2] if CQ100_DIR.is_dir() else \
        np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)
    pal = mood_palette(color_histogram(px), 5, "dark", lock="#ff00ff")
    assert pal.hex[0] == "#ff00ff" and len(pal) == 5
    res = quantize(px, 5, mood="dark", lock="#ff00ff")
    assert "#ff00ff" in res.palette.hex


def test_no_mood_is_the_default_and_moods_check():
    assert QuantizeOptions().mood is None
    assert check_mood("Colourful") == "colorful" and check_mood("none") is None and check_mood("") is None
    with pytest.raises(KmqError, match="unknown mood 'happy'"):
        check_mood("happy")
    with pytest.raises(KmqError, match="unknown mood"):
        quantize(np.zeros((4, 4, 3), np.uint8), 2, mood="sad")
    o = QuantizeOptions(k=5, mood="DEEP")
    assert o.mood == "deep" and o.quantize_kwargs()["mood"] == "deep" and "mood" not in QuantizeOptions().quantize_kwargs()
    assert o.pixel_fields()["mood"] == "deep" and "mood" not in QuantizeOptions().pixel_fields()
    assert QuantizeOptions.from_dict(o.to_dict()) == o


def test_a_translucent_image_with_a_mood_is_refused_in_one_line():
    px = np.zeros((10, 10, 4), np.uint8)
    px[..., 0] = np.arange(10) * 20
    px[..., 3] = 128
    with pytest.raises(KmqError, match="translucent"):
        quantize(px, 3, mood="bright")


def test_few_colours_give_a_smaller_palette():
    px = np.zeros((50, 50, 3), np.uint8)
    px[25:] = (250, 200, 0)
    pal = quantize(px, 5, mood="colorful").palette
    assert sorted(pal.hex) == ["#000000", "#fac800"]
