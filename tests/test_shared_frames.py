"""kmq_core.shared_frames: several frames (GIMP's layers) quantized with one palette fitted to all."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

import kmq_core
from kmq_core import KmqError
from kmq_core.animation import frame_histogram, merge_histograms
from kmq_core.fitting import fit_palette
from kmq_core.shared_frames import quantize_frames

PHOTO = skimage.data.astronaut()[::6, ::6].copy()  # 86x86


def test_one_frame_is_a_still_quantize():
    r = quantize_frames([PHOTO], 8, space="oklab")
    still = kmq_core.quantize(PHOTO, 8, space="oklab", count_alpha=False)
    assert sorted(r.palette.colors.tolist()) == sorted(still.palette.colors.tolist())
    assert np.array_equal(r.frames[0].image, still.image)


def test_the_palette_is_fitted_to_all_frames_together():
    f3 = PHOTO[:60].copy()
    f3[20:50, 20:50] = (0, 255, 0)  # a colour the first frame lacks
    r = quantize_frames([PHOTO, PHOTO[::-1], f3], 6)
    hist = None
    for f in (PHOTO, PHOTO[::-1], f3):
        hist = merge_histograms(hist, frame_histogram(f, 6, "de2000"))
    fitted = fit_palette(None, 6, histogram=hist)
    assert sorted(r.palette.colors.tolist()) == sorted(fitted.colors.tolist())
    assert [0, 255, 0] in r.palette.colors.tolist()
    assert [0, 255, 0] not in kmq_core.quantize(PHOTO, 6).palette.colors.tolist()
    for f, res in zip((PHOTO, PHOTO[::-1], f3), r.frames):
        assert res.image.shape == f.shape
        assert np.array_equal(res.image, kmq_core.quantize(f, palette=r.palette, count_alpha=False).image)
    # ordered by the shares over all frames, which are the weights
    counts = sum(np.bincount(res.labels.ravel(), minlength=len(r.palette)) for res in r.frames)
    assert np.allclose(r.palette.weights, counts / counts.sum())
    assert (np.diff(counts) <= 0).all()


def test_alpha_kept_and_transparent_pixels_take_no_part():
    rgba = np.dstack([PHOTO, np.full(PHOTO.shape[:2], 180, np.uint8)])
    rgba[:30, :30, :3] = (255, 0, 255)
    rgba[:30, :30, 3] = 0  # invisible magenta
    r = quantize_frames([rgba, PHOTO], 4)
    assert np.array_equal(r.frames[0].image[..., 3], rgba[..., 3])
    assert not any(abs(c[0] - 255) + c[1] + abs(c[2] - 255) < 60 for c in r.palette.colors.tolist())


def test_mood_lock_and_importance():
    lock = quantize_frames([PHOTO, PHOTO[:40]], 5, lock="#123456", mood="muted")
    assert [0x12, 0x34, 0x56] in lock.palette.colors.tolist()
    imp = np.zeros(PHOTO.shape[:2], np.uint8)
    imp[60:, :] = 255
    a = quantize_frames([PHOTO, PHOTO], 4, importance=[imp, imp])
    b = quantize_frames([PHOTO, PHOTO], 4)
    assert not np.array_equal(a.palette.colors, b.palette.colors)


@pytest.mark.parametrize("frames, kw, words", [
    ([], {}, "no frames"),
    ([np.zeros((4, 4, 2), np.uint8)], {}, "H×W×3 or H×W×4 uint8"),
    ([np.zeros((4, 4, 4), np.uint8)], {}, "fully transparent"),
    ([PHOTO], {"importance": [None, None]}, "2 importance masks for 1 frames"),
    ([PHOTO], {"k": 0}, "k"),
])
def test_bad_input_is_a_kmq_error(frames, kw, words):
    with pytest.raises(KmqError, match=words):
        quantize_frames(frames, **kw)
