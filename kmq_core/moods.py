"""Mood palettes: k of the image's own colours, chosen for a mood.

Adobe Color's "Extract theme" offers a photo's palette in moods (colourful,
bright, muted, deep, dark); kmq does the same with rules that can be checked.
A mood palette is still the image's colours:

1. **Candidates.** The image is fitted with more colours than asked for,
   ``max(CANDIDATES, CANDIDATES_PER_COLOUR·k)`` (at most 256), by the same fit
   and weights as any palette (:func:`kmq_core.fitting.fit_palette`, importance
   mask included). Each candidate is the mean colour of the pixels it serves.
2. **Coverage.** A candidate is kept only when at least ``MIN_COVER`` (1 %) of
   the image's pixels lie within CIEDE2000 ``COVER_DE`` (10) of it: every swatch
   stands for a real share of the picture, not a stray pixel.
3. **Score.** Each candidate is scored in Oklab (Ottosson 2020), with lightness
   L from 0 (black) to 1 (white) and chroma C = √(a² + b²) (about 0 for greys,
   0.1 for a clear colour, 0.26 at most for sRGB red); higher is better:

   ========  =====================  ============================================
   mood      score                  picks
   ========  =====================  ============================================
   colorful  C                      the most chromatic colours, any lightness
   bright    L + 2·C                light, vivid colours
   muted     −2·C − |L − 0.6|       greyish colours of middle lightness
   deep      2·C − L                rich, dark colours
   dark      −L                     the darkest colours
   ========  =====================  ============================================

4. **Spread.** Candidates are taken best score first, skipping one closer than
   ``SPREAD`` (0.08 in Oklab) to a colour already taken, so that the palette
   is not five shades of one green; when too few remain the spacing halves
   (twice), then any candidate left is taken.

Locked colours are kept and the rest are chosen around them. A palette has
fewer than k colours when the image has fewer candidates that cover 1 %.
Without a mood (``mood=None``) the palette is the k colours that best
reproduce the image, as always.

References
----------
Adobe Color, "Extract theme" (color.adobe.com/create/image): the five moods.
B. Ottosson, "A perceptual color space for image processing", 2020 (Oklab).
G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference formula", Color
Research & Application 30 (2005) 21-30.
"""

from __future__ import annotations

import numpy as np

from .colorspace import rgb_to_space, srgb_to_cielab
from .histogram import ColorHistogram, reduce_histogram
from .options import DEFAULT_SEED, DEFAULT_SPACE, MOODS, check_k, check_mood, check_space
from .palette import Palette, as_lock

#: candidates fitted: at least this many, and this many per colour asked for
CANDIDATES = 32
CANDIDATES_PER_COLOUR = 4
#: a candidate must have this share of the pixels within COVER_DE (CIEDE2000) of it
MIN_COVER = 0.01
COVER_DE = 10.0
#: least Oklab distance between two swatches (halved twice when too few candidates are left)
SPREAD = 0.08
#: bits per channel of the histogram cells coverage is measured on (4 levels: well under ΔE 1 apart)
COVER_BITS = 6


