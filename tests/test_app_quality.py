"""The app's quality target and colour-profile control (issue 17): the same core calls as
``kmq quantize --quality MIN-MAX`` and ``--profile``, in AppTest against the real core.

Since the redesign (issue 15) "quality" is the third choice of the k mode (a segmented
control beside the palette) and the profile sits in the Options expander.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from skimage import data

import icc_profiles
from kmq_app import labels
from kmq_core import options as opt
from kmq_core.auto_k import quality_for_delta_e, smallest_k_for_quality
from test_app import assert_no_failure, k_mode, metrics, new_app, png_bytes, upload


def test_quality_and_profile_controls_come_from_the_core():
    at = new_app().run()
    assert_no_failure(at)
    assert k_mode(at).options == [labels.k_mode_label(m) for m in ("k", "target", "quality")]
    profile = at.selectbox(key="profile")
    assert profile.value == opt.DEFAULT_PROFILE
    assert profile.options == [labels.profile_label(p) for p in opt.PROFILES]
    assert "--profile" in profile.help
    k_mode(at).set_value("quality").run()
    assert_no_failure(at)
    q = at.slider(key="quality")
    assert (q.min, q.max) == (opt.QUALITY_MIN, opt.QUALITY_MAX) and len(q.value) == 2
    assert "--quality MIN-MAX" in q.help


def test_quality_mode_picks_the_cores_k():
    photo = png_bytes(Image.fromarray(data.astronaut()).resize((96, 96), Image.Resampling.LANCZOS))
    at = upload(new_app().run(), "astronaut.png", photo)
    k_mode(at).set_value("quality").run()
    at.slider(key="quality").set_value((50, 70)).run()
    assert_no_failure(at)
    k, r = smallest_k_for_quality(io.BytesIO(photo), (50, 70))
    assert [s.value for s in at.success] == [
        f"k = {k} is the smallest k whose quality ({quality_for_delta_e(r.delta_e):.0f}) reaches 70."]
    assert any(s.value == f"astronaut.png: 96×96 pixels, k = {k}" for s in at.subheader)
    assert metrics(at)["Mean ΔE (CIEDE2000)"] == f"{r.delta_e:.2f}"
    assert at.code[0].value == ", ".join(r.palette.hex)  # the palette shown is that result's


def test_quality_between_min_and_max_is_a_note():
    rng = np.random.default_rng(0)
    noisy = png_bytes(rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8))
    k, r = smallest_k_for_quality(io.BytesIO(noisy), (60, 80))  # 256 colours reach about 70
    reached = quality_for_delta_e(r.delta_e)
    assert k == 256 and 60 <= reached < 80
    at = upload(new_app().run(), "noise.png", noisy)
    k_mode(at).set_value("quality").run()
    at.slider(key="quality").set_value((60, 80)).run()
    assert_no_failure(at)
    assert not at.success and not at.warning
    assert [i.value for i in at.info] == [f"Even k = 256 reaches quality {reached:.0f}, below 80 but above 60."]


def test_quality_below_min_is_a_warning():
    rng = np.random.default_rng(0)
    noisy = png_bytes(rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8))
    at = upload(new_app().run(), "noise.png", noisy)
    k_mode(at).set_value("quality").run()
    at.slider(key="quality").set_value((97, 99)).run()
    assert_no_failure(at)
    assert len(at.warning) == 1 and "below the minimum 97" in at.warning[0].value
    assert "exit 99" in at.warning[0].value
    assert at.get("download_button")  # the app still shows and offers the best result


def test_profile_control_converts_or_keeps():
    icc = icc_profiles.display_p3()
    buf = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), (200, 40, 40), np.uint8)).save(buf, "PNG", icc_profile=icc)
    at = upload(new_app().run(), "p3.png", buf.getvalue())
    assert_no_failure(at)
    assert any("converted to sRGB" in i.value for i in at.info)
    assert not any("numbers in the image's profile" in c.value for c in at.caption)
    assert at.code[0].value != "#c82828"  # the P3 numbers, converted: sRGB red is more saturated
    at.selectbox(key="profile").set_value("keep").run()
    assert_no_failure(at)
    assert any("kept the colour profile" in i.value for i in at.info)
    assert at.code[0].value == "#c82828"
    # the page says that the hex codes are no longer sRGB
    assert any("numbers in the image's profile (Display P3)" in c.value for c in at.caption)


# ---- animations (issue 26): the search judges every frame -------------------------------------------
def _late_colour_gif() -> bytes:
    """Blue and green in the first frames; the last adds an orange square frame 1 lacks."""
    blue, green, orange = (30, 60, 200), (40, 170, 60), (250, 140, 20)
    f1 = np.tile(np.array(blue, np.uint8), (32, 40, 1))
    f1[:, 20:] = green
    f2 = f1.copy()
    f2[:, 16:20] = green
    f3 = f1.copy()
    f3[8:24, 8:32] = orange
    buf = io.BytesIO()
    Image.fromarray(f1).save(buf, "GIF", save_all=True, append_images=[Image.fromarray(f2), Image.fromarray(f3)],
                             duration=100, loop=0)
    return buf.getvalue()


def test_quality_mode_on_an_animation_reaches_every_frame():
    """Frame 1 alone reaches 90 at k = 2; the orange of the last frame needs a third colour, and the
    palette shown (with its shares over all frames) has it."""
    from kmq_core.auto_k import smallest_k_for_quality_animation
    from kmq_core.palette import parse_hex

    clip = _late_colour_gif()
    k, anim = smallest_k_for_quality_animation(clip, (80, 90))
    assert k == 3
    at = upload(new_app().run(), "late.gif", clip)
    k_mode(at).set_value("quality").run()
    at.slider(key="quality").set_value((80, 90)).run()
    assert_no_failure(at)
    assert any(s.value == "late.gif: 40×32 pixels, k = 3" for s in at.subheader), [s.value for s in at.subheader]
    shown = at.code[0].value.split(", ")
    assert set(shown) == set(anim.palette.hex)
    orange = np.array([250, 140, 20])
    assert min(np.abs(np.array(parse_hex(h)) - orange).sum() for h in shown) <= 6
    assert [s.value for s in at.success] == ["k = 3 is the smallest k whose quality (100) reaches 90."]


def test_target_delta_e_on_an_animation_is_the_worst_frames():
    from kmq_core.auto_k import smallest_k_for_delta_e_animation

    clip = _late_colour_gif()
    k, anim = smallest_k_for_delta_e_animation(clip, 1.0)
    assert k == 3 and max(anim.frame_delta_e) <= 1.0
    at = upload(new_app().run(), "late.gif", clip)
    k_mode(at).set_value("target").run()
    at.slider(key="target_de").set_value(1.0).run()
    assert_no_failure(at)
    assert any(s.value == "late.gif: 40×32 pixels, k = 3" for s in at.subheader), [s.value for s in at.subheader]
