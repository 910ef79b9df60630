"""Rate and quality: what users see and pay, kmq against pngquant.

    python -m benchmarks.rd                  # every photo and the 48 CQ100 images, k = 4 ... 256 (hours)
    python -m benchmarks.rd --images cq100   # the 48 CQ100 images in ../shared/data/cq100 only
    python -m benchmarks.rd --quick          # five CQ100 images at k = 8, 16, 64 (a few minutes)
    python -m benchmarks.rd --images china --k 16,64 --methods kmq,pq3
    python -m benchmarks.rd --from-json benchmarks/results/rd.json   # re-render, measure nothing

Every method is a whole command writing a PNG file (or, for libimagequant
in-process, its palette and indices written by kmq's own encoder); every
file is scored against the original with SSIMULACRA2 (PyPI ``ssimulacra2``,
higher is better, 100 = identical), butteraugli (Debian's ``butteraugli``,
lower is better), mean CIEDE2000, the accent error (mean CIEDE2000 over
the 2 % most chromatic pixels), the palette fidelity (the worst CIEDE2000
between a colour that 0.5 % of the pixels use and their mean colour in
linear light) and PSNR, and its size in bytes. Per photo
the report gives the BD-rate (Bjøntegaard delta rate: the mean difference of
log bytes at equal quality over the quality range both curves cover, each
curve a monotone piecewise-cubic fit of log bytes against quality over its
Pareto front) of kmq's default against each pngquant, and checks the goals
of the rate–distortion issue and of the small-k issue (24). Each scored cell
is kept in ``CACHE/cells.jsonl`` under its method, image, k and version (the
commit and its uncommitted changes for kmq, the tool's version for a peer),
so a rerun scores only what changed. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PHOTOS = ("china", "flower", "astronaut", "coffee", "chelsea")
#: the colour-quantization field's test set (Celebi and Pérez-Delgado 2023): the 48 of its
#: 100 images that are in ../shared (credits: ../shared/data/cq100/metadata.csv)
CQ100_DIR = REPO.parent / "shared" / "data" / "cq100"
CQ100 = tuple(sorted(p.stem for p in CQ100_DIR.glob("*.png")))
CQ100_QUICK = ("siberian_tiger", "common_lantanas", "salad_bowl", "korean_dancer", "maya_beach")
IMAGES = PHOTOS + ("accent", "12mp") + CQ100
KS = (4, 6, 8, 12, 16, 32, 64, 128, 256)
#: small k: where the seeds' k-means (scikit-learn on RGB) and kmq --space rgb are measured
SMALL_KS = (4, 6, 8, 12, 16)
#: goals of the small-k issue: the accent error within this factor of the better of the
#: seeds' k-means and pngquant 3; every palette colour within this ΔE2000 of its pixels' mean;
#: BD-rate medians and worst cases against each pngquant
ACCENT_FACTOR = 1.1
FIDELITY_DE = 5.0
GOAL_BD_WORST = -10.0
GOAL_KS = (16, 64, 256)
GOAL_BD = -25.0  # per cent
#: SSIMULACRA2 and butteraugli on the 12 MP photo are scored on these crops
#: (y, x, size) at 1:1: the whole image costs 34 s and 6 GB per score here.
#: SSIMULACRA2 is the mean over the crops, butteraugli the worst (it is a
#: worst-case measure); ΔE and PSNR use every 4th row and column of the whole.
CROPS_12MP = ((300, 1300, 768), (1100, 700, 768), (1900, 2300, 768), (700, 2900, 768))
#: metric ids: (key, title, higher is better)
METRICS = (("ss2", "SSIMULACRA2", True), ("ba", "butteraugli", False), ("de", "mean ΔE2000", False),
           ("psnr", "PSNR dB", True), ("acc", "accent ΔE2000", False), ("fid", "palette fidelity ΔE2000", False))

#: methods: key -> (title, kind, options)
METHODS = {
    "kmq": ("kmq default", "kmq", []),
    "kmq-none": ("kmq --dither none", "kmq", ["--dither", "none"]),
    "kmq-exact": ("kmq --dither none --lossy 0", "kmq", ["--dither", "none", "--lossy", "0"]),
    "kmq-fs": ("kmq --dither fs", "kmq", ["--dither", "fs"]),
    "kmq-bayer": ("kmq --dither bayer", "kmq", ["--dither", "bayer"]),
    "kmq-rgb": ("kmq --space rgb", "kmq", ["--space", "rgb"]),
    "sk": ("scikit-learn KMeans on RGB (the seeds' k-means)", "sk", None),
    "pq3": ("pngquant 3 (default)", "pq3", []),
    "pq3-nofs": ("pngquant 3 --nofs", "pq3", ["--nofs"]),
    "pq2": ("pngquant 2 (Debian, default)", "pq2", []),
    "pq2-nofs": ("pngquant 2 --nofs", "pq2", ["--nofs"]),
    "liq": ("libimagequant 2.15 in-process, kmq's encoder", "liq", 1.0),
    "liq-nofs": ("libimagequant 2.15 in-process undithered, kmq's encoder", "liq", 0.0),
}
DEFAULT_METHODS = ("kmq", "kmq-rgb", "sk", "pq3", "pq2")
#: methods measured at small k only
SMALL_K_METHODS = ("kmq-rgb", "sk")
#: the goals compare kmq's default with each pngquant's default, and kmq's
#: undithered mode (with its default lossy) with each --nofs
PEERS = (("pq3", "pq3-nofs"), ("pq2", "pq2-nofs"))
UNDITHERED = "kmq-none"


# --- tools --------------------------------------------------------------------

def pngquant3() -> str | None:
    """pngquant 3.x from PyPI's pngquant-cli, in this environment's bin/."""
    exe = Path(sys.executable).parent / "pngquant"
    return str(exe) if exe.exists() else None


def pngquant2() -> str | None:
    return "/usr/bin/pngquant" if os.path.exists("/usr/bin/pngquant") else None


def tool_versions() -> dict:
    def ver(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not installed"

    import ssimulacra2

    return {"pngquant 3": ver([pngquant3() or "pngquant3-missing", "--version"]),
            "pngquant 2": ver([pngquant2() or "pngquant2-missing", "--version"]),
            "ssimulacra2 (PyPI)": ssimulacra2.__version__,
            "butteraugli": "Debian package " + (subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "butteraugli"],
                                                                capture_output=True, text=True).stdout or "?"),
            "kmq": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True).stdout.strip()}


# --- images -----------------------------------------------------------------

def image_rgb(name: str) -> np.ndarray:
    from benchmarks import images as bimages

    if name in PHOTOS:
        return bimages.photo(name)
    if name == "12mp":
        return bimages.photo_12mp()
    if name == "accent":
        return bimages.accent_photo(seed=0)[0]
    raise KeyError(name)


def image_png(name: str, cache: Path) -> Path:
    from PIL import Image

    if name in CQ100:
        return CQ100_DIR / f"{name}.png"
    cache.mkdir(parents=True, exist_ok=True)
    import hashlib

    tag = hashlib.sha256((Path(__file__).parent / "images.py").read_bytes()).hexdigest()[:8]
    path = cache / f"rd-{name}-{tag}.png"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp.png")  # workers may race to make it
        Image.fromarray(image_rgb(name)).save(tmp)
        os.replace(tmp, path)
    return path


# --- metrics --------------------------------------------------------------------

def _butteraugli(a: Path, b: Path) -> float:
    out = subprocess.run(["butteraugli", str(a), str(b)], capture_output=True, text=True, check=True, timeout=600)
    return float(out.stdout.split()[0])


def _ssimulacra2(a: Path, b: Path) -> float:
    import ssimulacra2

    return float(ssimulacra2.compute_ssimulacra2(str(a), str(b)))


def score(orig: np.ndarray, result: np.ndarray, tmp: Path, crops=None) -> dict:
    """SSIMULACRA2, butteraugli, mean ΔE2000, PSNR of ``result`` against ``orig`` (RGB uint8)."""
    from PIL import Image

    from benchmarks.metrics import accent_error, mean_deltaE2000, palette_fidelity, psnr

    pairs = [(orig, result)] if crops is None else [(orig[y:y + s, x:x + s], result[y:y + s, x:x + s])
                                                    for y, x, s in crops]
    ss, ba = [], []
    for i, (o, r) in enumerate(pairs):
        po, pr = tmp / f"o{i}.png", tmp / f"r{i}.png"
        Image.fromarray(np.ascontiguousarray(o)).save(po, compress_level=1)
        Image.fromarray(np.ascontiguousarray(r)).save(pr, compress_level=1)
        ss.append(_ssimulacra2(po, pr))
        ba.append(_butteraugli(po, pr))
    step = 4 if crops is not None else 1
    sub_o, sub_r = orig[::step, ::step], result[::step, ::step]
    return {"ss2": round(float(np.mean(ss)), 3), "ba": round(float(np.max(ba)), 4),
            "de": round(float(mean_deltaE2000(sub_o, sub_r)), 4), "psnr": round(psnr(orig, result), 3),
            "acc": round(accent_error(sub_o, sub_r), 4), "fid": round(palette_fidelity(sub_o, sub_r), 4)}


# --- methods ------------------------------------------------------------------

def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), np.uint8)


def produce(method: str, src: Path, k: int, out: Path) -> int:
    """Run one method; the PNG lands at ``out``; returns its size in bytes."""
    title, kind, opts = METHODS[method]
    if kind == "kmq":
        argv = [sys.executable, "-m", "kmq_core.cli", "quantize", str(src), "-k", str(k), "-o", str(out), "-f",
                "-q", *opts]
    elif kind in ("pq3", "pq2"):
        exe = pngquant3() if kind == "pq3" else pngquant2()
        if exe is None:
            raise FileNotFoundError(f"{title}: not installed")
        argv = [exe, "--force", *opts, "--output", str(out), str(k), "--", str(src)]
    elif kind == "sk":
        return _sklearn(src, k, out)
    else:
        return _liq(src, k, out, float(opts))
    subprocess.run(argv, check=True, capture_output=True, timeout=900)
    return out.stat().st_size


def _sklearn(src: Path, k: int, out: Path) -> int:
    """The seeds' method: scikit-learn KMeans(k, n_init="auto", random_state=0) on the RGB
    pixels, centres rounded to 8 bits, every pixel its nearest centre, saved by Pillow."""
    from PIL import Image
    from sklearn.cluster import KMeans

    rgb = _read_rgb(src)
    x = rgb.reshape(-1, 3).astype(np.float64)
    pal = np.clip(np.rint(KMeans(k, n_init="auto", random_state=0).fit(x).cluster_centers_), 0, 255)
    labels = np.argmin(((x[:, None, :] - pal[None]) ** 2).sum(2), 1).astype(np.uint8)
    im = Image.fromarray(labels.reshape(rgb.shape[:2]), "P")
    im.putpalette(pal.astype(np.uint8).ravel().tolist())
    im.save(out, optimize=True)
    return out.stat().st_size


def _liq(src: Path, k: int, out: Path, dither: float) -> int:
    """libimagequant (the ``imagequant`` binding) in-process, written by kmq's encoder."""
    import imagequant

    from kmq_core.saving import encode_indexed_png

    rgb = _read_rgb(src)
    h, w = rgb.shape[:2]
    rgba = np.dstack([rgb, np.full((h, w), 255, np.uint8)])
    data, pal = imagequant.quantize_raw_rgba_bytes(rgba.tobytes(), w, h, dithering_level=dither, max_colors=k,
                                                   min_quality=0, max_quality=100)
    labels = np.frombuffer(data, np.uint8).reshape(h, w)
    colors = np.array(pal, np.uint8).reshape(-1, 4)[:, :3]
    png = encode_indexed_png(labels, colors)
    out.write_bytes(png)
    return len(png)


