"""QuantizeResult for notebooks and PIL users: PIL in, PIL out, a picture, honest saving."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

import kmq_core
from kmq_core import KmqError, quantize
from kmq_core.options import DEFAULT_SPACE
from kmq_core.result_view import GAP, PREVIEW_SIDE, STRIP_HEIGHT


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return Image.fromarray(data.chelsea()).resize((200, 150))


def test_a_pil_image_goes_in_and_comes_out(photo):
    res = quantize(photo, 8)
    assert np.array_equal(res.source.pixels, np.asarray(photo))
    pil = res.to_pil()
    assert isinstance(pil, Image.Image) and pil.mode == "P" and pil.size == photo.size
    assert np.array_equal(np.asarray(pil.convert("RGB")), res.image)
    assert len(pil.getpalette()) // 3 == len(res.palette)
    # every PIL mode a user may hold: palette with transparency, grey, RGBA
    p = photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    p.info["transparency"] = 0
    for img in (p, photo.convert("L"), photo.convert("RGBA")):
        assert quantize(img, 4).to_pil().mode == "P"


def test_to_pil_keeps_transparency():
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, 10:, 3] = 255
    pil = quantize(rgba, 2).to_pil()
    assert "transparency" in pil.info
    assert np.array_equal(np.asarray(pil.convert("RGBA"))[..., 3], rgba[..., 3])


def test_a_notebook_shows_before_after_and_the_palette(photo):
    res = quantize(photo, 6)
    shown = np.asarray(Image.open(io.BytesIO(res._repr_png_())).convert("RGB"))
    w, h = photo.size
    assert shown.shape == (h + GAP + STRIP_HEIGHT, 2 * w + GAP, 3)
    assert np.array_equal(shown[:h, :w], np.asarray(photo))
    assert np.array_equal(shown[:h, w + GAP:], res.image)
    strip = {tuple(c) for c in shown[h + GAP:].reshape(-1, 3)}
    assert strip == {tuple(c) for c in res.palette.colors}
    big = quantize(np.zeros((2000, 1000, 3), np.uint8), 2)._repr_png_()
    assert Image.open(io.BytesIO(big)).size[1] == PREVIEW_SIDE + GAP + STRIP_HEIGHT


@pytest.mark.parametrize("name", ["out.jpg", "out.JPEG", "out.webp", "out.gif"])
def test_save_refuses_an_extension_it_would_not_honour(tmp_path, photo, name):
    with pytest.raises(KmqError, match="indexed PNG files only"):
        quantize(photo, 4).save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    assert quantize(photo, 4).save(tmp_path / "out.PNG") > 0


def test_library_errors_name_keywords_not_flags(tmp_path, photo):
    res = quantize(photo, 4)
    res.save(tmp_path / "a.png")
    with pytest.raises(KmqError, match="pass force=True") as e:
        res.save(tmp_path / "a.png")
    assert "--" not in str(e.value)
    res.save(tmp_path / "a.png", force=True)


def test_docstring_says_the_real_default():
    doc = kmq_core.quantize.__doc__
    assert f"(default ``{DEFAULT_SPACE}``)" in doc and "lab`` (default)" not in doc
    assert "{DEFAULT_SPACE}" not in doc and "PIL.Image.Image" in doc
