"""Animations and pixel art (issue 16): kmq's animated GIFs against ffmpeg and gifski.

    python -m benchmarks.anim                    # 4 clips, K = 16 ... 256, every method (about 10 minutes)
    python -m benchmarks.anim --quick            # astronaut + ui clips, K = 16, 64, 256
    python -m benchmarks.anim --clips ui --methods ff-global-sierra,kmq-none-shared
    python -m benchmarks.anim --from-json benchmarks/results/anim.json   # re-render, measure nothing

The clips (``benchmarks/anim_clips.py``) are 40 frames of 320×240 at 100 ms:
three slow pans and zooms across photos scikit-image ships, each with a
static region and a small moving disc, and one screen-recording-like clip of
flat UI colours with a static sidebar. Every method is a whole command that
turns the clip into an animated GIF; each GIF is decoded with Pillow (frames
composited, converted to RGB), its frames mapped to the source's frames by
timestamp, and scored: total bytes, mean SSIMULACRA2 over all frames (PyPI
``ssimulacra2``, via rd.py), flicker (mean over consecutive frame pairs of
the mean absolute RGB difference inside the static region; 0 in the source),
butteraugli (worst of 4 frames) and mean ΔE2000 (5 frames). The report gives,
per clip, the BD-rate (bytes at equal mean SSIMULACRA2, rd.py's bd_rate) of
each kmq mode against each ffmpeg setting and gifski, and checks the goal:
at least 15 % fewer bytes than the best ffmpeg setting, with flicker no
higher than ffmpeg's global palette at the same K. See benchmarks/README.md.
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

from benchmarks import anim_clips
from benchmarks.rd import REPO, RESULTS, _butteraugli, _ssimulacra2, bd_rate

KS = (16, 32, 64, 128, 256)
QUICK_KS = (16, 64, 256)
#: gifski has no colour count: its --quality ladder stands in for K
GIFSKI_QS = (20, 40, 60, 80, 100)
QUICK_GIFSKI_QS = (30, 70, 100)
GOAL_BD = -15.0  # per cent, against the best ffmpeg setting
#: SSIMULACRA2 is averaged over every SS2_EVERY-th frame (0, 2, 4, ...): the whole
#: run's cost is mostly SSIMULACRA2 (0.085 s a frame here); flicker uses every frame
SS2_EVERY = 2
BA_FRAMES = (0, 13, 26, 39)  # butteraugli: worst of these frames
DE_FRAMES = (0, 10, 20, 30, 39)  # mean ΔE2000 over these frames

_BAYER = "dither=bayer:bayer_scale=2"
_SIERRA = "dither=sierra2_4a"
#: methods: key -> (title, kind, options)
METHODS = {
    "ff-global-bayer": ("ffmpeg global, bayer:2, diff_mode=rectangle", "ffmpeg",
                        ("stats_mode=full", _BAYER + ":diff_mode=rectangle")),
    "ff-global-sierra": ("ffmpeg global, sierra2_4a, diff_mode=rectangle", "ffmpeg",
                         ("stats_mode=full", _SIERRA + ":diff_mode=rectangle")),
    "ff-frame-bayer": ("ffmpeg per-frame, bayer:2", "ffmpeg", ("stats_mode=single", _BAYER + ":new=1")),
    "ff-frame-sierra": ("ffmpeg per-frame, sierra2_4a", "ffmpeg", ("stats_mode=single", _SIERRA + ":new=1")),
    "gifski": ("gifski (--quality ladder)", "gifski", ()),
}
#: the issue's dithers (bluenoise may not exist: a refused option is a skip) and kmq's error diffusion
for _d in ("none", "bayer", "bluenoise", "fs"):
    for _p, _ptitle in (("shared", "shared"), ("per-frame", "frame")):
        METHODS[f"kmq-{_d}-{_ptitle}"] = (f"kmq --dither {_d} --frame-palette {_p}", "kmq",
                                          ("--dither", _d, "--frame-palette", _p))
FFMPEG_GLOBAL = ("ff-global-bayer", "ff-global-sierra")
DEFAULT_METHODS = tuple(METHODS)


def _kind(method):
    return METHODS[method][1]


# --- tools --------------------------------------------------------------------

def gifski_exe() -> str | None:
    """gifski on PATH or at $KMQ_GIFSKI (Debian 12 has no package; npm's ``gifski`` ships a Linux binary)."""
    env = os.environ.get("KMQ_GIFSKI")
    if env and os.access(env, os.X_OK):
        return env
    return shutil.which("gifski")


def tool_versions() -> dict:
    def ver(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not installed"

    import PIL
    import ssimulacra2

    g = gifski_exe()
    return {"ffmpeg": ver(["ffmpeg", "-version"]).split(" Copyright")[0],
            "gifski": ver([g, "--version"]) if g else "not installable (no Debian 12 package; see README)",
            "ssimulacra2 (PyPI)": ssimulacra2.__version__, "Pillow (decoder)": PIL.__version__,
            "butteraugli": "Debian package " + (subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "butteraugli"],
                                                                capture_output=True, text=True).stdout or "?"),
            "kmq": subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True).stdout.strip()}


