"""Measure kmq and its peers in one run; write Markdown and JSON tables.

    python -m benchmarks.run            # everything (a few minutes)
    python -m benchmarks.run --quick    # a small subset (under a minute)
    python -m benchmarks.run --images coffee,12mp --k 64 --methods kmq,libimagequant

Each (method, image, k, dithering) measurement runs in a fresh worker process
(:mod:`benchmarks.worker`) so its peak-memory figure is its own. Whole
commands (``pngquant``, ``kmq quantize``) run as processes on PNG files.
After the tables comes the "Goals" section: every goal of issue 6 checked
against the numbers of this same run. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks import images as bimages
from benchmarks.methods import METHODS, libimagequant_version, pngquant_path, run_process

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PHOTOS = bimages.PHOTO_NAMES
ALL_IMAGES = PHOTOS + ("12mp", "accent")
IMAGE_TITLES = {"china": "china", "flower": "flower", "astronaut": "astronaut", "coffee": "coffee",
                "chelsea": "chelsea", "12mp": "12 MP", "accent": "accent"}
PEER_ORDER = ["sklearn-kmeans", "sklearn-example", "minibatch", "cv2-kmeans", "libimagequant", "pngquant",
              "pillow-mediancut", "pillow-maxcoverage", "pillow-fastoctree"]
KMQ_ORDER = ["kmq", "kmq-rgb", "kmq-oklab", "kmq-cli"]

#: ΔE on the 12 MP photo is evaluated on every 4th row and column (750,000
#: pixels, more than any of the five photos); PSNR and colours use all pixels
BIG_METRIC_STEP = 4
#: measurements the issue allows to skip on the 12 MP photo, and why
SKIP_12MP = {"sklearn-kmeans": 64, "cv2-kmeans": 64}  # max k measured
#: MiniBatchKMeans' early stop can run for many minutes on 12 MP; cap it
TIMEOUT_12MP = {"minibatch": 60.0}
ACCENT_K = 16
ACCENT_LOST_DE = 40.0  # object ΔE at or above this: the colour is gone

# goal thresholds (issue 6)
GOAL_PERCEPTUAL = -0.15  # kmq ΔE at least 15 % below the best peer's
GOAL_SPEEDUP_SKLEARN = 50.0  # at 12 MP, k=64
GOAL_MEMORY_FACTOR = 4.0  # peak RSS < 4× decoded RGB
GOAL_ACCENT_DE = 6.0
GOAL_ACCENT_WHOLE = 0.02  # whole-image ΔE within 2 % of the best peer's
MEMORY_SIZE = (8181, 7221)


# --- images on disk ---------------------------------------------------------

class ImageCache:
    """Benchmark images as .npy (for workers) and .png (for whole commands).

    Everything is derived deterministically from installed packages, so the
    files are reused across runs (delete the folder to rebuild them).
    """

    def __init__(self, root: Path):
        import hashlib

        # file names carry a hash of images.py, so changing how an image is
        # made never reuses a stale file
        self.tag = hashlib.sha256(Path(bimages.__file__).read_bytes()).hexdigest()[:8]
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        (root / "out").mkdir(exist_ok=True)

    def _make(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        if name in PHOTOS:
            return bimages.photo(name), None
        if name == "12mp":
            return bimages.photo_12mp(), None
        if name == "accent":
            return bimages.accent_photo(seed=0)
        if name == "8181x7221":
            return bimages.photo_8181x7221(), None
        raise KeyError(name)

    def paths(self, name: str, png: bool = False) -> dict:
        npy = self.root / f"{name}-{self.tag}.npy"
        mask_path = self.root / f"{name}-{self.tag}.mask.npy"
        png_path = self.root / f"{name}-{self.tag}.png"
        rgb = None
        if not npy.exists():
            rgb, mask = self._make(name)
            np.save(npy, rgb)
            if mask is not None:
                np.save(mask_path, mask)
        if png and not png_path.exists():
            from PIL import Image

            if rgb is None:
                rgb = np.load(npy)
            tmp = png_path.with_suffix(".tmp.png")
            Image.fromarray(rgb).save(tmp, compress_level=6)
            os.replace(tmp, png_path)
        out = {"npy": str(npy), "png": str(png_path) if png else None,
               "mask": str(mask_path) if mask_path.exists() else None}
        if rgb is None:
            rgb = np.load(npy, mmap_mode="r")
        out["shape"] = tuple(int(s) for s in rgb.shape)
        return out


# --- machine information ----------------------------------------------------

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    import cv2
    import PIL
    import skimage
    import sklearn

    try:
        import kmq_core

        kmq_version = getattr(kmq_core, "__version__", "?")
        git = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
    except Exception:  # noqa: BLE001
        kmq_version, git = "not importable", ""
    pq = pngquant_path()
    pq_version = "not installed"
    if pq:
        pq_version = subprocess.run([pq, "--version"], capture_output=True, text=True).stdout.strip()
    mem = ""
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 1e9:.1f} GB"
    except ImportError:
        pass
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory": mem,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "scikit-learn": sklearn.__version__,
        "scikit-image": skimage.__version__,
        "pillow": PIL.__version__,
        "libimagequant (imagequant binding)": libimagequant_version(),
        "pngquant": pq_version,
        "kmq": f"{kmq_version} ({git})" if git else kmq_version,
    }


# --- planning and running -----------------------------------------------------

@dataclass
class Task:
    method: str
    image: str
    k: int
    dither: bool
    runs: int
    budget_s: float
    timeout_s: float
    skip: str | None = None
    result: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return row_label(self.method, self.dither)


def default_space() -> str:
    """kmq's default colour space, read once per run (kmq_core may change meanwhile)."""
    global _DEFAULT_SPACE
    if _DEFAULT_SPACE is None:
        from kmq_core.options import DEFAULT_SPACE

        _DEFAULT_SPACE = DEFAULT_SPACE
    return _DEFAULT_SPACE


