"""Colour management: read what an embedded ICC profile says, write sRGB.

A photo from a phone is usually encoded in Display P3, one from a camera or a
scanner often in Adobe RGB or ColorMatch RGB; the file carries an ICC profile
that says how its numbers map to colours. Read as if they were sRGB (what kmq
did before), those numbers give duller or shifted colours, wrong palettes and
wrong swatches. So on load kmq converts the pixels to sRGB through the profile
with littleCMS (Pillow's :mod:`PIL.ImageCms`), relative colorimetric intent as
browsers use for images (black point compensation for CMYK, as image editors
do), and writes PNGs tagged sRGB (a 13-byte ``sRGB`` chunk), so palettes,
swatch files and the PNG all hold the colours a colour-managed viewer showed.
A file without a profile is sRGB, as browsers and the CSS specification assume.

With ``profile="keep"`` the pixels are quantized in the numbers of their own
profile instead, and the profile is embedded in the PNG (``iCCP``): for people
who work in a wide gamut and want to keep it. Palettes are then in that space,
not sRGB.

An embedded profile that is sRGB in effect (many are: "sRGB IEC61966-2.1",
"sRGB built-in", ...) is recognised by what it does, not by its name: colours
taken through it that land within one 8-bit level of where they started mean
the file is read as it is, with no rounding from a needless conversion.

References
----------
.. [1] International Color Consortium, "Specification ICC.1:2022 (profile
   version 4.4.0.0)".
.. [2] W3C, "PNG Specification (Third Edition)", sRGB and iCCP chunks.
"""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageCms

from .options import check_profile

#: 8-bit levels by which a profile's result may differ from its input and still count as sRGB
SRGB_TOLERANCE = 1
#: the sRGB chunk's rendering-intent byte (0: perceptual, what libpng and browsers write)
SRGB_INTENT = 0


@lru_cache(maxsize=1)
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=16)
def _open_profile(icc: bytes) -> ImageCms.ImageCmsProfile | None:
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        return None


def profile_name(icc: bytes) -> str:
    """The profile's description ("Display P3", "Adobe RGB (1998)"), or "unnamed"."""
    p = _open_profile(bytes(icc))
    if p is None:
        return "unreadable"
    try:
        name = ImageCms.getProfileDescription(p).strip()
    except ImageCms.PyCMSError:
        name = ""
    return name or "unnamed"


def _space(p: ImageCms.ImageCmsProfile) -> str:
    return p.profile.xcolor_space.strip().upper()  # 'RGB', 'GRAY', 'CMYK', ...


@lru_cache(maxsize=16)
def _transform(icc: bytes, in_mode: str, out_mode: str) -> ImageCms.ImageCmsTransform:
    src = _open_profile(icc)
    flags = ImageCms.Flags.BLACKPOINTCOMPENSATION if in_mode == "CMYK" else ImageCms.Flags.NONE
    return ImageCms.buildTransform(src, _srgb(), in_mode, out_mode,
                                   renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, flags=flags)


@lru_cache(maxsize=16)
def is_srgb(icc: bytes) -> bool:
    """True when an RGB profile maps colours within :data:`SRGB_TOLERANCE` of sRGB."""
    p = _open_profile(bytes(icc))
    if p is None or _space(p) != "RGB":
        return False
    levels = np.linspace(0, 255, 6).round().astype(np.uint8)
    grid = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(1, -1, 3)
    try:
        out = np.asarray(_transform(bytes(icc), "RGB", "RGB").apply(Image.fromarray(grid, "RGB")))
    except ImageCms.PyCMSError:
        return False
    return int(np.abs(out.astype(np.int16) - grid).max()) <= SRGB_TOLERANCE


