"""The options of a quantization: names, defaults, ranges, choices, and their checks.

Everything a user can set about the colours lives here once, in the spirit of
libimagequant's ``Attributes`` (each setting validated when it is set) and
scikit-learn's declared parameter constraints:

- :data:`SPECS`: one :class:`OptionSpec` per option (default, range or choices, a
  label and a one-line help), from which the command line, the Streamlit app, the
  GIMP plug-in and batch build their controls and help text;
- :class:`QuantizeOptions`: one frozen, validated set of options; its
  :meth:`~QuantizeOptions.fingerprint` keys the batch manifest and its
  :meth:`~QuantizeOptions.to_dict`/:meth:`~QuantizeOptions.from_dict` carry it to
  the GIMP bridge;
- the ``check_*`` functions each spec uses, usable on their own.

This module imports nothing outside the standard library but :mod:`kmq_core.errors`
and :mod:`kmq_core.hexcodes`, so a GIMP whose Python lacks numpy can import it and
validate with the real checks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Callable

from .errors import KmqError
from .hexcodes import hex_code, split_hex_list

K_MIN = 1
K_MAX = 256
DEFAULT_K = 16
SPACES = ("perceptual", "de2000", "lab", "oklab", "rgb")
DEFAULT_SPACE = "perceptual"  # chosen by measurement: see README "Performance"
DITHERS = ("none", "fs", "bayer", "bluenoise")
DEFAULT_DITHER = "none"  # chosen by measurement (rate-quality, BD-rate): see README "Performance"
#: sides of the Bayer matrix (dither="bayer" only); 8 is the matrix kmq has always used
BAYER_SIZES = (2, 4, 8)
DEFAULT_BAYER_SIZE = 8
DEFAULT_SEED = 0
#: refuse images above this many pixels unless told otherwise (100 megapixels)
DEFAULT_MAX_PIXELS = 100_000_000


def _whole_number(value: object) -> int:
    """``int(value)`` for an int, an integral float or a numeral; ValueError (or TypeError)
    for anything else, bools included."""
    if isinstance(value, bool):
        raise ValueError
    n = int(value)  # type: ignore[call-overload]
    if isinstance(value, float) and n != value:
        raise ValueError
    return n


def check_k(k: object) -> int:
    """Return ``k`` as an int in 1..256, or raise :class:`KmqError`."""
    try:
        value = _whole_number(k)
        if isinstance(k, str) and k.strip() != str(value):  # '+8', '08': not how a count is written
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
    elif d in ("blue-noise", "blue_noise"):
        d = "bluenoise"
    if d not in DITHERS:
        raise KmqError(f"unknown dithering {dither!r}: choose one of {', '.join(DITHERS)}")
    return d


def check_bayer_size(size: object) -> int:
    """Return the Bayer matrix side as an int in BAYER_SIZES (``4``, ``'4'``, ``'4x4'``), or raise :class:`KmqError`."""
    bad = KmqError(f"the Bayer size must be one of {', '.join(map(str, BAYER_SIZES))}, got {size!r}")
    if isinstance(size, bool):
        raise bad
    if isinstance(size, str):
        text = size.strip().lower()
        side, sep, other = text.partition("x")
        if sep and side != other:
            raise bad
        size = side
    try:
        value = int(size)  # type: ignore[call-overload]
        if isinstance(size, float) and value != size:
            raise ValueError
    except (TypeError, ValueError):
        raise bad from None
    if value not in BAYER_SIZES:
        raise bad
    return value


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


# ---- palette order (kmq_core.palette_ops.sort_palette) ------------------------------------------
#: share: most used first; hue, lightness; strip: a smooth path through the colours
SORT_KEYS = ("share", "hue", "lightness", "strip")
DEFAULT_SORT = "share"


# ---- moods (kmq_core.moods) ---------------------------------------------------------------------
#: palettes of the image's own colours chosen for a mood (Adobe Color's "Extract theme" moods);
#: None (the default): the k colours that best reproduce the image
MOODS = ("colorful", "bright", "muted", "deep", "dark")
MOOD_LABELS = ("Colourful", "Bright", "Muted", "Deep", "Dark")


def check_mood(mood: object) -> str | None:
    """Return the mood as one of :data:`MOODS` (``'colourful'`` spelt either way), or None for
    none (``None``, ``''``, ``'none'``); raise :class:`KmqError` for anything else."""
    if mood is None:
        return None
    m = str(mood).strip().lower()
    if m in ("", "none", "best"):
        return None
    if m == "colourful":
        m = "colorful"
    if m not in MOODS:
        raise KmqError(f"unknown mood {mood!r}: choose one of {', '.join(MOODS)} (or none)")
    return m


# ---- seed, locked colours, limits ------------------------------------------------------------------
def check_seed(seed: object) -> int:
    """Return ``seed`` as an int (any whole number: same seed, same result), or raise :class:`KmqError`."""
    try:
        return _whole_number(seed)
    except (TypeError, ValueError):
        raise KmqError(f"seed must be a whole number, got {seed!r}") from None


def check_lock(lock: object) -> str | None:
    """Locked colours as canonical text (``'#ff0000,#0000ff'``, order and repeats kept) or None.

    Takes ``'#f00, #0000ff'`` (commas, semicolons or spaces), a sequence of hex codes, a
    :class:`~kmq_core.palette.Palette` or an N×3 array of 0-255 values (the last two need numpy,
    which their caller has already imported).
    """
    if lock is None:
        return None
    if isinstance(lock, str):
        colours = split_hex_list(lock)
    elif hasattr(lock, "hex") and hasattr(lock, "colors"):  # a Palette: its hex codes are canonical
        return ",".join(lock.hex) or None
    else:
        from .palette import as_lock  # an array: numpy is there already

        colours = [tuple(int(v) for v in c) for c in as_lock(lock)]
    return ",".join(hex_code(c) for c in colours) or None


def lock_colours(lock: object) -> list[tuple[int, int, int]]:
    """The locked colours of ``lock`` (any form :func:`check_lock` takes) as RGB tuples."""
    return split_hex_list(check_lock(lock))


def check_lock_fits(n_locked: int, k: int) -> None:
    """Raise :class:`KmqError` when ``n_locked`` locked colours do not fit in a palette of ``k``."""
    if n_locked > k:
        raise KmqError(f"{n_locked} locked colours do not fit in a palette of k={k}")


def check_max_pixels(value: object) -> int | None:
    """The pixel limit: a whole number of pixels (0 or None: no limit)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("none", "unlimited", "")):
        return None
    try:
        n = float(value)  # type: ignore[arg-type]
        if n < 0 or n != n or isinstance(value, bool):
            raise ValueError
    except (TypeError, ValueError):
        raise KmqError(f"the pixel limit must be a number of pixels (or none), got {value!r}") from None
    return int(n) or None


