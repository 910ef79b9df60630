"""Issue 7: big images with bounded memory, and bombs refused before decoding.

Each case runs a fresh ``kmq quantize`` process from a small launcher
interpreter and reads its peak resident set size with
``resource.getrusage(RUSAGE_CHILDREN)`` there (from this large test process
the figure would start at the parent's size: Linux keeps the peak across
fork and exec). The bound is the issue's: 4× the decoded
RGB size (8181×7221×3 bytes = 177 MB → 709 MB). The inputs are generated
quickly: a smooth gradient plus a tiled noise pattern, saved with low
compression. The peaks are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import corpus

KMQ = [shutil.which("kmq")] if shutil.which("kmq") else [sys.executable, "-m", "kmq_core.cli"]
MB = 1_000_000  # decimal megabytes, as in the issue (709 MB)


#: a small launcher: a child's peak RSS starts at its parent's RSS at fork time and survives exec, so
#: kmq is started from a fresh, small interpreter rather than from this (large) test process
_LAUNCHER = ("import resource, subprocess, sys\n"
             "rc = subprocess.run(sys.argv[2:]).returncode\n"
             "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
             "sys.exit(rc)\n")


def run_measured(argv: list, tmp: Path) -> tuple[int, str, float]:
    """(exit status, stderr, peak RSS in decimal MB) of one fresh ``kmq`` process."""
    rss_file = tmp / "rss.txt"
    r = subprocess.run([sys.executable, "-c", _LAUNCHER, str(rss_file), *map(str, argv)],
                       capture_output=True, text=True, timeout=600)
    return r.returncode, r.stderr, int(rss_file.read_text()) * 1024 / MB  # ru_maxrss is in KiB on Linux


def gradient_with_noise(h: int, w: int, channels: int = 3) -> np.ndarray:
    """A smooth gradient plus a 1009×1013 noise tile (0-15): photo-like colour counts, made in seconds."""
    px = np.empty((h, w, channels), np.uint8)
    px[..., 0] = np.linspace(0, 239, w).astype(np.uint8)[None, :]
    if channels == 3:
        px[..., 1] = np.linspace(0, 239, h).astype(np.uint8)[:, None]
        px[..., 2] = (np.arange(w)[None, :] * 120 // w + np.arange(h)[:, None] * 120 // h).astype(np.uint8)
    else:
        px[..., 0] += (np.arange(h)[:, None] * 16 // h).astype(np.uint8)
    tile = np.random.default_rng(0).integers(0, 16, (1009, 1013, channels), dtype=np.uint8)
    for y in range(0, h, 1009):
        for x in range(0, w, 1013):
            sub = px[y:y + 1009, x:x + 1013]
            sub += tile[:sub.shape[0], :sub.shape[1]]
    return px if channels == 3 else px[..., 0]


@pytest.fixture(scope="module")
def baseline_mb(tmp_path_factory) -> float:
    """Peak RSS of kmq quantizing a 1×1 image: the interpreter and its imports."""
    tmp = tmp_path_factory.mktemp("base")
    src = corpus.write(tmp, "dot.png", corpus.one_by_one()[0])
    rc, err, peak = run_measured([*KMQ, "quantize", src, "-o", tmp / "o.png"], tmp)
    assert rc == 0, err
    print(f"\n[memory] baseline (1×1 image): peak RSS {peak:.0f} MB")
    return peak


def _check_indexed_png(path: Path, w: int, h: int, k: int) -> None:
    with Image.open(path) as img:  # the header and palette only: no decode
        assert img.format == "PNG" and img.mode == "P" and img.size == (w, h)
        assert len(img.getpalette()) // 3 <= k


def test_8181x7221_photo_at_k256_stays_under_4x_its_decoded_size(tmp_path, baseline_mb):
    w, h = 8181, 7221
    src = tmp_path / "photo.png"
    Image.fromarray(gradient_with_noise(h, w)).save(src, compress_level=1)
    before = corpus.sha256(src)
    rc, err, peak = run_measured([*KMQ, "quantize", src, "-k", "256", "-o", tmp_path / "out.png"], tmp_path)
    print(f"\n[memory] 8181×7221 RGB PNG, k=256: peak RSS {peak:.0f} MB (bound {4 * w * h * 3 / MB:.0f} MB)")
    assert rc == 0, err
    _check_indexed_png(tmp_path / "out.png", w, h, 256)
    assert corpus.sha256(src) == before
    assert peak < 4 * w * h * 3 / MB


def test_60_megapixel_grey_tiff_stays_under_4x_its_decoded_rgb_size(tmp_path, baseline_mb):
    w, h = 8000, 7500
    src = tmp_path / "grey.tif"
    Image.fromarray(gradient_with_noise(h, w, channels=1)).save(src)  # uncompressed
    rc, err, peak = run_measured([*KMQ, "quantize", src, "-k", "256", "-o", tmp_path / "out.png"], tmp_path)
    print(f"\n[memory] 8000×7500 grey TIFF, k=256: peak RSS {peak:.0f} MB (bound {4 * w * h * 3 / MB:.0f} MB)")
    assert rc == 0, err
    _check_indexed_png(tmp_path / "out.png", w, h, 256)
    assert peak < 4 * w * h * 3 / MB


@pytest.mark.parametrize("kind", ["header_claims_10000_mp", "real_144_mp_of_zeros"])
def test_decompression_bomb_is_refused_before_decoding(tmp_path, baseline_mb, kind):
    if kind == "header_claims_10000_mp":
        data, size = corpus.png_header_bomb(), "100000×100000 = 10000.0 megapixels"
    else:  # a real bomb: 12000×12000 1-bit pixels decode to 432 MB of RGB, the file is a few kB
        data, size = corpus.encode(Image.new("1", (12_000, 12_000)), "PNG"), "12000×12000 = 144.0 megapixels"
    src = corpus.write(tmp_path, "bomb.png", data)
    rc, err, peak = run_measured([*KMQ, "quantize", src, "-o", tmp_path / "out.png"], tmp_path)
    print(f"\n[memory] {kind} ({len(data):,} bytes): peak RSS {peak:.0f} MB")
    assert rc == 1
    assert err.splitlines() == [f"kmq: error: bomb.png has {size}, more than the limit of 100 megapixels "
                                "(raise it with --max-pixels if you trust the file)"]
    assert not (tmp_path / "out.png").exists()
    assert peak < baseline_mb + 40  # nothing was decoded (the real bomb alone would need 432 MB)
