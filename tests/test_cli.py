"""The kmq command: outputs, figures and one-line errors."""

import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image

from kmq_core.cli import main
from kmq_core.formats import read_palette
from kmq_core.palette_ops import default_names

REPO = Path(__file__).resolve().parent.parent


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
    (["quantize", "{photo}", "--space", "hsv"], "unknown colour space 'hsv'", 2),
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
    from kmq_core.options import DEFAULT_DITHER, DEFAULT_SPACE
    out = " ".join(out.split())
    assert "--dither" in out and f"default {DEFAULT_SPACE}" in out and f"default {DEFAULT_DITHER}" in out


# ---- pngquant's conventions, each through the real command (issue 17) ---------------------------
import hashlib  # noqa: E402

from kmq_core.auto_k import quality_for_delta_e  # noqa: E402
from kmq_core.cli import EXIT_STATUSES  # noqa: E402


def run_in(cwd, *args, stdin: bytes | None = None):
    """The real command with bytes in and out (for pipes)."""
    r = subprocess.run([sys.executable, "-m", "kmq_core.cli", *map(str, args)], input=stdin, cwd=cwd,
                       capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode()


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_positional_colour_count_like_pngquant(tmp_path, photo):
    assert run("quantize", photo, 32)[0] == 0
    out = photo.with_name("photo one-k32.png")
    assert out.exists() and len(Image.open(out).getcolors()) <= 32 and len(Image.open(out).getcolors()) > 16
    assert run("quantize", 8, photo, "-o", tmp_path / "eight.png")[0] == 0  # pngquant's order
    assert len(Image.open(tmp_path / "eight.png").getcolors()) <= 8
    code, _, err = run("quantize", photo, 8, "-k", 16)
    assert code == 1 and "two colour counts" in err
    code, _, err = run("quantize", photo, 300)
    assert code == 1 and "k must be from 1 to 256, got 300" in err


def test_quality_picks_the_fewest_colours_reaching_max(tmp_path, photo):
    out = tmp_path / "q.png"
    code, stdout, err = run("quantize", photo, "--quality", "50-75", "-o", out, "--json")
    assert code == 0, err
    info = json.loads(stdout)
    assert info["quality"] >= 75 and quality_for_delta_e(info["delta_e2000"]) == pytest.approx(info["quality"], abs=0.06)
    assert len(Image.open(out).getcolors()) == info["colors_used"] <= info["k"] < 256
    # one colour fewer would miss 75: the same search as the library's
    from kmq_core import quantize
    assert quality_for_delta_e(quantize(photo, info["k"] - 1).delta_e) < 75


def test_quality_below_min_exits_99_and_writes_nothing(tmp_path, photo):
    out = tmp_path / "q.png"
    code, stdout, err = run("quantize", photo, "--quality", "95-99", "-k", 8, "-o", out)
    assert code == 99 and not out.exists() and stdout == ""
    assert "below the minimum 95" in err and err.count("\n") == 1
    code, stdout, err = run("quantize", photo, "--quality", "95-99", "-k", 8, "-o", out, "--json")
    assert code == 99 and json.loads(stdout)["exit_status"] == 99 and not out.exists()
    # written anyway when asked, with a warning
    code, _, err = run("quantize", photo, "--quality", "95-99", "-k", 8, "-o", out, "--write-below-min")
    assert code == 0 and out.exists() and "warning" in err and "written anyway" in err
    assert len(Image.open(out).getcolors()) <= 8


def test_skip_if_larger_exits_98_and_leaves_the_tiny_input(tmp_path):
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (4, 4), "#cc3300").save(tiny, optimize=True)
    before = sha(tiny)
    code, stdout, err = run_in(tmp_path, "quantize", tiny, "--skip-if-larger")
    assert code == 98, err
    assert "would not be smaller" in err and stdout == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.png"] and sha(tiny) == before
    # on stdout too: nothing at all, not even a partial PNG
    code, stdout, err = run_in(tmp_path, "quantize", "-", "--skip-if-larger", stdin=tiny.read_bytes())
    assert code == 98 and stdout == b""
    # without the flag the (larger) file is written
    assert run_in(tmp_path, "quantize", tiny)[0] == 0 and (tmp_path / "tiny-k16.png").exists()