def check_max_frames(value: object) -> int | None:
    """The frame limit: a whole number of frames, at least 1 (None: no limit)."""
    if value is None:
        return None
    try:
        n = _whole_number(value)
    except (TypeError, ValueError):
        raise KmqError(f"the frame limit must be a whole number of frames, got {value!r}") from None
    if n < 1:
        raise KmqError(f"the frame limit must be at least 1, got {n}")
    return n


def check_optional_quality(quality: object) -> tuple[int, int] | None:
    """``None`` or ``''``: no quality target; anything else as :func:`check_quality`."""
    if quality is None or (isinstance(quality, str) and not quality.strip()):
        return None
    return check_quality(quality)


# ---- the declared options ----------------------------------------------------------------------------
@dataclass(frozen=True)
class OptionSpec:
    """One option as every front end offers it.

    Attributes
    ----------
    name : str
        The name in the library, the GIMP bridge and JSON (``bayer_size``); the command
        line spells it ``--bayer-size``, GIMP ``bayer-size``.
    default
        The default, the same in every front end.
    check : callable
        Validates and normalises a value (raises :class:`KmqError`).
    label, help : str
        What a control shows, and one line on what the option does.
    choices : tuple
        The accepted values of a choice option (empty otherwise), with ``choice_labels``.
    low, high : number or None
        The range of a numeric option.
    """

    name: str
    default: Any
    check: Callable[[Any], Any]
    label: str
    help: str
    choices: tuple = ()
    choice_labels: tuple = ()
    low: float | None = None
    high: float | None = None

    def label_of(self, choice: str) -> str:
        """The label of one of the choices."""
        return dict(zip(self.choices, self.choice_labels)).get(choice, choice)


