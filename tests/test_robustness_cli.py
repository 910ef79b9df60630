"""Issue 7, the ``kmq`` command: every bad input is ONE line ``kmq: error: ...`` and a non-zero exit.

Most cases call :func:`kmq_core.cli.main` in this process (the same code the
``kmq`` script runs, without 1-2 s of interpreter start-up each); the cases
whose point is the real process (stderr as a terminal user sees it, Python
warnings included, batches with worker processes, Ctrl-C) run ``kmq`` as a
subprocess. The corpus comes from ``tests/corpus.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageSequence

import corpus
from kmq_core import quantize
from kmq_core.cli import main
from kmq_core.formats import read_palette

#: the installed ``kmq`` script when there is one (what users run), else the same entry point via -m
KMQ = [shutil.which("kmq")] if shutil.which("kmq") else [sys.executable, "-m", "kmq_core.cli"]


def run_cli(capsys, *argv) -> tuple[int, str, list[str]]:
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err.splitlines()


def assert_one_error_line(err_lines: list[str], *fragments: str) -> str:
    assert len(err_lines) == 1, err_lines
    line = err_lines[0]
    assert line.startswith("kmq: error: ") and "Traceback" not in line, line
    for f in fragments:
        assert f in line, (f, line)
    return line


# ---------------------------------------------------------------- bad files
@pytest.mark.parametrize("command", ["quantize", "palette"])
@pytest.mark.parametrize("key", corpus.bad_params())
def test_bad_file_one_line_exit_1_nothing_written(tmp_path, capsys, key, command):
    item = corpus.BAD[key]
    src = corpus.write(tmp_path, item.name, item.make())
    before = corpus.sha256(src)
    out = tmp_path / ("out.png" if command == "quantize" else "out.gpl")
    rc, stdout, err = run_cli(capsys, command, src, "-k", 8, "-o", out)
    assert rc == 1 and stdout == ""
    assert_one_error_line(err, item.name, item.message)
    assert corpus.sha256(src) == before
    assert corpus.leftovers(tmp_path) == [item.name]


def test_missing_input_and_folder_without_images(tmp_path, capsys):
    rc, _, err = run_cli(capsys, "quantize", tmp_path / "nope.png", "-o", tmp_path / "o.png")
    assert rc == 1 and assert_one_error_line(err, "no such file")
    rc, _, err = run_cli(capsys, "quantize", tmp_path)
    assert rc == 1 and assert_one_error_line(err, f"no images in folder {tmp_path}")


# ---------------------------------------------------------------- valid but odd files
@pytest.mark.parametrize("key", sorted(set(corpus.ODD) - {"animated_gif"}))
def test_odd_file_gives_the_cores_image(tmp_path, capsys, key):
    item = corpus.ODD[key]
    data, _ = corpus.odd_bytes(key)
    src = corpus.write(tmp_path, item.name, data)
    before = corpus.sha256(src)
    rc, stdout, err = run_cli(capsys, "quantize", src, "-k", item.k)  # default name: STEM-kK.png beside it
    out = tmp_path / f"{Path(item.name).stem}-k{item.k}.png"
    assert rc == 0 and err == [], err
    assert stdout.startswith(f"{src} -> {out}: ")
    expected = quantize(data, item.k)
    got = corpus.png_pixels(out)
    assert np.array_equal(got, expected.image)  # alpha and all: the image is what the PNG decodes to
    assert corpus.sha256(src) == before
    assert corpus.leftovers(tmp_path) == sorted([item.name, out.name])


def test_animated_gif_gives_every_frame_and_the_cores_first(tmp_path, capsys):
    """The command quantizes every frame of an animation (kmq_core.animation) into a GIF beside
    it; its first frame is what the core's still-image quantize makes of the file."""
    data, _ = corpus.animated_gif()
    src = corpus.write(tmp_path, "anim.gif", data)
    before = corpus.sha256(src)
    rc, stdout, err = run_cli(capsys, "quantize", src, "-k", 4)
    out = tmp_path / "anim-k4.gif"
    assert rc == 0 and err == [], err
    assert stdout.startswith(f"{src} -> {out}: 3 frames, ")
    with Image.open(out) as im:
        assert im.format == "GIF" and im.n_frames == 3
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    assert np.array_equal(frames[0], quantize(data, 4).image[..., :3])
    assert [tuple(f[0, -1]) for f in frames[1:]] == [(0, 255, 0), (0, 0, 255)]
    assert corpus.sha256(src) == before
    assert corpus.leftovers(tmp_path) == ["anim-k4.gif", "anim.gif"]


