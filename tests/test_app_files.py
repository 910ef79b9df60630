"""Download names derived from an uploaded file's name (kmq_app.files)."""

from __future__ import annotations

import sys
from pathlib import Path

# the app's own package sits beside streamlit_app.py; `streamlit run` finds it there, and so
# does this test without an installed kmq_app
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kmq_app.files import MAX_STEM, download_name, safe_stem


@pytest.mark.parametrize("name, stem", [
    ("photo.jpg", "photo"),
    ("my photo (1).JPG", "my photo (1)"),
    ("archive.tar.png", "archive.tar"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\shot.png", "shot"),
    ("a\x00b\x1fc\x7f.png", "abc"),
    ("line\nbreak.png", "linebreak"),
    ("a<b>c:d|e?f*g\".png", "a_b_c_d_e_f_g_"),
    ("CON.png", "_CON"),
    ("lpt1.gif", "_lpt1"),
    (".hidden", "hidden"),
    ("...", "image"),
    ("", "image"),
    (None, "image"),
    ("   .png", "image"),
    ("日本語.webp", "日本語"),
    ("x" * 500 + ".png", "x" * MAX_STEM),
])
def test_safe_stem(name, stem):
    assert safe_stem(name) == stem


def test_download_name():
    assert download_name("photo.jpg", 16, ".gpl") == "photo-k16.gpl"
    assert download_name("../x/photo.jpg", 64, "-palette.png") == "photo-k64-palette.png"


@given(st.text(max_size=300))
def test_any_name_gives_a_safe_bounded_stem(name):
    stem = safe_stem(name)
    assert 1 <= len(stem) <= MAX_STEM + 1  # + the "_" before a reserved device name
    assert not any(c in stem for c in '/\\<>:"|?*')
    assert not any(unicodedata.category(c)[0] == "C" for c in stem)
    assert not stem.startswith((".", " ")) and not stem.endswith((".", " "))
    assert safe_stem(stem + ".png") == stem  # stable: a stem survives another round