_DEFAULT_SPACE: str | None = None


def row_label(method: str, dither: bool) -> str:
    label = METHODS[method].label
    if method == "kmq":
        label = f"kmq default (space={default_space()})"
    return label + (", dithered" if dither else "")


def method_keys(selected: list[str] | None) -> list[str]:
    keys = KMQ_ORDER + PEER_ORDER
    # the default space is the "kmq" row already; don't measure it twice
    keys = [m for m in keys if m != f"kmq-{default_space()}"]
    if pngquant_path() is None:
        keys.remove("pngquant")
    if selected:
        keys = [m for m in keys if m in selected]
    return keys


def plan(args) -> list[Task]:
    tasks = []
    for image in args.images:
        for k in args.k:
            if image == "accent" and k != ACCENT_K:
                continue
            for m in method_keys(args.methods):
                meth = METHODS[m]
                if m == "kmq-cli" and image != "12mp":
                    continue  # the whole-command comparison is on the 12 MP PNG
                for dither in meth.dithers:
                    if dither not in args.dithers or (image == "accent" and dither):
                        continue
                    big = image == "12mp"
                    t = Task(m, image, k, dither,
                             runs=args.runs, budget_s=args.budget,
                             timeout_s=TIMEOUT_12MP.get(m, args.timeout) if big else args.timeout)
                    if big and not args.no_skip and m in SKIP_12MP and k > SKIP_12MP[m]:
                        t.skip = "skipped (too slow)"
                    tasks.append(t)
    return tasks


