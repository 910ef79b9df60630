"""Make the README's pictures of moods and of an importance mask, with kmq itself.

    python docs/make_mood_figures.py

- ``emphasis.png``: CQ100's red-eyed tree frog (Carey James Balboa, public domain) at k = 5,
  without a mask and with a mask that is white on a box around the eye (the rest 0.2, as the
  app's emphasis region), each with its palette below;
- ``moods.png``: the five mood palettes (and the default) of CQ100's macaws (Kodak kodim23,
  Steve Kelly, public domain) at k = 5.

The photos are in ../shared/data/cq100 (credits in its metadata.csv).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import kmq_core
from kmq_core.formats import palette_bytes
from kmq_core.importance import region_mask
from kmq_core.options import MOODS

HERE = Path(__file__).resolve().parent
CQ100 = HERE.parents[1] / "shared" / "data" / "cq100"
#: the frog's eye, (x0, y0, x1, y1), and the crop shown
EYE_BOX = (170, 130, 260, 210)
CROP = (60, 40, 420, 300)
K = 5


def _strip(pal, width: int) -> Image.Image:
    """The palette as `kmq palette -o strip.png` draws it, scaled to ``width``."""
    s = Image.open(io.BytesIO(palette_bytes(pal, "png"))).convert("RGB")
    return s.resize((width, round(s.height * width / s.width)), Image.Resampling.NEAREST)


def _swatches(pal, width: int, height: int = 28) -> Image.Image:
    out = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(out)
    n = len(pal)
    for i, c in enumerate(pal.colors):
        d.rectangle([i * width // n, 0, (i + 1) * width // n - 1, height - 1], fill=tuple(int(v) for v in c))
    return out


def emphasis() -> None:
    px = np.asarray(Image.open(CQ100 / "red_eyed_tree_frog.png").convert("RGB"))
    mask = region_mask(px.shape[:2], EYE_BOX)
    plain = kmq_core.quantize(px, K)
    weighed = kmq_core.quantize(px, K, importance=mask)
    x0, y0, x1, y1 = CROP
    scale = 1.5
    w, h = round((x1 - x0) * scale), round((y1 - y0) * scale)
    panels = []
    for res, title in ((plain, f"k={K}"), (weighed, f"k={K}, --importance: the eye's box white, the rest 20 %")):
        pic = Image.fromarray(res.image[y0:y1, x0:x1]).resize((w, h), Image.Resampling.NEAREST)
        d = ImageDraw.Draw(pic)
        if res is weighed:
            bx = [(EYE_BOX[0] - x0) * scale, (EYE_BOX[1] - y0) * scale, (EYE_BOX[2] - x0) * scale,
                  (EYE_BOX[3] - y0) * scale]
            d.rectangle(bx, outline=(255, 212, 0), width=2)
        d.rectangle([0, 0, w, 16], fill=(255, 255, 255))
        d.text((4, 2), title, fill=(0, 0, 0))
        panel = Image.new("RGB", (w, h + 34), (255, 255, 255))
        panel.paste(pic, (0, 0))
        panel.paste(_swatches(res.palette, w), (0, h + 6))
        panels.append(panel)
    orig = Image.fromarray(px[y0:y1, x0:x1]).resize((w, h), Image.Resampling.LANCZOS)
    ImageDraw.Draw(orig).rectangle([0, 0, w, 16], fill=(255, 255, 255))
    ImageDraw.Draw(orig).text((4, 2), "original", fill=(0, 0, 0))
    top = Image.new("RGB", (w, h + 34), (255, 255, 255))
    top.paste(orig, (0, 0))
    out = Image.new("RGB", (3 * w + 16, h + 34), (255, 255, 255))
    for i, p in enumerate([top, *panels]):
        out.paste(p, (i * (w + 8), 0))
    out.save(HERE / "emphasis.png", optimize=True)
    print(f"wrote {HERE / 'emphasis.png'}: plain {plain.palette.hex}, with the mask {weighed.palette.hex}")


def moods() -> None:
    px = np.asarray(Image.open(CQ100 / "macaws.png").convert("RGB"))
    thumb = Image.fromarray(px).resize((384, 256), Image.Resampling.LANCZOS)
    rows = [("best reproduction (no mood)", kmq_core.quantize(px, K).palette)]
    rows += [(m, kmq_core.quantize(px, K, mood=m).palette) for m in MOODS]
    row_h, label_w, sw = 256 // len(rows), 170, 320
    out = Image.new("RGB", (384 + 12 + label_w + sw, 256), (255, 255, 255))
    out.paste(thumb, (0, 0))
    d = ImageDraw.Draw(out)
    for i, (name, pal) in enumerate(rows):
        y = i * row_h
        d.text((384 + 12, y + row_h // 2 - 6), name, fill=(0, 0, 0))
        out.paste(_swatches(pal, sw, row_h - 4), (384 + 12 + label_w, y + 2))
    out.save(HERE / "moods.png", optimize=True)
    print(f"wrote {HERE / 'moods.png'}: " + "; ".join(f"{n} {' '.join(p.hex)}" for n, p in rows))


if __name__ == "__main__":
    emphasis()
    moods()
