"""kmq_core.kernels: the compiled loops give the bits of a plain numpy (or Python) reference.

The C follows the arithmetic numba compiled before issue 25 (benchmarks/hashes.py proved the
outputs unchanged); here each kernel is held to a reference written the obvious way, so a
change of rounding, order of additions or a fused multiply-add shows as a failure.
"""

import math
import subprocess
import sys

import numpy as np
import pytest

from kmq_core import kernels
from kmq_core.colorspace import _OK_M1, _OK_M2, PERCEPTUAL_CHROMA


def _cbrt(a):
    """libm's cbrt, as C calls it (numpy's np.cbrt may use its own SIMD version, a bit off in the last place)."""
    return np.frompyfunc(math.cbrt, 1, 1)(a).astype(np.float64)


def _rgb(n, seed=0):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (n, 3)).astype(np.uint8)
    rgb[:256] = np.arange(256)[:, None]  # every grey level
    return rgb


def _bits_equal(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize("chroma", [1.0, PERCEPTUAL_CHROMA])
def test_oklab_is_numpys_float64_maths_to_the_bit(chroma):
    rgb = _rgb(100_000)
    lin = kernels.LINEAR[rgb.astype(np.intp)]
    r, g, b = lin[:, 0], lin[:, 1], lin[:, 2]
    lms = [_cbrt(_OK_M1[i, 0] * r + _OK_M1[i, 1] * g + _OK_M1[i, 2] * b) for i in range(3)]
    row = [_OK_M2[i, 0] * lms[0] + _OK_M2[i, 1] * lms[1] + _OK_M2[i, 2] * lms[2] for i in range(3)]
    ref = np.stack([100.0 * row[0], 100.0 * chroma * row[1], 100.0 * chroma * row[2]], 1).astype(np.float32)
    assert _bits_equal(kernels.oklab_u8(rgb, _OK_M1, _OK_M2, chroma), ref)


def test_lightness_is_cielab_l_to_the_bit_and_reads_rgba():
    rgb = _rgb(120_000, 1).reshape(300, 400, 3)
    lin = kernels.LINEAR[rgb.astype(np.intp)]
    y = 0.2126729 * lin[..., 0] + 0.7151522 * lin[..., 1] + 0.0721750 * lin[..., 2]
    f = np.where(y > 0.008856451679035631, _cbrt(y), 7.787037037037037 * y + 16.0 / 116.0)
    ref = (116.0 * f - 16.0).astype(np.float32)
    assert _bits_equal(kernels.lightness_u8(rgb), ref)
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 7, np.uint8)], axis=2)
    assert _bits_equal(kernels.lightness_u8(rgba), ref)
    assert float(kernels.lightness_u8(np.full((1, 1, 3), 255, np.uint8))[0, 0]) == pytest.approx(100.0, abs=1e-4)


@pytest.mark.parametrize("p", [2.0, 1.0, 1.37])
def test_masking_from_moments_to_the_bit(p):
    rng = np.random.default_rng(2)
    m = rng.normal(0, 1, (256, 300)).astype(np.float32)
    m2 = (m * m + rng.exponential(4, m.shape) * (rng.random(m.shape) > 0.2)).astype(np.float32)
    v = m2 - m * m
    s = np.where(v > 0, np.sqrt(np.maximum(v, 0)).astype(np.float64), 0.0)
    c32, p32 = np.float32(2.0), np.float32(p)
    ref = ((np.float64(c32) / (np.float64(c32) + s)) ** np.float64(p32)).astype(np.float32)
    out = np.empty(m.shape, np.float32)
    assert kernels.masking_from_moments(m, m2, c32, p32, out) is out
    assert _bits_equal(out, ref)
    with pytest.raises(ValueError):
        kernels.masking_from_moments(m, m2, c32, p32, np.empty(m.shape, np.float64))