def run_worker(spec: dict, timeout: float) -> dict:
    """Run one measurement in a fresh process; kill its process group on timeout."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-m", "benchmarks.worker", json.dumps(spec)], cwd=REPO, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)  # the worker and anything it started (pngquant, kmq)
        p.communicate()
        return {"status": "timeout", "note": f"timed out (> {timeout:.0f} s)"}
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if p.returncode != 0 or not lines:
        return {"status": "error", "note": (err.strip().splitlines() or ["worker failed"])[-1][:200]}
    res = json.loads(lines[-1])
    if "error" in res:
        return {"status": "error", "note": res["error"]}
    res["status"] = "ok"
    return res


def spec_for(task: Task, cache: ImageCache, metrics: bool = True) -> dict:
    meth = METHODS[task.method]
    p = cache.paths(task.image, png=meth.kind == "process")
    spec = {"method": task.method, "image": p["npy"], "k": task.k, "dither": task.dither,
            "runs": task.runs, "budget_s": task.budget_s, "metrics": metrics,
            "metric_step": BIG_METRIC_STEP if task.image == "12mp" else 1, "mask": p["mask"]}
    if meth.kind == "process":
        spec["png"] = {"in": p["png"],
                       "out": str(cache.root / "out" / f"{task.method}-{task.image}-k{task.k}-"
                                  f"{'fs' if task.dither else 'none'}.png")}
    return spec


def _log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def execute(tasks: list[Task], cache: ImageCache, args) -> list[dict]:
    """Run every task; return the determinism checks made along the way.

    Every repeated run of a kmq measurement must give the same output. For
    kmq default at the smallest k, a second fresh process reruns the call
    right away (right away, so the check is not confused by kmq_core being
    edited while a long benchmark runs) and must match as well.
    """
    checks = []
    for i, t in enumerate(tasks, 1):
        if t.skip:
            t.result = {"status": "skipped", "note": t.skip}
        else:
            t0 = time.perf_counter()
            t.result = run_worker(spec_for(t, cache), t.timeout_s)
            t.result["worker_wall_s"] = round(time.perf_counter() - t0, 2)
        r = t.result
        what = (f"{fmt_time(r['time_s'], r['runs'], t.runs)}  PSNR {r.get('psnr', float('nan')):.2f}  "
                f"ΔE {r.get('de', float('nan')):.2f}" if r["status"] == "ok" else r.get("note", r["status"]))
        _log(f"[{i}/{len(tasks)}] {t.image} k={t.k} {t.label}: {what}  [{r.get('worker_wall_s', 0):.1f} s]")
        if t.method == "kmq" and r["status"] == "ok":
            d = r.get("digests", [])
            entry = {"image": t.image, "k": t.k, "dither": t.dither, "runs": len(d),
                     "same_within_process": len(set(d)) == 1, "digest": d[0] if d else None}
            if t.k == min(args.k) and t.image != "12mp":
                again = Task("kmq", t.image, t.k, t.dither, runs=1, budget_s=0, timeout_s=args.timeout)
                r2 = run_worker(spec_for(again, cache, metrics=False), again.timeout_s)
                entry["second_process_digest"] = (r2.get("digests") or [None])[0]
                entry["same_across_processes"] = entry["second_process_digest"] == entry["digest"]
            checks.append(entry)
    return checks


def source_fingerprint() -> str:
    """Hash of kmq_core's sources: tells whether kmq changed during a run."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((REPO / "kmq_core").rglob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def memory_test(cache: ImageCache, timeout: float) -> dict:
    """kmq at k=256 on an 8181×7221 photo: whole CLI and library call, fresh processes."""
    w, h = MEMORY_SIZE
    p = cache.paths("8181x7221", png=True)
    decoded_mb = w * h * 3 / 1e6
    out = {"width": w, "height": h, "k": 256, "decoded_mb": decoded_mb,
           "limit_mb": GOAL_MEMORY_FACTOR * decoded_mb}
    # the whole command, as a user runs it: decode PNG, quantize, encode PNG
    argv = [sys.executable, "-m", "kmq_core.cli", "quantize", p["png"], "-k", "256",
            "-o", str(cache.root / "out" / "kmq-cli-8181x7221.png"), "-f", "-q"]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    try:
        _, kib = run_process(argv, timeout=timeout, env=env)
        out["cli"] = {"status": "ok", "peak_rss_mb": kib * 1024 / 1e6, "time_s": time.perf_counter() - t0}
    except (TimeoutError, RuntimeError) as exc:
        out["cli"] = {"status": "error", "note": str(exc)[:200]}
    # the library call in a fresh process (the decoded array loaded from .npy)
    lib = Task("kmq", "8181x7221", 256, False, runs=1, budget_s=0, timeout_s=timeout)
    spec = spec_for(lib, cache, metrics=False)
    out["library"] = run_worker(spec, timeout)
    return out


# --- formatting ---------------------------------------------------------------

def fmt_time(s: float | None, runs: int | None = None, planned: int | None = None) -> str:
    if s is None:
        return "–"
    txt = f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s" if s < 10 else f"{s:.1f} s"
    if runs is not None and planned is not None and runs < planned:
        txt += f" (n={runs})"
    return txt


def _f(x, nd=2) -> str:
    return "–" if x is None else f"{x:.{nd}f}"


def results_index(tasks: list[Task]) -> dict:
    return {(t.method, t.image, t.k, t.dither): t for t in tasks}


def _ok(t: Task | None) -> bool:
    return t is not None and t.result.get("status") == "ok"


