import numpy as np

from kmq_core.dithering import floyd_steinberg


def test_two_colour_dither_of_mid_grey_is_half_and_half():
    img = np.full((32, 32, 3), 128, np.uint8)
    labels = floyd_steinberg(img, np.array([[0, 0, 0], [255, 255, 255]], np.uint8))
    assert set(np.unique(labels)) == {0, 1}
    assert abs(labels.mean() - 128 / 255) < 0.03


def test_labels_stay_below_palette_size_and_rgba_ok():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (20, 20, 4), dtype=np.uint8)
    pal = np.array([[255, 0, 0], [0, 0, 255], [255, 0, 0]], np.uint8)
    labels = floyd_steinberg(img, pal)
    assert labels.shape == (20, 20) and labels.max() < 3


# --- refine_for_dither --------------------------------------------------------

import pytest  # noqa: E402

from benchmarks.images import photo  # noqa: E402
from benchmarks.metrics import blur  # noqa: E402
from kmq_core import quantize  # noqa: E402
from kmq_core.dithering import refine_for_dither  # noqa: E402
from kmq_core.fitting import fit_palette  # noqa: E402


@pytest.fixture(scope="module")
def chelsea():
    return photo("chelsea")[::2, ::2].copy()  # 150×226: fast


def _blurred_sse(img, out):
    d = blur(img) - blur(out)
    return float((d.astype(np.float64) ** 2).sum())


def test_refined_palette_dithers_closer_to_the_image(chelsea):
    pal = fit_palette(chelsea, 16, seed=0).colors
    before = _blurred_sse(chelsea, pal[floyd_steinberg(chelsea, pal)])
    colors, labels = refine_for_dither(chelsea, pal)
    assert colors.shape == pal.shape and colors.dtype == np.uint8
    assert np.array_equal(labels, floyd_steinberg(chelsea, colors))
    assert _blurred_sse(chelsea, colors[labels]) < 0.9 * before


def test_refinement_is_deterministic_and_keeps_fixed_colours(chelsea):
    pal = fit_palette(chelsea, 8, seed=0).colors
    fixed = np.zeros(len(pal), bool)
    fixed[[0, 3]] = True
    a = refine_for_dither(chelsea, pal, fixed=fixed)
    b = refine_for_dither(chelsea, pal, fixed=fixed)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(a[0][fixed], pal[fixed])


def test_large_images_are_refined_on_row_bands(chelsea):
    pal = fit_palette(chelsea, 8, seed=0).colors
    colors, labels = refine_for_dither(chelsea, pal, max_pixels=chelsea.shape[1] * 70)
    assert labels is None and colors.shape == pal.shape


def test_alpha_and_256_colours(chelsea):
    rgba = np.dstack([chelsea, np.where(np.arange(chelsea.shape[1]) < 40, 0, 255).astype(np.uint8)[None].repeat(len(chelsea), 0)])
    pal = np.random.default_rng(0).integers(0, 256, (256, 3), dtype=np.uint8)
    colors, labels = refine_for_dither(rgba, pal)
    assert colors.shape == (256, 3) and labels.dtype == np.uint8 and labels.shape == chelsea.shape[:2]


def test_quantize_fs_uses_the_refined_palette(chelsea):
    r = quantize(chelsea, 16, dither="fs", lock="#ff0000")
    assert np.array_equal(r.image, r.palette.colors[r.labels])
    assert "#ff0000" in r.palette.hex
    assert abs(r.palette.weights.sum() - 1) < 1e-9
    assert np.all(np.diff(r.palette.weights[r.palette.weights > 0]) <= 0)  # most used first
    plain = quantize(chelsea, 16, lock="#ff0000")
    assert _blurred_sse(chelsea, r.image) < _blurred_sse(chelsea, plain.palette.colors[floyd_steinberg(chelsea, plain.palette.colors)])
    again = quantize(chelsea, 16, dither="fs", lock="#ff0000")
    assert np.array_equal(again.labels, r.labels) and again.png == r.png