def _rate_aware_reference(x, labels, nearest, weight, free, pal, lam, cap, above):
    """The loop as numba ran it, in Python with numpy float32 scalars."""
    h, w = labels.shape
    out = np.empty((h, w), np.uint8)

    def sq(px, c):
        d = px - pal[c]
        return float(d[0] * d[0] + d[1] * d[1] + d[2] * d[2])  # float32 sums, then exact in float64

    for yy in range(h):
        for xx in range(w):
            best = int(labels[yy, xx])
            if free[yy, xx]:
                px = x[yy, xx]
                e0 = sq(px, nearest[yy, xx])
                if e0 <= 1e-4:
                    out[yy, xx] = best
                    continue
                tol = min(float(lam) / max(float(weight[yy, xx]), 1e-3), float(cap))
                lim = e0 + tol
                chosen = False
                if xx > 0 and sq(px, out[yy, xx - 1]) <= lim:
                    best, chosen = int(out[yy, xx - 1]), True
                if not chosen:
                    c = int(out[yy - 1, xx]) if yy > 0 else int(above[xx])
                    if c >= 0 and sq(px, c) <= lim:
                        best = c
            out[yy, xx] = best
    return out


def test_rate_aware_band_is_the_loop_it_replaced():
    rng = np.random.default_rng(3)
    h, w, n = 24, 40, 12
    pal = rng.uniform(0, 100, (n, 3)).astype(np.float32)
    nearest = rng.integers(0, n, (h, w)).astype(np.uint8)
    x = (pal[nearest] + rng.normal(0, 3, (h, w, 3))).astype(np.float32)
    x[0, :5] = pal[nearest[0, :5]]  # exact colours stay
    labels = nearest.copy()
    labels[5] = rng.integers(0, n, w)  # dithered labels where not free
    weight = rng.uniform(0.0, 1.0, (h, w)).astype(np.float32)
    free = rng.random((h, w)) > 0.3
    above = rng.integers(-1, n, w).astype(np.int16)
    lam, cap = np.float32(30.0), np.float32(60.0)
    ref = _rate_aware_reference(x, labels, nearest, weight, free, pal, lam, cap, above)
    out = np.empty((h, w), np.uint8)
    kernels.rate_aware_band(x, labels, nearest, weight, free, pal, lam, cap, above, out)
    assert np.array_equal(out, ref)
    assert (out != nearest).sum() > 20  # the choice did move labels: the comparison means something
    assert np.array_equal(out[~free], labels[~free])


