"""A corpus of bad and odd inputs, generated on the fly (issue 7).

Every item is built here from numpy and Pillow, deterministically (fixed
seeds), so nothing binary is committed and every test module (core, CLI, app,
GIMP) sees the same bytes. :data:`BAD` holds files kmq must refuse with a
clear :class:`kmq_core.KmqError`; :data:`ODD` holds valid but unusual files
kmq must quantize correctly, each with the pixels it is expected to decode to
(8-bit sRGB(A), after EXIF rotation, first frame, ...).

Helpers for the environment cases (read-only folder, full disk) live here too,
because the CLI and core tests both need them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

#: names that a user's files really have: accents, CJK, emoji-free, and spaces
NON_ASCII_NAME = "фото café 写真.png"
SPACE_NAME = "my holiday photo (1).png"


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def noisy_rgb(h: int = 96, w: int = 128, seed: int = 7) -> np.ndarray:
    """A smooth gradient plus noise: many colours, like a photo, and poorly compressible."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / max(w - 1, 1) * 255, yy / max(h - 1, 1) * 255, (xx + yy) / max(h + w - 2, 1) * 255], -1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def photo_png() -> bytes:
    return encode(Image.fromarray(noisy_rgb()), "PNG")


def photo_jpeg() -> bytes:
    return encode(Image.fromarray(noisy_rgb()), "JPEG", quality=90)


