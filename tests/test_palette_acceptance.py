"""Real-application acceptance: GIMP 3.0 reads the palette files kmq writes.

``.gpl`` goes through GIMP's palettes folder (read at start-up, listed through
libgimp) and through GIMP's importer; ``.ase``, ``.aco`` and ``.act`` through
GIMP's own importer (Palettes ▸ Import), called inside the real binary by the
probe in ``tests/gimp``. Each test compares what GIMP reports (palette name,
entry names, 8-bit colours, order) with what kmq wrote.

Needs root and the GIMP 3 chroot (``tests/gimp_harness.py`` builds it); without
them the tests are skipped, and with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gimp_harness import GimpPaletteError, gimp_import_palette, gimp_load_gpl, gimp_root
from kmq_core.formats import act, aco, ase, gpl, write_palette
from kmq_core.formats._common import binary_name, entry_name
from kmq_core.palette import Palette
from kmq_core.palette_ops import name_colors

AWKWARD = (" leading space", "trailing space ", "Ünïcødé ✓", "漢字", "😀 emoji", "tab\there", "", "#123456",
           "two\nlines", "Untitled", "שלום", "a" * 200)
# the probe prints one entry per line, so .ase names checked through it must not hold line breaks
ONE_LINE_NAMES = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30)


@pytest.fixture(scope="module", autouse=True)
def _gimp():
    gimp_root()  # skip (or fail under CI=true) once, before any file is written


def awkward_palette(n: int = len(AWKWARD), name: str = "kmq acceptance ✓") -> Palette:
    rng = np.random.default_rng(n)
    colors = rng.integers(0, 256, (n, 3)).astype(np.uint8)
    colors[:3] = np.array([[0, 0, 0], [255, 255, 255], [1, 254, 128]])[:n]
    names = tuple(AWKWARD[i % len(AWKWARD)] + ("" if i < len(AWKWARD) else f" {i}") for i in range(n))
    return Palette(colors, names=names, name=name)


def rgb_list(p: Palette) -> list[tuple[int, int, int]]:
    return [tuple(int(v) for v in c) for c in p.colors]


@pytest.mark.parametrize("n", [len(AWKWARD), 256])
def test_gpl_in_gimp_palettes_folder(tmp_path, n):
    p = awkward_palette(n)
    path = write_palette(p, tmp_path / "kmq-accept.gpl")
    name, entries = gimp_load_gpl(path)
    assert name == gpl.palette_name(p.name)
    assert entries == [(entry_name(s, c), rgb) for s, c, rgb in zip(p.names, p.colors, rgb_list(p))]


def test_gpl_through_gimp_importer(tmp_path):
    p = awkward_palette()
    name, entries = gimp_import_palette(write_palette(p, tmp_path / "kmq-accept.gpl"))
    assert name == gpl.palette_name(p.name)
    assert entries == [(entry_name(s, c), rgb) for s, c, rgb in zip(p.names, p.colors, rgb_list(p))]


@pytest.mark.parametrize("n", [1, 2, len(AWKWARD), 256])
def test_ase_through_gimp_importer(tmp_path, n):
    p = awkward_palette(n)
    p = Palette(p.colors, names=tuple(s.replace("\n", " ") for s in p.names), name=p.name)
    name, entries = gimp_import_palette(write_palette(p, tmp_path / "kmq-accept.ase"))
    assert name == ase.palette_name(p.name)
    assert entries == [(binary_name(s, c), rgb) for s, c, rgb in zip(p.names, p.colors, rgb_list(p))]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrays(np.uint8, st.tuples(st.integers(1, 64), st.just(3))), st.data())
def test_ase_random_palettes_through_gimp_importer(tmp_path, colors, data):
    names = tuple(data.draw(st.lists(ONE_LINE_NAMES, min_size=len(colors), max_size=len(colors))))
    p = Palette(colors, names=names, name="kmq " + data.draw(ONE_LINE_NAMES))
    name, entries = gimp_import_palette(write_palette(p, tmp_path / "random.ase"))
    assert name == ase.palette_name(p.name)
    assert entries == [(binary_name(s, c), rgb) for s, c, rgb in zip(p.names, p.colors, rgb_list(p))]


def test_fitted_style_names_through_gimp(tmp_path):
    p = name_colors(awkward_palette(16))
    for ext in ("gpl", "ase"):
        _, entries = gimp_import_palette(write_palette(p, tmp_path / f"named.{ext}"))
        assert [e[0] for e in entries] == list(p.names)


@pytest.mark.parametrize("n", [1, len(AWKWARD), 256])
def test_aco_through_gimp_importer(tmp_path, n):
    # GIMP 3.0.4 reads the version 1 block only and ignores names (a TODO in its source):
    # colours and order must match exactly, and the version 2 block must not add entries.
    p = awkward_palette(n)
    name, entries = gimp_import_palette(write_palette(p, tmp_path / "kmq-accept.aco"))
    assert name == "kmq-accept.aco"
    assert [rgb for _, rgb in entries] == rgb_list(p)


@pytest.mark.parametrize("n", [1, len(AWKWARD), 256])
def test_act_through_gimp_importer(tmp_path, n):
    # kmq writes the 768-byte form; GIMP takes all 256 slots, so the padding must
    # repeat the last colour (no colour that is not in the palette appears)
    p = awkward_palette(n)
    name, entries = gimp_import_palette(write_palette(p, tmp_path / "kmq-accept.act"))
    got = [rgb for _, rgb in entries]
    assert len(got) == act.SLOTS
    assert got[:n] == rgb_list(p)
    assert set(got[n:]) <= {rgb_list(p)[-1]}


def test_gimp_refuses_the_772_byte_act_form(tmp_path):
    # why kmq writes the 768-byte form: Photoshop's own form with the count trailer
    path = tmp_path / "photoshop.act"
    path.write_bytes(act.write(awkward_palette(4)) + (4).to_bytes(2, "big") + b"\xff\xff")
    with pytest.raises(GimpPaletteError, match="Unknown type"):
        gimp_import_palette(path)


def test_kmq_reads_back_what_gimp_would(tmp_path):
    # the same files read by kmq give the same colours GIMP reported
    p = awkward_palette()
    for module, ext in ((gpl, "gpl"), (ase, "ase"), (aco, "aco")):
        path = write_palette(p, tmp_path / f"back.{ext}")
        _, entries = gimp_import_palette(path)
        assert rgb_list(module.read(path.read_bytes())) == [rgb for _, rgb in entries]
