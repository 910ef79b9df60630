"""Floyd–Steinberg dithering, by Pillow, and a palette refined for it.

Error diffusion is a sequential loop over every pixel, which numpy cannot
vectorise; Pillow's C implementation (``Image.quantize(palette=...,
dither=FLOYDSTEINBERG)``) does it in well under a second for 12 megapixels,
so kmq uses it rather than a Python loop. Pillow diffuses the error and picks
the nearest colour in sRGB; the palette itself is still fitted in the chosen
space, and the eye averages the pattern.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image


def floyd_steinberg(pixels: np.ndarray, colors: np.ndarray) -> np.ndarray:
    """Dither an H×W×3|4 uint8 image to ``colors`` (≤ 256×3 uint8); returns H×W uint8 labels."""
    colors = np.asarray(colors, np.uint8).reshape(-1, 3)
    n = len(colors)
    pal_img = Image.new("P", (1, 1))
    # exactly n entries: Pillow's nearest-colour cache then searches only
    # those (padding to 256 with copies of one colour made each cache fill
    # scan the copies: 27 ms instead of 4.5 ms for a 300×451 photo at k=16)
    pal_img.putpalette(colors.tobytes())
    rgb = pixels[..., :3]
    if pixels.shape[-1] == 4 and not pixels[..., 3].all():
        # fully transparent pixels take a palette colour: their hidden RGB
        # (often garbage) would otherwise diffuse error into visible neighbours
        rgb = np.where(pixels[..., 3:] == 0, colors[0], rgb)
    rgb = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    out = rgb.quantize(palette=pal_img, dither=Image.Dither.FLOYDSTEINBERG)
    labels = np.asarray(out, dtype=np.uint8)
    if labels.max(initial=0) >= n:  # never seen; a Pillow that pads its palette would do it
        labels = np.where(labels >= n, 0, labels).astype(np.uint8)
    return labels


# --- palette refinement for dithering ---------------------------------------
#
# k-means places each colour at the mean of the pixels nearest to it, which is
# the best palette for plain nearest-colour mapping but not for error
# diffusion: the eye (and kmq's blurred ΔE benchmark) sees the local average
# of the dithered pattern, so the colours should make that average match the
# image. For fixed labels, the palette that minimises the blurred squared
# error ||G * (image − palette[labels])||² is a k×k linear least-squares
# problem per channel; alternating it with re-dithering (up to 12 rounds, while
# each gains 0.5 %) lowers the blurred CIEDE2000 of dithered results by
# 17-40 % on the benchmark photos.
# No library offers this (libimagequant's dither-aware tweaks are internal to
# its own quantizer), so it is written here with numpy, OpenCV and Pillow.

#: σ (pixels) of the Gaussian through which the dithered result is judged
BLUR_SIGMA = 1.0
#: truncation radius of G*G (σ√2); beyond 4 px less than 2 % of its mass
_RADIUS = 4
#: most least-squares rounds, the pull toward the previous palette, and the
#: relative gain below which the rounds stop (measured on the benchmark
#: photos: the blurred error keeps falling 1-5 % a round for ~10 rounds)
REFINE_ROUNDS = 12
REFINE_RIDGE = 3e-4
REFINE_TOL = 0.005
#: refinement works on at most this many pixels (row strips of larger images)
REFINE_MAX_PIXELS = 1 << 20
_STRIP_ROWS = 64
#: threads for the pair counts (the machine's cores, at most 4)
_WORKERS = max(1, min(4, os.cpu_count() or 1))


def _pair_offsets(sigma: float, radius: int) -> list[tuple[int, int, float]]:
    """Half-plane offsets (dy, dx) of the autocorrelation G*G and their weights.

    G*G is a Gaussian of variance 2σ². The weights are normalised so the full
    (symmetric) kernel sums to 1; the centre weight is halved because the
    pair matrix is symmetrised afterwards (A + Aᵀ).
    """
    var = 2.0 * sigma * sigma
    out = []
    for dy in range(radius + 1):
        for dx in range(-radius, radius + 1):
            if (dy == 0 and dx < 0) or dx * dx + dy * dy > radius * radius:
                continue
            out.append((dy, dx, float(np.exp(-(dx * dx + dy * dy) / (2.0 * var)))))
    total = sum(g * (1 if dy == dx == 0 else 2) for dy, dx, g in out)
    return [(dy, dx, g / total / (2 if dy == dx == 0 else 1)) for dy, dx, g in out]


_OFFSETS = _pair_offsets(BLUR_SIGMA, _RADIUS)


def _gauss(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101)


def _row_strips(arr: np.ndarray, max_pixels: int) -> np.ndarray:
    """Evenly spaced bands of rows, stacked, holding at most ``max_pixels``."""
    h, w = arr.shape[:2]
    if h * w <= max_pixels:
        return arr
    rows = min(_STRIP_ROWS, h)
    n = max(1, max_pixels // (w * rows))
    starts = np.linspace(0, h - rows, n).astype(np.intp)
    return np.ascontiguousarray(np.concatenate([arr[s:s + rows] for s in starts], axis=0))


def _pair_kernel() -> np.ndarray:
    """The full (symmetric) G*G kernel that the pair counts use."""
    k = np.zeros((2 * _RADIUS + 1, 2 * _RADIUS + 1), np.float32)
    for dy, dx, g in _OFFSETS:
        k[_RADIUS + dy, _RADIUS + dx] += g
        k[_RADIUS - dy, _RADIUS - dx] += g
    return k


_PAIR_KERNEL = _pair_kernel()


def _pair_blur(img: np.ndarray) -> np.ndarray:
    """G*G*img, the right-hand side's image for :func:`_normal_equations`.

    The same truncated kernel as the pair counts, and zero outside the image
    as they are: with OpenCV's own σ√2 blur and mirrored borders, b held
    ~1 % more mass than A near the edges and the solution pushed every
    colour outwards (blurred ΔE 2-5 % worse, measured).
    """
    import cv2

    return cv2.filter2D(img, -1, _PAIR_KERNEL, borderType=cv2.BORDER_CONSTANT)


def _normal_equations(labels: np.ndarray, n: int, g2_image: np.ndarray, pool=None):
    """A (n×n) and b (n×3) of min_P ||G*(I − P[L])||² for fixed labels L.

    A_ij = Σ_d g2(d)·#{x: L(x)=i, L(x+d)=j} (one bincount per offset),
    b_j = Σ_{x: L(x)=j} (G*G*I)(x); also returns the pixel count per label.
    The bincounts run on ``pool`` (an executor) when given: numpy releases
    the GIL in them, and this is the refinement's largest cost (2× faster on
    2 cores).
    """
    mapper = map if pool is None else pool.map
    h, w = labels.shape
    li = labels.astype(np.int32)  # n*n <= 257**2 fits; int32 halves the memory traffic
    lk = li * np.int32(n)
    flat = labels.ravel()

    def pairs(offset):
        dy, dx, g = offset
        right = li[dy:, max(dx, 0):w + min(dx, 0)]
        left = lk[:h - dy, max(-dx, 0):w - max(dx, 0)]
        return g * np.bincount((left + right).ravel(), minlength=n * n)

    def rhs(c):
        return np.bincount(flat, weights=g2_image[..., c].ravel(), minlength=n)

    a = np.sum(list(mapper(pairs, _OFFSETS)), axis=0).reshape(n, n)
    b = np.stack(list(mapper(rhs, range(3))), axis=1)
    a = a + a.T
    return a, b, np.bincount(flat, minlength=n).astype(np.float64)


def refine_for_dither(
    pixels: np.ndarray,
    colors: np.ndarray,
    *,
    fixed: np.ndarray | None = None,
    rounds: int = REFINE_ROUNDS,
    ridge: float = REFINE_RIDGE,
    tol: float = REFINE_TOL,
    max_pixels: int = REFINE_MAX_PIXELS,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Move palette colours so that the Floyd–Steinberg result looks closer to the image.

    Alternates (1) dithering with :func:`floyd_steinberg` and (2) solving,
    for those labels, the least-squares palette of the blurred error
    ``||G * (image − colors[labels])||²`` (G: Gaussian, σ = 1 px), with a
    ridge term that keeps each colour near its previous value. A new palette
    is kept only if its dithered result has a lower blurred error than the
    best so far; the first round that does not improve, or improves by less
    than ``tol``, ends the search.

    Parameters
    ----------
    pixels : (H, W, 3|4) uint8 array
        The image. With alpha, fully transparent pixels are left out.
    colors : (n, 3) uint8 array
        The starting palette (e.g. from :func:`kmq_core.fitting.fit_palette`).
    fixed : (n,) bool array, optional
        Colours that must not change (locked colours).
    rounds : int
        Most least-squares solves.
    ridge : float
        Strength of the pull towards the previous palette, relative to each
        colour's pixel count.
    tol : float
        Smallest relative drop of the blurred error that earns another round.
    max_pixels : int
        Larger images are refined on evenly spaced bands of rows holding
        this many pixels.

    Returns
    -------
    colors : (n, 3) uint8 array
        The refined palette (``colors`` itself if nothing improved).
    labels : (H, W) uint8 array or None
        Its Floyd–Steinberg labels for the whole image, or None when the
        refinement did not dither the whole image (it ran on row bands, or
        every pixel is transparent): the caller dithers it.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    colors = np.asarray(colors, np.uint8).reshape(-1, 3)
    k = len(colors)
    whole = pixels.shape[0] * pixels.shape[1] <= max_pixels
    sub = _row_strips(pixels, max_pixels)
    rgb = np.ascontiguousarray(sub[..., :3])
    visible = sub[..., 3] > 0 if sub.shape[2] == 4 else None
    if visible is not None and not visible.any():
        return colors, None
    # transparent pixels get an extra label k, whose row and column are dropped
    n = k + (visible is not None)
    img = rgb.astype(np.float32)
    if visible is not None:
        # transparent pixels are black in the model, as their label's colour
        # is: their hidden RGB must not leak into the blur of their neighbours
        img[~visible] = 0.0
    target = _gauss(img, BLUR_SIGMA)
    g2_image = _pair_blur(img)
    keep = np.zeros(k, bool) if fixed is None else np.asarray(fixed, bool).reshape(k)

    def dither(pal):
        lab = floyd_steinberg(sub, pal)
        # int16: with k = 256 the extra label does not fit in uint8
        return lab if visible is None else np.where(visible, lab, np.int16(k))

    def blurred_error(pal, lab):
        d = _gauss(np.vstack([pal, np.zeros((1, 3), np.uint8)]).astype(np.float32)[lab], BLUR_SIGMA) - target
        if visible is not None:
            d *= visible[..., None]
        return float(np.einsum("ijk,ijk->", d, d, dtype=np.float64))

    best = colors
    best_lab = dither(best)
    best_err = blurred_error(best, best_lab)
    # tiny n×n solves: BLAS threads cost more than they save (as in fitting);
    # one thread pool for the pair counts of every round
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(_WORKERS) as pool:
        for _ in range(rounds):
            a, b, cnt = _normal_equations(best_lab, n, g2_image, pool)
            a, b, cnt = a[:k, :k], b[:k], cnt[:k]
            d = ridge * cnt + 1e-6 * max(cnt.max(), 1.0)
            d[keep] = 1e12
            new = np.linalg.solve(a + np.diag(d), b + d[:, None] * best)
            new = np.clip(np.rint(new), 0, 255).astype(np.uint8)
            new[keep] = colors[keep]
            if np.array_equal(new, best):
                break
            new_lab = dither(new)
            err = blurred_error(new, new_lab)
            if err >= best_err:
                break
            enough = err < (1.0 - tol) * best_err
            best_err, best, best_lab = err, new, new_lab
            if not enough:
                break
    if not whole:
        return best, None
    if visible is not None:
        best_lab = np.where(visible, best_lab, 0).astype(np.uint8)  # transparent: 0, as remap
    return best, best_lab
