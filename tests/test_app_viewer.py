"""kmq_app.viewer: the 1:1 window it cuts, and a component that loads nothing from the network."""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # kmq_app sits beside streamlit_app.py

import pytest

from kmq_app import viewer


@pytest.mark.parametrize("aim, window", [
    ({"cx": 750, "cy": 500, "z": 2, "vw": 400, "vh": 300}, (slice(425, 575), slice(650, 850), 2)),
    ({"cx": 0, "cy": 0, "z": 4, "vw": 400, "vh": 300}, (slice(0, 75), slice(0, 100), 4)),
    ({"cx": 1500, "cy": 1000, "z": 1, "vw": 400, "vh": 300}, (slice(700, 1000), slice(1100, 1500), 1)),
    ({"cx": 10, "cy": 10, "z": 1, "vw": 9000, "vh": 9000}, (slice(0, 1000), slice(0, 1500), 1)),  # whole image
])
def test_zoom_window_stays_inside_the_image(aim, window):
    assert viewer.zoom_window((1000, 1500, 3), aim) == window


@pytest.mark.parametrize("aim", [None, "x", {}, {"cx": "a", "cy": 1}, {"cx": 1, "cy": 1, "z": 3},
                                 {"cx": float("nan"), "cy": 1, "z": 2}])
def test_zoom_window_ignores_what_it_cannot_read(aim):
    assert viewer.zoom_window((100, 100, 3), aim) is None


def test_the_component_loads_nothing_from_the_network():
    for name in ("viewer.js", "viewer.css"):
        text = (Path(viewer.__file__).with_name("static") / name).read_text()
        assert not re.search(r"https?://|//cdn|import\s*\(|@import|url\(", text), name
