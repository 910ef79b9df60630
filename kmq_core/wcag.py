"""Text contrast of palette colours, as WCAG 2.2 measures it.

A designer who takes a palette from a photo wants to know which pairs can
carry text. WCAG 2.2 answers with the *contrast ratio* of two colours,
``(L1 + 0.05) / (L2 + 0.05)``, L1 the relative luminance of the lighter one
and L2 of the darker, from 1:1 (the same colour) to 21:1 (black and white);
the 0.05 stands for the flare of a real screen. The success criteria ask for:

============  ========  ==========================================
level         ratio     criterion
============  ========  ==========================================
AA            4.5:1     1.4.3 Contrast (Minimum), body text
AA large      3:1       1.4.3, large text (18 pt, or 14 pt bold)
AAA           7:1       1.4.6 Contrast (Enhanced), body text
AAA large     4.5:1     1.4.6, large text
============  ========  ==========================================

A ratio is compared as computed, never rounded first: 4.499:1 fails AA.

Relative luminance is ``0.2126 R + 0.7152 G + 0.0722 B`` of the linearised
sRGB channels. WCAG 2.2 linearises at the sRGB standard's threshold, 0.04045;
WCAG 2.0 and 2.1 printed 0.03928 (from a draft of sRGB) until May 2021. kmq
uses 0.04045 (:func:`kmq_core.colorspace.srgb_to_linear`). For 8-bit colours
the two cannot differ: no code value lies between them (10/255 = 0.03922 is
below both, 11/255 = 0.04314 above both), as WCAG's note says.

References
----------
W3C, Web Content Accessibility Guidelines (WCAG) 2.2, definitions of
"contrast ratio" and "relative luminance", and Understanding Success
Criteria 1.4.3 and 1.4.6. https://www.w3.org/TR/WCAG22/
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colorspace import srgb_to_linear
from .errors import KmqError

#: the WCAG 2.2 thresholds, weakest first: level name -> minimum contrast ratio
LEVELS: dict[str, float] = {"AA large": 3.0, "AA": 4.5, "AAA large": 4.5, "AAA": 7.0}
#: the largest palette whose pairs are compared (523,776 pairs; an N×N matrix grows with N², and a
#: palette file may hold 65,535 colours: that would be 34 GB)
MAX_PAIR_COLORS = 1024
#: the luminance weights of the sRGB (Rec. 709) primaries
_WEIGHTS = np.array([0.2126, 0.7152, 0.0722])


def _rgb(colors) -> np.ndarray:
    a = np.asarray(colors)
    if a.ndim == 0 or a.shape[-1] != 3:
        raise KmqError(f"expected sRGB colours with 3 channels in the last axis, got shape {a.shape}")
    if a.dtype != np.uint8:
        if a.size and (not np.isfinite(a).all() or a.min() < 0 or a.max() > 255):
            raise KmqError("colours must be 0-255 per channel")
    return a


def relative_luminance(colors) -> np.ndarray:
    """WCAG relative luminance of 8-bit sRGB colours.

    Parameters
    ----------
    colors : (..., 3) array
        sRGB code values 0..255 (uint8, or numbers in that range).

    Returns
    -------
    (...) float64 array
        0 for black, 1 for white.

    Raises
    ------
    KmqError
        When the last axis is not 3 channels or a value is outside 0..255.

    Examples
    --------
    >>> float(relative_luminance([255, 255, 255]))
    1.0
    """
    a = _rgb(colors).astype(np.float64) / 255.0
    return srgb_to_linear(a) @ _WEIGHTS


def contrast_ratio(a, b) -> np.ndarray:
    """WCAG contrast ratio of colours ``a`` and ``b`` (broadcast against each other), 1..21.

    Examples
    --------
    >>> round(float(contrast_ratio([119, 119, 119], [255, 255, 255])), 2)
    4.48
    """
    la, lb = relative_luminance(a), relative_luminance(b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


def check_pair_count(n: int) -> None:
    """Refuse to compare the pairs of more than :data:`MAX_PAIR_COLORS` colours (one clear KmqError)."""
    if n > MAX_PAIR_COLORS:
        raise KmqError(f"the palette has {n} colours; pairs are compared for up to {MAX_PAIR_COLORS}")


def contrast_matrix(colors) -> np.ndarray:
    """The contrast ratio of every pair of ``colors`` (N×3): an N×N symmetric matrix, 1 on the diagonal.

    Raises
    ------
    KmqError
        Above :data:`MAX_PAIR_COLORS` colours, or colours that are not 0..255 RGB.
    """
    rgb = _rgb(colors).reshape(-1, 3)
    check_pair_count(len(rgb))
    lum = relative_luminance(rgb)
    hi = np.maximum(lum[:, None], lum[None, :])
    lo = np.minimum(lum[:, None], lum[None, :])
    return (hi + 0.05) / (lo + 0.05)


def levels_passed(ratio: float) -> tuple[str, ...]:
    """The WCAG levels a contrast ratio reaches, weakest first (``()`` below 3:1)."""
    return tuple(level for level, need in LEVELS.items() if ratio >= need)


@dataclass(frozen=True)
class ContrastPair:
    """Two palette entries (indices ``i < j``), their contrast ratio and the levels it reaches."""

    i: int
    j: int
    ratio: float
    levels: tuple[str, ...]


def contrast_pairs(colors, minimum: str | None = None) -> list[ContrastPair]:
    """Every pair of ``colors`` (N×3), highest contrast first, optionally only those reaching a level.

    Parameters
    ----------
    colors : (N, 3) array
    minimum : str, optional
        A key of :data:`LEVELS` ('AA large', 'AA', 'AAA large', 'AAA'): only pairs reaching it.

    Returns
    -------
    list of ContrastPair
        Ties keep palette order.
    """
    if minimum is not None and minimum not in LEVELS:
        raise KmqError(f"unknown WCAG level {minimum!r}: use one of {', '.join(LEVELS)}")
    m = contrast_matrix(colors)
    i, j = np.triu_indices(len(m), 1)
    ratios = m[i, j]
    order = np.argsort(-ratios, kind="stable")
    need = LEVELS[minimum] if minimum else 0.0
    return [ContrastPair(int(i[o]), int(j[o]), float(ratios[o]), levels_passed(float(ratios[o])))
            for o in order if ratios[o] >= need]
