"""Adaptive dithering and rate-aware labels (kmq_core.dithering)."""

import numpy as np
import pytest

from kmq_core import dithering
from kmq_core.colorspace import rgb_to_space
from kmq_core.bluenoise import void_and_cluster
from kmq_core.dithering import bayer_matrix, dither_map, refine_labels, threshold_matrix
from kmq_core.errors import KmqError
from kmq_core.nearest import nearest
from kmq_core.remapping import remap

H, W = 96, 384
_RAMP = np.linspace(40, 220, W)[None, :].repeat(H, 0)
GRADIENT = np.dstack([_RAMP, _RAMP + 6 * np.sin(np.arange(H) / 9)[:, None], _RAMP]).clip(0, 255).astype(np.uint8)
#: greys every 24 levels, and three saturated colours that a runaway error could reach
PALETTE = np.array([[v, v, v] for v in range(32, 240, 24)] + [[200, 40, 40], [40, 160, 60], [60, 60, 200]], np.uint8)


def _labels(img, pal, dither, **kw):
    guess = remap(img, pal, dither="none", lossy=0)
    return refine_labels(img, pal, guess, space="perceptual", dither=dither, **kw)


def _far_pixels(img, pal, labels):
    """Pixels whose colour is neither of the two palette colours nearest to the original."""
    x = rgb_to_space(img.reshape(-1, 3), "perceptual")
    two, _ = nearest(x, rgb_to_space(pal, "perceptual"), n=2)
    return int((~(labels.reshape(-1, 1) == two).any(1)).sum())


@pytest.mark.parametrize("dither, bayer_size", [("fs", 8), ("bayer", 8), ("bayer", 4), ("bayer", 2),
                                                ("bluenoise", 8)])
def test_dithered_smooth_gradient_has_no_far_off_pixels(dither, bayer_size):
    labels = _labels(GRADIENT, PALETTE, dither, bayer_size=bayer_size)
    assert _far_pixels(GRADIENT, PALETTE, labels) == 0
    assert len(np.unique(labels)) >= 8  # and it does dither: every grey of the ramp is used


def test_without_the_error_limit_far_off_colours_appear(monkeypatch):
    """The check above can fail: error diffusion without its damping reaches the saturated colours."""
    monkeypatch.setattr(dithering, "FS_MAX_ERR", 1e12)
    img = GRADIENT.copy()
    img[:, ::7] = 255  # bright stripes feed large errors into the diffusion
    img[:, 3::7] = 0
    damped = _far_pixels(img, PALETTE, _labels(img, PALETTE, "fs", strength=1.0))
    monkeypatch.setattr(dithering, "FS_MAX_ERR", 64.0)
    assert _far_pixels(img, PALETTE, _labels(img, PALETTE, "fs")) <= damped


def test_fs_keeps_the_local_average():
    """A flat mid grey between two palette greys comes out as a mix with the right mean."""
    img = np.full((64, 64, 3), 128, np.uint8)
    pal = np.array([[96, 96, 96], [160, 160, 160]], np.uint8)
    lab = _labels(img, pal, "fs")
    mean = pal[lab][..., 0].mean()
    assert 2 == len(np.unique(lab)) and abs(mean - 128) < 4


def test_edges_and_flat_areas_are_not_dithered():
    """A hard edge between two flat areas stays a clean edge: the dither map is 0 there."""
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, 40:] = 200
    pal = np.array([[0, 0, 0], [200, 200, 200], [100, 100, 100]], np.uint8)
    guess = remap(img, pal, dither="none", lossy=0)
    dm = dither_map(img, guess)
    assert dm[:, 39:41].max() < 0.3 and dm[:, 10:30].min() > 0.9  # the edge is down-weighted, flat areas not
    for d in ("fs", "bayer", "bluenoise"):
        assert np.array_equal(_labels(img, pal, d), guess)


def test_strength_zero_is_undithered():
    guess = remap(GRADIENT, PALETTE, dither="none", lossy=0)
    for d in ("fs", "bayer", "bluenoise"):
        assert np.array_equal(refine_labels(GRADIENT, PALETTE, guess, space="perceptual", dither=d, strength=0.0),
                              guess)


def test_bayer_pattern_depends_on_position_only():
    """A region that is the same in two frames dithers the same (no crawling), whatever changes elsewhere."""
    a = GRADIENT.copy()
    b = GRADIENT.copy()
    b[60:, :] = np.random.default_rng(0).integers(0, 256, (H - 60, W, 3), dtype=np.uint8)
    la, lb = _labels(a, PALETTE, "bayer"), _labels(b, PALETTE, "bayer")
    assert np.array_equal(la[:50], lb[:50])


def test_bayer_matrix_is_a_permutation_of_thresholds():
    m = bayer_matrix(8)
    assert m.shape == (8, 8)
    assert np.allclose(np.sort(m.ravel()), (np.arange(64) + 0.5) / 64)