def test_pipe_bytes_in_png_bytes_out(tmp_path, photo):
    data = photo.read_bytes()
    code, stdout, err = run_in(tmp_path, "quantize", "-", "-k", 8, "-o", "-", stdin=data)
    assert code == 0, err
    assert stdout.startswith(b"\x89PNG\r\n\x1a\n") and stdout.endswith(b"IEND\xaeB`\x82")
    img = Image.open(io.BytesIO(stdout))
    assert img.mode == "P" and len(img.getcolors()) <= 8
    assert "stdin -> stdout: 8 colours" in err  # the summary goes to stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo one.jpg"]  # no file named '-'
    # '-' alone writes to stdout, as pngquant does; --json goes to stderr then
    code, stdout2, err = run_in(tmp_path, "quantize", "-", "-k", 8, "--json", stdin=data)
    assert code == 0 and stdout2 == stdout and json.loads(err)["output"] == "-"
    # a file in, stdout out
    code, stdout3, err = run_in(tmp_path, "quantize", photo, "-k", 8, "-o", "-")
    assert code == 0 and stdout3 == stdout
    code, stdout, err = run_in(tmp_path, "quantize", "-", stdin=b"")
    assert code == 1 and stdout == b"" and "nothing on stdin" in err
    code, stdout, err = run_in(tmp_path, "quantize", "-", stdin=b"not an image")
    assert code == 1 and stdout == b"" and err.count("\n") == 1


def test_ext_names_the_outputs(tmp_path, photo):
    other = tmp_path / "b.png"
    Image.fromarray(load_sample_image("flower.jpg")[::4, ::4]).save(other)
    code, _, err = run("quantize", photo, other, "--ext", "-small.png", "-k", 4)
    assert code == 0, err
    assert (tmp_path / "photo one-small.png").exists() and (tmp_path / "b-small.png").exists()
    code, _, err = run("quantize", photo, "--ext", ".jpg")
    assert code == 1 and "must end in .png" in err
    # --ext naming the input itself: the input is never overwritten, even with --force
    before = sha(other)
    code, _, err = run("quantize", other, "--ext", ".png", "--force")
    assert code == 1 and "refusing to overwrite the input" in err and sha(other) == before


def test_strip_drops_metadata_and_keeps_the_srgb_tag(tmp_path):
    from PIL.PngImagePlugin import PngInfo
    src = tmp_path / "meta.png"
    info = PngInfo()
    info.add_text("Copyright", "Jane Doe 2026")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x0112] = 1
    Image.fromarray(load_sample_image("flower.jpg")[::4, ::4]).save(src, pnginfo=info, exif=exif.tobytes())
    assert run("quantize", src, "-o", tmp_path / "kept.png")[0] == 0
    assert run("quantize", src, "-o", tmp_path / "stripped.png", "--strip")[0] == 0
    kept, stripped = Image.open(tmp_path / "kept.png"), Image.open(tmp_path / "stripped.png")
    assert kept.text.get("Copyright") == "Jane Doe 2026" and kept.getexif().get(0x010F) == "CameraMaker"
    assert 0x0112 not in kept.getexif()  # orientation was applied on load
    assert not stripped.text and not stripped.getexif() and "exif" not in stripped.info
    for img in (kept, stripped):
        assert "srgb" in img.info and "icc_profile" not in img.info
    assert (tmp_path / "stripped.png").stat().st_size < (tmp_path / "kept.png").stat().st_size
    assert np.array_equal(np.asarray(kept), np.asarray(stripped))


def test_folder_run_twice(tmp_path, photo):
    folder = tmp_path / "imgs"
    folder.mkdir()
    photo.rename(folder / "a.jpg")
    Image.fromarray(load_sample_image("flower.jpg")[::4, ::4]).save(folder / "b.png")
    code, _, err = run("quantize", folder, "-k", 6, "-j", 1)
    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == ["a-k6.png", "a.jpg", "b-k6.png", "b.png"]
    hashes = {p.name: sha(p) for p in folder.iterdir()}
    # the same run again: nothing quantized twice, nothing reported as an error
    code, stdout, err = run("quantize", folder, "-k", 6, "-j", 1, "--json")
    assert code == 0, err
    objects = [json.loads(line) for line in stdout.splitlines()]
    assert [o["input"] for o in objects] == [str(folder / "a.jpg"), str(folder / "b.png")]
    assert all(o["skipped"] == "exists" for o in objects)
    assert "2 of 2 outputs already exist" in err and "error" not in err
    assert {p.name: sha(p) for p in folder.iterdir()} == hashes
    # another k: new outputs from the originals only, never a-k6-k4.png
    code, _, err = run("quantize", folder, "-k", 4, "-j", 1)
    assert code == 0, err
    assert sorted(p.name for p in folder.iterdir()) == ["a-k4.png", "a-k6.png", "a.jpg", "b-k4.png", "b-k6.png",
                                                        "b.png"]
    # --force redoes them
    code, stdout, err = run("quantize", folder, "-k", 4, "-j", 1, "--force", "--json")
    assert code == 0 and all("skipped" not in json.loads(line) for line in stdout.splitlines())


