"""Nearest-colour search: exact against brute force, ties, several nearest, the histogram memo."""

import numpy as np
import pytest

from kmq_core.colorspace import rgb_to_space
from kmq_core.histogram import color_histogram
from kmq_core.nearest import (assign_histogram, nearest, nearest_fast, remember_assignment, sqdist, two_nearest)
from kmq_core.tuning import DIRECT_PAIRS, EXACT_PRODUCT_PAIRS


def _brute(x, c):
    d = ((np.asarray(x, np.float64)[:, None, :] - np.asarray(c, np.float64)[None, :, :]) ** 2).sum(-1)
    return d


@pytest.mark.parametrize("n_points,k", [(500, 16), (40_000, 64), (9000, 256)])
def test_nearest_agrees_with_brute_force(n_points, k):
    # both the matrix product (small) and the k-d tree (large) paths
    rng = np.random.default_rng(n_points + k)
    x = rng.uniform(0, 255, (n_points, 3))
    c = rng.uniform(0, 255, (k, 3))
    assert (n_points * k <= EXACT_PRODUCT_PAIRS) == (n_points == 500)
    idx, d2 = nearest(x, c)
    brute = _brute(x, c)
    best = brute.min(1)
    np.testing.assert_allclose(d2, best, rtol=1e-9, atol=1e-6)
    # the chosen centre is at the least distance (random floats: no exact ties)
    assert np.array_equal(idx, brute.argmin(1))
    assert idx.dtype == np.intp


def test_nearest_on_integer_colours_is_exact():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (2000, 3)).astype(np.uint8)
    c = rng.integers(0, 256, (20, 3)).astype(np.uint8)
    _, d2 = nearest(x, c)
    assert np.array_equal(d2, _brute(x, c).min(1))  # whole numbers, well within float64


def test_several_nearest_are_ordered_and_start_with_the_nearest():
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 100, (3000, 3))
    c = rng.uniform(0, 100, (12, 3))
    two, d2 = nearest(x, c, n=2)
    assert two.shape == d2.shape == (3000, 2)
    brute = _brute(x, c)
    order = np.argsort(brute, axis=1)[:, :2]
    assert np.array_equal(two, order)
    np.testing.assert_allclose(d2, np.take_along_axis(brute, order, 1), rtol=1e-9, atol=1e-6)
    one, d1 = nearest(x, c)
    assert np.array_equal(one, two[:, 0])
    np.testing.assert_allclose(d1, d2[:, 0], rtol=1e-9, atol=1e-6)
    three, d3 = nearest(x, c, n=3)
    assert (np.diff(d3, axis=1) >= 0).all()


def test_ties_and_duplicates():
    c = np.array([[0.0, 0, 0], [10, 0, 0], [10, 0, 0]])
    x = np.array([[5.0, 0, 0], [10, 0, 0], [0, 0, 0]])
    idx, d2 = nearest(x, c)
    # equidistant: the first centre (argmin); a duplicated centre: its first copy
    assert idx.tolist() == [0, 1, 0]
    assert d2.tolist() == [25.0, 0.0, 0.0]
    # the k-d tree may pick either of tied centres, but at the same distance
    big = np.repeat(x, 1000, axis=0)
    cc = np.vstack([c, np.full((2100, 3), 200.0)])
    assert len(big) * len(cc) > EXACT_PRODUCT_PAIRS
    i2, dd = nearest(big, cc)
    assert np.array_equal(dd, np.repeat([25.0, 0.0, 0.0], 1000))
    assert set(i2[1000:2000].tolist()) <= {1, 2} and set(i2[:1000].tolist()) <= {0, 1, 2}



@pytest.mark.parametrize("n", [1, 2])
def test_direct_search_answers_as_the_tree_does_ties_included(n):
    """Searches up to DIRECT_PAIRS skip the k-d tree (and scipy.spatial's import); they must give
    the tree's answer bit for bit, or every output would change: integer colours in RGB (exact
    ties) and a duplicated centre, where the tree is asked for the tied rows."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(7 + n)
    x = rng.integers(0, 256, (40_000, 3)).astype(np.float64)
    c = rng.integers(0, 256, (64, 3)).astype(np.float64)
    assert EXACT_PRODUCT_PAIRS < len(x) * len(c) <= DIRECT_PAIRS  # the direct search, not the product
    c[5] = c[4]
    x[:50] = c[4]  # exactly on the duplicated centre
    x[50] = (c[0] + c[1]) / 2 if ((c[0] + c[1]) % 2 == 0).all() else x[50]
    d, i = cKDTree(c).query(x, k=n)
    idx, d2 = nearest(x, c, n=n)
    assert np.array_equal(idx, i) and np.array_equal(d2, d * d)
    perceptual = rgb_to_space(rng.integers(0, 256, (50_000, 3)).astype(np.uint8), "perceptual").astype(np.float64)
    pal = perceptual[:48]
    d, i = cKDTree(pal).query(perceptual, k=n)
    idx, d2 = nearest(perceptual, pal, n=n)
    assert np.array_equal(idx, i) and np.array_equal(d2, d * d)


def test_a_web_sized_search_does_not_import_scipy_spatial():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from kmq_core.nearest import nearest\n"
            "x = np.random.default_rng(0).uniform(0, 100, (200_000, 3)); c = x[:64] + 0.5\n"
            "nearest(x, c); nearest(x, c, n=2); print('scipy.spatial' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

def test_fast_search_and_two_nearest_bounds():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 100, (5000, 3))
    c = rng.uniform(0, 100, (32, 3))
    exact_i, exact_d = nearest(x, c)
    i, d = nearest_fast(x, np.asarray(x, np.float32), c)
    # float32 may only differ on near-ties: the distance it reports is exact for its centre
    np.testing.assert_allclose(d, sqdist(x, c[i]), rtol=1e-12)
    assert (d <= exact_d + 1e-3).all() and (i == exact_i).mean() > 0.999
    j, u, lo = two_nearest(x, c)
    np.testing.assert_allclose(u, np.sqrt(sqdist(x, c[j])), rtol=1e-12)
    second = np.sqrt(np.sort(_brute(x, c), axis=1)[:, 1])
    assert (lo <= second + 1e-9).all()  # a lower bound, never above the truth
    _, u1, lo1 = two_nearest(x, c[:1])
    assert np.isinf(lo1).all() or (lo1 >= u1).all()


def test_assign_histogram_is_the_exact_nearest_and_memoised():
    rng = np.random.default_rng(6)
    img = rng.integers(0, 256, (60, 70, 3), dtype=np.uint8)
    hist = color_histogram(img)
    pal = rng.integers(0, 256, (9, 3)).astype(np.uint8)
    for space in ("rgb", "lab", "perceptual"):
        idx = assign_histogram(hist, pal, space)
        assert idx.dtype == np.uint8
        want = _brute(rgb_to_space(hist.colors, space), rgb_to_space(pal, space)).argmin(1)
        assert np.array_equal(idx, want)
        assert assign_histogram(hist, pal.copy(), space) is idx  # the same answer, not recomputed
    first = assign_histogram(hist, pal, "lab")
    other = assign_histogram(hist, pal[::-1], "lab")
    assert np.array_equal(pal[::-1][other], pal[first])
    assert assign_histogram(hist, pal, "lab") is not first  # one palette at a time
    given = np.zeros(len(hist), np.uint8)
    remember_assignment(hist, pal, "rgb", given)
    assert assign_histogram(hist, pal, "rgb") is given