def summary_tables(tasks: list[Task], args) -> list[str]:
    idx = results_index(tasks)
    images = [i for i in args.images if i != "accent"]
    lines = []
    for k in args.k:
        for dither in args.dithers:
            rows = [(m, d) for m in method_keys(args.methods) for d in METHODS[m].dithers
                    if d == dither and any((m, i, k, d) in idx for i in images)]
            if not rows:
                continue
            what = "mean ΔE2000 after a σ=1 px blur of both images" if dither else "mean ΔE2000"
            lines += ["", f"### k = {k}, {'Floyd–Steinberg dithering' if dither else 'no dithering'} "
                          f"(median time · PSNR dB · {what})", "",
                      "| method | " + " | ".join(IMAGE_TITLES[i] for i in images) + " |",
                      "|---" * (len(images) + 1) + "|"]
            for m, d in rows:
                cells = []
                for i in images:
                    t = idx.get((m, i, k, d))
                    if t is None:
                        cells.append("")
                    elif not _ok(t):
                        cells.append(t.result.get("note", t.result.get("status", "")))
                    else:
                        r = t.result
                        de = r["de_blur"] if d else r["de"]
                        cells.append(f"{fmt_time(r['time_s'], r['runs'], t.runs)} · {_f(r['psnr'])} · {_f(de)}")
                lines.append(f"| {row_label(m, d)} | " + " | ".join(cells) + " |")
    return lines


def detail_tables(tasks: list[Task], args) -> list[str]:
    idx = results_index(tasks)
    lines = []
    for image in args.images:
        if image == "accent":
            continue
        for k in args.k:
            rows = [t for t in tasks if t.image == image and t.k == k]
            if not rows:
                continue
            note = (f" (ΔE columns on every {BIG_METRIC_STEP}th row and column)" if image == "12mp" else "")
            lines += ["", f"#### {IMAGE_TITLES[image]}, k = {k}{note}", "",
                      "| method | time (median) | PSNR dB | ΔE2000 | ΔE2000 blurred σ=1 | colours used | "
                      "peak RSS MB (+ over baseline) |",
                      "|---|---|---|---|---|---|---|"]
            for t in rows:
                r = t.result
                if not _ok(t):
                    lines.append(f"| {t.label} | {r.get('note', r.get('status'))} | | | | | |")
                    continue
                base = r.get("baseline_rss_mb")
                mem = f"{r['peak_rss_mb']:.0f}" + (f" (+{r['peak_rss_mb'] - base:.0f})" if base is not None
                                                   else " (whole process)")
                lines.append(f"| {t.label} | {fmt_time(r['time_s'], r['runs'], t.runs)} | {_f(r['psnr'])} | "
                             f"{_f(r['de'])} | {_f(r['de_blur'])} | {r['colours']} | {mem} |")
    _ = idx
    return lines


def accent_table(tasks: list[Task]) -> list[str]:
    rows = [t for t in tasks if t.image == "accent"]
    if not rows:
        return []
    lines = ["", f"## Accent colour test (640×480 blue-green scene, ~150-pixel orange object, k = {ACCENT_K})",
             "", "| method | time | ΔE2000 whole image | ΔE2000 object pixels | ΔE2000 other pixels | "
                 "colours used | object |", "|---|---|---|---|---|---|---|"]
    for t in rows:
        r = t.result
        if not _ok(t):
            lines.append(f"| {t.label} | {r.get('note', r.get('status'))} | | | | | |")
            continue
        kept = "lost" if r["de_object"] >= ACCENT_LOST_DE else "kept" if r["de_object"] <= GOAL_ACCENT_DE else "shifted"
        lines.append(f"| {t.label} | {fmt_time(r['time_s'], r['runs'], t.runs)} | {_f(r['de'])} | "
                     f"{_f(r['de_object'])} | {_f(r['de_rest'])} | {r['colours']} | {kept} |")
    return lines


def whole_command_table(tasks: list[Task], args) -> list[str]:
    idx = results_index(tasks)
    lines = []
    for k in args.k:
        for d in args.dithers:
            a, b = idx.get(("kmq-cli", "12mp", k, d)), idx.get(("pngquant", "12mp", k, d))
            if a is None or b is None:
                continue
            if not lines:
                lines = ["", "## Whole command on the 12 MP PNG (process start to exit, PNG in and out)", "",
                         "| k | dithering | kmq quantize | pngquant --speed 4 | kmq / pngquant | peak RSS kmq · pngquant |",
                         "|---|---|---|---|---|---|"]
            if _ok(a) and _ok(b):
                ra, rb = a.result, b.result
                lines.append(f"| {k} | {'fs' if d else 'none (--nofs)'} | {fmt_time(ra['time_s'], ra['runs'], a.runs)} | "
                             f"{fmt_time(rb['time_s'], rb['runs'], b.runs)} | {ra['time_s'] / rb['time_s']:.2f}× | "
                             f"{ra['peak_rss_mb']:.0f} MB · {rb['peak_rss_mb']:.0f} MB |")
            else:
                lines.append(f"| {k} | {'fs' if d else 'none'} | {a.result.get('note', a.result.get('status'))} | "
                             f"{b.result.get('note', b.result.get('status'))} | | |")
    return lines


