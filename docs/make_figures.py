"""Make the README's before/after picture with kmq itself.

    python docs/make_figures.py

Left half: scikit-learn's china.jpg as shipped; right half: kmq at k=16 with
the default options; below: the palette, as `kmq palette -o strip.png` draws it.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sklearn.datasets import load_sample_image

import kmq_core
from kmq_core.formats import palette_bytes

HERE = Path(__file__).resolve().parent


def main() -> None:
    img = load_sample_image("china.jpg")
    res = kmq_core.quantize(img, 16)
    x0, x1 = 50, 370  # the pagoda, in both halves
    h = img.shape[0]
    w = 2 * (x1 - x0)
    pic = Image.fromarray(np.hstack([img[:, x0:x1], res.image[:, x0:x1]]))
    d = ImageDraw.Draw(pic)
    d.line([(w // 2, 0), (w // 2, h)], fill=(255, 255, 255), width=2)
    d.text((8, 8), "original (JPEG, 24-bit colour)", fill=(0, 0, 0))
    d.text((w // 2 + 8, 8), f"kmq, k=16: {res.colors_used} colours, {res.bits_per_pixel} bits/pixel", fill=(0, 0, 0))
    import io

    strip = Image.open(io.BytesIO(palette_bytes(res.palette, "png"))).convert("RGB")
    if strip.width > w:  # enlarge the photos (nearest neighbour: no new colours) to the strip's width
        pic = pic.resize((strip.width, round(h * strip.width / w)), Image.Resampling.NEAREST)
        w, h = pic.size
    out = Image.new("RGB", (max(w, strip.width), h + strip.height), (255, 255, 255))
    out.paste(pic, (0, 0))
    out.paste(strip, (0, h))
    out.save(HERE / "before-after.png", optimize=True)
    print(f"wrote {HERE / 'before-after.png'}: PSNR {res.psnr:.2f} dB, mean ΔE2000 {res.delta_e:.2f}")


if __name__ == "__main__":
    main()
