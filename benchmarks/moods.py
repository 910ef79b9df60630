"""The mood palettes checked on the CQ100 photos (issue 27)::

    python -m benchmarks.moods              # all 48 images, k = 5
    python -m benchmarks.moods -k 8 macaws  # some

For each image it makes the five mood palettes (``kmq_core.quantize(img, k,
mood=...)``) and checks what README "Moods" promises, measured on the image's
pixels, not by the code that chose the colours:

- the muted palette's mean Oklab chroma is below the colourful one's;
- the dark palette's mean Oklab lightness is below the bright one's;
- every swatch of every mood has at least 1 % of the image's pixels within
  CIEDE2000 10 of it (every 2nd pixel in each direction is measured).

Prints one line per image and a summary; exit status 1 if any check fails.
The images are in ../shared/data/cq100 (credits in its metadata.csv).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CQ100_DIR = REPO.parent / "shared" / "data" / "cq100"
#: a swatch needs this share of the pixels within COVER_DE of it
MIN_COVER, COVER_DE = 0.01, 10.0
STEP = 2


def cq100_names() -> list[str]:
    return sorted(p.stem for p in CQ100_DIR.glob("*.png"))


def pixel_cover(pixels: np.ndarray, colors: np.ndarray, step: int = STEP) -> np.ndarray:
    """Share of the (sampled) pixels within CIEDE2000 COVER_DE of each colour, measured per pixel."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    px = pixels[::step, ::step, :3].reshape(-1, 3)
    codes, counts = np.unique(px.astype(np.uint32) @ np.array([1, 256, 65536], np.uint32), return_counts=True)
    distinct = np.stack([codes & 255, (codes >> 8) & 255, codes >> 16], 1).astype(np.uint8)
    lab = rgb2lab(distinct.reshape(-1, 1, 3)).reshape(-1, 3)
    out = []
    for c in np.asarray(colors, np.uint8).reshape(-1, 3):
        lc = rgb2lab(c.reshape(1, 1, 3)).reshape(3)
        d = deltaE_ciede2000(np.broadcast_to(lc, lab.shape), lab)
        out.append(float(counts[d <= COVER_DE].sum()) / len(px))
    return np.array(out)


def check_image(path, k: int = 5) -> dict:
    """The five mood palettes of one image and the checks' figures (``ok`` True when all pass)."""
    from kmq_core import quantize
    from kmq_core.moods import oklab_lightness_chroma
    from kmq_core.options import MOODS

    pixels = np.asarray(Image.open(path).convert("RGB"))
    out: dict = {"moods": {}}
    worst = 1.0
    for mood in MOODS:
        pal = quantize(pixels, k, mood=mood, dither="none", lossy=0).palette
        L, C = oklab_lightness_chroma(pal.colors)
        cover = pixel_cover(pixels, pal.colors)
        worst = min(worst, float(cover.min()))
        out["moods"][mood] = {"hex": pal.hex, "L": float(L.mean()), "C": float(C.mean()), "cover": cover.tolist()}
    m = out["moods"]
    out["chroma_ok"] = m["muted"]["C"] < m["colorful"]["C"]
    out["lightness_ok"] = m["dark"]["L"] < m["bright"]["L"]
    out["worst_cover"] = worst
    out["cover_ok"] = worst >= MIN_COVER
    out["ok"] = out["chroma_ok"] and out["lightness_ok"] and out["cover_ok"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="CQ100 image names (default: all)")
    ap.add_argument("-k", type=int, default=5)
    args = ap.parse_args(argv)
    names = args.names or cq100_names()
    failed = []
    t0 = time.perf_counter()
    for name in names:
        r = check_image(CQ100_DIR / f"{name}.png", args.k)
        m = r["moods"]
        print(f"{name:24s} C muted {m['muted']['C']:.3f} < colorful {m['colorful']['C']:.3f} {r['chroma_ok']!s:5s}  "
              f"L dark {m['dark']['L']:.3f} < bright {m['bright']['L']:.3f} {r['lightness_ok']!s:5s}  "
              f"least cover {100 * r['worst_cover']:.2f}% {r['cover_ok']}", flush=True)
        if not r["ok"]:
            failed.append(name)
    print(f"{len(names) - len(failed)}/{len(names)} images pass (k={args.k}, {time.perf_counter() - t0:.0f} s)"
          + (f"; failing: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
