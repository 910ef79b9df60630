"""Atomic writes and output checks."""

import os

import numpy as np
import pytest

from kmq_core import KmqError, atomic_write, encode_indexed_png
from kmq_core.saving import check_output


def test_atomic_write_and_refusals(tmp_path):
    out = tmp_path / "a.png"
    atomic_write(out, b"one", force=False)
    assert out.read_bytes() == b"one"
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(KmqError, match="exists: pass force=True"):
        atomic_write(out, b"two", force=False)
    assert out.read_bytes() == b"one"
    atomic_write(out, b"two", force=True)
    assert out.read_bytes() == b"two"
    with pytest.raises(KmqError, match="refusing to overwrite the input"):
        check_output(out, force=True, inputs=[out])
    with pytest.raises(KmqError, match="is a folder"):
        check_output(tmp_path)
    with pytest.raises(KmqError, match="does not exist"):
        check_output(tmp_path / "nope" / "x.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]  # no temporary left


def test_unwritable_folder_leaves_nothing(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root ignores modes: use a path under a file instead
            target = tmp_path / "file" / "x.png"
            (tmp_path / "file").write_bytes(b"")
            with pytest.raises(KmqError):
                atomic_write(target, b"x")
        else:
            with pytest.raises(KmqError, match="cannot write"):
                atomic_write(ro / "x.png", b"x")
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_palette_sizes_pick_bit_depth():
    labels = np.zeros((4, 4), np.uint8)
    for n, depth in ((2, 1), (4, 2), (16, 4), (17, 8), (256, 8)):
        png = encode_indexed_png(labels, np.zeros((n, 3), np.uint8))
        assert png[24] == depth, n


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m
