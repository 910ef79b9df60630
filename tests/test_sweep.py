"""kmq_core.sweep: each point of the k curve is exactly quantize(image, k)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

from kmq_core import KmqError, quantize
from kmq_core.sweep import k_sweep


@pytest.fixture(scope="module")
def photo():
    return np.asarray(Image.fromarray(data.astronaut()).resize((96, 96), Image.Resampling.LANCZOS))


def test_each_point_is_the_quantize_result(photo):
    points = k_sweep(photo, (2, 8, 8, 32), space="rgb", seed=1)
    assert [p.k for p in points] == [2, 8, 32]  # duplicates tried once, order kept
    for p in points:
        r = quantize(photo, p.k, space="rgb", seed=1)
        assert (p.colors_used, p.psnr, p.delta_e, p.png_bytes) == (r.colors_used, r.psnr, r.delta_e, r.png_bytes)
    assert points[0].delta_e > points[-1].delta_e


def test_progress_is_reported_and_an_exception_stops_the_sweep(photo):
    seen = []

    class Stop(Exception):
        pass

    def on_step(i, k, point):
        seen.append((i, k, point is None))
        if k == 4 and point is not None:
            raise Stop

    with pytest.raises(Stop):
        k_sweep(photo, (2, 4, 8), on_step=on_step)
    assert seen == [(0, 2, True), (0, 2, False), (1, 4, True), (1, 4, False)]


def test_k_below_the_locked_colours_is_left_out(photo):
    points = k_sweep(photo, (1, 2, 4), lock="#ff0000,#00ff00,#0000ff")
    assert [p.k for p in points] == [4]
    assert points[0].to_dict()["k"] == 4


@pytest.mark.parametrize("ks", [(), (0,), (300,)])
def test_bad_k_lists_are_refused(photo, ks):
    with pytest.raises(KmqError):
        k_sweep(photo, ks)
