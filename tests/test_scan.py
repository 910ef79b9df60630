"""The numba passes (kmq_core.scan, the fallback of the C dithering loops): nearest search and flat runs.

tests/test_kernels.py holds the C versions to these bit for bit."""

import numpy as np

from kmq_core.kernels import neighbour_table
from kmq_core.scan import _nearest, flat_runs


def test_guided_nearest_equals_brute_force():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 64, 256):
        pal = rng.uniform(0, 100, (n, 3)).astype(np.float32)
        order, dist = neighbour_table(pal)
        for _ in range(300):
            t = rng.uniform(-20, 120, 3)
            guess = int(rng.integers(0, n))
            got = _nearest(t[0], t[1], t[2], guess, pal, order, dist)
            d = ((pal.astype(np.float64) - t) ** 2).sum(1)
            assert d[got] <= d.min() + 1e-3


def test_flat_runs_keep_long_runs_and_cut_busy_rows():
    labels = np.zeros((3, 40), np.uint8)
    labels[1, ::2] = 1  # a busy middle row
    edges = np.ones((3, 40), np.float32)
    none = np.full(40, -1, np.int16)
    out = flat_runs(labels, edges, none, none, np.empty((3, 40), np.float32))
    assert out[0].min() > 0.9  # a 40-pixel run, same label below: stays dithered
    # runs of one: busy, little dithering (libimagequant's 1 - 2.5 / (2.5 + run + neighbours))
    assert np.allclose(out[1, ::2], 1 - 2.5 / 3.5)  # label 1, neither neighbour shares it
    assert np.allclose(out[1, 1::2], 1 - 2.5 / 5.5)  # label 0, both neighbours share it
