"""Every mode and format a user may throw at kmq loads as 8-bit sRGB(A)."""

import io
import json
import zlib

import numpy as np
import pytest
from PIL import Image

from kmq_core import KmqError, load_image, quantize


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


# ================================================================ issue 13: files other people made
#
# Every kind of transparency, in a file written by Pillow and in one written by
# another encoder (ImageMagick, Netpbm, pypng, tifffile): each case checks that
# the file really is of its kind (Pillow's mode, PNG's bit depth, a tRNS chunk)
# before it checks kmq's alpha, so an encoder that chose another layout cannot
# turn the test into a test of something else.

import shutil
import struct
import subprocess
import sys
from pathlib import Path

from needs_tool import missing

H, W = 6, 8
#: where the single transparent colour sits in every tRNS case
KEY_AT = np.zeros((H, W), bool)
KEY_AT[0, 0] = KEY_AT[2, 3] = KEY_AT[5, 7] = KEY_AT[3, :2] = True
#: a ramp of alpha values for the alpha-channel cases (0 and 255 included)
ALPHA = np.linspace(0, 255, H * W).round().astype(np.uint8).reshape(H, W)


def imagemagick() -> str:
    # the versioned name first: on some machines 'convert' on PATH is a wrapper, not ImageMagick
    for p in ("/usr/bin/convert-im6.q16", "/usr/bin/convert-im7.q16", "/usr/bin/magick", "/usr/bin/convert"):
        if Path(p).is_file():
            return p
    missing("ImageMagick is not installed (apt-get install imagemagick)")


def netpbm(tool: str) -> str:
    p = shutil.which(tool)
    if p is None:
        missing(f"{tool} (Netpbm) is not installed (apt-get install netpbm)")
    return p


def _run(argv: list, **kw) -> bytes:
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, timeout=60, **kw).stdout


