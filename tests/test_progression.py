"""Tests for kmq_core.progression: the fit's own Lloyd iterations, one snapshot each."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

from kmq_core import KmqError, quantize
from kmq_core.progression import lloyd_snapshots


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.asarray(Image.fromarray(data.coffee()).resize((96, 64), Image.LANCZOS))


@pytest.mark.parametrize("space", ["de2000", "lab", "oklab", "rgb"])
def test_last_snapshot_is_the_palette_quantize_uses(photo, space):
    shots = list(lloyd_snapshots(photo, 12, space=space, seed=5))
    assert np.array_equal(shots[-1].colors, quantize(photo, 12, space=space, seed=5, dither="none", lossy=0).palette.colors)


def test_stages_and_steps_in_order(photo):
    shots = list(lloyd_snapshots(photo, 16))
    assert [s.stage for s in shots] == ["seeds"] + ["lloyd"] * (len(shots) - 2) + ["final"]
    assert [s.step for s in shots] == list(range(len(shots)))
    assert len(shots) >= 4  # a photo needs a few iterations
    assert shots[0].label == "seeds (k-means++)" and shots[1].label == "iteration 1"
    assert shots[-1].label == "final palette" and shots[-1].inertia is None
    assert all(len(s.colors) == 16 and s.colors.dtype == np.uint8 for s in shots[:-1])


def test_lloyd_iterations_never_increase_the_inertia(photo):
    for space in ("lab", "rgb"):
        inertia = [s.inertia for s in lloyd_snapshots(photo, 16, space=space) if s.stage != "final"]
        assert all(b <= a * (1 + 1e-9) for a, b in zip(inertia, inertia[1:])), (space, inertia)
        assert inertia[-1] < inertia[0]
    # the centres really move between snapshots
    shots = list(lloyd_snapshots(photo, 16))
    assert not np.array_equal(shots[0].colors, shots[1].colors)


def test_max_iter_limits_the_lloyd_snapshots(photo):
    shots = list(lloyd_snapshots(photo, 16, max_iter=2))
    assert [s.stage for s in shots] == ["seeds", "lloyd", "lloyd", "final"]
    assert np.array_equal(shots[-1].colors, quantize(photo, 16, dither="none", lossy=0).palette.colors)


def test_locked_colours_stay_in_every_snapshot(photo):
    for s in lloyd_snapshots(photo, 8, lock="#ff0000,#0000ff"):
        hexes = {"#%02x%02x%02x" % tuple(c) for c in s.colors}
        assert {"#ff0000", "#0000ff"} <= hexes


def test_few_colours_need_no_kmeans():
    img = np.zeros((10, 10, 3), np.uint8)
    img[5:] = (200, 30, 30)
    shots = list(lloyd_snapshots(img, 4))
    assert [s.stage for s in shots] == ["final"]
    assert sorted(map(tuple, shots[0].colors.tolist())) == [(0, 0, 0), (200, 30, 30)]


def test_errors_are_kmq_errors(photo):
    with pytest.raises(KmqError):
        list(lloyd_snapshots(photo, 0))
    with pytest.raises(KmqError, match="do not fit"):
        list(lloyd_snapshots(photo, 2, lock="#000000,#ffffff,#ff0000"))
    with pytest.raises(KmqError, match="megapixels"):
        list(lloyd_snapshots(photo, 4, max_pixels=100))