SPACE_LABELS = ("Perceptual (best looking)", "CIEDE2000-shaped CIELAB (lowest mean ΔE)", "CIELAB", "OKLab",
                "sRGB (highest PSNR)")
DITHER_LABELS = ("None", "Floyd-Steinberg (adaptive)", "Ordered (Bayer, adaptive)", "Blue noise (ordered)")

SPECS: dict[str, OptionSpec] = {s.name: s for s in (
    OptionSpec("k", DEFAULT_K, check_k, "Number of colours (k)", f"number of colours, {K_MIN}-{K_MAX}",
               low=K_MIN, high=K_MAX),
    OptionSpec("space", DEFAULT_SPACE, check_space, "Colour space", "colour space for fitting and matching",
               choices=SPACES, choice_labels=SPACE_LABELS),
    OptionSpec("dither", DEFAULT_DITHER, check_dither, "Dithering", "dithering in smooth areas",
               choices=DITHERS, choice_labels=DITHER_LABELS),
    OptionSpec("bayer_size", DEFAULT_BAYER_SIZE, check_bayer_size, "Bayer size",
               "side of the Bayer matrix (Bayer dithering only)", choices=BAYER_SIZES,
               choice_labels=tuple(f"{n}×{n}" for n in BAYER_SIZES)),
    OptionSpec("strength", DEFAULT_STRENGTH, check_strength, "Dithering strength", "how strongly to dither, 0-1",
               low=0.0, high=1.0),
    OptionSpec("lossy", DEFAULT_LOSSY, check_lossy, "Lossy",
               "let a pixel repeat its neighbour's colour where texture hides the difference (0: exact)",
               low=LOSSY_MIN, high=LOSSY_MAX),
    OptionSpec("seed", DEFAULT_SEED, check_seed, "Seed", "random seed: same seed, same result"),
    OptionSpec("lock", None, check_lock, "Lock colours",
               "colours that must stay in the palette unchanged, e.g. brand colours"),
    OptionSpec("mood", None, check_mood, "Mood",
               "pick the palette's colours from the image for a mood (default: the colours that best "
               "reproduce the image)", choices=MOODS, choice_labels=MOOD_LABELS),
    OptionSpec("max_pixels", DEFAULT_MAX_PIXELS, check_max_pixels, "Pixel limit",
               "refuse larger images (decompression bombs)", low=0),
    OptionSpec("profile", DEFAULT_PROFILE, check_profile, "Colour profile",
               "srgb: convert an embedded ICC profile to sRGB; keep: quantize the numbers and embed the profile",
               choices=PROFILES, choice_labels=("Convert to sRGB", "Keep the image's profile")),
    OptionSpec("quality", None, check_optional_quality, "Quality (MIN-MAX)",
               "the fewest colours (up to k) whose quality, 100 - 10 x mean CIEDE2000, reaches MAX",
               low=QUALITY_MIN, high=QUALITY_MAX),
    OptionSpec("frame_palette", DEFAULT_FRAME_PALETTE, check_frame_palette, "Frame palette",
               "animations: one palette for every frame, or one per frame started from the last",
               choices=FRAME_PALETTES, choice_labels=("One for all frames", "One per frame")),
    OptionSpec("max_frames", DEFAULT_MAX_FRAMES, check_max_frames, "Frame limit",
               "refuse animations with more frames", low=1),
)}


