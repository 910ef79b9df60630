"""The Streamlit app, headless (streamlit.testing.v1.AppTest), against the real core.

Every figure the page shows is compared with what kmq_core computes for the
same bytes and options; every error path must end in an ``st.error`` with the
core's one-line message and no exception.
"""

from __future__ import annotations

import sys
from pathlib import Path

# the app's own package sits beside streamlit_app.py; `streamlit run` finds it there, and so
# does this test without an installed kmq_app
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import io

import numpy as np
import pytest
from PIL import Image
from skimage import data
from streamlit.testing.v1 import AppTest

from kmq_app import labels
from kmq_app.views import human_bytes
from kmq_core import quantize
from kmq_core.auto_k import smallest_k_for_delta_e
from kmq_core.options import (BAYER_SIZES, DEFAULT_DITHER, DEFAULT_K, DEFAULT_SEED, DEFAULT_SPACE, DITHERS, K_MAX,
                              K_MIN, SPACES)
from kmq_core.palette_ops import sort_palette

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
PALETTE_LABELS = ["Download .ase", "Download .gpl", "Download .aco", "Download .act", "Download .json",
                  "Download .css", "Download .hex", "Download .png strip"]


def png_bytes(pixels: np.ndarray | Image.Image) -> bytes:
    img = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def photo() -> bytes:
    """A real photo, small enough for quick reruns: astronaut at 160×160, as PNG."""
    return png_bytes(Image.fromarray(data.astronaut()).resize((160, 160), Image.Resampling.LANCZOS))


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120)


def upload(at: AppTest, name: str, payload: bytes, mime: str = "image/png") -> AppTest:
    at.file_uploader(key="upload").set_value((name, payload, mime))
    return at.run()


def k_mode(at: AppTest):
    return next(w for w in at.get("button_group") if w.key == "k_mode")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def expected_metrics(r, input_size: int) -> dict[str, str]:
    return {
        "Colours used": str(r.colors_used),
        "PSNR": f"{r.psnr:.2f} dB",
        "Mean ΔE (CIEDE2000)": f"{r.delta_e:.2f}",
        "Bits per pixel": str(r.bits_per_pixel),
        "Original file": human_bytes(input_size),
        "Indexed PNG": human_bytes(r.png_bytes),
        "Size ratio": f"{input_size / r.png_bytes:.2f}×",
    }


