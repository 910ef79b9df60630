"""The app's quality target and colour-profile control (issue 17): the same core calls as
``kmq quantize --quality MIN-MAX`` and ``--profile``, in AppTest against the real core."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data

import icc_profiles
from kmq_core.auto_k import quality_for_delta_e, smallest_k_for_quality
from test_app import assert_no_failure, new_app, png_bytes, upload


def test_quality_mode_picks_the_cores_k():
    photo = png_bytes(Image.fromarray(data.astronaut()).resize((96, 96), Image.Resampling.LANCZOS))
    at = upload(new_app().run(), "astronaut.png", photo)
    at.radio(key="k_mode").set_value("quality").run()
    at.slider(key="quality").set_value((50, 70)).run()
    assert_no_failure(at)
    k, r = smallest_k_for_quality(io.BytesIO(photo), (50, 70))
    assert [s.value for s in at.success] == [
        f"k = {k} is the smallest k whose quality ({quality_for_delta_e(r.delta_e):.0f}) reaches 70."]


def test_quality_below_min_is_a_warning():
    rng = np.random.default_rng(0)
    noisy = png_bytes(rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8))
    at = upload(new_app().run(), "noise.png", noisy)
    at.radio(key="k_mode").set_value("quality").run()
    at.slider(key="quality").set_value((97, 99)).run()
    assert_no_failure(at)
    assert len(at.warning) == 1 and "below the minimum 97" in at.warning[0].value


def test_profile_control_converts_or_keeps():
    icc = icc_profiles.display_p3()
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), (200, 40, 40), np.uint8)).save(buf, "PNG", icc_profile=icc)
    at = upload(new_app().run(), "p3.png", buf.getvalue())
    assert_no_failure(at)
    assert any("converted to sRGB" in i.value for i in at.info)
    assert at.code[0].value != "#c82828"  # the P3 numbers, converted: sRGB red is more saturated
    at.selectbox(key="profile").set_value("keep").run()
    assert_no_failure(at)
    assert any("kept the colour profile" in i.value for i in at.info)
    assert at.code[0].value == "#c82828"
