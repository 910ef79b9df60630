"""``kmq-pngquant`` (issue 28): pngquant 3's command line on kmq.

The same argument lists go to the real pngquant 3 (PyPI ``pngquant-cli``, its
binary in the venv's ``bin/``) and to ``kmq-pngquant``, each in its own folder
holding the same files: exit statuses, the names of the files written or
replaced, and whether stdout carried a PNG must agree. Then what only kmq's
side can show: each option's effect on the picture, the input on stdout for 98
and 99, the replacement in place, the parser's statuses.

Without pngquant 3 the comparison skips (with ``CI=true`` it fails).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kmq_core.cli import size_budget
from kmq_core.pngquant_cli import (CANT_WRITE_ERROR, INVALID_ARGUMENT, MISSING_ARGUMENT, Plan, UsageError,
                                   output_name, parse_args)
from kmq_core.posterize import posterize_values
from needs_tool import missing

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO.parent / "shared" / "data" / "cq100" / "macaws.png"
KMQ_PNGQUANT = [sys.executable, "-m", "kmq_core.pngquant_cli"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _env() -> dict:
    """This checkout's kmq_core first, whatever the folder the command runs in."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}


@pytest.fixture(scope="module")
def photo_crop() -> bytes:
    """A 192×128 piece of CQ100's macaws as a PNG (many colours, quick to quantize)."""
    if not PHOTO.is_file():
        missing(f"the CQ100 photo {PHOTO} is not there (shared/ beside the checkout)")
    buf = io.BytesIO()
    Image.open(PHOTO).convert("RGB").crop((300, 150, 492, 278)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def pngquant3() -> str:
    """The real pngquant 3: the binary pngquant-cli puts beside the venv's python."""
    path = shutil.which("pngquant", path=str(Path(sys.executable).parent))
    if path is None:
        missing("pngquant 3 is not in the venv's bin/ (pip install pngquant-cli==3.0.3: the test extra)")
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    if not version.startswith("3."):
        missing(f"{path} is pngquant {version!r}, not pngquant 3")
    return path


def lay_out(folder: Path, photo: bytes) -> None:
    """The same files for both commands."""
    folder.mkdir()
    (folder / "a.png").write_bytes(photo)
    (folder / "UPPER.PNG").write_bytes(photo)
    (folder / "-dash.png").write_bytes(photo)
    Image.new("RGB", (4, 4), "#cc3300").save(folder / "tiny.png", optimize=True)  # no PNG of it is smaller
    (folder / "bad.png").write_text("not an image")


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def outcome(command: list[str], folder: Path, steps) -> tuple[list[tuple[int, str]], list[str]]:
    """Run each step ``(args, stdin file or None)`` in ``folder``: per step (status, what stdout
    carried), then the files written or replaced."""
    before = snapshot(folder)
    results = []
    for args, stdin in steps:
        data = (folder / stdin).read_bytes() if stdin else None
        r = subprocess.run([*command, *args], cwd=folder, input=data, capture_output=True, env=_env(), timeout=300)
        results.append((r.returncode, "png" if r.stdout.startswith(PNG_SIGNATURE) else
                        "empty" if not r.stdout else "other"))
    after = snapshot(folder)
    return results, sorted(n for n, h in after.items() if before.get(n) != h)


#: argument lists as pngquant's users and wrappers write them; a case runs its steps in order
#: in one folder (a second run meets the first one's output)
CASES = {
    "defaults": [["a.png"]],
    "existing output: 15, then --force": [["a.png"], ["a.png"], ["--force", "a.png"], ["-f", "a.png"]],
    "--nofs": [["--nofs", "a.png"]],
    "--ordered": [["--ordered", "a.png"]],
    "--floyd=0.5": [["--floyd=0.5", "a.png"]],
    "--floyd=0": [["--floyd=0", "a.png"]],
    "--floyd": [["--floyd", "a.png"]],
    "--nofs beats --floyd": [["--floyd", "--nofs", "a.png"]],
    "--speed 11 without dithering": [["--speed", "11", "a.png"]],
    "--speed 1 --strip -v": [["--speed", "1", "--strip", "-v", "a.png"]],
    "clustered short options": [["-fv", "-s3", "-Q0-100", "a.png"]],
    "colour count": [["64", "a.png"]],
    "colour count 0 is the default": [["0", "a.png"]],
    "colour count 1": [["1", "a.png"]],
    "colour count 300": [["300", "a.png"]],
    "--ext, two files, .PNG": [["--ext", ".min.png", "a.png", "UPPER.PNG"]],
    "--ext=": [["--ext=-small.png", "a.png"]],
    "-o": [["-o", "out.png", "a.png"]],
    "--output=": [["--output=out.png", "a.png"]],
    "-o with two files": [["-o", "out.png", "a.png", "tiny.png"]],
    "--ext with -o": [["--ext", "-x.png", "-o", "out.png", "a.png"]],
    "-o into a missing folder": [["-o", "nodir/out.png", "a.png"]],
    "in place: 15, then --force replaces": [["--ext", ".png", "a.png"], ["--ext", ".png", "--force", "a.png"]],
    "--skip-if-larger, not smaller": [["--skip-if-larger", "tiny.png"]],
    "--skip-if-larger, smaller": [["--skip-if-larger", "a.png"]],
    "--quality out of reach": [["--quality", "100-100", "a.png"], ["--quality", "100-100", "-o", "q.png", "a.png"]],
    "--quality reachable": [["--quality=0-100", "a.png"]],
    "--quality max below min": [["--quality", "80-60", "a.png"]],
    "--quality not a range": [["--quality", "foo", "a.png"]],
    "--posterize 2": [["--posterize", "2", "a.png"]],
    "--posterize 9": [["--posterize", "9", "a.png"]],
    "--speed 12": [["--speed", "12", "a.png"]],
    "-- before a name starting with a dash": [["--", "-dash.png"]],
    "missing input": [["nonexistent.png"]],
    "not an image": [["bad.png"]],
    "last failure wins: 2 after a success": [["nonexistent.png", "a.png"]],
    "last failure wins: 98 after 99": [["--quality", "100-100", "--skip-if-larger", "a.png", "tiny.png"]],
    "last failure wins: 99 after 98": [["--quality", "100-100", "--skip-if-larger", "tiny.png", "a.png"]],
    "the same file twice": [["a.png", "a.png"]],
    "no arguments": [[]],
    "no file": [["-f"]],
    "unknown option": [["--bogus", "a.png"]],
    "abbreviated option": [["--qual", "60-80", "a.png"]],
    "option without its value": [["a.png", "--ext"]],
    "--map": [["--map", "tiny.png", "a.png"]],
    "obsolete flags": [["--iebug", "--transbug", "--no-force", "a.png"]],
    "stdin to stdout": [(["-"], "a.png")],
    "stdin, imagemin's order": [(["-", "--speed", "1", "--strip", "--floyd=0.5"], "a.png")],
    "stdin, quality out of reach": [(["-", "--quality", "100-100"], "a.png")],
    "stdin, not smaller": [(["-", "--skip-if-larger"], "tiny.png")],
    "stdin to a file": [(["-", "-o", "out.png"], "a.png")],
    "a file to stdout": [["-o", "-", "a.png"]],
    "empty stdin": [(["-"], "empty")],
}


@pytest.mark.parametrize("case", CASES)
def test_same_statuses_and_names_as_pngquant_3(case, tmp_path, photo_crop, pngquant3):
    steps = [(s, None) if isinstance(s, list) else s for s in CASES[case]]
    got = {}
    for name, command in (("pngquant", [pngquant3]), ("kmq-pngquant", KMQ_PNGQUANT)):
        folder = tmp_path / name
        lay_out(folder, photo_crop)
        (folder / "empty").write_bytes(b"")
        got[name] = outcome(command, folder, steps)
    assert got["kmq-pngquant"] == got["pngquant"], f"{case}: {steps}"


# ---- what only kmq's side can show -----------------------------------------------------------------


def run(folder: Path, *args, stdin: bytes | None = None):
    r = subprocess.run([*KMQ_PNGQUANT, *map(str, args)], cwd=folder, input=stdin, capture_output=True, env=_env(),
                       timeout=300)
    return r.returncode, r.stdout, r.stderr.decode()


def palette_of(path_or_bytes) -> np.ndarray:
    img = Image.open(io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes)
    assert img.mode == "P"
    used = sorted({i for _, i in img.getcolors()})
    return np.array(img.getpalette()[:3 * (max(used) + 1)], np.uint8).reshape(-1, 3)[used]


def test_each_option_reaches_the_picture(tmp_path, photo_crop):
    """--floyd=N, --ordered, --nofs and --posterize each change the pixels the way they say.

    The dithering flags are compared at 16 colours: kmq's dithering is adaptive (smooth areas
    only, where the palette's steps would show), and at 256 colours on this crop it moves
    almost no pixel."""
    lay_out(tmp_path / "f", photo_crop)
    folder = tmp_path / "f"
    outs = {}
    for name, args in {"default": ["16"], "nofs": ["16", "--nofs"], "half": ["16", "--floyd=0.5"],
                       "ordered": ["16", "--ordered"], "all": [], "post2": ["--posterize", "2"],
                       "post4": ["--posterize", "4"]}.items():
        code, _, err = run(folder, *args, "-o", f"{name}.png", "a.png")
        assert code == 0, err
        img = Image.open(folder / f"{name}.png")
        outs[name] = np.asarray(img.convert("RGB"))
        # 256 colours unless told (kmq quantize's default is 16)
        assert (16 < len(img.getcolors()) <= 256) if args[:1] != ["16"] else len(img.getcolors()) <= 16, name
    for a, b in [("default", "nofs"), ("default", "half"), ("half", "nofs"), ("ordered", "nofs"),
                 ("ordered", "default"), ("post2", "all")]:
        assert not np.array_equal(outs[a], outs[b]), (a, b)
    for bits in (2, 4):
        pal = palette_of(folder / f"post{bits}.png")
        assert np.array_equal(pal, posterize_values(pal, bits)), bits  # every entry has the low bits dropped
    pal = palette_of(folder / "all.png")
    assert not np.array_equal(pal, posterize_values(pal, 2))
    assert len(np.unique(palette_of(folder / "post4.png"))) <= 16


def test_98_and_99_on_stdout_give_back_the_input(tmp_path, photo_crop):
    lay_out(tmp_path / "f", photo_crop)
    folder = tmp_path / "f"
    code, out, err = run(folder, "-", "--quality", "100-100", stdin=photo_crop)
    assert code == 99 and out == photo_crop, err
    tiny = (folder / "tiny.png").read_bytes()
    code, out, err = run(folder, "--skip-if-larger", "-v", "-", stdin=tiny)
    assert code == 98 and out == tiny and "nothing written" in err and "the input went to stdout" in err
    code, out, err = run(folder, "--quality", "100-100", "-o", "-", "a.png")
    assert code == 99 and out == photo_crop
    # --verbose keeps stdout for the PNG when the PNG goes there
    code, out, err = run(folder, "-v", "-", stdin=photo_crop)
    assert code == 0 and Image.open(io.BytesIO(out)).mode == "P" and "stdin -> stdout: " in err
    assert sorted(p.name for p in folder.iterdir()) == sorted(["a.png", "UPPER.PNG", "-dash.png", "tiny.png",
                                                               "bad.png"])


def test_ext_png_force_replaces_the_input_in_place(tmp_path, photo_crop):
    lay_out(tmp_path / "f", photo_crop)
    folder = tmp_path / "f"
    code, _, err = run(folder, "--ext", ".png", "a.png")
    assert code == 15 and "exists; not overwriting" in err and (folder / "a.png").read_bytes() == photo_crop
    code, _, err = run(folder, "--ext", ".png", "--force", "a.png")
    assert code == 0, err
    img = Image.open(folder / "a.png")
    assert img.mode == "P" and len(img.getcolors()) <= 256 and img.size == (192, 128)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_status_16_and_one_line_per_failure(tmp_path, photo_crop):
    lay_out(tmp_path / "f", photo_crop)
    folder = tmp_path / "f"
    code, _, err = run(folder, "-o", "nodir/out.png", "a.png")
    assert code == CANT_WRITE_ERROR and err == "kmq-pngquant: error: a.png: the folder nodir does not exist\n"
    code, _, err = run(folder, "bad.png", "nonexistent.png")
    assert code == 2 and err.count("\n") == 2 and "cannot open nonexistent.png for reading" in err


def test_warnings_reach_stderr(tmp_path, photo_crop):
    """kmq reads more than PNG: a JPEG whose PNG is larger is written, with kmq's warning."""
    Image.open(io.BytesIO(photo_crop)).save(tmp_path / "small.jpg", quality=40)
    code, out, err = run(tmp_path, "small.jpg")
    assert code == 0 and out == b"" and (tmp_path / "small-fs8.png").exists()
    assert err.startswith("kmq-pngquant: warning: small.jpg: the PNG (") and "larger than the JPEG" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("args, dither, strength, ext", [
    ([], "fs", 1.0, "-fs8.png"),
    (["--nofs"], "none", 1.0, "-or8.png"),
    (["--ordered"], "bayer", 1.0, "-or8.png"),
    (["--floyd=0.5"], "fs", 0.5, "-fs8.png"),
    (["--floyd=0"], "none", 1.0, "-or8.png"),
    (["--floyd"], "fs", 1.0, "-fs8.png"),
    (["--floyd=2"], "fs", 1.0, "-fs8.png"),  # pngquant keeps it to 0-1
    (["--floyd=0.5", "--nofs"], "none", 1.0, "-or8.png"),
    (["--speed", "11"], "none", 1.0, "-or8.png"),
    (["--speed", "1"], "fs", 1.0, "-fs8.png"),
])
def test_dithering_flags_map_to_kmq(args, dither, strength, ext):
    plan = Plan(*parse_args([*args, "a.png"]))
    assert (plan.options.dither, plan.options.strength, plan.ext) == (dither, strength, ext)
    assert plan.outputs == ["a" + ext]


def test_the_rest_of_the_command_line():
    plan = Plan(*parse_args(["-", "--quality", "60-80", "--strip", "--posterize", "2", "--skip-if-larger"]))
    assert plan.options.k == 256 and plan.options.quality == (60, 80) and plan.outputs == ["-"]
    s = plan.settings
    assert s["strip"] and s["posterize"] == 2 and s["skip_if_larger"] and s["skip_rule"] == "pngquant"
    assert Plan(*parse_args(["64", "a.png"])).options.k == 64
    assert Plan(*parse_args(["0", "a.png"])).options.k == 256
    plan = Plan(*parse_args(["-fvQ60-80", "--ext=.min.png", "--", "-x.png", "b.jpg"]))
    assert plan.force and plan.verbose and plan.options.quality == (60, 80)
    assert plan.outputs == ["-x.min.png", "b.min.png"]
    assert Plan(*parse_args(["-o", "-", "a.png"])).outputs == ["-"]
    assert not Plan(*parse_args(["-f", "--no-force", "a.png"])).force
    assert Plan(*parse_args(["--max-pixels", "none", "a.png"])).options.max_pixels is None
    assert Plan(*parse_args(["a.png"])).options.max_pixels == 100_000_000


@pytest.mark.parametrize("args, status", [
    (["--bogus", "a.png"], MISSING_ARGUMENT),
    (["--qual", "60-80", "a.png"], MISSING_ARGUMENT),
    (["a.png", "--ext"], MISSING_ARGUMENT),
    (["a.png", "-o"], MISSING_ARGUMENT),
    (["--nofs=1", "a.png"], MISSING_ARGUMENT),
    ([], MISSING_ARGUMENT),
    (["64"], MISSING_ARGUMENT),
    (["1", "a.png"], INVALID_ARGUMENT),
    (["257", "a.png"], INVALID_ARGUMENT),
    (["--posterize", "5", "a.png"], INVALID_ARGUMENT),
    (["--posterize", "x", "a.png"], INVALID_ARGUMENT),
    (["--speed", "0", "a.png"], INVALID_ARGUMENT),
    (["--quality", "80-60", "a.png"], INVALID_ARGUMENT),
    (["--floyd=x", "a.png"], INVALID_ARGUMENT),
    (["--floyd=nan", "a.png"], INVALID_ARGUMENT),
    (["--ext", ".x", "-o", "o.png", "a.png"], INVALID_ARGUMENT),
    (["-o", "o.png", "a.png", "b.png"], INVALID_ARGUMENT),
    (["-o", "o.jpg", "a.png"], INVALID_ARGUMENT),
    (["--ext", ".webp", "a.png"], INVALID_ARGUMENT),
    (["--map", "m.png", "a.png"], INVALID_ARGUMENT),
    (["--max-pixels", "many", "a.png"], INVALID_ARGUMENT),
])
def test_bad_command_lines(args, status):
    with pytest.raises(UsageError) as e:
        Plan(*parse_args(args))
    assert e.value.status == status, str(e.value)


def test_output_names_are_pngquants():
    assert output_name("a.png", "-fs8.png") == "a-fs8.png"
    assert output_name("dir.v2/A.PNG", "-or8.png") == "dir.v2/A-or8.png"
    assert output_name("a.Png", "-fs8.png") == "a.Png-fs8.png"  # pngquant replaces .png and .PNG only
    assert output_name(".png", "-fs8.png") == ".png-fs8.png"
    assert output_name("noext", "-fs8.png") == "noext-fs8.png"
    assert output_name("photo.jpg", "-fs8.png") == "photo-fs8.png"  # kmq reads more than PNG


def test_skip_if_larger_budget():
    assert size_budget(1000) == 999  # kmq quantize: smaller than the input
    assert size_budget(1001, 100) == 1000  # pngquant's rule: (input - 1) × max(q^1.5, 0.5)
    assert size_budget(1001, 80) == int(1000 * 0.8 ** 1.5) == 715
    assert size_budget(1001, 30) == size_budget(1001, 0) == size_budget(1001, -3) == 500


def test_help_and_version():
    r = subprocess.run([*KMQ_PNGQUANT, "--help"], capture_output=True, text=True, env=_env())
    assert r.returncode == 0 and "--posterize N" in r.stdout and "exit status: 0 success" in r.stdout
    r = subprocess.run([*KMQ_PNGQUANT, "-V"], capture_output=True, text=True, env=_env())
    from kmq_core import __version__
    assert r.returncode == 0 and r.stdout.startswith(__version__)


def test_skip_if_larger_weighs_the_quality_reached(tmp_path, photo_crop, monkeypatch):
    """kmq-pngquant's --skip-if-larger asks pngquant's rule with the quality of the result;
    kmq quantize's asks for fewer bytes than the input."""
    from kmq_core import cli

    calls = []
    budget = {"bytes": None}

    def spy(n, quality=None):
        calls.append((n, quality))
        return budget["bytes"] if budget["bytes"] is not None else size_budget(n, quality)

    monkeypatch.setattr(cli, "size_budget", spy)
    src = tmp_path / "a.png"
    src.write_bytes(photo_crop)
    settings = Plan(*parse_args(["--skip-if-larger", "--nofs", str(src)])).settings
    info = cli._quantize_one(str(src), str(tmp_path / "o.png"), settings)
    assert calls == [(len(photo_crop), info["quality"])] and 50 < info["quality"] < 100
    assert info["exit_status"] == 0 and (tmp_path / "o.png").stat().st_size == info["png_bytes"]
    budget["bytes"] = info["png_bytes"] - 1  # one byte short: not worth writing
    info = cli._quantize_one(str(src), str(tmp_path / "p.png"), settings)
    assert info["exit_status"] == 98 and f"at most {info['png_bytes'] - 1:,} bytes" in info["error"]
    assert not (tmp_path / "p.png").exists()
    calls.clear()
    budget["bytes"] = None
    cli._quantize_one(str(src), str(tmp_path / "q.png"), {**settings, "skip_rule": None})
    assert calls == [(len(photo_crop), None)]
