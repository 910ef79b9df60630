"""The palette: ordered 8-bit sRGB colours, each with a name and a weight.

A :class:`Palette` is what fitting produces and what remapping consumes, and
what every swatch format reads and writes. It is a small immutable value; the
functions that reorder or merge it return new palettes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import KmqError
from .hexcodes import hex_code, parse_hex, split_hex_list  # noqa: F401 (hex_code, parse_hex: public here too)


def parse_hex_list(text: str | None) -> np.ndarray:
    """``'#ff0000, #00f'`` -> an N×3 uint8 array (empty for None or '')."""
    return np.array(split_hex_list(text), np.uint8).reshape(-1, 3)


def dedupe_colors(colors: np.ndarray) -> np.ndarray:
    """The distinct rows of ``colors`` (N×3 or N×4), each where it first occurs, in order."""
    _, first = np.unique(colors, axis=0, return_index=True)
    return colors[np.sort(first)]


def order_by_share(share: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Indices that order palette entries by share, largest first; ties keep palette order.

    With ``keep`` (a boolean mask) only those entries are ordered and returned
    (e.g. the colours that are used, or locked).
    """
    if keep is None:
        return np.argsort(-share, kind="stable")
    return np.flatnonzero(keep)[np.argsort(-share[keep], kind="stable")]


def as_lock(lock) -> np.ndarray:
    """Locked colours from None, a '#hex,#hex' string, a Palette or an N×3 array."""
    if lock is None:
        return np.zeros((0, 3), np.uint8)
    if isinstance(lock, Palette):
        return lock.colors.copy()
    if isinstance(lock, str):
        return parse_hex_list(lock)
    arr = np.asarray(lock)
    if arr.size == 0:
        return np.zeros((0, 3), np.uint8)
    if arr.dtype.kind in "US" or arr.dtype == object:
        return parse_hex_list(",".join(str(x) for x in arr.ravel()))
    arr = arr.reshape(-1, 3)
    if arr.min() < 0 or arr.max() > 255:
        raise KmqError("locked colours must be 0-255 per channel")
    return dedupe_colors(arr.astype(np.uint8))


@dataclass(frozen=True, eq=False)
class Palette:
    """Ordered colours with names and weights.

    Attributes
    ----------
    colors : (n, 3) uint8 array
        8-bit sRGB colours, in palette order.
    weights : (n,) float64 array
        Share of pixels of each colour (sums to 1 for a fitted palette; all
        zeros when unknown, e.g. read from a file that does not store it).
    names : tuple of str
        One name per colour (the hex code when nothing better is known).
    name : str
        The palette's own name.
    """

    colors: np.ndarray
    weights: np.ndarray = field(default=None)  # type: ignore[assignment]
    names: tuple[str, ...] = field(default=None)  # type: ignore[assignment]
    name: str = "kmq"

    def __post_init__(self) -> None:
        colors = np.asarray(self.colors)
        if colors.ndim != 2 or colors.shape[1] != 3:
            raise KmqError(f"a palette needs n×3 colours, got shape {colors.shape}")
        if colors.shape[0] > 65535:
            raise KmqError("a palette may hold at most 65535 colours")
        if colors.dtype != np.uint8:
            if colors.size and (colors.min() < 0 or colors.max() > 255):
                raise KmqError("palette colours must be 0-255")
            colors = colors.astype(np.uint8)
        colors = np.ascontiguousarray(colors)
        colors.setflags(write=False)
        n = len(colors)
        weights = np.zeros(n) if self.weights is None else np.asarray(self.weights, np.float64)
        if weights.shape != (n,):
            raise KmqError("one weight per colour is needed")
        weights = weights.copy()
        weights.setflags(write=False)
        names = tuple(hex_code(c) for c in colors) if self.names is None else tuple(str(s) for s in self.names)
        if len(names) != n:
            raise KmqError("one name per colour is needed")
        object.__setattr__(self, "colors", colors)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "name", str(self.name))

    def __len__(self) -> int:
        return len(self.colors)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Palette):
            return NotImplemented
        return (
            np.array_equal(self.colors, other.colors)
            and self.names == other.names
            and self.name == other.name
        )

    @property
    def hex(self) -> list[str]:
        """The colours as ``#rrggbb`` strings."""
        return [hex_code(c) for c in self.colors]

    def take(self, order) -> "Palette":
        """A palette with the entries in ``order`` (indices)."""
        order = np.asarray(order, dtype=np.intp)
        return Palette(self.colors[order], self.weights[order], tuple(self.names[i] for i in order), self.name)

    def renamed(self, name: str) -> "Palette":
        return Palette(self.colors, self.weights, self.names, name)

    def __repr__(self) -> str:
        shown = ", ".join(self.hex[:8]) + (", ..." if len(self) > 8 else "")
        return f"Palette({self.name!r}, {len(self)} colours: {shown})"
