"""Colour-vision deficiency: Machado et al. (2009) matrices, simulation of palettes and images,
confusable pairs."""

import numpy as np
import pytest

from kmq_core import cvd
from kmq_core.errors import KmqError

# Machado, Oliveira & Fernandes (2009), severity 1.0, typed again from the authors' table
# (https://www.inf.ufrgs.br/~oliveira/pubs_files/CVD_Simulation/CVD_Simulation.html; the same
# numbers are in colorspacious' cvd.py and colour-science's datasets/machado2009.py)
PAPER = {
    "protanopia": [[0.152286, 1.052583, -0.204868],
                   [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968],
                     [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779],
                   [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}


@pytest.mark.parametrize("name", cvd.DEFICIENCIES)
def test_matrices_are_the_papers(name):
    m = cvd.MACHADO_2009[name]
    assert m.tolist() == PAPER[name]
    assert np.allclose(m.sum(axis=1), 1.0, atol=2e-6)  # the model keeps white (and every grey) as it is


@pytest.mark.parametrize("name", ["protanopia", "deuteranopia"])
def test_red_green_dichromats_see_a_plane(name):
    # one cone type missing: the matrix has rank 2 (the paper's projection), so the
    # simulated colours of any image lie on a plane of RGB
    assert abs(np.linalg.det(cvd.MACHADO_2009[name])) < 1e-6


def _linear(c):
    c = np.asarray(c, np.float64) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _encode(lin):
    lin = np.clip(lin, 0.0, 1.0)
    return np.rint(255.0 * np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055))


@pytest.mark.parametrize("name", cvd.DEFICIENCIES)
def test_simulation_is_the_matrix_in_linear_rgb(name):
    rng = np.random.default_rng(7)
    colors = rng.integers(0, 256, (500, 3), dtype=np.uint8)
    expected = _encode(_linear(colors) @ np.array(PAPER[name]).T)
    got = cvd.simulate(colors, name)
    assert got.dtype == np.uint8 and got.shape == colors.shape
    assert np.abs(got.astype(int) - expected).max() <= 1  # float32 inside: at most a rounding step


def test_known_values():
    pal = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)
    # pure red loses its brightness for a protanope and turns olive; pure blue keeps most of its own
    assert cvd.simulate(pal, "protanopia").tolist() == [[109, 95, 0], [0, 89, 255]]
    assert cvd.simulate(pal, "deuteranopia").tolist() == [[163, 144, 0], [0, 61, 251]]
    assert cvd.simulate(pal, "tritanopia").tolist() == [[255, 0, 15], [0, 107, 150]]


def test_red_and_green_merge_for_deuteranopes_only():
    # matplotlib's red (#d62728) and a green of the same lightness: far apart for everyone else
    pal = np.array([[214, 39, 40], [0, 150, 0]], np.uint8)
    flagged = cvd.confusable_pairs(pal, "deuteranopia")
    assert len(flagged) == 1
    pair = flagged[0]
    assert (pair.i, pair.j) == (0, 1) and pair.delta_e < 3.0 and pair.delta_e_normal > 50
    assert cvd.confusable_pairs(pal, "tritanopia") == []


@pytest.mark.parametrize("name", cvd.DEFICIENCIES)
def test_black_and_white_are_never_confused(name):
    pal = np.array([[0, 0, 0], [255, 255, 255], [128, 128, 128]], np.uint8)
    assert cvd.simulate(pal, name).tolist() == pal.tolist()
    assert cvd.confusable_pairs(pal, name) == []


def test_threshold_and_order():
    pal = np.array([[214, 39, 40], [0, 150, 0], [2, 150, 0], [255, 255, 255]], np.uint8)
    flagged = cvd.confusable_pairs(pal, "deuteranopia")
    assert [(p.i, p.j) for p in flagged][:1] == [(1, 2)]  # two greens that simulate alike: closest first
    assert {(p.i, p.j) for p in flagged} == {(0, 1), (0, 2), (1, 2)}  # never white
    assert [p.delta_e for p in flagged] == sorted(p.delta_e for p in flagged)
    assert [(p.i, p.j) for p in cvd.confusable_pairs(pal, "deuteranopia", threshold=0.3)] == [(1, 2)]
    assert cvd.confusable_pairs(pal, "deuteranopia", threshold=0.0) == []  # strictly below
    assert cvd.confusable_pairs(pal[:1], "protanopia") == []


@pytest.mark.parametrize("channels", [3, 4])
def test_images_keep_shape_dtype_and_alpha(channels):
    rng = np.random.default_rng(11)
    img = rng.integers(0, 256, (37, 53, channels), dtype=np.uint8)
    for name in cvd.DEFICIENCIES:
        out = cvd.simulate(img, name)
        assert out.shape == img.shape and out.dtype == np.uint8
        if channels == 4:
            assert np.array_equal(out[..., 3], img[..., 3])
        # pixel by pixel the same as the palette path
        assert np.array_equal(out[..., :3].reshape(-1, 3), cvd.simulate(np.ascontiguousarray(img[..., :3]).reshape(-1, 3), name))


def test_large_images_are_done_in_blocks(monkeypatch):
    rng = np.random.default_rng(5)
    img = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    whole = cvd.simulate(img, "protanopia")
    monkeypatch.setattr(cvd, "_BLOCK", 1000)  # not a divisor of 4096: a short last block
    assert np.array_equal(cvd.simulate(img, "protanopia"), whole)


def test_bad_input_is_one_clear_error():
    with pytest.raises(KmqError, match="unknown colour-vision deficiency 'achromatopsia'.*normal, protanopia"):
        cvd.simulate(np.zeros((2, 3), np.uint8), "achromatopsia")
    assert cvd.check_deficiency(" Deuteranopia ") == "deuteranopia"
    with pytest.raises(KmqError, match="8-bit"):
        cvd.simulate(np.zeros((2, 3), np.float64), "protanopia")
    with pytest.raises(KmqError, match="3 or 4 channels"):
        cvd.simulate(np.zeros((2, 2), np.uint8), "protanopia")
    with pytest.raises(KmqError, match="n×3"):
        cvd.confusable_pairs(np.zeros((2, 4), np.uint8), "protanopia")
    with pytest.raises(KmqError, match="0-255"):
        cvd.confusable_pairs(np.array([[0, 0, 300]]), "protanopia")


def test_normal_vision_is_the_colours_as_they_are():
    pal = np.array([[214, 39, 40], [0, 150, 0], [2, 150, 0]], np.uint8)
    seen = cvd.simulate(pal, "normal")
    assert np.array_equal(seen, pal) and seen is not pal
    assert [(p.i, p.j) for p in cvd.confusable_pairs(pal, "normal")] == [(1, 2)]  # only the two greens
    assert cvd.VISIONS == ("normal", "protanopia", "deuteranopia", "tritanopia")


def test_pairs_of_huge_palettes_are_refused_not_computed():
    with pytest.raises(KmqError, match="65535 colours; pairs are compared for up to 1024"):
        cvd.confusable_pairs(np.zeros((65535, 3), np.uint8), "deuteranopia")