@pytest.mark.parametrize("dither", ["bayer", "bluenoise"])
def test_ordered_pattern_holds_still_below_a_change_far_above(dither):
    """The pattern is bound to position: rows far below a change dither the same.

    The change fills whole rows at the top, so the dither map (local
    neighbourhoods, horizontal runs) of the rows compared is untouched; error
    diffusion carries the change all the way down (checked below), so this
    tells position-bound patterns from diffused ones.
    """
    a = GRADIENT.copy()
    b = GRADIENT.copy()
    b[:24] = np.random.default_rng(0).integers(0, 256, (24, W, 3), dtype=np.uint8)
    assert np.array_equal(_labels(a, PALETTE, dither)[40:], _labels(b, PALETTE, dither)[40:])
    assert not np.array_equal(_labels(a, PALETTE, "fs")[40:], _labels(b, PALETTE, "fs")[40:])


@pytest.mark.parametrize("size", [2, 4, 8])
def test_bayer_size_sets_the_period_and_the_levels(size):
    """A flat grey 5/32 of the way between two palette greys: a mix whose pattern repeats
    every ``size`` pixels (and no fewer), with a mean within half of one of its size² + 1 levels."""
    img = np.full((64, 128, 3), 106, np.uint8)
    pal = np.array([[96, 96, 96], [160, 160, 160]], np.uint8)
    lab = _labels(img, pal, "bayer", bayer_size=size)
    repeats = lambda p: np.array_equal(lab[p:], lab[:-p]) and np.array_equal(lab[:, p:], lab[:, :-p])  # noqa: E731
    assert repeats(size) and not repeats(size // 2)
    assert abs(pal[lab][..., 0].mean() - 106) <= 64 / size**2 / 2 + 1e-9


def test_bayer_size_is_for_bayer_only():
    """Other dithering ignores it; a size outside 2, 4, 8 is refused."""
    for d in ("none", "fs", "bluenoise"):
        assert np.array_equal(_labels(GRADIENT, PALETTE, d, bayer_size=2), _labels(GRADIENT, PALETTE, d))
    assert np.array_equal(_labels(GRADIENT, PALETTE, "bayer", bayer_size=8), _labels(GRADIENT, PALETTE, "bayer"))
    with pytest.raises(KmqError):
        _labels(GRADIENT, PALETTE, "bayer", bayer_size=3)


def test_bluenoise_has_no_short_period():
    """Unlike Bayer, the blue-noise pattern on a flat area does not repeat within 32 pixels."""
    img = np.full((64, 128, 3), 128, np.uint8)
    pal = np.array([[96, 96, 96], [160, 160, 160]], np.uint8)
    lab = _labels(img, pal, "bluenoise")
    assert abs(pal[lab][..., 0].mean() - 128) < 2
    for p in (2, 4, 8, 16, 32):
        assert not np.array_equal(lab[:, p:], lab[:, :-p]) and not np.array_equal(lab[p:], lab[:-p])
    assert np.array_equal(threshold_matrix("bluenoise"), void_and_cluster())


def test_lossy_stays_within_its_tolerance_and_makes_runs():
    rng = np.random.default_rng(3)
    img = (rng.normal(128, 30, (120, 160, 3))).clip(0, 255).astype(np.uint8)  # texture everywhere
    pal = np.unique((img[::7, ::7].reshape(-1, 3) // 32) * 32 + 16, axis=0)[:64]
    guess = remap(img, pal, space="perceptual", dither="none", lossy=0)
    out = refine_labels(img, pal, guess, space="perceptual", dither="none", lossy=4.0)
    x = rgb_to_space(img.reshape(-1, 3), "perceptual")
    p = rgb_to_space(pal, "perceptual")
    extra = ((x - p[out.ravel()]) ** 2).sum(1) - ((x - p[guess.ravel()]) ** 2).sum(1)
    assert extra.max() <= dithering.LOSSY_CAP + 1e-3
    runs = lambda lab: int((lab[:, 1:] == lab[:, :-1]).sum())  # noqa: E731
    assert runs(out) > runs(guess) * 1.1
    assert np.array_equal(refine_labels(img, pal, guess, space="perceptual", dither="none", lossy=0.0), guess)


def test_deterministic():
    a = _labels(GRADIENT, PALETTE, "fs", lossy=1.0)
    b = _labels(GRADIENT, PALETTE, "fs", lossy=1.0)
    assert np.array_equal(a, b)


def test_bands_do_not_show(monkeypatch):
    """Processing in bands of rows gives the same labels as one band."""
    big = np.concatenate([GRADIENT] * 4, axis=0)
    monkeypatch.setattr(dithering, "BAND_ROWS", 1000)
    whole = _labels(big, PALETTE, "fs", lossy=1.0)
    monkeypatch.setattr(dithering, "BAND_ROWS", 37)
    banded = _labels(big, PALETTE, "fs", lossy=1.0)
    assert np.array_equal(whole, banded)


def test_hidden_colours_under_transparent_pixels_change_nothing():
    """Two different garbage layers under alpha 0 give identical labels everywhere visible."""
    rgba = np.dstack([GRADIENT, np.full((H, W), 255, np.uint8)])
    rgba[20:70, 100:220, 3] = 0
    a, b = rgba.copy(), rgba.copy()
    a[20:70, 100:220, :3] = 255
    b[20:70, 100:220, :3] = np.random.default_rng(1).integers(0, 256, (50, 120, 3), dtype=np.uint8)
    visible = rgba[..., 3] > 0
    for d in ("fs", "bayer", "bluenoise"):
        la, lb = _labels(a, PALETTE, d, lossy=1.0), _labels(b, PALETTE, d, lossy=1.0)
        assert np.array_equal(la[visible], lb[visible])
