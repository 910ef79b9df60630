"""The blue-noise threshold mask (kmq_core.bluenoise)."""

import time

import numpy as np
import pytest

from kmq_core.bluenoise import blue_noise_mask, void_and_cluster

N = 64 * 64


@pytest.fixture(scope="module")
def mask():
    return void_and_cluster()


def _low_frequency_share(m: np.ndarray, cutoff: float = 0.15) -> float:
    """Share of the (mean-free) power spectrum at radial frequencies 0 < f <= cutoff cycles/cell."""
    power = np.abs(np.fft.fft2(m - m.mean())) ** 2
    f = np.fft.fftfreq(m.shape[0])
    radius = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    return float(power[(radius > 0) & (radius <= cutoff)].sum() / power.sum())


def test_values_are_a_permutation_of_the_levels(mask):
    assert mask.shape == (64, 64) and mask.dtype == np.float32
    assert np.array_equal(np.sort(mask.ravel()), ((np.arange(N) + 0.5) / N).astype(np.float32))


def test_small_masks_too():
    m = void_and_cluster(8, sigma=1.5, seed=3)
    assert np.array_equal(np.sort(m.ravel()), ((np.arange(64) + 0.5) / 64).astype(np.float32))


def test_deterministic(mask):
    assert np.array_equal(void_and_cluster(), mask)
    assert not np.array_equal(void_and_cluster(seed=1), mask)  # the seed does choose the pattern


def _is_blue(m: np.ndarray) -> bool:
    """Under 1/50 of the spectrum at low frequencies, where white noise has ~7 % (the disc's share)."""
    return _low_frequency_share(m) < 0.07 / 50


def test_little_energy_at_low_frequencies(mask):
    """Blue noise: the low frequencies (clumps and holes) are nearly empty.

    The same check fails for the same levels shuffled (white noise).
    """
    assert _is_blue(mask)
    for seed in range(3):
        shuffled = np.random.default_rng(seed).permutation(mask.ravel()).reshape(mask.shape)
        assert 0.03 < _low_frequency_share(shuffled) and not _is_blue(shuffled)


def test_each_threshold_level_is_evenly_spread(mask):
    """Any level taken as a binary pattern has no big holes: e.g. the darkest tenth of the
    thresholds leaves no 8×8 window (on the torus) without a dot, which white noise does."""
    def largest_empty_window(dots: np.ndarray, side: int = 8) -> int:
        padded = np.pad(dots, ((0, side - 1), (0, side - 1)), mode="wrap").astype(np.int64)
        c = padded.cumsum(0).cumsum(1)
        c = np.pad(c, ((1, 0), (1, 0)))
        win = c[side:, side:] - c[:-side, side:] - c[side:, :-side] + c[:-side, :-side]
        return int((win == 0).sum())

    assert largest_empty_window(mask < 0.1) == 0
    shuffled = np.random.default_rng(0).permutation(mask.ravel()).reshape(mask.shape)
    assert largest_empty_window(shuffled < 0.1) > 0


def test_generated_quickly_and_cached():
    blue_noise_mask.cache_clear()
    t0 = time.perf_counter()
    m = blue_noise_mask()
    assert time.perf_counter() - t0 < 1.0  # about 0.1 s on one core
    assert blue_noise_mask() is m and not m.flags.writeable
    assert np.array_equal(m, void_and_cluster())


def test_bad_arguments():
    with pytest.raises(ValueError):
        void_and_cluster(1)
    with pytest.raises(ValueError):
        void_and_cluster(16, sigma=0)
