"""A PNG swatch strip (``.png``): a palette a person can look at and share.

Up to 256 colours: one labelled card per colour, up to 8 per row, the hex code
(and the name, shortened to fit) printed under each swatch in Pillow's built-in
font. More colours: a plain grid of small unlabelled cells. The palette itself
is embedded as kmq's JSON (see :mod:`kmq_core.formats.json_`) in a compressed
``iTXt`` chunk named ``kmq-palette``, so ``kmq palette convert strip.png x.gpl``
gives back the exact palette; a PNG without that chunk is refused (kmq does
not guess a palette from pixels here: use ``kmq palette IMAGE`` for that).

Drawing uses Pillow's ``ImageDraw``; nothing here is hand-written maths.
"""

from __future__ import annotations

import io
import json
import warnings

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from ..errors import KmqError
from ..palette import Palette
from . import json_
from ._common import check_size

WHAT = ".png"
EXTENSIONS = ("png",)
HOLDS_NAMES = True
CHUNK = "kmq-palette"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: labelled cards up to this many colours, a plain grid above
MAX_LABELLED = 256
CARD, LABEL_H, GAP, PER_ROW = 112, 40, 8, 8
CELL, CELLS_PER_ROW = 16, 64


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)  # FreeType build: scalable font
    except (TypeError, OSError, ImportError):  # pragma: no cover - Pillow without FreeType
        return ImageFont.load_default()


def _fit(draw: ImageDraw.ImageDraw, s: str, font, width: int) -> str:
    if draw.textlength(s, font=font) <= width:
        return s
    while s and draw.textlength(s + "…", font=font) > width:
        s = s[:-1]
    return s + "…"


def render(p: Palette) -> Image.Image:
    """The swatch image (RGB) for ``p``."""
    n = len(p)
    if n == 0:
        raise KmqError(f"{WHAT}: cannot draw an empty palette")
    if n > MAX_LABELLED:
        cols = min(n, CELLS_PER_ROW)
        rows = -(-n // cols)
        im = Image.new("RGB", (cols * CELL, rows * CELL), "white")
        draw = ImageDraw.Draw(im)
        for i, rgb in enumerate(p.colors):
            x, y = (i % cols) * CELL, (i // cols) * CELL
            draw.rectangle([x, y, x + CELL - 1, y + CELL - 1], fill=tuple(int(v) for v in rgb))
        return im
    cols = min(n, PER_ROW)
    rows = -(-n // cols)
    width = GAP + cols * (CARD + GAP)
    height = GAP + rows * (CARD + LABEL_H + GAP)
    im = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(im)
    hex_font, name_font = _font(14), _font(12)
    for i, (rgb, h, name) in enumerate(zip(p.colors, p.hex, p.names)):
        x = GAP + (i % cols) * (CARD + GAP)
        y = GAP + (i // cols) * (CARD + LABEL_H + GAP)
        draw.rectangle([x, y, x + CARD - 1, y + CARD - 1], fill=tuple(int(v) for v in rgb), outline=(208, 208, 208))
        draw.text((x + 2, y + CARD + 4), h, fill=(20, 20, 20), font=hex_font)
        if name != h:
            label = _fit(draw, " ".join(name.split()), name_font, CARD - 4)
            draw.text((x + 2, y + CARD + 22), label, fill=(90, 90, 90), font=name_font)
    return im


def write(p: Palette) -> bytes:
    """The swatch PNG with the palette embedded as JSON."""
    im = render(p)
    info = PngImagePlugin.PngInfo()
    info.add_itxt(CHUNK, json_.write(p).decode("utf-8"), zip=True)
    info.add_text("Software", "kmq")
    out = io.BytesIO()
    im.save(out, "PNG", pnginfo=info, optimize=True)
    return out.getvalue()


def read(data: bytes) -> Palette:
    """Read the palette embedded by :func:`write`."""
    data = check_size(data, WHAT)
    if not data.startswith(PNG_SIGNATURE):
        raise KmqError(f"{WHAT}: not a PNG file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
                payload = im.info.get(CHUNK)  # text chunks before IDAT: no pixels decoded
    except Exception as exc:  # Pillow raises many types for broken files
        raise KmqError(f"{WHAT}: unreadable PNG ({type(exc).__name__})") from None
    if payload is None:
        raise KmqError(f"{WHAT}: this PNG holds no kmq palette (only swatch PNGs written by kmq can be read)")
    try:
        obj = json.loads(str(payload))
    except (ValueError, RecursionError):
        raise KmqError(f"{WHAT}: the embedded palette is not valid JSON") from None
    return json_.from_obj(obj)
