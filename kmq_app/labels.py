"""Plain words for kmq's options, with the technical name beside them.

The choices and defaults come from :mod:`kmq_core.options` (the CLI and the
GIMP plug-in read the same), so a choice added there shows up here; this
module only knows how to say the ones it knows in plain words, and shows a
new one by its own name until it is given words.
"""

from __future__ import annotations

from kmq_core import options as opt

#: colour space -> (plain words, technical name)
SPACE_WORDS = {
    "perceptual": ("perceptual", "Oklab, weighted where errors show"),
    "de2000": ("colour accurate", "CIEDE2000"),
    "lab": ("perceptual, simpler", "CIELAB ΔE76"),
    "oklab": ("perceptual, fast", "Oklab"),
    "rgb": ("numeric", "RGB distance"),
}
#: dithering -> (plain words, technical name)
DITHER_WORDS = {
    "none": ("none: flat areas", None),
    "fs": ("grain in smooth areas", "adaptive Floyd–Steinberg"),
    "bayer": ("fine pattern in smooth areas", "adaptive ordered, Bayer"),
    "bluenoise": ("fine still grain in smooth areas", "adaptive ordered, blue noise"),
}
#: what happens to an embedded colour profile (the CLI's --profile) -> (plain words, technical name)
PROFILE_WORDS = {
    "srgb": ("convert to sRGB", None),
    "keep": ("keep the image's own profile", None),
}
#: how the number of colours is chosen (the app's k_mode; the URL keeps the short name)
K_MODE_WORDS = {"k": "Number of colours", "target": "Largest ΔE", "quality": "Quality MIN-MAX"}
#: mood (kmq_core.moods; the CLI's --mood) -> plain words; None: no mood
MOOD_WORDS = {None: "none: closest to the image", "colorful": "colourful: the most chromatic",
              "bright": "bright: light and vivid", "muted": "muted: greyish, middle lightness",
              "deep": "deep: rich and dark", "dark": "dark: the darkest"}
#: palette order (kmq_core.palette_ops.SORT_KEYS, the CLI's --sort) -> plain words
ORDER_WORDS = {"share": "most used first", "hue": "by hue", "lightness": "dark to light",
               "strip": "in bands of lightness"}


def _label(value: str, words: dict[str, tuple[str, str | None]], default: str) -> str:
    plain, tech = words.get(value, (value, None))
    text = f"{plain} ({tech})" if tech else plain
    return text + (", default" if value == default else "")


def space_label(space: str) -> str:
    """``'perceptual'`` -> ``'perceptual (Oklab, weighted where errors show), default'``."""
    return _label(space, SPACE_WORDS, opt.DEFAULT_SPACE)


def dither_label(dither: str) -> str:
    """``'fs'`` -> ``'grain in smooth areas (adaptive Floyd–Steinberg), default'``."""
    return _label(dither, DITHER_WORDS, opt.DEFAULT_DITHER)


def bayer_size_label(size: int) -> str:
    """``8`` -> ``'8×8 (64 levels), default'``."""
    return f"{size}×{size} ({size * size} levels)" + (", default" if size == opt.DEFAULT_BAYER_SIZE else "")


def profile_label(profile: str) -> str:
    """``'srgb'`` -> ``'convert to sRGB, default'``."""
    return _label(profile, PROFILE_WORDS, opt.DEFAULT_PROFILE)


def k_mode_label(mode: str) -> str:
    return K_MODE_WORDS.get(mode, mode)


def mood_label(mood: str | None) -> str:
    """``'muted'`` -> ``'muted: greyish, middle lightness'``; None or ``'none'`` -> the default's words."""
    key = None if mood in (None, "none") else mood
    return MOOD_WORDS.get(key, str(key)) + (", default" if key == opt.SPECS["mood"].default else "")


def order_label(order: str) -> str:
    return ORDER_WORDS.get(order, order)


