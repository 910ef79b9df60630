"""Animations: every frame quantized, timing kept, a palette that holds still (kmq_core.animation)."""

import io

import numpy as np
import pytest
from PIL import Image, ImageSequence
from skimage import data as skdata

from kmq_core import cli
from kmq_core.animation import (continue_palette, encode_animation, frame_histogram, probe,
                                quantize_animation, read_frames)
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