def to_working_space(img: Image.Image, notes: list[str], profile: str = "srgb") -> tuple[Image.Image, bytes | None]:
    """Apply an image's embedded ICC profile, as :func:`kmq_core.loading.load_image` needs.

    Parameters
    ----------
    img : PIL.Image.Image
        A decoded image (any mode); its ``info["icc_profile"]`` is read.
    notes : list of str
        What was done is appended, for the user (``--json`` "notes").
    profile : {'srgb', 'keep'}
        ``'srgb'``: convert to sRGB. ``'keep'``: leave the numbers as they are
        and hand back the profile, to embed in the output (RGB profiles only:
        an indexed PNG cannot carry a grey or CMYK profile, so those are
        converted, with a note).

    Returns
    -------
    image : PIL.Image.Image
        The image to go on with (``RGB``/``RGBA`` after a conversion, else as given).
    icc : bytes or None
        The profile to embed in the output, or None for sRGB.
    """
    profile = check_profile(profile)
    icc = img.info.get("icc_profile")
    if not icc:
        return img, None
    icc = bytes(icc)
    p = _open_profile(icc)
    if p is None:
        notes.append("the embedded ICC profile is unreadable: colours read as sRGB")
        return img, None
    space, name = _space(p), profile_name(icc)
    mode = img.mode
    if mode in ("P", "PA", "1"):
        img = img.convert("RGBA" if ("transparency" in img.info or mode == "PA") else "RGB")
    elif mode in ("La", "RGBa"):  # premultiplied alpha
        img = img.convert({"La": "LA", "RGBa": "RGBA"}[mode])
    base_mode = {"RGB": "RGB", "RGBA": "RGB", "L": "L", "LA": "L", "CMYK": "CMYK"}.get(img.mode)
    wanted = {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}.get(space)
    if base_mode is None or base_mode != wanted:
        notes.append(f"ignored the ICC profile {name!r} ({space} profile on a {mode} image): colours read as sRGB")
        return img, None
    if space == "RGB" and is_srgb(icc):
        return img, None  # already sRGB: no conversion, tagged sRGB on output
    if profile == "keep" and space == "RGB":
        notes.append(f"kept the colour profile {name!r}: quantized in its colours and embedded in the PNG")
        return img, icc
    alpha = img.getchannel("A") if img.mode in ("RGBA", "LA") else None
    base = img.convert(base_mode) if img.mode != base_mode else img
    try:
        out = _transform(icc, base_mode, "RGB").apply(base)
    except ImageCms.PyCMSError as e:
        notes.append(f"the ICC profile {name!r} could not be applied ({e}): colours read as sRGB")
        return img, None
    if alpha is not None:
        out.putalpha(alpha)
    out.info = {k: v for k, v in img.info.items() if k != "icc_profile"}
    kept = " (profile='keep' works on RGB profiles only)" if profile == "keep" else ""
    notes.append(f"colour profile {name!r} converted to sRGB{kept}")
    return out, None


def png_params(icc: bytes | None, *, exif: bytes | None = None, text: dict | None = None) -> dict:
    """Pillow ``save(..., 'PNG', **params)`` arguments that tag a PNG's colours.

    ``icc`` None tags it sRGB (an ``sRGB`` chunk, 13 bytes); bytes embed that
    profile (``iCCP``). ``exif`` and ``text`` carry metadata over (``eXIf``,
    ``tEXt``/``iTXt``); leave them out to strip it.
    """
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    params: dict = {"pnginfo": info}
    if icc:
        params["icc_profile"] = bytes(icc)
    else:
        info.add(b"sRGB", bytes([SRGB_INTENT]))
    for key, value in (text or {}).items():
        try:
            info.add_itxt(str(key), str(value)) if not str(value).isascii() else info.add_text(str(key), str(value))
        except (ValueError, TypeError):
            continue
    if exif:
        params["exif"] = bytes(exif)
    return params


def to_srgb_array(pixels: np.ndarray, icc: bytes) -> np.ndarray:
    """RGB(A) uint8 pixels in profile ``icc`` -> sRGB, as a colour-managed viewer shows them."""
    px = np.ascontiguousarray(pixels, np.uint8)
    rgb = Image.fromarray(px[..., :3], "RGB")
    out = np.asarray(_transform(bytes(icc), "RGB", "RGB").apply(rgb))
    return np.dstack([out, px[..., 3]]) if px.shape[-1] == 4 else out


__all__ = ["to_working_space", "png_params", "profile_name", "is_srgb", "to_srgb_array"]
