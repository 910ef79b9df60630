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
SPACES = ("perceptual", "de2000", "lab", "oklab", "rgb")
DEFAULT_SPACE = "perceptual"  # chosen by measurement: see README "Performance"
DITHERS = ("none", "fs", "bayer")
DEFAULT_DITHER = "none"  # chosen by measurement (rate-quality, BD-rate): see README "Performance"
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


#: rate-aware label choice (kmq_core.dithering): 0 off; the default chosen by measurement
LOSSY_MIN, LOSSY_MAX = 0.0, 16.0
DEFAULT_LOSSY = 1.0
#: how strongly to dither, 0..1 (scales the dither map)
DEFAULT_STRENGTH = 1.0


def _check_number(value: object, name: str, lo: float, hi: float) -> float:
    """``value`` as a float in lo..hi, or a :class:`KmqError` naming ``name``."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise KmqError(f"{name} must be a number from {lo:g} to {hi:g}, got {value!r}") from None
    if not lo <= x <= hi:
        raise KmqError(f"{name} must be from {lo:g} to {hi:g}, got {x:g}")
    return x


def check_lossy(lossy: object) -> float:
    """Return ``lossy`` as a float in LOSSY_MIN..LOSSY_MAX, or raise :class:`KmqError`."""
    return _check_number(lossy, "lossy", LOSSY_MIN, LOSSY_MAX)


def check_strength(strength: object) -> float:
    """Return the dithering ``strength`` as a float in 0..1, or raise :class:`KmqError`."""
    return _check_number(strength, "dithering strength", 0.0, 1.0)


def check_dither(dither: str | bool | None) -> str:
    if dither is None or dither is False:
        return "none"
    if dither is True:
        return "fs"
    d = str(dither).lower()
    if d in ("floyd-steinberg", "floyd_steinberg", "floydsteinberg"):
        d = "fs"
    elif d in ("ordered", "positioned"):
        d = "bayer"
    if d not in DITHERS:
        raise KmqError(f"unknown dithering {dither!r}: choose one of {', '.join(DITHERS)}")
    return d


# ---- animations (kmq_core.animation) ------------------------------------------------------------
#: one palette for all frames, or one per frame started from the last
FRAME_PALETTES = ("shared", "per-frame")
DEFAULT_FRAME_PALETTE = "shared"  # chosen by measurement: see benchmarks/README.md (anim)
#: refuse animations with more frames than this unless told otherwise
DEFAULT_MAX_FRAMES = 2000


def check_frame_palette(mode: str) -> str:
    m = str(mode).lower().replace("_", "-")
    if m in ("perframe", "frame", "local"):
        m = "per-frame"
    elif m in ("global", "one"):
        m = "shared"
    if m not in FRAME_PALETTES:
        raise KmqError(f"unknown frame palette {mode!r}: choose one of {', '.join(FRAME_PALETTES)}")
    return m


# ---- quality target and colour profiles (issue 17) -----------------------------------------------
#: the quality scale, as pngquant's ``--quality``: 0 worst, 100 exact. kmq ties it to the mean
#: CIEDE2000 ΔE of the result: quality = 100 - 10·ΔE (see kmq_core.auto_k)
QUALITY_MIN, QUALITY_MAX = 0, 100
#: what happens to an embedded ICC profile: convert the pixels to sRGB (default), or keep the
#: profile (pixels quantized as they are, profile embedded in the PNG)
PROFILES = ("srgb", "keep")
DEFAULT_PROFILE = "srgb"


def check_quality(quality: object) -> tuple[int, int]:
    """``'MIN-MAX'`` (or ``'MAX'``, ``'-MAX'``, ``'MIN-'``, a number, a pair) -> ``(min, max)``.

    The same forms as pngquant's ``--quality``: ``'65-80'``; ``'80'`` alone means
    ``'72-80'`` (min = 9/10 of max, as pngquant does); ``'-80'`` is ``'0-80'``;
    ``'65-'`` is ``'65-100'``. Raises :class:`KmqError` for anything else.
    """
    bad = KmqError(f"quality must be MIN-MAX with whole numbers from {QUALITY_MIN} to {QUALITY_MAX} "
                   f"(e.g. 65-80), got {quality!r}")
    if isinstance(quality, bool):
        raise bad
    if isinstance(quality, (tuple, list)):
        if len(quality) != 2:
            raise bad
        parts = [str(quality[0]), str(quality[1])]
    elif isinstance(quality, int):
        parts = ["", str(quality)]
    else:
        text = str(quality).strip()
        if text.count("-") > 1:
            raise bad
        if "-" not in text:
            parts = ["", text]
        else:
            parts = text.split("-")
            if parts[1] == "" and parts[0] == "":
                raise bad
            if parts[1] == "":
                parts[1] = str(QUALITY_MAX)
    try:
        hi = int(parts[1].strip())
        lo = int(parts[0].strip()) if parts[0].strip() else None
    except ValueError:
        raise bad from None
    if lo is None:
        # a lone number is the target; pngquant sets the minimum to 9/10 of it ('-80' means 0-80)
        lo = 0 if str(quality).strip().startswith("-") else hi * 9 // 10
    if not (QUALITY_MIN <= lo <= QUALITY_MAX and QUALITY_MIN <= hi <= QUALITY_MAX):
        raise KmqError(f"quality must be from {QUALITY_MIN} to {QUALITY_MAX}, got {quality!r}")
    if lo > hi:
        raise KmqError(f"the quality minimum ({lo}) is above the maximum ({hi})")
    return lo, hi


def check_profile(profile: str) -> str:
    p = str(profile).lower()
    if p not in PROFILES:
        raise KmqError(f"unknown profile handling {profile!r}: choose one of {', '.join(PROFILES)}")
    return p
