"""Option names, choices and defaults shared by every front end.

The CLI, the Streamlit app and the GIMP plug-in all read these, so a user sees
the same vocabulary (k, space, dither, seed, lock) with the same defaults
everywhere.
"""

from __future__ import annotations

from .errors import KmqError

K_MIN = 1
K_MAX = 256
DEFAULT_K = 16
SPACES = ("de2000", "lab", "oklab", "rgb")
DEFAULT_SPACE = "de2000"  # chosen by measurement: see README "Performance"
DITHERS = ("none", "fs")
DEFAULT_DITHER = "none"
DEFAULT_SEED = 0
#: refuse images above this many pixels unless told otherwise (100 megapixels)
DEFAULT_MAX_PIXELS = 100_000_000


def check_k(k: object) -> int:
    """Return ``k`` as an int in 1..256, or raise :class:`KmqError`."""
    if isinstance(k, bool):
        raise KmqError(f"k must be a whole number from {K_MIN} to {K_MAX}, got {k!r}")
    try:
        value = int(k)  # type: ignore[call-overload]
        if isinstance(k, float) and value != k:
            raise ValueError
        if isinstance(k, str) and k.strip() != str(value):
            raise ValueError
    except (TypeError, ValueError):
        raise KmqError(f"k must be a whole number from {K_MIN} to {K_MAX}, got {k!r}") from None
    if not K_MIN <= value <= K_MAX:
        raise KmqError(f"k must be from {K_MIN} to {K_MAX}, got {value}")
    return value


def check_space(space: str) -> str:
    s = str(space).lower()
    if s not in SPACES:
        raise KmqError(f"unknown colour space {space!r}: choose one of {', '.join(SPACES)}")
    return s


def check_dither(dither: str | bool | None) -> str:
    if dither is None or dither is False:
        return "none"
    if dither is True:
        return "fs"
    d = str(dither).lower()
    if d in ("floyd-steinberg", "floyd_steinberg", "floydsteinberg"):
        d = "fs"
    if d not in DITHERS:
        raise KmqError(f"unknown dithering {dither!r}: choose one of {', '.join(DITHERS)}")
    return d