def assert_no_failure(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def assert_one_error(at: AppTest, message: str) -> None:
    assert_no_failure(at)
    assert [e.value for e in at.error] == [message]
    assert not at.metric  # nothing of a result is shown
    assert not at.get("download_button")


# ---- controls and the example ----------------------------------------------------------------------
def test_controls_have_the_cli_names_and_defaults():
    at = new_app().run()
    assert_no_failure(at)
    k = at.number_input(key="k")
    assert (k.value, k.min, k.max) == (DEFAULT_K, K_MIN, K_MAX)  # what the core offers
    slide = at.select_slider(key="k_slide")
    assert slide.value == DEFAULT_K and slide.options[:32] == [str(i) for i in range(K_MIN, 33)]
    assert slide.options[-1] == str(K_MAX) and len(slide.options) < 50  # fine to 32, coarse above
    assert k_mode(at).value == "k"
    # the choices and defaults are kmq_core.options', in plain words with the technical name
    assert at.selectbox(key="space").value == DEFAULT_SPACE
    assert at.selectbox(key="space").options == [labels.space_label(s) for s in SPACES]
    assert "perceptual (Oklab, weighted where errors show), default" in at.selectbox(key="space").options
    assert at.selectbox(key="dither").value == DEFAULT_DITHER
    assert len(at.selectbox(key="dither").options) == len(DITHERS)
    assert at.number_input(key="seed").value == DEFAULT_SEED
    assert at.text_input(key="lock").value == ""
    assert at.color_picker(key="lock_pick").value
    assert at.file_uploader(key="upload") is not None  # on the page itself: no sidebar to open on a phone
    assert not at.sidebar.children
    assert "50 MB and 50 megapixels" in at.file_uploader(key="upload").help


def test_example_image_is_shown_before_any_upload():
    at = new_app().run()
    assert_no_failure(at)
    assert not at.error
    assert any(s.value == f"china.jpg: 640×427 pixels, k = {DEFAULT_K}" for s in at.subheader)
    assert metrics(at)["Colours used"] == str(DEFAULT_K)
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download PNG"] + PALETTE_LABELS


# ---- the numbers shown are the core's ----------------------------------------------------------------
def test_upload_shows_the_cores_numbers(photo):
    at = upload(new_app().run(), "astronaut.png", photo)
    assert_no_failure(at)
    assert not at.error
    r = quantize(photo, DEFAULT_K, space=DEFAULT_SPACE, dither=DEFAULT_DITHER, seed=DEFAULT_SEED)
    shown = metrics(at)
    assert {key: shown[key] for key in expected_metrics(r, len(photo))} == expected_metrics(r, len(photo))
    assert any(s.value == f"astronaut.png: 160×160 pixels, k = {DEFAULT_K}" for s in at.subheader)
    # the palette shown and offered for copying is the core's, by share
    assert at.code[0].value == ", ".join(r.palette.hex)


def test_every_option_reaches_the_core(photo):
    at = upload(new_app().run(), "astronaut.png", photo)
    at.number_input(key="k").set_value(8)
    at.selectbox(key="space").set_value("rgb")
    at.selectbox(key="dither").set_value("fs")
    at.number_input(key="seed").set_value(3)
    at.text_input(key="lock").set_value("#ff0000")
    at.run()
    assert_no_failure(at)
    assert not at.error
    r = quantize(photo, 8, space="rgb", dither="fs", seed=3, lock="#ff0000")
    shown = metrics(at)
    assert {key: shown[key] for key in expected_metrics(r, len(photo))} == expected_metrics(r, len(photo))
    assert "#ff0000" in at.code[0].value.split(", ")
    assert at.code[0].value == ", ".join(r.palette.hex)  # dithered: the files hold the PNG's palette


def test_palette_order_control(photo):
    at = upload(new_app().run(), "astronaut.png", photo)
    r = quantize(photo, DEFAULT_K)
    for order in ("hue", "lightness", "strip", "share"):
        at.selectbox(key="order").set_value(order).run()
        assert_no_failure(at)
        assert at.code[0].value == ", ".join(sort_palette(r.palette, order).hex)


def test_colour_picker_adds_a_locked_colour_only_when_one_is_picked():
    at = new_app().run()
    at.run()
    assert at.text_input(key="lock").value == ""  # the picker's start colour is never added by itself
    at.color_picker(key="lock_pick").set_value("#00ff00").run()
    assert at.text_input(key="lock").value == "#00ff00"
    at.color_picker(key="lock_pick").set_value("#0000ff").run()
    assert at.text_input(key="lock").value == "#00ff00, #0000ff"
    assert_no_failure(at)
    palette = at.code[0].value.split(", ")
    assert "#00ff00" in palette and "#0000ff" in palette


def test_target_delta_e_chooses_k_in_the_core(photo):
    at = upload(new_app().run(), "astronaut.png", photo)
    k_mode(at).set_value("target").run()
    at.slider(key="target_de").set_value(4.0).run()
    assert_no_failure(at)
    k, r = smallest_k_for_delta_e(photo, 4.0, space=DEFAULT_SPACE, dither=DEFAULT_DITHER, seed=DEFAULT_SEED)
    assert [s.value for s in at.success] == [
        f"k = {k} is the smallest k whose mean ΔE ({r.delta_e:.2f}) is at most 4.0."]
    assert metrics(at)["Mean ΔE (CIEDE2000)"] == f"{r.delta_e:.2f}"
    assert any(s.value == f"astronaut.png: 160×160 pixels, k = {k}" for s in at.subheader)


def test_unreachable_target_is_a_warning_not_a_failure():
    # 2000 random colours: 256 of them cannot reach a mean ΔE of 0.5
    rng = np.random.default_rng(0)
    noisy = png_bytes(rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8))
    at = upload(new_app().run(), "noise.png", noisy)
    k_mode(at).set_value("target").run()
    at.slider(key="target_de").set_value(0.5).run()
    assert_no_failure(at)
    assert len(at.warning) == 1 and at.warning[0].value.startswith("Even k = 256 leaves a mean ΔE of")


