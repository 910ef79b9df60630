"""CSS custom properties: layout, exact round trips of any name, hand-written CSS, hostile input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmq_core.errors import KmqError
from kmq_core.formats import css
from kmq_core.palette import Palette
from palette_strategies import mutated, only_kmq_error, palettes

P = Palette(np.array([[255, 0, 0], [0, 128, 255]]), names=("red", "a */ b"), name="Sunset")


def test_layout():
    assert css.write(P).decode() == (
        '/* kmq palette: "Sunset" */\n'
        ":root {\n"
        '  --kmq-1: #ff0000; /* "red" */\n'
        '  --kmq-2: #0080ff; /* "a *\\/ b" */\n'
        "}\n"
    )


@settings(max_examples=60, deadline=None)
@given(palettes())
def test_round_trip_exact(p):
    assert css.read(css.write(p)) == p


def test_no_name_can_close_the_comment():
    p = Palette(np.zeros((1, 3), np.uint8), names=("*/ body { color: red } /*",), name="*/")
    text = css.write(p).decode()
    assert text.count("*/") == 2  # only the two comment ends kmq wrote
    assert css.read(text.encode()) == p


def test_reads_hand_written_css():
    data = b""":root {
  --brand: #123;   /* Brand blue */
  --gap: 4px;
  --accent:#FF8800;
}
.x { color: var(--brand); }
"""
    q = css.read(data)
    assert q.hex == ["#112233", "#ff8800"]
    assert q.names == ("Brand blue", "#ff8800")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "no '--name"),
        (b"body { color: red }", "no '--name"),
        (b"\xfe\xff", "UTF-8"),
        (b'--a: #000000; /* "unterminated */', "bad name"),
        (b"--a: #000000; /* 5 */ " + b" " * 70000, "too long"),
    ],
)
def test_refuses_bad_files(data, message):
    with pytest.raises(KmqError, match=message):
        css.read(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    only_kmq_error(css.read, data)
    only_kmq_error(css.read, b"--a: #000000; /* " + data)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fuzz_mutated_files(data):
    only_kmq_error(css.read, data.draw(mutated(css.write(P))))
