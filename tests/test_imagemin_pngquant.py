"""imagemin-pngquant, pngquant's most used client, running kmq-pngquant (issue 28).

The real packages from the npm registry, imagemin 9 and imagemin-pngquant 10,
are installed with ``npm install --ignore-scripts`` (so pngquant-bin downloads no
binary) into a cache outside the checkout, ``$KMQ_IMAGEMIN_CACHE`` (default
``/var/cache/kmq-imagemin``). The file that pngquant-bin exports as pngquant's path
becomes a two-line shell script running ``kmq-pngquant`` (this checkout's, through
``python -m kmq_core.pngquant_cli``), and ``tests/imagemin_pngquant.mjs`` runs
imagemin on CQ100's macaws photo with every option set of the issue's table, as a
web build does: imagemin reads the file, the plugin pipes it through the binary
with its own arguments, imagemin writes what comes back.

Each result must be a PNG of at most 256 colours that looks like the photo, and
``quality: [1, 1]`` (exit 99) must give the photo back unchanged. Without node,
npm or the npm registry the tests skip; with ``CI=true`` they fail.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.color import deltaE_ciede2000, rgb2lab

from kmq_core.posterize import posterize_values
from needs_tool import missing

REPO = Path(__file__).resolve().parents[1]
PHOTO = REPO.parent / "shared" / "data" / "cq100" / "macaws.png"
CACHE = Path(os.environ.get("KMQ_IMAGEMIN_CACHE", "/var/cache/kmq-imagemin"))
#: the packages and the major versions the issue names
PACKAGES = {"imagemin": 9, "imagemin-pngquant": 10}
#: pngquant's binary as a two-line script: the interpreter comes from the environment, so the
#: cached file is the same for every checkout that runs this test
SHIM = '#!/bin/sh\nexec "$KMQ_PNGQUANT_PYTHON" -m kmq_core.pngquant_cli "$@"\n'

#: imagemin-pngquant's options, the issue's table: it passes them as '-', then
#: --speed N, --strip, --quality MIN-MAX, --floyd=N or --ordered, --posterize N
OPTION_SETS = {
    "none": {},
    "quality 0.6-0.8": {"quality": [0.6, 0.8]},
    "speed 1, strip": {"speed": 1, "strip": True},
    "dithering 0.5": {"dithering": 0.5},
    "dithering false": {"dithering": False},
    "posterize 2": {"posterize": 2},
    "quality 1-1": {"quality": [1, 1]},
}


def _installed(folder: Path) -> bool:
    for name, major in PACKAGES.items():
        meta = folder / "node_modules" / name / "package.json"
        try:
            if int(json.loads(meta.read_text())["version"].split(".")[0]) != major:
                return False
        except (OSError, ValueError, KeyError):
            return False
    return True


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The cache with both packages, pngquant-bin's binary replaced by the kmq-pngquant script."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing("node and npm are not installed (.ci/setup --test installs Debian's nodejs and npm)")
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        lock = open(CACHE / ".lock", "w")
    except OSError as e:
        missing(f"cannot use the npm cache {CACHE}: {e} (set KMQ_IMAGEMIN_CACHE)")
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time, whichever checkout asks
        if not _installed(CACHE):
            (CACHE / "package.json").write_text(json.dumps({"name": "kmq-imagemin-test", "private": True}) + "\n")
            r = subprocess.run([npm, "install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error",
                                *(f"{name}@{major}" for name, major in PACKAGES.items())],
                               cwd=CACHE, capture_output=True, text=True, timeout=600)
            if r.returncode != 0 or not _installed(CACHE):
                said = [line for line in (r.stderr or r.stdout).splitlines() if "complete log" not in line]
                missing(f"npm install of {', '.join(PACKAGES)} failed (no npm registry?): {' / '.join(said[-6:])}")
        # where imagemin-pngquant will look: what pngquant-bin exports, resolved from the plugin
        r = subprocess.run([node, "--input-type=module", "-e", "import p from 'pngquant-bin'; console.log(p)"],
                           cwd=CACHE / "node_modules" / "imagemin-pngquant", capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        binary = Path(r.stdout.strip())
        assert binary.is_relative_to(CACHE), binary
        binary.parent.mkdir(parents=True, exist_ok=True)
        if not binary.is_file() or binary.read_text() != SHIM:
            tmp = binary.with_name(binary.name + ".kmq-tmp")
            tmp.write_text(SHIM)
            tmp.chmod(0o755)
            os.replace(tmp, binary)
    return CACHE / "node_modules"


@pytest.fixture(scope="module")
def photo() -> bytes:
    if not PHOTO.is_file():
        missing(f"the CQ100 photo {PHOTO} is not there (shared/ beside the checkout)")
    return PHOTO.read_bytes()


@pytest.fixture(scope="module")
def results(node_modules, photo, tmp_path_factory) -> dict[str, bytes]:
    """Every option set through imagemin: the bytes imagemin wrote for each."""
    work = tmp_path_factory.mktemp("imagemin")
    # the script beside a link to the cache's node_modules: node resolves 'imagemin' from there
    shutil.copy(REPO / "tests" / "imagemin_pngquant.mjs", work / "run.mjs")
    (work / "node_modules").symlink_to(node_modules)
    (work / "sets.json").write_text(json.dumps(OPTION_SETS))
    (work / "macaws.png").write_bytes(photo)
    env = {**os.environ, "KMQ_PNGQUANT_PYTHON": sys.executable,
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    r = subprocess.run(["node", "run.mjs", "macaws.png", "out", "sets.json"], cwd=work, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"imagemin failed:\n{r.stderr[-3000:]}"
    written = [json.loads(line) for line in r.stdout.splitlines()]
    assert [w["name"] for w in written] == list(OPTION_SETS)
    return {w["name"]: Path(work, w["written"][0]).read_bytes() for w in written}


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def mean_delta_e(a: np.ndarray, b: np.ndarray) -> float:
    return float(deltaE_ciede2000(rgb2lab(a), rgb2lab(b)).mean())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255 ** 2 / mse))


@pytest.mark.parametrize("name", [n for n in OPTION_SETS if n != "quality 1-1"])
def test_each_option_set_gives_a_png_that_looks_like_the_photo(name, results, photo):
    out = results[name]
    img = Image.open(io.BytesIO(out))
    assert img.format == "PNG" and img.mode == "P" and img.size == (768, 512)
    colours = len(img.getcolors(256) or ())
    assert 16 < colours <= 256, colours  # 256 colours asked (kmq quantize alone would take 16)
    src, got = _pixels(photo), _pixels(out)
    de, db = mean_delta_e(src, got), psnr(src, got)
    print(f"{name}: {len(out):,} bytes, {colours} colours, mean ΔE2000 {de:.2f}, PSNR {db:.1f} dB")
    assert de < 2.5 and db > 30, (de, db)
    assert len(out) < len(photo) / 2


def test_quality_range_reaches_its_maximum(results, photo):
    """--quality 60-80: the fewest colours reaching 80 on kmq's scale, a mean ΔE2000 of 2 at most."""
    de = mean_delta_e(_pixels(photo), _pixels(results["quality 0.6-0.8"]))
    assert de <= 2.0 + 0.05, de


