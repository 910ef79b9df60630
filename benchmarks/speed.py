"""Speed and memory, whole commands: kmq against pngquant 3.0.3, Debian's pngquant 2.17 and ffmpeg (issue 25).

    python -m benchmarks.speed                 # everything, --runs 3 (about half an hour on two busy cores)
    python -m benchmarks.speed --quick         # 8 CQ100 images, 12 MP at k=64, one run, no 8181×7221 test
    python -m benchmarks.speed --parts web,imports --runs 5
    python -m benchmarks.speed --from-json benchmarks/results/speed.json   # re-render, measure nothing

Every figure is a whole process as a user starts it (``python -m kmq_core.cli``
of the checkout this file belongs to, ``pngquant``, ``ffmpeg``), timed from
start to exit with its own peak RSS (``os.wait4``). Within each run the tools
take turns on the same input (the order rotates from input to input and from
run to run), so load from other processes on the machine hits kmq and its peers
alike; a figure is the median over ``--runs`` runs. The report checks the goals
of issue 25 on the numbers of this one run and says for each one MET or MISSED,
where, and by how much. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.rd import pngquant2, pngquant3  # the same tools the rate-quality benchmark runs

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
CQ100 = REPO.parent / "shared" / "data" / "cq100"
MIB = 1024 * 1024

# --- the goals of issue 25 -------------------------------------------------------
WEB_K = 64
WEB_PER_FILE_FACTOR = 1.5  # one process per file: kmq's total ≤ 1.5 × pngquant 3's
WEB_ONE_COMMAND_FACTOR = 0.7  # all files in one command: ≤ 0.7 × pngquant 3's one command
MP12_KS = (64, 256)
MP12_FACTOR = 0.5  # 12 MP: ≤ 0.5 × pngquant 3, default and --dither fs
RSS_WEB_MIB = 120.0  # a 768×512 photo: peak RSS ≤ 120 MiB
RSS_BIG_FACTOR = 3.0  # 8181×7221 at k=256: peak RSS ≤ 3 × the decoded RGB image
ANIM_K = 128
ANIM_SIZE = (640, 360, 60)  # width, height, frames
ANIM_CLIP = "astronaut"
APP_FIRST_RESULT_S = 1.5
APP_K_CHANGE_S = 0.5
APP_12MP_FACTOR = 2.0

#: the two ways of comparing: pngquant dithers by default, kmq does not
MODES = {
    "plain": "no dithering: kmq default · pngquant --nofs",
    "fs": "dithered: kmq --dither fs · pngquant default (Floyd–Steinberg)",
}
TOOL_TITLES = {"kmq": "kmq", "pq3": "pngquant 3", "pq2": "pngquant 2 (Debian)", "ffmpeg": "ffmpeg"}
#: the animation pairs: kmq --dither D against ffmpeg paletteuse dither=…, both one global palette
ANIM_PAIRS = {
    "none": ("kmq default (--dither none)", "dither=none:diff_mode=rectangle"),
    "fs": ("kmq --dither fs", "dither=sierra2_4a:diff_mode=rectangle"),
    "bayer": ("kmq --dither bayer", "dither=bayer:bayer_scale=2:diff_mode=rectangle"),
}
ANIM_PAIR_TITLES = {"none": "ffmpeg dither=none", "fs": "ffmpeg sierra2_4a (paletteuse's default)",
                    "bayer": "ffmpeg bayer:2"}
PARTS = ("imports", "web", "12mp", "anim", "memory", "app")


# --- tools ---------------------------------------------------------------------

def kmq_argv() -> list[str]:
    """kmq of this checkout: ``python -m kmq_core.cli`` with the repository root on PYTHONPATH (see kmq_env)."""
    return [sys.executable, "-m", "kmq_core.cli"]


def kmq_env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def tool_paths() -> dict:
    return {"pq3": pngquant3(), "pq2": pngquant2(), "ffmpeg": shutil.which("ffmpeg")}


def _first_line(argv) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return ((out.stdout or out.stderr).strip().splitlines() or ["?"])[0]
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"


def _git(*args) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True).stdout.strip()


def versions(paths: dict) -> dict:
    dirty = _git("status", "--porcelain", "--", "kmq_core", "kmq_app")
    return {
        "kmq": _git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else ""),
        "pngquant 3": _first_line([paths["pq3"], "--version"]) if paths["pq3"] else "not installed",
        "pngquant 2": _first_line([paths["pq2"], "--version"]) if paths["pq2"] else "not installed",
        "ffmpeg": (_first_line([paths["ffmpeg"], "-version"]).split(" Copyright")[0].replace("ffmpeg version ", "")
                   if paths["ffmpeg"] else "not installed (apt-get install -y ffmpeg)"),
    }


# --- commands ------------------------------------------------------------------

def quantize_argv(tool: str, mode: str, k: int, src: str, out: str, exe: str | None = None) -> list[str]:
    """One file: kmq ``quantize SRC -k K -o OUT -f -q [--dither fs]``;
    pngquant ``[--nofs] --force --output OUT K -- SRC``."""
    if tool == "kmq":
        return kmq_argv() + ["quantize", src, "-k", str(k), "-o", out, "-f", "-q"] + (
            ["--dither", "fs"] if mode == "fs" else [])
    return [exe or tool] + (["--nofs"] if mode == "plain" else []) + ["--force", "--output", out, str(k), "--", src]


def batch_argv(tool: str, mode: str, k: int, srcs: list[str], out_dir: str, exe: str | None = None) -> list[str]:
    """All files in one command: kmq ``--out-dir``; pngquant writes ``NAME-TOOL-MODE.png`` beside each input."""
    if tool == "kmq":
        return kmq_argv() + ["quantize", "-k", str(k), "-f", "-q", "--out-dir", out_dir] + (
            ["--dither", "fs"] if mode == "fs" else []) + list(srcs)
    return [exe or tool] + (["--nofs"] if mode == "plain" else []) + [
        "--force", "--ext", f"-{tool}-{mode}.png", str(k), "--"] + list(srcs)


def anim_argv(tool: str, pair: str, k: int, clip: dict, out: str, exe: str | None = None) -> list[str]:
    """kmq ``quantize CLIP.apng -o OUT.gif -k K -f -q [--dither D]``; ffmpeg palettegen + paletteuse as
    benchmarks/anim.py runs them (one global palette, stats_mode=full, rectangle diff)."""
    if tool == "kmq":
        return kmq_argv() + ["quantize", clip["apng"], "-o", out, "-k", str(k), "-f", "-q"] + (
            ["--dither", pair] if pair != "none" else [])
    use = ANIM_PAIRS[pair][1]
    graph = f"split[a][b];[a]palettegen=max_colors={k}:stats_mode=full[p];[b][p]paletteuse={use}"
    return [exe or "ffmpeg", "-v", "error", "-nostdin", "-y", "-framerate", str(1000 // clip["duration_ms"]),
            "-i", str(Path(clip["frames"]) / "%04d.png"), "-filter_complex", graph, "-loop", "0", "-f", "gif", out]


#: start-up: (key, title, python code or a kmq argument list)
IMPORTS = [
    ("python", "python -c pass (the interpreter alone)", ["-c", "pass"]),
    ("floor", "python -c 'import numpy, PIL.Image' (the floor of a numpy + Pillow tool)",
     ["-c", "import numpy, PIL.Image"]),
    ("kmq-help", "kmq --help", ["-m", "kmq_core.cli", "--help"]),
    ("kmq-quantize-help", "kmq quantize --help", ["-m", "kmq_core.cli", "quantize", "--help"]),
    ("import-kmq_core", "import kmq_core", ["-c", "import kmq_core"]),
    ("first-quantize", "import kmq_core; kmq_core.quantize(64×64 noise, 16) (the first call)",
     ["-c", "import numpy as np, kmq_core; "
            "kmq_core.quantize(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8), 16)"]),
    ("app", "import streamlit, kmq_app.work, kmq_app.views (the app's modules, the page not run)",
     ["-c", "import streamlit, kmq_app.work, kmq_app.views"]),
    ("gimp-bridge", "import kmq_core.gimp_bridge (the GIMP plug-in's bridge)", ["-c", "import kmq_core.gimp_bridge"]),
]


# --- running a process -----------------------------------------------------------

TIME = "/usr/bin/time"


class TreeSampler(threading.Thread):
    """Samples the RSS of a process and all its descendants every ``interval`` s (psutil).

    For commands that hand work to other processes: kmq's multi-file command
    runs its files in a forkserver's workers, which are not the command's own
    children, so no ``ru_maxrss`` covers them. ``largest_kib`` is the highest
    RSS of any one process seen, ``total_kib`` the highest sum over the tree
    (shared pages counted once per process, so an upper bound).
    """

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.largest_kib = self.total_kib = 0
        self.done = threading.Event()

    def run(self):
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.done.is_set():
            try:
                procs = [root] + root.children(recursive=True)
            except psutil.Error:
                return
            rss = []
            for proc in procs:
                try:
                    if proc.name() != "time":
                        rss.append(proc.memory_info().rss // 1024)
                except psutil.Error:
                    pass
            if rss:
                self.largest_kib = max(self.largest_kib, max(rss))
                self.total_kib = max(self.total_kib, sum(rss))
            self.done.wait(self.interval)


def run_timed(argv: list[str], env: dict | None = None, timeout: float = 600.0, cwd=None,
              tree: dict | None = None) -> tuple[float, int]:
    """Run ``argv`` to its end; return (wall seconds, peak RSS in KiB).

    The peak is GNU time's ``%M`` (the child's ``ru_maxrss``, which covers the
    children it waited for, e.g. worker processes). Not ``os.wait4`` here: Linux
    carries the forking process's high-water mark into the child's ``ru_maxrss``
    at exec, so every command started from this (large) harness would show at
    least the harness's size; ``/usr/bin/time`` is small, so its child's figure is
    the command's own. The wall time is taken here (time's start-up, about a
    millisecond, included for every tool alike). A timer kills the process group
    after ``timeout`` s; a non-zero exit raises RuntimeError with the end of stderr.
    With ``tree`` (a dict), the process tree is also sampled (:class:`TreeSampler`) and
    ``tree`` receives ``largest_kib`` and ``total_kib``.
    """
    with tempfile.NamedTemporaryFile(prefix="kmq-speed-rss-") as rss, tempfile.TemporaryFile() as err:
        wrapped = [TIME, "-f", "%M", "-o", rss.name, *argv] if os.path.exists(TIME) else list(argv)
        t0 = time.perf_counter()
        p = subprocess.Popen(wrapped, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env,
                             cwd=cwd, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(p.pid, 9))
        timer.start()
        sampler = TreeSampler(p.pid) if tree is not None else None
        if sampler:
            sampler.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - t0
        if sampler:
            sampler.done.set()
            sampler.join()
            tree.update(largest_kib=sampler.largest_kib, total_kib=sampler.total_kib)
        p.returncode = code = os.waitstatus_to_exitcode(status)  # Popen must not wait for it again
        if code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip()[-400:]
            why = f"killed after {timeout:.0f} s" if seconds >= timeout else f"exit {code}"
            raise RuntimeError(f"{Path(argv[0]).name} {' '.join(map(str, argv[1:4]))} …: {why}: {tail}")
        lines = Path(rss.name).read_text().split() if wrapped[0] == TIME else []
        kib = int(lines[-1]) if lines and lines[-1].isdigit() else int(usage.ru_maxrss)
    return seconds, kib


def warm_up(tmp: Path, timeout: float) -> None:
    """Untimed: kmq once on a small PNG with each dithering and on a small APNG, so that compiled kernels
    (numba's on-disk cache) and the file cache are warm before anything is timed."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)) for _ in range(3)]
    frames[0].save(tmp / "warm.png")
    frames[0].save(tmp / "warm.apng", format="PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    for dither in ("none", "fs", "bayer"):
        for src, out in (("warm.png", "warm-out.png"), ("warm.apng", "warm-out.gif")):
            try:
                run_timed(kmq_argv() + ["quantize", str(tmp / src), "-k", "16", "-o", str(tmp / out), "-f", "-q",
                                        "--dither", dither], kmq_env(), timeout, REPO)
            except RuntimeError as exc:
                _log(f"warm-up: {exc}")


def _log(msg: str) -> None:
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def _rotate(items: list, n: int) -> list:
    n %= max(len(items), 1)
    return items[n:] + items[:n]


def _entry(section: str, case: str, tool: str, argv: list[str]) -> dict:
    return {"section": section, "case": case, "tool": tool, "command": " ".join(map(str, argv)), "runs": []}


def _short(argv: list[str], tmp: str) -> str:
    return " ".join(map(str, argv)).replace(tmp, "TMP").replace(sys.executable, "python")


# --- the parts ---------------------------------------------------------------------

def measure_web(files: list[Path], tools: dict, runs: int, tmp: Path, timeout: float) -> list[dict]:
    """CQ100 at k=64: one process per file (summed) and all files in one command, per mode and tool."""
    src = tmp / "cq100"
    src.mkdir()
    for f in files:
        shutil.copyfile(f, src / f.name)
    srcs = [str(src / f.name) for f in files]
    names = [f.name for f in files]
    out = tmp / "web-out"
    out.mkdir()
    entries = {}
    order = [t for t in ("kmq", "pq3", "pq2") if t == "kmq" or tools.get(t)]
    for mode in MODES:
        for tool in order:
            first = quantize_argv(tool, mode, WEB_K, srcs[0], str(out / f"{tool}-{mode}-{names[0]}"), tools.get(tool))
            entries[("per-file", mode, tool)] = _entry("web-per-file", mode, tool, first)
            entries[("per-file", mode, tool)]["command"] = _short(first, str(tmp)) + "  (one process per file)"
            bdir = out / f"batch-{tool}-{mode}"
            bdir.mkdir()
            argv = batch_argv(tool, mode, WEB_K, srcs, str(bdir), tools.get(tool))
            e = _entry("web-one-command", mode, tool, argv)
            e["command"] = _short(argv[:argv.index(srcs[0])], str(tmp)) + f" …({len(srcs)} files)"
            e["argv"] = argv
            entries[("batch", mode, tool)] = e
    for r in range(runs):
        for mode in MODES:
            per = {t: {"seconds": 0.0, "peak_kib": 0, "files": []} for t in order}
            for i, (s, name) in enumerate(zip(srcs, names)):
                for tool in _rotate(order, r + i):
                    argv = quantize_argv(tool, mode, WEB_K, s, str(out / f"{tool}-{mode}-{name}"), tools.get(tool))
                    sec, kib = run_timed(argv, kmq_env() if tool == "kmq" else None, timeout, REPO)
                    p = per[tool]
                    p["seconds"] += sec
                    p["peak_kib"] = max(p["peak_kib"], kib)
                    p["files"].append([name, round(sec, 4), kib])
            for tool in order:
                entries[("per-file", mode, tool)]["runs"].append(per[tool])
            _log(f"run {r + 1}/{runs} web one process per file, {mode}: "
                 + ", ".join(f"{t} {per[t]['seconds']:.2f} s" for t in order))
            for tool in _rotate(order, r):
                e = entries[("batch", mode, tool)]
                tree: dict = {}
                sec, kib = run_timed(e["argv"], kmq_env() if tool == "kmq" else None, timeout, REPO, tree=tree)
                # the command's own peak, or a worker's if one was larger (sampled)
                e["runs"].append({"seconds": sec, "peak_kib": max(kib, tree["largest_kib"]), "own_peak_kib": kib,
                                  "tree_sum_kib": tree["total_kib"]})
            _log(f"run {r + 1}/{runs} web one command, {mode}: "
                 + ", ".join(f"{t} {entries[('batch', mode, t)]['runs'][-1]['seconds']:.2f} s" for t in order))
    for e in entries.values():
        e.pop("argv", None)
        e["files"] = len(files)
    return list(entries.values())


def measure_12mp(png: str, ks, tools: dict, runs: int, tmp: Path, timeout: float) -> list[dict]:
    """The 12 MP photo (a PNG): each k and mode, kmq and both pngquants taking turns."""
    order = [t for t in ("kmq", "pq3", "pq2") if t == "kmq" or tools.get(t)]
    entries = {}
    for k in ks:
        for mode in MODES:
            for tool in order:
                argv = quantize_argv(tool, mode, k, png, str(tmp / f"12mp-{tool}-{k}-{mode}.png"), tools.get(tool))
                e = _entry("12mp", f"k={k} {mode}", tool, argv)
                e["command"] = _short(argv, str(tmp))
                e["argv"], e["k"], e["mode"] = argv, k, mode
                entries[(k, mode, tool)] = e
    for r in range(runs):
        for j, (k, mode) in enumerate((k, m) for k in ks for m in MODES):
            for tool in _rotate(order, r + j):
                e = entries[(k, mode, tool)]
                sec, kib = run_timed(e["argv"], kmq_env() if tool == "kmq" else None, timeout, REPO)
                e["runs"].append({"seconds": sec, "peak_kib": kib})
            _log(f"run {r + 1}/{runs} 12 MP k={k} {mode}: "
                 + ", ".join(f"{t} {entries[(k, mode, t)]['runs'][-1]['seconds']:.2f} s" for t in order))
    for e in entries.values():
        e.pop("argv")
    return list(entries.values())


def measure_memory(cache_dir: Path, tmp: Path, timeout: float) -> dict:
    """8181×7221 at k=256, once each: the whole ``kmq quantize`` on a PNG (peak by GNU time), and
    ``kmq_core.quantize`` on the decoded array in a fresh benchmarks.worker process (run.py's
    memory test, whose peak is the worker's VmHWM and includes the 177 MB input array)."""
    from benchmarks.run import MEMORY_SIZE, ImageCache, Task, run_worker, spec_for

    w, h = MEMORY_SIZE
    cache = ImageCache(cache_dir)
    png = cache.paths("8181x7221", png=True)["png"]
    decoded_mb = w * h * 3 / 1e6
    res = {"width": w, "height": h, "k": 256, "decoded_mb": decoded_mb, "limit_mb": RSS_BIG_FACTOR * decoded_mb}
    argv = kmq_argv() + ["quantize", png, "-k", "256", "-o", str(tmp / "kmq-8181x7221.png"), "-f", "-q"]
    res["cli_command"] = _short(argv, str(tmp))
    try:
        sec, kib = run_timed(argv, kmq_env(), timeout, REPO)
        res["cli"] = {"status": "ok", "peak_rss_mb": kib * 1024 / 1e6, "time_s": sec}
    except RuntimeError as exc:
        res["cli"] = {"status": "error", "note": str(exc)[:300]}
    _log(f"memory 8181×7221 k=256, kmq quantize: {res['cli']}")
    task = Task("kmq", "8181x7221", 256, False, runs=1, budget_s=0, timeout_s=timeout)
    res["library"] = run_worker(spec_for(task, cache, metrics=False), timeout)
    _log(f"memory 8181×7221 k=256, kmq_core.quantize: {res['library'].get('peak_rss_mb', res['library'])}")
    return res


def measure_anim(tools: dict, runs: int, tmp: Path, timeout: float, pairs) -> dict:
    """60 frames of 640×360 at k=128: kmq on the APNG against ffmpeg on the PNG frames, per dithering pair."""
    from benchmarks import anim_clips

    width, height, n = ANIM_SIZE
    clip = anim_clips.write_clip(ANIM_CLIP, tmp / "anim", width=width, height=height, n_frames=n)
    entries = {}
    order = ["kmq", "ffmpeg"]
    for pair in pairs:
        for tool in order:
            argv = anim_argv(tool, pair, ANIM_K, clip, str(tmp / f"anim-{tool}-{pair}.gif"), tools.get(tool))
            e = _entry("anim", pair, tool, argv)
            e["command"] = _short(argv, str(tmp))
            e["argv"] = argv
            entries[(pair, tool)] = e
    for r in range(runs):
        for j, pair in enumerate(pairs):
            for tool in _rotate(order, r + j):
                e = entries[(pair, tool)]
                sec, kib = run_timed(e["argv"], kmq_env() if tool == "kmq" else None, timeout, REPO)
                e["runs"].append({"seconds": sec, "peak_kib": kib})
            _log(f"run {r + 1}/{runs} animation {pair}: "
                 + ", ".join(f"{t} {entries[(pair, t)]['runs'][-1]['seconds']:.2f} s" for t in order))
    for e in entries.values():
        e.pop("argv")
    return {"clip": f"{ANIM_CLIP}, {n} frames of {width}×{height} at {clip['duration_ms']} ms "
                    "(benchmarks/anim_clips.py)",
            "k": ANIM_K, "entries": list(entries.values())}


def measure_imports(runs: int, timeout: float) -> list[dict]:
    """Start-up of each front end: whole ``python`` processes, each measured ``runs`` times in turn."""
    entries = [dict(_entry("imports", key, "kmq", [sys.executable, *args]), title=title)
               for key, title, args in IMPORTS]
    for e, (_, _, args) in zip(entries, IMPORTS):
        e["argv"] = [sys.executable, *args]
        e["command"] = _short(e["argv"], "\0")
    for e in entries:  # one untimed round: the file cache and compiled kernels warm
        try:
            run_timed(e["argv"], kmq_env(), timeout, REPO)
        except RuntimeError:
            pass
    for r in range(runs):
        for e in entries:
            try:
                sec, kib = run_timed(e["argv"], kmq_env(), timeout, REPO)
                e["runs"].append({"seconds": sec, "peak_kib": kib})
            except RuntimeError as exc:
                e["error"] = str(exc)[:300]
        _log(f"run {r + 1}/{runs} imports: " + ", ".join(
            f"{e['case']} {e['runs'][-1]['seconds']:.2f} s" for e in entries if e["runs"]))
    for e in entries:
        e.pop("argv")
    return entries


_STOPWATCH = re.compile(r"(\d+(?:\.\d+)?) s by the test's stopwatch")
APP_FILES = {"first-result": "timing-first-result.txt", "k-change": "timing-k-change.txt", "12mp": "timing-12mp.txt"}


def parse_app_timing(text: str) -> float | None:
    """The seconds a tests/test_app_browser.py timing file reports ("… 0.63 s by the test's stopwatch …")."""
    m = _STOPWATCH.search(text)
    return float(m.group(1)) if m else None


def read_app_timings(folder: Path) -> dict:
    """The browser test's last timing files in ``$KMQ_ARTIFACTS`` (not measured by this run)."""
    out = {"folder": str(folder)}
    for key, name in APP_FILES.items():
        p = folder / name
        if p.exists():
            text = p.read_text(encoding="utf-8", errors="replace").strip()
            out[key] = {"seconds": parse_app_timing(text), "text": text,
                        "written_utc": _dt.datetime.fromtimestamp(p.stat().st_mtime, _dt.timezone.utc)
                        .strftime("%Y-%m-%d %H:%M UTC")}
    return out


# --- summaries and goals -----------------------------------------------------------

def median_s(entry: dict | None) -> float | None:
    if not entry or not entry.get("runs"):
        return None
    return statistics.median(r["seconds"] for r in entry["runs"])


def peak_mib(entry: dict | None) -> float | None:
    if not entry or not entry.get("runs"):
        return None
    return max(r["peak_kib"] for r in entry["runs"]) / 1024


def find(entries: list[dict], section: str, case: str, tool: str) -> dict | None:
    for e in entries:
        if e["section"] == section and e["case"] == case and e["tool"] == tool:
            return e
    return None


def largest_file_peak(entry: dict | None) -> tuple[str, float] | None:
    """The file with the highest peak RSS over every run of a one-process-per-file entry: (name, MiB)."""
    if not entry or not entry.get("runs"):
        return None
    name, kib = max(((f[0], f[2]) for r in entry["runs"] for f in r.get("files", [])), key=lambda x: x[1],
                    default=(None, 0))
    return (name, kib / 1024) if name else None


def per_file_ratios(a: dict | None, b: dict | None) -> list[tuple[str, float]]:
    """Per file, the median over runs of ``a``'s time divided by ``b``'s: [(name, ratio)], highest first."""
    def per_file(entry):
        times: dict[str, list[float]] = {}
        for r in (entry or {}).get("runs", []):
            for name, sec, _ in r.get("files", []):
                times.setdefault(name, []).append(sec)
        return {name: statistics.median(ts) for name, ts in times.items()}

    ta, tb = per_file(a), per_file(b)
    return sorted(((n, ta[n] / tb[n]) for n in ta if tb.get(n)), key=lambda x: -x[1])


def _spread(ratios: list[tuple[str, float]]) -> str:
    if not ratios:
        return ""
    med = statistics.median(r for _, r in ratios)
    return (f"; per file {ratios[-1][1]:.2f}× ({ratios[-1][0]}) to {ratios[0][1]:.2f}× ({ratios[0][0]}), "
            f"median {med:.2f}×")


def verdict(value: float | None, limit: float | None, what: str, unit: str, goal: str, where: str) -> dict:
    """One goal: MET when ``value ≤ limit``; the text says by how much either way."""
    if value is None or limit is None:
        return {"goal": goal, "where": where, "met": None, "value": value, "limit": limit,
                "text": f"NOT MEASURED: {where}: {what}"}
    met = value <= limit
    if met:
        margin = f"{100 * (1 - value / limit):.0f} % under the limit" if limit else "at the limit"
    else:
        margin = (f"{value / limit:.2f}× the limit: {100 * (1 - limit / value):.0f} % less needed"
                  if limit else "over the limit")
    return {"goal": goal, "where": where, "met": met, "value": value, "limit": limit,
            "text": f"{'MET' if met else 'MISSED'}: {where}: {what} ({unit}; {margin})"}


def _ratio_goal(a: dict | None, b: dict | None, factor: float, goal: str, where: str, peer: str) -> dict:
    ta, tb = median_s(a), median_s(b)
    if ta is None or tb is None:
        return verdict(None, None, f"kmq {fmt(ta)} vs {peer} {fmt(tb)}", "", goal, where)
    return verdict(ta / tb, factor, f"kmq {fmt(ta)} vs {peer} {fmt(tb)} = {ta / tb:.2f}×"
                   + _spread(per_file_ratios(a, b)), f"goal ≤ {factor:g}×", goal, where)


def compute_goals(data: dict) -> list[dict]:
    """Every goal of issue 25 on the numbers in ``data`` (what measure/--from-json hold); pure, no I/O."""
    goals = []
    web = data.get("web") or []
    n = (web[0].get("files") if web else None) or "the"
    for mode in MODES:
        tag = "default vs pngquant 3 --nofs" if mode == "plain" else "--dither fs vs pngquant 3's default"
        if web:
            goals.append(_ratio_goal(find(web, "web-per-file", mode, "kmq"), find(web, "web-per-file", mode, "pq3"),
                                     WEB_PER_FILE_FACTOR, "web, one process per file",
                                     f"{n} CQ100 images k={WEB_K}, one process per file (sum), {tag}", "pngquant 3"))
            goals.append(_ratio_goal(find(web, "web-one-command", mode, "kmq"),
                                     find(web, "web-one-command", mode, "pq3"), WEB_ONE_COMMAND_FACTOR,
                                     "web, all files in one command",
                                     f"{n} CQ100 images k={WEB_K}, one command, {tag}", "pngquant 3"))
    mp = data.get("12mp") or []
    for k in sorted({e["k"] for e in mp}):
        for mode in MODES:
            tag = "default vs pngquant 3 --nofs" if mode == "plain" else "--dither fs vs pngquant 3's default"
            goals.append(_ratio_goal(find(mp, "12mp", f"k={k} {mode}", "kmq"), find(mp, "12mp", f"k={k} {mode}", "pq3"),
                                     MP12_FACTOR, "12 MP", f"12 MP (4000×3000) k={k}, {tag}", "pngquant 3"))
    if web:
        worst = [(mode, largest_file_peak(find(web, "web-per-file", mode, "kmq"))) for mode in MODES]
        worst = [(m, w) for m, w in worst if w]
        if worst:
            mode, (name, mib) = max(worst, key=lambda x: x[1][1])
            opt = "default" if mode == "plain" else "--dither fs"
            goals.append(verdict(mib, RSS_WEB_MIB, f"kmq's largest peak RSS over {n} CQ100 images {mib:.0f} MiB "
                                                   f"({name}, {opt})", f"goal ≤ {RSS_WEB_MIB:g} MiB",
                                 "peak RSS, 768×512", f"768×512 photos (CQ100) k={WEB_K}, one process per file"))
    mem = data.get("memory")
    if mem:
        cli = mem.get("cli") or {}
        mb = cli.get("peak_rss_mb") if cli.get("status") == "ok" else None
        limit = RSS_BIG_FACTOR * mem["decoded_mb"]
        goals.append(verdict(mb, limit, f"kmq quantize peak RSS {mb:.0f} MB = {mb / mem['decoded_mb']:.2f}× the "
                                        f"decoded {mem['decoded_mb']:.0f} MB" if mb else
                             f"kmq quantize: {cli.get('note', 'no result')}",
                             f"goal ≤ {RSS_BIG_FACTOR:g}× = {limit:.0f} MB", "peak RSS, 8181×7221",
                             f"{mem['width']}×{mem['height']} k={mem['k']}, the whole command on a PNG"))
    anim = data.get("anim")
    if anim:
        for pair in dict.fromkeys(e["case"] for e in anim["entries"]):
            goals.append(_ratio_goal(find(anim["entries"], "anim", pair, "kmq"),
                                     find(anim["entries"], "anim", pair, "ffmpeg"), 1.0, "animation",
                                     f"animation {anim['clip'].split(' (')[0]} k={anim['k']}, "
                                     f"{ANIM_PAIRS[pair][0]} vs {ANIM_PAIR_TITLES[pair]}", "ffmpeg"))
    goals.extend(app_goals(data.get("app"), mp))
    return goals


def app_goals(app: dict | None, mp: list[dict]) -> list[dict]:
    """The app's goals from the browser test's timing files: reported, not this run's measurement."""
    if not app:
        return []
    out = []

    def when(key):
        return f"tests/test_app_browser.py, written {app[key]['written_utc']}"

    for key, limit, what in (("first-result", APP_FIRST_RESULT_S, "the example's first result after opening the page"),
                             ("k-change", APP_K_CHANGE_S, "a k change on a 640×480 photo on screen")):
        if key in app and app[key]["seconds"] is not None:
            s = app[key]["seconds"]
            out.append(verdict(s, limit, f"{s:.2f} s", f"goal ≤ {limit:g} s", "app", f"app: {what} ({when(key)})"))
        else:
            out.append(verdict(None, None, "measured by tests/test_app_browser.py (no timing file)", "", "app",
                               f"app: {what}"))
    cli = median_s(find(mp, "12mp", "k=64 plain", "kmq"))
    if "12mp" in app and app["12mp"]["seconds"] is not None and cli:
        s = app["12mp"]["seconds"]
        out.append(verdict(s / cli, APP_12MP_FACTOR, f"{s:.2f} s vs this run's kmq quantize 12 MP k=64 {cli:.2f} s "
                                                     f"= {s / cli:.2f}×", f"goal ≤ {APP_12MP_FACTOR:g}×", "app",
                           f"app: a 12 MP upload (JPEG) to its result ({when('12mp')}; another time and load "
                           "than this run's CLI figure)"))
    else:
        out.append(verdict(None, None, "measured by tests/test_app_browser.py (no timing file or no CLI figure)", "",
                           "app", "app: a 12 MP upload against the CLI"))
    return out


# --- the report ------------------------------------------------------------------

def fmt(s: float | None) -> str:
    return "–" if s is None else (f"{s:.3f} s" if s < 1 else f"{s:.2f} s")


def fmt_runs(entry: dict | None) -> str:
    """Median, and the spread of the runs when there are several."""
    m = median_s(entry)
    if m is None:
        return "–" if not entry or not entry.get("error") else "error"
    ts = [r["seconds"] for r in entry["runs"]]
    return fmt(m) + (f" ({min(ts):.2f}–{max(ts):.2f})" if len(ts) > 1 else "")


def _ratio(a, b) -> str:
    ta, tb = median_s(a), median_s(b)
    return f"{ta / tb:.2f}×" if ta and tb else "–"


def _mib(entry) -> str:
    m = peak_mib(entry)
    return "–" if m is None else f"{m:.0f}"


def goal_lines(goals: list[dict]) -> list[str]:
    met = sum(g["met"] is True for g in goals)
    missed = sum(g["met"] is False for g in goals)
    lines = [f"{met} met, {missed} missed, {sum(g['met'] is None for g in goals)} not measured here.", ""]
    return lines + [f"- **{g['text'].split(':', 1)[0]}**:{g['text'].split(':', 1)[1]}" for g in goals]


def render(data: dict, goals: list[dict]) -> str:
    m = data["machine"]
    s = data["settings"]
    v = data["versions"]
    out = ["# Speed benchmark (issue 25)", "",
           f"Run {m['date_utc']} in {data['seconds']:.0f} s: `{s['command']}`. Whole processes, the tools taking "
           f"turns on each input; every time is the median of {s['runs']} run(s) (min–max in brackets), "
           "peak RSS the highest of any run in MiB (2²⁰ bytes). Every run's time is in the JSON beside this file.",
           "",
           f"Machine: {m['cpu']}, {m['cores']} cores, {m.get('memory', '')}; {m['os']}; Python {m['python']}. "
           f"Load average at the start {m['load_average_at_start']}, at the end {data.get('load_average_at_end')} "
           "(other processes share these cores: the tools taking turns meet the same load).",
           "",
           "Versions: " + "; ".join(f"{k} {val}" for k, val in v.items()) + ".",
           ""]
    if s.get("note"):
        out += [f"Note: {s['note']}", ""]
    if data.get("source_changed"):
        out += ["**kmq_core's sources changed during the run**: the kmq figures mix two versions.", ""]
    for part, err in (data.get("errors") or {}).items():
        out += [f"**The {part} part failed**: {err}", ""]
    out += ["## Goals", ""] + goal_lines(goals) + [""]
    web = data.get("web") or []
    if web:
        n = web[0].get("files")
        out += [f"## Web-sized images: {n} CQ100 photos (768×512 or 512×768), k = {WEB_K}", "",
                "| how | comparing | kmq | pngquant 3 | pngquant 2 | kmq / pngquant 3 "
                "| peak RSS MiB kmq · pq3 · pq2 |",
                "|---|---|---|---|---|---|---|"]
        for section, how in (("web-per-file", f"one process per file (sum of {n})"),
                             ("web-one-command", f"all {n} in one command")):
            for mode, title in MODES.items():
                k_, p3, p2 = (find(web, section, mode, t) for t in ("kmq", "pq3", "pq2"))
                out.append(f"| {how} | {title} | {fmt_runs(k_)} | {fmt_runs(p3)} | {fmt_runs(p2)} | {_ratio(k_, p3)} "
                           f"| {_mib(k_)} · {_mib(p3)} · {_mib(p2)} |")
        sums = []
        for mode in MODES:
            e = find(web, "web-one-command", mode, "kmq")
            if e and e["runs"] and "tree_sum_kib" in e["runs"][0]:
                sums.append(f"{max(r['tree_sum_kib'] for r in e['runs']) / 1024:.0f} MiB ({mode})")
        out += ["", "Peak RSS of one command: the largest single process, the command's own (GNU time) or one of "
                "its worker processes (sampled every 50 ms with psutil: kmq runs several files in a forkserver's "
                "workers, which no `ru_maxrss` of the command covers)."
                + (f" All of kmq's processes together: {', '.join(sums)} (sampled sum of RSS, shared pages "
                   "counted in each process)." if sums else "")]
        out += ["", "Commands (first file shown):", ""]
        out += [f"- `{e['command']}`" for e in web]
        out.append("")
    mp = data.get("12mp") or []
    if mp:
        out += ["## 12 MP (4000×3000 PNG, benchmarks/images.py `photo_12mp`)", "",
                "| k | comparing | kmq | pngquant 3 | pngquant 2 | kmq / pngquant 3 | peak RSS MiB kmq · pq3 · pq2 |",
                "|---|---|---|---|---|---|---|"]
        for k in sorted({e["k"] for e in mp}):
            for mode, title in MODES.items():
                k_, p3, p2 = (find(mp, "12mp", f"k={k} {mode}", t) for t in ("kmq", "pq3", "pq2"))
                out.append(f"| {k} | {title} | {fmt_runs(k_)} | {fmt_runs(p3)} | {fmt_runs(p2)} | {_ratio(k_, p3)} "
                           f"| {_mib(k_)} · {_mib(p3)} · {_mib(p2)} |")
        out.append("")
    if web or data.get("memory"):
        out += ["## Memory", ""]
        for mode, title in MODES.items():
            parts = []
            for t in ("kmq", "pq3", "pq2"):
                w = largest_file_peak(find(web, "web-per-file", mode, t))
                if w:
                    parts.append(f"{TOOL_TITLES[t]} {w[1]:.0f} MiB ({w[0]})")
            if parts:
                out.append(f"- 768×512, the largest peak RSS of one process per file, {title}: " + ", ".join(parts))
        mem = data.get("memory")
        if mem:
            lim = RSS_BIG_FACTOR * mem["decoded_mb"]
            for key, title in (("cli", "the whole `kmq quantize` command on a PNG"),
                               ("library", "`kmq_core.quantize` on the decoded array (its peak holds the array)")):
                r = mem.get(key) or {}
                if r.get("status") == "ok":
                    mb = r.get("peak_rss_mb")
                    tm = r.get("time_s")
                    out.append(f"- {mem['width']}×{mem['height']} k={mem['k']}, {title}: {mb:.0f} MB = "
                               f"{mb / mem['decoded_mb']:.2f}× the decoded {mem['decoded_mb']:.0f} MB "
                               f"(goal ≤ {lim:.0f} MB){f', {tm:.1f} s' if tm else ''}")
                else:
                    out.append(f"- {mem['width']}×{mem['height']}, {title}: {r.get('note', r.get('status'))}")
        out.append("")
    anim = data.get("anim")
    if anim:
        out += [f"## Animation: {anim['clip']}, k = {anim['k']}", "",
                "kmq reads the APNG and writes a GIF; ffmpeg reads the PNG frames and writes a GIF with one palette "
                "(palettegen stats_mode=full, paletteuse with diff_mode=rectangle), as benchmarks/anim.py runs it.", "",
                "| kmq | ffmpeg | kmq time | ffmpeg time | kmq / ffmpeg | peak RSS MiB kmq · ffmpeg |",
                "|---|---|---|---|---|---|"]
        for pair in dict.fromkeys(e["case"] for e in anim["entries"]):
            a, b = find(anim["entries"], "anim", pair, "kmq"), find(anim["entries"], "anim", pair, "ffmpeg")
            out.append(f"| {ANIM_PAIRS[pair][0]} | {ANIM_PAIR_TITLES[pair]} | {fmt_runs(a)} | {fmt_runs(b)} | "
                       f"{_ratio(a, b)} | {_mib(a)} · {_mib(b)} |")
        out.append("")
    imp = data.get("imports") or []
    if imp:
        n_imp = s.get("import_runs")
        out += ["## Start-up: each front end as a whole process" + (f" (median of {n_imp} runs)" if n_imp else ""),
                "",
                "| front end | time | peak RSS MiB |", "|---|---|---|"]
        for e in imp:
            extra = f" ({e['error'][:120]})" if e.get("error") else ""
            out.append(f"| {e['title']} | {fmt_runs(e)}{extra} | {_mib(e)} |")
        out.append("")
    app = data.get("app")
    out += ["## The app", "",
            "Measured by tests/test_app_browser.py (a real Streamlit server and headless Chromium), not by this "
            "benchmark; its last timing files in `$KMQ_ARTIFACTS` are read and reported here as they are:", ""]
    found = False
    for key in APP_FILES:
        if app and key in app:
            found = True
            out.append(f"- {app[key]['written_utc']}: {app[key]['text']}")
    if not found:
        out.append(f"- no timing files in {app['folder'] if app else '$KMQ_ARTIFACTS'}: run "
                   "`python -m pytest tests/test_app_browser.py`")
    out.append("")
    return "\n".join(out)


# --- main ------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=None,
                    help="runs per measurement, median reported (default 3; 1 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="8 CQ100 images, 12 MP at k=64 only, one animation pair, no 8181×7221 test, one run")
    ap.add_argument("--parts", default=None,
                    help=f"comma-separated subset of {','.join(PARTS)} (default all; all but memory with --quick)")
    ap.add_argument("--files", type=int, default=None, help="only the first N CQ100 images (sorted by name)")
    ap.add_argument("--cq100", default=str(CQ100), help="folder of the CQ100 PNGs (default ../shared/data/cq100)")
    ap.add_argument("--k12", default=None, help="k on the 12 MP photo (default 64,256; 64 with --quick)")
    ap.add_argument("--import-runs", type=int, default=None,
                    help="runs of each start-up command (default max(runs, 5))")
    ap.add_argument("--cache", default="/tmp/kmq-bench-cache", help="generated images (shared with benchmarks.run)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds before one command is killed")
    ap.add_argument("--artifacts", default=os.environ.get("KMQ_ARTIFACTS") or "/tmp/kmq-artifacts",
                    help="where the browser test wrote its timing files ($KMQ_ARTIFACTS)")
    ap.add_argument("--name", default=None, help="results/NAME.md and NAME.json (default speed, speed-quick)")
    ap.add_argument("--from-json", default=None, help="re-render a saved run; measure nothing")
    args = ap.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    args.import_runs = args.import_runs or max(args.runs, 5 if not args.quick else 3)
    if args.parts is None:
        args.parts = [p for p in PARTS if not (args.quick and p == "memory")]
    else:
        args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    bad = [p for p in args.parts if p not in PARTS]
    if bad:
        ap.error(f"unknown part {bad[0]!r}: choose from {', '.join(PARTS)}")
    args.files = args.files or (8 if args.quick else None)
    args.k12 = [int(x) for x in (args.k12 or ("64" if args.quick else "64,256")).split(",")]
    args.name = args.name or ("speed-quick" if args.quick else "speed")
    return args


def write(data: dict, name: str) -> str:
    goals = compute_goals(data)
    data["goals"] = goals
    md = render(data, goals)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(md, encoding="utf-8")
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return md


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text(encoding="utf-8"))
        print(write(data, args.name))
        return 0
    from benchmarks.run import ImageCache, machine_info, source_fingerprint

    t_start = time.perf_counter()
    paths = tool_paths()
    if not paths["pq3"]:
        _log("pngquant 3 not found beside this Python (pip install pngquant-cli, as .ci/setup does)")
    cmd = "python -m benchmarks.speed " + " ".join(argv if argv is not None else sys.argv[1:])
    info = machine_info()
    info.pop("pngquant", None)  # run.py's field is Debian's pngquant only; versions holds both
    data = {"machine": info, "versions": versions(paths),
            "settings": {"command": cmd.strip(), "runs": args.runs, "import_runs": args.import_runs,
                         "parts": args.parts, "k12": args.k12, "web_k": WEB_K},
            "fingerprint_start": source_fingerprint()}
    with tempfile.TemporaryDirectory(prefix="kmq-speed-") as tmpname:
        tmp = Path(tmpname)
        warm_up(tmp, args.timeout)
        parts = {
            "imports": lambda: measure_imports(args.import_runs, args.timeout),
            "web": lambda: measure_web(files, paths, args.runs, tmp, args.timeout) if files else None,
            "12mp": lambda: measure_12mp(ImageCache(Path(args.cache)).paths("12mp", png=True)["png"], args.k12,
                                         paths, args.runs, tmp, args.timeout),
            "anim": lambda: (measure_anim(paths, args.runs, tmp, args.timeout, ["none"] if args.quick else
                                          list(ANIM_PAIRS)) if paths["ffmpeg"] else None),
            "memory": lambda: measure_memory(Path(args.cache), tmp, args.timeout),
            "app": lambda: read_app_timings(Path(args.artifacts)),
        }
        files = sorted(Path(args.cq100).glob("*.png"))[: args.files or None]
        if "web" in args.parts and not files:
            _log(f"no PNGs in {args.cq100}: web part skipped")
        if "anim" in args.parts and not paths["ffmpeg"]:
            _log("ffmpeg is not installed (apt-get install -y ffmpeg): animation part skipped")
        for part in PARTS:  # in this order: start-up first, the 8181×7221 test last
            if part not in args.parts:
                continue
            try:
                result = parts[part]()
            except Exception as exc:  # noqa: BLE001 - one part's failure is recorded, the others still run
                _log(f"{part}: {type(exc).__name__}: {exc}")
                data.setdefault("errors", {})[part] = f"{type(exc).__name__}: {str(exc)[:400]}"
                continue
            if result is not None:
                data[part] = result
            data["seconds"] = time.perf_counter() - t_start
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"{args.name}.partial.json").write_text(json.dumps(data, ensure_ascii=False) + "\n")
    (RESULTS / f"{args.name}.partial.json").unlink(missing_ok=True)
    data["fingerprint_end"] = source_fingerprint()
    data["source_changed"] = data["fingerprint_start"] != data["fingerprint_end"]
    data["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    data["seconds"] = time.perf_counter() - t_start
    print(write(data, args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
