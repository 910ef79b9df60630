"""kmq_core.formats: format lookup, read_palette/write_palette, atomic writes."""

import os

import numpy as np
import pytest

from kmq_core.errors import KmqError
from kmq_core.formats import FORMATS, format_for, palette_bytes, read_palette, write_palette
from kmq_core.palette import Palette

P = Palette(np.array([[255, 0, 0], [0, 128, 255], [9, 9, 9]]), np.array([0.5, 0.3, 0.2]), ("red", "sky", "ink"), "Sunset")


def test_known_formats():
    assert set(FORMATS) == {"gpl", "ase", "aco", "act", "json", "css", "hex", "txt", "png"}
    for module in FORMATS.values():
        assert callable(module.read) and callable(module.write)


def test_format_for():
    assert format_for("a/b/Palette.GPL") == "gpl"
    with pytest.raises(KmqError, match=r"'\.xyz'.*\.gpl.*\.ase"):
        format_for("x.xyz")
    with pytest.raises(KmqError, match="no extension"):
        format_for("palette")


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_write_then_read_every_format(tmp_path, ext):
    path = write_palette(P, tmp_path / f"p.{ext}")
    assert path == tmp_path / f"p.{ext}"
    q = read_palette(path)
    assert np.array_equal(q.colors, P.colors)
    if FORMATS[ext].HOLDS_NAMES:
        assert q.names == P.names
    # a file without a palette name is named after the file
    assert q.name in ("Sunset", "p")
    assert [f.name for f in tmp_path.iterdir()] == [f"p.{ext}"]  # no temp files left


@pytest.mark.parametrize("ext", sorted(set(FORMATS) - {"act", "txt"}))
def test_largest_palette_round_trips(ext):
    rng = np.random.default_rng(1)
    big = Palette(rng.integers(0, 256, (65535, 3)), rng.random(65535), tuple(f"c{i} ✓" for i in range(65535)), "big")
    q = read_palette(palette_bytes(big, ext), ext)
    assert np.array_equal(q.colors, big.colors) and q.names == big.names


def test_bytes_source_with_format_or_signature():
    for fmt in ("ase", "gpl", "png", "json"):
        assert read_palette(palette_bytes(P, fmt)) == P
    assert np.array_equal(read_palette(palette_bytes(P, "act"), "act").colors, P.colors)
    with pytest.raises(KmqError, match="cannot tell"):
        read_palette(palette_bytes(P, "act"))
    with pytest.raises(KmqError, match="unknown palette format"):
        palette_bytes(P, "bmp")


def test_atomic_overwrite_and_force(tmp_path):
    path = tmp_path / "p.gpl"
    path.write_text("old")
    write_palette(P, path)
    assert read_palette(path) == P
    with pytest.raises(KmqError, match="already exists"):
        write_palette(P, path, force=False)
    fresh = write_palette(P, tmp_path / "new.gpl", force=False)
    assert fresh.exists()
    assert sorted(f.name for f in tmp_path.iterdir()) == ["new.gpl", "p.gpl"]
    assert (os.stat(fresh).st_mode & 0o777) == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "p.act"
    path.write_bytes(b"old")
    with pytest.raises(KmqError, match="256"):
        write_palette(Palette(np.zeros((300, 3), np.uint8)), path)
    assert path.read_bytes() == b"old"
    assert [f.name for f in tmp_path.iterdir()] == ["p.act"]


def test_unwritable_and_missing_paths(tmp_path):
    with pytest.raises(KmqError, match=r"the folder .*missing does not exist"):
        write_palette(P, tmp_path / "missing" / "p.gpl")
    with pytest.raises(KmqError, match="cannot read"):
        read_palette(tmp_path / "absent.gpl")
    d = tmp_path / "dir.gpl"
    d.mkdir()
    with pytest.raises(KmqError):
        read_palette(d)
    with pytest.raises(KmqError):
        write_palette(P, d)
    assert [f.name for f in d.iterdir()] == []


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "big.hex"
    with open(path, "wb") as f:
        f.truncate(17 * 1024 * 1024)
    with pytest.raises(KmqError, match="too large"):
        read_palette(path)
