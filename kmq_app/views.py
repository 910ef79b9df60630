"""Previews, crops and small HTML pieces for the app. Display only, no colour decisions.

Two rules keep what the page shows honest:

- The quantized image is only ever shrunk by picking pixels (nearest
  neighbour), never by averaging, so a preview holds no colour that is not in
  the palette. The original may be averaged (box filter): it is a photo.
- Everything goes to the browser as PNG. Streamlit would otherwise re-encode
  as JPEG and smear the palette.

The viewer that shows them (before/after slider, side by side, 1:1) is
:mod:`kmq_app.viewer`; it gets them as inline data URIs, so nothing is loaded
from the network and the app works offline.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

#: longest side of the previews sent to the browser, in pixels
PREVIEW_MAX_SIDE = 1200
#: longest side of the k-means animation, its palette strip height and frame times (ms)
ANIM_MAX_SIDE = 360
ANIM_STRIP = 28
ANIM_FRAME_MS = 450
ANIM_LAST_FRAME_MS = 2500

#: page CSS: a compact page, the result of the last run dimmed and inert while the next one computes,
#: palette swatches as colour chips, the figures in one small row
PAGE_CSS = """
[data-testid=stMainBlockContainer] { padding: 2.6rem 1.5rem 2rem; max-width: 100%; }
[data-testid=stHeader] { height: 2.25rem; background: transparent; }
[data-testid=stMain] .stElementContainer[data-stale=true] { opacity: .3 !important; transition: none !important;
  pointer-events: none; filter: grayscale(.6); }
.st-key-viewer[data-stale=true] { position: relative; }
.st-key-viewer[data-stale=true]::after { content: "Updating…"; position: absolute;
  top: 45%; left: 50%; transform: translate(-50%, -50%); padding: 6px 16px; border-radius: 6px;
  background: rgba(0,0,0,.75); color: #fff; font-size: 18px; z-index: 10; }
.st-key-viewer_box h3 { font-size: 1rem; padding: 0; margin: 0; }
.st-key-swatches { gap: 6px !important; }
.st-key-swatches .stElementContainer { width: auto !important; }
.st-key-swatches button { width: 96px; height: 56px; min-height: 0; padding: 2px 4px; border-radius: 6px;
  border: 1px solid rgba(0,0,0,.2) !important; justify-content: flex-start; align-items: flex-end; }
.st-key-swatches button p { font: 11px/1.2 ui-monospace, SFMono-Regular, Menlo, monospace; text-align: left; }
.st-key-swatches button span[data-testid=stIconMaterial] { font-size: 16px; }
.st-key-figure_row { gap: 4px 18px !important; flex-wrap: wrap; }
.st-key-figure_row [data-testid=stMetric] { padding: 0; }
.st-key-figure_row [data-testid=stMetricLabel] p { font-size: 12px; }
.st-key-figure_row [data-testid=stMetricValue] { font-size: 18px; line-height: 1.3; }
.st-key-figure_row .stElementContainer { width: auto !important; }
"""


#: JPEG quality of the original's preview (a photo: JPEG is 5-10x smaller than PNG and looks the same)
BEFORE_JPEG_QUALITY = 92


@dataclass(frozen=True)
class Previews:
    """Downscaled images of the original (JPEG, or PNG when it has alpha) and the quantized one (PNG), same size."""

    before: bytes
    after: bytes
    width: int
    height: int
    before_mime: str = "image/png"

    @property
    def before_uri(self) -> str:
        return data_uri(self.before, self.before_mime)

    @property
    def after_uri(self) -> str:
        return data_uri(self.after)


def _icc(icc: bytes | None) -> dict:
    return {} if icc is None else {"icc_profile": icc}


def encode_png(pixels: np.ndarray, icc: bytes | None = None) -> bytes:
    """An RGB(A) uint8 array as PNG bytes (fast compression: previews only).

    ``icc``: the profile the numbers are in (an image whose profile was kept),
    embedded so that the browser shows them as the PNG kmq writes; None: sRGB.
    """
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, "PNG", compress_level=1, **_icc(icc))
    return buf.getvalue()


def preview_size(width: int, height: int, max_side: int = PREVIEW_MAX_SIDE) -> tuple[int, int]:
    """(width, height) scaled down so the longest side is at most ``max_side``."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_jpeg(pixels: np.ndarray, quality: int = BEFORE_JPEG_QUALITY, icc: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, "JPEG", quality=quality, **_icc(icc))
    return buf.getvalue()


def make_previews(original: np.ndarray, labels: np.ndarray, colors: np.ndarray,
                  max_side: int = PREVIEW_MAX_SIDE, icc: bytes | None = None) -> Previews:
    """Previews of an original image and its quantization (labels into ``colors``).

    The quantized preview takes every n-th label (nearest neighbour) and looks
    up its palette colour, so it holds palette colours only, and is a PNG; the
    alpha channel, if any, is sampled the same way. The original's preview is
    a JPEG (it is a photo, and the eyedropper reads the full-size original,
    not this), or a PNG when it has transparency. ``icc``: see :func:`encode_png`.
    """
    h, w = labels.shape
    pw, ph = preview_size(w, h, max_side)
    before = original if (pw, ph) == (w, h) else np.asarray(
        Image.fromarray(original).resize((pw, ph), Image.Resampling.BOX))
    ys = ((np.arange(ph) + 0.5) * h / ph).astype(np.intp)
    xs = ((np.arange(pw) + 0.5) * w / pw).astype(np.intp)
    after = colors[labels[ys[:, None], xs[None, :]]]
    if original.shape[2] == 4:
        after = np.dstack([after, original[ys[:, None], xs[None, :], 3]])
        return Previews(encode_png(before, icc), encode_png(after, icc), pw, ph, "image/png")
    return Previews(encode_jpeg(before, icc=icc), encode_png(after, icc), pw, ph, "image/jpeg")


def shrink(pixels: np.ndarray, max_side: int) -> np.ndarray:
    """An original image scaled down (box filter) so its longest side is at most ``max_side``."""
    h, w = pixels.shape[:2]
    size = preview_size(w, h, max_side)
    return pixels if size == (w, h) else np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BOX))