def test_quality_curve_on_demand(photo):
    small = png_bytes(Image.open(io.BytesIO(photo)).resize((48, 48)))
    at = upload(new_app().run(), "small.png", small)
    assert not at.dataframe  # computed only when asked
    at.button(key="curve").click().run()
    assert_no_failure(at)
    df = at.dataframe[0].value
    assert list(df["k"]) == [2, 4, 8, 16, 32, 64, 128, 256]
    r = quantize(small, 16)
    row = df[df["k"] == 16].iloc[0]
    assert row["PSNR (dB)"] == pytest.approx(r.psnr, abs=1e-3)
    assert row["mean ΔE"] == pytest.approx(r.delta_e, abs=1e-3)
    assert row["PNG size (kB)"] == pytest.approx(r.png_bytes / 1e3, abs=1e-3)
    # it stays up on the next rerun for the same image and options
    at.selectbox(key="order").set_value("hue").run()
    assert len(at.dataframe) == 1


def test_clicking_a_swatch_locks_and_unlocks_it(photo):
    at = upload(new_app().run(), "astronaut.png", photo)
    r = quantize(photo, DEFAULT_K)
    button = at.button(key="sw_2")
    # the swatch shows the core's colour and no lock mark yet (both must hold: the old form,
    # `A and B or not C`, passed whenever the icon was empty, whatever the label said)
    assert button.label.startswith(r.palette.hex[2])
    assert not button.icon
    button.click().run()
    assert_no_failure(at)
    assert at.text_input(key="lock").value == r.palette.hex[2]
    locked = quantize(photo, DEFAULT_K, lock=r.palette.hex[2])
    assert at.code[0].value == ", ".join(locked.palette.hex)  # the core's palette with that colour locked
    i = locked.palette.hex.index(r.palette.hex[2])
    assert at.button(key=f"sw_{i}").icon == ":material/lock:"
    assert sum(bool(at.button(key=f"sw_{j}").icon) for j in range(len(locked.palette))) == 1
    at.button(key=f"sw_{i}").click().run()
    assert at.text_input(key="lock").value == ""


def test_locked_colour_the_image_lacks_is_marked():
    flat = np.zeros((20, 30, 3), np.uint8)
    flat[:, 10:20] = (255, 0, 0)
    flat[:, 20:] = 255
    at = upload(new_app().run(), "flag.png", png_bytes(flat))
    at.text_input(key="lock").set_value("#00ff00").run()
    assert_no_failure(at)
    marks = {b.label.split()[0]: b.label.split(None, 1)[1] for b in at.button if b.key and b.key.startswith("sw_")}
    assert marks["#00ff00"] == "not in image"
    assert all(text.endswith("%") for hx, text in marks.items() if hx != "#00ff00")


def test_dithering_keeps_one_palette(photo):
    """Dithering never moves the colours: the swatches, the files and the PNG hold one palette."""
    at = upload(new_app().run(), "astronaut.png", photo)
    at.selectbox(key="dither").set_value("fs").run()
    assert_no_failure(at)
    r = quantize(photo, DEFAULT_K, dither="fs")
    assert not any("moved" in c.value for c in at.caption)
    assert not [w for w in at.get("button_group") if w.key == "which_palette"]
    assert at.code[0].value == ", ".join(r.palette.hex)


