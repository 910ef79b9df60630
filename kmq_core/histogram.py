"""Colour histograms: the image reduced to its distinct colours and counts.

Everything after loading works on distinct colours, not on pixels: a 12
megapixel photo rarely has more than a million distinct colours and the fit
uses far fewer (see :func:`reduce_histogram`), so only one linear pass over
the pixels is ever made per step, in row chunks so that memory stays bounded
whatever the image size. The pass packs each RGB pixel into a 24-bit integer
and counts by sorting them (numpy sorts 12 million uint32 in about 50 ms).

This module owns the counting: packing colours into codes
(:func:`pack_rgb`, :func:`unpack_rgb`), the :class:`ColorHistogram` value,
counting with or without per-pixel weights (:func:`color_histogram`,
:func:`fitting_histogram`) and merging colours into cells
(:func:`reduce_histogram`). Which palette colour serves each histogram colour
is :mod:`kmq_core.nearest`'s business (:func:`kmq_core.nearest.assign_histogram`);
the chunk sizes are in :mod:`kmq_core.tuning`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .tuning import CHUNK_PIXELS, COLOR_CHUNK, TABLE_PIXELS, WEIGHTED_CHUNK_PIXELS

#: number of 24-bit colour codes
N_CODES = 1 << 24


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """H×W×3|4 (or N×3|4) uint8 -> 24-bit codes ``r | g << 8 | b << 16`` as uint32.

    OpenCV adds the fourth byte (one multithreaded pass) so that the pixels
    can be viewed as little-endian uint32 without any arithmetic per channel.
    """
    a = np.asarray(rgb)
    shape = a.shape[:-1]
    flat = np.ascontiguousarray(a.reshape(-1, 1, a.shape[-1]))
    if flat.shape[-1] == 3:
        flat = cv2.cvtColor(flat, cv2.COLOR_RGB2RGBA) if len(flat) else np.zeros((0, 1, 4), np.uint8)
    else:
        flat = flat.copy()  # never change the caller's pixels in the masking below
    codes = flat.view("<u4").reshape(shape)
    codes &= 0xFFFFFF
    return codes


def unpack_rgb(codes: np.ndarray) -> np.ndarray:
    """24-bit codes -> N×3 uint8."""
    codes = np.asarray(codes, dtype=np.uint32)
    out = np.empty(codes.shape + (3,), np.uint8)
    out[..., 0] = codes & 255
    out[..., 1] = (codes >> 8) & 255
    out[..., 2] = codes >> 16
    return out


def _unique_counts(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their counts (numpy's sort is a fast radix/SIMD sort)."""
    if codes.size == 0:
        return codes.astype(np.uint32), np.zeros(0, np.int64)
    s = np.sort(codes)
    starts = np.empty(len(s), bool)
    starts[0] = True
    np.not_equal(s[1:], s[:-1], out=starts[1:])
    first = np.flatnonzero(starts)
    return s[first], np.diff(np.append(first, len(s))).astype(np.int64)


