"""kmq_core.batch: folder trees in parallel, resume, shared palette, and a real Dask cluster.

Everything here runs for real: worker processes (forkserver), a
``dask.distributed.LocalCluster`` with two worker processes, ``python -m
kmq_core.cli`` in a subprocess. Images are small crops of scikit-learn's
sample photos so the whole module stays well under a minute.
"""

import csv
import functools
import json
import os
import pty
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kmq_core import batch
from kmq_core.batch import BatchFile, find_images, image_votes, output_name, run_batch, run_local
from kmq_core.cli import main
from kmq_core.errors import KmqError
from kmq_core.formats import read_palette
from kmq_core.palette import Palette
from kmq_core import histogram
from kmq_core.histogram import ColorHistogram, ImageVotes, MultiImageHistogram

K = 8


@functools.cache
def sample(name: str) -> np.ndarray:
    # imported here: worker processes import this module (crash_on_two) and need none of it
    from sklearn.datasets import load_sample_image

    return load_sample_image(name)


def _photo(i: int) -> np.ndarray:
    """A different 72×56 crop for every i (alternating photos, some flipped)."""
    src = sample("china.jpg" if i % 2 == 0 else "flower.jpg")
    y, x = 37 * i % 300, 53 * i % 500
    crop = src[y:y + 56, x:x + 72]
    return crop[:, ::-1] if i % 3 == 0 else crop


def _save(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(pixels)).save(path)
    return path


def make_tree(root: Path) -> list[str]:
    """A tree with nested folders, two same-named inputs, all formats; returns the image paths (relative)."""
    rels = ["a.jpg", "a.png", "sub/b.webp", "sub/deeper/c.tif", "sub/deeper/d.bmp", "other/e.gif", "other/f.jpeg"]
    for i, rel in enumerate(rels):
        _save(root / rel, _photo(i))
    (root / "notes.txt").write_text("not an image, wrong extension: ignored")
    _save(root / ".hidden" / "g.png", _photo(9))  # hidden folders are not walked
    return rels


def png_palette(path: Path) -> list[int]:
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "P"
        return im.getpalette()


def read_summary(out: Path) -> dict:
    return json.loads((out / "kmq-summary.json").read_text())


def statuses(summary) -> dict:
    rows = summary.rows if hasattr(summary, "rows") else summary["rows"]
    return {r["input"]: r["status"] for r in rows}


def output_pngs(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.rglob("*.png")}


# --------------------------------------------------------------------------- plan


def test_find_images_mirrors_keeps_extensions_and_skips_hidden_and_out_dir(tmp_path):
    rels = make_tree(tmp_path / "in")
    _save(tmp_path / "in" / "out" / "old.png", _photo(1))  # OUT_DIR inside IN_DIR: never read back
    files = find_images(tmp_path / "in", tmp_path / "in" / "out")
    assert [f.rel for f in files] == sorted(rels)
    assert all(isinstance(f, BatchFile) and f.output == tmp_path / "in" / "out" / (f.rel + ".png") for f in files)
    # a.jpg and a.png sit side by side: distinct outputs
    assert output_name("a.jpg") == "a.jpg.png" and output_name("a.png") == "a.png.png"
    assert len({f.output for f in files}) == len(files)
    # and a real run there twice: its outputs are not read back as inputs
    run_batch(tmp_path / "in", tmp_path / "in" / "out", K, jobs=1)
    again = run_batch(tmp_path / "in", tmp_path / "in" / "out", K, jobs=1)
    assert statuses(again) == {r: "skipped" for r in rels}


def test_paths_keep_the_name_the_user_gave(tmp_path):
    """Workers get IN_DIR as named (a shared mount may be a symlink here), not the resolved target."""
    make_tree(tmp_path / "real")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    files = find_images(tmp_path / "link", tmp_path / "out")
    assert all(str(f.input).startswith(str(tmp_path / "link") + os.sep) for f in files)
    with pytest.raises(KmqError, match="OUT_DIR is IN_DIR"):
        find_images(tmp_path / "link", tmp_path / "real")