def measure(method: str, image: str, k: int, cache: str) -> dict:
    """One cell: run the method, score its file (in a worker process)."""
    src = image_png(image, Path(cache))
    with tempfile.TemporaryDirectory(prefix="kmq-rd-") as d:
        tmp = Path(d)
        out = tmp / "out.png"
        t0 = time.perf_counter()
        nbytes = produce(method, src, k, out)
        seconds = time.perf_counter() - t0
        result = _read_rgb(out)
        orig = _read_rgb(src)
        s = score(orig, result, tmp, CROPS_12MP if image == "12mp" else None)
    return {"method": method, "image": image, "k": k, "bytes": nbytes, "seconds": round(seconds, 3), **s}


def method_versions(methods) -> dict:
    """What a cell's score depends on besides the image and k: for kmq the git tree of
    kmq_core (the same code in two commits keeps its cells) and a hash of its
    uncommitted changes, for a peer its version."""
    import hashlib

    def git(*a):
        return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True).stdout

    kmq = "kmq_core@" + git("rev-parse", "HEAD:kmq_core").strip()[:12]
    dirty = git("diff", "HEAD", "--", "kmq_core")
    if dirty:
        kmq += "+" + hashlib.sha256(dirty.encode()).hexdigest()[:8]
    tools = tool_versions()
    out = {}
    for m in methods:
        kind = METHODS[m][1]
        if kind == "kmq":
            out[m] = kmq
        elif kind == "sk":
            import sklearn

            out[m] = f"scikit-learn {sklearn.__version__}"
        elif kind in ("pq3", "pq2"):
            out[m] = tools["pngquant 3" if kind == "pq3" else "pngquant 2"]
        else:
            import importlib.metadata as md

            out[m] = "imagequant " + md.version("imagequant")
    return out