def memory_lines(mem: dict | None) -> list[str]:
    if not mem:
        return []
    lines = ["", f"## Memory: {mem['width']}×{mem['height']} photo, k = {mem['k']} "
                 f"(decoded RGB {mem['decoded_mb']:.0f} MB; goal < {mem['limit_mb']:.0f} MB)", "",
             "| measurement | time | peak RSS MB | × decoded size |", "|---|---|---|---|"]
    cli, lib = mem.get("cli", {}), mem.get("library", {})
    if cli.get("status") == "ok":
        lines.append(f"| `kmq quantize` whole command (PNG decode + quantize + PNG encode) | {fmt_time(cli['time_s'])} | "
                     f"{cli['peak_rss_mb']:.0f} | {cli['peak_rss_mb'] / mem['decoded_mb']:.2f} |")
    else:
        lines.append(f"| `kmq quantize` whole command | {cli.get('note', 'not run')} | | |")
    if lib.get("status") == "ok":
        lines.append(f"| `kmq_core.quantize` in a fresh process (incl. the loaded input array; "
                     f"baseline {lib['baseline_rss_mb']:.0f} MB) | {fmt_time(lib['time_s'])} | "
                     f"{lib['peak_rss_mb']:.0f} | {lib['peak_rss_mb'] / mem['decoded_mb']:.2f} |")
    else:
        lines.append(f"| `kmq_core.quantize` in a fresh process | {lib.get('note', 'not run')} | | |")
    return lines


# --- goals --------------------------------------------------------------------

def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else "PASS" if ok else "MISS"


