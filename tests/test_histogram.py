"""Colour histograms and packing."""

import numpy as np

import kmq_core.histogram as H


def test_pack_unpack_round_trip_and_input_untouched():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    assert np.array_equal(H.unpack_rgb(H.pack_rgb(rgb)), rgb)
    rgba = np.dstack([rgb, np.full((50, 60), 9, np.uint8)])
    before = rgba.copy()
    assert np.array_equal(H.unpack_rgb(H.pack_rgb(rgba)), rgb)
    assert np.array_equal(rgba, before)


def test_counts_match_numpy_unique_and_chunks_agree(monkeypatch):
    rng = np.random.default_rng(1)
    img = rng.integers(0, 6, (80, 90, 3), dtype=np.uint8) * 40
    h = H.color_histogram(img)
    u, n = np.unique(img.reshape(-1, 3), axis=0, return_counts=True)
    got = dict(zip(map(tuple, h.colors), h.counts))
    assert got == dict(zip(map(tuple, u), n))
    monkeypatch.setattr(H, "CHUNK_PIXELS", 777)
    h2 = H.color_histogram(img)
    assert np.array_equal(h2.codes, h.codes) and np.array_equal(h2.counts, h.counts)


def test_transparent_pixels_not_counted():
    img = np.zeros((2, 2, 4), np.uint8)
    img[0, 0] = (1, 2, 3, 255)
    img[0, 1] = (9, 9, 9, 0)
    img[1] = (1, 2, 3, 10)
    h = H.color_histogram(img)
    assert [tuple(c) for c in h.colors] == [(1, 2, 3)] and list(h.counts) == [3]


def test_reduce_keeps_weighted_means():
    img = np.array([[[0, 0, 0], [2, 2, 2], [2, 2, 2], [200, 0, 0]]], np.uint8)
    means, w = H.reduce_histogram(H.color_histogram(img), 5)
    order = np.argsort(w)
    assert list(w[order]) == [1, 3]
    assert np.allclose(means[order][1], [4 / 3] * 3)
