"""Colour management: embedded ICC profiles converted to sRGB (or kept), PNGs tagged.

The acceptance checks of issue 17 run through the real ``kmq`` command: a real photo
converted to Display P3 (and to Adobe RGB with colord-data's real profile) and embedded,
then shown as a colour-managed browser would show kmq's PNG, must be as close to the
sRGB original as kmq's result on the original itself (mean ΔE2000 within 0.1), and
swatches fitted to flat, saturated patches tagged with those profiles must be within
ΔE2000 1 of their true sRGB colours. Before this module kmq read the numbers as sRGB:
astronaut k=64 2.878 against 2.327, swatches up to 3.74 off (Adobe RGB: 6.91).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageCms
from skimage import data
from skimage.color import deltaE_ciede2000, rgb2lab

import icc_profiles
import kmq_core
from kmq_core.colour_management import is_srgb, png_params, profile_name, to_srgb_array, to_working_space
from kmq_core.loading import load_image
from needs_tool import missing

SRGB = ImageCms.createProfile("sRGB")
PATCHES = np.array([[230, 30, 30], [30, 160, 60], [40, 60, 200], [240, 200, 20], [200, 40, 180], [20, 180, 200]],
                   np.uint8)


def adobe_rgb() -> bytes:
    if not icc_profiles.ADOBE_RGB_FILE.exists():
        missing(f"{icc_profiles.ADOBE_RGB_FILE} (Debian package colord-data) not installed")
    return icc_profiles.adobe_rgb()


PROFILES = {"Display P3": icc_profiles.display_p3, "Adobe RGB": adobe_rgb}


def into(rgb: np.ndarray, icc: bytes) -> np.ndarray:
    """sRGB pixels re-encoded in profile ``icc`` (what a phone or camera file holds)."""
    t = ImageCms.buildTransform(SRGB, ImageCms.ImageCmsProfile(io.BytesIO(icc)), "RGB", "RGB",
                                renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return np.asarray(t.apply(Image.fromarray(rgb)))


def shown(png: bytes) -> np.ndarray:
    """What a colour-managed browser shows: an iCCP profile applied; sRGB chunk or none: as is."""
    img = Image.open(io.BytesIO(png))
    rgb = img.convert("RGB")
    icc = img.info.get("icc_profile")
    if icc:
        t = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)), SRGB, "RGB", "RGB",
                                    renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
        rgb = t.apply(rgb)
    return np.asarray(rgb)


def mean_de(a, b) -> float:
    lab = lambda x: rgb2lab(np.asarray(x, np.float64) / 255.0)  # noqa: E731
    return float(deltaE_ciede2000(lab(a), lab(b)).mean())


def kmq(*args, cwd=None):
    r = subprocess.run([sys.executable, "-m", "kmq_core.cli", *map(str, args)], capture_output=True, text=True,
                       cwd=cwd)
    assert r.returncode == 0, r.stderr
    return r.stdout


# ---------------------------------------------------------------- the profiles themselves
def test_display_p3_profile_is_apples_display_p3():
    icc = icc_profiles.display_p3()
    m = icc_profiles.rgb_to_xyz_d50(icc_profiles.P3_PRIMARIES, icc_profiles.D65)
    # Apple's "Display P3.icc" colorants (rXYZ gXYZ bXYZ), to 4 decimals
    assert np.allclose(m, [[0.5151, 0.2920, 0.1571], [0.2412, 0.6922, 0.0666], [-0.0011, 0.0419, 0.7841]],
                       atol=6e-5)
    # sRGB red in Display P3, as CSS Color 4 gives it: color(display-p3 0.9175 0.2003 0.1386)
    red = into(np.array([[[255, 0, 0]]], np.uint8), icc)[0, 0]
    assert np.abs(red - np.array([0.9175, 0.2003, 0.1386]) * 255).max() <= 1
    assert profile_name(icc) == "Display P3" and not is_srgb(icc)
    assert is_srgb(ImageCms.ImageCmsProfile(SRGB).tobytes())


# ---------------------------------------------------------------- acceptance, through the command
@pytest.mark.parametrize("which", PROFILES)
@pytest.mark.parametrize("k", [16, 64])
def test_tagged_photo_comes_out_as_close_as_the_srgb_original(tmp_path, which, k):
    icc = PROFILES[which]()
    original = data.astronaut()
    Image.fromarray(original).save(tmp_path / "srgb.png")
    Image.fromarray(into(original, icc)).save(tmp_path / "tagged.png", icc_profile=icc)
    kmq("quantize", tmp_path / "srgb.png", "-k", k, "-o", tmp_path / "a.png")
    info = json.loads(kmq("quantize", tmp_path / "tagged.png", "-k", k, "-o", tmp_path / "b.png", "--json"))
    assert f"colour profile {profile_name(icc)!r} converted to sRGB" in info["notes"]
    assert info["icc_profile"] is None  # the output is sRGB
    out = (tmp_path / "b.png").read_bytes()
    img = Image.open(io.BytesIO(out))
    assert img.info.get("srgb") == 0 and "icc_profile" not in img.info  # tagged sRGB
    reference = mean_de(original, shown((tmp_path / "a.png").read_bytes()))
    assert abs(mean_de(original, shown(out)) - reference) <= 0.1
    # the palette in --json is sRGB: it is what the PNG holds, and what is shown
    used = np.unique(np.asarray(img.convert("RGB")).reshape(-1, 3), axis=0)
    assert set(info["palette"]) == {"#%02x%02x%02x" % tuple(c) for c in used}


@pytest.mark.parametrize("which", PROFILES)
def test_swatches_of_tagged_patches_are_their_srgb_colours(tmp_path, which):
    icc = PROFILES[which]()
    patches = np.repeat(np.repeat(PATCHES.reshape(2, 3, 3), 40, 0), 40, 1)
    src = tmp_path / "patches.png"
    Image.fromarray(into(patches, icc)).save(src, icc_profile=icc)
    kmq("palette", src, "-k", 6, "-o", tmp_path / "p.hex", "-o", tmp_path / "p.gpl")
    from kmq_core.formats import read_palette

    for f in ("p.hex", "p.gpl"):
        swatches = read_palette(tmp_path / f).colors
        d = deltaE_ciede2000(rgb2lab(PATCHES[:, None, :] / 255.0), rgb2lab(swatches[None, :, :] / 255.0)).min(1)
        assert d.max() <= 1.0, d


def test_keep_profile_quantizes_in_its_space_and_embeds_it(tmp_path):
    icc = icc_profiles.display_p3()
    original = data.astronaut()
    p3 = into(original, icc)
    Image.fromarray(p3).save(tmp_path / "p3.png", icc_profile=icc)
    info = json.loads(kmq("quantize", tmp_path / "p3.png", "-k", 64, "-o", tmp_path / "keep.png", "--json",
                          "--profile", "keep"))
    assert info["icc_profile"] == "Display P3" and any("kept the colour profile" in n for n in info["notes"])
    out = (tmp_path / "keep.png").read_bytes()
    img = Image.open(io.BytesIO(out))
    assert img.info["icc_profile"] == icc and "srgb" not in img.info
    # the numbers are the P3 ones, quantized as they are: the same as quantizing the raw array
    assert np.array_equal(np.asarray(img.convert("RGB")), kmq_core.quantize(p3, 64).image)
    # and a colour-managed viewer shows them close to the original (not as P3 numbers read as sRGB)
    assert mean_de(original, shown(out)) < mean_de(original, np.asarray(img.convert("RGB"))) - 0.3


# ---------------------------------------------------------------- the module
def test_untagged_and_srgb_tagged_images_are_left_as_they_are():
    rgb = data.chelsea()
    notes: list[str] = []
    img, icc = to_working_space(Image.fromarray(rgb), notes)
    assert icc is None and notes == [] and np.array_equal(np.asarray(img), rgb)
    tagged = Image.fromarray(rgb)
    tagged.info["icc_profile"] = ImageCms.ImageCmsProfile(SRGB).tobytes()
    img, icc = to_working_space(tagged, notes)
    assert icc is None and notes == [] and np.array_equal(np.asarray(img), rgb)  # no needless rounding


def test_unreadable_profile_is_a_note_not_a_failure(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(data.chelsea()[:64, :64]).save(buf, "PNG", icc_profile=b"not a profile at all" * 8)
    src = load_image(buf.getvalue())
    assert any("unreadable" in n for n in src.notes) and src.icc_profile is None


def test_alpha_survives_the_conversion():
    icc = icc_profiles.display_p3()
    rgb = data.astronaut()[:64, :64]
    alpha = np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))
    img = Image.fromarray(np.dstack([into(rgb, icc), alpha]), "RGBA")
    img.info["icc_profile"] = icc
    out, kept = to_working_space(img, [])
    px = np.asarray(out)
    assert out.mode == "RGBA" and kept is None and np.array_equal(px[..., 3], alpha)
    assert np.abs(px[..., :3].astype(int) - rgb).max() <= 2  # back to the sRGB it came from


def test_a_jpeg_and_a_pil_image_with_a_profile_are_converted():
    icc = icc_profiles.display_p3()
    patches = np.repeat(np.repeat(PATCHES.reshape(2, 3, 3), 16, 0), 16, 1)
    buf = io.BytesIO()
    Image.fromarray(into(patches, icc)).save(buf, "JPEG", quality=98, subsampling=0, icc_profile=icc)
    for source in (buf.getvalue(), Image.open(io.BytesIO(buf.getvalue()))):
        src = load_image(source)
        assert "colour profile 'Display P3' converted to sRGB" in src.notes
        assert mean_de(src.pixels, patches) < 1.0


def test_grey_profile_on_a_colour_image_is_ignored_with_a_note():
    grey = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))  # not an RGB profile
    img = Image.fromarray(data.chelsea()[:16, :16])
    img.info["icc_profile"] = grey.tobytes()
    notes: list[str] = []
    out, icc = to_working_space(img, notes)
    assert icc is None and out is img and "ignored the ICC profile" in notes[0]


def test_png_params_tag_srgb_or_embed_the_profile():
    icc = icc_profiles.display_p3()
    labels = np.zeros((4, 4), np.uint8)
    for profile, key in ((None, "srgb"), (icc, "icc_profile")):
        png = kmq_core.encode_indexed_png(labels, np.array([[10, 20, 30]]), tags=png_params(profile))
        info = Image.open(io.BytesIO(png)).info
        assert key in info and ({"srgb", "icc_profile"} - {key}).isdisjoint(info)
    assert np.array_equal(to_srgb_array(np.full((2, 2, 3), 255, np.uint8), icc), np.full((2, 2, 3), 255))