SPACE_HELP = ("How colours are compared when the palette is fitted and each pixel is matched to it. "
              "Perceptual (Oklab, errors weighed more in smooth areas such as skies and skin) looks best to the "
              "eye and the perceptual metrics; colour accurate (CIEDE2000) gives the lowest mean ΔE; numeric (RGB) "
              "gives the highest PSNR. "
              "Command line: `kmq quantize --space " + "|".join(opt.SPACES) + f"` (default {opt.DEFAULT_SPACE}).")
DITHER_HELP = ("Grain (Floyd–Steinberg error diffusion) mixes palette colours in a fine pattern where the "
               "palette's steps would show as bands (skies, gradients), and leaves edges, texture and fine palettes "
               "alone, so the PNG stays small. Ordered (Bayer) is a regular pattern that holds still between "
               "frames; ordered blue noise holds still too, and looks like fine grain without a grid. "
               "Command line: `--dither " + "|".join(opt.DITHERS) + f"` (default {opt.DEFAULT_DITHER}).")
BAYER_SIZE_HELP = ("The side of the Bayer pattern: 8×8 mixes 64 levels between two palette colours; 4×4 and 2×2 "
                   "make a coarser, more visible grid of fewer levels (2×2: a slightly smaller PNG). "
                   "Command line: `--bayer-size " + "|".join(map(str, opt.BAYER_SIZES))
                   + f"` (default {opt.DEFAULT_BAYER_SIZE}).")
K_HELP = (f"How many colours the image keeps, {opt.K_MIN} to {opt.K_MAX}. Type a number or drag. "
          f"Command line: `kmq quantize -k K` (default {opt.DEFAULT_K}).")
QUALITY_HELP = ("kmq finds the fewest colours whose quality reaches MAX, and warns when even "
                f"{opt.K_MAX} colours stay below MIN. Quality is on a {opt.QUALITY_MIN}-{opt.QUALITY_MAX} scale: "
                "100 - 10 x the mean colour difference (CIEDE2000 ΔE), so 90 is a mean ΔE of 1, 77 of 2.3 "
                "(kmq's own scale, not pngquant's numbers). Command line: `kmq quantize --quality MIN-MAX` "
                "(below MIN it writes nothing and exits 99).")
PROFILE_HELP = ("An image with an embedded ICC colour profile (Display P3 from phones, Adobe RGB from cameras) is "
                "converted to sRGB, so that the palette, the swatch files and the PNG (tagged sRGB) hold the colours "
                "you see; or it is quantized in its own profile's numbers, which the PNG then carries. Images "
                "without a profile are sRGB either way. Command line: `--profile " + "|".join(opt.PROFILES)
                + f"` (default {opt.DEFAULT_PROFILE}).")
TARGET_HELP = ("kmq finds the fewest colours whose mean colour difference from the original (CIEDE2000 ΔE) "
               "is at most this: about 1 is barely visible side by side, 2.3 just noticeable, above 5 clearly "
               "different (pngquant's --quality idea, in the unit designers use).")
SEED_HELP = ("k-means starts from random colours; the same number gives the same result every time, another "
             "number a slightly different palette. Command line: `--seed N` "
             f"(default {opt.DEFAULT_SEED}).")
LOCK_HELP = ("Colours that stay in the palette exactly (brand colours): hex codes separated by commas. "
             "Click a swatch to lock or unlock it, or pick one off the image with the eyedropper. "
             "Command line: `--lock '#RRGGBB,...'`.")
MOOD_HELP = ("Without a mood the palette is the k colours that reproduce the image best. A mood picks k of the "
             "image's own colours for a look, as Adobe Color's themes do: each covers at least 1 % of the image "
             "(within ΔE2000 10), chosen by Oklab chroma and lightness (README \"Moods\"). Command line: "
             "`kmq palette IMG --mood " + "|".join(opt.MOODS) + "`.")
EMPHASIS_HELP = ("Mark the part of the image that matters most (a small subject): click two opposite corners on the "
                 "image. The fit then counts the pixels inside fully and the rest a fifth, so the subject's colours "
                 "get swatches of their own. Command line: `--importance MASK` (a greyscale image, white counts "
                 "most).")