# --- running one method --------------------------------------------------------

class Unsupported(Exception):
    """The method cannot run here (tool missing, option unknown): recorded as a skip, not an error."""


def command(method: str, clip: dict, k: int, out: Path) -> list[str]:
    title, kind, opts = METHODS[method]
    if kind == "ffmpeg":
        stats, use = opts
        graph = f"split[a][b];[a]palettegen=max_colors={k}:{stats}[p];[b][p]paletteuse={use}"
        return ["ffmpeg", "-v", "error", "-nostdin", "-y", "-framerate", str(1000 // clip["duration_ms"]),
                "-i", str(Path(clip["frames"]) / "%04d.png"), "-filter_complex", graph, "-loop", "0",
                "-f", "gif", str(out)]
    if kind == "gifski":
        exe = gifski_exe()
        if exe is None:
            raise Unsupported("gifski not installable: Debian 12 has no gifski package (see README)")
        frames = sorted(str(p) for p in Path(clip["frames"]).glob("*.png"))
        return [exe, "--quiet", "--fps", str(1000 // clip["duration_ms"]), "--quality", str(k), "--repeat", "0",
                "-o", str(out), *frames]
    return [sys.executable, "-m", "kmq_core.cli", "quantize", clip["apng"], "-o", str(out), "-k", str(k), "-f",
            "-q", *opts]


def produce(method: str, clip: dict, k: int, out: Path) -> int:
    argv = command(method, clip, k, out)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=REPO)
    if p.returncode != 0:
        msg = (p.stderr.strip() or p.stdout.strip() or f"exit {p.returncode}").splitlines()
        text = " ".join(msg[-3:])[:300]
        low = "\n".join(msg).lower()
        if _kind(method) == "kmq" and ("unknown dither" in low or "invalid choice: 'bluenoise'" in low
                                       or "unrecognized arguments" in low or "frame-palette" in low):
            raise Unsupported(f"kmq refused the options: {text}")
        raise RuntimeError(f"exit {p.returncode}: {text}")
    return out.stat().st_size


# --- decoding and scoring --------------------------------------------------------

def decode(path: Path) -> tuple[list[np.ndarray], list[float]]:
    """Every frame of an animated GIF/APNG, composited by Pillow, as RGB, and each frame's duration (ms)."""
    from PIL import Image, ImageSequence

    frames, durations = [], []
    with Image.open(path) as im:
        for f in ImageSequence.Iterator(im):
            durations.append(float(f.info.get("duration", 0) or 0))
            frames.append(np.asarray(f.convert("RGB"), np.uint8).copy())
    return frames, durations


def align(frames, durations, n: int, duration_ms: float) -> tuple[list[np.ndarray], list[str]]:
    """The output frame on screen at each source frame's start time (t = i × duration), and notes on mismatches."""
    notes = []
    starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    total = float(np.sum(durations))
    if len(frames) != n:
        notes.append(f"{len(frames)} frames for {n} source frames (mapped by timestamp)")
    if abs(total - n * duration_ms) > 0.5:
        notes.append(f"total duration {total:.0f} ms, source {n * duration_ms:.0f} ms")
    idx = [int(np.searchsorted(starts, i * duration_ms + 1e-6, side="right") - 1) for i in range(n)]
    return [frames[max(0, min(j, len(frames) - 1))] for j in idx], notes


def score(src_frames, src_paths, frames, mask, tmp: Path, ss2_every: int = SS2_EVERY) -> dict:
    """Mean SSIMULACRA2 over every ``ss2_every``-th frame, flicker in the static region, butteraugli
    and ΔE2000 on a few frames."""
    from PIL import Image

    from benchmarks.metrics import mean_deltaE2000

    ss, ba = [], []
    for i, (f, sp) in enumerate(zip(frames, src_paths)):
        if i % ss2_every and i not in BA_FRAMES:
            continue
        p = tmp / f"f{i:04d}.png"
        Image.fromarray(f).save(p, compress_level=1)
        if i % ss2_every == 0:
            ss.append(_ssimulacra2(Path(sp), p))
        if i in BA_FRAMES:
            ba.append(_butteraugli(Path(sp), p))
    de = np.mean([mean_deltaE2000(src_frames[i], frames[i]) for i in DE_FRAMES if i < len(frames)])
    return {"ss2": round(float(np.mean(ss)), 3), "ss2_min": round(float(np.min(ss)), 3),
            "flicker": round(anim_clips.flicker(frames, mask), 4), "ba": round(float(np.max(ba)), 4),
            "de": round(float(de), 4)}


def _load_clip(clip: dict):
    from PIL import Image

    paths = sorted(Path(clip["frames"]).glob("*.png"))
    frames = []
    for p in paths:
        with Image.open(p) as im:
            frames.append(np.asarray(im.convert("RGB"), np.uint8))
    with Image.open(clip["mask"]) as im:
        mask = np.asarray(im) > 0
    return frames, [str(p) for p in paths], mask


def measure(method: str, clip_name: str, clip: dict, k: int, ss2_every: int = SS2_EVERY) -> dict:
    """One cell (in a worker process): run the method, decode and score its GIF."""
    src, src_paths, mask = _load_clip(clip)
    base = {"method": method, "clip": clip_name, "k": k}
    with tempfile.TemporaryDirectory(prefix="kmq-anim-") as d:
        tmp = Path(d)
        out = tmp / "out.gif"
        t0 = time.perf_counter()
        try:
            nbytes = produce(method, clip, k, out)
        except Unsupported as e:
            return {**base, "skipped": str(e)}
        seconds = time.perf_counter() - t0
        frames, durations = decode(out)
        aligned, notes = align(frames, durations, len(src), clip["duration_ms"])
        s = score(src, src_paths, aligned, mask, tmp, ss2_every)
    return {**base, "bytes": nbytes, "seconds": round(seconds, 3), "frames_out": len(frames), "notes": notes, **s}


def check_clips(clips: dict) -> list[str]:
    """The clips and metrics themselves: deterministic, static region static, source scores 100 / 0."""
    lines = []
    for name, clip in clips.items():
        a, _ = anim_clips.clip(name)
        b, mask = anim_clips.clip(name)
        det = all(np.array_equal(x, y) for x, y in zip(a, b))
        src, paths, m2 = _load_clip(clip)
        frames, durations = decode(Path(clip["apng"]))
        lossless = len(frames) == len(a) and all(np.array_equal(x, y) for x, y in zip(a, frames))
        fl = anim_clips.flicker(a, mask)
        ss = _ssimulacra2(Path(paths[0]), Path(paths[0]))
        ok = det and lossless and fl == 0.0 and ss >= 99.99 and np.array_equal(mask, m2)
        lines.append(f"{name}: generated twice identically: {det}; APNG decodes to the same {len(a)} frames "
                     f"({sorted(set(durations))} ms): {lossless}; source flicker {fl:.3f} (expect 0); static region "
                     f"{mask.mean() * 100:.1f} % of the frame; SSIMULACRA2 of a frame with itself {ss:.2f} "
                     f"— {'PASS' if ok else 'FAIL'}")
    return lines


# --- the report -----------------------------------------------------------------

def _cells(results):
    return {(r["method"], r["clip"], r["k"]): r for r in results if "bytes" in r}


def _curve(cells, method, clip, ks):
    pts = [cells[(method, clip, k)] for k in ks if (method, clip, k) in cells]
    return [p["bytes"] for p in pts], [p["ss2"] for p in pts]


def _ladder(data, method):
    return data["gifski_qs"] if _kind(method) == "gifski" else data["ks"]


def bd_table(data, clip):
    """{kmq method: {peer method: BD-rate or None}} for one clip."""
    cells = _cells(data["results"])
    kmqs = [m for m in data["methods"] if _kind(m) == "kmq"]
    peers = [m for m in data["methods"] if _kind(m) != "kmq"]
    out = {}
    for km in kmqs:
        a = _curve(cells, km, clip, data["ks"])
        if len(a[0]) < 2:
            continue
        out[km] = {p: bd_rate(*a, *_curve(cells, p, clip, _ladder(data, p))) for p in peers}
    return out


def _dominates(cells, km, peer, clip, data) -> bool:
    rates, qual = _curve(cells, peer, clip, _ladder(data, peer))
    if not rates:
        return False
    return any(b <= 0.85 * min(rates) and q >= max(qual) for b, q in zip(*_curve(cells, km, clip, data["ks"])))


def goals(data):
    """Per clip and kmq mode: (clip, mode, passed, detail)."""
    cells = _cells(data["results"])
    rows = []
    for clip in data["clips"]:
        for km, bds in bd_table(data, clip).items():
            ff = {p: v for p, v in bds.items() if _kind(p) == "ffmpeg"}
            if not ff:
                continue
            known = {p: v for p, v in ff.items() if v is not None}
            # no BD-rate (no common SSIMULACRA2 range on the Pareto fronts): the goal holds against that setting only if kmq dominates it
            # (a kmq GIF at least as good as its best with ≤ 85 % of the bytes of its smallest)
            dominated = [p for p, v in ff.items() if v is None and _dominates(cells, km, p, clip, data)]
            missing = [p for p, v in ff.items() if v is None and p not in dominated]
            best = max(known, key=known.get) if known else None  # the peer kmq beats least
            bd_ok = not missing and (best is None or known[best] <= GOAL_BD) and (known or dominated)
            fl_fail, fl_n = [], 0
            for k in data["ks"]:
                a = cells.get((km, clip, k))
                for g in FFMPEG_GLOBAL:
                    b = cells.get((g, clip, k))
                    if a is None or b is None:
                        continue
                    fl_n += 1
                    if a["flicker"] > b["flicker"]:
                        fl_fail.append(f"K={k}: {a['flicker']:.4f} > {METHODS[g][0].split(',')[1].strip()} "
                                       f"{b['flicker']:.4f}")
            fl_ok = fl_n > 0 and not fl_fail
            bd_txt = "; ".join(
                ([f"no BD-rate against {', '.join(METHODS[p][0] for p in missing)} (the Pareto fronts share "
                  "no SSIMULACRA2 range, or one has < 2 points): not comparable"] if missing else [])
                + ([f"no BD-rate against {', '.join(METHODS[p][0] for p in dominated)}, but kmq "
                    "dominates it (better quality with ≤ 85 % of its smallest file)"] if dominated else []))
            if best is not None:
                bd_txt = (f"BD-rate {known[best]:+.1f} % against the best ffmpeg setting ({METHODS[best][0]})"
                          + ("; " + bd_txt if bd_txt else ""))
            fl_txt = (f"flicker ≤ ffmpeg global at every K ({fl_n} comparisons)" if fl_ok else
                      "flicker higher than ffmpeg global: " + "; ".join(fl_fail) if fl_fail else "flicker: no data")
            rows.append((clip, km, bd_ok and fl_ok, f"{bd_txt}; {fl_txt}"))
    return rows


def render(data: dict) -> str:
    cells = _cells(data["results"])
    lines = ["# kmq animation benchmark (issue 16)", "",
             f"Run {data['date']} in {data['seconds']:.0f} s on {data['machine']} with --jobs {data['jobs']}"
             + (f" ({data['load']})" if data.get("load") else "") + ". Tools: "
             + "; ".join(f"{k} {v}" for k, v in data["tools"].items()) + ".", "",
             f"Clips: {len(data['clips'])} × {anim_clips.N_FRAMES} frames of {anim_clips.WIDTH}×{anim_clips.HEIGHT} "
             f"at {anim_clips.DURATION_MS} ms (benchmarks/anim_clips.py). Each row: GIF bytes, mean SSIMULACRA2 over "
             + ("all frames" if data.get("ss2_every", 1) == 1 else f"every {data['ss2_every']}th frame (0, "
                f"{data['ss2_every']}, …)") + " (higher better; min = the worst of them), flicker = mean |ΔRGB| between consecutive frames "
             f"inside the static region (0 in the source), butteraugli (worst of frames {BA_FRAMES}), mean ΔE2000 "
             f"(frames {DE_FRAMES}), output frame count, seconds for the command. K is the colour count "
             "(gifski: its --quality).", "",
             "ffmpeg runs one filtergraph per GIF: `split[a][b];[a]palettegen=max_colors=K:stats_mode=full[p];"
             "[b][p]paletteuse=dither=…:diff_mode=rectangle` (global) or `…stats_mode=single…paletteuse=…:new=1` "
             "(per-frame), on the PNG frames at 10 fps; palettegen's default reserve_transparent=1 keeps one of the "
             "K entries for the transparency the GIF encoder uses for unchanged pixels.", ""]
    lines += ["## Checks", ""] + [f"- {x}" for x in data.get("checks", [])] + [""]
    lines += ["## Goal: ≥ 15 % fewer bytes than the best ffmpeg setting at equal mean SSIMULACRA2, flicker ≤ "
              "ffmpeg global (bayer and sierra, same K)", ""]
    grows = goals(data)
    kmq_ran = any(_kind(r["method"]) == "kmq" and "bytes" in r for r in data["results"])
    if not grows:
        lines.append("- **not measured**: no kmq mode produced an animated GIF in this run"
                     + ("" if kmq_ran else " (see Skipped below)") + ".")
    for clip in data["clips"]:
        cr = [g for g in grows if g[0] == clip]
        if not cr:
            continue
        best = [g for g in cr if g[2]]
        lines.append(f"- **{clip}: {'PASS' if best else 'MISS'}** "
                     + (f"({', '.join(METHODS[g[1]][0] for g in best)})" if best else "(no kmq mode meets both)"))
        lines += [f"  - {METHODS[km][0]}: {'PASS' if ok else 'MISS'} — {txt}" for _, km, ok, txt in cr]
    lines += [""]
    for clip in data["clips"]:
        lines += [f"## {clip}", ""]
        bds = bd_table(data, clip)
        if bds:
            peers = list(next(iter(bds.values())))
            lines += ["BD-rate (per cent bytes at equal mean SSIMULACRA2; negative = kmq smaller):", "",
                      "| kmq mode | " + " | ".join(METHODS[p][0] for p in peers) + " |",
                      "|---|" + "---|" * len(peers)]
            for km, row in bds.items():
                lines.append(f"| {METHODS[km][0]} | " + " | ".join("n/a" if row[p] is None else f"{row[p]:+.1f}"
                                                                    for p in peers) + " |")
            lines.append("")
        lines += ["| method | K | bytes | mean SS2 | min SS2 | flicker | butteraugli | ΔE2000 | frames | s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for m in data["methods"]:
            for k in _ladder(data, m):
                c = cells.get((m, clip, k))
                if c is None:
                    continue
                lines.append(f"| {METHODS[m][0]} | {'Q' if _kind(m) == 'gifski' else ''}{k} | {c['bytes']:,} | "
                             f"{c['ss2']:.2f} | {c['ss2_min']:.2f} | {c['flicker']:.4f} | {c['ba']:.2f} | "
                             f"{c['de']:.2f} | {c['frames_out']} | {c['seconds']:.1f} |")
        notes = [c for c in data["results"] if c.get("clip") == clip and c.get("notes")]
        if notes:
            lines += ["", "Frame mapping notes: " + "; ".join(f"{METHODS[c['method']][0]} K={c['k']}: "
                                                              + ", ".join(c["notes"]) for c in notes)]
        lines += ["", f"![bytes against mean SSIMULACRA2, {clip}]({data['name']}-{clip}.png)", ""]
    skipped = {}
    for r in data["results"]:
        if "skipped" in r:
            skipped.setdefault((r["method"], r["skipped"]), []).append(f"{r['clip']} {r['k']}")
    if skipped:
        lines += ["## Skipped", ""] + [f"- {METHODS[m][0]}: {why} ({len(v)} runs)" for (m, why), v in skipped.items()]
        lines.append("")
    errors = [r for r in data["results"] if "error" in r]
    if errors:
        lines += ["## Errors", ""] + [f"- {METHODS[r['method']][0]} {r['clip']} K={r['k']}: {r['error']}"
                                      for r in errors]
    return "\n".join(lines) + "\n"


def plot(data: dict, out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = _cells(data["results"])
    paths = []
    for clip in data["clips"]:
        fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
        for m in data["methods"]:
            pts = [(cells[(m, clip, k)]["bytes"] / 1000, cells[(m, clip, k)]["ss2"]) for k in _ladder(data, m)
                   if (m, clip, k) in cells]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, "-" if _kind(m) == "kmq" else "--", marker="o", markersize=3, label=METHODS[m][0],
                        linewidth=1.4 if _kind(m) == "kmq" else 1)
        ax.set_xscale("log")
        ax.set_xlabel("GIF kB (log scale)")
        ax.set_ylabel("mean SSIMULACRA2 over frames")
        ax.set_title(f"{clip}: bytes against quality")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=6)
        fig.tight_layout()
        p = out_dir / f"{data['name']}-{clip}.png"
        fig.savefig(p)
        plt.close(fig)
        paths.append(p)
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", default=",".join(anim_clips.CLIPS))
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    ap.add_argument("--k", default=",".join(map(str, KS)))
    ap.add_argument("--quick", action="store_true", help="astronaut and ui clips, K = 16, 64, 256")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--ss2-every", type=int, default=SS2_EVERY,
                    help=f"average SSIMULACRA2 over every Nth frame (default {SS2_EVERY}; 1 = all frames)")
    ap.add_argument("--name", default=None, help="results file stem (default anim, or anim-quick)")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--keep", default=None, help="write the clips into this folder and keep them")
    ap.add_argument("--from-json", default=None, help="re-render a saved run")
    args = ap.parse_args(argv)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        if args.name:
            data["name"] = args.name
    else:
        name = args.name or ("anim-quick" if args.quick else "anim")
        clips = ["astronaut", "ui"] if args.quick else args.clips.split(",")
        ks = list(QUICK_KS) if args.quick else [int(x) for x in args.k.split(",")]
        qs = list(QUICK_GIFSKI_QS) if args.quick else list(GIFSKI_QS)
        methods = args.methods.split(",")
        for m in methods:
            if m not in METHODS:
                ap.error(f"unknown method {m}: choose from {', '.join(METHODS)}")
        for c in clips:
            if c not in anim_clips.CLIPS:
                ap.error(f"unknown clip {c}: choose from {', '.join(anim_clips.CLIPS)}")
        for tool in ("ffmpeg", "butteraugli"):
            if shutil.which(tool) is None:
                ap.error(f"{tool} is not installed (apt-get install {tool})")
        t0 = time.time()
        load0 = os.getloadavg()[0]
        with tempfile.TemporaryDirectory(prefix="kmq-anim-clips-") as d:
            folder = Path(args.keep or d)
            clip_info = {c: anim_clips.write_clip(c, folder) for c in clips}
            checks = check_clips(clip_info)
            print("\n".join(checks), flush=True)
            tasks = [(m, c, k) for c in clips for m in methods for k in (qs if _kind(m) == "gifski" else ks)]
            results = []
            with ProcessPoolExecutor(max(1, args.jobs)) as pool:
                futs = {pool.submit(measure, m, c, clip_info[c], k, args.ss2_every): (m, c, k) for m, c, k in tasks}
                for i, f in enumerate(as_completed(futs), 1):
                    m, c, k = futs[f]
                    try:
                        r = f.result()
                    except Exception as e:  # noqa: BLE001 - recorded and reported
                        r = {"method": m, "clip": c, "k": k, "error": str(e).strip().splitlines()[-1][:300]}
                    results.append(r)
                    print(f"[{i}/{len(tasks)}] {m} {c} {k}: " + (
                        r.get("error") or r.get("skipped") or
                        f"{r['bytes']:,} B · SS2 {r['ss2']:.1f} · flicker {r['flicker']:.3f} · {r['seconds']:.1f} s"),
                        flush=True)
        import platform

        order = {m: i for i, m in enumerate(methods)}
        data = {"name": name, "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "seconds": time.time() - t0, "jobs": args.jobs, "ss2_every": args.ss2_every,
                "load": f"1-minute load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end",
                "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                           f"Python {platform.python_version()}",
                "tools": tool_versions(), "clips": clips, "ks": ks, "gifski_qs": qs, "methods": methods,
                "checks": checks,
                "results": sorted(results, key=lambda r: (r["clip"], order[r["method"]], r["k"]))}
        (out_dir / f"{name}.json").write_text(json.dumps(data, indent=1))
    report = render(data)
    plot(data, out_dir)
    (out_dir / f"{data['name']}.md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
