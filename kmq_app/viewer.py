"""The image viewer (``static/viewer.js``): result, before/after, side by side, 1:1 zoom, eyedropper.

A Streamlit components-v2 component: its JavaScript and CSS are this
package's own files, passed inline, so there is no build step and nothing is
loaded from the network. It runs in the page itself (no iframe), which lets
it size the image to the window and time what the user waits for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import streamlit as st

from . import views
from .work import Computed

_STATIC = Path(__file__).with_name("static")
#: largest 1:1 window cut for the zoom view, per side, in image pixels
MAX_CROP = 1600
ZOOMS = (1, 2, 4, 8)

_component = st.components.v2.component(
    "kmq_viewer",
    html='<div class="kmq-viewer-root"></div>',
    css=(_STATIC / "viewer.css").read_text(encoding="utf-8"),
    js=(_STATIC / "viewer.js").read_text(encoding="utf-8"),
)


def zoom_window(shape: tuple[int, ...], aim: dict | None) -> tuple[slice, slice, int] | None:
    """Rows, columns and zoom of the 1:1 window the viewer asked for (``aim`` state), kept inside the image."""
    if not isinstance(aim, dict):
        return None
    try:
        z = int(aim.get("z", 2))
        cx, cy = float(aim["cx"]), float(aim["cy"])
        vw, vh = int(aim.get("vw", 600)), int(aim.get("vh", 400))
    except (KeyError, TypeError, ValueError):
        return None
    if z not in ZOOMS or not (np.isfinite(cx) and np.isfinite(cy)):
        return None
    h, w = shape[:2]
    cw = int(np.clip(vw // z, 1, min(w, MAX_CROP)))
    ch = int(np.clip(vh // z, 1, min(h, MAX_CROP)))
    x0 = int(np.clip(round(cx - cw / 2), 0, w - cw))
    y0 = int(np.clip(round(cy - ch / 2), 0, h - ch))
    return slice(y0, y0 + ch), slice(x0, x0 + cw), z


def show(c: Computed, result_id: str, tag_after: str, *, key: str, on_pick: Callable[[], None], cached: bool,
         region: tuple[int, int, int, int] | None = None, marking: str | None = None) -> Any:
    """Mount the viewer for a result; returns the component's result (``.aim`` state, ``.pick`` trigger).

    ``region``: the emphasis region (x0, y0, x1, y1) to outline; ``marking``: while the region is
    being marked, what to tell the user (clicks on the image are then its corners, :mod:`kmq_app.emphasis`).
    """
    r = c.result
    h, w = r.shape
    state = st.session_state.get(key)
    aim = state.get("aim") if state is not None and hasattr(state, "get") else None
    zoom = None
    window = zoom_window(r.source.pixels.shape, aim)
    if window is not None:
        rows, cols, z = window
        before = r.source.pixels[rows, cols]
        after = views.quantized_crop(r.labels, r.palette.colors, r.alpha, rows, cols)
        icc = r.source.icc_profile  # a kept profile: the browser shows the numbers in it, as in the PNG
        zoom = {"z": z, "x0": cols.start, "y0": rows.start, "cw": cols.stop - cols.start,
                "ch": rows.stop - rows.start, "before": views.data_uri(views.encode_png(before, icc)),
                "after": views.data_uri(views.encode_png(after, icc))}
    data = {
        "id": result_id,
        "w": w, "h": h, "pw": c.previews.width, "ph": c.previews.height,
        "before": c.previews.before_uri, "after": c.previews.after_uri,
        "tag_before": "Original", "tag_after": tag_after,
        "zoom": zoom,
        "region": None if region is None else dict(zip(("x0", "y0", "x1", "y1"), map(int, region))),
        "marking": marking,
        "timing": {"server": [[name, round(t, 4)] for name, t in c.times] if not cached else [], "cached": cached},
    }
    return _component(key=key, data=data, on_pick_change=on_pick, on_aim_change=lambda: None)
