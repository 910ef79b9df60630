"""One measurement in a fresh process: one method, one image, one k, one
dithering setting.

``python -m benchmarks.worker SPEC_JSON`` loads the image, sets the method
up, runs it up to ``runs`` times (fewer once the runs so far took longer than
``budget_s``), reads the process's peak RSS, and only then computes the
quality metrics, so metric scratch memory never counts as the method's.
It prints one JSON object on its last line of stdout.

Peak memory is the kernel's high-water mark of this process's resident set
(``VmHWM``): interpreter, imported libraries, input image and everything the
method allocated. ``baseline`` is the resident set just before the first
timed call, so ``peak - baseline`` is what the call itself added on top.
For whole-process methods it is the command's own peak (``os.wait4``).
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def measure(spec: dict) -> dict:
    from benchmarks import metrics
    from benchmarks.methods import METHODS, result_digest

    method = METHODS[spec["method"]]
    rgb = np.load(spec["image"])
    k, dither = int(spec["k"]), bool(spec["dither"])
    if method.kind == "call":
        # one untimed call on a 64×64 crop: lazy imports, thread pools and
        # first-call set-up happen here, not in the first timed run
        warm, _ = method.prepare(np.ascontiguousarray(rgb[:64, :64]), k, dither, None)
        warm()
        del warm
    run, decode = method.prepare(rgb, k, dither, spec.get("png"))

    baseline = _status_kib("VmRSS")
    times, tool_peaks, digests = [], [], []
    space = None
    result = None
    for _ in range(int(spec["runs"])):
        result = None  # let the previous result go before the next run
        t0 = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - t0)
        if method.kind == "process":
            tool_peaks.append(int(result))
        if method.family == "kmq":
            digests.append(result_digest(result))
            space = getattr(result, "space", None)
        if sum(times) > float(spec["budget_s"]):
            break
    peak = max(tool_peaks) if tool_peaks else _status_kib("VmHWM")

    out = {
        "times_s": times,
        "time_s": statistics.median(times),
        "runs": len(times),
        "peak_rss_mb": peak * 1024 / 1e6,
        "baseline_rss_mb": None if tool_peaks else baseline * 1024 / 1e6,
        "digests": digests,
    }
    if space is not None:
        out["space"] = str(space)
    if not spec.get("metrics", True):
        return out

    q = decode(result)
    del result
    step = int(spec.get("metric_step", 1))
    out["psnr"] = metrics.psnr(rgb, q)
    out["colours"] = metrics.colours_used(q)
    sub_o, sub_q = rgb[::step, ::step], q[::step, ::step]
    out["de"] = metrics.mean_deltaE2000(sub_o, sub_q)
    out["de_blur"] = metrics.blurred_mean_deltaE2000(rgb, q, sigma=1.0, step=step)
    if spec.get("mask"):
        mask = np.load(spec["mask"])
        out["de_object"] = metrics.mean_deltaE2000(rgb, q, mask=mask)
        out["de_rest"] = metrics.mean_deltaE2000(rgb, q, mask=~mask)
    return out


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    try:
        out = measure(spec)
    except Exception as exc:  # noqa: BLE001 - report any failure as a table cell
        out = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
