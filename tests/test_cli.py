"""The kmq command: outputs, figures and one-line errors."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image

from kmq_core.cli import main
from kmq_core.formats import read_palette
from kmq_core.palette_ops import default_names


@pytest.fixture()
def photo(tmp_path):
    p = tmp_path / "photo one.jpg"
    Image.fromarray(load_sample_image("china.jpg")[::2, ::2]).save(p, quality=92)
    return p


def run(*args):
    """The real command in a subprocess: exit status, stdout, stderr."""
    r = subprocess.run([sys.executable, "-m", "kmq_core.cli", *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def test_quantize_writes_indexed_png_and_palettes(tmp_path, photo):
    out = tmp_path / "out.png"
    code, stdout, err = run("quantize", photo, "-k", 8, "-o", out, "--palette", tmp_path / "p.gpl",
                            "--palette", tmp_path / "p.ase", "--json")
    assert code == 0, err
    info = json.loads(stdout)
    img = Image.open(out)
    assert img.mode == "P" and len(img.getcolors()) <= 8
    assert info["colors_used"] == len(img.getcolors())
    pal = read_palette(tmp_path / "p.ase")
    assert pal.hex == info["palette"] == read_palette(tmp_path / "p.gpl").hex
    # the same colour names as 'kmq palette' and the app give
    assert list(pal.names) == default_names(pal.colors) == list(read_palette(tmp_path / "p.gpl").names)
    used = {tuple(c) for _, c in img.convert("RGB").getcolors()}
    assert used <= {tuple(c) for c in pal.colors}
    for key in ("psnr", "delta_e2000", "bits_per_pixel", "input_bytes", "png_bytes", "seconds"):
        assert key in info


def test_default_output_name_and_no_overwrite(photo):
    code, out, err = run("quantize", photo, "-k", 4)
    target = photo.with_name("photo one-k4.png")
    assert code == 0 and target.exists(), err
    code, out, err = run("quantize", photo, "-k", 4)
    assert code == 1 and err == f"kmq: error: {target} already exists: use --force to overwrite it\n"
    assert run("quantize", photo, "-k", 4, "--force")[0] == 0


def test_same_seed_same_bytes(tmp_path, photo):
    for name in ("a.png", "b.png"):
        assert run("quantize", photo, "-k", 16, "--seed", 5, "-o", tmp_path / name)[0] == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_several_inputs_and_a_bad_one(tmp_path, photo):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    other = tmp_path / "other.png"
    Image.fromarray(load_sample_image("flower.jpg")[::4, ::4]).save(other)
    outdir = tmp_path / "out"
    code, stdout, err = run("quantize", photo, bad, other, "-k", 6, "--out-dir", outdir, "--json")
    assert code == 1
    assert sorted(p.name for p in outdir.iterdir()) == ["other-k6.png", "photo one-k6.png"]
    objects = [json.loads(line) for line in stdout.strip().splitlines()]
    assert len(objects) == 3  # the failure is an object too
    failed = [o for o in objects if "error" in o]
    assert len(failed) == 1 and failed[0]["input"] == str(bad) and "not an image" in failed[0]["error"]
    assert failed[0]["exit_status"] == 1 and failed[0]["output"] is None
    lines = err.strip().splitlines()
    assert lines[0].startswith("kmq: error: ") and "bad.png" in lines[0] and "not an image" in lines[0]
    assert lines[-1] == "kmq: error: 1 of 3 images failed"


def test_palette_in_applies_a_palette(tmp_path, photo):
    (tmp_path / "brand.gpl").write_text("GIMP Palette\nName: brand\nColumns: 0\n#\n"
                                        "  0   0   0\tblack\n255 255 255\twhite\n200  40  40\tred\n")
    out = tmp_path / "b.png"
    assert run("quantize", photo, "--palette-in", tmp_path / "brand.gpl", "-o", out)[0] == 0
    used = {c for _, c in Image.open(out).convert("RGB").getcolors()}
    assert used <= {(0, 0, 0), (255, 255, 255), (200, 40, 40)}


def test_palette_extract_convert_show(tmp_path, photo, capsys):
    assert main(["palette", str(photo), "-k", "5", "-o", str(tmp_path / "c.ase"), "--sort", "hue"]) == 0
    pal = read_palette(tmp_path / "c.ase")
    assert len(pal) == 5 and pal.name == "photo one"
    assert main(["palette", "convert", str(tmp_path / "c.ase"), str(tmp_path / "c.gpl")]) == 0
    assert read_palette(tmp_path / "c.gpl").hex == pal.hex
    capsys.readouterr()
    assert main(["palette", "show", str(tmp_path / "c.gpl"), "--color", "always"]) == 0
    shown = capsys.readouterr().out
    assert all(h in shown for h in pal.hex) and "\x1b[48;2;" in shown


@pytest.mark.parametrize("args,fragment,code", [
    (["quantize", "{photo}", "-k", "0"], "k must be from 1 to 256, got 0", 2),
    (["quantize", "{photo}", "-k", "257"], "k must be from 1 to 256, got 257", 2),
    (["quantize", "{photo}", "-k", "-3"], "k must be from 1 to 256, got -3", 2),
    (["quantize", "{photo}", "-k", "abc"], "k must be a whole number", 2),
    (["quantize", "{photo}", "--space", "hsv"], "invalid choice: 'hsv'", 2),
    (["quantize", "{tmp}/missing.png"], "no such file", 1),
    (["quantize", "{photo}", "-o", "{photo}"], "refusing to overwrite the input", 1),
    (["quantize", "{photo}", "--palette", "{tmp}/x.pdf"], "pdf", 1),
    (["quantize", "{photo}", "--lock", "#zzzzzz"], "not a colour", 1),
    (["quantize", "{photo}", "-k", "2", "--lock", "#000,#fff,#f00"], "do not fit", 1),
    (["quantize", "{photo}", "--max-pixels", "1000"], "megapixels", 1),
    (["quantize", "{photo}", "-o", "{tmp}/nodir/x.png"], "does not exist", 1),
    (["palette", "show", "{tmp}/missing.gpl"], "missing.gpl", 1),
    (["frobnicate"], "invalid choice", 2),
])
def test_errors_are_one_line(tmp_path, photo, args, fragment, code):
    args = [a.format(photo=photo, tmp=tmp_path) for a in args]
    before = photo.read_bytes()
    rc, out, err = run(*args)
    assert rc == code, err
    assert err.count("\n") == 1 and err.startswith("kmq: error: "), err
    assert fragment in err
    assert "Traceback" not in err
    assert photo.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo one.jpg"]  # nothing half-written


def test_help_lists_commands():
    rc, out, _ = run("--help")
    assert rc == 0 and all(c in out for c in ("quantize", "palette", "gimp"))
    rc, out, _ = run("quantize", "--help")
    assert "--dither" in out and "default de2000" in out
