"""Hashes of what kmq makes, to prove that a refactoring changes no behaviour.

Every case runs a real entry point (the library, the command line, batch, the GIMP
bridge, animations) on the benchmark photos and records SHA-256 digests of the
palette colours, the labels and the bytes written (PNG, GIF, palette files)::

    python -m benchmarks.hashes -o before.json          # at the commit before
    python -m benchmarks.hashes --compare before.json   # after: exit 1 on any difference

The grid covers every colour space and every dithering mode (and each Bayer size) at
k = 16 and 64 on all five photos; the extra cases cover locked colours, a given
palette, lossy 0, dithering strength, k = 1 and 256, alpha, the quality target,
batch with a shared palette, and the GIMP bridge.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from .images import PHOTO_NAMES, photo

SPACES = ("perceptual", "de2000", "lab", "oklab", "rgb")
DITHERS = (("none", 8), ("fs", 8), ("bayer", 8), ("bayer", 2), ("bayer", 4), ("bluenoise", 8))


def _h(data) -> str:
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(data).hexdigest()[:20]


def _result(res) -> dict:
    return {"palette": _h(res.palette.colors), "labels": _h(res.labels), "png": _h(res.png)}


def _png_of(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    return buf.getvalue()


def grid(names=PHOTO_NAMES, ks=(16, 64)) -> dict:
    from kmq_core import quantize

    out = {}
    for name in names:
        img = photo(name)
        for space in SPACES:
            for k in ks:
                for dither, size in DITHERS:
                    if size != 8 and k != 16:
                        continue
                    res = quantize(img, k, space=space, dither=dither, bayer_size=size)
                    out[f"{name}/{space}/k{k}/{dither}{size if dither == 'bayer' else ''}"] = _result(res)
    return out


def extras() -> dict:
    from kmq_core import quantize

    china, flower = photo("china"), photo("flower")
    out = {}
    out["lock"] = _result(quantize(china, 16, lock="#ff0000,#00ff00,#123456"))
    out["lock-rgb-fs"] = _result(quantize(china, 16, space="rgb", dither="fs", lock="#ff0000"))
    given = quantize(china, 24).palette
    out["given-palette"] = _result(quantize(flower, palette=given))
    out["given-palette-fs"] = _result(quantize(flower, palette=given, dither="fs"))
    out["lossy0"] = _result(quantize(china, 32, lossy=0))
    out["lossy4"] = _result(quantize(china, 32, lossy=4))
    out["strength0.5"] = _result(quantize(china, 32, dither="fs", strength=0.5))
    out["k1"] = _result(quantize(china, 1))
    out["k256"] = _result(quantize(china, 256))
    out["seed7"] = _result(quantize(china, 16, seed=7))
    # alpha: a photo with a transparent hole and a translucent band
    rgba = np.dstack([flower, np.full(flower.shape[:2], 255, np.uint8)])
    rgba[50:120, 60:200, 3] = 0
    rgba[200:260, :, 3] = 128
    out["alpha"] = _result(quantize(rgba, 16))
    out["alpha-colours-only"] = _result(quantize(rgba, 16, count_alpha=False))
    return out


def _run_cli(args: list[str], cwd: str) -> None:
    import kmq_core

    # the kmq_core this process imported (a worktree's, not the installed one's)
    root = os.path.dirname(os.path.dirname(os.path.abspath(kmq_core.__file__)))
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=root)
    r = subprocess.run([sys.executable, "-m", "kmq_core.cli", *args], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=600)
    if r.returncode not in (0, 99):
        raise RuntimeError(f"kmq {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")


def _files(folder: str, skip=(".kmq-manifest.jsonl", "kmq-summary.json", "kmq-summary.csv")) -> dict:
    out = {}
    for root, _dirs, files in os.walk(folder):
        for f in sorted(files):
            if f in skip:
                continue
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, folder)] = _h(fh.read())
    return dict(sorted(out.items()))


def command_line() -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in")
        os.makedirs(os.path.join(src, "sub"))
        for i, name in enumerate(("china", "flower", "coffee")):
            folder = src if i < 2 else os.path.join(src, "sub")
            with open(os.path.join(folder, f"{name}.png"), "wb") as f:
                f.write(_png_of(photo(name)))
        cli = os.path.join(tmp, "cli")
        os.makedirs(cli)
        china = os.path.join(src, "china.png")
        _run_cli(["quantize", "24", china, "-o", os.path.join(cli, "a.png"), "--palette",
                  os.path.join(cli, "a.gpl"), "--palette", os.path.join(cli, "a.ase"), "--palette",
                  os.path.join(cli, "a.json")], tmp)
        _run_cli(["quantize", china, "-o", os.path.join(cli, "b.png"), "--dither", "fs", "--space", "rgb",
                  "--lock", "#ff0000"], tmp)
        _run_cli(["quantize", china, "--quality", "70-85", "-o", os.path.join(cli, "q.png")], tmp)
        _run_cli(["quantize", china, "-o", os.path.join(cli, "c.png"), "--palette-in", os.path.join(cli, "a.gpl")],
                 tmp)
        _run_cli(["palette", china, "-k", "12", "-o", os.path.join(cli, "p.gpl"), "-o", os.path.join(cli, "p.aco"),
                  "--sort", "hue"], tmp)
        out["cli"] = _files(cli)
        _run_cli(["batch", src, os.path.join(tmp, "b1"), "-k", "16", "-j", "1"], tmp)
        out["batch"] = _files(os.path.join(tmp, "b1"))
        _run_cli(["batch", src, os.path.join(tmp, "b2"), "-k", "16", "--shared-palette", "-j", "2",
                  "--dither", "bayer", "--bayer-size", "4"], tmp)
        out["batch-shared"] = _files(os.path.join(tmp, "b2"))
    return out


def gimp_bridge() -> dict:
    from kmq_core import gimp_bridge

    out = {}
    px = photo("coffee")
    rgba = np.dstack([px, np.full(px.shape[:2], 255, np.uint8)])
    mask = np.zeros(px.shape[:2], np.uint8)
    mask[40:300, 100:500] = 1
    for name, pixels, m, req in (
        ("default", px, None, {}),
        ("rgba-fs-lock", rgba, None, {"k": 8, "dither": "fs", "lock": "#000000,#ffffff"}),
        ("mask-bayer", px, mask, {"k": 12, "dither": "bayer", "bayer_size": 2, "space": "oklab"}),
        ("float", (px / 255.0).astype(np.float32), None, {"k": 20}),
        ("quality", px, None, {"k": 64, "quality": "60-80", "palette_name": "Coffee"}),
    ):
        r = gimp_bridge.process(pixels, dict(req), m)
        pal = r["palette"]
        out[name] = {"image": _h(r["image"]), "colors": _h(pal.colors), "weights": _h(np.asarray(pal.weights)),
                     "names": _h("\n".join(pal.names or ()).encode())}
    return out


def animation() -> dict:
    from kmq_core.animation import encode_animation, quantize_animation

    img = photo("astronaut")
    frames = [Image.fromarray(np.ascontiguousarray(img[10 * i:10 * i + 200, 5 * i:5 * i + 240])) for i in range(6)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    out = {}
    for mode in ("shared", "per-frame"):
        for dither in ("none", "fs", "bluenoise"):
            res = quantize_animation(buf.getvalue(), 32, frame_palette=mode, dither=dither)
            out[f"{mode}/{dither}"] = _h(encode_animation(res, "GIF"))
    res = quantize_animation(buf.getvalue(), 32)
    out["apng"] = _h(encode_animation(res, "PNG"))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", help="write the hashes here (JSON)")
    ap.add_argument("--compare", help="compare with this earlier output; exit 1 on any difference")
    ap.add_argument("--quick", action="store_true", help="two photos only in the grid")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    names = PHOTO_NAMES[:2] if a.quick else PHOTO_NAMES
    hashes = {"grid": grid(names), "extras": extras(), "gimp_bridge": gimp_bridge(), "animation": animation()}
    hashes.update(command_line())
    text = json.dumps(hashes, indent=1, sort_keys=True)
    if a.output:
        with open(a.output, "w") as f:
            f.write(text + "\n")
    n = sum(len(v) for v in hashes.values())
    print(f"{n} cases in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if a.compare:
        with open(a.compare) as f:
            before = json.load(f)
        diff = []
        for group, cases in before.items():
            if a.quick and group == "grid":
                cases = {c: v for c, v in cases.items() if c.split("/")[0] in names}
            for case, value in cases.items():
                if hashes.get(group, {}).get(case) != value:
                    diff.append(f"{group}/{case}")
        if diff:
            print(f"DIFFERENT ({len(diff)}): " + ", ".join(diff[:40]), file=sys.stderr)
            return 1
        print(f"identical: {n} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
