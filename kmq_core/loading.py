"""Load any image Pillow can open as an 8-bit sRGB(A) numpy array.

Every mode is converted on purpose, never by accident: 1/L/P/LA/CMYK to
RGB(A), 16-bit and 32-bit integer greys scaled (not clipped) to 8 bits, float
greys read as 0..1 linear-coded values (the TIFF convention) and clipped.

Transparency of every kind is kept: an alpha channel (LA, PA, RGBA, 16-bit
alpha, premultiplied RGBa and La, which are un-premultiplied), a palette's
alpha, and a single transparent colour: PNG's tRNS on 1, L (any bit depth),
I;16 and RGB (8 or 16 bits), GIF's transparent index, a 32-bit BMP's alpha:
the alpha its bit fields declare (a V4/V5 header's alpha mask, as Pillow and
Firefox read it, even when it is zero everywhere), or the fourth byte of a
plain 32-bit BMP, which is only "reserved" there: alpha unless it is zero
everywhere (then the file is opaque, as browsers show it).

An embedded ICC profile is applied after the conversion to 8 bits, the same
way for every mode (:mod:`kmq_core.colour_management`; CMYK goes through its
profile instead of the naive formula); EXIF and text are kept for the PNG
(:mod:`kmq_core.metadata`).

EXIF orientation is applied. Of a file that holds several images kmq uses
the one a viewer shows first and says so in a note: the first frame of an
animation, the first page of a TIFF, the first picture of an MPO (the camera's
main image), the composite of a layered Photoshop file.

Bombs are refused without allocating their pixels: the header's pixel count is
checked before decoding, and Pillow's own check runs at kmq's limit for the
images nested inside a file (an ICO's or ICNS's frames). Every refusal is one
:class:`~kmq_core.errors.KmqError` line that names the real cause: a missing
codec or helper program, the pixel limit, or damage, with the decoder's own
words. C libraries (libtiff) print those words on the process's stderr; they
are captured (:mod:`kmq_core._stderr`) and become part of the error, or a note
when the decode still succeeds.
"""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import BmpImagePlugin, Image, ImageFile, UnidentifiedImageError, features

from . import _stderr
from .colour_management import to_working_space
from .errors import KmqError, PixelLimitError
from .metadata import read_metadata
from .options import DEFAULT_MAX_PIXELS, DEFAULT_PROFILE, check_profile

#: file name endings kmq looks for when given a folder
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif")

ImageSource = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO, np.ndarray, Image.Image]

# Pillow logs decoder complaints ("More samples per pixel than can be
# decoded") through logging; without a handler Python prints them on stderr,
# which would break the one-line error promise. kmq reports problems itself.
logging.getLogger("PIL").addHandler(logging.NullHandler())
logging.getLogger("PIL").propagate = False
_log = logging.getLogger(__name__)

_NOT_AN_IMAGE = "is not an image kmq can read (PNG, JPEG, WebP, TIFF, BMP, GIF)"