def load_cells(path: Path) -> dict:
    """Scored cells kept from earlier runs: (method, image, k, version) -> result."""
    cells = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                r = json.loads(line)
                cells[(r["method"], r["image"], r["k"], r["version"])] = r
            except (ValueError, KeyError):
                continue  # a line cut short by a killed run
    return cells


def check_metrics(cache: Path) -> list[str]:
    """The metrics themselves: identical images score 100 / 0; a JPEG ladder is monotonic."""
    from PIL import Image

    lines = []
    src = image_png("chelsea", cache)
    orig = _read_rgb(src)
    with tempfile.TemporaryDirectory(prefix="kmq-rd-check-") as d:
        tmp = Path(d)
        same = score(orig, orig, tmp)
        lines.append(f"identical image: SSIMULACRA2 {same['ss2']:.2f} (expect 100), butteraugli {same['ba']:.3f} "
                     f"(expect 0) — {'PASS' if same['ss2'] >= 99.99 and same['ba'] <= 1e-6 else 'FAIL'}")
        ladder = []
        for q in (10, 30, 50, 70, 90):
            p = tmp / f"q{q}.jpg"
            Image.fromarray(orig).save(p, quality=q)
            ladder.append((q, score(orig, _read_rgb(p), tmp)))
        ss = [s["ss2"] for _, s in ladder]
        ba = [s["ba"] for _, s in ladder]
        mono = all(a < b for a, b in zip(ss, ss[1:])) and all(a > b for a, b in zip(ba, ba[1:]))
        lines.append("JPEG quality ladder " + ", ".join(f"q{q}: {s['ss2']:.1f} / {s['ba']:.2f}" for q, s in ladder)
                     + f" (SSIMULACRA2 / butteraugli) — {'PASS: monotonic' if mono else 'FAIL: not monotonic'}")
    return lines


