"""Terminal rendering for `kmq palette show`."""

import numpy as np

from kmq_core.formats.terminal import render
from kmq_core.palette import Palette

P = Palette(np.array([[255, 0, 0], [0, 128, 255]]), np.array([0.75, 0.25]), ("red", "#0080ff"), "Sunset")


def test_colour_swatches_and_shares():
    out = render(P, color=True)
    lines = out.splitlines()
    assert lines[0] == "Sunset: 2 colours" and not out.endswith("\n")  # callers print() it
    assert "\x1b[48;2;255;0;0m" in lines[1] and lines[1].endswith("#ff0000   75.0%  red")
    assert "\x1b[48;2;0;128;255m" in lines[2] and lines[2].endswith("#0080ff   25.0%")


def test_plain_text_has_no_escapes_and_no_share_when_unknown():
    p = Palette(P.colors, None, P.names, "")
    out = render(p, color=False)
    assert "\x1b" not in out
    assert out.splitlines() == ["(unnamed): 2 colours", "1  #ff0000  red", "2  #0080ff"]


def test_hostile_names_cannot_drive_the_terminal():
    p = Palette(np.zeros((1, 3), np.uint8), names=("\x1b[2J\x1b]0;pwned\x07\nnext",), name="\x1b[31m")
    out = render(p, color=False)
    assert "\x1b" not in out and "\x07" not in out
    assert len(out.splitlines()) == 2


def test_contrast_and_cvd_text_for_one_colour_and_without_colour():
    from kmq_core.formats.terminal import render_contrast, render_cvd

    one = Palette(np.array([[10, 20, 30]], np.uint8))
    assert render_contrast(one, color=False).splitlines()[1:] == ["0 of 0 pairs pass for large text, 0 for body text:"]
    cvd = render_cvd(one, color=False).splitlines()
    assert cvd.count("  no pairs merge") == 3 and len(cvd) == 1 + 3 * 3
    text = render_contrast(P, color=False) + render_cvd(P, color=False)
    assert "\x1b" not in text


def test_contrast_sample_is_dark_text_on_the_light_colour():
    from kmq_core.formats.terminal import render_contrast

    p = Palette(np.array([[255, 255, 255], [0, 0, 0]], np.uint8))
    line = render_contrast(p, color=True).splitlines()[-1]
    assert "\x1b[38;2;0;0;0;48;2;255;255;255m Text " in line and "21.00:1  body AAA  large AAA" in line