@dataclass
class LoadedImage:
    """Pixels ready for quantization plus what a user should know about them.

    Attributes
    ----------
    pixels : (H, W, 3) or (H, W, 4) uint8 array
        8-bit sRGB (or in ``icc_profile`` when that was kept), with straight
        (not premultiplied) alpha when there is one.
    mode : str
        The source's Pillow mode (``'I;16'``, ``'CMYK'``, ...), or ``'array'``.
    format : str or None
        The file format (``'PNG'``, ``'JPEG'``, ...).
    file_size : int or None
        Size of the encoded input in bytes, when it came from a file or bytes.
    notes : list of str
        Conversions a user may want to hear about (first frame of an animation,
        16-bit reduced to 8 bits, CMYK converted, what the decoder warned, ...).
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


# ---------------------------------------------------------------- opening


def _open(source) -> tuple[BinaryIO, int | None, str | None]:
    """The source as a binary file object, its size in bytes and its file name."""
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
    else:
        raise KmqError(f"cannot load an image from {type(source).__name__}")
    if size == 0:
        fp.close()
        raise KmqError(f"{name or 'the file'} is empty (0 bytes)")
    return fp, size, name


@contextlib.contextmanager
def _decoding(max_pixels: int | None):
    """The conditions every decode runs under; yields what C libraries printed so far.

    fd 2 is captured (see :mod:`kmq_core._stderr`); Pillow's bomb check runs
    at kmq's limit, its warning raised as an error, so a bomb nested inside a
    file (an ICO's frame) is stopped before its pixels are allocated. Pillow's
    other warnings (metadata) are not the user's business. Both settings are
    process-wide: they are changed under the capture's lock.
    """
    with _stderr.captured_stderr() as said, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        old = Image.MAX_IMAGE_PIXELS, BmpImagePlugin.USE_RAW_ALPHA
        Image.MAX_IMAGE_PIXELS = max_pixels
        # a plain 32-bit BMP's fourth byte is alpha when any pixel has it non-zero: browsers read it so,
        # and Pillow writes RGBA that way; image_to_pixels reads an all-zero one as opaque (bit fields
        # with an alpha mask are RGBA in Pillow whatever this says, and kmq keeps their alpha)
        BmpImagePlugin.USE_RAW_ALPHA = True
        try:
            yield said
        finally:
            Image.MAX_IMAGE_PIXELS, BmpImagePlugin.USE_RAW_ALPHA = old


#: formats Pillow needs a plug-in or codec for: (signature test, what it is, why it cannot be read here)
_NEEDS_CODEC: list[tuple[Callable[[bytes], bool], str, Callable[[], str | None]]] = [
    (lambda h: h[4:8] == b"ftyp" and h[8:12] in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1"),
     "a HEIF/HEIC image", lambda: "Pillow reads HEIF only with the pillow-heif plug-in"),
    (lambda h: h[:2] == b"\xff\x0a" or h[:12] == b"\0\0\0\x0cJXL \r\n\x87\n",
     "a JPEG XL image", lambda: "Pillow has no JPEG XL decoder"),
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP",
     "a WebP image", lambda: None if features.check("webp") else "this Pillow build has no WebP codec"),
    (lambda h: h[4:8] == b"ftyp" and h[8:12] in (b"avif", b"avis"),
     "an AVIF image", lambda: None if features.check("avif") else "this Pillow build has no AVIF codec"),
    (lambda h: h[:12] == b"\0\0\0\x0cjP  \r\n\x87\n" or h[:4] == b"\xff\x4f\xff\x51",
     "a JPEG 2000 image", lambda: None if features.check("jpg_2000") else "this Pillow build has no JPEG 2000 codec"),
]


def _unidentified(fp: BinaryIO, label: str) -> KmqError:
    """Why Pillow could not identify the file: a known format without its codec, or not an image."""
    with contextlib.suppress(Exception):
        fp.seek(0)
        head = fp.read(16)
        for test, what, why in _NEEDS_CODEC:
            if test(head) and (reason := why()):
                return KmqError(f"{label} is {what}: {reason}")
    return KmqError(f"{label} {_NOT_AN_IMAGE}")


#: formats without a signature, tried after every format that has one
_LOOSE = ("TGA",)


def _formats() -> list[str]:
    """Every registered format, those with a real signature first.

    Pillow tries formats in the order their plug-ins registered, and Pillow 13
    registers the plug-in of a file name's extension first: after a process
    opened a ``.tga`` by name, TGA's loose header test would claim ICO files.
    """
    Image.init()
    return [f for f in Image.ID if f not in _LOOSE] + [f for f in Image.ID if f in _LOOSE]


def _identify(fp: BinaryIO, label: str, said: Callable[[], str]) -> Image.Image:
    """``Image.open`` (header only, for most formats) with every failure named."""
    try:
        return Image.open(fp, formats=_formats())
    except UnidentifiedImageError:
        raise _unidentified(fp, label) from None
    except Exception as e:  # Pillow's plug-ins raise many types on hostile headers
        cause = _cause(e, label, None, said())
        if cause is not None:
            raise cause from None
        raise KmqError(f"{label} cannot be read as an image: {_detail(e, said())}") from None


# ---------------------------------------------------------------- what went wrong

#: libtiff's codec names as users know them
_CODEC_NAMES = {"WEBP": "WebP", "ZSTD": "Zstandard", "LZMA": "LZMA", "JBIG": "JBIG", "LERC": "LERC",
                "JPEG": "JPEG", "OJPEG": "old-style JPEG", "DEFLATE": "Deflate", "LZW": "LZW"}


def _decoder_words(text: str) -> str:
    """What a C library printed, as one short phrase: first message, and how many more."""
    lines = []
    for line in text.splitlines():
        # Pillow opens libtiff on a stream it names "tempfile.tif": not the user's file name
        line = re.sub(r"^tempfile\.tif:\s*", "", line.strip()).rstrip(".")
        if line and line not in lines:
            lines.append(line)
    if not lines:
        return ""
    first = lines[0] if len(lines[0]) <= 160 else lines[0][:157] + "..."
    return first + (f" (and {len(lines) - 1} more {'message' if len(lines) == 2 else 'messages'})"
                    if len(lines) > 1 else "")


def _detail(e: BaseException, said: str) -> str:
    """The decoder's words, then Pillow's (unless Pillow only says 'decoder error -2')."""
    words = _decoder_words(said)
    own = str(e).strip()
    if isinstance(e, OSError) and e.errno == errno.EINVAL:
        own = "an offset in it points outside the file"  # a seek past the end, not an OS failure
    elif re.fullmatch(r"decoder error -?\d+", own) and words:
        own = ""
    return "; ".join(x for x in (words, own) if x) or type(e).__name__


def _limit_message(label: str, w: int | None, h: int | None, pixels: int, max_pixels: int, inside: bool) -> str:
    size = f"{w}×{h} = " if w is not None else ""
    where = "an image inside it of " if inside else ""
    return (f"{label} has {where}{size}{pixels / 1e6:.1f} megapixels, more than the limit of "
            f"{max_pixels / 1e6:g} megapixels")


def _bomb(e: BaseException, label: str, img: Image.Image | None) -> PixelLimitError:
    """kmq's pixel-limit error for a bomb that Pillow's own check stopped."""
    # Pillow's message has only the pixel count; the size it checked is a local of the
    # failed check's frame, and the frame that called it tells whether the file's own
    # image (Image.open) or one nested inside it (an ICO's frame, an ICNS's JPEG 2000)
    w = h = None
    inside = True
    tb, caller = e.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_name == "_decompression_bomb_check":
            size = tb.tb_frame.f_locals.get("size")
            if isinstance(size, tuple) and len(size) == 2:
                w, h = (int(v) for v in size)
            inside = caller is None or caller.f_code.co_name not in ("open", "_open_core") or img is not None
        caller = tb.tb_frame
        tb = tb.tb_next
    m = re.search(r"\((\d+) pixels\)", str(e))
    pixels = w * h if w is not None else int(m.group(1)) if m else 0
    return PixelLimitError(_limit_message(label, w, h, pixels, Image.MAX_IMAGE_PIXELS or 0, inside))


def _cause(e: BaseException, label: str, img: Image.Image | None, said: str) -> KmqError | None:
    """A refusal that names what is missing or too large, when that is the cause; else None."""
    if isinstance(e, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return _bomb(e, label, img)
    if isinstance(e, MemoryError):
        return KmqError(f"{label} is too large to decode in the memory available")
    fmt = img.format if img is not None else None
    text = f"{e} {said}"
    if fmt == "EPS" and "Ghostscript" in text:
        return KmqError(f"{label} is an EPS file: reading it needs Ghostscript (the gs command), which is not installed")
    m = re.search(r"(\w+) compression support is not configured", said)
    if m:
        codec = _CODEC_NAMES.get(m.group(1).upper(), m.group(1))
        return KmqError(f"{label} is a TIFF compressed with {codec}: this Pillow/libtiff build has no {codec} codec")
    return None


def _decode_error(e: BaseException, label: str, img: Image.Image | None, said: str) -> KmqError:
    return _cause(e, label, img, said) or KmqError(
        f"{label} is damaged or truncated and cannot be decoded ({_detail(e, said)})")


# ---------------------------------------------------------------- frames, orientation, modes

_ANIMATED = ("GIF", "PNG", "WEBP", "FLI", "AVIF")
_PAGED = ("TIFF", "DCX", "MIC", "FPX")
#: EXIF orientation -> the transpose that shows the image upright (the EXIF 2.3 table, as in ImageOps)
_ORIENTATION = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


def _frames_note(img: Image.Image, given: bool) -> str | None:
    """Which of a multi-image file's images kmq uses, in the file's own terms.

    A file opened by kmq is on its first image, which is the one viewers show:
    no seek (Pillow numbers PSD layers from 1 and keeps the composite before
    them, so ``seek(0)`` fails there). A PIL image passed in is used on the
    frame it is on.
    """
    fmt = img.format
    if fmt == "PSD":
        if given:
            return None  # Pillow's tell() cannot tell the composite from layer 1
        with contextlib.suppress(Exception):  # damaged layer records do not spoil the composite
            layers = len(img.layers)
            if layers > 1:
                return f"Photoshop file with {layers} layers: using the composite image"
        return None
    n = getattr(img, "n_frames", 1) or 1
    if n <= 1:
        return None
    frame = img.tell() if given else 0
    if fmt == "MPO":
        kind, noun = "multi-picture JPEG (MPO)", "pictures"
    elif fmt in _ANIMATED:
        kind, noun = "animated image", "frames"
    elif fmt in _PAGED:
        kind, noun = f"multi-page {fmt}", "pages"
    else:
        kind, noun = f"{fmt or 'the'} file with several images", "images"
    which = f"the first of {n} {noun}" if frame == 0 else f"number {frame + 1} of {n} {noun} (the one it is on)"
    return f"{kind}: using {which}"


def _orientation(img: Image.Image) -> int:
    with contextlib.suppress(Exception):  # broken EXIF is ignored, as viewers do
        return int(img.getexif().get(0x0112, 1))
    return 1


def _rawmode(img: Image.Image) -> str | None:
    """How the file stores its samples ('L;4', 'RGB;16B', ...), known before decoding only."""
    with contextlib.suppress(Exception):
        args = img.tile[0].args if img.tile else None
        if isinstance(args, tuple):
            args = args[0] if args else None
        return args if isinstance(args, str) else None
    return None


#: where a BMP's info header starts: after the 14-byte file header (a .dib has none)
_BMP_INFO_AT = {"BMP": 14, "DIB": 0}


def _bmp_declares_alpha(img: Image.Image, rawmode: str | None) -> bool:
    """Whether a 32-bit BMP's header declares an alpha channel: BI_BITFIELDS with an alpha mask.

    Then its alpha is alpha even when it is zero everywhere (a fully transparent
    image, as Pillow and Firefox show it). A plain (BI_RGB) 32-bit BMP calls its
    fourth byte reserved: read as alpha only when some pixel has it non-zero.
    Called before ``img.load()``: it may read the header.
    """
    if img.format not in _BMP_INFO_AT or img.mode != "RGBA" or img.info.get("compression") != 3:
        return False
    if rawmode != "BGRA":
        return True  # Pillow reads RGBA from bit fields only through an alpha mask (ABGR, RGBA, BGAR)
    # BGRA is both the masks (ff0000, ff00, ff, ff000000) and masks that are all zero; Pillow keeps
    # the masks to itself, so the alpha mask is read from the header (V4/V5: at byte 52 of the info header)
    try:
        fp = img.fp
        at = fp.tell()
        try:
            fp.seek(_BMP_INFO_AT[img.format])
            head = fp.read(56)
        finally:
            fp.seek(at)
        return (len(head) == 56 and struct.unpack_from("<I", head, 0)[0] >= 56
                and struct.unpack_from("<I", head, 52)[0] != 0)
    except Exception:  # no file to read (a PIL image whose file is closed): trust Pillow's mode
        return True


def _png16_alpha(data: bytes, shape: tuple[int, int]) -> np.ndarray | None:
    """Alpha of a 16-bit RGB PNG with a tRNS colour, decoded by libpng (through OpenCV).

    Pillow reduces 16-bit RGB to 8 bits and keeps the 16-bit key, which no
    8-bit pixel can equal: it would drop the transparency. libpng turns tRNS
    into an alpha channel at full depth.
    """
    import cv2

    a = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if a is None or a.ndim != 3 or a.shape[2] != 4 or a.shape[:2] != shape:
        return None
    return (a[:, :, 3] >> 8).astype(np.uint8)


def _grey_key(t: object, rawmode: str | None) -> int | None:
    """An L image's tRNS grey as the 8-bit value Pillow decoded it to.

    PNG stores the key at the file's bit depth; Pillow scales 2- and 4-bit
    samples to 0-255 but not the key. libpng masks the key to the bit depth,
    and so does kmq.
    """
    if not isinstance(t, int) or isinstance(t, bool):
        return None
    bits = {"L;1": 1, "L;2": 2, "L;4": 4}.get((rawmode or "").rstrip("I"), 8)
    top = (1 << bits) - 1
    return (t & top) * 255 // top


def _to_8bit(img: Image.Image, notes: list[str], rawmode: str | None = None,
             data: Callable[[], bytes] | None = None) -> Image.Image:
    """Convert any Pillow mode to RGB or RGBA (8-bit), deliberately, transparency kept.

    ``rawmode`` is the file's sample layout (:func:`_rawmode`), ``data`` gives
    the file's bytes; both are only needed for PNG's tRNS at odd bit depths.
    """
    mode = img.mode
    t = img.info.get("transparency")
    if mode == "RGBA":
        return img
    if mode in ("1", "L"):
        key = _grey_key(t, "L;1" if mode == "1" else rawmode)
        if key is None:
            return img.convert("RGB")
        if key != t:
            img = img.copy()  # the caller's image keeps its info
            img.info["transparency"] = key
        return img.convert("RGBA")  # Pillow's convert_transparent: the key colour becomes alpha 0
    if mode == "RGB":
        if not (isinstance(t, tuple) and len(t) == 3):
            return img
        if max(t) <= 255:
            return img.convert("RGBA")
        alpha = None
        if data is not None and (rawmode or "").startswith("RGB;16"):
            with contextlib.suppress(Exception):
                alpha = _png16_alpha(data(), (img.height, img.width))
        if alpha is None:
            # no 16-bit samples to compare (a PIL image passed in): match the 8 bits Pillow kept
            notes.append("16-bit transparent colour matched on its top 8 bits")
            key = np.array([v >> 8 for v in t], np.uint8)
            alpha = np.where((np.asarray(img) == key).all(axis=2), 0, 255).astype(np.uint8)
        rgba = img.convert("RGBA")
        rgba.putalpha(Image.fromarray(alpha, "L"))
        return rgba
    if mode == "LA":
        return img.convert("RGBA")
    if mode == "La":
        return img.convert("LA").convert("RGBA")  # Pillow un-premultiplies La only to LA
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
    if mode in ("YCbCr", "LAB", "HSV", "RGBX"):
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
        bands = [g, g, g]
        if mode != "F" and isinstance(t, int) and not isinstance(t, bool):
            bands.append(np.where(a == t, 0, 255).astype(np.uint8))  # tRNS compared at full depth
        return Image.fromarray(np.dstack(bands), "RGBA" if len(bands) == 4 else "RGB")
    if mode in ("RGB;16", "BGR;16", "BGR;15", "BGR;24"):
        return img.convert("RGB")
    try:
        return img.convert("RGBA" if "A" in mode else "RGB")
    except Exception:
        raise KmqError(f"unsupported image mode {mode!r}") from None


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


#: modes whose samples are grey levels: a grey (GRAY) ICC profile applies to them
_GREY_MODES = ("1", "L", "LA", "La", "I", "F")


def _colour_managed(img: Image.Image, rgb: Image.Image, notes: list[str],
                    profile: str) -> tuple[Image.Image, bytes | None]:
    """Apply ``img``'s embedded ICC profile to its 8-bit RGB(A) conversion ``rgb``.

    The profile is applied after :func:`_to_8bit`, so every mode gets it the
    same way, 16-bit and float included, with transparency already turned
    into alpha (a tRNS key compared before the colours move). A grey profile
    is applied to the grey levels of a grey source. CMYK is handled before
    (see :func:`image_to_pixels`).
    """
    icc = img.info.get("icc_profile")
    if not icc:
        return rgb, None
    if img.mode in _GREY_MODES or img.mode.startswith("I;16"):
        # the grey levels with their profile: to_working_space applies a GRAY profile to L/LA
        grey = rgb.getchannel("R")
        work = Image.merge("LA", (grey, rgb.getchannel("A"))) if rgb.mode == "RGBA" else grey
        work.info["icc_profile"] = icc
        out, kept = to_working_space(work, notes, profile)
        if out is work:  # not a grey profile (ignored with a note), or kept: the RGB(A) as it was
            return rgb, kept
        return out, kept
    if rgb is not img:
        # rgb is kmq's own new image (the caller's PIL image is never touched)
        rgb.info["icc_profile"] = icc
    return to_working_space(rgb, notes, profile)


def image_to_pixels(img: Image.Image, notes: list[str], *, given: bool = False,
                    data: Callable[[], bytes] | None = None,
                    profile: str = DEFAULT_PROFILE) -> tuple[np.ndarray, bytes | None]:
    """Decode an opened PIL image into 8-bit sRGB(A) pixels: the one path every source takes.

    Frame choice, decoding, mode conversion (transparency kept), the
    embedded ICC profile (:mod:`kmq_core.colour_management`), EXIF
    orientation, in that order. ``img`` is not modified (a PIL image passed
    in stays as it was, but loaded). Run it under :func:`_decoding`.

    Parameters
    ----------
    img : PIL.Image.Image
        Opened (lazily) by kmq, or given by the caller (``given=True``: its
        current frame is used).
    notes : list of str
        Appended to: what a user should know about the conversion.
    data : callable, optional
        Returns the encoded file, for the rare mode that needs a second decoder.
    profile : {'srgb', 'keep'}
        An embedded ICC profile converts the pixels to sRGB, or is kept.

    Returns
    -------
    pixels : (H, W, 3) or (H, W, 4) uint8 array
    icc_profile : bytes or None
        The profile the pixels are in when it was kept, else None (sRGB).
    """
    profile = check_profile(profile)
    note = _frames_note(img, given)
    if note:
        notes.append(note)
    rawmode = _rawmode(img)
    declared = _bmp_declares_alpha(img, rawmode)  # before load: it reads the header
    img.load()
    orientation = _orientation(img)
    icc = None
    rgb = None
    if img.mode == "CMYK" and img.info.get("icc_profile"):
        # CMYK through its profile (littleCMS), before _to_8bit's naive formula can run
        out, icc = to_working_space(img, notes, profile)
        if out.mode != "CMYK":
            rgb = out
    if rgb is None:
        rgb = _to_8bit(img, notes, rawmode, data)
        if img.mode != "CMYK":
            rgb, icc = _colour_managed(img, rgb, notes, profile)
    if orientation in _ORIENTATION:
        rgb = rgb.transpose(_ORIENTATION[orientation])
    px = np.ascontiguousarray(_pixels_of(rgb), dtype=np.uint8)
    if px.shape[2] == 4:
        lo = px[:, :, 3].min()
        if lo == 255:
            px = np.ascontiguousarray(px[:, :, :3])  # an alpha channel that is all opaque adds nothing
        elif img.format in ("BMP", "DIB") and not declared and px[:, :, 3].max() == 0:
            # 32-bit BMP writers often leave the reserved fourth byte zero; browsers show such files opaque
            notes.append("BMP alpha channel is zero everywhere: read as opaque, as browsers show it")
            px = np.ascontiguousarray(px[:, :, :3])
    return px, icc


def _decoder_note(said: str) -> str | None:
    """A note for what a C library printed during a decode that still succeeded."""
    words = _decoder_words(said)
    if not words:
        return None
    _log.info("decoder output while loading: %s", said.strip())
    if all(": Warning, " in line or not line.strip() for line in said.splitlines()):
        return f"the decoder warned: {words}"
    return f"the decoder reported errors, parts of the image may be wrong: {words}"


# ---------------------------------------------------------------- the public entry point


def load_image(source: ImageSource, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               profile: str = DEFAULT_PROFILE) -> LoadedImage:
    """Load an image as 8-bit sRGB(A).

    Parameters
    ----------
    source : path, bytes, binary file object, PIL image or numpy array
        The image. A PIL image is used as it is (its mode, palette,
        transparency and current frame), without re-encoding. Arrays must be
        uint8 (H×W grey, H×W×3 RGB or H×W×4 RGBA) and are sRGB.
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
    profile = check_profile(profile)
    if isinstance(source, np.ndarray):
        px = as_pixels(source)
        _check_pixels(px.shape[1], px.shape[0], max_pixels, None)
        notes = []
        if np.asarray(source).ndim == 2 or (np.asarray(source).ndim == 3 and np.asarray(source).shape[2] == 1):
            # an index array (np.asarray of a 'P' image) looks the same: only the caller knows
            notes.append("2-D array read as grey levels (for palette indices, pass the PIL image instead)")
        return LoadedImage(px, notes=notes)
    if isinstance(source, Image.Image):
        return _load_pil(source, max_pixels, profile)
    fp, size, name = _open(source)
    label = name or "the image"

    def data() -> bytes:
        fp.seek(0)
        return fp.read()

    with contextlib.closing(fp), _decoding(max_pixels) as said:
        img = _identify(fp, label, said)
        try:
            notes: list[str] = []
            src_mode, fmt = img.mode, img.format
            _check_size(img, label, max_pixels)
            try:
                px, icc = image_to_pixels(img, notes, data=data, profile=profile)
                metadata = read_metadata(img)  # EXIF (orientation dropped: applied) and text, for the PNG
            except KmqError:
                raise
            except Exception as e:  # truncated or hostile data: Pillow raises OSError, TypeError, IndexError, ...
                raise _decode_error(e, label, img, said()) from None
            note = _decoder_note(said())
            if note:
                notes.append(note)
        finally:
            img.close()
    return LoadedImage(px, mode=src_mode, format=fmt, file_size=size, notes=notes, name=name,
                       icc_profile=icc, metadata=metadata)


def _load_pil(img: Image.Image, max_pixels: int | None, profile: str = DEFAULT_PROFILE) -> LoadedImage:
    """A PIL image handed in by the caller: decoded on its current frame, never re-encoded, not closed."""
    filename = getattr(img, "filename", None)
    name = Path(filename).name if isinstance(filename, str) and filename else None
    label = name or "the image"
    notes: list[str] = []
    with _decoding(max_pixels) as said:
        src_mode, fmt = img.mode, img.format
        _check_size(img, label, max_pixels)
        try:
            px, icc = image_to_pixels(img, notes, given=True, profile=profile)
            metadata = read_metadata(img)
        except KmqError:
            raise
        except Exception as e:
            raise _decode_error(e, label, img, said()) from None
        note = _decoder_note(said())
        if note:
            notes.append(note)
    return LoadedImage(px, mode=src_mode, format=fmt, file_size=None, notes=notes, name=name,
                       icc_profile=icc, metadata=metadata)


def _check_size(img: Image.Image, label: str, max_pixels: int | None) -> None:
    if isinstance(img, ImageFile.StubImageFile) and getattr(img, "_handler", None) is None:
        # GRIB, BUFR, HDF5, WMF: Pillow identifies them and leaves decoding to a plug-in it lacks
        raise KmqError(f"{label} is a {img.format} file: Pillow identifies it but has no decoder for it "
                       "(it needs a separate plug-in)")
    w, h = img.size
    if w == 0 or h == 0:
        raise KmqError(f"{label} is empty ({w}×{h} pixels)")
    _check_pixels(w, h, max_pixels, label)


def _check_pixels(w: int, h: int, max_pixels: int | None, label: str | None) -> None:
    if max_pixels is not None and w * h > max_pixels:
        raise PixelLimitError(_limit_message(label or "the image", w, h, w * h, max_pixels, False))