# --- BD-rate ------------------------------------------------------------------

def _front(rates, quality):
    """Pareto front: by rate, keep the points better than every cheaper one."""
    out = []
    for r, q in sorted(zip(rates, quality)):
        if not out or q > out[-1][1]:
            out.append((r, q))
    return out


def bd_rate(rates_a, qual_a, rates_b, qual_b) -> float | None:
    """Bjøntegaard delta rate of A against B, in per cent (negative: A needs fewer bytes).

    ``qual`` must grow with quality (pass −butteraugli). Each curve is its
    Pareto front; log(bytes) is fitted as a monotone piecewise-cubic
    (SciPy's PchipInterpolator) function of quality and the two are
    integrated over the quality range both cover.
    """
    from scipy.interpolate import PchipInterpolator

    fa, fb = _front(rates_a, qual_a), _front(rates_b, qual_b)
    if len(fa) < 2 or len(fb) < 2:
        return None
    qa, la = np.array([q for _, q in fa]), np.log([r for r, _ in fa])
    qb, lb = np.array([q for _, q in fb]), np.log([r for r, _ in fb])
    lo, hi = max(qa.min(), qb.min()), min(qa.max(), qb.max())
    if hi <= lo:
        return None
    ia = PchipInterpolator(qa, la).integrate(lo, hi)
    ib = PchipInterpolator(qb, lb).integrate(lo, hi)
    return float(np.expm1((ia - ib) / (hi - lo)) * 100.0)


