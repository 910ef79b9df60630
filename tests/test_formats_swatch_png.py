"""Swatch PNG: a picture a person can read (colours where they should be), embedded palette."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from kmq_core.errors import KmqError
from kmq_core.formats import swatch_png
from kmq_core.palette import Palette
from palette_strategies import mutated, only_kmq_error, palettes

P = Palette(np.array([[255, 0, 0], [0, 128, 255], [20, 20, 20]]), np.array([0.5, 0.3, 0.2]), ("red", "sky", "ink"), "Sunset")


def test_swatches_are_drawn_with_labels():
    im = Image.open(io.BytesIO(swatch_png.write(P)))
    assert im.format == "PNG" and im.mode == "RGB"
    a = np.asarray(im)
    g, c, h = swatch_png.GAP, swatch_png.CARD, swatch_png.LABEL_H
    assert a.shape == (g + c + h + g, g + 3 * (c + g), 3)
    for i, rgb in enumerate(P.colors):
        x = g + i * (c + g)
        assert (a[g + 5:g + c - 5, x + 5:x + c - 5] == rgb).all()
        label = a[g + c + 2:g + c + h, x:x + c]
        assert (label.sum(axis=2) < 300).sum() > 30  # dark label text is there


def test_rows_of_eight_and_plain_grid_for_big_palettes():
    im = Image.open(io.BytesIO(swatch_png.write(Palette(np.zeros((20, 3), np.uint8)))))
    assert im.size[0] == swatch_png.GAP + 8 * (swatch_png.CARD + swatch_png.GAP)
    big = Palette(np.random.default_rng(0).integers(0, 256, (300, 3)))
    im = Image.open(io.BytesIO(swatch_png.write(big)))
    a = np.asarray(im)
    assert im.size == (64 * 16, 5 * 16)
    assert (a[16 * 4 + 3, 16 * 43 + 3] == big.colors[4 * 64 + 43]).all()
    assert swatch_png.read(swatch_png.write(big)) == big


@settings(max_examples=25, deadline=None)
@given(palettes(max_size=40, weights=True))
def test_round_trip_through_embedded_chunk(p):
    q = swatch_png.read(swatch_png.write(p))
    assert q == p and np.array_equal(q.weights, p.weights)


def test_refuses_png_without_palette_and_non_png():
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    with pytest.raises(KmqError, match="holds no kmq palette"):
        swatch_png.read(out.getvalue())
    with pytest.raises(KmqError, match="not a PNG"):
        swatch_png.read(b"GIF89a")


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data):
    only_kmq_error(swatch_png.read, data)
    only_kmq_error(swatch_png.read, swatch_png.PNG_SIGNATURE + data)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data):
    only_kmq_error(swatch_png.read, data.draw(mutated(swatch_png.write(P))))


def test_the_embedded_palette_has_no_contrast_block():
    """The JSON export's contrast block is derived data; the swatch image carries the palette only."""
    import json

    from kmq_core.formats import json_

    p = Palette(np.array([[0, 0, 0], [255, 255, 255], [200, 30, 30]], np.uint8))
    text = swatch_png._embedded_text(swatch_png.write(p))
    assert "contrast" not in json.loads(text) and text == json_.write(p, contrast=False).decode()