def test_every_dithering_and_the_bayer_size_reach_the_core(photo):
    """The same choices as the CLI; the Bayer size is offered for Bayer only, and kept in the URL."""
    at = upload(new_app().run(), "astronaut.png", photo)
    assert at.selectbox(key="dither").options == [labels.dither_label(d) for d in DITHERS]
    assert not [w for w in at.selectbox if w.key == "bayer_size"]
    for dither, size in (("bluenoise", 8), ("bayer", 8), ("bayer", 4)):
        at.selectbox(key="dither").set_value(dither).run()
        if dither == "bayer":
            box = at.selectbox(key="bayer_size")
            assert box.options == [labels.bayer_size_label(n) for n in BAYER_SIZES]
            box.set_value(size).run()
        assert_no_failure(at)
        assert not at.error
        r = quantize(photo, DEFAULT_K, dither=dither, bayer_size=size)
        shown = metrics(at)
        assert {key: shown[key] for key in expected_metrics(r, len(photo))} == expected_metrics(r, len(photo))
        assert at.code[0].value == ", ".join(r.palette.hex)
    assert at.query_params["bayer_size"] == "4" and at.query_params["dither"] == "bayer"
    at.selectbox(key="dither").set_value("fs").run()
    assert not [w for w in at.selectbox if w.key == "bayer_size"] and "bayer_size" not in at.query_params


def test_bayer_size_from_a_shared_link(photo):
    at = new_app()
    at.query_params["dither"] = "bayer"
    at.query_params["bayer_size"] = "2"
    at.run()
    assert_no_failure(at)
    assert at.selectbox(key="dither").value == "bayer" and at.selectbox(key="bayer_size").value == 2


def test_file_that_is_not_an_image():
    at = upload(new_app().run(), "photo.png", b"GIF? no: just some text that came with a .png name")
    assert_one_error(at, "photo.png is not an image kmq can read (PNG, JPEG, WebP, TIFF, BMP, GIF)")


def test_corrupt_png():
    at = upload(new_app().run(), "photo.png", b"\x89PNG\r\n\x1a\nnot really a png")
    assert_no_failure(at)
    assert len(at.error) == 1 and at.error[0].value.startswith("photo.png cannot be read as an image: ")


def test_truncated_file(photo):
    at = upload(new_app().run(), "cut.png", photo[: len(photo) // 2])
    assert_no_failure(at)
    assert len(at.error) == 1 and at.error[0].value.startswith("cut.png is damaged or truncated")


def test_empty_file():
    at = upload(new_app().run(), "empty.png", b"")
    assert_one_error(at, "empty.png is empty (0 bytes)")


def test_too_many_pixels():
    huge = png_bytes(Image.new("1", (8000, 7000)))  # 56 megapixels, a few kB as PNG
    at = upload(new_app().run(), "huge.png", huge)
    assert_no_failure(at)
    assert len(at.error) == 1
    assert at.error[0].value.startswith(
        "huge.png has 8000×7000 = 56.0 megapixels, more than the limit of 50 megapixels")


def test_too_large_file():
    at = upload(new_app().run(), "big.png", b"\0" * (50 * 1024 * 1024 + 1))
    assert_one_error(at, "big.png is 52.4 MB, more than the limit of 50 MB.")


def test_bad_locked_colour():
    at = new_app().run()
    at.text_input(key="lock").set_value("#12345z").run()
    assert_one_error(at, "not a colour: '#12345z' (expected a hex code like #ff8800)")


def test_too_many_locked_colours_for_k():
    at = new_app().run()
    at.number_input(key="k").set_value(2)
    at.text_input(key="lock").set_value("#000000, #ffffff, #ff0000").run()
    assert_one_error(at, "3 locked colours do not fit in a palette of k=2")


def test_kmeans_animation_on_demand(photo):
    at = upload(new_app().run(), "astronaut.png", photo)

    def animations():
        return [i for e in at.get("image") for i in e.proto.imgs if i.url.endswith(".gif")]

    assert not animations()  # run only when asked
    at.button(key="steps").click().run()
    assert_no_failure(at)
    from kmq_core.progression import lloyd_snapshots

    shots = list(lloyd_snapshots(photo, DEFAULT_K, space=DEFAULT_SPACE, seed=DEFAULT_SEED, max_iter=40))
    [gif] = animations()  # sent as a GIF, so it animates
    assert gif.caption == f"{len(shots)} frames: seeds (k-means++) … final palette"


def test_curve_of_a_flat_graphic_with_exact_results():
    # five colours: from k=8 on the result is exact (PSNR infinite), which must not break the chart
    colours = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 128, 255], [40, 200, 40]], np.uint8)
    flat = png_bytes(colours[np.random.default_rng(1).integers(0, 5, size=(30, 40))])
    at = upload(new_app().run(), "flat.png", flat)
    assert metrics(at)["PSNR"] == "∞" and metrics(at)["Mean ΔE (CIEDE2000)"] == "0.00"
    at.button(key="curve").click().run()
    assert_no_failure(at)
    df = at.dataframe[0].value
    assert list(df["colours used"]) == [2, 4, 5, 5, 5, 5, 5, 5]
    assert np.isinf(df["PSNR (dB)"].iloc[-1])