def test_odd_names_for_palettes_and_out_dir(tmp_path, capsys):
    src = corpus.write(tmp_path, corpus.NON_ASCII_NAME, corpus.one_by_one()[0])
    spaced = tmp_path / "out dir é"
    rc, _, err = run_cli(capsys, "quantize", src, "--out-dir", spaced, "-k", 4)
    assert rc == 0 and err == []
    assert (spaced / "фото café 写真-k4.png").exists()
    rc, _, err = run_cli(capsys, "palette", src, "-k", 4, "-o", spaced / "пал itte.gpl", "-o", spaced / "p q.ase")
    assert rc == 0 and err == []
    assert read_palette(spaced / "пал itte.gpl").colors.tolist() == [[200, 30, 90]]
    assert read_palette(spaced / "p q.ase").name == "фото café 写真"


# ---------------------------------------------------------------- k
@pytest.mark.parametrize("command", ["quantize", "palette"])
@pytest.mark.parametrize("k", list(corpus.BAD_K), ids=str)
def test_bad_k_exit_2_one_line(tmp_path, capsys, k, command):
    src = corpus.write(tmp_path, "a.png", corpus.photo_png())
    rc, stdout, err = run_cli(capsys, command, src, "-k", k, "-o", tmp_path / ("o.png" if command == "quantize" else "o.gpl"))
    assert rc == 2 and stdout == ""
    assert err == [f"kmq: error: argument -k/--colors: {corpus.BAD_K[k]}"]
    assert corpus.leftovers(tmp_path) == ["a.png"]


def test_k1_gives_a_one_colour_png(tmp_path, capsys):
    src = corpus.write(tmp_path, "a.png", corpus.photo_png())
    rc, _, err = run_cli(capsys, "quantize", src, "-k", 1, "-o", tmp_path / "o.png")
    assert rc == 0 and err == []
    assert len(np.unique(corpus.png_pixels(tmp_path / "o.png").reshape(-1, 3), axis=0)) == 1


# ---------------------------------------------------------------- outputs
def test_output_equal_to_input_is_refused(tmp_path, capsys):
    src = corpus.write(tmp_path, "a.png", corpus.photo_png())
    before = corpus.sha256(src)
    for extra in ([], ["--force"]):
        rc, _, err = run_cli(capsys, "quantize", src, "-o", src, *extra)
        assert rc == 1 and assert_one_error_line(err, f"refusing to overwrite the input {src}")
        rc, _, err = run_cli(capsys, "quantize", src, "-o", tmp_path / "x" / ".." / "a.png", *extra)
        assert rc == 1 and assert_one_error_line(err, "refusing to overwrite the input")
    # the palette outputs too: a swatch PNG named like the input image
    rc, _, err = run_cli(capsys, "quantize", src, "-o", tmp_path / "o.png", "--palette", src, "--force")
    assert rc == 1 and assert_one_error_line(err, f"refusing to overwrite the input {src}")
    rc, _, err = run_cli(capsys, "palette", src, "-o", src, "--force")
    assert rc == 1 and assert_one_error_line(err, f"refusing to overwrite the input {src}")
    pal = tmp_path / "p.gpl"
    pal.write_bytes(b"GIMP Palette\nName: p\n#\n  1   2   3\tx\n")
    pal_before = corpus.sha256(pal)
    rc, _, err = run_cli(capsys, "palette", "convert", pal, pal, "--force")
    assert rc == 1 and assert_one_error_line(err, "refusing to overwrite the input")
    assert corpus.sha256(src) == before and corpus.sha256(pal) == pal_before
    assert corpus.leftovers(tmp_path) == ["a.png", "p.gpl"]


def test_read_only_output_folder(tmp_path, capsys):
    src = corpus.write(tmp_path, "a.png", corpus.photo_png())
    with corpus.read_only_folder() as (ro, reason):
        if ro is None:
            pytest.skip(reason)
        for argv in (["-o", ro / "o.png"], ["--out-dir", ro], ["-o", tmp_path / "o.png", "--palette", ro / "p.gpl"]):
            rc, stdout, err = run_cli(capsys, "quantize", src, "-k", 4, *argv)
            assert rc == 1, argv
            line = assert_one_error_line(err, "cannot write", str(ro))
            assert "Read-only file system" in line or "Permission denied" in line
            assert corpus.leftovers(ro) == []
            (tmp_path / "o.png").unlink(missing_ok=True)  # the image may be written before the palette fails
    assert corpus.leftovers(tmp_path) == ["a.png"]


def test_full_disk(tmp_path, capsys):
    rng = np.random.default_rng(3)
    colours = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    src = corpus.write(tmp_path, "noise.png", corpus.encode(Image.fromarray(colours[rng.integers(0, 256, (300, 300))]), "PNG"))
    with corpus.tiny_tmpfs("64k") as (disk, reason):
        if disk is None:
            pytest.skip(reason)
        rc, _, err = run_cli(capsys, "quantize", src, "-k", 256, "--space", "rgb", "-o", disk / "o.png")
        assert rc == 1
        assert_one_error_line(err, f"cannot write {disk / 'o.png'}: no space left on the device")
        assert corpus.leftovers(disk) == []


