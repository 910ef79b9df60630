"""Masking weights and the edge map (kmq_core.contrast)."""

import numpy as np

from kmq_core import contrast
from kmq_core.contrast import edge_map, local_activity, masking_exponent, masking_weights


def _scene():
    rng = np.random.default_rng(0)
    img = np.zeros((120, 200, 3), np.uint8)
    img[:, :100] = np.linspace(110, 150, 100)[None, :, None]  # smooth gradient, as in a sky
    img[:, 100:] = rng.integers(0, 256, (120, 100, 3))  # noise
    return img


def test_texture_counts_less_than_smooth_areas():
    w = masking_weights(_scene(), 16)
    assert w[:, 10:90].min() > 0.8 and w[:, 110:190].max() < 0.1
    assert w.dtype == np.float32 and w.shape == (120, 200)


def test_exponent_falls_with_k():
    assert masking_exponent(8) == masking_exponent(16) == contrast.MASK_P_FEW
    assert masking_exponent(256) == contrast.MASK_P_MANY
    assert masking_exponent(16) > masking_exponent(64) > masking_exponent(256)


def test_maps_in_bands_equal_the_whole():
    img = _scene()
    whole_w, whole_e = masking_weights(img, 32), edge_map(img)
    for y0 in range(0, 120, 25):
        rows = slice(y0, min(120, y0 + 25))
        assert np.allclose(masking_weights(img, 32, rows), whole_w[rows], atol=1e-6)
        assert np.array_equal(edge_map(img, rows), whole_e[rows])


def test_edge_map_is_low_on_edges_and_noise_high_on_flat():
    img = np.zeros((60, 60, 3), np.uint8)
    img[:, 30:] = 255
    e = edge_map(img)
    assert e[:, 5:25].min() > 0.95 and e[:, 29:31].max() < 0.1
    assert edge_map(_scene())[:, 120:180].mean() < 0.2


def test_hidden_colours_do_not_count():
    img = np.dstack([_scene(), np.full((120, 200), 255, np.uint8)])
    img[:, 100:, 3] = 0
    flat = img.copy()
    flat[:, 100:, :3] = 0
    assert np.array_equal(masking_weights(img, 16), masking_weights(flat, 16))
    assert np.array_equal(edge_map(img), edge_map(flat))


def test_activity_matches_a_direct_computation():
    img = _scene()
    s = local_activity(img)
    assert s[:, 20:80].max() < 1.5 and s[:, 120:180].min() > 5
