"""Animations: every frame quantized, timing kept, a palette that holds still (kmq_core.animation)."""

import io
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image, ImageSequence
from skimage import data as skdata

from kmq_core import cli, load_image, quantize, remap
from kmq_core.animation import (DamagedAnimationError, continue_palette, encode_animation, fit_animation_palette,
                                frame_histogram, probe, quantize_animation, read_frames)
from kmq_core.errors import FrameLimitError, KmqError, PixelLimitError

H, W, N = 72, 128, 8
STATIC = (slice(0, H), slice(0, 40))  # the left columns never change in the source
#: the static region away from its edge: the adaptive dither map and the masking weights look at
#: a few pixels around each pixel, so the columns next to the moving part may follow it
INNER = (slice(0, H), slice(0, 30))


def _frames(n=N, alpha=False):
    """A pan across a photo on the right, a static crop of it on the left, a small bright disc moving."""
    photo = skdata.astronaut()
    yy, xx = np.mgrid[:H, :W]
    out = []
    for i in range(n):
        f = np.zeros((H, W, 4 if alpha else 3), np.uint8)
        f[..., :3][:, :40] = photo[120:120 + H, 180:220]
        f[..., :3][:, 40:] = photo[60 + 2 * i:60 + 2 * i + H, 250 + 3 * i:250 + 3 * i + W - 40]
        f[..., :3][((yy - 36) ** 2 + (xx - (60 + 7 * i)) ** 2) < 10] = (255, 235, 30)
        if alpha:
            f[..., 3] = 255
            f[H - 12:, 40 + 8 * i:56 + 8 * i, 3] = 0  # a transparent hole that moves
        out.append(f)
    return out


def _apng(frames, **kw) -> bytes:
    buf = io.BytesIO()
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(buf, "PNG", save_all=True, append_images=ims[1:], **kw)
    return buf.getvalue()


def _gif(frames, **kw) -> bytes:
    buf = io.BytesIO()
    ims = [Image.fromarray(f).quantize(64, dither=Image.Dither.NONE) for f in frames]
    ims[0].save(buf, "GIF", save_all=True, append_images=ims[1:], **kw)
    return buf.getvalue()


def _decoded(blob: bytes):
    with Image.open(io.BytesIO(blob)) as im:
        frames, durations, disposal = [], [], []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info.get("duration"))
            disposal.append(getattr(im, "disposal_method", im.info.get("disposal")))
            frames.append(np.asarray(im.convert("RGBA")))
        return frames, durations, disposal, im.info.get("loop"), im.format


SOURCE = _frames()
APNG = _apng(SOURCE, duration=[40 + 10 * i for i in range(N)], loop=0)


