"""Load any image Pillow can open as an 8-bit sRGB(A) numpy array.

Every mode is converted on purpose, never by accident: 1/L/P/LA/CMYK to
RGB(A), 16-bit and 32-bit integer greys scaled (not clipped) to 8 bits, float
greys read as 0..1 linear-coded values (the TIFF convention) and clipped.
EXIF orientation is applied, animated files use their first frame and say so,
and the pixel count is checked from the header before anything is decoded, so
a decompression bomb is refused without allocating its pixels.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .colour_management import to_working_space
from .errors import KmqError, PixelLimitError
from .metadata import read_metadata
from .options import DEFAULT_MAX_PIXELS, DEFAULT_PROFILE

#: file name endings kmq looks for when given a folder
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif")

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO, np.ndarray, Image.Image]

# Pillow logs decoder complaints ("More samples per pixel than can be
# decoded") through logging; without a handler Python prints them on stderr,
# which would break the one-line error promise. kmq reports problems itself.
logging.getLogger("PIL").addHandler(logging.NullHandler())
logging.getLogger("PIL").propagate = False


@dataclass
class LoadedImage:
    """Pixels ready for quantization plus what a user should know about them.

    Attributes
    ----------
    pixels : (H, W, 3) or (H, W, 4) uint8 array
        8-bit sRGB, with straight (not premultiplied) alpha when there is one.
    mode : str
        The source's Pillow mode (``'I;16'``, ``'CMYK'``, ...), or ``'array'``.
    format : str or None
        The file format (``'PNG'``, ``'JPEG'``, ...).
    file_size : int or None
        Size of the encoded input in bytes, when it came from a file or bytes.
    notes : list of str
        Conversions a user may want to hear about (first frame of an animation,
        16-bit reduced to 8 bits, CMYK converted, ...).
    """

    pixels: np.ndarray
    mode: str = "array"
    format: str | None = None
    file_size: int | None = None
    notes: list[str] = field(default_factory=list)
    name: str | None = None
    #: the ICC profile the pixels are in when it was kept (``profile='keep'``); None: sRGB
    icc_profile: bytes | None = None
    #: EXIF and text carried to the output unless stripped (kmq_core.metadata)
    metadata: dict = field(default_factory=dict)

    @property
    def has_alpha(self) -> bool:
        return self.pixels.ndim == 3 and self.pixels.shape[2] == 4


def as_pixels(array: np.ndarray) -> np.ndarray:
    """Validate an in-memory image: H×W, H×W×3 or H×W×4 uint8 -> H×W×3|4 uint8.

    A grey H×W (or H×W×1) array becomes RGB; H×W×2 is grey+alpha.
    """
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        raise KmqError(f"image arrays must be uint8, got {a.dtype} (scale to 0-255 first)")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 2:
        a = np.concatenate([np.repeat(a[:, :, :1], 3, axis=2), a[:, :, 1:]], axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise KmqError(f"image arrays must be H×W, H×W×3 or H×W×4, got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise KmqError(f"the image is empty ({a.shape[1]}×{a.shape[0]} pixels)")
    return np.ascontiguousarray(a)


def _open(source) -> tuple[Image.Image, int | None, str | None]:
    name = None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name
        if not path.exists():
            raise KmqError(f"no such file: {path}")
        if path.is_dir():
            raise KmqError(f"{path} is a folder, not an image")
        try:
            # Pillow reads from the file as it decodes: the encoded bytes are
            # never held in memory beside the decoded pixels
            fp: BinaryIO = open(path, "rb")
            size = os.fstat(fp.fileno()).st_size
        except OSError as e:
            raise KmqError(f"cannot read {path}: {e.strerror or e}") from None
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        size = len(data)
        fp = io.BytesIO(data)
    elif hasattr(source, "read"):
        name = Path(str(getattr(source, "name", "") or "")).name or None
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise KmqError("the file object must be opened in binary mode")
        size = len(data)
        fp = io.BytesIO(bytes(data))
    elif isinstance(source, Image.Image):  # a PIL image: used as it is (a copy), no file
        return source.copy(), None, Path(str(getattr(source, "filename", "") or "")).name or None
    else:
        raise KmqError(f"cannot load an image from {type(source).__name__}")
    if size == 0:
        fp.close()
        raise KmqError(f"{name or 'the file'} is empty (0 bytes)")
    # our own limit (max_pixels) is checked before decoding; Pillow's global
    # bomb check would refuse valid 100 MP images with its own wording
    old = Image.MAX_IMAGE_PIXELS
    try:
        Image.MAX_IMAGE_PIXELS = None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's metadata warnings are not the user's business
            img = Image.open(fp)
    except UnidentifiedImageError:
        fp.close()
        raise KmqError(f"{name or 'the file'} is not an image kmq can read (PNG, JPEG, WebP, TIFF, BMP, GIF)") from None
    except MemoryError:
        fp.close()
        raise KmqError(f"{name or 'the file'} is too large to open in the memory available") from None
    except Exception as e:  # Pillow's plug-ins raise many types on hostile headers
        fp.close()
        raise KmqError(f"{name or 'the file'} cannot be read as an image: {e}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = old
    return img, size, name


def _pixels_of(img: Image.Image) -> np.ndarray:
    """Copy a decoded RGB(A) image into numpy a strip at a time.

    ``np.asarray(img)`` goes through ``tobytes()``, which holds the encoded
    chunks and their join at once: two extra full copies of a 177 MB photo.
    Strips keep the extra memory to a few megabytes.
    """
    w, h = img.size
    bands = len(img.getbands())
    out = np.empty((h, w, bands), np.uint8)
    rows = max(1, (1 << 22) // max(1, w * bands))
    for y in range(0, h, rows):
        out[y:y + rows] = np.asarray(img.crop((0, y, w, min(h, y + rows)))).reshape(-1, w, bands)
    return out


def _to_8bit(img: Image.Image, notes: list[str]) -> Image.Image:
    """Convert any Pillow mode to RGB or RGBA (8-bit), deliberately."""
    mode = img.mode
    if mode in ("RGB", "RGBA"):
        return img
    if mode in ("1", "L"):
        return img.convert("RGB")
    if mode == "LA" or mode == "La":
        return img.convert("RGBA")
    if mode in ("P", "PA"):
        has_t = "transparency" in img.info or mode == "PA"
        if not has_t and img.palette is not None and img.palette.mode == "RGBA":
            has_t = True
        return img.convert("RGBA" if has_t else "RGB")
    if mode == "RGBa":
        return img.convert("RGBA")
    if mode == "CMYK":
        notes.append("CMYK converted to RGB (naive conversion, no ICC profile)")
        return img.convert("RGB")
    if mode in ("YCbCr", "LAB", "HSV"):
        return img.convert("RGB")
    if mode.startswith("I;16") or mode == "I" or mode == "F":
        a = np.asarray(img)
        if mode.startswith("I;16"):
            # 16-bit grey: 65535 -> 255, rounding (same as dividing by 257)
            notes.append("16-bit grey reduced to 8 bits")
            g = (a.astype(np.uint32) * 255 + 32767) // 65535
        elif mode == "I":
            # 32-bit int: Pillow uses it for 16-bit PNG/TIFF greys; values
            # above 65535 only come from true 32-bit data, scaled by its max.
            hi = int(a.max()) if a.size else 0
            top = 65535 if hi > 255 else 255
            if hi > 65535:
                top = hi
            if top > 255:
                notes.append(f"{'16' if top == 65535 else '32'}-bit grey reduced to 8 bits")
            g = (a.astype(np.float64) * (255.0 / top)).round()
        else:
            # float grey: 0.0-1.0 is the convention of float TIFFs; values
            # outside are clipped, NaN becomes 0.
            notes.append("float grey read as 0.0-1.0 and reduced to 8 bits")
            g = np.rint(np.nan_to_num(a.astype(np.float64), nan=0.0) * 255.0)
        g = np.clip(g, 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(g[:, :, None], 3, axis=2), "RGB")
    if mode in ("RGB;16", "BGR;16", "BGR;15", "BGR;24"):
        return img.convert("RGB")
    try:
        return img.convert("RGBA" if "A" in mode else "RGB")
    except Exception:
        raise KmqError(f"unsupported image mode {mode!r}") from None


def load_image(source: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               profile: str = DEFAULT_PROFILE) -> LoadedImage:
    """Load an image as 8-bit sRGB(A).

    Parameters
    ----------
    source : path, bytes, binary file object, PIL.Image.Image or numpy array
        The image. Arrays must be uint8 (H×W, H×W×3 or H×W×4) and are sRGB.
    max_pixels : int or None
        Refuse images with more pixels than this (checked from the header,
        before decoding). ``None`` disables the check.
    profile : {'srgb', 'keep'}
        An embedded ICC profile converts the pixels to sRGB (default), or is
        kept as ``LoadedImage.icc_profile`` (see :mod:`kmq_core.colour_management`).

    Returns
    -------
    LoadedImage
    """
    if isinstance(source, LoadedImage):
        return source
    if isinstance(source, np.ndarray):
        px = as_pixels(source)
        _check_pixels(px.shape[1], px.shape[0], max_pixels, None)
        return LoadedImage(px)
    img, size, name = _open(source)
    label = name or "the image"
    try:
        fmt = img.format
        w, h = img.size
        if w == 0 or h == 0:
            raise KmqError(f"{label} is empty ({w}×{h} pixels)")
        _check_pixels(w, h, max_pixels, label)
        notes: list[str] = []
        src_mode = img.mode
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                n_frames = getattr(img, "n_frames", 1) or 1
                if n_frames > 1:
                    notes.append(f"animated image: using the first of {n_frames} frames")
                    img.seek(0)
                img.load()
                # in place: without it Pillow returns a full copy even when there is nothing to turn
                ImageOps.exif_transpose(img, in_place=True)
                # ---- issue 17: metadata to carry over, ICC profile -> sRGB (or kept) ----
                metadata = read_metadata(img)
                img, icc = to_working_space(img, notes, profile)
                # ----
                img = _to_8bit(img, notes)
                px = _pixels_of(img)
        except KmqError:
            raise
        except MemoryError:
            raise KmqError(f"{label} is too large to decode in the memory available") from None
        except Exception as e:  # truncated or hostile data: Pillow raises OSError, TypeError, IndexError, ...
            raise KmqError(f"{label} is damaged or truncated and cannot be decoded ({e})") from None
        px = np.ascontiguousarray(px, dtype=np.uint8)
        if px.ndim == 3 and px.shape[2] == 4 and px[:, :, 3].min() == 255:
            px = np.ascontiguousarray(px[:, :, :3])  # an alpha channel that is all opaque adds nothing
        return LoadedImage(px, mode=src_mode, format=fmt, file_size=size, notes=notes, name=name,
                           icc_profile=icc, metadata=metadata)
    finally:
        img.close()


def _check_pixels(w: int, h: int, max_pixels: int | None, label: str | None) -> None:
    if max_pixels is not None and w * h > max_pixels:
        raise PixelLimitError(
            f"{label or 'the image'} has {w}×{h} = {w * h / 1e6:.1f} megapixels, more than the limit of "
            f"{max_pixels / 1e6:g} megapixels"
        )