def png_layout(data: bytes) -> tuple[int, int, bool]:
    """(bit depth, colour type, has tRNS) read from the chunks themselves."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, depth, ctype, trns = 8, None, None, False
    while pos < len(data):
        n = struct.unpack(">I", data[pos:pos + 4])[0]
        kind = data[pos + 4:pos + 8]
        if kind == b"IHDR":
            depth, ctype = data[pos + 16], data[pos + 17]
        trns |= kind == b"tRNS"
        pos += 12 + n
    return depth, ctype, trns


def grey_with_key(key: int, top: int = 255) -> np.ndarray:
    """Grey levels 0..top, none equal to ``key`` except at KEY_AT."""
    g = (np.arange(H * W).reshape(H, W) * 7) % (top + 1)
    g[g == key] = (key + 1) % (top + 1)
    g[KEY_AT] = key
    return g


def rgb_with_key(key: tuple) -> np.ndarray:
    c = np.zeros((H, W, 3), np.uint8)
    c[..., 0] = np.arange(W) * 30
    c[..., 1] = (np.arange(H) * 40)[:, None]
    c[..., 2] = 200
    c[KEY_AT] = key
    return c


def rgba_ramp() -> np.ndarray:
    c = rgb_with_key((1, 2, 3))
    return np.dstack([c, ALPHA])


def _png_of(arr: np.ndarray, mode: str | None = None) -> bytes:
    return _encode(Image.fromarray(arr, mode) if mode else Image.fromarray(arr), "PNG")


def _im(tmp: Path, src: bytes, *args, out: str) -> bytes:
    """ImageMagick: read an opaque or RGBA PNG made here, write ``out`` with its own encoder."""
    (tmp / "src.png").write_bytes(src)
    _run([imagemagick(), tmp / "src.png", *args, tmp / out])
    return (tmp / out).read_bytes()


def _pypng(arr: np.ndarray, **kw) -> bytes:
    import png

    buf = io.BytesIO()
    h, w = arr.shape[:2]
    png.Writer(w, h, **kw).write(buf, arr.reshape(h, -1).tolist())
    return buf.getvalue()


# each case: (file bytes, Pillow mode the file opens as, PNG layout or None, expected alpha, expected RGB)
def case_1_pillow(tmp):
    b = KEY_AT | (np.arange(H * W).reshape(H, W) % 3 == 0)
    img = Image.fromarray(b.astype(np.uint8) * 255).convert("1")
    return _encode(img, "PNG", transparency=255), "1", (1, 0, True), np.where(b, 0, 255), None


def case_1_netpbm(tmp):
    b = KEY_AT | (np.arange(H * W).reshape(H, W) % 3 == 0)
    (tmp / "b.pbm").write_bytes(b"P5 %d %d 1\n" % (W, H) + b.astype(np.uint8).tobytes())  # 1 = white, as PGM
    data = _run([netpbm("pnmtopng"), "-transparent", "rgb:ff/ff/ff", tmp / "b.pbm"])
    return data, "1", (1, 0, True), np.where(b, 0, 255), None


def case_l_pillow(tmp):
    g = grey_with_key(119)
    data = _encode(Image.fromarray(g.astype(np.uint8)), "PNG", transparency=119)
    return data, "L", (8, 0, True), np.where(KEY_AT, 0, 255), np.repeat(g[..., None], 3, 2)


def case_l_imagemagick(tmp):
    g = grey_with_key(119)
    data = _im(tmp, _png_of(g.astype(np.uint8)), "-transparent", "rgb(119,119,119)",
               "-define", "png:color-type=0", "-define", "png:bit-depth=8", out="l.png")
    return data, "L", (8, 0, True), np.where(KEY_AT, 0, 255), np.repeat(g[..., None], 3, 2)


def case_l4_netpbm(tmp):
    # 4-bit grey: the key is stored as 7 and Pillow decodes the samples to 7 * 17 = 119
    g = grey_with_key(7, top=15)
    (tmp / "g.pgm").write_bytes(b"P5 %d %d 15\n" % (W, H) + g.astype(np.uint8).tobytes())
    data = _run([netpbm("pnmtopng"), "-transparent", "rgb:77/77/77", tmp / "g.pgm"])
    return data, "L", (4, 0, True), np.where(KEY_AT, 0, 255), np.repeat(g[..., None] * 17, 3, 2)


def case_l4_pypng(tmp):
    g = grey_with_key(7, top=15)
    data = _pypng(g, greyscale=True, bitdepth=4, transparent=7)
    return data, "L", (4, 0, True), np.where(KEY_AT, 0, 255), np.repeat(g[..., None] * 17, 3, 2)


def case_i16_pillow(tmp):
    g = grey_with_key(40000, top=65535).astype(np.uint16)
    data = _encode(Image.fromarray(g), "PNG", transparency=40000)
    return data, "I;16", (16, 0, True), np.where(KEY_AT, 0, 255), np.repeat(np.rint(g / 257)[..., None], 3, 2)


def case_i16_imagemagick(tmp):
    g = (grey_with_key(119) * 257).astype(np.uint16)  # 119 * 257 = 0x7777, written by ImageMagick at 16 bits
    src = _encode(Image.fromarray(g), "PNG")
    data = _im(tmp, src, "-transparent", "rgb(119,119,119)", "-define", "png:color-type=0",
               "-define", "png:bit-depth=16", out="i16.png")
    return data, "I;16", (16, 0, True), np.where(KEY_AT, 0, 255), np.repeat((g // 257)[..., None], 3, 2)


def case_rgb_pillow(tmp):
    c = rgb_with_key((10, 20, 30))
    return _encode(Image.fromarray(c), "PNG", transparency=(10, 20, 30)), "RGB", (8, 2, True), \
        np.where(KEY_AT, 0, 255), c


def case_rgb_imagemagick(tmp):
    c = rgb_with_key((10, 20, 30))
    data = _im(tmp, _png_of(c), "-transparent", "rgb(10,20,30)", "-define", "png:color-type=2", out="rgb.png")
    return data, "RGB", (8, 2, True), np.where(KEY_AT, 0, 255), c


def case_rgb16_imagemagick(tmp):
    c = rgb_with_key((10, 20, 30))
    data = _im(tmp, _png_of(c), "-transparent", "rgb(10,20,30)", "-depth", "16", "-define", "png:color-type=2",
               "-define", "png:bit-depth=16", out="rgb16.png")
    return data, "RGB", (16, 2, True), np.where(KEY_AT, 0, 255), c


def case_rgb16_pypng(tmp):
    # keys that differ from their neighbours only in the low byte: only a 16-bit comparison tells them apart
    c = rgb_with_key((10, 20, 30)).astype(np.uint16) * 257
    c[1, 1] = (10 * 257 + 1, 20 * 257, 30 * 257)
    data = _pypng(c, greyscale=False, bitdepth=16, transparent=(10 * 257, 20 * 257, 30 * 257))
    return data, "RGB", (16, 2, True), np.where(KEY_AT, 0, 255), (c >> 8).astype(np.uint8)


def case_la_pillow(tmp):
    g = grey_with_key(119).astype(np.uint8)
    data = _encode(Image.fromarray(np.dstack([g, ALPHA]), "LA"), "PNG")
    return data, "LA", (8, 4, False), ALPHA, np.repeat(g[..., None], 3, 2)


def case_la_imagemagick(tmp):
    g = grey_with_key(119).astype(np.uint8)
    data = _im(tmp, _encode(Image.fromarray(np.dstack([g, ALPHA]), "LA"), "PNG"),
               "-define", "png:color-type=4", out="la.png")
    return data, "LA", (8, 4, False), ALPHA, np.repeat(g[..., None], 3, 2)


def case_la16_pypng(tmp):
    g = grey_with_key(119).astype(np.uint16) * 257
    data = _pypng(np.dstack([g, ALPHA.astype(np.uint16) * 257]), greyscale=True, alpha=True, bitdepth=16)
    # Pillow opens 16-bit grey+alpha as RGBA (8 bits kept)
    return data, "RGBA", (16, 4, False), ALPHA, np.repeat((g >> 8)[..., None], 3, 2)


def case_rgba16_imagemagick(tmp):
    data = _im(tmp, _png_of(rgba_ramp(), "RGBA"), "-depth", "16", "-define", "png:bit-depth=16",
               "-define", "png:color-type=6", out="rgba16.png")
    return data, "RGBA", (16, 6, False), ALPHA, rgba_ramp()[..., :3]


def case_p_pillow(tmp):
    c = rgb_with_key((10, 20, 30))
    p = Image.fromarray(c).quantize(64, method=Image.Quantize.MEDIANCUT)
    t = p.getpixel((0, 0))
    pal = np.array(p.getpalette()[:768]).reshape(-1, 3)
    return _encode(p, "PNG", transparency=t), "P", (8, 3, True), np.where(np.asarray(p) == t, 0, 255), \
        pal[np.asarray(p)]


def case_p_imagemagick(tmp):
    data = _im(tmp, _png_of(rgba_ramp(), "RGBA"), "-alpha", "on", out="png8:p.png")
    return data, "P", (8, 3, True), ALPHA, rgba_ramp()[..., :3]


def case_pa_pillow(tmp):
    c = rgb_with_key((10, 20, 30))
    p = Image.fromarray(c).quantize(64, method=Image.Quantize.MEDIANCUT)
    pa = Image.merge("PA", (p, Image.fromarray(ALPHA)))
    pa.putpalette(p.getpalette())
    pal = np.array(p.getpalette()[:768]).reshape(-1, 3)
    return _encode(pa, "TIFF"), "PA", None, ALPHA, pal[np.asarray(p)]


def case_pa_imagemagick(tmp):
    data = _im(tmp, _png_of(rgba_ramp(), "RGBA"), "-type", "PaletteAlpha", out="pa.tif")
    return data, "PA", None, ALPHA, rgba_ramp()[..., :3]


def _premultiplied(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    return (c.astype(np.int64) * a[..., None] // 255).astype(np.uint8)


def case_rgba_assoc_tifffile(tmp):
    import tifffile

    c = rgb_with_key((10, 200, 250))
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.dstack([_premultiplied(c, ALPHA), ALPHA]), photometric="rgb",
                     extrasamples=["assocalpha"])
    return buf.getvalue(), "RGBA", None, ALPHA, c  # Pillow un-premultiplies associated RGB alpha itself


def case_rgba_assoc_imagemagick(tmp):
    c = rgb_with_key((10, 200, 250))
    data = _im(tmp, _png_of(np.dstack([c, ALPHA]), "RGBA"), "-define", "tiff:alpha=associated", out="assoc.tif")
    return data, "RGBA", None, ALPHA, c


def case_la_assoc_tifffile(tmp):
    import tifffile

    g = np.full((H, W), 200, np.uint8)
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.dstack([_premultiplied(g[..., None], ALPHA)[..., 0], ALPHA]),
                     photometric="minisblack", extrasamples=["assocalpha"])
    return buf.getvalue(), "La", None, ALPHA, np.repeat(g[..., None], 3, 2)


def case_gif_pillow(tmp):
    c = rgb_with_key((10, 20, 30))
    p = Image.fromarray(c).quantize(32, method=Image.Quantize.MEDIANCUT)
    t = p.getpixel((0, 0))
    pal = np.array(p.getpalette()[:768]).reshape(-1, 3)
    return _encode(p, "GIF", transparency=t), "P", None, np.where(np.asarray(p) == t, 0, 255), pal[np.asarray(p)]


def case_gif_imagemagick(tmp):
    c = rgb_with_key((10, 20, 30))
    data = _im(tmp, _png_of(c), "-transparent", "rgb(10,20,30)", out="t.gif")
    return data, "P", None, np.where(KEY_AT, 0, 255), c


def case_bmp_pillow(tmp):
    # Pillow writes RGBA as a 32-bit BI_RGB BMP with alpha in the fourth byte (and reads it back as RGB)
    return _encode(Image.fromarray(rgba_ramp(), "RGBA"), "BMP"), "RGBA", None, ALPHA, rgba_ramp()[..., :3]


def case_bmp_imagemagick(tmp):
    data = _im(tmp, _png_of(rgba_ramp(), "RGBA"), "-define", "bmp:format=bmp4", out="a.bmp")
    return data, "RGBA", None, ALPHA, rgba_ramp()[..., :3]


TRANSPARENCY_CASES = {name[5:]: f for name, f in list(globals().items()) if name.startswith("case_")}


@pytest.mark.parametrize("case", sorted(TRANSPARENCY_CASES))
def test_transparency_of_every_kind_is_kept(case, tmp_path):
    from PIL import BmpImagePlugin

    data, mode, layout, alpha, rgb = TRANSPARENCY_CASES[case](tmp_path)
    old = BmpImagePlugin.USE_RAW_ALPHA
    BmpImagePlugin.USE_RAW_ALPHA = True  # how the file opens when its fourth byte is read as alpha
    try:
        assert Image.open(io.BytesIO(data)).mode == mode, "the encoder wrote another kind of file"
    finally:
        BmpImagePlugin.USE_RAW_ALPHA = old
    if layout is not None:
        assert png_layout(data) == layout, "the encoder wrote another kind of file"
    src = load_image(data)
    assert src.pixels.shape == (H, W, 4), f"transparency dropped ({src.notes})"
    assert np.abs(src.pixels[..., 3].astype(int) - alpha).max() <= 1
    assert np.array_equal(src.pixels[..., 3] == 0, np.asarray(alpha) == 0)
    if rgb is not None:
        seen = src.pixels[..., 3] >= 64  # colour is only defined where alpha carries it
        diff = np.abs(src.pixels[..., :3].astype(int) - np.asarray(rgb).astype(int)).max(axis=-1)
        # premultiplied samples were rounded at alpha/255 of their precision
        tol = np.ceil(255 / np.maximum(alpha, 1)) + 1 if "assoc" in case else np.ones((H, W))
        assert (diff <= tol)[seen].all()


def bmp32(rgba: np.ndarray, masks: tuple[int, int, int, int] | None) -> bytes:
    """A 32-bit BMP written here byte by byte (no encoder writes every layout): a V5 header with
    BI_BITFIELDS and ``masks`` (red, green, blue, alpha), or with ``masks=None`` a plain BI_RGB
    file whose reserved fourth byte holds the alpha (B, G, R, A in memory, as Pillow writes RGBA;
    so are the samples of masks that are all zero, the layout Pillow reads them in)."""
    h, w = rgba.shape[:2]
    compression, m = (0, (0, 0, 0, 0)) if masks is None else (3, masks)
    if not any(m):
        px = np.ascontiguousarray(rgba[::-1][..., [2, 1, 0, 3]]).tobytes()  # rows bottom-up
    else:
        value = np.zeros((h, w), np.uint64)
        for c, mask in enumerate(m):
            if mask:
                shift = (mask & -mask).bit_length() - 1
                value |= rgba[..., c].astype(np.uint64) << np.uint64(shift)
        px = value[::-1].astype("<u4").tobytes()  # rows bottom-up
    info = struct.pack("<IiiHHIIiiII4I", 124, w, h, 1, 32, compression, len(px), 2835, 2835, 0, 0, *m)
    info += struct.pack("<I", 0x73524742) + bytes(36 + 12) + struct.pack("<4I", 4, 0, 0, 0)  # 'sRGB', no profile
    assert len(info) == 124
    return b"BM" + struct.pack("<IHHI", 14 + 124 + len(px), 0, 0, 14 + 124) + info + px


#: bit field layouts with an alpha mask: ABGR (Pillow's rgb32bf-abgr.bmp), BGRA (GIMP, ImageMagick), RGBA
ALPHA_MASKS = {"abgr": (0xFF000000, 0xFF0000, 0xFF00, 0xFF), "bgra": (0xFF0000, 0xFF00, 0xFF, 0xFF000000),
               "rgba": (0xFF, 0xFF00, 0xFF0000, 0xFF000000)}


@pytest.mark.parametrize("layout", sorted(ALPHA_MASKS))
def test_bmp_alpha_bitfields_are_kept(layout):
    src = load_image(bmp32(rgba_ramp(), ALPHA_MASKS[layout]))
    assert src.pixels.shape == (H, W, 4) and np.array_equal(src.pixels, rgba_ramp())


@pytest.mark.parametrize("layout", sorted(ALPHA_MASKS))
def test_bmp_alpha_bitfield_zero_everywhere_is_fully_transparent(layout, tmp_path):
    """The header declares alpha, and every pixel's is 0 (Pillow's rgb32bf-abgr.bmp: 8,128 clear
    pixels): a fully transparent image, as Pillow and Firefox show it, and so its PNG."""
    rgba = rgba_ramp().copy()
    rgba[..., 3] = 0
    data = bmp32(rgba, ALPHA_MASKS[layout])
    src = load_image(data)
    assert src.pixels.shape == (H, W, 4) and not src.pixels[..., 3].any()
    assert np.array_equal(src.pixels[..., :3], rgba[..., :3]) and src.notes == []
    path = tmp_path / "clear.bmp"
    path.write_bytes(data)
    r = subprocess.run([*KMQ, "quantize", path, "-k", "16", "-o", tmp_path / "clear.png"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    out = Image.open(tmp_path / "clear.png")
    assert out.mode == "P" and len(out.getpalette()) == 3 and out.info["transparency"] == 0
    assert not np.asarray(out.convert("RGBA"))[..., 3].any()


def test_bmp_whose_alpha_bitfield_is_zero_everywhere_from_imagemagick(tmp_path):
    data = _im(tmp_path, _png_of(rgba_ramp(), "RGBA"), "-alpha", "set", "-channel", "A", "-evaluate", "set", "0",
               "+channel", "-define", "bmp:format=bmp4", out="zero.bmp")
    assert data[30:34] == struct.pack("<I", 3) and data[66:70] != bytes(4), "not bit fields with an alpha mask"
    src = load_image(data)
    assert src.pixels.shape == (H, W, 4) and not src.pixels[..., 3].any()


@pytest.mark.parametrize("writer", ["pillow", "here", "zero masks"])
def test_bmp_whose_reserved_byte_is_zero_everywhere_is_opaque(writer):
    """A plain 32-bit BMP's fourth byte is reserved: zero everywhere, the file is opaque (as browsers
    show it). So are bit fields whose masks are all zero (Pillow reads them as B, G, R, A)."""
    rgba = rgba_ramp().copy()
    rgba[..., 3] = 0
    if writer == "pillow":
        data = _encode(Image.fromarray(rgba, "RGBA"), "BMP")  # BI_RGB, alpha in the fourth byte
        assert data[30:34] == bytes(4) and data[28] == 32
    else:
        data = bmp32(rgba, None if writer == "here" else (0, 0, 0, 0))
    src = load_image(data)
    assert src.pixels.shape == (H, W, 3)
    assert np.array_equal(src.pixels, rgba_ramp()[..., :3])
    assert any("BMP alpha channel is zero everywhere" in n for n in src.notes)


def test_pil_image_with_16bit_key_is_matched_on_its_top_byte():
    data, *_ = case_rgb16_pypng(None)
    src = load_image(Image.open(io.BytesIO(data)))  # no 16-bit samples left to compare: the top byte, said so
    assert (src.pixels[..., 3] == 0).sum() == KEY_AT.sum() + 1
    assert any("top 8 bits" in n for n in src.notes)


# ---------------------------------------------------------------- C libraries' words: captured, one line

#: the ``kmq`` command as users run it (the installed script, else the same entry point)
KMQ = [shutil.which("kmq")] if shutil.which("kmq") else [sys.executable, "-m", "kmq_core.cli"]


def _tiff_entries(data: bytes):
    assert data[:4] == b"II*\0"
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        pos = ifd + 2 + 12 * i
        yield pos, *struct.unpack_from("<HHII", data, pos)


def tiff_with_short_strip() -> bytes:
    """A deflate TIFF (decoded by libtiff) whose StripByteCounts claims 5000 bytes more than the file has."""
    rng = np.random.default_rng(0)
    data = bytearray(_encode(Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "TIFF",
                             compression="tiff_adobe_deflate"))
    for pos, tag, typ, count, value in _tiff_entries(data):
        if tag == 279 and count == 1:
            struct.pack_into("<I", data, pos + 8, value + 5000)
            return bytes(data)
    raise AssertionError("no StripByteCounts")


def tiff_with_bad_fax_codes() -> bytes:
    """A CCITT G4 TIFF with 8 bytes of its strip overwritten: libtiff reports bad code words and goes on."""
    rng = np.random.default_rng(0)
    bits = Image.fromarray((rng.random((64, 64)) > 0.5).astype(np.uint8) * 255).convert("1")
    data = bytearray(_encode(bits, "TIFF", compression="group4"))
    offset = next(value for _, tag, _, _, value in _tiff_entries(data) if tag == 273)
    data[offset + 100:offset + 108] = bytes([0x5A, 0xC3, 0x17, 0xE8, 0x91, 0x4F, 0x26, 0xB0])
    return bytes(data)


def test_libtiff_read_error_becomes_part_of_the_one_error(capfd):
    with pytest.raises(KmqError) as e:
        load_image(tiff_with_short_strip())
    assert "damaged or truncated" in str(e.value) and "TIFFFillStrip: Read error on strip 0" in str(e.value)
    out, err = capfd.readouterr()
    assert err == "" and out == ""


def test_libtiff_errors_on_a_decode_that_succeeds_become_a_note(capfd):
    src = load_image(tiff_with_bad_fax_codes())
    assert src.pixels.shape == (64, 64, 3)
    assert any(n.startswith("the decoder reported errors") and "Fax4Decode: Bad code word" in n for n in src.notes)
    assert capfd.readouterr().err == ""


def test_cli_damaged_tiff_strip_prints_exactly_one_line(tmp_path):
    src = tmp_path / "scan.tif"
    src.write_bytes(tiff_with_short_strip())
    out = tmp_path / "scan-16.png"
    r = subprocess.run([*KMQ, "quantize", src, "-o", out], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [r.stderr.strip()] and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("kmq: error: scan.tif is damaged or truncated and cannot be decoded (TIFFFillStrip: ")
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["scan.tif"]


def test_cli_libtiff_errors_on_success_print_nothing_and_are_noted(tmp_path):
    src = tmp_path / "fax.tif"
    src.write_bytes(tiff_with_bad_fax_codes())
    r = subprocess.run([*KMQ, "quantize", src, "-o", tmp_path / "fax-2.png", "-k", "2", "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == ""
    (info,) = [json.loads(line) for line in r.stdout.splitlines()]
    assert any("Fax4Decode: Bad code word" in n for n in info["notes"])


def test_loads_in_threads_each_get_their_own_words(capfd):
    from concurrent.futures import ThreadPoolExecutor

    bad, fax = tiff_with_short_strip(), tiff_with_bad_fax_codes()

    def one(i):
        if i % 2:
            return load_image(fax).notes
        try:
            load_image(bad)
        except KmqError as e:
            return [str(e)]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, range(16)))
    for i, notes in enumerate(results):
        words = "".join(notes)
        assert ("Fax4Decode" in words) == bool(i % 2) and ("TIFFFillStrip" in words) == (not i % 2)
    assert capfd.readouterr().err == ""


# ---------------------------------------------------------------- each refusal names its cause


def test_tiff_compressed_with_a_codec_libtiff_lacks():
    # a valid deflate TIFF relabelled as WebP-compressed (50001): libtiff says it has no such codec
    data = bytearray(_encode(Image.new("RGB", (8, 8), (1, 2, 3)), "TIFF", compression="tiff_adobe_deflate"))
    pos = next(p for p, tag, *_ in _tiff_entries(data) if tag == 259)
    struct.pack_into("<H", data, pos + 8, 50001)
    with pytest.raises(KmqError, match="^the image is a TIFF compressed with WebP: "
                                       "this Pillow/libtiff build has no WebP codec$"):
        load_image(bytes(data))


def test_eps_without_ghostscript_says_so(monkeypatch):
    from PIL import EpsImagePlugin

    data = _encode(Image.new("RGB", (8, 8), (200, 10, 10)), "EPS")
    monkeypatch.setattr(EpsImagePlugin, "gs_binary", False)  # as on a machine without gs
    with pytest.raises(KmqError, match="EPS file: reading it needs Ghostscript"):
        load_image(data)


def test_eps_with_ghostscript_is_read():
    if shutil.which("gs") is None:
        pytest.skip("Ghostscript is not installed: the refusal above is what users get")
    src = load_image(_encode(Image.new("RGB", (8, 8), (200, 10, 10)), "EPS"))
    assert tuple(src.pixels[4, 4]) == (200, 10, 10)


def _png_claiming(width: int, height: int) -> bytes:
    data = bytearray(_encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[ihdr + 17:ihdr + 21] = zlib.crc32(bytes(data[ihdr:ihdr + 17])).to_bytes(4, "big")
    return bytes(data)


def ico_with_bomb_inside() -> bytes:
    """An ICO whose directory says 16×16 but whose PNG frame claims 60000×60000 pixels."""
    frame = _png_claiming(60_000, 60_000)
    header = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(frame), 22)
    return header + frame


def test_bomb_inside_an_ico_gets_kmqs_pixel_limit_message():
    from kmq_core.errors import PixelLimitError

    with pytest.raises(PixelLimitError, match="^the image has an image inside it of 60000×60000 = 3600.0 "
                                              "megapixels, more than the limit of 100 megapixels$"):
        load_image(ico_with_bomb_inside())
    with pytest.raises(PixelLimitError, match="limit of 1 megapixels"):
        load_image(ico_with_bomb_inside(), max_pixels=1_000_000)


def test_bomb_inside_an_ico_without_a_limit_is_still_one_clean_line():
    with pytest.raises(KmqError) as e:
        load_image(ico_with_bomb_inside(), max_pixels=None)
    assert "\n" not in str(e.value) and "Errno" not in str(e.value)


@pytest.mark.parametrize("data,match", [
    (b"\0\0\0\x1cftypheic\0\0\0\0mif1heic" + bytes(64), "is a HEIF/HEIC image: Pillow reads HEIF only with"),
    (b"GRIB\0\0\0\x01" + bytes(64), "is a GRIB file: Pillow identifies it but has no decoder for it"),
])
def test_formats_pillow_cannot_decode_are_named(data, match):
    with pytest.raises(KmqError, match=match):
        load_image(data)


# ---------------------------------------------------------------- files with several images


def layered_psd(tmp: Path) -> bytes:
    """A Photoshop file with two layers, written by ImageMagick: the first image is the composite."""
    _run([imagemagick(), "-size", "8x6", "xc:rgb(10,200,30)", "(", "-size", "8x6", "xc:blue", ")",
          "(", "-size", "4x3", "xc:red", ")", "-depth", "8", tmp / "layers.psd"])
    return (tmp / "layers.psd").read_bytes()


def test_layered_psd_reads_as_its_composite(tmp_path):
    data = layered_psd(tmp_path)
    assert Image.open(io.BytesIO(data)).n_frames == 2  # two layers: the case that failed with seek(0)
    src = load_image(data)
    assert src.pixels.shape == (6, 8, 3) and (src.pixels == (10, 200, 30)).all()
    assert src.notes == ["Photoshop file with 2 layers: using the composite image"]


def test_mpo_uses_the_first_picture_and_says_so():
    pictures = [Image.new("RGB", (16, 8), c) for c in ((250, 0, 0), (0, 0, 250))]
    buf = io.BytesIO()
    pictures[0].save(buf, "MPO", save_all=True, append_images=pictures[1:])
    src = load_image(buf.getvalue())
    assert src.format == "MPO" and src.pixels[4, 8, 0] > 200 and src.pixels[4, 8, 2] < 50
    assert src.notes == ["multi-picture JPEG (MPO): using the first of 2 pictures"]


def test_multipage_tiff_is_not_called_animated():
    pages = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    src = load_image(buf.getvalue())
    assert tuple(src.pixels[0, 0]) == (255, 0, 0)
    assert src.notes == ["multi-page TIFF: using the first of 3 pages"]


# ---------------------------------------------------------------- arrays and PIL images


def test_two_d_array_is_grey_and_says_what_kmq_cannot_know():
    p = Image.new("P", (4, 4), 1)
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    src = load_image(np.asarray(p))  # the indices: 1 everywhere, without the palette
    assert (src.pixels == 1).all()
    assert any("palette indices" in n for n in src.notes)
    assert load_image(np.zeros((4, 4, 3), np.uint8)).notes == []


def test_pil_palette_image_is_read_with_its_palette_and_transparency():
    p = Image.new("P", (4, 4), 1)
    p.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    p.putpixel((0, 0), 0)
    p.info["transparency"] = 0
    before = (p.mode, p.tobytes(), dict(p.info), p.getpalette())
    src = load_image(p)
    assert src.mode == "P" and src.pixels.shape == (4, 4, 4)
    assert src.pixels[0, 0, 3] == 0 and tuple(src.pixels[1, 1]) == (0, 0, 255, 255)
    assert (p.mode, p.tobytes(), dict(p.info), p.getpalette()) == before  # the caller's image is untouched
    res = quantize(p, 2)
    assert res.image.shape == (4, 4, 4) and res.image[0, 0, 3] == 0


def test_pil_image_is_never_re_encoded(monkeypatch):
    img = Image.fromarray(np.dstack([rgb_with_key((1, 2, 3)), ALPHA]), "RGBA")

    def no_save(*a, **k):
        raise AssertionError("load_image re-encoded the PIL image")

    monkeypatch.setattr(Image.Image, "save", no_save)
    src = load_image(img)
    assert np.array_equal(src.pixels, np.asarray(img))


def test_pil_image_opened_lazily_keeps_mode_frame_and_orientation(tmp_path):
    g = (grey_with_key(40000, top=65535)).astype(np.uint16)
    f = tmp_path / "grey16.png"
    Image.fromarray(g).save(f, transparency=40000)
    with Image.open(f) as im:  # not loaded yet
        src = load_image(im)
        assert src.name == "grey16.png" and src.mode == "I;16" and src.pixels.shape == (H, W, 4)
        assert np.array_equal(src.pixels[..., 3] == 0, KEY_AT)
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    with Image.open(buf) as gif:
        gif.seek(1)
        src = load_image(gif)
        assert tuple(src.pixels[0, 0]) == (0, 255, 0)
        assert src.notes == ["animated image: using number 2 of 3 frames (the one it is on)"]
    img = Image.new("RGB", (4, 2), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6
    with Image.open(io.BytesIO(_encode(img, "JPEG", exif=exif, quality=100))) as jpeg:
        assert load_image(jpeg).pixels.shape == (4, 2, 3) and jpeg.size == (4, 2)


def test_pil_image_over_the_pixel_limit_is_refused():
    with pytest.raises(KmqError, match="limit of 0.0001 megapixels"):
        load_image(Image.new("RGB", (20, 30)), max_pixels=100)


def test_identification_does_not_depend_on_what_the_process_opened_before(tmp_path):
    # Pillow 13 registers the plug-in of a file name's extension first; after a .tga was opened
    # by name, the TGA plug-in's loose header test claimed ICO files: kmq tries it last
    # (an ICO whose first frame is 64-128 KiB has a byte 1 where TGA keeps its bit depth)
    Image.new("RGB", (4, 4)).save(tmp_path / "a.tga")
    noise = np.random.default_rng(3).integers(0, 256, (256, 256), dtype=np.uint8)
    frame = _encode(Image.fromarray(noise), "PNG")
    assert 65536 <= len(frame) < 131072
    ico = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(frame), 22) + frame
    (tmp_path / "b.ico").write_bytes(ico)
    code = ("import sys; from PIL import Image; Image.open(sys.argv[1]).load(); "
            "from kmq_core import load_image; s = load_image(open(sys.argv[2], 'rb').read()); "
            "print(s.format, *s.pixels[0, 0])")
    r = subprocess.run([sys.executable, "-c", code, tmp_path / "a.tga", tmp_path / "b.ico"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["ICO", *[str(noise[0, 0])] * 3]


# ---------------------------------------------------------------- ICC profiles on every mode
# The profile is applied after the conversion to 8 bits (transparency already alpha), so a
# tRNS key is compared before the colours move and 16-bit and grey sources get it too. The
# expected colours come from littleCMS applied here to the 8-bit samples; the grey and CMYK
# profiles are Ghostscript's (libgs-common, installed with ghostscript by .ci/setup).
import icc_profiles
from PIL import ImageCms

GS_ICC = Path("/usr/share/color/icc/ghostscript")
_SRGB_ICC = ImageCms.createProfile("sRGB")


def _gs_profile(name: str) -> bytes:
    path = GS_ICC / name
    if not path.is_file():
        missing(f"{path} (Ghostscript's ICC profiles, package libgs-common) not installed")
    return path.read_bytes()


def _to_srgb(icc: bytes, img: Image.Image) -> np.ndarray:
    t = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB_ICC, img.mode, "RGB",
                                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return np.asarray(t.apply(img))


def _with_iccp(png: bytes, icc: bytes) -> bytes:
    """A PNG made by another encoder with an iCCP chunk put right after IHDR."""
    body = b"iCCP" + b"profile\0\0" + zlib.compress(icc)
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return png[:33] + chunk + png[33:]


def test_profile_on_rgb_with_a_transparent_colour_keeps_the_transparency():
    icc = icc_profiles.display_p3()
    c = rgb_with_key((10, 20, 30))
    data = _encode(Image.fromarray(c), "PNG", transparency=(10, 20, 30), icc_profile=icc)
    src = load_image(data)
    assert "colour profile 'Display P3' converted to sRGB" in src.notes
    assert src.pixels.shape == (H, W, 4) and np.array_equal(src.pixels[..., 3] == 0, KEY_AT)
    assert np.abs(src.pixels[..., :3].astype(int) - _to_srgb(icc, Image.fromarray(c))).max() <= 1


def test_profile_on_16bit_rgb_with_a_transparent_colour():
    data, *_ , rgb8 = case_rgb16_pypng(None)
    icc = icc_profiles.display_p3()
    src = load_image(_with_iccp(data, icc))
    assert "colour profile 'Display P3' converted to sRGB" in src.notes
    assert np.array_equal(src.pixels[..., 3] == 0, KEY_AT)
    assert np.abs(src.pixels[..., :3].astype(int) - _to_srgb(icc, Image.fromarray(rgb8))).max() <= 1


def test_grey_profile_on_16bit_grey_with_a_transparent_colour():
    icc = _gs_profile("ps_gray.icc")  # gamma 1 grey: 32 shows as 99 in sRGB
    key = 30000
    g = (np.arange(H * W, dtype=np.int64).reshape(H, W) * 1361 % 65536).astype(np.uint16)
    g[g == key] = key + 2
    g[KEY_AT] = key
    g[1, 1] = key + 1  # the same 8 bits as the key: only a 16-bit comparison tells it apart
    data = _with_iccp(_pypng(g, greyscale=True, bitdepth=16, transparent=key), icc)
    assert Image.open(io.BytesIO(data)).mode.startswith("I") and png_layout(data) == (16, 0, True)
    src = load_image(data)
    assert "colour profile 'Artifex PS Gray Profile' converted to sRGB" in src.notes
    assert np.array_equal(src.pixels[..., 3] == 0, g == key)
    g8 = ((g.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    assert np.abs(src.pixels[..., :3].astype(int) - _to_srgb(icc, Image.fromarray(g8, "L"))).max() <= 1


def test_grey_profile_on_grey_alpha():
    icc = _gs_profile("ps_gray.icc")
    g = np.tile(np.arange(0, 256, 16, dtype=np.uint8), (4, 1))
    a = np.full_like(g, 128)
    src = load_image(_encode(Image.fromarray(np.dstack([g, a]), "LA"), "PNG", icc_profile=icc))
    assert np.array_equal(src.pixels[..., 3], a)
    assert np.abs(src.pixels[..., :3].astype(int) - _to_srgb(icc, Image.fromarray(g, "L"))).max() <= 1


def test_cmyk_with_its_profile_is_converted_through_it_not_naively():
    icc = _gs_profile("default_cmyk.icc")
    px = np.zeros((16, 80, 4), np.uint8)
    for i, c in enumerate([(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255), (60, 40, 20, 10)]):
        px[:, 16 * i:16 * (i + 1)] = c
    data = _encode(Image.fromarray(px, "CMYK"), "TIFF", icc_profile=icc)
    src = load_image(data)
    assert "colour profile 'Artifex CMYK SWOP Profile' converted to sRGB" in src.notes
    assert not any("naive" in n for n in src.notes)
    t = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB_ICC, "CMYK", "RGB",
                                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
                                flags=ImageCms.Flags.BLACKPOINTCOMPENSATION)
    assert np.abs(src.pixels.astype(int) - np.asarray(t.apply(Image.fromarray(px, "CMYK")))).max() <= 1


def test_profile_on_a_palette_image_and_a_caller_image_left_as_it_was():
    icc = icc_profiles.display_p3()
    c = rgb_with_key((10, 20, 30))
    pal = Image.fromarray(c).quantize(64, method=Image.Quantize.MEDIANCUT)
    key = int(np.asarray(pal)[0, 0])
    data = _encode(pal, "PNG", transparency=key, icc_profile=icc)
    with Image.open(io.BytesIO(data)) as img:
        before = (img.mode, dict(img.info))
        src = load_image(img)
        assert (img.mode, img.info) == before
    shown = _to_srgb(icc, pal.convert("RGB"))
    assert np.array_equal(src.pixels[..., 3] == 0, np.asarray(pal) == key)
    assert np.abs(src.pixels[..., :3].astype(int) - shown).max() <= 1
    assert load_image(data, profile="keep").icc_profile == icc