def test_plan_errors(tmp_path):
    make_tree(tmp_path / "in")
    with pytest.raises(KmqError, match="no such folder"):
        run_batch(tmp_path / "missing", tmp_path / "out", K)
    with pytest.raises(KmqError, match="OUT_DIR is IN_DIR"):
        run_batch(tmp_path / "in", tmp_path / "in", K)
    with pytest.raises(KmqError, match="inside OUT_DIR"):
        run_batch(tmp_path / "in" / "sub", tmp_path / "in", K)
    with pytest.raises(KmqError, match=r"shared palette: ask for one too \(shared_palette=True\)"):
        run_batch(tmp_path / "in", tmp_path / "out", K, palette_files=["p.gpl"])
    with pytest.raises(KmqError, match="jobs must be 1 or more, got 0"):
        run_batch(tmp_path / "in", tmp_path / "out", K, jobs=0)
    with pytest.raises(KmqError, match="unknown palette file type"):
        run_batch(tmp_path / "in", tmp_path / "out", K, shared_palette=True, palette_files=["p.xyz"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(KmqError, match="no images"):
        run_batch(tmp_path / "empty", tmp_path / "out", K)
    assert not (tmp_path / "out").exists()  # nothing written for a refused batch


def test_command_line_says_its_own_flags(tmp_path, capsys):
    """The core's messages name parameters; 'kmq batch' words the same refusals with its flags."""
    make_tree(tmp_path / "in")
    for args, words in ((["--palette", "p.gpl"], "--palette writes the shared palette: add --shared-palette"),
                        (["-j", "0"], "--jobs must be 1 or more, got 0")):
        assert main(["batch", str(tmp_path / "in"), str(tmp_path / "out"), *args]) == 1
        assert capsys.readouterr().err == f"kmq: error: {words}\n"
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- the command


def test_cli_tree_with_bad_file_and_done_file(tmp_path, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    _save(src / "sub" / "done.png", _photo(5))
    assert main(["batch", str(src), str(out), "-k", str(K), "-j", "1", "-q"]) == 0
    done_png = out / "sub" / "done.png.png"
    first_bytes, first_mtime = done_png.read_bytes(), done_png.stat().st_mtime_ns
    capsys.readouterr()

    rels = make_tree(src)
    (src / "sub" / "bad.png").write_text("this is text, not a PNG")
    status = main(["batch", str(src), str(out), "-k", str(K), "-j", "2"])
    captured = capsys.readouterr()
    assert status == 1
    err_lines = captured.err.splitlines()
    assert err_lines[0].startswith(f"kmq: error: {os.path.join(str(src), 'sub/bad.png')}: ")
    assert "not an image" in err_lines[0]
    assert err_lines[-1] == "kmq: error: 1 of 9 images failed"
    assert len(err_lines) == 2
    assert "7 done, 1 up to date, 1 failed" in captured.out

    # mirrored tree of indexed PNGs, at most K colours each; the done file untouched
    assert output_pngs(out) == {r + ".png" for r in rels} | {"sub/done.png.png"}
    for rel in rels:
        png = out / (rel + ".png")
        with Image.open(png) as im:
            assert im.mode == "P" and im.size == (72, 56)
            assert len(np.unique(np.asarray(im))) <= K
    assert done_png.read_bytes() == first_bytes and done_png.stat().st_mtime_ns == first_mtime

    summary = read_summary(out)
    assert summary["files"] == 9 and (summary["done"], summary["skipped"], summary["failed"]) == (7, 1, 1)
    by_input = {r["input"]: r for r in summary["rows"]}
    assert set(by_input) == set(rels) | {"sub/done.png", "sub/bad.png"}
    assert by_input["sub/bad.png"]["status"] == "failed" and "not an image" in by_input["sub/bad.png"]["error"]
    assert by_input["sub/done.png"]["status"] == "skipped"
    for rel in rels + ["sub/done.png"]:
        row = by_input[rel]
        assert row["error"] is None and row["output"] == rel + ".png"
        assert 1 <= row["colors_used"] <= K and row["psnr"] > 15 and 0 < row["delta_e2000"] < 20
        assert row["png_bytes"] == (out / row["output"]).stat().st_size
        assert row["input_bytes"] == (src / rel).stat().st_size and row["seconds"] >= 0
    with open(out / "kmq-summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["input"] for r in table] == [r["input"] for r in summary["rows"]] == sorted(by_input)
    assert {r["input"]: r["status"] for r in table} == statuses(summary)
    assert list(table[0]) == list(batch.SUMMARY_FIELDS)


def test_subprocess_exit_status_and_error_lines(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _save(src / "x" / "ok.jpg", _photo(2))
    (src / "x" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    proc = subprocess.run([sys.executable, "-m", "kmq_core.cli", "batch", str(src), str(out), "-k", "4", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stdout == ""  # -q
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith(f"kmq: error: {src}/x/broken.jpg: ")
    assert lines[1] == "kmq: error: 1 of 2 images failed"
    assert "\r" not in proc.stderr  # no progress bar when stderr is not a terminal
    assert output_pngs(out) == {"x/ok.jpg.png"}
    # without --dask-scheduler, Dask is never imported; with it and no Dask installed: one clear line
    code = ("import sys; sys.modules['dask'] = sys.modules['distributed'] = None\n"
            "from kmq_core.cli import main\n"
            "rc = main(sys.argv[1:]); assert 'distributed' not in [m for m in sys.modules if sys.modules[m]]\n"
            "sys.exit(rc)")
    ok = subprocess.run([sys.executable, "-c", code, "batch", str(src / "x"), str(tmp_path / "o2"), "-q", "-j", "1"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 1 and (tmp_path / "o2" / "ok.jpg.png").exists()
    no_dask = subprocess.run([sys.executable, "-c", code, "batch", str(src), str(tmp_path / "o3"),
                              "--dask-scheduler", "tcp://127.0.0.1:1"], capture_output=True, text=True, timeout=120)
    assert no_dask.returncode == 1
    assert no_dask.stderr == "kmq: error: --dask-scheduler needs Dask: pip install 'kmq[dask]'\n"


def test_progress_bar_on_a_terminal(tmp_path):
    src = tmp_path / "in"
    for i in range(3):
        _save(src / f"{i}.png", _photo(i))
    master, slave = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "kmq_core.cli", "batch", str(src), str(tmp_path / "out"),
                           "-k", "4", "-j", "1"], stderr=slave, stdout=subprocess.PIPE, timeout=120)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    assert proc.returncode == 0
    assert b"quantizing" in shown and b"3/3" in shown
    assert b"3 done, 0 up to date, 0 failed" in proc.stdout


# --------------------------------------------------------------------------- resume


def test_resume_redoes_only_what_is_missing_or_stale(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    rels = make_tree(src)
    first = run_batch(src, out, K, jobs=2)
    assert first.done == len(rels) and first.failed == 0
    mtimes = {p: (out / p).stat().st_mtime_ns for p in output_pngs(out)}

    (out / "sub/b.webp.png").unlink()  # as if interrupted before this one
    second = run_batch(src, out, K, jobs=2)
    assert statuses(second) == {r: "done" if r == "sub/b.webp" else "skipped" for r in rels}
    for p, t in mtimes.items():
        if p != "sub/b.webp.png":
            assert (out / p).stat().st_mtime_ns == t
    # skipped rows keep the figures of the run that made them
    assert {r["input"]: r["png_bytes"] for r in second.rows} == {r["input"]: r["png_bytes"] for r in first.rows}
    assert read_summary(out)["skipped"] == len(rels) - 1

    # a changed input, or an output changed by someone else, is redone
    _save(src / "a.png", _photo(20))
    (out / "other/e.gif.png").write_bytes((out / "a.jpg.png").read_bytes())
    third = run_batch(src, out, K, jobs=1)
    assert {r for r, s in statuses(third).items() if s == "done"} == {"a.png", "other/e.gif"}

    # other options: nothing is up to date
    fourth = run_batch(src, out, K, jobs=1, seed=7)
    assert set(statuses(fourth).values()) == {"done"}
    # --force redoes everything
    assert set(statuses(run_batch(src, out, K, jobs=1, seed=7, force=True)).values()) == {"done"}
    assert set(statuses(run_batch(src, out, K, jobs=1, seed=7)).values()) == {"skipped"}


def test_fingerprint_of_earlier_manifests_is_kept():
    """Options added later (the Bayer size) enter the fingerprint only where they change the pixels,
    so outputs written before they existed are not redone."""
    import hashlib

    from kmq_core.batch import OUTPUT_VERSION, options_key

    base = {"k": 16, "space": "perceptual", "seed": 0, "lock": None}
    for dither in ("none", "fs", "bayer", "bluenoise"):
        before = {"v": OUTPUT_VERSION, "k": 16, "space": "perceptual", "dither": dither, "seed": 0, "lock": [],
                  "palette": None}  # the fields as the first manifests wrote them
        old_key = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:20]
        assert options_key({**base, "dither": dither}, None) == old_key  # no bayer_size at all
        assert options_key({**base, "dither": dither, "bayer_size": 8}, None) == old_key
        small = options_key({**base, "dither": dither, "bayer_size": 4}, None)
        assert (small != old_key) == (dither == "bayer")


def test_resume_and_the_bayer_size(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(2):
        _save(src / f"{i}.png", _photo(i))
    assert set(statuses(run_batch(src, out, K, jobs=1, dither="bayer")).values()) == {"done"}
    assert set(statuses(run_batch(src, out, K, jobs=1, dither="bayer", bayer_size=8)).values()) == {"skipped"}
    four = run_batch(src, out, K, jobs=1, dither="bayer", bayer_size=4)
    assert set(statuses(four).values()) == {"done"} and read_summary(out)["options"]["bayer_size"] == 4
    assert set(statuses(run_batch(src, out, K, jobs=1, dither="fs")).values()) == {"done"}
    # fs ignores the Bayer size: nothing to redo
    assert set(statuses(run_batch(src, out, K, jobs=1, dither="fs", bayer_size=2)).values()) == {"skipped"}
    assert "bayer_size" not in read_summary(out)["options"]
    with pytest.raises(KmqError, match="Bayer size"):
        run_batch(src, out, K, jobs=1, dither="bayer", bayer_size=16)


@pytest.mark.parametrize("force", [False, True])
def test_resume_after_the_process_is_killed(tmp_path, force):
    """kill -9 in the middle of a run (with or without --force): the rerun keeps what was finished."""
    src, out = tmp_path / "in", tmp_path / "out"
    n = 40
    for i in range(n):
        _save(src / f"f{i:02d}.png", _photo(i))
    proc = subprocess.Popen([sys.executable, "-m", "kmq_core.cli", "batch", str(src), str(out), "-k", "4",
                             "-j", "1", "-q"] + ["--force"] * force, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list(out.glob("*.png"))) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.kill()
    proc.wait()
    written = len(list(out.glob("*.png")))
    assert 3 <= written < n, "the run finished before it could be interrupted: make it longer"
    # as if killed after f01's output was written but before it was recorded (its claim line stays),
    # and while appending one more line
    manifest = out / batch.MANIFEST_NAME
    lines = manifest.read_text().splitlines(keepends=True)
    assert any('"kind":"claim","output":"f01.png.png"' in line for line in lines)
    kept = [line for line in lines if not line.startswith('{"output":"f01.png.png"')]
    assert len(kept) == len(lines) - 1
    manifest.write_text("".join(kept) + '{"output": "f39.png.png", "key": "')
    again = run_batch(src, out, 4, jobs=1)
    st = statuses(again)
    assert again.failed == 0, again.failures
    assert st["f00.png"] == "skipped" and st["f01.png"] == "done"
    assert again.skipped >= written - 2 and again.done == n - again.skipped
    assert output_pngs(out) == {f"f{i:02d}.png.png" for i in range(n)}
    assert set(statuses(run_batch(src, out, 4, jobs=1)).values()) == {"skipped"}


def test_ctrl_c_stops_workers_quickly_with_one_line(tmp_path):
    """Ctrl-C (SIGINT to the process group) with worker processes: exit 130, one line, no hang, resumable."""
    src, out = tmp_path / "in", tmp_path / "out"
    n = 60
    for i in range(n):
        _save(src / f"f{i:02d}.png", _photo(i))
    proc = subprocess.Popen([sys.executable, "-m", "kmq_core.cli", "batch", str(src), str(out), "-k", "4", "-j", "2",
                             "-q"], start_new_session=True, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    manifest = out / batch.MANIFEST_NAME

    def recorded() -> int:
        try:
            return manifest.read_text().count('{"output":')
        except FileNotFoundError:
            return 0

    deadline = time.monotonic() + 60
    while recorded() < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 130, err
    assert err == "kmq: error: interrupted (nothing half-written was left)\n"
    assert len(list(out.glob("*.png"))) < n
    again = run_batch(src, out, 4, jobs=2)
    assert again.failed == 0 and again.skipped >= 1 and again.done + again.skipped == n


def test_unknown_existing_output_needs_force(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _save(src / "p.png", _photo(1))
    _save(src / "q.png", _photo(2))
    (out).mkdir()
    (out / "p.png.png").write_bytes(b"somebody else's file")
    res = run_batch(src, out, K, jobs=1)
    assert statuses(res) == {"p.png": "failed", "q.png": "done"}
    assert "exists" in res.failures[0]["error"] and "--force" in res.failures[0]["error"]
    assert (out / "p.png.png").read_bytes() == b"somebody else's file"
    res = run_batch(src, out, K, jobs=1, force=True)
    assert statuses(res) == {"p.png": "done", "q.png": "done"}
    assert png_palette(out / "p.png.png")


# --------------------------------------------------------------------------- shared palette


def _tally(paths) -> ColorHistogram:
    t = MultiImageHistogram()
    for p in paths:
        t.add_image(image_votes(str(p)))
    return t.histogram()


def _big_photo(i: int) -> np.ndarray:
    """Large enough (> EXACT_COLORS distinct colours) to go through the 6-bit cells."""
    src = sample("china.jpg" if i % 2 == 0 else "flower.jpg")
    return src[40 * i:40 * i + 160, 60 * i:60 * i + 200]


def test_vote_tally_is_independent_of_order(tmp_path):
    paths = [_save(tmp_path / f"{i}.png", _big_photo(i)) for i in range(6)]
    assert all(image_votes(str(p)).codes is None for p in paths)  # the cell path
    ref = _tally(paths)
    assert histogram.EXACT_COLORS < len(ref) <= 1 << 18
    for seed in range(3):
        order = paths[:]
        random.Random(seed).shuffle(order)
        h = _tally(order)
        assert np.array_equal(h.codes, ref.codes) and np.array_equal(h.counts, ref.counts)
    # every image weighs the same: a 4× larger copy of an image changes nothing
    big = _save(tmp_path / "big.png", np.kron(_big_photo(0), np.ones((3, 3, 1), np.uint8)))
    h = _tally([big] + paths[1:])
    assert np.array_equal(h.codes, ref.codes) and np.array_equal(h.counts, ref.counts)


def test_vote_tally_keeps_exact_colours_when_few(tmp_path):
    """Sprites with few colours in all: the shared palette is exactly their colours."""
    colours = np.array([[0, 0, 0], [2, 2, 2], [255, 0, 0], [250, 3, 1], [0, 90, 200], [255, 255, 255]], np.uint8)
    rng = np.random.default_rng(0)
    src = tmp_path / "sprites"
    for i in range(4):
        pick = colours[[0, 1 + (i % 2), 3, 4 + (i % 2)]]  # each sprite uses 4 of the 6 colours
        _save(src / f"s{i}.png", pick[rng.integers(0, 4, (16, 16))])
    res = run_batch(src, tmp_path / "out", 8, shared_palette=True, jobs=1)
    assert res.failed == 0
    assert sorted(map(tuple, res.palette.colors.tolist())) == sorted(map(tuple, colours.tolist()))
    for p in (tmp_path / "out").glob("*.png"):  # lossless: each sprite is reproduced exactly
        with Image.open(p) as im, Image.open(src / p.name[:-4]) as orig:
            assert np.array_equal(np.asarray(im.convert("RGB")), np.asarray(orig.convert("RGB")))
    votes = image_votes(str(src / "s0.png"))
    assert isinstance(votes, ImageVotes) and votes.codes is not None
    assert votes.cell_votes.sum() == votes.votes.sum() == histogram.VOTES_PER_IMAGE
    # one photo among the sprites: too many colours to keep exactly, the cells take over
    _save(src / "photo.png", _big_photo(1))
    mixed = run_batch(src, tmp_path / "out2", 8, shared_palette=True, jobs=1)
    assert mixed.failed == 0 and len(mixed.palette) == 8
    assert not {(0, 0, 0), (2, 2, 2)} <= set(map(tuple, mixed.palette.colors.tolist()))


def test_shared_palette_same_for_every_image_and_any_jobs(tmp_path):
    src = tmp_path / "frames"
    rels = make_tree(src)
    (src / "bad.png").write_text("no")
    a = run_batch(src, tmp_path / "o1", 12, shared_palette=True, jobs=1, palette_files=[tmp_path / "o1" / "s.gpl"])
    b = run_batch(src, tmp_path / "o2", 12, shared_palette=True, jobs=2,
                  palette_files=[tmp_path / "s.json", tmp_path / "s.ase"])
    assert a.failed == b.failed == 1 and a.failures[0]["input"] == "bad.png"
    assert 2 < len(a.palette) <= 12
    assert np.array_equal(a.palette.colors, b.palette.colors)
    flat = a.palette.colors.ravel().tolist()
    for o in ("o1", "o2"):
        for rel in rels:
            assert png_palette(tmp_path / o / (rel + ".png"))[: len(flat)] == flat
    for f in (tmp_path / "o1" / "s.gpl", tmp_path / "s.json", tmp_path / "s.ase"):
        assert np.array_equal(read_palette(f).colors, a.palette.colors)
    # same outputs, byte for byte, whatever the number of workers
    for rel in rels:
        assert (tmp_path / "o1" / (rel + ".png")).read_bytes() == (tmp_path / "o2" / (rel + ".png")).read_bytes()
    summary = read_summary(tmp_path / "o1")
    assert summary["shared_palette"] == a.palette.hex

    # resume: the palette is remembered, nothing is redone, the bad file is still reported
    again = run_batch(src, tmp_path / "o1", 12, shared_palette=True, jobs=2, palette_files=[tmp_path / "o1" / "s.gpl"])
    assert statuses(again) == {**{r: "skipped" for r in rels}, "bad.png": "failed"}
    assert np.array_equal(again.palette.colors, a.palette.colors)
    # a new frame changes the shared palette: everything is redone
    _save(src / "new.png", np.full((20, 20, 3), (10, 250, 10), np.uint8))
    third = run_batch(src, tmp_path / "o1", 12, shared_palette=True, jobs=2)
    assert not np.array_equal(third.palette.colors, a.palette.colors)
    assert set(statuses(third).values()) == {"done", "failed"}
    # files refused for their size are tried again with another --max-pixels (not taken from the record)
    limited = run_batch(src, tmp_path / "o1", 12, shared_palette=True, jobs=1, max_pixels=72 * 56 - 1)
    assert statuses(limited)["new.png"] == "done"
    assert limited.failed == len(rels) + 1 and "megapixels" in limited.failures[0]["error"]
    unlimited = run_batch(src, tmp_path / "o1", 12, shared_palette=True, jobs=1)
    # back to the palette of the third run: its outputs are current again, new.png is redone
    assert statuses(unlimited) == {**{r: "skipped" for r in rels}, "new.png": "done", "bad.png": "failed"}
    assert np.array_equal(unlimited.palette.colors, third.palette.colors)
    # a palette file with other colours is not replaced without force
    with pytest.raises(KmqError, match="exists with other colours"):
        run_batch(src, tmp_path / "o1", 12, shared_palette=True, jobs=1, palette_files=[tmp_path / "o1" / "s.gpl"])


# --------------------------------------------------------------------------- worker crashes


def crash_on_two(item):
    """Runs in a worker process: dies outright (like a decoder crash) on item 2."""
    if item == 2:
        os._exit(3)
    time.sleep(0.05)
    return item * 10


def test_run_local_survives_a_worker_that_dies():
    got = {item: (result, error) for item, result, error in run_local(crash_on_two, range(8), 2)}
    assert set(got) == set(range(8))
    assert got[2][0] is None and "worker process died" in got[2][1]
    assert all(got[i] == (i * 10, None) for i in range(8) if i != 2)


# --------------------------------------------------------------------------- Dask


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    try:
        yield cluster
    finally:
        cluster.close()


def test_dask_cluster_gives_the_same_shared_palette_and_outputs(tmp_path, dask_cluster):
    src = tmp_path / "in"
    rels = make_tree(src)
    (src / "sub" / "bad.gif").write_bytes(b"GIF89a broken")
    local = run_batch(src, tmp_path / "local", 10, shared_palette=True, jobs=2, seed=3)
    remote = run_batch(src, tmp_path / "dask", 10, shared_palette=True, seed=3,
                       dask_scheduler=dask_cluster.scheduler_address)
    assert np.array_equal(local.palette.colors, remote.palette.colors)
    assert statuses(remote) == {**{r: "done" for r in rels}, "sub/bad.gif": "failed"}
    for rel in rels:
        assert (tmp_path / "local" / (rel + ".png")).read_bytes() == (tmp_path / "dask" / (rel + ".png")).read_bytes()
    # the tasks really ran in the worker processes, not in this one
    from dask.distributed import Client

    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        seen = client.run(lambda: (os.getpid(), "kmq_core.batch" in sys.modules))
    assert len(seen) == 2 and all(pid != os.getpid() for pid, _ in seen.values())
    assert any(loaded for _, loaded in seen.values())


def test_dask_cli_per_image_palettes_and_resume(tmp_path, dask_cluster, capsys):
    src, out = tmp_path / "in", tmp_path / "out"
    rels = make_tree(src)
    (src / "bad.png").write_text("no")
    args = ["batch", str(src), str(out), "-k", "6", "--dask-scheduler", dask_cluster.scheduler_address]
    assert main(args) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"kmq: error: {src}/bad.png: ") and err[-1] == "kmq: error: 1 of 8 images failed"
    assert output_pngs(out) == {r + ".png" for r in rels}
    for rel in rels:
        with Image.open(out / (rel + ".png")) as im:
            assert len(np.unique(np.asarray(im))) <= 6
    (out / "a.jpg.png").unlink()
    assert main(args + ["-q"]) == 1
    assert statuses(read_summary(out)) == {**{r: "skipped" for r in rels}, "a.jpg": "done", "bad.png": "failed"}
    # a scheduler that is not there: one line, quickly enough
    with pytest.raises(KmqError, match="cannot connect to the Dask scheduler"):
        batch.DaskRunner("tcp://127.0.0.1:9", timeout=2)


def test_manifest_keys_of_earlier_runs_stay_valid():
    """The key is the options object's fingerprint now; these digests were written by the
    hand-made key of kmq before the options object (output folders must stay resumable)."""
    from kmq_core.batch.manifest import options_key

    s1 = {"k": 16, "space": "perceptual", "dither": "none", "seed": 0, "lock": None, "bayer_size": 8}
    s2 = {"k": 64, "space": "rgb", "dither": "bayer", "seed": 3, "lock": "#ff0000,#00ff00", "bayer_size": 4}
    pal = Palette(np.array([[1, 2, 3], [250, 0, 9]], np.uint8))
    assert options_key(s1, None) == "3857e0aee0199b2cf122"
    assert options_key(s2, pal) == "ddafc645b90c267027d0"
    assert options_key(dict(s2, dither="fs"), None) == "4ce3a5833ca453071ec1"  # the size counts for Bayer only


# ---- animations (issue 26): every frame, per file and in the shared palette -------------------
def _gif(path: Path, frames: list[np.ndarray], duration: int = 80) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ims = [Image.fromarray(f) for f in frames]
    ims[0].save(path, save_all=True, append_images=ims[1:], duration=duration, loop=0)
    return path


def _flat(rgb, h=40, w=48) -> np.ndarray:
    return np.tile(np.array(rgb, np.uint8), (h, w, 1))


def _apng_frames(path: Path) -> list[np.ndarray]:
    with Image.open(path) as im:
        assert im.format == "PNG" and getattr(im, "n_frames", 1) > 1
        out = []
        for i in range(im.n_frames):
            im.seek(i)
            out.append(np.asarray(im.convert("RGB")))
        return out


def test_batch_quantizes_every_frame_of_an_animation(tmp_path):
    """An animated GIF becomes an APNG of all its frames (not its first frame alone)."""
    src, out = tmp_path / "in", tmp_path / "out"
    frames = [_flat((200, 30, 30)), _flat((30, 160, 40)), _flat((40, 50, 210))]
    _gif(src / "clip.gif", frames)
    summary = run_batch(src, out, k=4, jobs=1)
    assert statuses(summary) == {"clip.gif": "done"}
    row = summary.rows[0]
    assert row["frames"] == 3 and row["colors_used"] == 3
    got = _apng_frames(out / "clip.gif.png")
    assert len(got) == 3
    for g, f in zip(got, frames):
        assert np.abs(g.astype(int) - f.astype(int)).max() <= 2


def test_batch_shared_palette_spans_two_gifs_and_all_their_frames(tmp_path):
    """--shared-palette across two GIFs: a colour only in the second GIF's last frame is in the
    palette, and both outputs use that one palette on every frame."""
    src, out = tmp_path / "in", tmp_path / "out"
    orange = (250, 140, 10)
    _gif(src / "one.gif", [_flat((20, 40, 200)), _flat((20, 180, 60))])
    _gif(src / "two.gif", [_flat((20, 40, 200)), _flat((230, 230, 230)), _flat(orange)])
    summary = run_batch(src, out, k=4, shared_palette=True, jobs=1)
    assert statuses(summary) == {"one.gif": "done", "two.gif": "done"}
    pal = summary.palette.colors.astype(int)
    assert np.abs(pal - np.array(orange)).sum(1).min() <= 6  # the last frame's colour has an entry
    assert [r["frames"] for r in summary.rows] == [2, 3]
    for name, n in (("one.gif.png", 2), ("two.gif.png", 3)):
        frames = _apng_frames(out / name)
        assert len(frames) == n
        used = {tuple(c) for f in frames for c in f.reshape(-1, 3)}
        assert used <= {tuple(c) for c in pal}
    assert np.abs(_apng_frames(out / "two.gif.png")[2].astype(int) - np.array(orange)).max() <= 6