@dataclass(frozen=True)
class QuantizeOptions:
    """One validated set of quantization options (libimagequant's ``Attributes``).

    Every field is checked and normalised when the object is made (``dither='blue-noise'``
    becomes ``'bluenoise'``, ``lock='#F00'`` becomes ``'#ff0000'``), and the locked
    colours must fit in ``k``; a bad value raises :class:`KmqError`. The object is
    frozen: :meth:`replace` gives a changed copy, validated again.

    Examples
    --------
    >>> o = QuantizeOptions(k=8, dither="floyd-steinberg", lock="#F00")
    >>> o.dither, o.lock, o.replace(k=4).k
    ('fs', '#ff0000', 4)
    """

    k: int = DEFAULT_K
    space: str = DEFAULT_SPACE
    dither: str = DEFAULT_DITHER
    bayer_size: int = DEFAULT_BAYER_SIZE
    strength: float = DEFAULT_STRENGTH
    lossy: float = DEFAULT_LOSSY
    seed: int = DEFAULT_SEED
    lock: str | None = None
    mood: str | None = None
    max_pixels: int | None = DEFAULT_MAX_PIXELS
    profile: str = DEFAULT_PROFILE
    quality: tuple[int, int] | None = None
    frame_palette: str = DEFAULT_FRAME_PALETTE
    max_frames: int | None = DEFAULT_MAX_FRAMES

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, SPECS[f.name].check(getattr(self, f.name)))
        check_lock_fits(len(self.lock_colours), self.k)

    @property
    def lock_colours(self) -> list[tuple[int, int, int]]:
        """The locked colours as RGB tuples."""
        return split_hex_list(self.lock)

    @property
    def lock_hex(self) -> list[str]:
        """The locked colours as hex codes."""
        return [hex_code(c) for c in self.lock_colours]

    def replace(self, **changes) -> "QuantizeOptions":
        """A copy with ``changes``, validated again."""
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """The options as plain JSON-able values (``quality`` as ``'MIN-MAX'`` or None)."""
        d = asdict(self)
        d["quality"] = None if self.quality is None else f"{self.quality[0]}-{self.quality[1]}"
        return d

    @classmethod
    def from_dict(cls, values: dict) -> "QuantizeOptions":
        """Options from a dict of option names (missing ones take their defaults); an unknown
        name raises :class:`KmqError`."""
        unknown = sorted(set(values) - set(SPECS))
        if unknown:
            raise KmqError(f"unknown options {unknown}: the options are {', '.join(SPECS)}")
        return cls(**values)

    def quantize_kwargs(self) -> dict:
        """The keyword arguments of :func:`kmq_core.quantize` (all but ``k``) for these options."""
        out = dict(space=self.space, dither=self.dither, seed=self.seed, lock=self.lock,
                   max_pixels=self.max_pixels, profile=self.profile, lossy=self.lossy,
                   strength=self.strength, bayer_size=self.bayer_size)
        if self.mood is not None:  # only when set: the animation functions take no mood
            out["mood"] = self.mood
        return out

    def pixel_fields(self) -> dict:
        """What decides the pixels of a result, for fingerprints.

        ``k``, ``space``, ``dither``, ``seed`` and the locked colours always; an option
        added later only where it changes the pixels (the Bayer size with Bayer
        dithering, the others when not at their defaults), so the fingerprints written
        before it existed stay valid.
        """
        out: dict = {"k": self.k, "space": self.space, "dither": self.dither, "seed": self.seed,
                     "lock": self.lock_hex}
        if self.dither == "bayer" and self.bayer_size != DEFAULT_BAYER_SIZE:
            out["bayer_size"] = self.bayer_size
        if self.mood is not None:
            out["mood"] = self.mood
        for name in ("strength", "lossy", "profile"):
            if getattr(self, name) != SPECS[name].default and (name != "strength" or self.dither != "none"):
                out[name] = getattr(self, name)
        return out

    def fingerprint(self, **extra) -> str:
        """A short digest of :meth:`pixel_fields` and ``extra`` (the batch manifest's key)."""
        fields_ = {**self.pixel_fields(), **extra}
        return hashlib.sha256(json.dumps(fields_, sort_keys=True).encode()).hexdigest()[:20]
