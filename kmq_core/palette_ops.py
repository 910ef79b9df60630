"""Operations on palettes for designers: order and name.

Colour names come from the xkcd colour survey (about 800 names that some
222,500 people gave to colours, dark and muted ones included; CC0), shipped in
``kmq_core/data/colour_names.tsv``: a colour takes the nearest name by
CIEDE2000 when it is within ΔE 5 and a plain description ("dark olive")
otherwise, so no swatch is called after a colour that looks different.

All colour maths happens in CIELAB (D65, scikit-image's ``rgb2lab`` through
:func:`kmq_core.colorspace.srgb_to_cielab`) because
distances there follow what the eye sees. Colour differences are CIEDE2000
(``deltaE_ciede2000``): a ΔE of about 1 is the smallest difference a trained eye
notices side by side, about 2.3 is a "just noticeable difference" for most
people, and above 5 two swatches read as different colours [1]_.

Every function takes a :class:`~kmq_core.palette.Palette` and returns a new one;
nothing is changed in place.

References
----------
.. [1] G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference formula:
   implementation notes, supplementary test data, and mathematical
   observations", Color Research & Application 30(1), 2005.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from skimage.color import deltaE_ciede2000

from .colorspace import srgb_to_cielab
from .errors import KmqError
from .options import SORT_KEYS  # the orders, declared with the other options
from .palette import Palette, order_by_share

#: chroma (C*ab) below which a colour counts as a gray for hue-based orderings
GRAY_CHROMA = 8.0
#: lightness bands (L* edges) used by the "strip" ordering
STRIP_BANDS = (0.0, 35.0, 65.0, 100.01)



def to_lab(colors: np.ndarray) -> np.ndarray:
    """8-bit sRGB colours (n×3) to CIELAB D65 (n×3 float64)."""
    return srgb_to_cielab(np.asarray(colors, dtype=np.float64).reshape(-1, 1, 3) / 255.0)


def _lch(colors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lab = to_lab(colors)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360.0
    return lab[:, 0], chroma, hue


def sort_order(colors: np.ndarray, weights: np.ndarray, by: str = "share") -> np.ndarray:
    """Indices that order ``colors`` by ``by`` (see :func:`sort_palette`)."""
    if by not in SORT_KEYS:
        raise KmqError(f"unknown palette order {by!r}: choose one of {', '.join(SORT_KEYS)}")
    n = len(colors)
    if n == 0:
        return np.zeros(0, np.intp)
    index = np.arange(n)
    if by == "share":
        return order_by_share(np.asarray(weights, np.float64))  # ties keep palette order
    lightness, chroma, hue = _lch(colors)
    gray = chroma < GRAY_CHROMA
    if by == "lightness":
        return np.lexsort((index, hue, lightness))
    if by == "hue":
        # grays have no meaningful hue: put them first, dark to light
        hue_key = np.where(gray, -1.0, hue)
        light_key = np.where(gray, lightness, 0.0)
        return np.lexsort((index, lightness, light_key, hue_key))
    # "strip": grays first (dark to light), then chromatic colours in three
    # lightness bands (dark, mid, light), each band running through the hues.
    band = np.digitize(lightness, STRIP_BANDS[1:-1])
    group = np.where(gray, -1, band)
    hue_key = np.where(gray, 0.0, hue)
    light_key = np.where(gray, lightness, 0.0)
    return np.lexsort((index, lightness, hue_key, light_key, group))


def sort_palette(p: Palette, by: str = "share") -> Palette:
    """Reorder a palette.

    Parameters
    ----------
    p : Palette
    by : {"share", "hue", "lightness", "strip"}
        ``"share"``: most used colour first (ties keep their order).
        ``"hue"``: grays (C*ab < 8) first from dark to light, then the other
        colours by CIELAB hue angle from red through yellow, green, blue to
        magenta. ``"lightness"``: by L*, dark to light.
        ``"strip"``: the order that reads well as a row of swatches: grays
        first from dark to light, then the colours in three lightness bands
        (L* < 35, 35–65, > 65), each band running through the hues from red
        to magenta, so similar colours sit together and light and dark ones do
        not alternate.

    Returns
    -------
    Palette
        The same entries (colours, names, weights) in the new order.
    """
    return p.take(sort_order(p.colors, p.weights, by))


#: a colour is named after the nearest entry of the naming set only when it is at most this
#: far (CIEDE2000): above 5 two swatches read as different colours (see the module notes).
#: Farther colours get a descriptive name (:func:`describe_colour`), never a far-off one.
NAME_MAX_DELTA_E = 5.0
#: the naming set: the xkcd colour survey's names (CC0), see the file's header
NAMES_FILE = "colour_names.tsv"


@lru_cache(maxsize=1)
def _name_table() -> tuple[tuple[str, ...], np.ndarray]:
    from importlib import resources

    names, rgb = [], []
    for line in (resources.files("kmq_core") / "data" / NAMES_FILE).read_text("utf-8").splitlines():
        if line and not line.startswith("#"):
            name, code = line.split("\t")
            names.append(name)
            rgb.append([int(code[i:i + 2], 16) for i in (1, 3, 5)])
    return tuple(names), to_lab(np.array(rgb, np.uint8))


#: CIELAB hue angle (degrees) where each hue family starts, for :func:`describe_colour`
_HUES = ((0.0, "red"), (45.0, "orange"), (70.0, "yellow"), (100.0, "lime"), (125.0, "green"),
         (165.0, "teal"), (200.0, "blue"), (290.0, "purple"), (320.0, "magenta"), (350.0, "red"))


def describe_colour(lab: np.ndarray) -> str:
    """A plain descriptive name from lightness, chroma and hue: "dark olive", "greyish blue".

    Used where no name of the naming set is close enough. Neutrals (C*ab < 5) are
    black, white or greys; dark yellows are olive, dark low-chroma oranges and reds
    brown, light reds pink.
    """
    lightness, a, b = (float(v) for v in np.asarray(lab, np.float64).reshape(3))
    chroma = float(np.hypot(a, b))
    hue_angle = float(np.degrees(np.arctan2(b, a)) % 360.0)
    if chroma < 5.0:
        if lightness <= 8:
            return "black"
        if lightness >= 95:
            return "white"
        return {0: "very dark grey", 1: "dark grey", 2: "grey", 3: "light grey"}.get(
            int(np.digitize(lightness, (20, 40, 65, 85))), "very light grey")
    hue = [name for start, name in _HUES if hue_angle >= start][-1]
    if hue in ("orange", "red") and lightness < 50 and chroma < 45:
        hue = "brown"
    elif hue in ("yellow", "lime") and lightness < 60:
        hue = "olive"
    elif hue == "red" and lightness >= 65:
        hue = "pink"
    elif hue == "teal" and lightness >= 60:
        hue = "aqua"
    words = []
    if lightness < 35:
        words.append("dark")
    elif lightness > 75:
        words.append("pale" if chroma < 25 else "light")
    if lightness >= 35 and chroma < 15:
        words.append("greyish")
    return " ".join(words + [hue])


def nearest_names(colors: np.ndarray) -> list[tuple[str, float]]:
    """Each colour's nearest name in the naming set (CIEDE2000) and its ΔE, not made unique."""
    colors = np.asarray(colors)
    if colors.ndim != 2 or colors.shape[1] != 3:
        raise KmqError(f"colours must be n×3, got shape {colors.shape}")
    names, table = _name_table()
    lab = to_lab(colors)
    out: list[tuple[str, float]] = []
    for start in range(0, len(lab), 256):  # bounded memory for big palettes
        chunk = lab[start:start + 256]
        d = deltaE_ciede2000(chunk[:, None, :], table[None, :, :])
        j = np.argmin(d, axis=1)
        out.extend((names[i], float(d[r, i])) for r, i in enumerate(j))
    return out


