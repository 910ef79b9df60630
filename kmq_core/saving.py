"""Write indexed PNGs, atomically and without ever destroying a file.

An indexed ("palette", colour type 3) PNG stores one byte or less per pixel
plus the palette, which is where k-means compression really pays: Pillow
packs 1, 2 or 4 bits per pixel when the palette is small enough. Alpha goes
into the PNG's tRNS chunk, one alpha value per palette entry, so colours are
paired with their alpha levels; when an image has more (colour, alpha) pairs
than a PNG palette holds, alpha is posterized until they fit.

Every file is written to a temporary file beside the target, flushed to disk
and renamed over it, so a crash or Ctrl-C leaves either the old file or the
new one, never half of one.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import KmqError, OutputExistsError, WriteError
from .interrupts import stop_if_interrupted


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would race with threads)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _exists(out: Path) -> KmqError:
    return OutputExistsError(f"{out} already exists: pass force=True to overwrite it", out)


def check_output(path: str | os.PathLike, *, force: bool = False, inputs=()) -> Path:
    """Refuse an output path that is an input, a folder, or exists (unless ``force``)."""
    out = Path(path)
    for src in inputs:
        try:
            if src is not None and (Path(src).resolve() == out.resolve() or (out.exists() and os.path.samefile(src, out))):
                raise KmqError(f"refusing to overwrite the input {out}: choose another output name")
        except OSError:
            pass
    if out.is_dir():
        raise WriteError(f"{out} is a folder: give a file name for the output")
    if out.exists() and not force:
        raise _exists(out)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise WriteError(f"the folder {parent} does not exist")
    return out


def atomic_write(path: str | os.PathLike, data: bytes, *, force: bool = True, inputs=()) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    The bytes go to a temporary file in the target's folder, are flushed and
    fsync'ed, then renamed onto the target (``os.replace``; a hard link when
    ``force`` is False, so a file that appeared meanwhile is never replaced),
    so readers see the old file or the whole new one. Nothing is left behind
    when writing fails (full disk, no permission, Ctrl-C).
    """
    out = check_output(path, force=force, inputs=inputs)
    stop_if_interrupted()
    parent = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=parent)
    except OSError as e:
        raise WriteError(f"cannot write {out}: {e.strerror or e}") from None
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            stop_if_interrupted()  # the temporary file goes (below); the target is untouched
            if force:
                os.replace(tmp, out)
            else:
                try:
                    os.link(tmp, out)
                except FileExistsError:
                    raise _exists(out) from None
                os.unlink(tmp)
        except OSError as e:
            reason = "no space left on the device" if e.errno == 28 else (e.strerror or str(e))
            raise WriteError(f"cannot write {out}: {reason}") from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return out