def test_a_jpeg_that_grows_gets_a_warning(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "noise.jpg"
    Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)).save(src, quality=30)
    code, stdout, err = run("quantize", src, "-k", 256, "-o", tmp_path / "n.png")
    assert code == 0, err
    assert "kmq: warning:" in err and "larger than the JPEG input" in err
    assert "x larger" in stdout and "smaller" not in stdout


@pytest.mark.parametrize("args,fragment", [
    (["--quality", "80-65"], "above the maximum"),
    (["--quality", "abc"], "quality must be"),
    (["--quality", "50-101"], "from 0 to 100"),
])
def test_bad_quality_exits_2(photo, args, fragment):
    code, stdout, err = run("quantize", photo, *args)
    assert code == 2 and fragment in err and err.count("\n") == 1 and stdout == ""


def test_exit_statuses_are_documented_in_help():
    for cmd in ([], ["quantize"]):
        code, out, _ = run(*cmd, "--help")
        assert code == 0
        text = " ".join(out.split())
        for status, what in EXIT_STATUSES.items():
            assert f"{status} {' '.join(what.split())}" in text


def test_dither_choices_aliases_and_bayer_size(tmp_path, photo):
    """--dither takes every core dithering (and its aliases); --bayer-size 2, 4 or 8 matters for bayer only."""
    from kmq_core.options import DITHERS

    code, out, _ = run("quantize", "--help")
    for d in DITHERS:
        assert d in out
    assert "--bayer-size" in out and "bluenoise" in out
    assert "--bayer-size" in run("batch", "--help")[1]

    def png(name, *opts):
        code, _, err = run("quantize", photo, "-k", 16, "-o", tmp_path / name, *opts)
        assert code == 0, err
        return (tmp_path / name).read_bytes()

    blue = png("blue.png", "--dither", "bluenoise")
    assert png("blue2.png", "--dither", "blue-noise") == blue
    assert blue != png("bayer.png", "--dither", "bayer")
    assert png("bayer8.png", "--dither", "bayer", "--bayer-size", 8) == (tmp_path / "bayer.png").read_bytes()
    assert png("bayer4.png", "--dither", "bayer", "--bayer-size", 4) != (tmp_path / "bayer.png").read_bytes()
    assert png("fs4.png", "--dither", "fs", "--bayer-size", 2) == png("fs.png", "--dither", "fs")
    code, _, err = run("quantize", photo, "--dither", "bayer", "--bayer-size", 3, "-o", tmp_path / "x.png")
    assert code == 2 and "Bayer size must be one of 2, 4, 8" in err
    code, _, err = run("quantize", photo, "--dither", "noise", "-o", tmp_path / "x.png")
    assert code == 2 and "bluenoise" in err


# ---- kmq app ------------------------------------------------------------------------------------------
def test_kmq_app_starts_the_app_and_passes_streamlit_options(tmp_path):
    """'kmq app --server.port P' runs the real Streamlit server on the app's script."""
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "kmq_core.cli", "app", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        answer = None
        for _ in range(120):  # up to a minute for Streamlit to come up
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    answer = r.read().decode()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.5)
        assert answer == "ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert b"<title>" in r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_kmq_app_without_streamlit_says_what_to_install():
    code = "import sys; sys.modules['streamlit'] = None; from kmq_core.cli import run; sys.argv = ['kmq', 'app']; run()"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and p.stderr == "kmq: error: the app needs Streamlit: pip install 'kmq[app]'\n"


