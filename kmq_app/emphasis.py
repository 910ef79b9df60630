"""The app's emphasis region: a rectangle marked by clicking two opposite corners on the image.

While "Mark the emphasis region" is on, the viewer's clicks (its eyedropper
trigger, :mod:`kmq_app.viewer`) are corners instead of colours to lock; the
second click sets the region and turns marking off. The region belongs to
the image it was marked on and is forgotten when another is shown. The core
turns it into an importance mask (:func:`kmq_core.importance.region_mask`);
this module only keeps the state, in the session's dict.
"""

from __future__ import annotations

import math
from typing import MutableMapping

#: the toggle's key, the region kept as (image id, box), the first corner clicked as (x, y, image id)
MARKING = "emphasis_marking"
BOX = "_emphasis_box"
CORNER = "_emphasis_corner"


def _drop(state: MutableMapping, key: str) -> None:
    if key in state:  # Streamlit's session state has no pop()
        del state[key]


def box_from_corners(a: tuple[float, float], b: tuple[float, float], shape: tuple[int, int]
                     ) -> tuple[int, int, int, int]:
    """The pixels between two points (image coordinates) as (x0, y0, x1, y1), x1 and y1
    excluded, at least one pixel each way, inside an image of ``shape`` (H, W)."""
    h, w = shape
    (xa, xb), (ya, yb) = sorted((a[0], b[0])), sorted((a[1], b[1]))
    x0 = min(max(math.floor(xa), 0), w - 1)
    y0 = min(max(math.floor(ya), 0), h - 1)
    x1 = min(max(math.ceil(xb), x0 + 1), w)
    y1 = min(max(math.ceil(yb), y0 + 1), h)
    return x0, y0, x1, y1


def click(state: MutableMapping, x: float, y: float, shape: tuple[int, int], image_id: str) -> bool:
    """A click on the image at (x, y): a corner while marking (returns True), else nothing (False)."""
    if not state.get(MARKING):
        return False
    first = state.get(CORNER)
    if first is None or first[2] != image_id:
        state[CORNER] = (x, y, image_id)
        return True
    state[BOX] = (image_id, box_from_corners(first[:2], (x, y), shape))
    _drop(state, CORNER)
    state[MARKING] = False
    return True


def region(state: MutableMapping, image_id: str) -> tuple[int, int, int, int] | None:
    """The region marked on this image, or None."""
    kept = state.get(BOX)
    return tuple(kept[1]) if kept and kept[0] == image_id else None


def clear(state: MutableMapping) -> None:
    _drop(state, BOX)
    _drop(state, CORNER)


def started(state: MutableMapping) -> None:
    """The toggle changed: a marking starts afresh."""
    _drop(state, CORNER)


def hint(state: MutableMapping, image_id: str) -> str | None:
    """What the viewer says while marking (None when not marking)."""
    if not state.get(MARKING):
        return None
    first = state.get(CORNER)
    if first is not None and first[2] == image_id:
        return "Now click the opposite corner."
    return "Click one corner of the region that matters most."