def oklab_lightness_chroma(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Oklab lightness L (0..1) and chroma C of N×3 8-bit sRGB colours."""
    ok = rgb_to_space(np.asarray(rgb, np.float64).reshape(-1, 3), "oklab") / 100.0
    return ok[:, 0], np.hypot(ok[:, 1], ok[:, 2])


def mood_scores(rgb: np.ndarray, mood: str) -> np.ndarray:
    """The score of each N×3 sRGB colour for ``mood`` (higher is better; the table in the module docstring)."""
    mood = check_mood(mood)
    L, C = oklab_lightness_chroma(rgb)
    if mood == "colorful":
        return C
    if mood == "bright":
        return L + 2.0 * C
    if mood == "muted":
        return -2.0 * C - np.abs(L - 0.6)
    if mood == "deep":
        return 2.0 * C - L
    if mood == "dark":
        return -L
    raise ValueError(f"no mood {mood!r}")  # check_mood let through a mood without a rule


def coverage(colors: np.ndarray, hist: ColorHistogram, radius: float = COVER_DE) -> np.ndarray:
    """The share of the histogram's pixels (its counts) within CIEDE2000 ``radius`` of each N×3 colour.

    Measured on cells of :data:`COVER_BITS` bits per channel holding their pixels' mean colour.
    """
    from skimage.color import deltaE_ciede2000

    cells, counts = reduce_histogram(hist, COVER_BITS, weighted=False)
    total = float(counts.sum())
    lab_cells = srgb_to_cielab(cells / 255.0)
    lab = srgb_to_cielab(np.asarray(colors, np.float64).reshape(-1, 3) / 255.0)
    out = np.zeros(len(lab))
    for i, c in enumerate(lab):
        d = deltaE_ciede2000(np.broadcast_to(c, lab_cells.shape), lab_cells)
        out[i] = float(counts[d <= radius].sum()) / max(total, 1e-12)
    return out


def _spread_pick(ok: np.ndarray, order: np.ndarray, n: int, taken: list[np.ndarray]) -> list[int]:
    """Up to ``n`` indices from ``order`` (best first), each SPREAD apart from the others and from ``taken``."""
    picked: list[int] = []
    for spacing in (SPREAD, SPREAD / 2, SPREAD / 4, 0.0):
        for i in order:
            if len(picked) == n:
                return picked
            if i in picked:
                continue
            near = [ok[j] for j in picked] + taken
            if spacing == 0.0 or not near or np.sqrt(((np.array(near) - ok[i]) ** 2).sum(1)).min() >= spacing:
                picked.append(int(i))
    return picked


def mood_palette(hist: ColorHistogram, k: int, mood: str, *, space: str = DEFAULT_SPACE, seed: int = DEFAULT_SEED,
                 lock=None) -> Palette:
    """At most ``k`` colours of the image chosen for ``mood`` (see the module docstring).

    Parameters
    ----------
    hist : ColorHistogram
        The image's fitting histogram (weights and importance already in it).
    k : int
        Colours wanted, locked ones included.
    mood : {MOODS}
    space, seed : as :func:`kmq_core.fitting.fit_palette`, for the candidates' fit.
    lock : None, '#hex,...', Palette or N×3 uint8
        Colours kept in the palette; the mood's colours are chosen around them.

    Returns
    -------
    Palette
        Locked colours first, then the mood's, best score first; weights are the
        candidates' pixel shares.
    """
    from .fitting import fit_palette

    k = check_k(k)
    mood = check_mood(mood)
    if mood is None:
        raise ValueError("mood_palette needs a mood")
    space = check_space(space)
    locked = as_lock(lock)
    n_cand = min(256, max(CANDIDATES, CANDIDATES_PER_COLOUR * k))
    cand = fit_palette(None, n_cand, space=space, seed=seed, histogram=hist)
    colors = cand.colors
    if len(locked):
        known = {tuple(c) for c in locked.tolist()}
        free = np.array([tuple(c) not in known for c in colors.tolist()], bool)
        colors, shares = colors[free], cand.weights[free]
    else:
        shares = cand.weights
    keep = coverage(colors, hist) >= MIN_COVER
    colors, shares = colors[keep], shares[keep]
    score = mood_scores(colors, mood)
    order = np.argsort(-score, kind="stable")
    ok = rgb_to_space(colors.astype(np.float64), "oklab") / 100.0 if len(colors) else np.zeros((0, 3))
    taken = list(rgb_to_space(locked.astype(np.float64), "oklab") / 100.0) if len(locked) else []
    picked = _spread_pick(ok, order, max(0, k - len(locked)), taken)
    pal = np.vstack([locked.reshape(-1, 3), colors[picked]]).astype(np.uint8)
    wts = np.concatenate([np.zeros(len(locked)), shares[picked]])
    return Palette(pal, wts)


mood_palette.__doc__ = (mood_palette.__doc__ or "").replace("{MOODS}", "{" + ", ".join(repr(m) for m in MOODS) + "}")
