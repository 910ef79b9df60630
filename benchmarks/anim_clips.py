"""The animation benchmark's clips: made from photos scikit-image ships, and one
screen-recording-like clip of flat UI colours. Deterministic and cheap
(numpy and Pillow only, well under a second per clip).

Every clip is ``N_FRAMES`` frames of ``WIDTH``×``HEIGHT`` at ``DURATION_MS``
per frame, plus a ``static`` mask (H×W bool) of a region whose pixels are the
same in every frame of the source.

- Photo clips (``astronaut``, ``coffee``, ``chelsea``): the right part of the
  frame (x ≥ ``STATIC_W``) is a slow pan and zoom across the photo (a crop
  window that moves about 2.5 source pixels per frame and shrinks by 15 %
  over the clip, resampled with Pillow's LANCZOS from a sub-pixel box), with
  a small bright disc (7 px across, anti-aliased) moving across it; the left
  part (x < ``STATIC_W``) is a fixed crop of another photo (chelsea: of the
  same photo) that never changes — the static region.
- ``ui``: a window on a flat desktop: title bar with three buttons and a
  title, a sidebar list (the static region), a toolbar with two buttons, a
  text area where a paragraph types in three characters a frame with a
  blinking caret, a progress bar that fills, and an arrow cursor that moves
  every frame (so no two consecutive frames are identical) and hovers a
  button near the end. Text is Pillow's default font (anti-aliased).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 320, 240
N_FRAMES = 40
DURATION_MS = 100
STATIC_W = 104  # photo clips: the left 104 columns never change
PHOTO_CLIPS = ("astronaut", "coffee", "chelsea")
CLIPS = PHOTO_CLIPS + ("ui",)

#: photo clip -> (photo panned across, photo of the static region, its crop box (x0, y0, x1, y1))
_PHOTO_SETUP = {
    "astronaut": ("astronaut", "chelsea", (170, 20, 290, 297)),
    "coffee": ("coffee", "astronaut", (170, 60, 300, 360)),
    "chelsea": ("chelsea", "chelsea", (0, 0, 117, 270)),
}


def _photo(name: str) -> Image.Image:
    from benchmarks.images import photo

    return Image.fromarray(photo(name))


def _disc(frame: np.ndarray, cx: float, cy: float, r: float, colour) -> None:
    """Blend an anti-aliased disc (coverage = clip(r + 0.5 − distance)) into ``frame`` in place."""
    h, w = frame.shape[:2]
    x0, x1 = max(0, int(cx - r - 2)), min(w, int(cx + r + 3))
    y0, y1 = max(0, int(cy - r - 2)), min(h, int(cy + r + 3))
    yy, xx = np.mgrid[y0:y1, x0:x1] + 0.5
    cover = np.clip(r + 0.5 - np.hypot(xx - cx, yy - cy), 0.0, 1.0)[..., None]
    patch = frame[y0:y1, x0:x1].astype(np.float64)
    frame[y0:y1, x0:x1] = np.round(patch * (1 - cover) + np.asarray(colour, np.float64) * cover).astype(np.uint8)


def photo_clip(name: str, width: int = WIDTH, height: int = HEIGHT,
               n_frames: int = N_FRAMES) -> tuple[list[np.ndarray], np.ndarray]:
    """A pan-and-zoom clip of photo ``name`` with a static left region and a moving disc.

    ``width``, ``height`` and ``n_frames`` default to the animation benchmark's
    clip; the speed benchmark asks for 60 frames of 640×360. The static region
    keeps its share of the width (104 of 320 columns).
    """
    static_w = round(STATIC_W * width / WIDTH)
    pan_name, static_name, box = _PHOTO_SETUP[name]
    src = _photo(pan_name)
    sw, sh = src.size
    mw = width - static_w  # the moving part's width
    static = np.asarray(_photo(static_name).resize((static_w, height), Image.LANCZOS, box=box), np.uint8).copy()
    static[:, -2:] = (24, 24, 24)  # a dark divider, part of the static region
    # window scale: source pixels per output pixel, from f0 down to 0.85 f0 (a slow zoom in)
    f0 = min(1.2, 0.98 * sh / height, 0.98 * sw / mw)
    frames = []
    for i in range(n_frames):
        t = i / (n_frames - 1)
        f = f0 * (1.0 - 0.15 * t)
        ww, wh = mw * f, height * f
        # the window's centre drifts right ~2.5 px and down ~0.4 px a frame, kept inside the photo
        cx = min(sw - ww / 2, ww / 2 + (sw - mw * f0) * 0.1 + 2.5 * i)
        cy = min(sh - wh / 2, wh / 2 + (sh - height * f0) * 0.3 + 0.4 * i)
        moving = src.resize((mw, height), Image.LANCZOS, box=(cx - ww / 2, cy - wh / 2, cx + ww / 2, cy + wh / 2))
        frame = np.empty((height, width, 3), np.uint8)
        frame[:, :static_w] = static
        frame[:, static_w:] = np.asarray(moving, np.uint8)
        # the small bright object: left to right across the moving part, on a gentle arc
        _disc(frame, static_w + 14 + (mw - 28) * t, 70 + 100 * t + 25 * np.sin(np.pi * t), 3.5, (255, 245, 70))
        frames.append(frame)
    mask = np.zeros((height, width), bool)
    mask[:, :static_w] = True
    return frames, mask


# --- the screen-recording-like clip -------------------------------------------

_TEXT = ("Colour quantization maps every pixel to one of K palette colours. "
         "Flat interface colours should stay exact, text edges clean, and the "
         "sidebar must not flicker from frame to frame.")
_SIDEBAR = (8, 28, 100, 232)  # x0, y0, x1, y1: the static panel
_ITEMS = ("Inbox", "Drafts", "Sent", "Archive", "Spam", "Trash", "Notes", "Projects")
_ITEM_COLOURS = ((230, 80, 60), (240, 170, 40), (70, 170, 90), (60, 120, 220), (150, 90, 200), (120, 120, 120),
                 (0, 160, 170), (200, 60, 140))


def _wrap(draw, text, font, width):
    lines, line = [], ""
    for word in text.split(" "):
        cand = (line + " " + word).strip()
        if draw.textlength(cand, font=font) <= width or not line:
            line = cand
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _cursor(draw, x, y):
    arrow = [(0, 0), (0, 15), (4, 11), (7, 17), (9, 16), (6, 10), (11, 10)]
    draw.polygon([(x + a, y + b) for a, b in arrow], fill=(0, 0, 0), outline=(255, 255, 255))


def ui_clip() -> tuple[list[np.ndarray], np.ndarray]:
    font = ImageFont.load_default()
    frames = []
    for i in range(N_FRAMES):
        t = i / (N_FRAMES - 1)
        im = Image.new("RGB", (WIDTH, HEIGHT), (58, 110, 165))  # desktop
        d = ImageDraw.Draw(im)
        d.rectangle((8, 8, 311, 231), fill=(255, 255, 255), outline=(40, 40, 44))  # window
        d.rectangle((8, 8, 311, 27), fill=(45, 45, 48))  # title bar
        for j, c in enumerate(((255, 95, 86), (255, 189, 46), (39, 201, 63))):
            d.ellipse((14 + 14 * j, 13, 23 + 14 * j, 22), fill=c)
        d.text((70, 12), "notes.txt - kmq", font=font, fill=(220, 220, 220))
        # sidebar: the static region
        x0, y0, x1, y1 = _SIDEBAR
        d.rectangle((x0, y0, x1 - 1, y1 - 1), fill=(236, 237, 240))
        for j, (name, c) in enumerate(zip(_ITEMS, _ITEM_COLOURS)):
            top = y0 + 8 + 22 * j
            if j == 1:
                d.rectangle((x0 + 3, top - 3, x1 - 4, top + 15), fill=(0, 120, 215))
            d.rectangle((x0 + 8, top + 2, x0 + 17, top + 11), fill=c)
            d.text((x0 + 24, top), name, font=font, fill=(255, 255, 255) if j == 1 else (30, 30, 30))
        d.line((x1 - 1, y0, x1 - 1, y1 - 1), fill=(200, 200, 205))
        # toolbar: two buttons; "Save" lights up while the cursor is on it
        hover = i >= 32
        d.rectangle((x1 + 6, 32, x1 + 56, 50), fill=(30, 140, 255) if hover else (0, 110, 220))
        d.text((x1 + 18, 36), "Save", font=font, fill=(255, 255, 255))
        d.rectangle((x1 + 62, 32, x1 + 122, 50), fill=(225, 225, 228), outline=(170, 170, 175))
        d.text((x1 + 72, 36), "Cancel", font=font, fill=(40, 40, 40))
        d.line((x1, 56, 311, 56), fill=(210, 210, 214))
        # the text area: three characters a frame, caret blinking every 5 frames
        typed = _TEXT[:3 * (i + 1)]
        lines = _wrap(d, typed, font, 311 - x1 - 16)
        for j, line in enumerate(lines):
            d.text((x1 + 8, 64 + 14 * j), line, font=font, fill=(20, 20, 20))
        if (i // 5) % 2 == 0:
            cx = x1 + 8 + d.textlength(lines[-1], font=font) + 1
            cy = 64 + 14 * (len(lines) - 1)
            d.line((cx, cy, cx, cy + 11), fill=(0, 0, 0))
        # status bar with a progress bar filling
        d.rectangle((x1, 212, 310, 230), fill=(246, 246, 248))
        d.rectangle((x1 + 8, 218, 300, 224), fill=(220, 220, 224))
        d.rectangle((x1 + 8, 218, x1 + 8 + int((300 - x1 - 8) * t), 224), fill=(46, 180, 90))
        # the cursor: from the lower right to the Save button, never over the sidebar
        cx = 290 + (x1 + 30 - 290) * min(1.0, i / 32)
        cy = 190 + (40 - 190) * min(1.0, i / 32) + 3 * np.sin(i)
        _cursor(d, int(round(cx)), int(round(cy)))
        frames.append(np.asarray(im, np.uint8).copy())
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[y0:y1, x0:x1] = True
    return frames, mask


def clip(name: str, **size) -> tuple[list[np.ndarray], np.ndarray]:
    """``(frames, static mask)`` of one clip: frames are H×W×3 uint8, the mask H×W bool.

    ``size``: ``width``, ``height``, ``n_frames`` for a photo clip (the ui clip has one size).
    """
    if name == "ui":
        if size:
            raise ValueError("the ui clip has one size")
        return ui_clip()
    if name in _PHOTO_SETUP:
        return photo_clip(name, **size)
    raise KeyError(f"unknown clip {name!r}: choose from {', '.join(CLIPS)}")


def flicker(frames, mask) -> float:
    """Mean over consecutive frame pairs of the mean absolute RGB difference inside ``mask``."""
    if len(frames) < 2:
        return 0.0
    m = np.asarray(mask, bool)
    diffs = [np.abs(a[m].astype(np.int16) - b[m]).mean() for a, b in zip(frames, frames[1:])]
    return float(np.mean(diffs))


def write_clip(name: str, folder, **size) -> dict:
    """Write clip ``name`` into ``folder``: a lossless RGB APNG (``NAME.apng``, loop 0), a PNG
    frame sequence (``NAME/0000.png`` …) and the mask (``NAME-static.png``). Returns the paths."""
    from pathlib import Path

    folder = Path(folder)
    frames, mask = clip(name, **size)
    seq = folder / name
    seq.mkdir(parents=True, exist_ok=True)
    ims = [Image.fromarray(f) for f in frames]
    apng = folder / f"{name}.apng"
    ims[0].save(apng, format="PNG", save_all=True, append_images=ims[1:], duration=DURATION_MS, loop=0)
    for i, im in enumerate(ims):
        im.save(seq / f"{i:04d}.png", compress_level=1)
    Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"{name}-static.png")
    return {"apng": str(apng), "frames": str(seq), "mask": str(folder / f"{name}-static.png"),
            "n": len(frames), "size": [frames[0].shape[1], frames[0].shape[0]], "duration_ms": DURATION_MS}