# --- the report ---------------------------------------------------------------

def _cells(results):
    return {(r["method"], r["image"], r["k"]): r for r in results if "error" not in r}


def _curve(cells, method, image, ks, key, higher):
    pts = [cells[(method, image, k)] for k in ks if (method, image, k) in cells]
    return [p["bytes"] for p in pts], [p[key] if higher else -p[key] for p in pts]


def goals_small_k(results, images, ks, default="kmq"):
    """The small-k issue's goals as (name, passed, detail lines), misses named."""
    cells = _cells(results)
    out = []
    small = [k for k in ks if k in SMALL_KS]
    # 1. k = 4..16: no worse than the seeds' k-means on SSIMULACRA2 and ΔE2000; accent within 1.1x
    for key, title in (("ss2", "SSIMULACRA2"), ("de", "mean ΔE2000")):
        rows, n, n_ok = [], 0, 0
        for im in images:
            for k in small:
                a, b = cells.get((default, im, k)), cells.get(("sk", im, k))
                if a is None or b is None:
                    continue
                n += 1
                good = a[key] >= b[key] if key == "ss2" else a[key] <= b[key]
                n_ok += good
                if not good:
                    rows.append(f"{im} k={k}: {a[key]:.2f} against {b[key]:.2f}")
        out.append((f"k = 4…16: kmq default no worse than the seeds' k-means on {title}", n > 0 and n_ok == n,
                    [f"{n_ok} of {n} cells pass"] + rows))
    rows, n, n_ok = [], 0, 0
    for im in images:
        for k in small:
            a, b, c = cells.get((default, im, k)), cells.get(("sk", im, k)), cells.get(("pq3", im, k))
            if a is None or b is None or c is None:
                continue
            n += 1
            limit = ACCENT_FACTOR * min(b["acc"], c["acc"])
            n_ok += a["acc"] <= limit
            if a["acc"] > limit:
                rows.append(f"{im} k={k}: {a['acc']:.2f} against seeds {b['acc']:.2f}, pngquant 3 {c['acc']:.2f}")
    out.append((f"k = 4…16: accent error at most {ACCENT_FACTOR}× the better of the seeds' k-means and pngquant 3",
                n > 0 and n_ok == n, [f"{n_ok} of {n} cells pass"] + rows))
    # 2. every k: every palette colour (0.5 % of the pixels or more) within ΔE2000 5 of its pixels' mean
    rows, n, n_ok = [], 0, 0
    for im in images:
        for k in ks:
            a = cells.get((default, im, k))
            if a is None:
                continue
            n += 1
            n_ok += a["fid"] <= FIDELITY_DE
            if a["fid"] > FIDELITY_DE:
                rows.append(f"{im} k={k}: {a['fid']:.2f}")
    out.append((f"every k: each palette colour within ΔE2000 {FIDELITY_DE:g} of its pixels' mean (linear light)",
                n > 0 and n_ok == n, [f"{n_ok} of {n} cells pass"] + rows))
    # 3. BD-rate against each pngquant: median and worst
    for peer in ("pq3", "pq2"):
        for key, title, higher in METRICS[:2]:
            vals = {}
            for im in images:
                v = bd_rate(*_curve(cells, default, im, ks, key, higher), *_curve(cells, peer, im, ks, key, higher))
                if v is not None:
                    vals[im] = v
            if not vals:
                continue
            med, worst = float(np.median(list(vals.values()))), max(vals.values())
            ok = med <= GOAL_BD and worst <= GOAL_BD_WORST
            misses = sorted(((v, im) for im, v in vals.items() if v > GOAL_BD_WORST), reverse=True)
            out.append((f"BD-rate ({title}) against {METHODS[peer][0]}: median ≤ {GOAL_BD:.0f} %, worst ≤ "
                        f"{GOAL_BD_WORST:.0f} %", ok,
                        [f"median {med:+.1f} %, worst {worst:+.1f} % ({max(vals, key=vals.get)}), {len(vals)} images"]
                        + [f"{im}: {v:+.1f} % (worse than {GOAL_BD_WORST:.0f} %)" for v, im in misses]))
    return out