def _pair_alpha(labels: np.ndarray, alpha: np.ndarray, colors: np.ndarray):
    """Combine colour labels with alpha into ≤ 256 palette entries (RGBA)."""
    a = alpha.astype(np.uint16)
    a_levels = a
    for step in (1, 2, 4, 8, 16, 32, 64, 128, 255):
        if step > 1:
            # posterize alpha, keeping 0 and 255 exact
            a_levels = np.where((a == 0) | (a == 255), a, np.clip(np.rint(a / step) * step, 1, 254)).astype(np.uint16)
        pair = labels.astype(np.uint32) * 256 + a_levels
        pair[a_levels == 0] = 0xFFFFFFFF  # every invisible pixel shares one entry
        uniq, inv = np.unique(pair, return_inverse=True)
        if len(uniq) <= 256:
            break
    else:  # pragma: no cover - 255 leaves at most 2 alpha levels per colour
        raise KmqError("too many colour/alpha combinations for an indexed PNG")
    rgba = np.zeros((len(uniq), 4), np.uint8)
    vis = uniq != 0xFFFFFFFF
    rgba[vis, :3] = colors[(uniq[vis] // 256).astype(np.intp)]
    rgba[vis, 3] = (uniq[vis] % 256).astype(np.uint8)
    return inv.reshape(labels.shape).astype(np.uint8), rgba


#: oxipng's effort by image size (pixels): full search (filters, palette order,
#: deflate trials) up to OXIPNG_FULL; above, one pass with libdeflate at
#: OXIPNG_BIG_LEVEL; above OXIPNG_MAX, Pillow's zlib alone. Measured on
#: quantized photos: the full search saves 6-20 % over zlib level 6 in
#: 0.05-0.15 s per 0.3 MP; libdeflate 10 alone saves ~12 % at 0.15-0.2 s per MP
OXIPNG_FULL = 1_500_000
OXIPNG_BIG_LEVEL = 10
OXIPNG_MAX = 40_000_000


def optimize_png(png: bytes, pixels: int, keep_palette: bool = False) -> bytes:
    """The same PNG (same pixels, same chunks) squeezed by oxipng; never larger.

    oxipng (through the maintained ``pyoxipng`` binding) re-filters and
    re-deflates with libdeflate's near-optimal parser and may reorder or trim
    the palette; it never changes a pixel. ``keep_palette`` keeps the palette
    entries, their order and the indexed colour type exactly (a palette given
    or shared by many files). Deterministic for the same input.
    """
    if pixels > OXIPNG_MAX:
        return png
    try:
        import oxipng
    except ImportError:  # pragma: no cover - a dependency; an install without it still writes PNGs
        return png
    keep = dict(palette_reduction=False, color_type_reduction=False, grayscale_reduction=False,
                bit_depth_reduction=False) if keep_palette else {}
    try:
        if pixels <= OXIPNG_FULL:
            out = oxipng.optimize_from_memory(png, level=2, **keep)
        else:
            out = oxipng.optimize_from_memory(png, level=0, filter=[oxipng.RowFilter.NoOp],
                                              deflate=oxipng.Deflaters.libdeflater(OXIPNG_BIG_LEVEL), **keep)
    except oxipng.PngError:  # pragma: no cover - oxipng rejects nothing Pillow writes
        return png
    return out if len(out) < len(png) else png


def encode_indexed_png(labels: np.ndarray, colors: np.ndarray, alpha: np.ndarray | None = None,
                       *, compress_level: int = 6, tags: dict | None = None, optimize: bool = True,
                       keep_palette: bool = False) -> bytes:
    """Encode labels + palette (+ alpha) as an indexed PNG.

    Parameters
    ----------
    labels : (H, W) uint8
        Palette indices.
    colors : (n, 3) or (n, 4) uint8, n ≤ 256
        The palette; a fourth column is each entry's alpha (tRNS).
    alpha : (H, W) uint8, optional
        Straight alpha for a 3-column palette; paired with the colours, kept
        exactly when the pairs fit (see module notes).
    compress_level : int
        zlib level 0-9 of Pillow's writer (before ``optimize``).
    tags : dict, optional
        More arguments for Pillow's PNG writer: the colour tag and metadata
        from :func:`kmq_core.colour_management.png_params` (``pnginfo`` with
        an ``sRGB`` chunk, or ``icc_profile``; ``exif``). None writes neither.
    optimize : bool
        Squeeze the file with oxipng (:func:`optimize_png`): same pixels,
        fewer bytes, never more than Pillow's own.
    keep_palette : bool
        Keep the palette's entries and order exactly (see :func:`optimize_png`).

    Returns
    -------
    bytes
        The PNG file.
    """
    colors = np.asarray(colors, np.uint8)
    colors = colors.reshape(-1, colors.shape[-1] if colors.ndim == 2 and colors.shape[-1] == 4 else 3)
    labels = np.asarray(labels)
    trns = None
    if colors.shape[1] == 4:
        if len(colors) > 256:
            raise KmqError("an indexed PNG holds at most 256 colours")
        trns = colors[:, 3]
        colors = colors[:, :3]
    elif alpha is not None and (alpha < 255).any():
        labels, rgba = _pair_alpha(labels, alpha, colors)
        colors, trns = rgba[:, :3], rgba[:, 3]
    elif len(colors) > 256:
        raise KmqError("an indexed PNG holds at most 256 colours")
    if trns is not None:
        if (trns == 255).all():
            trns = None
        else:
            # PNG lets tRNS stop early: put translucent entries first
            order = np.argsort(trns == 255, kind="stable")
            remap_ = np.empty(len(order), np.uint8)
            remap_[order] = np.arange(len(order), dtype=np.uint8)
            labels, colors, trns = remap_[labels], colors[order], trns[order]
            last = int(np.flatnonzero(trns < 255).max()) + 1
            trns = trns[:last]
    img = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), "P")
    img.putpalette(colors.ravel().tobytes(), rawmode="RGB")
    # Pillow packs 1, 2 or 4 bits per index by itself when the palette is that short
    # a large image is deflated once, by oxipng's libdeflate: Pillow only stores it (oxipng's
    # output does not depend on how its input was compressed); zlib runs only if oxipng cannot
    # do better than stored data
    once = optimize and OXIPNG_FULL < labels.size <= OXIPNG_MAX
    params: dict = {"compress_level": 0 if once else compress_level, **(tags or {})}  # issue 17: colour tag, metadata
    if trns is not None:
        params["transparency"] = trns.tobytes()
    buf = io.BytesIO()
    img.save(buf, "PNG", **params)
    png = buf.getvalue()
    if not optimize:
        return png
    out = optimize_png(png, labels.size, keep_palette)
    if once and out is png:
        buf = io.BytesIO()
        img.save(buf, "PNG", **{**params, "compress_level": compress_level})
        return buf.getvalue()
    return out
