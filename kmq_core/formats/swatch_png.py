"""A PNG swatch strip (``.png``): a palette a person can look at and share.

Up to 256 colours: one labelled card per colour, up to 8 per row, the hex code
(and the name, shortened to fit) printed under each swatch in Pillow's built-in
font. More colours: a plain grid of small unlabelled cells. The palette itself
is embedded as kmq's JSON (see :mod:`kmq_core.formats.json_`) in a compressed
``iTXt`` chunk named ``kmq-palette``, so ``kmq palette convert strip.png x.gpl``
gives back the exact palette (the reader walks the PNG chunks itself, so no
pixels are decoded); a PNG without that chunk is refused (kmq does
not guess a palette from pixels here: use ``kmq palette IMAGE`` for that).

Drawing uses Pillow's ``ImageDraw``; nothing here is hand-written maths.
"""

from __future__ import annotations

import io
import json
import zlib

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from ..errors import KmqError
from ..palette import Palette
from . import json_
from ._common import check_size

WHAT = ".png"
EXTENSIONS = ("png",)
MIME = "image/png"
HOLDS_NAMES = True
CHUNK = "kmq-palette"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: labelled cards up to this many colours, a plain grid above
MAX_LABELLED = 256
CARD, LABEL_H, GAP, PER_ROW = 112, 40, 8, 8
CELL, CELLS_PER_ROW = 16, 64
#: the largest embedded palette (decompressed JSON) the reader accepts
MAX_EMBEDDED = 32 * 1024 * 1024


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
    # the palette only: the contrast block is derived from it and would grow the image by megabytes
    info.add_itxt(CHUNK, json_.write(p, contrast=False).decode("utf-8"), zip=True)
    info.add_text("Software", "kmq")
    out = io.BytesIO()
    im.save(out, "PNG", pnginfo=info, optimize=True)
    return out.getvalue()


def _embedded_text(data: bytes) -> str | None:
    """The text of the ``kmq-palette`` iTXt chunk, or None.

    Walks the chunks by hand rather than through Pillow, whose text-chunk limit
    (1 MB decompressed) is below what a 65535-colour palette needs; lengths are
    checked against the file and decompression is capped.
    """
    pos = len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        end = pos + 8 + length
        if length > 0x7FFFFFFF or end + 4 > len(data):
            raise KmqError(f"{WHAT}: truncated PNG chunk at offset {pos}")
        body = data[pos + 8:end]
        if zlib.crc32(kind + body) != int.from_bytes(data[end:end + 4], "big"):
            raise KmqError(f"{WHAT}: damaged PNG chunk {kind!r} (CRC mismatch)")
        if kind == b"iTXt" and body.startswith(CHUNK.encode() + b"\0"):
            rest = body[len(CHUNK) + 1:]
            if len(rest) < 2:
                raise KmqError(f"{WHAT}: damaged kmq-palette chunk")
            compressed, method = rest[0], rest[1]
            parts = rest[2:].split(b"\0", 2)  # language tag, translated keyword, text
            if len(parts) != 3 or compressed not in (0, 1) or method != 0:
                raise KmqError(f"{WHAT}: damaged kmq-palette chunk")
            raw = parts[2]
            if compressed:
                try:
                    z = zlib.decompressobj()
                    raw = z.decompress(raw, MAX_EMBEDDED)
                    if z.unconsumed_tail:
                        raise KmqError(f"{WHAT}: embedded palette larger than {MAX_EMBEDDED} bytes")
                except zlib.error:
                    raise KmqError(f"{WHAT}: damaged kmq-palette chunk (bad compression)") from None
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise KmqError(f"{WHAT}: the embedded palette is not UTF-8") from None
        if kind == b"IEND":
            break
        pos = end + 4
    return None


def read(data: bytes) -> Palette:
    """Read the palette embedded by :func:`write`."""
    data = check_size(data, WHAT)
    if not data.startswith(PNG_SIGNATURE):
        raise KmqError(f"{WHAT}: not a PNG file")
    payload = _embedded_text(data)
    if payload is None:
        raise KmqError(f"{WHAT}: this PNG holds no kmq palette (only swatch PNGs written by kmq can be read)")
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        raise KmqError(f"{WHAT}: the embedded palette is not valid JSON") from None
    return json_.from_obj(obj)