def test_gif_round_trip_keeps_frames_durations_loop_and_disposal():
    durations = [50 + 10 * i for i in range(N)]
    disposal = [1, 2] * (N // 2)
    src = _gif(SOURCE, duration=durations, loop=3, disposal=disposal)
    res = quantize_animation(src, 32)
    frames, got_d, got_disp, loop, fmt = _decoded(res.encode("GIF"))
    assert fmt == "GIF" and len(frames) == N
    assert got_d == durations and loop == 3 and got_disp == disposal
    for i, f in enumerate(frames):  # what a viewer shows is what the result holds
        assert np.array_equal(f, res.frame_rgba(i))


def test_apng_round_trip_keeps_frames_durations_and_loop():
    res = quantize_animation(APNG, 32)
    frames, durations, _, loop, fmt = _decoded(res.encode("PNG"))
    assert fmt == "PNG" and len(frames) == N
    assert durations == [40 + 10 * i for i in range(N)] and loop == 0
    assert all(np.array_equal(f, res.frame_rgba(i)) for i, f in enumerate(frames))
    # and the GIF of the same result shows the same pictures
    gif_frames = _decoded(res.encode("GIF"))[0]
    assert all(np.array_equal(a, b) for a, b in zip(frames, gif_frames))


def test_every_frame_is_quantized_close_to_its_source():
    res = quantize_animation(APNG, 64)
    for i, src in enumerate(SOURCE):
        err = np.abs(res.frame_rgba(i)[..., :3].astype(int) - src).mean()
        assert err < 8, (i, err)
    assert res.n_frames == N and len(res.palettes) == 1 and len(res.palette) <= 64


@pytest.mark.parametrize("dither", ["none", "bayer", "bluenoise", "fs"])
def test_static_region_is_identical_in_every_frame(dither):
    res = quantize_animation(APNG, 16, dither=dither)
    first = res.labels[0][STATIC]
    assert all(np.array_equal(lab[STATIC], first) for lab in res.labels[1:])
    frames = _decoded(res.encode("GIF"))[0]
    assert all(np.array_equal(f[STATIC], frames[0][STATIC]) for f in frames[1:])


@pytest.mark.parametrize("dither", ["none", "bayer", "bluenoise"])
def test_away_from_motion_the_pattern_alone_holds_still(dither, monkeypatch):
    """Without hold_still, the position-bound patterns keep the static region still away from its
    edge; at the edge the adaptive maps (which look a few pixels around) follow the motion."""
    import kmq_core.animation as anim

    monkeypatch.setattr(anim, "hold_still", lambda *a, **kw: None)
    res = quantize_animation(APNG, 16, dither=dither, lossy=1)
    assert all(np.array_equal(lab[INNER], res.labels[0][INNER]) for lab in res.labels[1:])
    if dither != "none":
        assert any(not np.array_equal(lab[STATIC], res.labels[0][STATIC]) for lab in res.labels[1:])


def test_the_static_region_check_can_fail():
    """Fitted frame by frame from scratch (no continuation), the static region's colours change."""
    from kmq_core.fitting import fit_palette
    from kmq_core.remapping import remap

    pics = []
    for f in SOURCE:
        pal = fit_palette(None, 16, histogram=frame_histogram(f, 16, "perceptual"))
        pics.append(pal.colors[remap(f, pal)])
    assert any(not np.array_equal(p[INNER], pics[0][INNER]) for p in pics[1:])


def test_per_frame_palettes_start_from_the_last_one():
    res = quantize_animation(APNG, 16, frame_palette="per-frame")
    assert len(res.palettes) == N
    frames = _decoded(res.encode("GIF"))[0]
    assert all(np.array_equal(f, res.frame_rgba(i)) for i, f in enumerate(frames))
    # a colour that did not move keeps its index and its exact value
    kept = [int((a.colors[:len(b)] == b.colors[:len(a)]).all(1).sum())
            for a, b in zip(res.palettes[1:], res.palettes[:-1])]
    assert min(kept) >= 8, kept
    # the static region changes far less than frame by frame from scratch would
    flicker = np.mean([np.abs(res.frame_rgba(i)[STATIC].astype(int) - res.frame_rgba(i - 1)[STATIC]).mean()
                       for i in range(1, N)])
    assert flicker < 1.0


def test_continue_palette_keeps_a_palette_that_still_fits():
    hist = frame_histogram(SOURCE[0], 15, "perceptual")
    from kmq_core.fitting import fit_palette

    pal = fit_palette(None, 15, histogram=hist).colors
    again = continue_palette(pal, frame_histogram(SOURCE[0], 15, "perceptual"), 15, space="perceptual")
    assert np.array_equal(again, pal)


def test_transparent_pixels_stay_transparent_and_disposal_follows():
    src = _apng(_frames(alpha=True), duration=100, loop=0)
    res = quantize_animation(src, 16)
    assert res.transparent is not None and len(res.palette) <= 15
    for fmt in ("GIF", "PNG"):
        frames = _decoded(res.encode(fmt))[0]
        for i, (f, s) in enumerate(zip(frames, _frames(alpha=True))):
            assert np.array_equal(f[..., 3] == 0, s[..., 3] == 0), (fmt, i)
            assert np.array_equal(f, res.frame_rgba(i))


def test_same_input_same_bytes():
    a = quantize_animation(APNG, 24, dither="bayer").encode("GIF")
    b = quantize_animation(APNG, 24, dither="bayer").encode("GIF")
    assert a == b
    c = quantize_animation(APNG, 24, frame_palette="per-frame").encode("GIF")
    assert c == quantize_animation(APNG, 24, frame_palette="per-frame").encode("GIF")


def test_unchanged_frames_are_not_encoded_again():
    frames = SOURCE[:2] + [SOURCE[1]] * 6
    blob_same = quantize_animation(_apng(frames, duration=100), 16).encode("GIF")
    blob_one = quantize_animation(_apng(SOURCE[:2], duration=100), 16).encode("GIF")
    _, durations, _, _, _ = _decoded(blob_same)
    assert durations == [100, 700]  # merged, the time kept
    assert len(blob_same) < len(blob_one) + 64


def test_a_given_palette_is_used_for_every_frame():
    pal = np.array([[0, 0, 0], [255, 255, 255], [200, 60, 60], [60, 60, 200]], np.uint8)
    res = quantize_animation(APNG, palette=pal)
    assert np.array_equal(res.palette.colors, pal)
    assert all(lab.max() < 4 for lab in res.labels)


def test_per_frame_apng_is_refused():
    res = quantize_animation(APNG, 8, frame_palette="per-frame")
    with pytest.raises(KmqError, match="one palette for all its frames"):
        res.encode("PNG")


def test_probe_and_limits():
    info = probe(APNG)
    assert info.n_frames == N and info.size == (W, H) and info.format == "PNG"
    with pytest.raises(FrameLimitError, match="more than 3 frames"):
        list(read_frames(APNG, max_frames=3))
    with pytest.raises(PixelLimitError, match="all frames together"):
        list(read_frames(APNG, max_total_pixels=3 * H * W))
    with pytest.raises(KmqError, match="unknown frame palette"):
        quantize_animation(APNG, 8, frame_palette="sometimes")


def test_truncated_animation_is_one_clean_error():
    blob = _gif(SOURCE, duration=100)
    with pytest.raises(KmqError, match="damaged or truncated"):
        quantize_animation(blob[: len(blob) * 2 // 3], 8)


def test_cli_writes_gif_and_apng_and_refuses_cleanly(tmp_path, capsys):
    src = tmp_path / "clip.png"
    src.write_bytes(APNG)
    assert cli.main(["quantize", str(src), "-k", "16", "-o", str(tmp_path / "c.gif"), "--dither", "bayer"]) == 0
    assert cli.main(["quantize", str(src), "-k", "16", "-o", str(tmp_path / "c.png")]) == 0
    assert _decoded((tmp_path / "c.gif").read_bytes())[4] == "GIF"
    assert len(_decoded((tmp_path / "c.png").read_bytes())[0]) == N
    out = capsys.readouterr().out
    assert f"{N} frames" in out
    bad = tmp_path / "cut.gif"
    blob = _gif(SOURCE, duration=100)
    bad.write_bytes(blob[: len(blob) * 2 // 3])
    before = sorted(p.name for p in tmp_path.iterdir())
    assert cli.main(["quantize", str(bad), "-o", str(tmp_path / "cut-q.gif")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("kmq: error: cut.gif is damaged or truncated"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert cli.main(["quantize", str(src), "-o", str(tmp_path / "x.gif"), "--max-frames", "2"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"kmq: error: clip.png has more than 2 frames, above the frame limit "
                   "(raise it with --max-frames if you trust the file)"]
    assert cli.main(["quantize", str(src), "-o", str(tmp_path / "x.png"), "--frame-palette", "per-frame"]) == 1
    assert "one palette for all its frames" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "x.gif").exists()


# ---------------------------------------------------------------- files others made (issue 26)

KMQ = [shutil.which("kmq")] if shutil.which("kmq") else [sys.executable, "-m", "kmq_core.cli"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, p = [], len(PNG_SIGNATURE)
    while p < len(png):
        (n,) = struct.unpack_from(">I", png, p)
        out.append((png[p + 4:p + 8], png[p + 8:p + 8 + n]))
        p += 12 + n
    return out


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """The chunks as a PNG file, every CRC right (the damage is in the APNG structure alone)."""
    return PNG_SIGNATURE + b"".join(struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
                                    for t, d in chunks)


def _seq(data: bytes) -> int:
    return struct.unpack_from(">I", data)[0]


def _renumber(data: bytes, n: int) -> bytes:
    return struct.pack(">I", n) + data[4:]


#: the default image: four flat quarters (at k=16 it comes back exactly); the animation's frames differ
DEFAULT = np.zeros((H, W, 3), np.uint8)
DEFAULT[: H // 2, : W // 2], DEFAULT[: H // 2, W // 2:] = (20, 40, 200), (240, 240, 240)
DEFAULT[H // 2:, : W // 2], DEFAULT[H // 2:, W // 2:] = (200, 30, 30), (30, 160, 60)


def _apng_with_default(default_image: bool = True) -> bytes:
    """Three animation frames (SOURCE's first three) and, before them, DEFAULT: the default image
    outside the animation, or (``default_image=False``) its first frame."""
    ims = [Image.fromarray(f) for f in [DEFAULT] + SOURCE[:3]]
    buf = io.BytesIO()
    ims[0].save(buf, "PNG", save_all=True, append_images=ims[1:], default_image=default_image, duration=100, loop=0)
    return buf.getvalue()


def _damaged(kind: str, default_image: bool = True) -> bytes:
    chunks = _chunks(_apng_with_default(default_image))
    fctl = [i for i, (t, _) in enumerate(chunks) if t == b"fcTL"]
    if kind == "sequence gap":  # the second frame's numbers and all after it skip one
        chunks = [(t, _renumber(d, _seq(d) + 1)) if t in (b"fcTL", b"fdAT") and i >= fctl[1] else (t, d)
                  for i, (t, d) in enumerate(chunks)]
    elif kind == "sequence repeat":  # the second frame's control chunk repeats the number before it
        t, d = chunks[fctl[1]]
        chunks[fctl[1]] = (t, _renumber(d, _seq(d) - 1))
    elif kind == "missing frame data":  # the second frame's data dropped (the numbers closed up after it)
        gone = [i for i in range(fctl[1] + 1, fctl[2]) if chunks[i][0] == b"fdAT"]
        chunks = [c for i, c in enumerate(chunks) if i not in gone]
        n = 0
        for i, (t, d) in enumerate(chunks):
            if t in (b"fcTL", b"fdAT"):
                chunks[i] = (t, _renumber(d, n))
                n += 1
    elif kind == "frame count too high":
        i = next(i for i, (t, _) in enumerate(chunks) if t == b"acTL")
        chunks[i] = (b"acTL", struct.pack(">I", _seq(chunks[i][1]) + 2) + chunks[i][1][4:])
    return _png(chunks)


DAMAGE = ["sequence gap", "sequence repeat", "missing frame data", "frame count too high"]


def test_the_undamaged_apng_is_an_animation():
    """Every frame read, no warning. (A default image outside the animation is read as frame 1, as
    Pillow numbers it; browsers do not play it: see the issue 26 report.)"""
    for default_image in (True, False):
        blob = _apng_with_default(default_image)
        res = quantize_animation(blob, 16)
        assert res.n_frames == 4 and res.warnings == [] and len(list(read_frames(blob))) == 4
        # frame 1 is DEFAULT in the shared palette (fitted to all four frames, whose colours
        # need not include DEFAULT's exactly): exactly what remapping DEFAULT onto it gives
        pal = res.palettes[0]
        assert np.array_equal(res.frame_rgba(0)[..., :3], pal.colors[remap(DEFAULT, pal)])


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("default_image", [True, False], ids=["default image", "first frame"])
def test_a_damaged_apng_gives_its_default_image_and_one_warning(kind, default_image):
    blob = _damaged(kind, default_image)
    with pytest.raises(DamagedAnimationError):
        list(read_frames(blob))
    res = quantize_animation(blob, 16)
    assert res.n_frames == 1 and res.loop is None
    assert len(res.warnings) == 1, res.warnings
    assert res.warnings[0].startswith("damaged APNG (") and res.warnings[0].endswith(
        "): using its default image, as the APNG specification asks")
    assert np.array_equal(res.frame_rgba(0)[..., :3], DEFAULT) and (res.frame_rgba(0)[..., 3] == 255).all()
    # written as the still PNG of the default image
    out = res.encode("PNG")
    assert b"acTL" not in out
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(out)).convert("RGB")), DEFAULT)
    # the still image and the app's palette come from the default image too
    assert np.array_equal(load_image(blob).pixels, DEFAULT)
    assert np.array_equal(quantize(blob, 16).image, DEFAULT)
    assert sorted(map(tuple, fit_animation_palette(blob, 16).colors)) == sorted(map(tuple, np.unique(
        DEFAULT.reshape(-1, 3), axis=0)))


def test_a_damaged_apng_through_the_command(tmp_path):
    src = tmp_path / "broken.png"
    src.write_bytes(_damaged("sequence gap"))
    r = subprocess.run([*KMQ, "quantize", src, "-k", "16", "-o", tmp_path / "out.png"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [f"kmq: warning: {src}: damaged APNG (frame 3 of 4 cannot be read: APNG "
                                     "contains frame sequence errors): using its default image, as the APNG "
                                     "specification asks"]
    assert f"{src} -> {tmp_path / 'out.png'}: 1 frame, " in r.stdout
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png").convert("RGB")), DEFAULT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.png", "out.png"]


def test_a_damaged_apng_in_json(tmp_path, capsys):
    import json

    src = tmp_path / "broken.png"
    src.write_bytes(_damaged("frame count too high"))
    assert cli.main(["quantize", str(src), "-k", "16", "-o", str(tmp_path / "out.gif"), "--json"]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    assert info["frames"] == 1 and info["warnings"] == [
        "damaged APNG (frame 5 of 6 cannot be read: Truncated File Read): using its default image, as the "
        "APNG specification asks"]
    assert captured.err.splitlines() == [f"kmq: warning: {src}: {info['warnings'][0]}"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.gif").convert("RGB")), DEFAULT)


def test_an_apng_whose_default_image_is_damaged_is_still_refused():
    chunks = _chunks(_apng_with_default())
    i = next(i for i, (t, _) in enumerate(chunks) if t == b"IDAT")
    chunks[i] = (b"IDAT", chunks[i][1][: len(chunks[i][1]) // 2])
    with pytest.raises(KmqError, match="damaged or truncated") as e:
        quantize_animation(_png(chunks), 16)
    assert not isinstance(e.value, DamagedAnimationError)


#: a 4-colour palette for the hand-made GIFs: red, green, blue, white
GIF_PALETTE = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]


def _gif_image_data(indices: np.ndarray) -> tuple[bytes, bytes]:
    """Pillow's global colour table and LZW image data (code size and sub-blocks) for ``indices``."""
    im = Image.fromarray(indices.astype(np.uint8), "P")
    im.putpalette(GIF_PALETTE)
    buf = io.BytesIO()
    im.save(buf, "GIF", optimize=False)
    b = buf.getvalue()
    assert b[10] & 0x80, "no global colour table"
    p = 13 + 3 * (2 << (b[10] & 7))
    table = b[13:p]
    while b[p:p + 1] == b"!":  # extensions: label, then sub-blocks
        p += 2
        while b[p]:
            p += 1 + b[p]
        p += 1
    assert b[p:p + 1] == b"," and not b[p + 9] & 0x80, "not one image on the global table"
    start = p = p + 10
    p += 1  # LZW minimum code size
    while b[p]:
        p += 1 + b[p]
    return table, b[start:p + 1]


def _gif_with_extents(screen: tuple[int, int], frames: list[tuple[int, int, np.ndarray]]) -> bytes:
    """A GIF written here block by block: frames placed anywhere, also beyond the logical screen
    (no encoder writes that; Pillow's test_extents.gif is such a file). Frames: (x, y, indices)."""
    table = None
    out = [b"GIF89a"]
    body = []
    for x, y, idx in frames:
        table, data = _gif_image_data(idx)
        body.append(b"!\xf9\x04\x04\x0a\x00\x00\x00")  # 100 ms, disposal: leave in place
        body.append(b"," + struct.pack("<HHHHB", x, y, idx.shape[1], idx.shape[0], 0) + data)
    bits = (len(table) // 3).bit_length() - 2
    out.append(struct.pack("<HHBBB", *screen, 0x80 | bits, 0, 0) + table)
    return b"".join(out + body) + b";"


def _extents_gif() -> tuple[bytes, list[np.ndarray]]:
    """A 10×10 screen: red; then a 10×10 frame at (5, 5), green in its top-left quarter, blue in the
    rest (all but that quarter beyond the screen); then white in a 4×4 corner. And what browsers
    show: each frame clipped to the screen."""
    second = np.full((10, 10), 2)
    second[:5, :5] = 1
    blob = _gif_with_extents((10, 10), [(0, 0, np.zeros((10, 10))), (5, 5, second), (0, 0, np.full((4, 4), 3))])
    red, green, white = (255, 0, 0, 255), (0, 255, 0, 255), (255, 255, 255, 255)
    shown = [np.zeros((10, 10, 4), np.uint8) + np.array(red, np.uint8)]
    shown.append(shown[0].copy())
    shown[1][5:, 5:] = green
    shown.append(shown[1].copy())
    shown[2][:4, :4] = white
    return blob, shown


def test_gif_frames_beyond_the_logical_screen_are_clipped_to_it():
    blob, shown = _extents_gif()
    with Image.open(io.BytesIO(blob)) as im:  # Pillow grows its canvas for the second frame
        im.seek(1)
        assert im.size == (15, 15)
    assert [f.pixels.shape[:2] for f in read_frames(blob)] == [(10, 10)] * 3
    res = quantize_animation(blob, 8)
    assert res.n_frames == 3 and res.warnings == []
    assert [n for n in res.notes if "logical screen" in n] == [
        "frame 2 reaches beyond the 10×10 logical screen: clipped to it, as browsers show it"]
    assert all(np.array_equal(res.frame_rgba(i), shown[i]) for i in range(3))
    for fmt in ("GIF", "PNG"):
        assert all(np.array_equal(a, b) for a, b in zip(_decoded(res.encode(fmt))[0], shown)), fmt
    assert np.array_equal(load_image(blob).pixels, shown[0][..., :3])


def test_gif_frames_beyond_the_logical_screen_through_the_command(tmp_path):
    blob, shown = _extents_gif()
    src = tmp_path / "extents.gif"
    src.write_bytes(blob)
    r = subprocess.run([*KMQ, "quantize", src, "-k", "8", "-o", tmp_path / "out.gif"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    frames = _decoded((tmp_path / "out.gif").read_bytes())[0]
    assert len(frames) == 3 and all(np.array_equal(a, b) for a, b in zip(frames, shown))


def test_a_first_frame_larger_than_the_screen_grows_it():
    """As Pillow, Firefox and Chromium do: the screen takes the first frame's size."""
    blob = _gif_with_extents((10, 10), [(0, 0, np.zeros((12, 12))), (0, 0, np.full((4, 4), 3))])
    res = quantize_animation(blob, 8)
    assert res.labels[0].shape == (12, 12) and res.n_frames == 2
    assert not [n for n in res.notes if "logical screen" in n]


def test_frames_that_all_show_one_picture_are_written():
    """Pillow merges frames that show the same picture; when they are all one, its GIF writer
    needed one disposal (a list was a TypeError)."""
    blob = _gif_with_extents((10, 10), [(0, 0, np.zeros((10, 10))), (5, 5, np.zeros((10, 10)))])
    res = quantize_animation(blob, 8)
    assert res.n_frames == 2
    for fmt in ("GIF", "PNG"):
        frames = _decoded(res.encode(fmt))[0]
        assert all(np.array_equal(f, res.frame_rgba(0)) for f in frames)


def test_the_damage_error_crosses_processes():
    import pickle

    with pytest.raises(DamagedAnimationError) as e:
        list(read_frames(_damaged("sequence gap")))
    again = pickle.loads(pickle.dumps(e.value))
    assert str(again) == str(e.value) and again.warning == e.value.warning


def test_damaged_and_oversized_files_in_parallel(tmp_path):
    """kmq quantize -j 2: each file in a worker process; the damaged APNG's warning is still its one line."""
    (tmp_path / "broken.png").write_bytes(_damaged("missing frame data"))
    (tmp_path / "extents.gif").write_bytes(_extents_gif()[0])
    r = subprocess.run([*KMQ, "quantize", tmp_path / "broken.png", tmp_path / "extents.gif", "-k", "8", "-j", "2",
                        "--out-dir", tmp_path / "out", "-q"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [f"kmq: warning: {tmp_path / 'broken.png'}: damaged APNG (frame 3 of 4 cannot be "
                                     "read: APNG missing frame data): using its default image, as the APNG "
                                     "specification asks"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["broken-k8.png", "extents-k8.gif"]


# ---------------------------------------------------------------- --quality on animations (issue 26)
def _late_colour_clip() -> bytes:
    """Two frames of blue and green; the third adds an orange patch that frame 1 lacks."""
    blue, green, orange = (30, 60, 200), (40, 170, 60), (250, 140, 20)
    f1 = np.tile(np.array(blue, np.uint8), (32, 40, 1))
    f1[:, 20:] = green
    f2 = f1.copy()
    f2[:, 16:20] = green  # a different frame (Pillow merges equal ones)
    f3 = f1.copy()
    f3[8:24, 8:32] = orange
    return _gif([f1, f2, f3], duration=100)


def test_quality_on_an_animation_is_reached_by_its_worst_frame(tmp_path):
    from kmq_core.auto_k import smallest_k_for_quality_animation

    clip = _late_colour_clip()
    k, res = smallest_k_for_quality_animation(clip, "90-100", k_max=16)
    # frame 1 alone would be exact at k = 2; the orange of frame 3 needs a third colour
    assert k == 3
    assert len(res.frame_delta_e) == 3 and max(res.frame_delta_e) <= 1.0
    src = tmp_path / "late.gif"
    src.write_bytes(clip)
    r = subprocess.run([*KMQ, "quantize", "--quality", "90-100", str(src), "-o", str(tmp_path / "q.gif"), "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    frames = _decoded((tmp_path / "q.gif").read_bytes())[0]
    assert len(frames) == 3
    assert len({tuple(c) for c in frames[2].reshape(-1, frames[2].shape[-1])[:, :3]}) == 3


def test_quality_below_min_on_an_animation_exits_99_and_writes_nothing(tmp_path):
    ramp = np.repeat(np.linspace(0, 255, 64).astype(np.uint8)[None, :, None], 24, axis=0).repeat(3, axis=2)
    src = tmp_path / "ramp.gif"
    src.write_bytes(_gif([np.zeros_like(ramp), ramp], duration=100))
    r = subprocess.run([*KMQ, "quantize", "-k", "4", "--quality", "95-100", str(src), "-o", str(tmp_path / "r.gif")],
                       capture_output=True, text=True)
    assert r.returncode == 99, r.stderr
    assert "frame 2" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.gif").exists()


# ---------------------------------------------------------------- APNG as the format allows (issue 26)


def _ramp_frames(n=6):
    """An alpha ramp (0 at the left to 255 at the right) over a colour gradient, an opaque dot moving."""
    yy, xx = np.mgrid[:48, :96]
    out = []
    for i in range(n):
        f = np.zeros((48, 96, 4), np.uint8)
        f[..., 0], f[..., 1], f[..., 2] = 40 + xx, 100, 200 - yy
        f[..., 3] = xx * 255 // 95
        f[(yy - 24) ** 2 + (xx - 10 - 12 * i) ** 2 < 30] = (255, 230, 20, 255)
        out.append(f)
    return out


def _composited(png: bytes):
    """The frames as the APNG specification composites them, read without Pillow's APNG reader:
    each frame's data as a still PNG of its rectangle, laid on the canvas with its blend
    ("source" replaces, "over" is alpha compositing); (frames, blend ops)."""
    cs = _chunks(png)
    ihdr = cs[0][1]
    w, h = struct.unpack(">II", ihdr[:8])
    palette = [(t, d) for t, d in cs if t in (b"PLTE", b"tRNS")]
    canvas = np.zeros((h, w, 4), np.uint8)
    frames, blends, fctl, data = [], [], None, []

    def lay():
        nonlocal canvas
        _, fw, fh, x, y, _, _, dispose, blend = fctl
        still = _png([(b"IHDR", struct.pack(">II", fw, fh) + ihdr[8:]), *palette, (b"IDAT", b"".join(data)),
                      (b"IEND", b"")])
        src = np.asarray(Image.open(io.BytesIO(still)).convert("RGBA")).astype(np.float64)
        dst = canvas[y:y + fh, x:x + fw].astype(np.float64)
        if blend == 0:
            new = src
        else:
            sa, da = src[..., 3:] / 255, dst[..., 3:] / 255
            oa = sa + da * (1 - sa)
            oc = (src[..., :3] * sa + dst[..., :3] * da * (1 - sa)) / np.maximum(oa, 1e-9)
            new = np.concatenate([np.where(oa > 0, oc, 0), oa * 255], axis=-1)
        canvas = canvas.copy()
        canvas[y:y + fh, x:x + fw] = np.rint(new).astype(np.uint8)
        assert dispose == 0  # kmq disposes of nothing
        frames.append(canvas)
        blends.append(blend)

    for tag, d in cs:
        if tag == b"fcTL":
            if fctl is not None:
                lay()
            fctl, data = struct.unpack(">IIIIIHHBB", d), []
        elif tag == b"IDAT" and fctl is not None:
            data.append(d)
        elif tag == b"fdAT":
            data.append(d[4:])
    lay()
    return frames, blends


def _without_unchanged_transparent(res, monkeypatch) -> bytes:
    """The APNG as Pillow's writer alone writes it."""
    from kmq_core import animation

    with monkeypatch.context() as m:
        m.setattr(animation, "_apng_unchanged_transparent", lambda res, durations: None)
        return res.encode("PNG")


def test_an_apng_keeps_translucency_with_one_alpha_per_entry():
    src_frames = _ramp_frames()
    src = _apng(src_frames, duration=80, loop=0)
    res = quantize_animation(src, 64, fmt="PNG")
    assert not res.notes and res.entry_alpha is not None
    blob = res.encode("PNG")
    with Image.open(io.BytesIO(blob)) as im:
        decoded = [np.asarray(f.convert("RGBA")) for f in ImageSequence.Iterator(im)]
    assert len(decoded) == len(src_frames)
    for i, (d, s) in enumerate(zip(decoded, src_frames)):
        assert np.array_equal(d, res.frame_rgba(i)), i
        err = np.abs(d[..., 3].astype(int) - s[..., 3]).mean()
        assert err < 3, (i, err)  # a ramp stays a ramp (cut at 128: about 64)
        assert np.abs(d[..., :3].astype(int) - s[..., :3])[s[..., 3] > 128].mean() < 6
    # the palette: k entries, colour and alpha together, many of them translucent
    chunks = dict(_chunks(blob))
    assert len(chunks[b"PLTE"]) // 3 <= 64
    trns = np.frombuffer(chunks[b"tRNS"], np.uint8)
    assert ((trns > 0) & (trns < 255)).sum() >= 16
    assert np.array_equal(_composited(blob)[0][-1], decoded[-1])


def test_a_gif_still_cuts_translucency_to_its_one_transparent_colour():
    src = _apng(_ramp_frames(), duration=80, loop=0)
    res = quantize_animation(src, 64, fmt="GIF")
    assert res.entry_alpha is None and any("translucent pixels made opaque or transparent" in n for n in res.notes)
    gif = res.encode("GIF")
    assert gif == quantize_animation(src, 64).encode("GIF")  # the default is the GIF's way
    assert set(np.unique(_decoded(gif)[0][0][..., 3])) == {0, 255}
    with pytest.raises(KmqError, match="one transparent colour"):
        quantize_animation(src, 64, fmt="PNG").encode("GIF")
    # a given palette has no alpha to give: the APNG cuts too
    given = quantize_animation(src, palette=res.palette.colors, fmt="PNG")
    assert given.entry_alpha is None and given.notes


def _dot_frames(n=8):
    """A static textured background; an opaque dot moving across it."""
    yy, xx = np.mgrid[:64, :96]
    bg = np.dstack([(xx * 2 + yy) % 256, (yy * 3) % 256, (xx * yy) % 256]).astype(np.uint8)
    out = []
    for i in range(n):
        f = bg.copy()
        f[(yy - 30) ** 2 + (xx - 10 - 10 * i) ** 2 < 40] = (255, 230, 20)
        out.append(f)
    return out


def test_unchanged_pixels_are_transparent_where_that_is_smaller(monkeypatch):
    src = _apng(_dot_frames(), duration=80, loop=0)
    res = quantize_animation(src, 64, fmt="PNG")
    assert res.transparent is None  # an opaque clip: the unchanged pixels take one more entry
    blob = res.encode("PNG")
    plain = _without_unchanged_transparent(res, monkeypatch)
    assert len(blob) < len(plain)
    composited, blends = _composited(blob)
    assert blends[0] == 0 and 1 in blends
    with Image.open(io.BytesIO(blob)) as im:
        decoded = [np.asarray(f.convert("RGBA")) for f in ImageSequence.Iterator(im)]
    for i in range(res.n_frames):  # a browser and Pillow show the frames kmq made
        assert np.array_equal(composited[i], res.frame_rgba(i)), i
        assert np.array_equal(decoded[i], res.frame_rgba(i)), i
    assert _decoded(blob)[1] == [80] * res.n_frames


def test_pixels_that_turn_translucent_or_transparent_are_not_blended_over():
    """"over" only where every changed pixel is opaque: a frame in which a pixel becomes
    translucent or transparent replaces its rectangle, whatever the canvas held."""
    from kmq_core.animation import _apng_unchanged_transparent

    yy, xx = np.mgrid[:40, :80]
    frames = []
    for i in range(8):
        f = np.zeros((40, 80, 4), np.uint8)
        f[..., 0], f[..., 1], f[..., 2], f[..., 3] = 30 + xx, 90 + yy, 160, 255
        # two opaque dots far apart, moving every frame (their rectangle is mostly unchanged pixels)
        f[(yy - 4) ** 2 + (xx - 4 - 2 * i) ** 2 < 6] = (250, 40, 40, 255)
        f[(yy - 35) ** 2 + (xx - 75 + 2 * i) ** 2 < 6] = (40, 40, 250, 255)
        j = i // 2  # the translucent square and the hole move every other frame
        f[24:34, 4 + 12 * j:14 + 12 * j, 3] = 110
        f[30:38, 60 - 10 * j:68 - 10 * j, 3] = 0
        frames.append(f)
    res = quantize_animation(_apng(frames, duration=50, loop=0), 32, fmt="PNG")
    assert res.entry_alpha is not None and res.transparent is not None
    blob = _apng_unchanged_transparent(res, res.durations)  # whether or not it is the smaller
    composited, blends = _composited(blob)
    assert blends == [0, 1, 0, 1, 0, 1, 0, 1]  # frames with a translucent change are "source"
    with Image.open(io.BytesIO(blob)) as im:
        decoded = [np.asarray(f.convert("RGBA")) for f in ImageSequence.Iterator(im)]
    for i in range(res.n_frames):
        assert np.array_equal(composited[i], res.frame_rgba(i)), i
        assert np.array_equal(decoded[i], res.frame_rgba(i)), i
    assert np.array_equal(_composited(res.encode("PNG"))[0][-1], res.frame_rgba(7))


def test_the_command_keeps_translucency_in_an_apng_and_cuts_it_in_a_gif(tmp_path):
    src = tmp_path / "ramp.png"
    src.write_bytes(_apng(_ramp_frames(), duration=80, loop=0))
    assert cli.main(["quantize", str(src), "-k", "64", "-o", str(tmp_path / "q.png")]) == 0
    assert cli.main(["quantize", str(src), "-k", "64", "-o", str(tmp_path / "q.gif")]) == 0
    apng = _decoded((tmp_path / "q.png").read_bytes())[0]
    gif = _decoded((tmp_path / "q.gif").read_bytes())[0]
    assert len(np.unique(apng[0][..., 3])) > 16
    assert set(np.unique(gif[0][..., 3])) == {0, 255}
