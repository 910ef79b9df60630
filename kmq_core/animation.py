"""Animations: every frame quantized, with a palette that holds still.

The same pipeline as a still image, frame by frame: read (GIF, APNG, animated
WebP, streamed: one decoded frame at a time) → fit palette → remap (→ dither)
→ write (animated GIF or APNG, by the output's extension).

Palette modes (``frame_palette``):

- ``shared``: one palette for the whole animation, fitted to the histogram of
  all frames together (each frame's colours and masking weights added, as
  libimagequant's ``Histogram::add_image`` does). A colour that does not
  change keeps its index and value in every frame, so an area that holds
  still is byte-identical from frame to frame with ``none``, ``bayer`` and
  ``bluenoise`` dithering (whose pattern is tied to the pixel's position).
- ``per-frame``: each frame's palette starts from the previous one (k-means
  seeded with it); a colour that moved less than :data:`SNAP` (about a just
  noticeable difference) keeps its exact old value, so it keeps its index
  and value too. GIF only: an APNG has one palette for all its frames.

A pixel whose input did not change from the last frame keeps its label
(:func:`hold_still`): what holds still in the source holds still in the
result, whatever moves beside it.

Only the rectangle that changed from the previous frame is stored, and
frames that do not change at all are merged into one (their durations
added). A GIF is Pillow's writer's, which makes unchanged pixels inside the
rectangle transparent. An APNG is Pillow's writer's (blend "source"), or,
when smaller, kmq's own (:func:`_apng_unchanged_transparent`): frames whose
changed pixels are all opaque store the unchanged ones as the transparent
entry with blend "over".

Translucency: a GIF has one transparent colour, so translucent pixels are
made opaque or transparent (:data:`ALPHA_CUT`). An APNG's palette has an
alpha per entry (tRNS): ``fmt='PNG'`` fits colour and alpha together, k
counting entries as for a still PNG (:mod:`kmq_core.alpha`); a given
palette (no alpha) and per-frame palettes (GIF only) cut as for a GIF.

Timing (per-frame durations) and the loop count are kept, and in a GIF the
disposal of each frame. Frames are composited by Pillow as they are read
(each is the whole picture a viewer shows), so a disposal of "previous" is
written as "none" (the same picture), and a frame is disposed to the
background when the next one has transparent pixels where it had colour.
An APNG's frames replace their rectangle, alpha included (blend "source"),
or keep what is under their transparent pixels ("over": only where every
changed pixel is opaque, so "over" never mixes colours), which needs no
disposal: they are written with none.

Files others made are read as Pillow reads them and shown as browsers show
them: a GIF frame that reaches beyond the logical screen is clipped to it
(Pillow grows its canvas for it; Firefox and Chromium clip every frame after
the first); an APNG whose later frames cannot be read (frame-sequence errors,
missing frame data, a frame count that is too high) gives its default image
and a warning (:attr:`AnimationResult.warnings`), as the APNG specification
asks of decoders that meet an error.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from .colorspace import rgb_to_space, space_to_rgb, to_uint8
from .errors import FrameLimitError, KmqError, PixelLimitError
from .histogram import ColorHistogram, color_histogram, fitting_weights, reduce_histogram
from .options import (DEFAULT_BAYER_SIZE, DEFAULT_DITHER, DEFAULT_FRAME_PALETTE, DEFAULT_K, DEFAULT_LOSSY, DEFAULT_MAX_FRAMES,
                      DEFAULT_MAX_PIXELS, DEFAULT_PROFILE, DEFAULT_SEED, DEFAULT_SPACE, DEFAULT_STRENGTH,
                      check_bayer_size, check_dither, check_frame_palette, check_k, check_lock_fits, check_lossy,
                      check_space, check_strength)
from .palette import Palette
from .remapping import apply_lut, nearest_lut

#: formats whose files can hold an animation (Pillow's names)
ANIMATED_FORMATS = ("GIF", "PNG", "WEBP")
#: output extensions and what they write
OUTPUT_FORMATS = {".gif": "GIF", ".png": "PNG", ".apng": "PNG"}
#: working-space distance (Oklab×100 in ``perceptual``) below which a per-frame colour keeps
#: the previous frame's exact value: about one just-noticeable difference
SNAP = 2.0
#: Lloyd steps per frame in ``per-frame`` mode (the seeds are the last frame's colours,
#: already close: a few steps follow the change)
FRAME_ITER = 6
#: alpha at and above which a pixel of a frame is opaque (GIF has one transparent index;
#: an APNG keeps translucency when its palette is fitted for it: quantize_animation's fmt)
ALPHA_CUT = 128
#: most pixels of all frames together, as a multiple of the one-frame limit (their indices
#: are held until the file is written: 10 × 100 megapixels is 1 GB)
TOTAL_PIXELS_FACTOR = 10

_DISPOSALS = ("none", "background")  # what kmq writes; GIF numbers them 1, 2 and APNG 0, 1


@dataclass(frozen=True)
class AnimationInfo:
    """What an animated file holds, before its frames are decoded."""

    size: tuple[int, int]
    n_frames: int
    format: str
    loop: int | None


@dataclass(eq=False)
class AnimationResult:
    """Quantized frames and what is needed to write them.

    Attributes
    ----------
    labels : list of (H, W) uint8 arrays
        Palette indices per frame (transparent pixels hold ``transparent``).
    palettes : list of Palette
        One palette (``shared``) or one per frame (``per-frame``).
    durations : list of int
        Milliseconds per frame.
    disposal : list of str
        ``'none'`` or ``'background'`` per frame.
    loop : int or None
        0: loop forever; n: play n+1 times (GIF's NETSCAPE count); None: play once (no loop block).
    transparent : int or None
        The palette index of transparent pixels, when a frame has any.
    entry_alpha : (n,) uint8 array or None
        Alpha of each palette entry, when translucency was kept (an APNG's shared
        palette fitted in colour and alpha, as a still PNG's); None: the entries are opaque.
    warnings : list of str
        What a user must hear about (a damaged APNG read as its default image).
    """

    labels: list[np.ndarray]
    palettes: list[Palette]
    durations: list[int]
    disposal: list[str]
    loop: int | None
    transparent: int | None
    k: int
    frame_palette: str
    dither: str
    notes: list[str] = field(default_factory=list)
    input_bytes: int | None = None
    warnings: list[str] = field(default_factory=list)
    #: each frame's mean ΔE2000 against the source, when measured (:func:`frame_delta_e`)
    frame_delta_e: list[float] | None = None
    entry_alpha: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return len(self.labels)

    @property
    def palette(self) -> Palette:
        """The shared palette (per-frame: the first frame's)."""
        return self.palettes[0]

    def frame_palette_at(self, i: int) -> Palette:
        return self.palettes[i if len(self.palettes) > 1 else 0]

    def frame_rgba(self, i: int) -> np.ndarray:
        """Frame ``i`` as an (H, W, 4) uint8 picture."""
        cols = self.frame_palette_at(i).colors
        alpha = np.full(len(cols), 255, np.uint8) if self.entry_alpha is None else self.entry_alpha
        lut = np.concatenate([cols, alpha[:, None]], axis=1)
        lut = np.vstack([lut, np.zeros((256 - len(lut), 4), np.uint8)]) if len(lut) < 256 else lut
        if self.transparent is not None:
            lut[self.transparent] = 0
        return lut[self.labels[i]]

    def encode(self, fmt: str = "GIF") -> bytes:
        """The animation as GIF or APNG bytes (``fmt``: ``'GIF'`` or ``'PNG'``)."""
        return encode_animation(self, fmt)

    def save(self, path: str | os.PathLike, *, force: bool = True, inputs=()) -> Path:
        """Write the animation atomically; the format follows the extension (.gif, .png, .apng)."""
        from .saving import atomic_write

        return atomic_write(path, self.encode(output_format(path)), force=force, inputs=inputs)


def output_format(path: str | os.PathLike) -> str:
    """``'GIF'`` or ``'PNG'`` (APNG) for an output name, or :class:`KmqError`."""
    suffix = Path(str(path)).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise KmqError(f"{Path(str(path)).name}: an animation is written as .gif or .png (APNG); "
                       "give a name ending in one of them")
    return OUTPUT_FORMATS[suffix]


# ---------------------------------------------------------------------------- reading


@contextlib.contextmanager
def _opened(source, max_pixels: int | None):
    """The source opened by Pillow under kmq's decoding rules (kmq_core.loading)."""
    from . import loading

    fp, size, name = loading._open(source)
    label = name or "the image"
    with contextlib.closing(fp), loading._decoding(max_pixels) as said:
        img = loading._identify(fp, label, said)
        try:
            loading._check_size(img, label, max_pixels)
            yield img, label, size, said
        finally:
            img.close()


def _n_frames(img: Image.Image) -> int:
    if img.format not in ANIMATED_FORMATS:
        return 1
    return int(getattr(img, "n_frames", 1) or 1)


def probe(source, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> AnimationInfo:
    """Size, frame count, format and loop count of an image file (1 frame: a still image)."""
    from . import loading

    with _opened(source, max_pixels) as (img, label, _size, said):
        try:
            n = _n_frames(img)
        except Exception as e:
            raise loading._decode_error(e, label, img, said()) from None
        loop = img.info.get("loop")
        return AnimationInfo(img.size, n, img.format or "", int(loop) if loop is not None else None)


def is_animation(source) -> bool:
    """True when ``source`` (a path or bytes) is a GIF, APNG or WebP with more than one frame."""
    if not isinstance(source, (str, os.PathLike, bytes, bytearray)):
        return False
    try:
        return probe(source, max_pixels=None).n_frames > 1
    except KmqError:
        return False


class DamagedAnimationError(KmqError):
    """An APNG whose first frame (its default image) reads but a later one does not.

    Raised by :func:`read_frames`; :func:`quantize_animation` and
    :func:`fit_animation_palette` catch it and use the default image alone.
    """

    def __init__(self, label: str, detail: str):
        super().__init__(f"{label} is a damaged APNG ({detail})")
        self.label, self.detail = label, detail

    def __reduce__(self):  # crosses process boundaries (kmq quantize -j) with both parts
        return type(self), (self.label, self.detail)

    @property
    def warning(self) -> str:
        """The one line a user gets when the default image is used instead."""
        return f"damaged APNG ({self.detail}): using its default image, as the APNG specification asks"


@dataclass
class Frame:
    pixels: np.ndarray  # (H, W, 3) or (H, W, 4) uint8, the whole picture
    duration: int
    disposal: str


def _disposal(img: Image.Image) -> str:
    if img.format == "GIF":
        d = getattr(img, "disposal_method", 0)
        return "background" if d == 2 else "none"
    if img.format == "PNG":
        d = img.info.get("disposal", 0)
        return "background" if d == 1 else "none"
    return "none"


def read_frames(source, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, max_frames: int | None = DEFAULT_MAX_FRAMES,
                max_total_pixels: int | None | str = "auto",
                profile: str = DEFAULT_PROFILE, notes: list[str] | None = None,
                first_only: bool = False, keep_translucency: bool = False) -> Iterator[Frame]:
    """Decode an animation one frame at a time.

    Parameters
    ----------
    source : path, bytes or binary file object
    max_pixels : int or None
        Refuse frames larger than this (the still-image limit).
    max_frames : int or None
        Refuse animations with more frames (checked as they are read, so a
        hostile file's frame count is never trusted).
    max_total_pixels : int, None or 'auto'
        Refuse animations whose frames together hold more pixels ('auto':
        ``TOTAL_PIXELS_FACTOR`` × ``max_pixels``).
    profile : {'srgb', 'keep'}
        As for still images: an embedded ICC profile converts to sRGB.
    notes : list of str, optional
        Appended to: what the user should know (translucency reduced, ...).
    first_only : bool
        Stop after the first frame (a damaged APNG's default image).
    keep_translucency : bool
        Keep alpha as it is; by default it is cut at :data:`ALPHA_CUT` to
        opaque or transparent (a GIF's one transparent colour), with a note.

    Yields
    ------
    Frame
        Pixels (the composited picture), duration in ms, disposal.

    Raises
    ------
    DamagedAnimationError
        When an APNG frame after the first cannot be read, or the file holds
        fewer frames than its header says (after the frames before it).
    """
    from . import loading

    notes = notes if notes is not None else []
    if max_total_pixels == "auto":
        max_total_pixels = None if max_pixels is None else TOTAL_PIXELS_FACTOR * max_pixels
    with _opened(source, max_pixels) as (img, label, _size, said):
        # the canvas: Pillow's size at the first frame (the logical screen, grown to a first frame
        # that reaches beyond it, as browsers grow it too)
        w, h = img.size
        apng = img.format == "PNG"
        # frames as Pillow numbers them: an APNG's default image is frame 1 also when it is not part
        # of the animation (browsers do not play it then; kmq does, as before)
        declared = _n_frames(img)
        i = 0
        translucent = clipped = False

        def damaged(e: BaseException | None) -> KmqError:
            """A later APNG frame that cannot be read: damage, unless a limit or a missing codec says why."""
            if e is not None:
                cause = loading._cause(e, label, img, said())
                if cause is not None:
                    return cause
                detail = f"frame {i + 1} of {declared} cannot be read: {loading._detail(e, said())}"
            else:
                detail = f"it holds {i} frames, its header says {declared}"
            return DamagedAnimationError(label, detail)

        while True:
            if i and first_only:
                break
            try:
                if i:
                    img.seek(i)
            except EOFError:
                if apng and i < declared:  # fewer frames than acTL counts: the spec calls that an error
                    raise damaged(None) from None  # (Pillow 13 says "Truncated File Read" there instead)
                break
            except KmqError:
                raise
            except Exception as e:  # truncated or hostile data
                if apng and i:
                    raise damaged(e) from None
                raise loading._decode_error(e, label, img, said()) from None
            if max_frames is not None and i >= max_frames:
                raise FrameLimitError(f"{label} has more than {max_frames:,} frames, above the frame limit")
            if max_total_pixels is not None and (i + 1) * w * h > max_total_pixels:
                raise PixelLimitError(f"{label}: {i + 1:,} frames of {w}×{h} pixels are above the limit of "
                                      f"{max_total_pixels / 1e6:,.0f} megapixels for all frames together")
            try:
                frame_notes: list[str] = []
                px, _icc = loading.image_to_pixels(img, frame_notes, given=True, profile=profile)
                duration = int(img.info.get("duration", 0) or 0)
                disposal = _disposal(img)
            except KmqError:
                raise
            except Exception as e:
                if apng and i:
                    raise damaged(e) from None
                raise loading._decode_error(e, label, img, said()) from None
            if px.shape[:2] != (h, w):
                if img.format != "GIF" or px.shape[0] < h or px.shape[1] < w:
                    raise KmqError(f"{label}: frame {i + 1} is {px.shape[1]}×{px.shape[0]}, not {w}×{h}")
                # Pillow grew its canvas (right and down) for a frame that reaches beyond the logical
                # screen; Firefox and Chromium clip such a frame to the screen, and so does kmq
                if not clipped:
                    clipped = True
                    notes.append(f"frame {i + 1} reaches beyond the {w}×{h} logical screen: clipped to it, "
                                 "as browsers show it")
                px = np.ascontiguousarray(px[:h, :w])
            if px.shape[2] == 4 and not keep_translucency:
                a = px[..., 3]
                if not translucent and ((a > 0) & (a < 255)).any():
                    translucent = True
                    notes.append(f"translucent pixels made opaque or transparent (alpha {ALPHA_CUT} and up is "
                                 "opaque): a GIF holds one transparent colour, and an APNG keeps translucency only "
                                 "with a shared palette fitted to it")
                px = px.copy()
                px[..., 3] = np.where(a >= ALPHA_CUT, 255, 0).astype(np.uint8)
            yield Frame(px, duration, disposal)
            i += 1
        if i == 0:
            raise KmqError(f"{label} has no frames")


# ---------------------------------------------------------------------------- fitting


def merge_histograms(a: ColorHistogram | None, b: ColorHistogram) -> ColorHistogram:
    """One histogram of two images' pixels: counts and weights added per colour."""
    if a is None:
        return b
    codes = np.concatenate([a.codes, b.codes])
    uniq, inv = np.unique(codes, return_inverse=True)
    counts = np.bincount(inv, weights=np.concatenate([a.counts, b.counts]), minlength=len(uniq))
    weights = None
    if a.weights is not None and b.weights is not None:
        weights = np.bincount(inv, weights=np.concatenate([a.weights, b.weights]), minlength=len(uniq))
    return ColorHistogram(uniq.astype(np.uint32), np.rint(counts).astype(np.int64), weights)


def frame_histogram(pixels: np.ndarray, k: int, space: str) -> ColorHistogram:
    """A frame's histogram with the fitting weights a still image of it would have."""
    return color_histogram(pixels, weights=fitting_weights(pixels, k, space))


def continue_palette(previous: np.ndarray, hist: ColorHistogram, k: int, *, space: str, seed: int = DEFAULT_SEED,
                     n_locked: int = 0, snap: float = SNAP) -> np.ndarray:
    """The next frame's palette, started from the last one.

    k-means on the frame's histogram, seeded with ``previous`` (and with
    k-means++ seeds when it has fewer than ``k`` colours); colours that moved
    less than ``snap`` working-space units keep their old value exactly, and
    every colour keeps its index. The first ``n_locked`` never move.
    Returns an (n, 3) uint8 array, n ≤ k, starting with ``previous``'s indices.
    """
    from .fitting import _cell_bits, _seed_with_opencv, _weighted_lloyd

    previous = np.asarray(previous, np.uint8).reshape(-1, 3)
    if len(hist) == 0:
        return previous.copy()
    bits = _cell_bits(k, len(hist))[1] if space != "rgb" else 8
    pts, w = reduce_histogram(hist, bits)
    x = rgb_to_space(pts, space).astype(np.float64)
    old = rgb_to_space(previous, space).astype(np.float64)
    if len(previous) < k and len(pts) > len(previous):
        rng = np.random.default_rng(int(seed) & 0xFFFFFFFF)
        centres = _seed_with_opencv(x, w, min(k, len(previous) + len(pts)), old, rng)
    else:
        centres = old.copy()
    centres = _weighted_lloyd(x, w, centres, n_locked, max_iter=FRAME_ITER)
    new = to_uint8(space_to_rgb(centres, space))
    moved = np.sqrt(((rgb_to_space(new[:len(previous)], space) - old) ** 2).sum(1))
    keep = moved < snap
    new[:len(previous)][keep] = previous[keep]
    return new


# ---------------------------------------------------------------------------- the pipeline


def quantize_animation(
    source,
    k: int = DEFAULT_K,
    *,
    space: str = DEFAULT_SPACE,
    dither: str = DEFAULT_DITHER,
    seed: int = DEFAULT_SEED,
    lock=None,
    palette: Palette | np.ndarray | None = None,
    frame_palette: str = DEFAULT_FRAME_PALETTE,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_frames: int | None = DEFAULT_MAX_FRAMES,
    max_total_pixels: int | None | str = "auto",
    profile: str = DEFAULT_PROFILE,
    lossy: float = DEFAULT_LOSSY,
    strength: float = DEFAULT_STRENGTH,
    bayer_size: int | None = None,
    fmt: str | None = None,
) -> AnimationResult:
    """Quantize every frame of an animated GIF, APNG or WebP.

    Parameters
    ----------
    source : path, bytes or binary file object
        The animation (a still image gives a one-frame result).
    k : int
        Colours per palette, 1 to 256; a transparent pixel takes one of them.
    space, dither, seed, lock, lossy, strength, profile, max_pixels
        As for :func:`kmq_core.pipeline.quantize`.
    palette : Palette or N×3 uint8, optional
        Apply this palette to every frame instead of fitting one.
    frame_palette : {'shared', 'per-frame'}
        One palette for all frames, or one per frame started from the last
        (see the module notes). Default ``shared``, chosen by measurement
        (benchmarks/anim.py).
    max_frames, max_total_pixels
        Refuse longer animations (checked while reading; see :func:`read_frames`).
    bayer_size : int, optional
        Bayer matrix side for ``dither='bayer'`` (2, 4 or 8; default 8).
    fmt : {'GIF', 'PNG', None}
        What the result will be written as. ``'PNG'`` (APNG), with a shared
        palette fitted here: translucent pixels keep their alpha, colour and
        alpha fitted together into k entries as for a still PNG
        (:mod:`kmq_core.alpha`; not dithered, as a translucent still), and
        :attr:`AnimationResult.entry_alpha` holds each entry's alpha. Otherwise
        (GIF, a given palette, per-frame palettes) alpha is cut at
        :data:`ALPHA_CUT` to one transparent colour, with a note.

    Returns
    -------
    AnimationResult
    """
    from .fitting import fit_palette
    from .palette import as_lock
    from .remapping import remap

    space = check_space(space)
    dither = check_dither(dither)
    frame_palette = check_frame_palette(frame_palette)
    lossy = check_lossy(lossy)
    strength = check_strength(strength)
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise KmqError(f"seed must be a whole number, got {seed!r}") from None
    given = None
    if palette is not None:
        given = palette if isinstance(palette, Palette) else Palette(np.asarray(palette, np.uint8).reshape(-1, 3))
        if len(given) > 256:
            raise KmqError(f"an animation's palette holds at most 256 colours, got {len(given)}")
        k = len(given)
        frame_palette = "shared"
    else:
        k = check_k(k)
    locked = as_lock(lock)
    check_lock_fits(len(locked), k)
    if fmt is not None and fmt.upper() not in ("GIF", "PNG"):
        raise KmqError(f"cannot write an animation as {fmt}: .gif or .png (APNG)")
    keep_translucency = fmt is not None and fmt.upper() == "PNG" and given is None and frame_palette == "shared"
    remap_kw = dict(space=space, dither=dither, lossy=lossy, strength=strength,
                    bayer_size=check_bayer_size(DEFAULT_BAYER_SIZE if bayer_size is None else bayer_size))
    read_kw = dict(max_pixels=max_pixels, max_frames=max_frames, max_total_pixels=max_total_pixels, profile=profile,
                   keep_translucency=keep_translucency)
    input_bytes = _input_bytes(source)
    opened = _reopener(source)

    def run(read_kw: dict) -> AnimationResult:
        notes: list[str] = []
        durations: list[int] = []
        disposal: list[str] = []
        has_t: list[bool] = []

        def frames(first: bool) -> Iterator[Frame]:
            for fr in read_frames(opened(), notes=notes if first else [], **read_kw):
                if first:
                    has_t.append(fr.pixels.shape[2] == 4 and bool((fr.pixels[..., 3] == 0).any()))
                    durations.append(fr.duration)
                    disposal.append(fr.disposal)
                yield fr

        labels: list[np.ndarray] = []
        entry_alpha = None
        if frame_palette == "shared":
            # pass 1: the palette, from all frames' histograms (a given palette needs none); pass 2: the labels
            hist_all = None
            if given is not None:
                pal = given
                transparent_any = any(fr.pixels.shape[2] == 4 and bool((fr.pixels[..., 3] == 0).any())
                                      for fr in read_frames(opened(), notes=[], **read_kw))
            else:
                pal, transparent_any, hist_all, rgba_fit = _fit_shared(opened, k, space, seed, locked, read_kw)
                if rgba_fit is not None:  # translucent frames for an APNG: colour and alpha fitted together
                    codes, idx, entry_alpha = rgba_fit
            if transparent_any and len(pal) >= 256:
                raise KmqError("a palette of 256 colours leaves no index for the animation's transparent pixels: "
                               "use at most 255")
            transparent = len(pal) if transparent_any else None
            palettes = [pal]
            # every frame's colours are in the histogram of all frames: their nearest palette colours
            # are looked up once, in one table (the same choice remap makes frame by frame)
            lut = nearest_lut(hist_all, pal.colors, space) if hist_all is not None else None
            last = None
            for fr in frames(True):
                if entry_alpha is not None:
                    from .alpha import rgba_labels

                    px = _with_alpha(fr.pixels)
                    lab = rgba_labels(px, codes, idx)
                    if transparent is not None:
                        lab[px[..., 3] == 0] = transparent
                else:
                    lab = _labels(fr.pixels, pal.colors, k, transparent, remap_kw, remap, lut)
                if last is not None:
                    hold_still(last[0], labels[-1], fr.pixels, lab)
                labels.append(lab)
                last = (fr.pixels,)
        else:
            # one pass; one index is kept free in every frame's palette: for transparent pixels,
            # or for the writer's "unchanged" pixels
            k_fit = max(1, k - 1)
            palettes = []
            prev = last_px = None
            for i, fr in enumerate(frames(True)):
                hist = frame_histogram(fr.pixels, k_fit, space)
                if len(hist) == 0:
                    cols = prev if prev is not None else np.zeros((1, 3), np.uint8)
                elif prev is None:
                    cols = fit_palette(None, k_fit, space=space, seed=seed, lock=locked, histogram=hist).colors
                else:
                    cols = continue_palette(prev, hist, k_fit, space=space, seed=seed + i, n_locked=len(locked))
                lab = _labels(fr.pixels, cols, k_fit, k_fit, remap_kw, remap)
                if prev is not None and last_px is not None:
                    same = np.zeros(256, bool)  # indices whose colour this frame's palette kept exactly
                    n = min(len(prev), len(cols))
                    same[:n] = (prev[:n] == cols[:n]).all(1)
                    same[k_fit] = True  # the transparent index
                    hold_still(last_px, labels[-1], fr.pixels, lab, same)
                prev = cols
                last_px = fr.pixels
                palettes.append(Palette(cols))
                labels.append(lab)
            transparent = k_fit if any(has_t) else None
        # a frame is disposed to the background when the next one is transparent where it had colour
        if transparent is not None:
            for i in range(len(labels) - 1):
                if has_t[i + 1] and ((labels[i + 1] == transparent) & (labels[i] != transparent)).any():
                    disposal[i] = "background"
        loop = probe(opened(), max_pixels=max_pixels).loop
        return AnimationResult(labels, palettes, durations, disposal, loop, transparent, k, frame_palette,
                               dither if entry_alpha is None else "none",  # translucent: not dithered
                               notes, input_bytes, entry_alpha=entry_alpha)

    try:
        return run(read_kw)
    except DamagedAnimationError as e:
        # the APNG specification: a decoder that meets an error shows the default image (the first
        # frame Pillow reads); browsers do so, and kmq quantizes it alone and says why
        res = run({**read_kw, "first_only": True})
        res.loop = None
        res.warnings.append(e.warning)
        return res


def _fit_shared(opened, k: int, space: str, seed: int, locked, read_kw: dict):
    """The shared palette: ``(palette, transparent_any, hist_all, rgba_fit)``.

    ``rgba_fit`` is None, or, when translucency is kept (``read_kw``) and a frame has
    translucent pixels, ``(codes, idx, entry_alpha)``: the distinct RGBA values of all
    frames, each one's palette entry (:func:`kmq_core.alpha.rgba_labels`) and each
    entry's alpha; ``hist_all`` is then None.
    """
    from .fitting import fit_palette

    hist_all = None
    transparent_any = translucent_any = False
    for fr in read_frames(opened(), notes=[], **read_kw):
        if fr.pixels.shape[2] == 4:
            a = fr.pixels[..., 3]
            transparent_any |= bool((a == 0).any())
            translucent_any |= bool(((a > 0) & (a < 255)).any())
        hist_all = merge_histograms(hist_all, frame_histogram(fr.pixels, k, space))
    if hist_all is None or len(hist_all) == 0:
        # every frame is fully transparent: nothing to fit, and no refusal (a still image that is
        # fully transparent gives a transparent PNG too): one colour, used by no pixel
        return Palette(np.zeros((1, 3), np.uint8), np.zeros(1)), True, None, None
    k_fit = max(1, k - transparent_any)
    if translucent_any:  # only when read_kw keeps it (else alpha is 0 or 255)
        return _fit_shared_rgba(opened, k, k_fit, space, seed, locked, read_kw, transparent_any)
    pal = fit_palette(None, k_fit, space=space, seed=seed, lock=locked, histogram=hist_all)
    return pal, transparent_any, hist_all, None


def _fit_shared_rgba(opened, k: int, k_fit: int, space: str, seed: int, locked, read_kw: dict, transparent_any: bool):
    """:func:`_fit_shared` for translucent frames: k_fit RGBA entries fitted to all frames'
    (colour, alpha) together, each frame weighted as a still image of it (kmq_core.alpha)."""
    from .alpha import fit_rgba_histogram, merge_rgba_histograms, rgba_histogram

    hist = None
    for fr in read_frames(opened(), notes=[], **read_kw):
        px = _with_alpha(fr.pixels)
        hist = merge_rgba_histograms(hist, rgba_histogram(px, fitting_weights(px, k, space)))
    codes, rgba, counts, wts = hist
    pal, idx, share = fit_rgba_histogram(rgba, counts, wts, k_fit, space=space, seed=seed, lock=locked)
    return Palette(pal[:, :3], share / max(share.sum(), 1)), transparent_any, None, (codes, idx, pal[:, 3].copy())


def _with_alpha(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 4): an opaque alpha added to a frame without one."""
    if pixels.shape[2] == 4:
        return pixels
    return np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)])


def fit_animation_palette(source, k: int = DEFAULT_K, *, space: str = DEFAULT_SPACE, seed: int = DEFAULT_SEED,
                          lock=None, max_pixels: int | None = DEFAULT_MAX_PIXELS,
                          max_frames: int | None = DEFAULT_MAX_FRAMES, profile: str = DEFAULT_PROFILE) -> Palette:
    """The shared palette of an animation: k colours (one fewer when a frame has transparent
    pixels) fitted to all frames together. ``quantize_animation(source, palette=...)`` applies
    it; so does :func:`kmq_core.pipeline.quantize` to one frame."""
    from .palette import as_lock

    locked = as_lock(lock)
    k = check_k(k)
    check_lock_fits(len(locked), k)
    read_kw = dict(max_pixels=max_pixels, max_frames=max_frames, profile=profile)
    opened = _reopener(source)
    try:
        return _fit_shared(opened, k, check_space(space), int(seed), locked, read_kw)[0]
    except DamagedAnimationError:  # as quantize_animation: the default image alone
        return _fit_shared(opened, k, check_space(space), int(seed), locked, {**read_kw, "first_only": True})[0]


def frame_delta_e(source, result: AnimationResult, **read_kw) -> list[float]:
    """Each frame's mean CIEDE2000 against the source's frame (visible pixels), read afresh
    frame by frame (``read_kw`` as for :func:`read_frames`)."""
    from .metrics import label_errors

    out = []
    read_kw.setdefault("keep_translucency", result.entry_alpha is not None)
    try:
        for i, fr in enumerate(read_frames(source, **read_kw)):
            if i >= result.n_frames:
                break
            colors = np.zeros((256, 3), np.uint8)  # the transparent index may lie past the palette
            pal = result.frame_palette_at(i).colors
            colors[:len(pal)] = pal
            out.append(label_errors(fr.pixels, result.labels[i], colors)[1])
    except DamagedAnimationError:  # the result holds the default image alone, as the source is read
        if not out:
            raise
    return out


def hold_still(prev_pixels: np.ndarray, prev_labels: np.ndarray, pixels: np.ndarray, labels: np.ndarray,
               kept: np.ndarray | None = None) -> np.ndarray:
    """Where a pixel of the input did not change from the last frame, its label does not either.

    The dithering map, the masking weights and the rate-aware labels look at a pixel's
    neighbours, so a still pixel beside a moving one could otherwise change (flicker) and
    enlarge the rectangle the frame stores. ``kept``: per palette index, whether its colour is
    the same as in the last frame's palette (per-frame palettes); default all. ``labels`` is
    changed in place and returned.
    """
    if prev_pixels.shape != pixels.shape:
        return labels
    still = (prev_pixels == pixels).all(axis=2)
    if kept is not None:
        still &= kept[prev_labels]
    labels[still] = prev_labels[still]
    return labels


def _labels(pixels: np.ndarray, colors: np.ndarray, k: int, transparent: int | None, remap_kw: dict,
            remap, lut: np.ndarray | None = None) -> np.ndarray:
    if lut is None:
        labels = remap(pixels, colors, k=k, **remap_kw)
    else:
        from .dithering import refine_labels

        labels = apply_lut(pixels, lut)
        if remap_kw["dither"] != "none" or remap_kw["lossy"] > 0:
            labels = refine_labels(pixels, colors, labels, k=k, **remap_kw)
    if transparent is not None and pixels.shape[2] == 4:
        labels[pixels[..., 3] == 0] = transparent
    return labels


def _input_bytes(source) -> int | None:
    if isinstance(source, (str, os.PathLike)):
        with contextlib.suppress(OSError):
            return os.path.getsize(source)
    if isinstance(source, (bytes, bytearray)):
        return len(source)
    return None


def _reopener(source):
    """A callable that gives the source afresh for each pass over the frames (a file object
    is read once, into memory; its name is kept for messages)."""
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise KmqError("the file object must be opened in binary mode")
        name = getattr(source, "name", None)

        def again():
            buf = io.BytesIO(bytes(data))
            if name:
                buf.name = name
            return buf
        return again
    return lambda: source


# ---------------------------------------------------------------------------- writing


def _pil_frame(res: AnimationResult, i: int) -> Image.Image:
    pal = res.frame_palette_at(i)
    im = Image.fromarray(res.labels[i], "P")
    flat = pal.colors.reshape(-1).tolist()
    n = len(pal)
    if res.transparent is not None:
        flat += [0, 0, 0] * (res.transparent + 1 - n)
        n = res.transparent + 1
    im.putpalette(flat, "RGB")
    if res.entry_alpha is not None:
        im.info["transparency"] = _png_entries(res)[:, 3].tobytes()  # tRNS: one alpha per entry
    elif res.transparent is not None:
        im.info["transparency"] = res.transparent
    return im


def _png_entries(res: AnimationResult) -> np.ndarray:
    """The shared palette as the PNG stores it: (m, 4) uint8 entries, colour and alpha, the
    transparent index (when there is one) among them as (0, 0, 0, 0)."""
    cols = res.palette.colors
    alpha = np.full(len(cols), 255, np.uint8) if res.entry_alpha is None else res.entry_alpha
    rgba = np.column_stack([cols, alpha]).astype(np.uint8)
    if res.transparent is not None:
        rgba = np.vstack([rgba, np.zeros((res.transparent + 1 - len(rgba), 4), np.uint8)])
        rgba[res.transparent] = 0
    return rgba


def _all_same(res: AnimationResult) -> bool:
    """Whether every frame shows the same picture as the first (stops at the first that does not)."""
    first = res.frame_rgba(0)
    return all(np.array_equal(first, res.frame_rgba(i)) for i in range(1, res.n_frames))


def encode_animation(res: AnimationResult, fmt: str = "GIF") -> bytes:
    """Encode an :class:`AnimationResult` as an animated GIF or APNG.

    GIF: Pillow's writer. APNG: Pillow's writer (each frame's changed rectangle,
    blend "source"), or, when smaller, :func:`_apng_unchanged_transparent`'s
    (unchanged pixels transparent, blend "over"): both are written and the
    smaller is kept.
    """
    fmt = fmt.upper()
    buf = io.BytesIO()
    durations = [max(d, 0) for d in res.durations]
    if fmt == "GIF":
        if res.entry_alpha is not None and (res.entry_alpha < 255).any():
            raise KmqError("this animation was quantized with translucent colours for an APNG; a GIF has one "
                           "transparent colour: quantize it for a GIF (fmt='GIF') or write a .png")
        frames = [_pil_frame(res, i) for i in range(res.n_frames)]
        disposal: list[int] | int = [2 if d == "background" else 1 for d in res.disposal]
        if _all_same(res):
            # Pillow merges frames that show the same picture; when all of them are one, it writes that
            # one as a still and needs one disposal, not a list (a list is a TypeError in its writer)
            disposal = disposal[0]
        kw = dict(save_all=True, append_images=frames[1:], duration=durations, optimize=True, disposal=disposal)
        if res.transparent is not None:
            kw["transparency"] = res.transparent
        if res.loop is not None:
            kw["loop"] = res.loop
        if len(res.palettes) == 1:
            # one global colour table: without it Pillow gives every frame a local copy (up to
            # 768 bytes a frame, which doubles a small screen recording)
            kw["palette"] = bytes(frames[0].getpalette("RGB"))
        frames[0].save(buf, "GIF", **kw)
    elif fmt == "PNG":
        if len(res.palettes) > 1:
            raise KmqError("an APNG holds one palette for all its frames: write a .gif for per-frame "
                           "palettes, or use the shared palette")
        frames = [_pil_frame(res, i) for i in range(res.n_frames)]
        # each frame replaces its rectangle, alpha included (blend "source"): what was transparent
        # becomes transparent again without a disposal to the background, which Pillow's
        # writer cannot do for palette frames
        kw = dict(save_all=True, append_images=frames[1:], duration=durations, loop=res.loop or 0,
                  disposal=0, blend=0, optimize=True, compress_level=9)
        if "transparency" in frames[0].info:
            kw["transparency"] = frames[0].info["transparency"]
        frames[0].save(buf, "PNG", **kw)
        over = _apng_unchanged_transparent(res, durations)
        if over is not None and len(over) < buf.tell():
            return over
    else:
        raise KmqError(f"cannot write an animation as {fmt}: .gif or .png (APNG)")
    return buf.getvalue()


# ---------------------------------------------------------------------------- APNG, unchanged pixels transparent

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_BLEND_SOURCE, _BLEND_OVER = 0, 1


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def _png_chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = len(_PNG_SIGNATURE)
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        yield png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        pos += 12 + n


def _encoded(labels: np.ndarray, entries: np.ndarray) -> list[tuple[bytes, bytes]]:
    """``labels`` as a still indexed PNG by Pillow's writer (the same settings as the APNG's),
    as its chunks."""
    im = Image.fromarray(np.ascontiguousarray(labels), "P")
    im.putpalette(entries[:, :3].tobytes(), "RGB")
    buf = io.BytesIO()
    alpha = entries[:, 3]
    trns = alpha[:int(np.flatnonzero(alpha < 255).max()) + 1]  # tRNS may stop at the last entry not opaque
    im.save(buf, "PNG", transparency=trns.tobytes(), optimize=True, compress_level=9)
    return list(_png_chunks(buf.getvalue()))


def _apng_unchanged_transparent(res: AnimationResult, durations: list[int]) -> bytes | None:
    """The APNG with each frame's unchanged pixels transparent, where that is smaller.

    Every frame after the first stores the rectangle of the pixels that changed from the last
    frame (its labels), either as they are with blend "source" (as Pillow's writer stores
    them), or, when every changed pixel is opaque, with the unchanged ones as the transparent
    entry and blend "over", which leaves what the canvas holds there (the same picture) and
    makes long runs of one index for deflate: whichever deflates smaller, frame by frame. Pixels that
    change to translucent or transparent need "source": "over" would mix them with the canvas.
    The transparent entry is the animation's own, or one more entry after the palette (an
    opaque animation's, as Pillow's GIF writer adds one for its unchanged pixels).

    Entries that are not opaque come first, so that the tRNS chunk stops early.

    Written here, not by Pillow's writer: that one finds each frame's rectangle by comparing the
    frames it is given, so frames with holes would be compared with holes (a "source" frame
    after one would leave pixels that must change), and it cannot choose the blend per frame
    by size. Each frame's pixel data is still Pillow's (a still PNG of the rectangle), moved
    into fdAT chunks. None when there is no room for the transparent entry (256 opaque
    colours), the frames merge into one, or no frame is smaller with "over" (the file would
    be Pillow's).
    """
    from fractions import Fraction

    entries = _png_entries(res)
    hole = res.transparent
    if hole is None:
        if len(entries) >= 256:
            return None
        hole = len(entries)
        entries = np.vstack([entries, np.zeros((1, 4), np.uint8)])
    # entries not opaque first, so that tRNS stops early (as kmq_core.saving writes a still PNG)
    order = np.argsort(entries[:, 3] == 255, kind="stable")
    renumber = np.zeros(256, np.uint8)
    renumber[order] = np.arange(len(order), dtype=np.uint8)
    entries, hole = entries[order], int(renumber[hole])
    labels = [renumber[lab] for lab in res.labels]
    opaque = np.zeros(256, bool)
    opaque[:len(entries)] = entries[:, 3] == 255
    h, w = res.labels[0].shape
    # (x, y, width, height, blend, pixel data) and duration per frame
    frames: list[list] = [[0, 0, w, h, _BLEND_SOURCE, labels[0], durations[0]]]
    prev = labels[0]
    for i in range(1, res.n_frames):
        lab = labels[i]
        changed = lab != prev
        if not changed.any():
            total = frames[-1][6] + durations[i]
            if Fraction(total / 1000).limit_denominator(65535).numerator <= 65535:
                frames[-1][6] = total  # the same picture: one frame, shown longer
                continue
            changed = np.zeros_like(changed)
            changed[0, 0] = True  # a one-pixel frame that changes nothing
        rows = np.flatnonzero(changed.any(1))
        cols = np.flatnonzero(changed.any(0))
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        crop, ch = lab[y0:y1, x0:x1], changed[y0:y1, x0:x1]
        blend, pixels = _BLEND_SOURCE, crop
        if opaque[crop[ch]].all() and not ch.all():
            holes = np.where(ch, crop, np.uint8(hole)).astype(np.uint8)
            # which deflates smaller, told by zlib (level 1) on the bare indices (about a ms a frame; Pillow's
            # PNG encoding of both would cost as much as the whole file again)
            if len(zlib.compress(holes.tobytes(), 1)) < len(zlib.compress(crop.tobytes(), 1)):
                blend, pixels = _BLEND_OVER, holes
        frames.append([x0, y0, x1 - x0, y1 - y0, blend, pixels, durations[i]])
        prev = lab
    if len(frames) == 1 or all(f[4] == _BLEND_SOURCE for f in frames):
        return None  # Pillow's writer stores the same rectangles
    head, depth = None, None
    for f in frames:
        chunks = _encoded(f[5], entries)
        if head is None:  # IHDR, PLTE, tRNS, and IHDR's bit depth, which every frame must be stored with
            head, depth = [c for c in chunks if c[0] not in (b"IDAT", b"IEND")], chunks[0][1][8]
        elif chunks[0][1][8] != depth:  # pragma: no cover - the same palette gives the same depth
            return None
        f[5] = b"".join(d for t, d in chunks if t == b"IDAT")
    out = [_PNG_SIGNATURE, *(_png_chunk(t, d) for t, d in head),
           _png_chunk(b"acTL", struct.pack(">II", len(frames), res.loop or 0))]
    seq = 0
    for j, (x, y, fw, fh, blend, data, ms) in enumerate(frames):
        delay = Fraction(ms / 1000).limit_denominator(65535)
        if delay.numerator > 65535:
            raise KmqError(f"cannot write a frame of {ms} ms in an APNG")
        out.append(_png_chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, fw, fh, x, y, delay.numerator,
                                                   delay.denominator, 0, blend)))
        seq += 1
        if j == 0:
            out.append(_png_chunk(b"IDAT", data))  # the first frame is the default image too
        else:
            for k in range(0, len(data), 1 << 20):
                out.append(_png_chunk(b"fdAT", struct.pack(">I", seq) + data[k:k + (1 << 20)]))
                seq += 1
    out.append(_png_chunk(b"IEND", b""))
    return b"".join(out)