def test_hidden_rgb_under_transparent_pixels_changes_nothing(chelsea):
    """What lies under alpha 0 neither leaks into the dither nor into the refined palette."""
    h, w = chelsea.shape[:2]
    alpha = np.where((np.arange(w)[None, :] // 16 + np.arange(h)[:, None] // 16) % 3 == 0, 0, 255).astype(np.uint8)
    black = np.dstack([np.where(alpha[..., None] == 0, 0, chelsea), alpha])
    noise = np.random.default_rng(3).integers(0, 256, chelsea.shape, dtype=np.uint8)
    noisy = np.dstack([np.where(alpha[..., None] == 0, noise, chelsea), alpha])
    a, b = quantize(black, 16, dither="fs"), quantize(noisy, 16, dither="fs")
    assert len(a.palette) == 16
    assert np.array_equal(a.palette.colors, b.palette.colors)
    visible = alpha > 0
    assert np.array_equal(a.labels[visible], b.labels[visible])
    # and the refinement still helps the visible pixels
    plain = fit_palette(black, 16).colors
    flat = plain[floyd_steinberg(black, plain)]
    mask = visible[..., None]
    assert _blurred_sse(chelsea * mask, a.palette.colors[a.labels] * mask) < _blurred_sse(chelsea * mask, flat * mask)


def test_least_squares_recovers_the_palette_of_an_exact_image():
    """When the image is palette[labels] exactly, the normal equations give the palette back.

    Both sides must treat the image border alike (zero outside); mirrored
    borders on one side only pushed the solution outwards by ~1 %.
    """
    from kmq_core.dithering import _normal_equations, _pair_blur

    rng = np.random.default_rng(5)
    pal = rng.integers(0, 256, (12, 3)).astype(np.float64)
    labels = rng.integers(0, 12, (37, 53)).astype(np.uint8)
    img = pal[labels].astype(np.float32)
    a, b, _ = _normal_equations(labels, 12, _pair_blur(img))
    np.testing.assert_allclose(np.linalg.solve(a, b), pal, atol=1e-3)


def test_rounds_continue_while_they_pay_and_tol_stops_them(chelsea):
    pal = fit_palette(chelsea, 16, seed=0).colors
    errs = []
    for rounds, tol in ((2, 0.0), (12, 0.005), (12, 0.5)):
        colors, labels = refine_for_dither(chelsea, pal, rounds=rounds, tol=tol)
        errs.append(_blurred_sse(chelsea, colors[labels]))
    two, many, stopped = errs
    assert many < 0.95 * two  # later rounds still gain on this image
    assert stopped >= two  # a 50 % tolerance stops after the first round


def test_one_round_is_the_least_squares_palette_of_the_first_dither():
    """refine_for_dither's step solves the same normal equations as above (border and kernel alike)."""
    from kmq_core.dithering import _gauss, _normal_equations, _pair_blur

    rng = np.random.default_rng(0)
    noise = np.clip(rng.normal(128, 40, (24, 32, 3)), 0, 255).astype(np.float32)
    img = np.clip(np.rint(_gauss(noise, 3.0)), 0, 255).astype(np.uint8)  # a small smooth image
    pal = np.array([[60, 60, 60], [200, 200, 200], [128, 90, 160], [100, 170, 110]], np.uint8)
    ridge = 1e-6
    colors, _ = refine_for_dither(img, pal, rounds=1, tol=0.0, ridge=ridge)
    a, b, cnt = _normal_equations(floyd_steinberg(img, pal), len(pal), _pair_blur(img.astype(np.float32)))
    d = ridge * cnt + 1e-6 * cnt.max()
    expected = np.clip(np.rint(np.linalg.solve(a + np.diag(d), b + d[:, None] * pal)), 0, 255)
    assert not np.array_equal(expected, pal)  # the step moves the palette ...
    assert np.array_equal(colors, expected)  # ... and refine keeps exactly that solution
