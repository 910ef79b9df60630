"""Posterization of a palette, as pngquant's ``--posterize N``.

pngquant (libimagequant) can make the palette's colours of lower precision, for
displays and texture formats that keep fewer bits per channel (RGBA4444,
RGB565): ``--posterize N`` drops the ``N`` low bits of each channel of every
palette entry, and the image is then mapped onto that palette. The dropped bits
are filled with copies of the top ones, so black and white stay exact: with 4
bits the 16 levels are 0, 17, 34, ... 255, with 1 bit the even numbers below 128
and the odd ones above.

:func:`posterize` does the same to a :class:`~kmq_core.pipeline.QuantizeResult`:
its palette is posterized and the picture mapped again onto it (dithering
included), so what the PNG shows is the nearest the lower-precision palette
can do.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import KmqError

#: pngquant takes 0 (nothing dropped) to 4 bits
POSTERIZE_MIN, POSTERIZE_MAX = 0, 4


def check_posterize(bits: object) -> int:
    """``bits`` as an int from 0 to 4, or :class:`KmqError`."""
    try:
        if isinstance(bits, bool) or (isinstance(bits, float) and not bits.is_integer()):
            raise ValueError
        n = int(bits)  # type: ignore[call-overload]
        if isinstance(bits, str) and bits.strip() != str(n):
            raise ValueError
    except (TypeError, ValueError):
        raise KmqError(f"posterization must be a whole number of bits from {POSTERIZE_MIN} to {POSTERIZE_MAX}, "
                       f"got {bits!r}") from None
    if not POSTERIZE_MIN <= n <= POSTERIZE_MAX:
        raise KmqError(f"posterization must be from {POSTERIZE_MIN} to {POSTERIZE_MAX} bits, got {n}")
    return n


def posterize_values(values, bits: int) -> np.ndarray:
    """8-bit values with their ``bits`` low bits replaced by copies of their top bits.

    >>> posterize_values([0, 100, 171, 255], 4).tolist()
    [0, 102, 170, 255]
    """
    bits = check_posterize(bits)
    v = np.asarray(values, np.uint8)
    if bits == 0:
        return v.copy()
    keep = np.uint8((0xFF << bits) & 0xFF)
    return ((v & keep) | (v >> np.uint8(8 - bits))).astype(np.uint8)


def posterize(result, bits: int):
    """``result`` with its palette posterized to ``8 - bits`` bits per channel (pngquant's ``--posterize``).

    An opaque picture is mapped again onto the posterized palette with the result's own
    options (space, dithering and its strength, lossy, Bayer size). With alpha, each pixel
    keeps its palette entry and the entries' colour and alpha are posterized (kmq
    does not dither translucent pictures). ``bits=0`` returns ``result`` itself.
    """
    from .palette import Palette
    from .pipeline import quantize

    bits = check_posterize(bits)
    if bits == 0:
        return result
    colors = posterize_values(result.palette.colors, bits)
    if result.alpha is None:
        again = quantize(result.source, palette=colors, space=result.space, dither=result.dither, seed=result.seed,
                         lossy=result.lossy, strength=result.strength, bayer_size=result.bayer_size)
        # a palette of kmq's own making, only coarser: the encoder may order and merge its entries
        return replace(again, k=result.k, palette_given=result.palette_given,
                       seconds=result.seconds + again.seconds)
    entry_alpha = None if result.entry_alpha is None else posterize_values(result.entry_alpha, bits)
    palette = Palette(colors, result.palette.weights, name=result.palette.name)
    return replace(result, palette=palette, entry_alpha=entry_alpha)