def progression_gif(labels: list[np.ndarray], palettes: list[np.ndarray]) -> bytes:
    """An animated GIF: per step, the image drawn with that step's palette over a strip of it.

    Each frame is an indexed image with its own colour table, built from the
    labels directly, so it shows exactly the step's colours (a GIF holds up to
    256, as many as k can be).
    """
    frames = []
    for lab, colors in zip(labels, palettes):
        h, w = lab.shape
        n = len(colors)
        strip = np.repeat((np.arange(w) * n // w)[None, :], ANIM_STRIP, axis=0)
        frame = Image.fromarray(np.vstack([lab, strip]).astype(np.uint8), "P")
        frame.putpalette(np.asarray(colors, np.uint8).ravel().tobytes(), rawmode="RGB")
        frames.append(frame)
    buf = io.BytesIO()
    durations = [ANIM_FRAME_MS] * (len(frames) - 1) + [ANIM_LAST_FRAME_MS]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                   optimize=False, disposal=1)
    return buf.getvalue()


def crop_box(shape: tuple[int, ...], x_percent: float, y_percent: float, side: int) -> tuple[slice, slice]:
    """Rows and columns of a ``side``×``side`` window centred at (x%, y%), kept inside the image."""
    h, w = shape[:2]
    sh, sw = min(side, h), min(side, w)
    cy = round(h * y_percent / 100)
    cx = round(w * x_percent / 100)
    y0 = int(np.clip(cy - sh // 2, 0, h - sh))
    x0 = int(np.clip(cx - sw // 2, 0, w - sw))
    return slice(y0, y0 + sh), slice(x0, x0 + sw)


def quantized_crop(labels: np.ndarray, colors: np.ndarray, alpha: np.ndarray | None,
                   rows: slice, cols: slice) -> np.ndarray:
    """The quantized image inside a window, looked up from labels (not building the whole image)."""
    rgb = colors[labels[rows, cols]]
    return rgb if alpha is None else np.dstack([rgb, alpha[rows, cols]])


def magnify(pixels: np.ndarray, zoom: int) -> np.ndarray:
    """Each pixel as a ``zoom``×``zoom`` block (no interpolation)."""
    if zoom == 1:
        return pixels
    return np.repeat(np.repeat(pixels, zoom, axis=0), zoom, axis=1)


def data_uri(payload: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(payload).decode("ascii")


def human_bytes(n: int | None) -> str:
    """1234567 -> '1.23 MB' (SI units, as file managers show them)."""
    if n is None:
        return "n/a"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return (f"{n / size:#.3g}".rstrip(".") if n / size < 100 else f"{n / size:.0f}") + f" {unit}"
    return f"{n} B"


def image_mime(payload: bytes) -> str:
    """The MIME type of GIF, PNG (APNG) or WebP bytes, from their signature."""
    if payload[:4] == b"GIF8":
        return "image/gif"
    if payload[:4] == b"RIFF" and payload[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"


def animation_pair(before: bytes, after: bytes) -> str:
    """HTML: the uploaded animation and kmq's GIF side by side, both playing (browsers play GIF,
    APNG and animated WebP in an ``<img>``), drawn pixel for pixel when enlarged."""
    style = "width:100%;image-rendering:pixelated;border:1px solid #ddd"
    cell = ('<figure style="flex:1;margin:0"><img alt="{alt}" src="{src}" style="' + style + '">'
            '<figcaption style="font-size:0.85em;color:#666">{cap}</figcaption></figure>')
    return ('<div class="kmq-animation" style="display:flex;gap:12px">'
            + cell.format(alt="original animation", src=data_uri(before, image_mime(before)),
                          cap=f"Original, {human_bytes(len(before))}")
            + cell.format(alt="quantized animation", src=data_uri(after, "image/gif"),
                          cap=f"kmq GIF, {human_bytes(len(after))}")
            + "</div>")