def row_chunks(height: int, width: int, pixels: int = CHUNK_PIXELS):
    """Yield row slices covering the image, about ``pixels`` pixels each."""
    rows = max(1, pixels // max(1, width))
    for y in range(0, height, rows):
        yield slice(y, min(height, y + rows))


@dataclass
class ColorHistogram:
    """Distinct colours of an image and how many pixels have each.

    Attributes
    ----------
    codes : (N,) uint32 array
        The distinct colours as packed 24-bit codes, ascending.
    counts : (N,) int64 array
        Pixels per colour (pixels with alpha 0 are not counted).
    weights : (N,) float64 array or None
        Summed per-pixel weights per colour (e.g. how visible an error is
        there: :func:`kmq_core.contrast.masking_weights`); what the fit
        minimises. None: every pixel counts 1.
    """

    codes: np.ndarray
    counts: np.ndarray
    weights: np.ndarray | None = None
    #: the nearest-palette-colour memo of :func:`kmq_core.nearest.assign_histogram`
    #: (one palette and space at a time), kept with the colours it labels
    _assigned: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def colors(self) -> np.ndarray:
        return unpack_rgb(self.codes)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def __len__(self) -> int:
        return len(self.codes)


def _codes_of(block: np.ndarray, wts: np.ndarray | None = None):
    codes = pack_rgb(block[..., :3]).ravel()
    if wts is not None:
        wts = np.asarray(wts, np.float32).ravel()
    if block.shape[-1] == 4:
        keep = block[..., 3].ravel() > 0
        codes = codes[keep]
        if wts is not None:
            wts = wts[keep]
    return codes if wts is None else (codes, wts)


def _unique_weighted(codes: np.ndarray, wts: np.ndarray):
    """Sorted distinct values, their counts and their summed weights.

    Each weight (0..1) is kept to 8 bits and packed below its 24-bit colour
    code, so one sort of uint32 (numpy's fast radix sort) groups the colours
    and carries their weights along; 1/255 is far finer than the weights mean.
    """
    if codes.size == 0:
        return codes.astype(np.uint32), np.zeros(0, np.int64), np.zeros(0)
    w8 = np.clip(np.rint(wts * 255.0), 1, 255).astype(np.uint32)
    key = np.sort((codes.astype(np.uint32) << np.uint32(8)) | w8)
    code = key >> np.uint32(8)
    starts = np.empty(len(key), bool)
    starts[0] = True
    np.not_equal(code[1:], code[:-1], out=starts[1:])
    first = np.flatnonzero(starts)
    sums = np.add.reduceat((key & np.uint32(255)).astype(np.float64), first) / 255.0
    return code[first], np.diff(np.append(first, len(key))).astype(np.int64), sums


def _weighted_histogram(pixels: np.ndarray, weights) -> ColorHistogram:
    h, w = pixels.shape[:2]
    table = None
    parts = []
    # smaller chunks than counting alone: the masking maps of a chunk and the
    # packed sort keys hold ~60 bytes per pixel
    for rows in row_chunks(h, w, WEIGHTED_CHUNK_PIXELS):
        wt = weights(rows) if callable(weights) else np.asarray(weights)[rows]
        c, n, s = _unique_weighted(*_codes_of(pixels[rows], wt))
        if h * w > TABLE_PIXELS:
            if table is None:
                table = (np.zeros(N_CODES, np.uint32), np.zeros(N_CODES, np.float32))
            table[0][c] += n.astype(np.uint32)
            table[1][c] += s.astype(np.float32)
        else:
            parts.append((c, n, s))
    if table is not None:
        nz = np.flatnonzero(table[0]).astype(np.uint32)
        return ColorHistogram(nz, table[0][nz].astype(np.int64), table[1][nz].astype(np.float64))
    if len(parts) == 1:
        return ColorHistogram(*parts[0])
    allc = np.concatenate([p[0] for p in parts])
    order = np.argsort(allc, kind="stable")
    allc = allc[order]
    alln = np.concatenate([p[1] for p in parts])[order]
    alls = np.concatenate([p[2] for p in parts])[order]
    if not len(allc):
        return ColorHistogram(allc, alln, alls)
    starts = np.flatnonzero(np.concatenate([[True], allc[1:] != allc[:-1]]))
    return ColorHistogram(allc[starts], np.add.reduceat(alln, starts), np.add.reduceat(alls, starts))


def color_histogram(pixels: np.ndarray, weights=None) -> ColorHistogram:
    """Count the distinct colours of an H×W×3|4 uint8 image.

    Fully transparent pixels (alpha 0) take no part: their colour is invisible.
    Small images are counted by sorting; large ones into a table of all 2**24
    colours (64 MB), so memory stays bounded however many colours there are.
    ``weights`` (an H×W array, or a function of a row slice giving that
    slice's rows, e.g. :class:`kmq_core.contrast.MaskingWeights`) also sums
    a weight per colour into ``ColorHistogram.weights``.
    """
    if weights is not None:
        return _weighted_histogram(pixels, weights)
    h, w = pixels.shape[:2]
    if h * w > TABLE_PIXELS:
        table = np.zeros(N_CODES, np.uint32)
        for rows in row_chunks(h, w):
            codes = _codes_of(pixels[rows])
            if codes.size:
                c, n = _unique_counts(codes)
                table[c] += n.astype(np.uint32)
        nz = np.flatnonzero(table).astype(np.uint32)
        return ColorHistogram(nz, table[nz].astype(np.int64))
    parts_c, parts_n = [], []
    for rows in row_chunks(h, w):
        c, n = _unique_counts(_codes_of(pixels[rows]))
        parts_c.append(c)
        parts_n.append(n)
    if len(parts_c) == 1:
        return ColorHistogram(parts_c[0], parts_n[0])
    allc = np.concatenate(parts_c)
    order = np.argsort(allc, kind="stable")
    allc, alln = allc[order], np.concatenate(parts_n)[order]
    if not len(allc):
        return ColorHistogram(allc, alln)
    starts = np.flatnonzero(np.concatenate([[True], allc[1:] != allc[:-1]]))  # sorted already: no second sort
    return ColorHistogram(allc[starts], np.add.reduceat(alln, starts))


def reduce_histogram(hist: ColorHistogram, bits: int, weighted: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Merge colours that share their top ``bits`` bits per channel.

    Returns the weighted mean colour of each occupied cell (float64 N'×3,
    0..255) and its weight: ``hist.weights`` when it has them and
    ``weighted``, else the pixel count. Keeping the mean, not the cell centre,
    keeps the fit exact for the cell as a whole: k-means' objective over the
    pixels equals the objective over weighted cell means plus a constant.
    """
    use = hist.weights if (weighted and hist.weights is not None) else hist.counts
    if bits >= 8:
        return hist.colors.astype(np.float64), use.astype(np.float64)
    shift = 8 - bits
    n_cells = 1 << (3 * bits)
    wts = np.zeros(n_cells)
    sums = np.zeros((3, n_cells))
    for s in range(0, len(hist), COLOR_CHUNK):
        rgb = unpack_rgb(hist.codes[s:s + COLOR_CHUNK]).astype(np.int64)
        cnt = use[s:s + COLOR_CHUNK].astype(np.float64)
        cell = ((rgb[:, 0] >> shift) << (2 * bits)) | ((rgb[:, 1] >> shift) << bits) | (rgb[:, 2] >> shift)
        wts += np.bincount(cell, weights=cnt, minlength=n_cells)
        for c in range(3):
            sums[c] += np.bincount(cell, weights=cnt * rgb[:, c], minlength=n_cells)
    used = np.flatnonzero(wts)
    return (sums[:, used] / wts[used]).T.copy(), wts[used]


def fitting_weights(pixels: np.ndarray, k: int, space: str):
    """The per-pixel weights a fit of ``k`` colours in ``space`` uses: the masking
    weights (:class:`kmq_core.contrast.MaskingWeights`, computed per row slice),
    or None in ``rgb``, which is judged by PSNR alone."""
    if space == "rgb":
        return None
    from .contrast import MaskingWeights

    return MaskingWeights(pixels, k)


def fitting_histogram(pixels: np.ndarray, k: int, space: str) -> ColorHistogram:
    """The histogram a fit of ``k`` colours in ``space`` works on: every colour's
    pixel count and its summed :func:`fitting_weights`."""
    return color_histogram(pixels, weights=fitting_weights(pixels, k, space))

# --------------------------------------------------------------------------- several images
# The histogram of many images together, like libimagequant's ``Histogram::add_image``:
# what ``kmq batch --shared-palette`` fits its one palette to.

#: votes each image casts in a :class:`MultiImageHistogram` (whole numbers: sums are exact and order-free)
VOTES_PER_IMAGE = 1 << 24
#: bits per channel of the multi-image histogram's cells (2**18 cells, about 8 MB)
CELL_BITS = 6
#: below this many distinct colours in all images together the exact colours are kept
EXACT_COLORS = 4096


@dataclass
class ImageVotes:
    """One image's colour votes for a :class:`MultiImageHistogram`.

    Each image has the same number of votes (:data:`VOTES_PER_IMAGE`), spread
    over its colours by pixel share, so a 24-megapixel photo does not drown a
    folder of thumbnails.

    Attributes
    ----------
    cells : (n,) int64 array
        Cell numbers (6 bits per channel: ``r >> 2 << 12 | g >> 2 << 6 | b >> 2``).
    cell_votes : (n,) int64 array
        Votes per cell.
    cell_sums : (n, 3) int64 array
        Votes × colour summed per cell, so that the tally keeps each cell's mean.
    codes, votes : (m,) arrays or None
        The exact colours (packed 24-bit codes) and their votes, when the
        image has at most :data:`EXACT_COLORS` distinct colours.
    """

    cells: np.ndarray
    cell_votes: np.ndarray
    cell_sums: np.ndarray
    codes: np.ndarray | None = None
    votes: np.ndarray | None = None


def votes_from_histogram(hist: ColorHistogram) -> ImageVotes:
    """Spread :data:`VOTES_PER_IMAGE` votes over an image's colours by pixel share.

    Every colour present keeps at least one vote, so no colour is lost to rounding.
    """
    total = hist.total
    if total == 0:
        empty = np.zeros(0, np.int64)
        return ImageVotes(empty, empty, np.zeros((0, 3), np.int64), empty.astype(np.uint32), empty)
    votes = np.maximum(1, np.rint(hist.counts * (VOTES_PER_IMAGE / total))).astype(np.int64)
    rgb = hist.colors.astype(np.int64)
    shift = 8 - CELL_BITS
    cell = ((rgb[:, 0] >> shift) << (2 * CELL_BITS)) | ((rgb[:, 1] >> shift) << CELL_BITS) | (rgb[:, 2] >> shift)
    cells, inv = np.unique(cell, return_inverse=True)
    cell_votes = np.bincount(inv, weights=votes, minlength=len(cells))
    sums = np.stack([np.bincount(inv, weights=votes * rgb[:, c], minlength=len(cells)) for c in range(3)], axis=1)
    # bincount adds in float64, exactly here: an image's votes × 255 stay far below 2**53
    out = ImageVotes(cells.astype(np.int64), np.rint(cell_votes).astype(np.int64), np.rint(sums).astype(np.int64))
    if len(hist) <= EXACT_COLORS:
        out.codes, out.votes = hist.codes.astype(np.uint32), votes
    return out


class MultiImageHistogram:
    """The colours of many images together, of fixed size, for fitting one palette to all of them.

    Each image adds the same number of votes (:class:`ImageVotes`). Votes are
    whole numbers and are added up, so the sum is the same whatever the order
    of the :meth:`add_image` calls, the number of workers or the machine. The
    tally has a fixed size (2**18 cells of 6 bits per channel, keeping their
    exact mean colour), so memory does not grow with the number of images.
    While all images together have few colours (pixel art, sprites) the exact
    colours are kept instead, so they survive unchanged.

    Attributes
    ----------
    images : int
        How many images were added.
    """

    def __init__(self) -> None:
        n = 1 << (3 * CELL_BITS)
        self.cell_votes = np.zeros(n, np.int64)
        self.cell_sums = np.zeros((n, 3), np.int64)
        # exact colours, while every image so far had few and all together still do
        self._exact: dict[int, int] | None = {}
        self.images = 0

    def add_image(self, image: ImageVotes | ColorHistogram) -> None:
        """Add one image: its :class:`ImageVotes` (as workers compute them) or its :class:`ColorHistogram`."""
        v = votes_from_histogram(image) if isinstance(image, ColorHistogram) else image
        self.images += 1
        self.cell_votes[v.cells] += v.cell_votes  # cells are distinct within one image
        self.cell_sums[v.cells] += v.cell_sums
        if self._exact is not None:
            if v.codes is None:
                self._exact = None
            else:
                for code, n in zip(v.codes.tolist(), v.votes.tolist()):
                    self._exact[code] = self._exact.get(code, 0) + n
                if len(self._exact) > EXACT_COLORS:
                    self._exact = None

    def histogram(self) -> ColorHistogram:
        """All images' votes as a :class:`ColorHistogram` that :func:`kmq_core.fitting.fit_palette` takes."""
        if self._exact is not None:
            codes = np.array(sorted(self._exact), np.uint32)
            return ColorHistogram(codes, np.array([self._exact[c] for c in codes.tolist()], np.int64))
        live = np.flatnonzero(self.cell_votes)
        votes = self.cell_votes[live]
        # round half up, in integers, so every machine gets the same colours
        means = ((2 * self.cell_sums[live] + votes[:, None]) // (2 * votes[:, None])).astype(np.uint8)
        codes = pack_rgb(means).astype(np.uint32)
        uniq, inv = np.unique(codes, return_inverse=True)
        return ColorHistogram(uniq, np.bincount(inv, weights=votes, minlength=len(uniq)).astype(np.int64))