# ---------------------------------------------------------------- bad inputs
def truncated_png() -> bytes:
    data = photo_png()
    return data[: len(data) // 2]


def truncated_jpeg() -> bytes:
    data = photo_jpeg()
    return data[: len(data) // 2]


def truncated_gif() -> bytes:
    """The animated GIF cut inside its second frame (Pillow fails while counting frames)."""
    data, _ = animated_gif()
    return data[: len(data) // 2]


def tiff_bad_strip_offsets() -> bytes:
    """A TIFF whose StripOffsets tag claims the RATIONAL type (one flipped bit)."""
    data = bytearray(encode(Image.fromarray(noisy_rgb(12, 16, seed=5)), "TIFF"))
    assert data[:4] == b"II*\x00"
    ifd = int.from_bytes(data[4:8], "little")
    for i in range(int.from_bytes(data[ifd:ifd + 2], "little")):
        entry = ifd + 2 + 12 * i
        if int.from_bytes(data[entry:entry + 2], "little") == 273:  # StripOffsets, type LONG (4)
            data[entry + 2:entry + 4] = (5).to_bytes(2, "little")  # RATIONAL
            return bytes(data)
    raise AssertionError("no StripOffsets tag")


def tiff_wrong_count(tag: int) -> bytes:
    """A TIFF whose ``tag`` entry claims 127 values instead of 1: Pillow warns (and logs) while opening it."""
    data = bytearray(encode(Image.fromarray(noisy_rgb(12, 16, seed=5)), "TIFF"))
    ifd = int.from_bytes(data[4:8], "little")
    for i in range(int.from_bytes(data[ifd:ifd + 2], "little")):
        entry = ifd + 2 + 12 * i
        if int.from_bytes(data[entry:entry + 2], "little") == tag:
            data[entry + 4:entry + 8] = (127).to_bytes(4, "little")
            return bytes(data)
    raise AssertionError(f"no tag {tag}")


#: TIFFs that kmq refuses correctly but whose opening makes Pillow emit warnings and log lines
NOISY_TIFFS = {
    "width_count.tif": (lambda: tiff_wrong_count(256), "damaged or truncated"),
    "samples_count.tif": (lambda: tiff_wrong_count(277), "is not an image kmq can read"),
}


def text_as_png() -> bytes:
    return b"This is a shopping list, not a picture.\nmilk\neggs\n"


def png_header_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid 1×1 PNG whose IHDR (with a correct CRC) claims ``width``×``height`` pixels."""
    data = bytearray(encode(Image.new("L", (1, 1)), "PNG"))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[ihdr + 17:ihdr + 21] = zlib.crc32(bytes(data[ihdr:ihdr + 17])).to_bytes(4, "big")
    return bytes(data)


@dataclass(frozen=True)
class Bad:
    name: str  # file name to use (its extension matters to front ends that check it)
    make: object  # () -> bytes
    message: str  # a fragment of the KmqError message (regex-free text)
    bug: str | None = None  # set while kmq mishandles it: the tests are strict xfails


#: inputs every front end must refuse with one clear message
BAD: dict[str, Bad] = {
    "empty": Bad("empty.png", lambda: b"", "is empty (0 bytes)"),
    "truncated_png": Bad("cut.png", truncated_png, "damaged or truncated"),
    "truncated_jpeg": Bad("cut.jpg", truncated_jpeg, "damaged or truncated"),
    "text_as_png": Bad("list.png", text_as_png, "is not an image kmq can read"),
    "header_bomb": Bad("bomb.png", png_header_bomb, "100000×100000 = 10000.0 megapixels, more than the limit"),
    # both once escaped as IndexError / TypeError from Pillow (found by the fuzzer)
    "truncated_gif": Bad("cut.gif", truncated_gif, "damaged or truncated"),
    "tiff_bad_tag": Bad("badtag.tif", tiff_bad_strip_offsets, "damaged or truncated"),
}


# ---------------------------------------------------------------- valid but odd inputs
def one_by_one() -> tuple[bytes, np.ndarray]:
    px = np.array([[[200, 30, 90]]], np.uint8)
    return encode(Image.fromarray(px), "PNG"), px


def strip_1x5000() -> tuple[bytes, np.ndarray]:
    """1 pixel wide, 5000 tall: a grey ramp with a few saturated bands."""
    h = 5000
    v = (np.arange(h) * 255 // (h - 1)).astype(np.uint8)
    px = np.repeat(v[:, None, None], 3, axis=2)
    px[1000:1100] = (255, 0, 0)
    px[3000:3100] = (0, 0, 255)
    return encode(Image.fromarray(px), "PNG"), px


def single_colour() -> tuple[bytes, np.ndarray]:
    px = np.empty((40, 60, 3), np.uint8)
    px[...] = (12, 140, 230)
    return encode(Image.fromarray(px), "PNG"), px


def grey16_tiff() -> tuple[bytes, np.ndarray]:
    """A 16-bit grey TIFF whose values are exact multiples of 257 (so 8-bit is exact)."""
    g8 = np.tile(np.arange(0, 256, 4, dtype=np.uint16), (8, 1))  # 8×64
    img = Image.fromarray(np.ascontiguousarray(g8 * 257, dtype=np.uint16))  # mode I;16
    return encode(img, "TIFF"), np.repeat(g8.astype(np.uint8)[:, :, None], 3, 2)


def float_tiff() -> tuple[bytes, np.ndarray]:
    """A 32-bit float grey TIFF in 0..1 with out-of-range values (clipped)."""
    f = np.tile(np.linspace(0, 1, 51, dtype=np.float32), (6, 1))
    f[0, 0], f[0, 1] = -0.5, 1.7
    img = Image.fromarray(f)  # mode F
    expected = np.clip(np.rint(f.astype(np.float64) * 255), 0, 255).astype(np.uint8)
    return encode(img, "TIFF"), np.repeat(expected[:, :, None], 3, 2)


def cmyk_jpeg() -> tuple[bytes, np.ndarray]:
    """Flat CMYK patches (pure cyan, magenta, yellow, black, white) in a JPEG."""
    patches = [(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255), (0, 0, 0, 0)]
    px = np.zeros((32, 32 * len(patches), 4), np.uint8)
    for i, c in enumerate(patches):
        px[:, 32 * i:32 * (i + 1)] = c
    img = Image.fromarray(px, "CMYK")
    expected = np.array(img.convert("RGB"))  # the naive conversion kmq documents
    return encode(img, "JPEG", quality=95), expected


def la_png() -> tuple[bytes, np.ndarray]:
    g = np.tile(np.array([0, 80, 160, 255], np.uint8), (10, 5))  # 10×20
    a = np.zeros_like(g)
    a[:, 5:10], a[:, 10:15], a[:, 15:] = 100, 200, 255
    img = Image.fromarray(np.dstack([g, a]), "LA")
    expected = np.dstack([g, g, g, a])
    return encode(img, "PNG"), expected


def p_transparent_png() -> tuple[bytes, np.ndarray]:
    """A palette PNG with a tRNS chunk: index 0 fully transparent, index 1 half."""
    idx = np.zeros((12, 12), np.uint8)
    idx[:, 4:8], idx[:, 8:] = 1, 2
    img = Image.fromarray(idx, "P")
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255])
    data = encode(img, "PNG", transparency=bytes([0, 128, 255]))
    colours = np.array([[255, 0, 0, 0], [0, 255, 0, 128], [0, 0, 255, 255]], np.uint8)
    return data, colours[idx]


def animated_gif() -> tuple[bytes, np.ndarray]:
    """Three frames of different flat colours; kmq must use the first."""
    frames = [Image.new("RGB", (20, 10), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    frames[0].paste((255, 255, 255), (0, 0, 10, 10))
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return data, np.array(Image.open(io.BytesIO(data)).convert("RGB"))


def exif_rotated_jpeg() -> tuple[bytes, np.ndarray]:
    """A 40×20 JPEG stored sideways with EXIF Orientation 6 (rotate 90° clockwise to view).

    Stored: left half black, right half white. Shown (20 wide × 40 tall): top half black.
    """
    px = np.zeros((20, 40, 3), np.uint8)
    px[:, 20:] = 255
    img = Image.fromarray(px)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(img, "JPEG", quality=100, exif=exif.tobytes())
    shown = np.zeros((40, 20, 3), np.uint8)
    shown[20:] = 255
    return data, shown


@dataclass(frozen=True)
class Odd:
    name: str
    make: object  # () -> (bytes, expected decoded pixels)
    k: int = 16


ODD: dict[str, Odd] = {
    "1x1": Odd("dot.png", one_by_one),
    "1x5000": Odd("strip.png", strip_1x5000, 8),
    "single_colour_k64": Odd("flat.png", single_colour, 64),
    "tiff16": Odd("grey16.tif", grey16_tiff, 8),
    "tiff_float": Odd("float.tif", float_tiff, 8),
    "cmyk_jpeg": Odd("cmyk.jpg", cmyk_jpeg, 8),
    "la_png": Odd("la.png", la_png, 4),
    "p_transparent": Odd("ptrns.png", p_transparent_png, 4),
    "animated_gif": Odd("anim.gif", animated_gif, 4),
    "exif_rotated": Odd("rotated.jpg", exif_rotated_jpeg, 2),
    "non_ascii_name": Odd(NON_ASCII_NAME, one_by_one),
    "space_name": Odd(SPACE_NAME, one_by_one),
}

#: k values that no front end may accept, with the message fragment expected
BAD_K = {
    0: "k must be from 1 to 256, got 0",
    257: "k must be from 1 to 256, got 257",
    -3: "k must be from 1 to 256, got -3",
    "abc": "k must be a whole number from 1 to 256, got 'abc'",
}


@lru_cache(maxsize=None)
def odd_bytes(key: str) -> tuple[bytes, bytes]:
    """(file bytes, expected pixels as bytes + shape) cached: some items take a moment to encode."""
    data, px = ODD[key].make()
    return data, px


def write(folder: Path, name: str, data: bytes) -> Path:
    p = Path(folder) / name
    p.write_bytes(data)
    return p


def decode_png(path_or_bytes) -> Image.Image:
    data = Path(path_or_bytes).read_bytes() if not isinstance(path_or_bytes, bytes) else path_or_bytes
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def png_pixels(path_or_bytes) -> np.ndarray:
    """An output PNG decoded as RGB or RGBA (RGBA when it has a tRNS chunk)."""
    img = decode_png(path_or_bytes)
    assert img.format == "PNG"
    has_alpha = "transparency" in img.info or img.mode in ("RGBA", "LA", "PA")
    return np.array(img.convert("RGBA" if has_alpha else "RGB"))


def leftovers(folder: Path, keep=()) -> list[str]:
    """Files in ``folder`` other than ``keep`` (names), hidden temporary files included."""
    return sorted(p.name for p in Path(folder).iterdir() if p.name not in set(keep))


# ---------------------------------------------------------------- environment helpers
def _mount(args: list[str]) -> str | None:
    r = subprocess.run(["mount", *args], capture_output=True, text=True)
    return None if r.returncode == 0 else (r.stderr.strip() or f"mount exited {r.returncode}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@contextlib.contextmanager
def tiny_tmpfs(size: str = "64k"):
    """A folder on a ``size`` tmpfs (a full disk on demand); needs root.

    Yields ``(path, None)`` or ``(None, reason)`` when it cannot be mounted;
    unmounts in ``finally``.
    """
    d = Path(tempfile.mkdtemp(prefix="kmq-full-"))
    reason = "not root" if os.geteuid() != 0 else _mount(["-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(d)])
    try:
        yield (None, f"cannot mount a {size} tmpfs: {reason}") if reason else (d, None)
    finally:
        if not reason:
            _umount(d)
        shutil.rmtree(d, ignore_errors=True)


@contextlib.contextmanager
def read_only_folder():
    """A folder nobody can write into, root included.

    Root ignores permission bits, so as root the folder is a read-only tmpfs
    mount (writes fail with EROFS, as on a read-only share or a locked card);
    otherwise it is a mode 0555 folder. Yields ``(path, None)`` or
    ``(None, reason)``.
    """
    d = Path(tempfile.mkdtemp(prefix="kmq-ro-"))
    mounted = False
    try:
        if os.geteuid() == 0:
            reason = _mount(["-t", "tmpfs", "-o", "ro,size=16k", "tmpfs", str(d)])
            if reason:
                yield None, f"cannot mount a read-only tmpfs: {reason}"
                return
            mounted = True
        else:
            d.chmod(0o555)
        yield d, None
    finally:
        if mounted:
            _umount(d)
        else:
            d.chmod(0o755)
        shutil.rmtree(d, ignore_errors=True)


def bad_params() -> list:
    """The BAD keys as pytest parameters; known bugs are strict xfails (they flip to failures when fixed)."""
    import pytest

    return [pytest.param(key, id=key, marks=pytest.mark.xfail(strict=True, reason=item.bug)) if item.bug
            else pytest.param(key, id=key) for key, item in sorted(BAD.items())]