# ---------------------------------------------------------------- batches go on past a bad file
def _mixed_folder(folder: Path, with_bugs: bool = False) -> tuple[list[Path], list[Path]]:
    """Good files and the bad corpus files (``with_bugs``: also those kmq mishandles), with distinct stems."""
    folder.mkdir()
    good = [corpus.write(folder, "good1.png", corpus.photo_png()),
            corpus.write(folder, corpus.NON_ASCII_NAME, corpus.one_by_one()[0]),
            corpus.write(folder, "zz last.jpg", corpus.photo_jpeg())]
    bad = [corpus.write(folder, f"{key}{Path(b.name).suffix}", b.make()) for key, b in sorted(corpus.BAD.items())
           if with_bugs or not b.bug]
    return good, bad


def _check_batch_stderr(lines: list[str], bad: list[Path], total: int) -> None:
    assert all(line.startswith("kmq: error: ") for line in lines), lines
    assert lines[-1] == f"kmq: error: {len(bad)} of {total} images failed"
    per_file = lines[:-1]
    assert len(per_file) == len(bad), per_file  # one line per bad file, nothing else (no warnings, no traceback)
    for b in bad:
        assert sum(f"{b.name}: " in line for line in per_file) == 1, (b.name, per_file)


def test_quantize_many_files_continues_past_bad_ones(tmp_path):
    good, bad = _mixed_folder(tmp_path / "in", with_bugs=True)
    hashes = {p: corpus.sha256(p) for p in good + bad}
    r = subprocess.run([*KMQ, "quantize", *sorted(good + bad), "--out-dir", tmp_path / "out", "-k", "4", "-j", "2"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    _check_batch_stderr(r.stderr.splitlines(), bad, len(good) + len(bad))
    made = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert made == sorted(f"{p.stem}-k4.png" for p in good)
    for p in good:
        assert np.array_equal(corpus.png_pixels(tmp_path / "out" / f"{p.stem}-k4.png"), quantize(p, 4).image)
    assert {p: corpus.sha256(p) for p in good + bad} == hashes


def test_batch_command_continues_past_bad_ones(tmp_path):
    good, bad = _mixed_folder(tmp_path / "in", with_bugs=True)  # kmq batch reports even unexpected errors per file
    hashes = {p: corpus.sha256(p) for p in good + bad}
    r = subprocess.run([*KMQ, "batch", tmp_path / "in", tmp_path / "out", "-k", "4", "-j", "2"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    _check_batch_stderr(r.stderr.splitlines(), bad, len(good) + len(bad))
    for p in good:
        assert np.array_equal(corpus.png_pixels(tmp_path / "out" / (p.name + ".png")), quantize(p, 4).image)
    for p in bad:
        assert not (tmp_path / "out" / (p.name + ".png")).exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.suffix == ".part" or ".part" in p.name]
    assert {p: corpus.sha256(p) for p in good + bad} == hashes


@pytest.mark.parametrize("name", sorted(corpus.NOISY_TIFFS))
def test_pillow_warnings_do_not_add_lines_to_the_error(tmp_path, name):
    make, message = corpus.NOISY_TIFFS[name]
    src = corpus.write(tmp_path, name, make())
    r = subprocess.run([*KMQ, "quantize", str(src), "-o", str(tmp_path / "o.png")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1
    assert_one_error_line(r.stderr.splitlines(), name, message)


# ---------------------------------------------------------------- Ctrl-C
def _rss_mb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def test_ctrl_c_mid_run_leaves_nothing_and_exits_130(tmp_path):
    """SIGINT to a real ``kmq quantize`` once it is deep in the work (its memory has grown by
    more than the decoded image): exit status 130, one line, no output, no temporary file."""
    h, w = 2400, 3000  # 7.2 MP of noise: many colours, several seconds of work
    rng = np.random.default_rng(11)
    px = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    src = tmp_path / "big.png"
    Image.fromarray(px).save(src, compress_level=0)
    before = corpus.sha256(src)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    p = subprocess.Popen([*KMQ, "quantize", src, "-k", "256", "-o", out_dir / "big-q.png", "--palette", out_dir / "big.gpl"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sent = False
    try:
        # a trigger, not a timed assertion: imports take kmq to ~100 MB; past 250 MB it holds
        # the decoded pixels and their colour histogram, inside main()'s Ctrl-C handling
        while p.poll() is None:
            if _rss_mb(p.pid) > 250:
                p.send_signal(signal.SIGINT)
                sent = True
                break
            time.sleep(0.02)
        out, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:
            p.kill()
    assert sent, f"kmq finished before it could be interrupted (rc={p.returncode}): {err}"
    assert p.returncode == 130, (p.returncode, err)
    assert err.splitlines() == ["kmq: error: interrupted (nothing half-written was left)"]
    assert corpus.leftovers(out_dir) == []
    assert corpus.sha256(src) == before
