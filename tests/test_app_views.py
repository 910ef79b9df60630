"""Display helpers of the app (kmq_app.views): previews and animation hold palette colours only."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # kmq_app sits beside streamlit_app.py

import io
import re

import numpy as np
import pytest
from PIL import Image, ImageSequence
from skimage import data

from kmq_app import views
from kmq_core import quantize, remap
from kmq_core.progression import lloyd_snapshots


def colours(a: np.ndarray) -> set[tuple[int, ...]]:
    return set(map(tuple, a.reshape(-1, a.shape[-1]).tolist()))


@pytest.fixture(scope="module")
def big():
    """A 1500×1000 photo (larger than the preview limit) and its quantization at k=12."""
    px = np.asarray(Image.fromarray(data.astronaut()).resize((1500, 1000), Image.Resampling.BICUBIC))
    return px, quantize(px, 12)


def test_previews_are_scaled_and_the_quantized_one_holds_palette_colours_only(big):
    px, r = big
    p = views.make_previews(px, r.labels, r.palette.colors)
    assert (p.width, p.height) == (1200, 800)
    before = np.asarray(Image.open(io.BytesIO(p.before)))
    after = np.asarray(Image.open(io.BytesIO(p.after)))
    assert before.shape == after.shape == (800, 1200, 3)
    assert p.before_mime == "image/jpeg" and p.before_uri.startswith("data:image/jpeg;base64,")  # a photo
    assert p.after_uri.startswith("data:image/png;base64,")  # never JPEG: that would smear the palette
    assert colours(after) <= colours(r.palette.colors)
    assert len(colours(before)) > 1000  # the original is averaged, as a photo should be


def test_previews_keep_alpha_and_small_images_as_they_are():
    px = np.zeros((20, 30, 4), np.uint8)
    px[:, :15] = (255, 0, 0, 255)
    px[:, 15:] = (0, 0, 255, 0)
    r = quantize(px, 2)
    p = views.make_previews(px, r.labels, r.palette.colors)
    after = np.asarray(Image.open(io.BytesIO(p.after)))
    assert (p.width, p.height) == (30, 20) and after.shape == (20, 30, 4)
    assert p.before_mime == "image/png"  # JPEG has no alpha
    assert (after[:, :15, 3] == 255).all() and (after[:, 15:, 3] == 0).all()


def test_previews_carry_a_kept_profile_so_the_browser_shows_them_as_the_png():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import icc_profiles

    icc = icc_profiles.display_p3()
    rgb = np.asarray(Image.fromarray(data.astronaut()).resize((64, 64)))
    r = quantize(rgb, 8)
    for px in (rgb, np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])):  # JPEG and PNG originals
        plain = views.make_previews(px, r.labels, r.palette.colors)
        kept = views.make_previews(px, r.labels, r.palette.colors, icc=icc)
        for payload in (plain.before, plain.after):
            assert "icc_profile" not in Image.open(io.BytesIO(payload)).info  # sRGB: nothing to say
        for payload in (kept.before, kept.after):
            assert Image.open(io.BytesIO(payload)).info.get("icc_profile") == icc
        # the numbers themselves are the same: the profile only says what they mean
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(kept.after))),
                              np.asarray(Image.open(io.BytesIO(plain.after))))


@pytest.mark.parametrize("x, y, side, box", [
    (50, 50, 100, (slice(450, 550), slice(700, 800))),
    (0, 0, 100, (slice(0, 100), slice(0, 100))),
    (100, 100, 100, (slice(900, 1000), slice(1400, 1500))),
    (50, 50, 5000, (slice(0, 1000), slice(0, 1500))),
])
def test_crop_box_stays_inside(x, y, side, box):
    assert views.crop_box((1000, 1500, 3), x, y, side) == box


def test_quantized_crop_is_the_result_image_window(big):
    px, r = big
    rows, cols = views.crop_box(px.shape, 30, 70, 80)
    assert np.array_equal(views.quantized_crop(r.labels, r.palette.colors, None, rows, cols), r.image[rows, cols])
    assert views.magnify(r.image[rows, cols], 4).shape == (320, 320, 3)


def test_animation_frames_show_each_steps_colours_exactly():
    small = views.shrink(data.coffee(), 120)
    shots = list(lloyd_snapshots(small, 64))
    labels = [remap(small, s.colors) for s in shots]
    gif = Image.open(io.BytesIO(views.progression_gif(labels, [s.colors for s in shots])))
    assert gif.n_frames == len(shots) > 2
    for frame, lab, s in zip(ImageSequence.Iterator(gif), labels, shots):
        rgb = np.asarray(frame.convert("RGB"))
        assert np.array_equal(rgb[: lab.shape[0]], s.colors[lab])
        assert colours(rgb[lab.shape[0]:]) == colours(s.colors)  # the strip shows the whole palette


@pytest.mark.parametrize("n, text", [(None, "n/a"), (0, "0 B"), (999, "999 B"), (1000, "1.00 kB"),
                                     (35_600, "35.6 kB"), (99_999, "100 kB"), (123_456, "123 kB"),
                                     (1_004_888, "1.00 MB")])
def test_human_bytes(n, text):
    assert views.human_bytes(n) == text