def test_options_reach_the_picture(results):
    """--posterize 2 drops two bits of every palette entry; --floyd=0.5 moves fewer pixels off
    their nearest colour than the default strength 1; --ordered is kmq's ordered dithering,
    neither the undithered picture nor the Floyd-Steinberg one."""
    img = Image.open(io.BytesIO(results["posterize 2"]))
    used = sorted(i for _, i in img.getcolors(256))
    pal = np.array(img.getpalette(), np.uint8).reshape(-1, 3)[used]
    assert np.array_equal(pal, posterize_values(pal, 2))
    plain = Image.open(io.BytesIO(results["none"]))
    pal = np.array(plain.getpalette(), np.uint8).reshape(-1, 3)[sorted(i for _, i in plain.getcolors(256))]
    assert not np.array_equal(pal, posterize_values(pal, 2))

    from kmq_core import quantize

    undithered = quantize(PHOTO, 256, dither="none").image  # what --nofs gives

    def moved(name: str) -> int:
        return int((_pixels(results[name]) != undithered).any(axis=2).sum())

    assert 0 < moved("dithering 0.5") < moved("none")
    assert moved("dithering false") > 0
    assert not np.array_equal(_pixels(results["dithering false"]), _pixels(results["none"]))


def test_quality_out_of_reach_gives_the_photo_back(results, photo):
    """quality [1, 1] is --quality 100-100: exit 99, and imagemin-pngquant then keeps the input."""
    assert results["quality 1-1"] == photo
