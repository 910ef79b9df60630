"""Colour-vision deficiency: a palette and an image as people with dichromacy see them.

About 1 man in 12 sees colours differently; those with *dichromacy* lack one
kind of cone: protanopia (no long-wavelength L cones: reds darken and meet
greens), deuteranopia (no medium M cones: reds and greens meet) and
tritanopia (no short S cones, rare: blues meet greens, yellows turn pink).
A palette that tells its colours apart only by the missing cone's signal
loses them; this module shows what is left and names the pairs that merge.

The simulation is Machado, Oliveira & Fernandes (2009): a physiological model
of the cones' spectral sensitivity, reduced to one 3×3 matrix per deficiency
and severity. kmq uses the severity 1.0 matrices (full dichromacy, the
strongest case) from the paper's table, applied to *linear* RGB: 8-bit sRGB
is linearised, multiplied, clipped to 0..1 and re-encoded, as colorspacious,
colour-science and DaltonLens apply them (the matrices map linear RGB of a
display's primaries).

Two simulated colours are called confusable when their CIEDE2000 difference
is below 3 (:data:`CONFUSABLE_DE`): 2.3 is a just noticeable difference side
by side (Sharma 2005), so below 3 two swatches read as one. The ΔE is
:func:`kmq_core.metrics.delta_e2000` (scikit-image).

References
----------
G. M. Machado, M. M. Oliveira, L. A. F. Fernandes, "A Physiologically-based
Model for Simulation of Color Vision Deficiency", IEEE Transactions on
Visualization and Computer Graphics 15(6), 1291-1298, 2009,
doi:10.1109/TVCG.2009.113; matrices also at
https://www.inf.ufrgs.br/~oliveira/pubs_files/CVD_Simulation/CVD_Simulation.html
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colorspace import linear_to_srgb, srgb_to_linear
from .errors import KmqError

#: the deficiencies kmq simulates, in the order the front ends list them
DEFICIENCIES: tuple[str, ...] = ("protanopia", "deuteranopia", "tritanopia")
#: what a front end offers to show: normal vision (colours as they are), then each deficiency
VISIONS: tuple[str, ...] = ("normal", *DEFICIENCIES)
#: the severity of the matrices below (1.0: dichromacy, the cone type missing)
SEVERITY = 1.0
#: Machado et al. (2009), severity 1.0: linear RGB in -> linear RGB as seen (rows: R, G, B)
MACHADO_2009: dict[str, np.ndarray] = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}
for _m in MACHADO_2009.values():
    _m.setflags(write=False)
#: simulated colours closer than this (CIEDE2000) are flagged as confusable
CONFUSABLE_DE = 3.0
#: pixels simulated per block (bounded memory for any image size: ~12 float32 values a pixel)
_BLOCK = 1 << 20
#: 8-bit sRGB -> linear, once
_LINEAR = srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)


def check_deficiency(name: str) -> str:
    """``name`` lower-cased if it is one of :data:`VISIONS`, else a KmqError naming them."""
    key = str(name).strip().lower()
    if key not in VISIONS:
        raise KmqError(f"unknown colour-vision deficiency {name!r}: use one of {', '.join(VISIONS)}")
    return key


def simulate(pixels, deficiency: str) -> np.ndarray:
    """Colours or an image as seen with ``deficiency`` (Machado et al. 2009, severity 1.0).

    Parameters
    ----------
    pixels : (..., 3) or (..., 4) uint8 array
        sRGB colours: a palette (N×3), an image (H×W×3) or an image with
        alpha (H×W×4; alpha is kept as it is).
    deficiency : str
        'protanopia', 'deuteranopia' or 'tritanopia'; 'normal' returns a copy.

    Returns
    -------
    uint8 array, the shape of ``pixels``

    Raises
    ------
    KmqError
        An unknown deficiency, or not 8-bit colours with 3 or 4 channels.

    Examples
    --------
    >>> simulate(np.array([[255, 255, 255], [0, 0, 0]], np.uint8), "deuteranopia").tolist()
    [[255, 255, 255], [0, 0, 0]]
    """
    deficiency = check_deficiency(deficiency)
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim == 0 or pixels.shape[-1] not in (3, 4):
        raise KmqError(f"expected 8-bit colours with 3 or 4 channels, got {pixels.dtype} of shape {pixels.shape}")
    if deficiency == "normal":
        return pixels.copy()
    m = MACHADO_2009[deficiency].astype(np.float32)
    flat = pixels.reshape(-1, pixels.shape[-1])
    out = np.empty_like(flat)
    for s in range(0, len(flat), _BLOCK):
        block = flat[s:s + _BLOCK]
        seen = _LINEAR[block[:, :3]] @ m.T
        out[s:s + _BLOCK, :3] = np.rint(linear_to_srgb(seen) * 255.0)
        if flat.shape[1] == 4:
            out[s:s + _BLOCK, 3] = block[:, 3]
    return out.reshape(pixels.shape)


@dataclass(frozen=True)
class ConfusablePair:
    """Palette entries ``i < j`` that look alike with a deficiency: the ΔE2000 of the simulated
    colours, and of the colours themselves for comparison."""

    i: int
    j: int
    delta_e: float
    delta_e_normal: float


def confusable_pairs(colors, deficiency: str, threshold: float = CONFUSABLE_DE) -> list[ConfusablePair]:
    """The pairs of ``colors`` whose simulated colours are less than ``threshold`` ΔE2000 apart.

    Parameters
    ----------
    colors : (N, 3) uint8 array
        A palette.
    deficiency : str
        One of :data:`VISIONS` ('normal': the pairs close for everyone).
    threshold : float
        CIEDE2000 below which a pair is flagged (default 3).

    Returns
    -------
    list of ConfusablePair
        Closest first. A pair already closer than ``threshold`` in normal
        vision is flagged too (it is confusable for everyone).

    Raises
    ------
    KmqError
        An unknown deficiency, or more than :data:`kmq_core.wcag.MAX_PAIR_COLORS` colours.
    """
    from .metrics import delta_e2000
    from .wcag import check_pair_count

    colors = np.asarray(colors)
    if colors.ndim != 2 or colors.shape[1] != 3:
        raise KmqError(f"a palette needs n×3 colours, got shape {colors.shape}")
    check_pair_count(len(colors))  # the pairs grow with N²: a 65,535-colour file would need 2·10⁹
    if colors.dtype != np.uint8:
        if colors.size and (colors.min() < 0 or colors.max() > 255):
            raise KmqError("palette colours must be 0-255")
        colors = colors.astype(np.uint8)
    seen = simulate(colors, deficiency)
    i, j = np.triu_indices(len(colors), 1)
    if not len(i):
        return []
    de = delta_e2000(seen[i], seen[j])
    close = np.flatnonzero(de < threshold)
    close = close[np.argsort(de[close], kind="stable")]
    normal = delta_e2000(colors[i[close]], colors[j[close]]) if len(close) else np.zeros(0)
    return [ConfusablePair(int(i[c]), int(j[c]), float(de[c]), float(n)) for c, n in zip(close, normal)]