def _png_palette(path):
    """The palette entries the PNG's pixels use."""
    with Image.open(path) as im:
        assert im.mode == "P"
        pal = np.array(im.getpalette()[: 3 * 256], np.uint8).reshape(-1, 3)
        return {tuple(map(int, pal[i])) for _, i in im.getcolors()}


@pytest.mark.parametrize("k", [4, 8, 16])
def test_palette_command_and_quantize_give_the_same_colours(tmp_path, k):
    src = tmp_path / "tiger.png"
    Image.open(REPO.parent / "shared" / "data" / "cq100" / "siberian_tiger.png").convert("RGB").crop(
        (100, 60, 500, 360)).save(src)
    gpl, q, q2 = tmp_path / "p.gpl", tmp_path / "q.png", tmp_path / "q2.png"
    assert run("palette", src, "-k", k, "-o", gpl)[0] == 0
    swatches = {tuple(map(int, c)) for c in read_palette(gpl).colors}
    assert len(swatches) == k
    # the quantized image uses exactly the swatches the palette command wrote ...
    assert run("quantize", src, "-k", k, "-o", q)[0] == 0
    used = _png_palette(q)
    assert used <= swatches and len(used) >= k - 1
    # ... and applying that file back gives the same colours again
    assert run("quantize", src, "--palette-in", gpl, "-o", q2)[0] == 0
    assert _png_palette(q2) <= swatches


# ---- moods and importance masks (issue 27) ---------------------------------------------------------
def test_palette_and_quantize_take_a_mood(tmp_path, photo):
    from kmq_core import quantize
    from kmq_core.moods import oklab_lightness_chroma

    code, out, err = run("palette", photo, "-k", "5", "--mood", "colourful", "-o", tmp_path / "c.gpl")
    assert code == 0, err
    colourful = read_palette(tmp_path / "c.gpl")
    # the command's palette is the library's mood palette
    assert set(colourful.hex) == set(quantize(photo, 5, mood="colorful").palette.hex)
    assert run("palette", photo, "-k", "5", "--mood", "muted", "-o", tmp_path / "m.gpl")[0] == 0
    muted = read_palette(tmp_path / "m.gpl")
    assert oklab_lightness_chroma(muted.colors)[1].mean() < oklab_lightness_chroma(colourful.colors)[1].mean()
    # quantize remaps the image to the mood's colours
    code, out, err = run("quantize", photo, "-k", "5", "--mood", "colorful", "-o", tmp_path / "q.png")
    assert code == 0, err
    used = {tuple(c) for _, c in Image.open(tmp_path / "q.png").convert("RGB").getcolors()}
    assert used <= {tuple(map(int, c)) for c in colourful.colors}
    assert "--mood MOOD" in run("palette", "--help")[1] and "--importance MASK" in run("quantize", "--help")[1]


@pytest.mark.parametrize("args,fragment,code", [
    (["palette", "{photo}", "--mood", "happy"], "unknown mood 'happy'", 2),
    (["palette", "{photo}", "--mood", "none"], "leave --mood out", 2),
    (["quantize", "{photo}", "--mood", "dark", "--palette-in", "{tmp}/p.gpl"], "--palette-in gives one", 1),
    (["palette", "{photo}", "--importance", "{tmp}/small.png"], "small.png is 10×10 pixels but the image is "
                                                                 "320×214: the importance mask must be the same size", 1),
    (["quantize", "{photo}", "--importance", "{tmp}/black.png", "-o", "{tmp}/o.png"], "black.png is black everywhere", 1),
    (["palette", "{photo}", "--importance", "{tmp}/nothere.png"], "no such importance mask", 1),
    (["quantize", "{photo}", "--importance", "{tmp}/p.gpl", "-o", "{tmp}/o.png"], "cannot read the importance mask", 1),
])
def test_mood_and_mask_errors_are_one_line(tmp_path, photo, args, fragment, code):
    Image.new("L", (10, 10), 255).save(tmp_path / "small.png")
    Image.new("L", (320, 214), 0).save(tmp_path / "black.png")
    (tmp_path / "p.gpl").write_text("GIMP Palette\n0 0 0 black\n")
    rc, out, err = run(*[a.format(photo=photo, tmp=tmp_path) for a in args])
    assert rc == code, err
    assert err.count("\n") == 1 and err.startswith("kmq: error: ") and fragment in err, err
    assert not (tmp_path / "o.png").exists()