def worst_images(results, images, ks, default="kmq", n=8):
    """The images where kmq's default trails the seeds' k-means most at small k (sum of SSIMULACRA2 deficits)."""
    cells = _cells(results)
    score = {}
    for im in images:
        d = [cells[("sk", im, k)]["ss2"] - cells[(default, im, k)]["ss2"] for k in ks
             if k in SMALL_KS and (default, im, k) in cells and ("sk", im, k) in cells]
        if d:
            score[im] = sum(d)
    return sorted(score, key=score.get, reverse=True)[:n]


def goals(results, images, ks, default="kmq"):
    """Every goal as (name, passed, detail lines)."""
    cells = _cells(results)
    out = goals_small_k(results, images, ks, default)
    # 1. BD-rate of kmq's default against each pngquant's default, per image
    for peer, _ in PEERS:
        if not any(r["method"] == peer for r in results):
            continue
        for key, title, higher in METRICS[:2]:
            rows, ok = [], True
            for im in images:
                v = bd_rate(*_curve(cells, default, im, ks, key, higher), *_curve(cells, peer, im, ks, key, higher))
                good = v is not None and v <= GOAL_BD
                ok &= good
                rows.append(f"{im}: {'n/a' if v is None else f'{v:+.1f} %'} {'PASS' if good else 'MISS'}")
            out.append((f"BD-rate ({title}) kmq default vs {METHODS[peer][0]} ≤ {GOAL_BD:.0f} %", ok, rows))
    # 2. at k = 16, 64, 256: kmq default at least the peer's default on SS2, BA, ΔE, no larger
    measured = {r["method"] for r in results}
    for peer, _ in PEERS:
        if peer not in measured:
            continue
        rows, ok = [], True
        for im in images:
            for k in GOAL_KS:
                a, b = cells.get((default, im, k)), cells.get((peer, im, k))
                if a is None or b is None:
                    continue
                fails = [n for n, good in (("SSIMULACRA2", a["ss2"] >= b["ss2"]), ("butteraugli", a["ba"] <= b["ba"]),
                                           ("ΔE2000", a["de"] <= b["de"]), ("bytes", a["bytes"] <= b["bytes"])) if not good]
                ok &= not fails
                rows.append(f"{im} k={k}: {a['bytes']:,} B · {a['ss2']:.1f} · {a['ba']:.2f} · {a['de']:.2f} against "
                            f"{b['bytes']:,} B · {b['ss2']:.1f} · {b['ba']:.2f} · {b['de']:.2f} — "
                            + ("PASS" if not fails else "MISS (" + ", ".join(fails) + ")"))
        out.append((f"k = 16, 64, 256: kmq default ≥ {METHODS[peer][0]} on SSIMULACRA2, butteraugli and ΔE2000, "
                    f"no larger", ok, rows))
    # 3. undithered at every k: at least the peer's --nofs on SS2 and BA, ΔE no worse
    for _, nofs in PEERS:
        if nofs not in measured or UNDITHERED not in measured:
            continue
        rows, ok, n_ok, n = [], True, 0, 0
        for im in images:
            for k in ks:
                a, b = cells.get((UNDITHERED, im, k)), cells.get((nofs, im, k))
                if a is None or b is None:
                    continue
                fails = [m for m, good in (("SSIMULACRA2", a["ss2"] >= b["ss2"]), ("butteraugli", a["ba"] <= b["ba"]),
                                           ("ΔE2000", a["de"] <= b["de"])) if not good]
                n += 1
                n_ok += not fails
                ok &= not fails
                if fails:
                    rows.append(f"{im} k={k}: {a['ss2']:.1f} · {a['ba']:.2f} · {a['de']:.2f} against "
                                f"{b['ss2']:.1f} · {b['ba']:.2f} · {b['de']:.2f} — MISS (" + ", ".join(fails) + ")")
        rows.insert(0, f"{n_ok} of {n} cells pass")
        out.append((f"every k: {METHODS[UNDITHERED][0]} ≥ {METHODS[nofs][0]} on SSIMULACRA2 and butteraugli, ΔE2000 "
                    f"no worse", ok, rows))
    return out


