"""The app's emphasis region state (kmq_app.emphasis): corners clicked -> a box of image pixels."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kmq_app import emphasis


def test_box_from_corners_in_any_order_inside_the_image():
    assert emphasis.box_from_corners((10.2, 5.9), (3.5, 20.1), (30, 40)) == (3, 5, 11, 21)
    assert emphasis.box_from_corners((-5, -5), (100, 100), (30, 40)) == (0, 0, 40, 30)
    assert emphasis.box_from_corners((7.0, 7.0), (7.0, 7.0), (30, 40)) == (7, 7, 8, 8)  # one pixel at least
    assert emphasis.box_from_corners((40, 30), (40, 30), (30, 40)) == (39, 29, 40, 30)


def test_two_clicks_while_marking_set_the_region_of_that_image():
    state: dict = {}
    assert not emphasis.click(state, 1, 1, (30, 40), "a")  # not marking: the eyedropper's click
    assert emphasis.hint(state, "a") is None
    state[emphasis.MARKING] = True
    assert "one corner" in emphasis.hint(state, "a")
    assert emphasis.click(state, 2, 3, (30, 40), "a") and emphasis.region(state, "a") is None
    assert "opposite corner" in emphasis.hint(state, "a")
    assert emphasis.click(state, 12, 13, (30, 40), "a")
    assert emphasis.region(state, "a") == (2, 3, 12, 13) and state[emphasis.MARKING] is False
    assert emphasis.region(state, "b") is None  # another image: no region
    # a first corner on another image does not pair with a click on this one
    state[emphasis.MARKING] = True
    emphasis.click(state, 0, 0, (30, 40), "b")
    emphasis.click(state, 5, 5, (30, 40), "a")
    assert emphasis.region(state, "a") == (2, 3, 12, 13) and state[emphasis.MARKING] is True
    emphasis.clear(state)
    assert emphasis.region(state, "a") is None
