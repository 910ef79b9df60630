"""kmq_app.labels: every choice the core offers has plain words, the technical name and the CLI's name."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # kmq_app sits beside streamlit_app.py

from kmq_app import labels
from kmq_core import options as opt
from kmq_core.palette_ops import SORT_KEYS


def test_every_choice_of_the_core_has_words():
    assert set(labels.SPACE_WORDS) == set(opt.SPACES)
    assert set(labels.DITHER_WORDS) == set(opt.DITHERS)
    assert set(labels.ORDER_WORDS) == set(SORT_KEYS)
    assert set(labels.PROFILE_WORDS) == set(opt.PROFILES)
    assert labels.profile_label(opt.DEFAULT_PROFILE).endswith(", default")
    assert not labels.profile_label(next(p for p in opt.PROFILES if p != opt.DEFAULT_PROFILE)).endswith("default")
    assert labels.space_label("de2000") == "colour accurate (CIEDE2000)" + (
        ", default" if opt.DEFAULT_SPACE == "de2000" else "")
    assert labels.space_label("perceptual").startswith("perceptual (Oklab")
    assert "Bayer" in labels.dither_label("bayer")
    assert "Floyd–Steinberg" in labels.dither_label("fs")
    assert "blue noise" in labels.dither_label("bluenoise")
    assert labels.bayer_size_label(opt.DEFAULT_BAYER_SIZE).endswith(", default")
    assert [labels.bayer_size_label(n) for n in opt.BAYER_SIZES][:2] == ["2×2 (4 levels)", "4×4 (16 levels)"]
    assert labels.dither_label(opt.DEFAULT_DITHER).endswith(", default")


def test_a_new_choice_shows_by_its_own_name():
    assert labels.space_label("newspace") == "newspace"
    assert labels.order_label("newsort") == "newsort"


def test_help_texts_name_the_cli_options():
    assert "--space" in labels.SPACE_HELP and all(s in labels.SPACE_HELP for s in opt.SPACES)
    assert "--dither" in labels.DITHER_HELP and "--seed" in labels.SEED_HELP and "--lock" in labels.LOCK_HELP
    assert all(d in labels.DITHER_HELP for d in opt.DITHERS)
    assert "--bayer-size" in labels.BAYER_SIZE_HELP and all(str(n) in labels.BAYER_SIZE_HELP for n in opt.BAYER_SIZES)
    assert f"{opt.K_MIN} to {opt.K_MAX}" in labels.K_HELP and "-k" in labels.K_HELP
    assert "--quality MIN-MAX" in labels.QUALITY_HELP and "99" in labels.QUALITY_HELP
    assert f"{opt.QUALITY_MIN}-{opt.QUALITY_MAX}" in labels.QUALITY_HELP
    assert "--profile" in labels.PROFILE_HELP and all(p in labels.PROFILE_HELP for p in opt.PROFILES)