def test_the_default_path_imports_neither_numba_nor_scipy():
    code = ("import sys, numpy as np; from kmq_core import quantize\n"
            "rng = np.random.default_rng(0); img = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)\n"
            "quantize(img, 16).png; quantize(img, 4).png\n"
            "print(sorted(m for m in ('numba', 'scipy', 'llvmlite') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_without_the_c_extension_numba_gives_the_same_bytes(monkeypatch):
    """A Python the extension was not built for (GIMP's) falls back to kmq_core.kernels_numba: the
    loops the C was written from, so a quantized image is the same to the byte."""
    from skimage import data

    from kmq_core import quantize

    img = data.coffee()[::2, ::2]
    with_c = [quantize(img, k, space=s).png for k, s in ((8, "perceptual"), (32, "oklab"), (16, "lab"))]
    monkeypatch.setattr(kernels, "_kernels", None)
    without = [quantize(img, k, space=s).png for k, s in ((8, "perceptual"), (32, "oklab"), (16, "lab"))]
    assert with_c == without
    rgb = _rgb(50_000, 4)
    assert _bits_equal(kernels.oklab_u8(rgb, _OK_M1, _OK_M2, PERCEPTUAL_CHROMA),
                       _numpy_free_reference_oklab(rgb))


def _numpy_free_reference_oklab(rgb):
    from kmq_core import _kernels

    out = np.empty((len(rgb), 3), np.float32)
    _kernels.oklab_u8(rgb, kernels.LINEAR, np.ascontiguousarray(_OK_M1).reshape(9),
                      np.ascontiguousarray(_OK_M2).reshape(9), PERCEPTUAL_CHROMA, out)
    return out


# ---- the dithering loops: the C against the numba loops it was written from (kmq_core.scan)

needs_c = pytest.mark.skipif(kernels._kernels is None, reason="the C extension is not built for this Python")


def _palette(n, seed):
    rng = np.random.default_rng(seed)
    pal = rng.uniform([0, -40, -40], [100, 40, 40], (n, 3)).astype(np.float32)
    if n > 3:
        pal[1] = pal[0]  # two equal colours: ties in the search
        pal[2] = pal[0] + np.float32(0.01)
    return pal


def _band(h, w, pal, seed, strength="random", visible="all"):
    """A band near the palette's colours (so dithering has work), its guesses, a strength map, a mask."""
    rng = np.random.default_rng(seed)
    n = len(pal)
    base = pal[rng.integers(0, n, (h, w))]
    x = (base + rng.normal(0, 6, (h, w, 3))).astype(np.float32)
    x[:, : w // 3] = np.linspace(0, 100, max(1, w // 3))[None, :, None]  # a smooth ramp: false contours
    x[h // 2:, -2:] = np.float32(500)  # far off every colour: the damped error
    d = ((x[:, :, None, :].astype(np.float64) - pal[None, None].astype(np.float64)) ** 2).sum(-1)
    guess = d.argmin(-1).astype(np.uint8)
    s = {"ones": np.ones((h, w)), "zeros": np.zeros((h, w)), "weak": np.full((h, w), 0.05),
         "random": rng.random((h, w)) * (rng.random((h, w)) > 0.2)}[strength].astype(np.float32)
    vis = np.ones((h, w), np.bool_) if visible == "all" else rng.random((h, w)) > 0.3
    return x, guess, s, vis


_CASES = [(n, h, w, strength, visible)
          for n, (h, w) in ((1, (5, 9)), (2, (1, 1)), (7, (13, 31)), (64, (40, 57)), (256, (24, 70)))
          for strength, visible in (("random", "all"), ("ones", "mask"), ("weak", "all"), ("zeros", "mask"))]


@needs_c
@pytest.mark.parametrize("n, h, w, strength, visible", _CASES)
def test_diffuse_band_is_numbas_to_the_bit(n, h, w, strength, visible):
    from kmq_core import scan

    pal = _palette(n, n)
    order, dist = kernels.neighbour_table(pal)
    rng = np.random.default_rng(h * w)
    err_c = (rng.normal(0, 3, (2, w + 2, 3))).astype(np.float32)  # error carried in from a band before
    err_n = err_c.copy()
    for row0, seed in ((0, 1), (h, 2), (2 * h + 1, 3)):  # bands one after another, either direction first
        x, guess, s, vis = _band(h, w, pal, seed, strength, visible)
        out_c, out_n = np.empty((h, w), np.uint8), np.empty((h, w), np.uint8)
        assert kernels.diffuse_band(x, guess, s, vis, pal, order, dist, err_c, row0, 64.0, 0.1, out_c) is out_c
        scan.diffuse_band(x, guess, s, vis, pal, order, dist, err_n, row0, 64.0, 0.1, out_n)
        assert np.array_equal(out_c, out_n)
        assert _bits_equal(err_c, err_n)
        assert np.array_equal(out_c[~vis], guess[~vis])
        if n >= 7 and strength in ("random", "ones"):
            assert (out_c != guess).sum() > 5  # it dithered: the comparison means something


@needs_c
@pytest.mark.parametrize("n, h, w, strength, visible", _CASES)
@pytest.mark.parametrize("matrix", ["bayer2", "bayer8", "bluenoise"])
def test_ordered_band_is_numbas_to_the_bit(n, h, w, strength, visible, matrix):
    from kmq_core import scan
    from kmq_core.dithering import bayer_matrix, threshold_matrix

    m = threshold_matrix("bluenoise") if matrix == "bluenoise" else bayer_matrix(int(matrix[-1]))
    pal = _palette(n, n + 1)
    order, dist = kernels.neighbour_table(pal)
    spacing = dist[:, 1].copy() if n > 1 else np.zeros(1, np.float32)
    for row0, seed in ((0, 4), (h + 3, 5)):
        x, guess, s, vis = _band(h, w, pal, seed, strength, visible)
        s *= np.float32(3.0)  # beyond one palette step: far searches
        out_c, out_n = np.empty((h, w), np.uint8), np.empty((h, w), np.uint8)
        assert kernels.ordered_band(x, guess, s, vis, pal, order, dist, spacing, m, row0, out_c) is out_c
        scan.ordered_band(x, guess, s, vis, pal, order, dist, spacing, m, row0, out_n)
        assert np.array_equal(out_c, out_n)
        if n >= 7 and strength in ("random", "ones"):
            assert (out_c != guess).sum() > 5


@needs_c
@pytest.mark.parametrize("n, h, w", [(1, 1, 1), (2, 9, 40), (5, 30, 77), (256, 16, 300)])
def test_flat_runs_is_numbas_to_the_bit(n, h, w):
    from kmq_core import scan

    rng = np.random.default_rng(n + h)
    labels = np.repeat(rng.integers(0, n, (h, w // 4 + 1)), 4, axis=1)[:, :w].astype(np.uint8)  # runs
    labels[::3] = rng.integers(0, n, (len(labels[::3]), w))  # and busy rows
    edges = rng.random((h, w)).astype(np.float32)
    for above, below in ((np.full(w, -1, np.int16), np.full(w, -1, np.int16)),
                         (rng.integers(0, n, w).astype(np.int16), rng.integers(-1, n, w).astype(np.int16))):
        out_c = kernels.flat_runs(labels, edges, above, below, np.empty((h, w), np.float32))
        out_n = scan.flat_runs(labels, edges, above, below, np.empty((h, w), np.float32))
        assert _bits_equal(out_c, out_n)


@needs_c
@pytest.mark.parametrize("h, w", [(1, 1), (3, 200), (64, 33)])
def test_contrast_u8_is_numbas_to_the_bit(h, w):
    from kmq_core import scan

    rng = np.random.default_rng(h * w)
    p = rng.integers(0, 256, (h + 2, w + 2, 3)).astype(np.uint8)
    p[: (h + 2) // 2] = np.clip(np.arange(w + 2) * 2 + rng.integers(0, 3, (w + 2)), 0, 255)[None, :, None]
    maps_c = np.empty((h, w), np.uint8), np.empty((h, w), np.uint8)
    maps_n = np.empty((h, w), np.uint8), np.empty((h, w), np.uint8)
    kernels.contrast_u8(p, *maps_c)
    scan.contrast_u8(p, *maps_n)
    assert np.array_equal(maps_c[0], maps_n[0]) and np.array_equal(maps_c[1], maps_n[1])
    if h * w > 1:  # flat, noisy and edge pixels alike
        assert len(np.unique(maps_c[0])) > 2 and len(np.unique(maps_c[1])) > 2


@needs_c
def test_contrast_u8_is_numbas_for_every_pair_of_differences():
    """Both maps depend only on the largest horizontal and vertical second differences (0..510 each),
    which the C looks up in tables: every one of the 511² pairs, against numba."""
    a, v = (g.ravel() for g in np.meshgrid(np.arange(511), np.arange(511), indexing="ij"))
    n = len(a)
    p = np.zeros((3, 3 * n + 2, 3), np.uint8)  # pixel 3j sees only its own cross: p[1, 3j..3j+2], p[0|2, 3j+1]
    p[1, 0:3 * n:3, 0], p[1, 2:3 * n + 2:3, 0] = np.minimum(a, 255), a - np.minimum(a, 255)  # |L + R - 2C| = a
    p[0, 1:3 * n + 1:3, 1], p[2, 1:3 * n + 1:3, 1] = np.minimum(v, 255), v - np.minimum(v, 255)
    from kmq_core import scan

    maps_c = np.empty((1, 3 * n), np.uint8), np.empty((1, 3 * n), np.uint8)
    maps_n = np.empty((1, 3 * n), np.uint8), np.empty((1, 3 * n), np.uint8)
    kernels.contrast_u8(p, *maps_c)
    scan.contrast_u8(p, *maps_n)
    assert np.array_equal(maps_c[0], maps_n[0]) and np.array_equal(maps_c[1], maps_n[1])
    assert len(np.unique(maps_c[0][0, ::3])) > 200 and len(np.unique(maps_c[1][0, ::3])) == 256


def test_dithering_loops_refuse_arrays_that_do_not_fit():
    pal = _palette(8, 0)
    order, dist = kernels.neighbour_table(pal)
    x, guess, s, vis = _band(4, 10, pal, 0)
    err, out = np.zeros((2, 12, 3), np.float32), np.empty((4, 10), np.uint8)
    with pytest.raises(ValueError):  # err one pixel short
        kernels.diffuse_band(x, guess, s, vis, pal, order, dist, err[:, :11], 0, 64.0, 0.1, out)
    with pytest.raises(ValueError):  # a guess beyond the palette
        kernels.diffuse_band(x, guess + np.uint8(8), s, vis, pal, order, dist, err, 0, 64.0, 0.1, out)
    with pytest.raises(ValueError):
        kernels.ordered_band(x, guess, s, vis, pal, order, dist, dist[:, 1][:-1], np.ones((2, 2), np.float32), 0,
                             out)
    with pytest.raises(ValueError):
        kernels.contrast_u8(np.zeros((4, 10, 3), np.uint8), out, out.copy())


def test_neighbour_table_is_sorted_and_starts_with_itself():
    pal = np.array([[0, 0, 0], [10, 0, 0], [3, 4, 0]], np.float32)
    order, dist = kernels.neighbour_table(pal)
    assert (order[:, 0] == np.arange(3)).all() and (dist[:, 0] == 0).all()
    assert (np.diff(dist, axis=1) >= 0).all()
    assert order[0, 1] == 2 and abs(dist[0, 1] - 5) < 1e-5


@needs_c
@pytest.mark.parametrize("dither", ["fs", "bayer", "bluenoise"])
def test_dithering_on_the_command_line_imports_no_numba(tmp_path, dither):
    """With the C build, `kmq quantize --dither ...` runs without numba (0.5 s and 120 MB to load)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 160)[None, :, None] * np.ones((120, 1, 3))
    Image.fromarray((ramp + rng.normal(0, 4, ramp.shape)).clip(0, 255).astype(np.uint8)).save(tmp_path / "a.png")
    code = ("import sys\nfrom kmq_core.cli import main\n"
            f"rc = main(['quantize', 'a.png', '-k', '8', '--dither', {dither!r}, '-o', 'b.png', '--force'])\n"
            "print(rc, sorted(m for m in ('numba', 'llvmlite', 'kmq_core.scan', 'kmq_core.dithering')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert out.stdout.splitlines()[-1] == "0 ['kmq_core.dithering']", out.stdout + out.stderr
    assert Image.open(tmp_path / "b.png").mode == "P"


@needs_c
def test_without_the_c_extension_dithering_gives_the_same_bytes(monkeypatch):
    """Without the build, the dithering loops are numba's (kmq_core.scan): the same PNG to the byte."""
    from skimage import data

    from kmq_core import quantize

    img = data.astronaut()[::3, ::3]
    rgba = np.concatenate([img, np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
    rgba[40:90, 30:120, 3] = 0
    cases = [(img, 16, "fs", "perceptual"), (rgba, 32, "fs", "oklab"), (img, 8, "bayer", "lab"),
             (rgba, 24, "bluenoise", "perceptual")]
    with_c = [quantize(im, k, dither=d, space=s).png for im, k, d, s in cases]
    monkeypatch.setattr(kernels, "_kernels", None)
    without = [quantize(im, k, dither=d, space=s).png for im, k, d, s in cases]
    assert with_c == without