def compute_goals(tasks: list[Task], args, det: list[dict], mem: dict | None) -> list[dict]:
    idx = results_index(tasks)
    goals: list[dict] = []

    def add(goal, where, ok, text):
        goals.append({"goal": goal, "where": where, "verdict": _verdict(ok), "detail": text})

    images = [i for i in args.images if i != "accent"]
    peers = [m for m in method_keys(args.methods) if METHODS[m].family == "peer"]
    for image in images:
        for k in args.k:
            where = f"{IMAGE_TITLES[image]} k={k}"
            # perceptual: ΔE undithered, blurred ΔE dithered
            for d, key, name in ((False, "de", "ΔE2000"), (True, "de_blur", "blurred ΔE2000")):
                if d not in args.dithers:
                    continue
                kt = idx.get(("kmq", image, k, d))
                cands = [(idx[(m, image, k, d)].result[key], m) for m in peers
                         if _ok(idx.get((m, image, k, d)))]
                if not _ok(kt) or not cands:
                    continue
                best, who = min(cands)
                rel = kt.result[key] / best - 1.0
                add("Perceptual" + (" (dithered)" if d else ""), where, rel <= GOAL_PERCEPTUAL,
                    f"kmq {kt.result[key]:.2f} vs best peer {best:.2f} ({row_label(who, d)}): {rel:+.1%} "
                    f"(goal ≤ {GOAL_PERCEPTUAL:+.0%})")
            # numeric: kmq rgb PSNR vs sklearn KMeans all pixels
            kt, st = idx.get(("kmq-rgb", image, k, False)), idx.get(("sklearn-kmeans", image, k, False))
            if _ok(kt) and _ok(st):
                diff = kt.result["psnr"] - st.result["psnr"]
                add("Numeric", where, diff >= 0,
                    f"kmq rgb {kt.result['psnr']:.3f} dB vs scikit-learn KMeans {st.result['psnr']:.3f} dB: {diff:+.3f} dB")
            elif _ok(kt) and st is not None:
                add("Numeric", where, None, f"scikit-learn KMeans {st.result.get('note', 'not measured')}")
            # speed: in-process vs libimagequant
            for d in args.dithers:
                kt, lt = idx.get(("kmq", image, k, d)), idx.get(("libimagequant", image, k, d))
                if _ok(kt) and _ok(lt):
                    ratio = kt.result["time_s"] / lt.result["time_s"]
                    add("Speed vs libimagequant" + (" (dithered)" if d else ""), where, ratio <= 1.0,
                        f"kmq {fmt_time(kt.result['time_s'])} vs libimagequant {fmt_time(lt.result['time_s'])}: "
                        f"{ratio:.2f}× its time")
    # whole command on 12 MP
    for k in args.k:
        for d in args.dithers:
            a, b = idx.get(("kmq-cli", "12mp", k, d)), idx.get(("pngquant", "12mp", k, d))
            if _ok(a) and _ok(b):
                ratio = a.result["time_s"] / b.result["time_s"]
                add("Speed, whole command 12 MP" + (" (dithered)" if d else ""), f"12 MP k={k}", ratio <= 1.0,
                    f"kmq quantize {fmt_time(a.result['time_s'])} vs pngquant --speed 4"
                    f"{'' if d else ' --nofs'} {fmt_time(b.result['time_s'])}: {ratio:.2f}× its time")
    # 50× scikit-learn at 12 MP, k=64
    a, b = idx.get(("kmq", "12mp", 64, False)), idx.get(("sklearn-kmeans", "12mp", 64, False))
    if _ok(a) and b is not None:
        if _ok(b):
            sp = b.result["time_s"] / a.result["time_s"]
            add("Speed vs scikit-learn KMeans", "12 MP k=64", sp >= GOAL_SPEEDUP_SKLEARN,
                f"kmq {fmt_time(a.result['time_s'])} vs scikit-learn {fmt_time(b.result['time_s'])}: "
                f"{sp:.0f}× faster (goal ≥ {GOAL_SPEEDUP_SKLEARN:.0f}×)")
        else:
            add("Speed vs scikit-learn KMeans", "12 MP k=64", None, b.result.get("note", "not measured"))
    # memory
    if mem:
        for key, name in (("cli", "kmq quantize whole command"), ("library", "kmq_core.quantize, fresh process")):
            r = mem.get(key, {})
            where = f"{mem['width']}×{mem['height']} k=256, {name}"
            if r.get("status") == "ok":
                add("Memory", where, r["peak_rss_mb"] < mem["limit_mb"],
                    f"peak RSS {r['peak_rss_mb']:.0f} MB = {r['peak_rss_mb'] / mem['decoded_mb']:.2f}× the decoded "
                    f"{mem['decoded_mb']:.0f} MB (goal < {GOAL_MEMORY_FACTOR:.0f}× = {mem['limit_mb']:.0f} MB)")
            else:
                add("Memory", where, False, r.get("note", "failed"))
    # accent colours
    kt = idx.get(("kmq", "accent", ACCENT_K, False))
    if _ok(kt):
        r = kt.result
        add("Accent colour", f"accent k={ACCENT_K}, object pixels", r["de_object"] <= GOAL_ACCENT_DE,
            f"kmq object ΔE {r['de_object']:.2f} (goal ≤ {GOAL_ACCENT_DE:.0f})")
        cands = [(idx[(m, "accent", ACCENT_K, False)].result["de"], m) for m in peers
                 if _ok(idx.get((m, "accent", ACCENT_K, False)))]
        if cands:
            best, who = min(cands)
            rel = r["de"] / best - 1.0
            add("Accent colour", f"accent k={ACCENT_K}, whole image", rel <= GOAL_ACCENT_WHOLE,
                f"kmq {r['de']:.2f} vs best peer {best:.2f} ({row_label(who, False)}): {rel:+.1%} "
                f"(goal ≤ {GOAL_ACCENT_WHOLE:+.0%})")
        for m in ("sklearn-kmeans", "cv2-kmeans", "libimagequant"):
            t = idx.get((m, "accent", ACCENT_K, False))
            if _ok(t):
                lost = t.result["de_object"] >= ACCENT_LOST_DE
                add("Accent test image reproduces the issue", f"{row_label(m, False)}", lost,
                    f"object ΔE {t.result['de_object']:.1f} ({'lost' if lost else 'NOT lost'}; "
                    f"lost means ≥ {ACCENT_LOST_DE:.0f})")
    # determinism
    if det:
        within = all(c["same_within_process"] for c in det)
        add("Determinism", "same process, repeated runs", within,
            f"{sum(c['same_within_process'] for c in det)}/{len(det)} kmq measurements gave identical "
            f"image, labels and palette on every run")
        across = [c for c in det if "same_across_processes" in c]
        if across:
            add("Determinism", "two processes", all(c["same_across_processes"] for c in across),
                f"{sum(c['same_across_processes'] for c in across)}/{len(across)} reruns in a new process matched "
                f"({', '.join(sorted({IMAGE_TITLES[c['image']] for c in across}))} at k={across[0]['k']})")
    return goals


