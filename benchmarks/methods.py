"""The quantizers being compared, each behind the same small interface.

A method is set up once per measurement with ``prepare(rgb, k, dither, png)``
(outside the timed region: converting the array to the library's input
format, importing the library) and returns two callables:

- ``run()`` — the timed part: the library call(s) that produce a palette and
  an index per pixel (or, for whole-process methods, the whole command from
  process start to exit, reading and writing PNG files);
- ``decode(result)`` — untimed: the quantized image as H×W×3 uint8 RGB.

Every method is imported lazily, so a worker process loads only the library
it measures (that keeps the peak-memory column about the method).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

SEED = 0


@dataclass(frozen=True)
class Method:
    key: str
    label: str
    kind: str  # "call" (in-process library call) or "process" (whole command)
    dithers: tuple[bool, ...]  # which dithering settings it supports
    prepare: Callable
    family: str  # "kmq", "kmq-cli" or "peer"


def _centres_to_rgb(centres: np.ndarray, labels: np.ndarray, shape) -> np.ndarray:
    pal = np.clip(np.rint(np.asarray(centres, np.float64)), 0, 255).astype(np.uint8)
    return pal[np.asarray(labels).reshape(-1)].reshape(shape)


# --- kmq -------------------------------------------------------------------

def _kmq(space: str | None):
    def prepare(rgb, k, dither, png):
        import kmq_core
        from kmq_core.options import DEFAULT_SPACE

        sp = DEFAULT_SPACE if space is None else space

        def run():
            return kmq_core.quantize(rgb, k, space=sp, dither="fs" if dither else "none", seed=SEED)

        def decode(result):
            return np.asarray(result.image, np.uint8)

        return run, decode
    return prepare


def result_digest(result) -> str:
    """A hash of everything a kmq result returns (labels, palette, alpha).

    The image is the palette looked up by the labels, so hashing those covers
    it; hashing the image itself would make the worker build a full-size copy
    (and ``tobytes`` another) before it reads the peak memory, which would
    then be the benchmark's, not kmq's (177 MB each at 8181×7221).
    """
    import hashlib

    h = hashlib.sha256()
    for part in (result.labels, result.palette.colors, result.alpha):
        if part is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(np.asarray(part))
        h.update(str((a.dtype, a.shape)).encode())
        h.update(memoryview(a).cast("B"))  # no copy
    return h.hexdigest()[:16]


# --- scikit-learn -----------------------------------------------------------

def _sklearn_kmeans(rgb, k, dither, png):
    from sklearn.cluster import KMeans

    # as in scikit-learn's colour-quantization example: float64 in 0..1
    X = rgb.reshape(-1, 3).astype(np.float64) / 255.0

    def run():
        km = KMeans(n_clusters=k, n_init=1, random_state=SEED).fit(X)
        return km.cluster_centers_, km.labels_

    return run, lambda r: _centres_to_rgb(r[0] * 255.0, r[1], rgb.shape)


def _sklearn_example(rgb, k, dither, png):
    # scikit-learn's "Color Quantization using K-Means" example: fit on a
    # random 1,000-pixel sample, then predict every pixel
    from sklearn.cluster import KMeans
    from sklearn.utils import shuffle

    X = rgb.reshape(-1, 3).astype(np.float64) / 255.0

    def run():
        sample = shuffle(X, random_state=SEED, n_samples=1_000)
        km = KMeans(n_clusters=k, random_state=SEED).fit(sample)
        return km.cluster_centers_, km.predict(X)

    return run, lambda r: _centres_to_rgb(r[0] * 255.0, r[1], rgb.shape)


def _minibatch(rgb, k, dither, png):
    from sklearn.cluster import MiniBatchKMeans

    X = rgb.reshape(-1, 3).astype(np.float64) / 255.0

    def run():
        km = MiniBatchKMeans(n_clusters=k, n_init=3, random_state=SEED).fit(X)
        return km.cluster_centers_, km.labels_

    return run, lambda r: _centres_to_rgb(r[0] * 255.0, r[1], rgb.shape)


# --- OpenCV -----------------------------------------------------------------

#: stop when no centre moves more than 0.01 of an 8-bit level, or after 300
#: iterations (scikit-learn's max_iter); one attempt, k-means++ seeding
CV2_CRITERIA_ITERS, CV2_CRITERIA_EPS = 300, 0.01


def _cv2_kmeans(rgb, k, dither, png):
    import cv2

    X = rgb.reshape(-1, 3).astype(np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, CV2_CRITERIA_ITERS, CV2_CRITERIA_EPS)

    def run():
        cv2.setRNGSeed(SEED)
        _, labels, centres = cv2.kmeans(X, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
        return centres, labels

    return run, lambda r: _centres_to_rgb(r[0], r[1], rgb.shape)


# --- Pillow -----------------------------------------------------------------

def _pillow(method_name: str):
    def prepare(rgb, k, dither, png):
        from PIL import Image

        img = Image.fromarray(rgb, "RGB")
        method = getattr(Image.Quantize, method_name)

        def run():
            q = img.quantize(colors=k, method=method, dither=Image.Dither.NONE)
            if dither:
                # quantize(dither=FLOYDSTEINBERG) without palette= does not
                # dither; dithering needs a second pass against the palette
                q = img.quantize(palette=q, dither=Image.Dither.FLOYDSTEINBERG)
            return q

        return run, lambda q: np.asarray(q.convert("RGB"), np.uint8)
    return prepare


# --- libimagequant ----------------------------------------------------------

def _libimagequant(rgb, k, dither, png):
    import imagequant

    h, w = rgb.shape[:2]
    # the binding's quantize_pil_image turns pixels into bytes with a
    # per-pixel Python loop (seconds per megapixel); hand it the RGBA bytes
    # directly so the time is libimagequant's
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3] = rgb
    rgba[..., 3] = 255
    data = rgba.tobytes()
    del rgba

    def run():
        return imagequant.quantize_raw_rgba_bytes(
            data, w, h, dithering_level=1.0 if dither else 0.0,
            max_colors=k, min_quality=0, max_quality=100)

    def decode(r):
        idx, pal = r
        pal = np.asarray(pal, np.uint8).reshape(-1, 4)[:, :3]
        return pal[np.frombuffer(idx, np.uint8)].reshape(rgb.shape)

    return run, decode


def libimagequant_version() -> str:
    try:
        from imagequant import lib
        v = int(lib.liq_version())
        return f"{v // 10000}.{v // 100 % 100}.{v % 100}"
    except Exception:  # noqa: BLE001 - only for the machine-info block
        return "not installed"


# --- whole processes --------------------------------------------------------

def run_process(argv: list[str], timeout: float | None = None, env=None) -> tuple[int, int]:
    """Run a command; return (exit code, its peak RSS in KiB).

    ``os.wait4`` gives the resource usage of exactly this child, so the peak
    is the command's own, not the maximum over earlier children.
    """
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(p.pid, os.WNOHANG if deadline else 0)
        if pid:
            break
        if deadline and time.monotonic() > deadline:
            p.kill()
            os.wait4(p.pid, 0)
            p.returncode = -9
            raise TimeoutError(f"{argv[0]} took more than {timeout:.0f} s")
        time.sleep(0.005)
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {p.returncode}: {err.strip()[-400:]}")
    return p.returncode, int(usage.ru_maxrss)


def _read_png(path: str) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), np.uint8)


PNGQUANT = "/usr/bin/pngquant"


def pngquant_path() -> str | None:
    import shutil

    return PNGQUANT if os.path.exists(PNGQUANT) else shutil.which("pngquant")


def _pngquant(rgb, k, dither, png):
    exe = pngquant_path()
    if exe is None:
        raise FileNotFoundError("pngquant is not installed")
    out = png["out"]
    argv = [exe, "--force", "--speed", "4"] + ([] if dither else ["--nofs"]) + [
        "--output", out, str(k), "--", png["in"]]

    def run():
        return run_process(argv)[1]

    return run, lambda _r: _read_png(out)


def _kmq_cli(rgb, k, dither, png):
    out = png["out"]
    argv = [sys.executable, "-m", "kmq_core.cli", "quantize", png["in"], "-k", str(k), "-o", out, "-f", "-q"]
    if dither:
        argv += ["--dither", "fs"]

    def run():
        return run_process(argv)[1]

    return run, lambda _r: _read_png(out)


# --- the registry -------------------------------------------------------------

METHODS: dict[str, Method] = {m.key: m for m in [
    Method("kmq", "kmq default space", "call", (False, True), _kmq(None), "kmq"),
    Method("kmq-rgb", "kmq space=rgb", "call", (False, True), _kmq("rgb"), "kmq"),
    Method("kmq-oklab", "kmq space=oklab", "call", (False, True), _kmq("oklab"), "kmq"),
    Method("sklearn-kmeans", "scikit-learn KMeans, all pixels", "call", (False,), _sklearn_kmeans, "peer"),
    Method("sklearn-example", "scikit-learn example (1,000-pixel fit)", "call", (False,), _sklearn_example, "peer"),
    Method("minibatch", "MiniBatchKMeans n_init=3", "call", (False,), _minibatch, "peer"),
    Method("cv2-kmeans", "cv2.kmeans, all pixels, k-means++", "call", (False,), _cv2_kmeans, "peer"),
    Method("pillow-mediancut", "Pillow MEDIANCUT", "call", (False, True), _pillow("MEDIANCUT"), "peer"),
    Method("pillow-maxcoverage", "Pillow MAXCOVERAGE", "call", (False, True), _pillow("MAXCOVERAGE"), "peer"),
    Method("pillow-fastoctree", "Pillow FASTOCTREE", "call", (False, True), _pillow("FASTOCTREE"), "peer"),
    Method("libimagequant", "libimagequant speed 4 (in-process)", "call", (False, True), _libimagequant, "peer"),
    Method("pngquant", "pngquant --speed 4 (whole process)", "process", (False, True), _pngquant, "peer"),
    Method("kmq-cli", "kmq quantize (whole process)", "process", (False, True), _kmq_cli, "kmq-cli"),
]}
