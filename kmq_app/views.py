"""Previews, crops and small HTML pieces for the app. Display only, no colour decisions.

Two rules keep what the page shows honest:

- The quantized image is only ever shrunk by picking pixels (nearest
  neighbour), never by averaging, so a preview holds no colour that is not in
  the palette. The original may be averaged (box filter): it is a photo.
- Everything goes to the browser as PNG. Streamlit would otherwise re-encode
  as JPEG and smear the palette.

The before/after slider is plain HTML: two inline PNG data URIs stacked, the
top one cut with a CSS ``clip-path`` that follows an ``<input type=range>``.
Nothing is loaded from the network, so it works offline.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

#: longest side of the previews sent to the browser, in pixels
PREVIEW_MAX_SIDE = 1200
#: width of the 1:1 detail view on screen, in pixels
DETAIL_VIEW = 320
#: zoom factors offered for the detail view
ZOOMS = (1, 2, 4, 8)
#: height of the before/after slider frame, in pixels
SLIDER_HEIGHT = 560
#: longest side of the k-means animation, its palette strip height and frame times (ms)
ANIM_MAX_SIDE = 360
ANIM_STRIP = 28
ANIM_FRAME_MS = 450
ANIM_LAST_FRAME_MS = 2500

_CHECKER = "repeating-conic-gradient(#cfcfcf 0% 25%, #ffffff 0% 50%) 50% / 16px 16px"

#: page CSS: a compact page, the result of the last run dimmed and inert while the next one computes,
#: palette swatches as colour chips, the figures in one small row
PAGE_CSS = """
[data-testid=stMainBlockContainer] { padding: 2.6rem 1.5rem 2rem; max-width: 100%; }
[data-testid=stHeader] { height: 2.25rem; background: transparent; }
[data-testid=stMain] .stElementContainer[data-stale=true] { opacity: .3 !important; transition: none !important;
  pointer-events: none; filter: grayscale(.6); }
.st-key-viewer_box .stElementContainer[data-stale=true] { position: relative; }
.st-key-viewer_box .stElementContainer[data-stale=true]::after { content: "Updating…"; position: absolute;
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


def encode_png(pixels: np.ndarray) -> bytes:
    """An RGB(A) uint8 array as PNG bytes (fast compression: previews only)."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def preview_size(width: int, height: int, max_side: int = PREVIEW_MAX_SIDE) -> tuple[int, int]:
    """(width, height) scaled down so the longest side is at most ``max_side``."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def encode_jpeg(pixels: np.ndarray, quality: int = BEFORE_JPEG_QUALITY) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def make_previews(original: np.ndarray, labels: np.ndarray, colors: np.ndarray,
                  max_side: int = PREVIEW_MAX_SIDE) -> Previews:
    """Previews of an original image and its quantization (labels into ``colors``).

    The quantized preview takes every n-th label (nearest neighbour) and looks
    up its palette colour, so it holds palette colours only, and is a PNG; the
    alpha channel, if any, is sampled the same way. The original's preview is
    a JPEG (it is a photo, and the eyedropper reads the full-size original,
    not this), or a PNG when it has transparency.
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
        return Previews(encode_png(before), encode_png(after), pw, ph, "image/png")
    return Previews(encode_jpeg(before), encode_png(after), pw, ph, "image/jpeg")


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


def compare_slider_html(p: Previews, before_label: str = "Original", after_label: str = "Quantized",
                        height: int = SLIDER_HEIGHT) -> str:
    """A self-contained before/after slider (no scripts from the network).

    Both images fill the same box; the original sits on top, cut by
    ``clip-path: inset(0 X% 0 0)``, and a transparent range input over the
    whole box moves the cut (drag anywhere, or use the arrow keys).
    """
    box_h = height - 20
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; font-family: sans-serif; }}
.cmp {{ position: relative; margin: 0 auto; width: min(100%, calc({box_h}px * {p.width} / {p.height}));
        aspect-ratio: {p.width} / {p.height}; user-select: none; }}
.layer {{ position: absolute; inset: 0; background: {_CHECKER}; }}
.layer img {{ display: block; width: 100%; height: 100%; }}
.after img {{ image-rendering: pixelated; }}
.before {{ clip-path: inset(0 50% 0 0); }}
.line {{ position: absolute; top: 0; bottom: 0; left: 50%; width: 2px; margin-left: -1px; background: #fff;
         box-shadow: 0 0 0 1px rgba(0,0,0,.45); pointer-events: none; }}
.tag {{ position: absolute; top: 8px; padding: 2px 8px; border-radius: 4px; font-size: 13px;
        background: rgba(0,0,0,.6); color: #fff; pointer-events: none; }}
input[type=range] {{ position: absolute; inset: 0; width: 100%; height: 100%; margin: 0; opacity: 0;
                     cursor: ew-resize; }}
</style></head><body>
<div class="cmp">
  <div class="layer after"><img alt="{html.escape(after_label)}" src="{p.after_uri}"></div>
  <div class="layer before" id="before"><img alt="{html.escape(before_label)}" src="{p.before_uri}"></div>
  <div class="line" id="line"></div>
  <span class="tag" style="left:8px">{html.escape(before_label)}</span>
  <span class="tag" style="right:8px">{html.escape(after_label)}</span>
  <input type="range" min="0" max="100" value="50" step="0.1" aria-label="before/after position" id="pos">
</div>
<script>
const pos = document.getElementById("pos"), before = document.getElementById("before"),
      line = document.getElementById("line");
pos.addEventListener("input", () => {{
  before.style.clipPath = "inset(0 " + (100 - pos.value) + "% 0 0)";
  line.style.left = pos.value + "%";
}});
</script></body></html>"""


def swatches_html(hexes: list[str], shares, names: list[str]) -> str:
    """Swatches with hex code and pixel share; each carries ``data-hex`` for scripts and tests."""
    cells = []
    for i, (hx, share, name) in enumerate(zip(hexes, shares, names)):
        title = html.escape(f"{name} {hx} {share:.2%}")
        cells.append(
            f'<div class="kmq-swatch" data-index="{i}" data-hex="{hx}" data-share="{share:.6f}" title="{title}">'
            f'<div class="kmq-chip" style="background:{hx}"></div>'
            f'<code class="kmq-hex">{hx}</code><span class="kmq-share">{share:.1%}</span></div>'
        )
    return f'<div class="kmq-swatches" data-count="{len(cells)}">{"".join(cells)}</div>'


def human_bytes(n: int | None) -> str:
    """1234567 -> '1.23 MB' (SI units, as file managers show them)."""
    if n is None:
        return "n/a"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return (f"{n / size:#.3g}".rstrip(".") if n / size < 100 else f"{n / size:.0f}") + f" {unit}"
    return f"{n} B"