def goal_lines(goals: list[dict]) -> list[str]:
    lines = ["", "## Goals (checked against the numbers above, same run)", ""]
    if not goals:
        return lines + ["(nothing measured that a goal applies to)"]
    order = []
    for g in goals:
        if g["goal"] not in order:
            order.append(g["goal"])
    for name in order:
        gs = [g for g in goals if g["goal"] == name]
        n_pass = sum(g["verdict"] == "PASS" for g in gs)
        lines += [f"**{name}**: {n_pass}/{len(gs)} PASS", ""]
        lines += [f"- {g['verdict']} · {g['where']} · {g['detail']}" for g in gs]
        lines.append("")
    return lines


# --- the command --------------------------------------------------------------

def parse_args(argv: list[str] | None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="small subset: chelsea + the accent photo, k=16, one run, no memory test")
    p.add_argument("--images", help=f"comma list from {','.join(ALL_IMAGES)}")
    p.add_argument("--k", help="comma list of k (default 16,64,256)")
    p.add_argument("--methods", help=f"comma list from {','.join(KMQ_ORDER + PEER_ORDER)}")
    p.add_argument("--dither", choices=("both", "none", "fs"), default="both")
    p.add_argument("--runs", type=int, help="timed runs per measurement, median reported (default 3)")
    p.add_argument("--budget", type=float, default=6.0,
                   help="stop repeating a measurement once its runs took this many seconds (default 6)")
    p.add_argument("--timeout", type=float, default=240.0, help="seconds before a measurement is killed")
    p.add_argument("--no-skip", action="store_true", help="also run the slow peers on 12 MP above k=64")
    p.add_argument("--memory", dest="memory", action="store_true", default=None,
                   help="run the 8181×7221 memory test (default: on unless --quick)")
    p.add_argument("--no-memory", dest="memory", action="store_false")
    p.add_argument("--out", default=str(RESULTS), help="folder for NAME.md and NAME.json")
    p.add_argument("--name", help="output file stem (default: latest, or quick with --quick)")
    p.add_argument("--cache", default=os.environ.get("KMQ_BENCH_CACHE", "/tmp/kmq-bench-cache"),
                   help="folder for the generated images and outputs")
    p.add_argument("--from-json", metavar="FILE.json",
                   help="measure nothing: rebuild the Markdown report and goals from a saved JSON")
    a = p.parse_args(argv)
    if a.quick:
        a.images = a.images or "chelsea,accent"
        a.k = a.k or "16"
        a.runs = a.runs or 1
        a.memory = False if a.memory is None else a.memory
    a.images = [s.strip() for s in (a.images or ",".join(ALL_IMAGES)).split(",") if s.strip()]
    for i in a.images:
        if i not in ALL_IMAGES:
            p.error(f"unknown image {i!r}")
    a.k = [int(s) for s in (a.k or "16,64,256").split(",")]
    if "accent" in a.images and ACCENT_K not in a.k:
        a.k.append(ACCENT_K)
    a.methods = [s.strip() for s in a.methods.split(",")] if a.methods else None
    for m in a.methods or []:
        if m not in METHODS:
            p.error(f"unknown method {m!r}")
    a.dithers = {"both": (False, True), "none": (False,), "fs": (True,)}[a.dither]
    a.runs = a.runs or 3
    a.memory = True if a.memory is None else a.memory
    a.name = a.name or ("quick" if a.quick else "latest")
    return a


