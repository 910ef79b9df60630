"""A fully transparent image gives a fully transparent PNG of one palette entry (issue 26), in every
front end: the library, ``kmq quantize``, ``kmq batch`` (alone and with a shared palette), the app
and the GIMP bridge. pngquant 3 writes such a file too; kmq refused it ("no colours to fit")."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from kmq_core import quantize

KMQ = [shutil.which("kmq")] if shutil.which("kmq") else [sys.executable, "-m", "kmq_core.cli"]
H, W = 12, 20


def clear_rgba() -> np.ndarray:
    """Every pixel transparent, with hidden colours that differ (as editors leave them)."""
    rng = np.random.default_rng(1)
    px = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    px[..., 3] = 0
    return px


def png_of(px: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(px, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def assert_one_transparent_entry(png: bytes) -> None:
    im = Image.open(io.BytesIO(png))
    assert im.mode == "P" and im.size == (W, H)
    assert im.getpalette() == [0, 0, 0], im.getpalette()  # one entry
    assert im.info["transparency"] in (0, b"\x00")
    assert not np.asarray(im).any() and not np.asarray(im.convert("RGBA")).any()


@pytest.mark.parametrize("kw", [dict(k=1), dict(k=2), dict(k=16), dict(k=256), dict(k=16, dither="fs"),
                                dict(k=16, dither="bayer", lossy=1), dict(k=16, count_alpha=False),
                                dict(k=16, space="rgb")], ids=str)
def test_the_library_gives_one_transparent_entry(kw):
    res = quantize(clear_rgba(), **kw)
    assert_one_transparent_entry(res.png)
    assert res.colors_used == 0 and len(res.palette) == 1
    assert res.image.shape == (H, W, 4) and not res.image[..., 3].any()
    assert res.to_dict()["colors_used"] == 0  # every figure can be computed
    assert res.to_pil().mode == "P" and res._repr_png_()


def test_a_transparent_file_with_its_own_palette():
    """A palette PNG whose every entry is transparent: the same one-entry result."""
    p = Image.new("P", (W, H), 1)
    p.putpalette([255, 0, 0, 0, 255, 0])
    buf = io.BytesIO()
    p.save(buf, "PNG", transparency=bytes([0, 0]))
    assert_one_transparent_entry(quantize(buf.getvalue(), 8).png)


def test_kmq_quantize(tmp_path):
    src = tmp_path / "clear.png"
    src.write_bytes(png_of(clear_rgba()))
    r = subprocess.run([*KMQ, "quantize", src, "-k", "8", "-o", tmp_path / "out.png"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "0 colours" in r.stdout
    assert_one_transparent_entry((tmp_path / "out.png").read_bytes())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clear.png", "out.png"]



def test_kmq_palette(tmp_path):
    """The palette of what kmq quantize writes: its one entry (black, used by no visible pixel),
    in every format asked for; no error."""
    from kmq_core.formats import read_palette

    src = tmp_path / "clear.png"
    src.write_bytes(png_of(clear_rgba()))
    outs = [tmp_path / "clear.gpl", tmp_path / "clear.ase", tmp_path / "clear.json"]
    r = subprocess.run([*KMQ, "palette", src, "-k", "8", *[a for o in outs for a in ("-o", o)]],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    for o in outs:
        assert read_palette(o).hex == ["#000000"], o

@pytest.mark.parametrize("shared", [False, True])
def test_kmq_batch(tmp_path, shared):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "clear.png").write_bytes(png_of(clear_rgba()))
    r = subprocess.run([*KMQ, "batch", tmp_path / "in", tmp_path / "out", "-k", "8", "-j", "1", "-q",
                        *(["--shared-palette"] if shared else [])], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert_one_transparent_entry((tmp_path / "out" / "clear.png.png").read_bytes())


def test_kmq_batch_shared_palette_beside_visible_images(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "clear.png").write_bytes(png_of(clear_rgba()))
    Image.new("RGB", (W, H), (200, 30, 30)).save(tmp_path / "in" / "red.png")
    r = subprocess.run([*KMQ, "batch", tmp_path / "in", tmp_path / "out", "-k", "8", "-j", "1", "-q",
                        "--shared-palette"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    im = Image.open(tmp_path / "out" / "clear.png.png")
    assert not np.asarray(im.convert("RGBA"))[..., 3].any()


def test_the_gimp_bridge():
    """A fully transparent layer (k counts colours, the layer keeps its own alpha)."""
    from kmq_core import gimp_bridge

    px = clear_rgba()
    r = gimp_bridge.process(px, {"k": 8})
    assert r["image"].shape == px.shape and np.array_equal(r["image"][..., 3], px[..., 3])
    assert r["palette"].hex == ["#000000"]


def test_the_app():
    from test_app import assert_no_failure, metrics, new_app, upload

    at = upload(new_app().run(), "clear.png", png_of(clear_rgba()))
    assert_no_failure(at)
    assert [e.value for e in at.error] == []
    assert metrics(at)["Colours used"] == "0"
    assert at.get("download_button")


def test_an_animation_whose_every_frame_is_transparent():
    from kmq_core.animation import quantize_animation

    frames = [Image.fromarray(clear_rgba(), "RGBA") for _ in range(3)]
    frames[1].putpixel((0, 0), (9, 9, 9, 0))
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], duration=100)
    res = quantize_animation(buf.getvalue(), 8)
    for fmt in ("PNG", "GIF"):
        with Image.open(io.BytesIO(res.encode(fmt))) as im:
            assert im.size == (W, H)
            assert not np.asarray(im.convert("RGBA"))[..., 3].any()