def render(data: dict) -> str:
    results, images, ks, methods = data["results"], data["images"], data["ks"], data["methods"]
    cells = _cells(results)
    lines = ["# kmq rate–quality benchmark", "",
             f"Run {data['date']} in {data['seconds']:.0f} s on {data['machine']}. Tools: "
             + "; ".join(f"{k} {v}" for k, v in data["tools"].items()) + ".", "",
             "Each cell: bytes · SSIMULACRA2 (higher better) · butteraugli (lower better) · mean ΔE2000 · PSNR · "
             "accent ΔE2000. "
             "The 12 MP photo is scored on four 768×768 crops at 1:1 (SSIMULACRA2 their mean, butteraugli their "
             "worst) and ΔE/PSNR on every 4th pixel; its bytes are the whole file's.", ""]
    lines += ["## The metrics checked", ""] + [f"- {x}" for x in data.get("checks", [])] + [""]
    lines += ["## Goals", ""]
    for name, ok, rows in goals(results, images, ks):
        lines.append(f"- **{name}**: {'PASS' if ok else 'MISS'}")
        lines += [f"  - {r}" for r in rows]
    worst = worst_images(results, images, ks)
    if worst:
        lines += ["", "## The worst images at small k", "",
                  "Where kmq's default trails the seeds' k-means most (SSIMULACRA2 deficits summed over k = 4…16), "
                  "first worst: " + ", ".join(worst) + ". Their curves are plotted below."]
    lines += ["", "## BD-rate against each peer (per cent bytes at equal quality; negative = smaller)", ""]
    kmq_methods = [m for m in methods if METHODS[m][1] == "kmq"]
    peers = [m for m in methods if METHODS[m][1] not in ("kmq", "sk")]
    cols = [(km, peer, key, title, higher) for key, title, higher in METRICS[:3] for km in kmq_methods[:1]
            for peer in peers]
    lines += ["| image | " + " | ".join(f"{title} vs {METHODS[peer][0]}" for _, peer, _, title, _ in cols) + " |",
              "|---|" + "---|" * len(cols)]
    for im in images:
        vals = []
        for km, peer, key, _, higher in cols:
            v = bd_rate(*_curve(cells, km, im, ks, key, higher), *_curve(cells, peer, im, ks, key, higher))
            vals.append("n/a" if v is None else f"{v:+.1f}")
        lines.append(f"| {im} | " + " | ".join(vals) + " |")
    lines.append("")
    lines += ["## All measurements", ""]
    for im in images:
        lines += [f"### {im}", "", "| method | " + " | ".join(f"k={k}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
        for m in methods:
            row = []
            for k in ks:
                c = cells.get((m, im, k))
                row.append("—" if c is None else f"{c['bytes'] / 1000:.1f} kB · {c['ss2']:.1f} · {c['ba']:.2f} · "
                           f"{c['de']:.2f} · {c['psnr']:.1f} · {c.get('acc', float('nan')):.2f}")
            lines.append(f"| {METHODS[m][0]} | " + " | ".join(row) + " |")
        if im in plotted(data):
            lines += ["", f"![bytes against SSIMULACRA2, {im}]({data.get('name', 'rd')}-{im}.png)", ""]
        lines.append("")
    errors = [r for r in results if "error" in r]
    if errors:
        lines += ["## Errors", ""] + [f"- {r['method']} {r['image']} k={r['k']}: {r['error']}" for r in errors]
    return "\n".join(lines) + "\n"


def plotted(data: dict) -> list[str]:
    """The images whose curves are drawn: the benchmark photos, the quick subset and the worst at small k."""
    worst = worst_images(data["results"], data["images"], data["ks"])
    return [im for im in data["images"] if im not in CQ100 or im in CQ100_QUICK or im in worst]


def plot(data: dict, out_dir: Path, name: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = _cells(data["results"])
    paths = []
    for im in plotted(data):
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
        for m in data["methods"]:
            pts = [(cells[(m, im, k)]["bytes"] / 1000, cells[(m, im, k)]["ss2"]) for k in data["ks"]
                   if (m, im, k) in cells]
            if pts:
                x, y = zip(*pts)
                style = "-" if METHODS[m][1] == "kmq" else "--"
                ax.plot(x, y, style, marker="o", markersize=3, label=METHODS[m][0], linewidth=1.6 if m == "kmq" else 1)
        ax.set_xscale("log")
        ax.set_xlabel("PNG kB (log scale)")
        ax.set_ylabel("SSIMULACRA2 (higher is better)")
        ax.set_title(f"{im}: bytes against quality, k = {data['ks'][0]}…{data['ks'][-1]}")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        p = out_dir / f"{name}-{im}.png"
        fig.savefig(p)
        plt.close(fig)
        paths.append(p)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", default=",".join(IMAGES))
    ap.add_argument("--k", default=",".join(map(str, KS)))
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    ap.add_argument("--quick", action="store_true", help="five CQ100 images, k = 8, 16, 64")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cache", default="/tmp/kmq-bench-cache")
    ap.add_argument("--name", default=None, help="results file stem (default rd, or rd-quick)")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--from-json", default=None, help="re-render a saved run")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = args.name or ("rd-quick" if args.quick else "rd")
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
    else:
        images = list(CQ100_QUICK) if args.quick else [x for name in args.images.split(",")
                                                       for x in (CQ100 if name == "cq100" else (name,))]
        ks = [8, 16, 64] if args.quick else [int(x) for x in args.k.split(",")]
        methods = args.methods.split(",")
        for m in methods:
            if m not in METHODS:
                ap.error(f"unknown method {m}: choose from {', '.join(METHODS)}")
        for tool in ("butteraugli",):
            if shutil.which(tool) is None:
                ap.error(f"{tool} is not installed (apt-get install {tool})")
        t0 = time.time()
        cache = Path(args.cache)
        cache.mkdir(parents=True, exist_ok=True)
        checks = check_metrics(cache)
        print("\n".join(checks), flush=True)
        versions = method_versions(methods)
        store = cache / "cells.jsonl"
        kept = load_cells(store)
        tasks = [(m, im, k) for im in images for k in ks for m in methods
                 if m not in SMALL_K_METHODS or k in SMALL_KS]
        results = [dict(kept[(m, im, k, versions[m])]) for m, im, k in tasks if (m, im, k, versions[m]) in kept]
        todo = [(m, im, k) for m, im, k in tasks if (m, im, k, versions[m]) not in kept]
        print(f"{len(results)} of {len(tasks)} cells kept from earlier runs; scoring {len(todo)}", flush=True)
        # the big photo first, so the pool's last minutes are not one long job
        todo.sort(key=lambda t: t[1] != "12mp")
        with ProcessPoolExecutor(max(1, args.jobs)) as pool:
            futs = {pool.submit(measure, m, im, k, str(cache)): (m, im, k) for m, im, k in todo}
            for i, f in enumerate(as_completed(futs), 1):
                m, im, k = futs[f]
                try:
                    r = f.result()
                    r["version"] = versions[m]
                    with open(store, "a") as fh:
                        fh.write(json.dumps(r) + "\n")
                except Exception as e:  # noqa: BLE001 - recorded and reported
                    r = {"method": m, "image": im, "k": k, "error": str(e).strip().splitlines()[-1][:300]}
                results.append(r)
                print(f"[{i}/{len(todo)}] {m} {im} k={k}: " + (r.get("error") or
                      f"{r['bytes']:,} B · {r['ss2']:.1f} · {r['ba']:.2f} · {r['de']:.2f} · {r['acc']:.2f}"),
                      flush=True)
        import platform

        data = {"date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "seconds": time.time() - t0, "machine": f"{platform.processor() or platform.machine()}, "
                f"{os.cpu_count()} cores, Python {platform.python_version()}", "tools": tool_versions(),
                "images": images, "ks": ks, "methods": methods, "checks": checks, "versions": versions,
                "results": sorted(results, key=lambda r: (r["image"], r["method"], r["k"]))}
        (out_dir / f"{name}.json").write_text(json.dumps(data, indent=1))
    data["name"] = name
    report = render(data)
    plot(data, out_dir, name)
    (out_dir / f"{name}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
