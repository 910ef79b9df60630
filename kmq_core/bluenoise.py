"""A blue-noise threshold mask by Ulichney's void-and-cluster method.

An ordered dither compares each pixel with a threshold that depends on its
position only. A Bayer matrix puts the thresholds in a regular grid, which
shows as a cross-hatch; a *blue-noise* mask spreads them so that every
threshold level, taken as a binary pattern, has its dots as evenly apart
as possible with no regular structure: the pattern has little energy at
low spatial frequencies (which the eye sees as clumps and holes) and no
peaks (which it sees as a grid). The mask tiles the plane seamlessly, so a
pixel's threshold is ``mask[y % size, x % size]`` as with Bayer.

Void-and-cluster builds the mask from a binary pattern and a Gaussian
"energy" filter on the torus: the tightest *cluster* is the 1 with the most
filtered energy around it, the largest *void* the 0 with the least.

1. Initial pattern: a tenth of the cells set at random (a seeded numpy
   Generator), then relaxed by moving the tightest cluster's 1 into the
   largest void until that move would put it back where it came from
   (bounded by ``size²`` moves).
2. Phase 1: from that pattern, remove the tightest cluster's 1 one at a
   time; the ``i``-th removed gets rank ``ones - 1 - i``.
3. Phase 2: from the pattern again, fill the largest void one at a time up
   to half the cells; ranks ``ones`` onwards.
4. Phase 3: with 0 and 1 swapped, the tightest cluster of the 0s gets the
   next rank until every cell is ranked.

Ranks ``r`` become thresholds ``(r + 0.5) / N``, as :func:`kmq_core.dithering.bayer_matrix`.
The energy is kept up to date by adding or subtracting a wrapped Gaussian
kernel at the changed cell, so each of the ``N`` steps costs O(N) and the
64×64 mask takes a fraction of a second.

It is written here by hand because no well-kept library generates it (the
masks around are image files or one-off scripts), and it is small.

References
----------
R. Ulichney, "The void-and-cluster method for dither array generation",
Proc. SPIE 1913, Human Vision, Visual Processing, and Digital Display IV
(1993), pp. 332–343.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: the default mask's side and filter width (Ulichney's sigma 1.5)
DEFAULT_SIZE = 64
DEFAULT_SIGMA = 1.5
#: share of the cells set in the initial binary pattern
INITIAL_FRACTION = 0.1


def _gaussian_kernel(size: int, sigma: float) -> np.ndarray:
    """The size×size Gaussian centred at (0, 0) on the torus (distances wrap)."""
    d = np.arange(size)
    d = np.minimum(d, size - d).astype(np.float64)
    g = np.exp(-(d * d) / (2.0 * sigma * sigma))
    return np.outer(g, g)


def _energy(pattern: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Circular convolution of a binary pattern with the kernel (FFT)."""
    return np.real(np.fft.ifft2(np.fft.fft2(pattern) * np.fft.fft2(kernel)))


def _shifted(kernel: np.ndarray, y: int, x: int) -> np.ndarray:
    """The kernel centred at (y, x) on the torus."""
    return np.roll(kernel, (y, x), axis=(0, 1))


def void_and_cluster(size: int = DEFAULT_SIZE, sigma: float = DEFAULT_SIGMA, seed: int = 0) -> np.ndarray:
    """A size×size blue-noise threshold mask, values (i + ½) / size², float32.

    Parameters
    ----------
    size : int
        Side of the (square, toroidal) mask, at least 2.
    sigma : float
        Width of the Gaussian energy filter, in cells.
    seed : int
        Seed of the initial binary pattern (same seed, same mask).

    Returns
    -------
    (size, size) float32 array
        Each of the ``size²`` levels ``(i + 0.5) / size²`` exactly once.
    """
    size = int(size)
    if size < 2:
        raise ValueError(f"size must be at least 2, got {size}")
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    n = size * size
    kernel = _gaussian_kernel(size, float(sigma))
    rng = np.random.default_rng(seed)
    ones = max(1, int(round(INITIAL_FRACTION * n)))
    pattern = np.zeros(n, np.bool_)
    pattern[rng.choice(n, ones, replace=False)] = True
    pattern = pattern.reshape(size, size)

    # 1. relax the initial pattern: tightest cluster -> largest void
    energy = _energy(pattern, kernel)
    for _ in range(n):  # it settles in far fewer moves; the bound only guards against a cycle
        cluster = int(np.argmax(np.where(pattern, energy, -np.inf)))
        cy, cx = divmod(cluster, size)
        pattern[cy, cx] = False
        energy -= _shifted(kernel, cy, cx)
        void = int(np.argmin(np.where(pattern, np.inf, energy)))
        if void == cluster:
            pattern[cy, cx] = True
            energy += _shifted(kernel, cy, cx)
            break
        vy, vx = divmod(void, size)
        pattern[vy, vx] = True
        energy += _shifted(kernel, vy, vx)
    initial = pattern.copy()
    initial_energy = energy.copy()
    rank = np.zeros((size, size), np.int64)

    # 2. phase 1: take the tightest cluster away, ranks ones-1 down to 0
    for r in range(ones - 1, -1, -1):
        i = int(np.argmax(np.where(pattern, energy, -np.inf)))
        y, x = divmod(i, size)
        pattern[y, x] = False
        energy -= _shifted(kernel, y, x)
        rank[y, x] = r

    # 3. phase 2: fill the largest void, up to half the cells
    pattern, energy = initial, initial_energy
    half = n // 2
    for r in range(ones, half):
        i = int(np.argmin(np.where(pattern, np.inf, energy)))
        y, x = divmod(i, size)
        pattern[y, x] = True
        energy += _shifted(kernel, y, x)
        rank[y, x] = r

    # 4. phase 3: the 0s are now the minority; rank their tightest cluster next
    zeros = ~pattern
    energy = _energy(zeros, kernel)
    for r in range(max(half, ones), n):
        i = int(np.argmax(np.where(zeros, energy, -np.inf)))
        y, x = divmod(i, size)
        zeros[y, x] = False
        energy -= _shifted(kernel, y, x)
        rank[y, x] = r
    return ((rank + 0.5) / n).astype(np.float32)


@lru_cache(maxsize=4)
def blue_noise_mask(size: int = DEFAULT_SIZE) -> np.ndarray:
    """The cached ``void_and_cluster(size)`` (read-only), computed at first use."""
    mask = void_and_cluster(size, DEFAULT_SIGMA, 0)
    mask.flags.writeable = False
    return mask