def colour_names(colors: np.ndarray) -> list[str]:
    """A designer's name for each colour, not made unique: the nearest name of the
    naming set within :data:`NAME_MAX_DELTA_E`, else :func:`describe_colour`."""
    lab = to_lab(np.asarray(colors)) if len(colors) else np.zeros((0, 3))
    return [name if d <= NAME_MAX_DELTA_E else describe_colour(lab[i])
            for i, (name, d) in enumerate(nearest_names(colors))]


def default_names(colors: np.ndarray) -> list[str]:
    """Human-readable, unique names for palette colours.

    Each colour gets the name of the nearest colour of the xkcd colour survey
    (CIEDE2000), e.g. ``"dusty blue"``, when it is within
    :data:`NAME_MAX_DELTA_E`, and a descriptive name such as ``"dark olive"``
    otherwise (:func:`colour_names`); when several colours share a name, the
    second and later ones (in palette order) get ``" 2"``, ``" 3"``… appended
    (``"dusty blue 2"``). No name ends in a digit, so the result is always
    unique.

    Parameters
    ----------
    colors : (n, 3) uint8 array

    Returns
    -------
    list of str
    """
    seen: dict[str, int] = {}
    out = []
    for name in colour_names(colors):
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name} {count}")
    return out


def name_colors(p: Palette) -> Palette:
    """The palette with every entry renamed by :func:`default_names`."""
    return Palette(p.colors, p.weights, tuple(default_names(p.colors)), p.name)
