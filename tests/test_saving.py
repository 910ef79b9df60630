"""Atomic writes and output checks."""

import os

import numpy as np
import pytest

from kmq_core import KmqError, atomic_write, encode_indexed_png
from kmq_core.saving import check_output


def test_atomic_write_and_refusals(tmp_path):
    out = tmp_path / "a.png"
    atomic_write(out, b"one", force=False)
    assert out.read_bytes() == b"one"
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(KmqError, match="exists: pass force=True"):
        atomic_write(out, b"two", force=False)
    assert out.read_bytes() == b"one"
    atomic_write(out, b"two", force=True)
    assert out.read_bytes() == b"two"
    with pytest.raises(KmqError, match="refusing to overwrite the input"):
        check_output(out, force=True, inputs=[out])
    with pytest.raises(KmqError, match="is a folder"):
        check_output(tmp_path)
    with pytest.raises(KmqError, match="does not exist"):
        check_output(tmp_path / "nope" / "x.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]  # no temporary left


def test_unwritable_folder_leaves_nothing(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root ignores modes: use a path under a file instead
            target = tmp_path / "file" / "x.png"
            (tmp_path / "file").write_bytes(b"")
            with pytest.raises(KmqError):
                atomic_write(target, b"x")
        else:
            with pytest.raises(KmqError, match="cannot write"):
                atomic_write(ro / "x.png", b"x")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_palette_sizes_pick_bit_depth():
    labels = np.zeros((4, 4), np.uint8)
    for n, depth in ((2, 1), (4, 2), (16, 4), (17, 8), (256, 8)):
        png = encode_indexed_png(labels, np.zeros((n, 3), np.uint8), optimize=False)  # Pillow's own packing
        assert png[24] == depth, n


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


# --- the encoder: oxipng after Pillow, never larger, same pixels ----------------------------

def _photo_labels(k=32, dither="fs"):
    from benchmarks.images import photo
    from kmq_core import quantize

    r = quantize(photo("chelsea"), k, dither=dither)
    return r.labels, r.palette.colors


@pytest.mark.parametrize("k,dither", [(2, "none"), (16, "fs"), (64, "bayer"), (256, "none")])
def test_encoder_never_larger_than_pillow_and_same_pixels(k, dither):
    import io

    from PIL import Image

    labels, colors = _photo_labels(k, dither)
    plain = encode_indexed_png(labels, colors, optimize=False)
    squeezed = encode_indexed_png(labels, colors)
    assert len(squeezed) <= len(plain)
    with Image.open(io.BytesIO(plain)) as a, Image.open(io.BytesIO(squeezed)) as b:
        assert np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))


def test_encoder_saves_bytes_on_a_photo():
    labels, colors = _photo_labels(64, "fs")
    assert len(encode_indexed_png(labels, colors)) < 0.97 * len(encode_indexed_png(labels, colors, optimize=False))


def test_encoder_keeps_alpha_and_chunks():
    import io

    from PIL import Image, PngImagePlugin

    from kmq_core.colour_management import png_params

    labels = np.tile(np.arange(4, dtype=np.uint8), (8, 2))
    rgba = np.array([[255, 0, 0, 255], [0, 255, 0, 128], [0, 0, 255, 0], [9, 9, 9, 255]], np.uint8)
    png = encode_indexed_png(labels, rgba, tags=png_params(None, text={"Title": "kmq test"}))
    with Image.open(io.BytesIO(png)) as im:
        assert im.mode == "P" and im.info.get("srgb") is not None and im.text.get("Title") == "kmq test"
        back = np.asarray(im.convert("RGBA"))
    assert np.array_equal(back, rgba[labels])


def test_encoder_is_deterministic():
    labels, colors = _photo_labels(16, "fs")
    assert encode_indexed_png(labels, colors) == encode_indexed_png(labels, colors)
