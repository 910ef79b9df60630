"""The app's palette checks, headless (AppTest) and as HTML: the WCAG contrast matrix and the
colour-vision view show what kmq_core.wcag and kmq_core.cvd compute, for the palette shown."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import io
import re

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from kmq_app import checks
from kmq_core import Palette
from kmq_core.cvd import confusable_pairs, simulate
from kmq_core.palette import parse_hex
from kmq_core.wcag import contrast_matrix

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


def png_bytes(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def flags() -> bytes:
    """Four flat stripes: matplotlib's red, a green of its lightness (a deuteranope's pair), white, black."""
    px = np.zeros((40, 160, 3), np.uint8)
    px[:, :40] = (214, 39, 40)
    px[:, 40:80] = (0, 150, 0)
    px[:, 80:120] = 255
    return png_bytes(px)


def run_with(payload: bytes, k: int = 4) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.file_uploader(key="upload").set_value(("flags.png", payload, "image/png"))
    at.run()
    at.number_input(key="k").set_value(k)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def shown_palette(at: AppTest) -> list[str]:
    keys = sorted((b for b in at.button if b.key and re.fullmatch(r"sw_\d+", b.key)), key=lambda b: int(b.key[3:]))
    return [re.search(r"#[0-9a-f]{6}", b.label).group(0) for b in keys]


def html_with(at: AppTest, marker: str) -> list[str]:
    return [h.proto.body for h in at.get("html") if marker in h.proto.body and "<style>" not in h.proto.body]


def vision(at: AppTest):
    return next(w for w in at.get("button_group") if w.key == "vision")


def test_contrast_matrix_is_the_cores(flags):
    at = run_with(flags)
    shown = shown_palette(at)
    assert sorted(shown) == ["#000000", "#009600", "#d62728", "#ffffff"]
    assert any(e.label == "Contrast (WCAG)" for e in at.expander)
    [body] = html_with(at, "kmq-contrast")
    m = contrast_matrix(np.array([parse_hex(h) for h in shown], np.uint8))
    cells = re.findall(r'data-level="([^"]+)"[^>]*title="([^"]+)">([^<]+)</td>', body)
    assert len(cells) == 12
    for level, title, text in cells:
        a, b, ratio = re.fullmatch(r"(#\w{6}) and (#\w{6}): ([\d.]+):1, .*", title).groups()
        r = m[shown.index(a), shown.index(b)]
        assert ratio == f"{r:.2f}"
        assert level == ("AAA" if r >= 7 else "AA" if r >= 4.5 else "AA large" if r >= 3 else "fail")
        assert float(text) <= r < float(text) + (0.1 if r < 10 else 1)  # cut, never rounded up
    for pair in ("#ffffff and #000000", "#000000 and #ffffff"):  # both halves of the symmetric matrix
        assert f'title="{pair}: 21.00:1, AAA">21</td>' in body
    assert "3 of 6 pairs can carry body text (AA), 5 large text." in body  # red/green 1.28 fails all


def test_colour_vision_view_flags_red_and_green_for_deuteranopes(flags):
    at = run_with(flags)
    w = vision(at)
    assert w.value == "normal" and w.options == ["Normal", "Protanopia", "Deuteranopia", "Tritanopia"]
    assert ("Pairs of swatches that look alike with colour-blindness: protanopia 0, deuteranopia 1, tritanopia 0. "
            "Choose one to see the result and the palette as they see it.") in [c.value for c in at.caption]
    assert not html_with(at, "kmq-vision")
    n_images = len(at.get("image"))
    w.set_value("deuteranopia")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = shown_palette(at)
    [body] = html_with(at, "kmq-vision")
    assert 'data-vision="deuteranopia"' in body
    seen = simulate(np.array([parse_hex(h) for h in shown], np.uint8), "deuteranopia")
    titles = re.findall(r'class="pair" title="([^"]+)"', body)
    assert titles == [f"{h} looks like #{s[0]:02x}{s[1]:02x}{s[2]:02x}" for h, s in zip(shown, seen)]
    assert "1 pair look alike with deuteranopia" in body
    items = re.findall(r"<li>.*?</li>", body)
    assert len(items) == 1 and {"#d62728", "#009600"} == set(re.findall(r"(#\w{6}) and (#\w{6})", items[0])[0])
    assert len(at.get("image")) == n_images + 1  # the result as seen
    vision(at).set_value("tritanopia")
    at.run()
    [body] = html_with(at, "kmq-vision")
    assert "No two swatches look alike with tritanopia" in body and "<li>" not in body


def test_simulated_preview_keeps_size_and_alpha():
    rgba = np.zeros((30, 50, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 214, np.arange(50, dtype=np.uint8)[None, :] * 5
    out = checks.simulated_png(png_bytes(rgba), "protanopia")
    with Image.open(io.BytesIO(out)) as im:
        got = np.asarray(im)
    assert got.shape == rgba.shape and np.array_equal(got[..., 3], rgba[..., 3])
    assert np.array_equal(got, simulate(rgba, "protanopia"))
    rgb = rgba[..., :3].copy()
    with Image.open(io.BytesIO(checks.simulated_png(png_bytes(rgb), "normal"))) as im:
        assert np.array_equal(np.asarray(im), rgb)


def test_large_palettes_list_pairs_without_the_matrix():
    rng = np.random.default_rng(2)
    big = Palette(rng.integers(0, 256, (40, 3), dtype=np.uint8))
    body = checks.contrast_html(big)
    assert "<table" not in body and "drawn for up to 16 colours" in body
    n_body = int((contrast_matrix(big.colors)[np.triu_indices(40, 1)] >= 4.5).sum())
    assert n_body > checks.PAIRS_SHOWN
    assert body.count('class="kmq-chip"') == checks.PAIRS_SHOWN and f"and {n_body - checks.PAIRS_SHOWN} more" in body
    counts = checks.flag_counts(big)
    assert counts == {d: len(confusable_pairs(big.colors, d)) for d in ("protanopia", "deuteranopia", "tritanopia")}


def test_long_flag_lists_are_cut_to_the_closest():
    greys = Palette(np.repeat(np.arange(0, 120, 2, dtype=np.uint8)[:, None], 3, axis=1))  # 60 near greys
    flagged = confusable_pairs(greys.colors, "protanopia")
    assert len(flagged) > checks.FLAGGED_SHOWN
    body = checks.vision_html(greys, "protanopia")
    assert body.count("<li>") == checks.FLAGGED_SHOWN
    both = sum(q.delta_e_normal < 3 for q in flagged)
    assert 0 < both and f"(ΔE2000 below 3, {both} of them in normal vision too)" in body
    assert f'<li class="more">and {len(flagged) - checks.FLAGGED_SHOWN} more</li>' in body
    first = flagged[0]
    assert f"{greys.hex[first.i]} and {greys.hex[first.j]}: ΔE2000 {first.delta_e:.1f}" in body
    assert checks.palette_of(tuple(greys.hex)) == greys