# ---- animations ------------------------------------------------------------------------------------
def _clip_apng(n: int = 6) -> bytes:
    photo = data.astronaut()
    frames = [Image.fromarray(photo[100 + 3 * i:172 + 3 * i, 150 + 4 * i:246 + 4 * i]) for i in range(n)]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], duration=80, loop=0)
    return buf.getvalue()


def test_animated_upload_plays_before_and_after_in_the_shared_palette():
    import base64
    import re

    from kmq_core.animation import fit_animation_palette, quantize_animation

    clip = _clip_apng()
    at = upload(new_app().run(), "clip.png", clip)
    assert_no_failure(at)
    assert not at.error
    assert any("**Animation**: 6 frames" in m.value for m in at.markdown)
    pal = fit_animation_palette(clip, DEFAULT_K)
    # the palette shown is the one of all frames, and the GIF the page plays and offers uses it
    assert set(at.code[0].value.split(", ")) == set(pal.hex)
    html = [h.proto.body for h in at.get("html") if "kmq-animation" in h.proto.body]
    assert len(html) == 1
    uris = re.findall(r'src="data:(image/[a-z]+);base64,([^"]+)"', html[0])
    assert [m for m, _ in uris] == ["image/png", "image/gif"]
    assert base64.b64decode(uris[0][1]) == clip
    gif = base64.b64decode(uris[1][1])
    expected = quantize_animation(clip, palette=pal)
    with Image.open(io.BytesIO(gif)) as im:
        assert im.n_frames == 6
        for i in range(6):
            im.seek(i)
            assert np.array_equal(np.asarray(im.convert("RGBA")), expected.frame_rgba(i))
    assert "Download GIF" in [b.label for b in at.get("download_button")]


# ---- moods and the emphasis region (issue 27) ------------------------------------------------------
def test_mood_select_offers_the_cores_moods_and_reaches_the_core(photo):
    from kmq_core.options import MOODS

    at = upload(new_app().run(), "astronaut.png", photo)
    mood = at.selectbox(key="mood")
    assert mood.value == "none" and mood.options == [labels.mood_label(m) for m in (None, *MOODS)]
    assert mood.options[0] == "none: closest to the image, default"
    at.number_input(key="k").set_value(5)
    for m in ("colorful", "dark"):
        at.selectbox(key="mood").set_value(m)
        at.run()
        assert_no_failure(at)
        assert not at.error
        assert at.code[0].value == ", ".join(quantize(photo, 5, mood=m).palette.hex)


def test_emphasis_region_reaches_the_core_and_clears(photo):
    from kmq_app import emphasis
    from kmq_core.importance import region_mask

    at = upload(new_app().run(), "astronaut.png", photo)
    at.number_input(key="k").set_value(6).run()
    plain = at.code[0].value
    # two clicks on the image while marking (the viewer's trigger, as the browser test clicks it)
    at.toggle(key=emphasis.MARKING).set_value(True).run()
    image_id = at.session_state["_shown_image"]
    for x, y in ((100.4, 20.2), (60.0, 70.9)):
        assert emphasis.click(at.session_state, x, y, (160, 160), image_id)
    at.run()
    assert_no_failure(at)
    assert at.toggle(key=emphasis.MARKING).value is False  # the second corner ends the marking
    box = (60, 20, 101, 71)
    assert any(c.value == "Emphasis: x 60–101, y 20–71" for c in at.caption)
    weighed = quantize(photo, 6, importance=region_mask((160, 160), box)).palette.hex
    assert at.code[0].value == ", ".join(weighed) != plain
    at.button(key="emphasis_clear").click().run()
    assert at.code[0].value == plain and not any(c.value.startswith("Emphasis:") for c in at.caption)