def rerender(args) -> int:
    """Rebuild the report (tables and goals) from a saved JSON, without measuring."""
    global _DEFAULT_SPACE
    payload = json.loads(Path(args.from_json).read_text())
    st = payload["settings"]
    res = payload["results"]
    args.images, args.k, args.runs, args.budget = st["images"], st["k"], st["runs"], st["budget_s"]
    args.dithers = tuple(sorted({bool(r["dither"]) for r in res}))
    args.methods = sorted({r["method"] for r in res})
    _DEFAULT_SPACE = st.get("default_space") or next(
        (r["label"].split("space=")[1].split(")")[0] for r in res if r["method"] == "kmq"), None)
    keys = ("method", "label", "image", "k", "dither", "planned_runs")
    tasks = [Task(r["method"], r["image"], r["k"], bool(r["dither"]), runs=r["planned_runs"],
                  budget_s=args.budget, timeout_s=st.get("timeout_s", 0),
                  result={k: v for k, v in r.items() if k not in keys}) for r in res]
    det, mem, info = payload.get("determinism") or [], payload.get("memory"), payload["machine"]
    payload["goals"] = compute_goals(tasks, args, det, mem)
    md = render(info, tasks, args, det, mem, payload["goals"])
    out = Path(args.out)
    (out / f"{args.name}.md").write_text(md)
    (out / f"{args.name}.json").write_text(json.dumps(payload, indent=1, default=float))
    print(md)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        return rerender(args)
    t_start = time.perf_counter()
    cache = ImageCache(Path(args.cache))
    info = machine_info()
    _log(f"benchmark: images {','.join(args.images)}; k {args.k}; cache {cache.root}")
    tasks = plan(args)
    fp_start = source_fingerprint()
    det = execute(tasks, cache, args)
    mem = None
    if args.memory and (args.methods is None or "kmq" in args.methods):
        _log("memory test: 8181×7221, k=256 …")
        mem = memory_test(cache, args.timeout)
    fp_end = source_fingerprint()
    seen = sorted({t.result.get("space") for t in tasks if t.method == "kmq" and t.result.get("space")})
    if seen and seen != [default_space()]:
        info["kmq default space"] = f"{default_space()} at the start, but the kmq rows ran with {', '.join(seen)}"
    info["kmq_core sources"] = fp_start if fp_start == fp_end else (
        f"CHANGED during the run ({fp_start} → {fp_end}): kmq rows mix versions")
    goals = compute_goals(tasks, args, det, mem)
    elapsed = time.perf_counter() - t_start
    info["benchmark_wall_time_s"] = round(elapsed, 1)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["command"] = "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv)

    md = render(info, tasks, args, det, mem, goals)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.md").write_text(md)
    payload = {
        "machine": info,
        "settings": {"images": args.images, "k": args.k, "runs": args.runs, "budget_s": args.budget,
                     "default_space": default_space(),
                     "timeout_s": args.timeout, "metric_step_12mp": BIG_METRIC_STEP},
        "results": [{"method": t.method, "label": t.label, "image": t.image, "k": t.k, "dither": t.dither,
                     "planned_runs": t.runs, **t.result} for t in tasks],
        "determinism": det,
        "memory": mem,
        "goals": goals,
    }
    (out / f"{args.name}.json").write_text(json.dumps(payload, indent=1, default=float))
    print(md)
    _log(f"wrote {out / (args.name + '.md')} and .json in {elapsed:.0f} s")
    return 0


def render(info, tasks, args, det, mem, goals) -> list[str] | str:
    lines = [f"# kmq benchmark — {info['date_utc']}", "",
             f"`{info['command']}` · took {info['benchmark_wall_time_s']:.0f} s · "
             f"load average (1, 5, 15 min) at start {', '.join(str(x) for x in info['load_average_at_start'])}"
             + (f", at end {', '.join(str(x) for x in info['load_average_at_end'])}"
                if info.get("load_average_at_end") else "")
             + f" on {info['cores']} cores", "",
             "| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()
              if k not in ("command", "benchmark_wall_time_s", "date_utc", "load_average_at_start",
                           "load_average_at_end")]
    lines += ["", "Time: median of up to "
              f"{args.runs} runs of the library call (in-process rows) or of the whole command "
              f"(process rows), each measurement in a fresh process; \"(n=…)\" marks fewer runs "
              f"(a measurement stops repeating after {args.budget:.0f} s). PSNR over RGB; ΔE2000: mean "
              "CIEDE2000 per pixel; blurred: after a Gaussian blur σ=1 px of both images. Peak RSS: "
              "the measuring process's high-water mark (interpreter, libraries, input image and the "
              "method's allocations); \"+\" is what the call added over the resident size just before it. "
              "MB = 10⁶ bytes. Details: benchmarks/README.md.", "", "## Results"]
    lines += summary_tables(tasks, args)
    lines += whole_command_table(tasks, args)
    lines += accent_table(tasks)
    lines += memory_lines(mem)
    if any(t.image != "accent" for t in tasks):
        lines += ["", "## Details per image and k"]
        lines += detail_tables(tasks, args)
    lines += goal_lines(goals)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
