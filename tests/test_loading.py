"""Every mode and format a user may throw at kmq loads as 8-bit sRGB(A)."""

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from kmq_core import KmqError, load_image


def _encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP"])
def test_lossless_formats_round_trip(rgb, fmt):
    kw = {"lossless": True} if fmt == "WEBP" else {}
    src = load_image(_encode(Image.fromarray(rgb), fmt, **kw))
    assert src.pixels.shape == (20, 30, 3) and src.pixels.dtype == np.uint8
    assert np.array_equal(src.pixels, rgb)
    assert src.format == fmt


def test_jpeg_and_gif_load(rgb):
    assert load_image(_encode(Image.fromarray(rgb), "JPEG")).pixels.shape == (20, 30, 3)
    g = load_image(_encode(Image.fromarray(rgb).quantize(8), "GIF"))
    assert g.pixels.shape == (20, 30, 3)


@pytest.mark.parametrize("mode", ["1", "L"])
def test_grey_modes_become_rgb(mode):
    img = Image.fromarray(np.tile(np.arange(0, 256, 16, dtype=np.uint8), (4, 1))).convert(mode)
    px = load_image(_encode(img, "PNG")).pixels
    assert px.shape == (4, 16, 3)
    assert (px[..., 0] == px[..., 1]).all() and (px[..., 1] == px[..., 2]).all()


def test_la_keeps_alpha():
    a = np.zeros((4, 4, 2), np.uint8)
    a[..., 0] = 200
    a[..., 1] = np.arange(16).reshape(4, 4) * 16
    px = load_image(_encode(Image.fromarray(a, "LA"), "PNG")).pixels
    assert px.shape == (4, 4, 4)
    assert np.array_equal(px[..., 3], a[..., 1]) and (px[..., 0] == 200).all()


def test_palette_with_transparency():
    p = Image.new("P", (4, 4), 1)
    p.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    p.putpixel((0, 0), 0)
    px = load_image(_encode(p, "PNG", transparency=0)).pixels
    assert px.shape == (4, 4, 4)
    assert px[0, 0, 3] == 0 and px[1, 1, 3] == 255 and tuple(px[1, 1, :3]) == (0, 255, 0)


def test_rgba_all_opaque_drops_alpha(rgb):
    img = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]), "RGBA")
    assert load_image(_encode(img, "PNG")).pixels.shape == (20, 30, 3)


def test_cmyk_jpeg_converted_and_noted():
    img = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # red
    src = load_image(_encode(img, "JPEG"))
    assert src.pixels.shape == (8, 8, 3)
    r, g, b = src.pixels[4, 4].astype(int)
    assert r > 200 and g < 60 and b < 60
    assert any("CMYK" in n for n in src.notes)


def test_16bit_grey_png_scaled_not_clipped():
    a = np.array([[0, 257, 32768, 65535]], np.uint16)
    img = Image.fromarray(a)  # Pillow picks I;16 for uint16
    assert img.mode == "I;16"
    src = load_image(_encode(img, "PNG"))
    assert list(src.pixels[0, :, 0]) == [0, 1, 128, 255]
    assert any("16-bit" in n for n in src.notes)


def test_16bit_tiff_and_float_tiff():
    a = np.array([[0, 65535]], np.uint16)
    assert list(load_image(_encode(Image.fromarray(a), "TIFF")).pixels[0, :, 0]) == [0, 255]
    f = np.array([[0.0, 0.5, 1.0, 2.0]], np.float32)
    src = load_image(_encode(Image.fromarray(f), "TIFF"))
    assert list(src.pixels[0, :, 0]) == [0, 128, 255, 255]
    assert any("float" in n for n in src.notes)


def test_exif_orientation_applied():
    img = Image.new("RGB", (4, 2), (0, 0, 255))
    img.putpixel((0, 0), (255, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    src = load_image(_encode(img, "JPEG", exif=exif, quality=100))
    assert src.pixels.shape == (4, 2, 3)  # portrait after rotation


def test_animated_gif_uses_first_frame_and_says_so():
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    src = load_image(buf.getvalue())
    assert tuple(src.pixels[0, 0]) == (255, 0, 0)
    assert any("first of 3 frames" in n for n in src.notes)


def test_path_and_file_object(tmp_path, rgb):
    p = tmp_path / "ünïcode name.png"
    Image.fromarray(rgb).save(p)
    assert np.array_equal(load_image(p).pixels, rgb)
    assert load_image(str(p)).file_size == p.stat().st_size
    with open(p, "rb") as f:
        assert np.array_equal(load_image(f).pixels, rgb)


def test_arrays():
    assert load_image(np.zeros((3, 4), np.uint8)).pixels.shape == (3, 4, 3)
    assert load_image(np.zeros((3, 4, 4), np.uint8)).pixels.shape == (3, 4, 4)
    with pytest.raises(KmqError, match="uint8"):
        load_image(np.zeros((3, 4, 3), np.float32))
    with pytest.raises(KmqError, match="shape"):
        load_image(np.zeros((3, 4, 5), np.uint8))


def test_pixel_limit_refuses_before_decoding():
    # a PNG header claiming 100000×100000 pixels with almost no data behind it
    img = Image.new("L", (1, 1))
    data = bytearray(_encode(img, "PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = (100000).to_bytes(4, "big") * 2
    data[ihdr + 17:ihdr + 21] = zlib.crc32(bytes(data[ihdr:ihdr + 17])).to_bytes(4, "big")
    with pytest.raises(KmqError, match="megapixels"):
        load_image(bytes(data))
    with pytest.raises(KmqError, match="limit of 0.0001 megapixels"):
        load_image(np.zeros((20, 30, 3), np.uint8), max_pixels=100)


@pytest.mark.parametrize("data,match", [
    (b"", "empty"),
    (b"hello, I am text", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 10, "not an image|cannot be read|damaged"),
])
def test_bad_bytes(data, match):
    with pytest.raises(KmqError, match=match):
        load_image(data)


def test_truncated_png_is_a_clear_error(rgb):
    data = _encode(Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 200, 3), dtype=np.uint8)), "PNG")
    with pytest.raises(KmqError, match="damaged or truncated"):
        load_image(data[: len(data) // 2])


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(KmqError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(KmqError, match="folder"):
        load_image(tmp_path)
