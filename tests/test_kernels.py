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
