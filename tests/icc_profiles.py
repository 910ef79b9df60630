"""ICC profiles for the colour-management tests.

``display_p3()`` builds Apple's Display P3 as an ICC v4 matrix/TRC profile from
its published definition (SMPTE EG 432-1 P3 primaries R 0.680/0.320,
G 0.265/0.690, B 0.150/0.060, D65 white, the sRGB tone curve), adapted to the
ICC's D50 with the Bradford transform the ICC specification prescribes (its
``chad`` tag). No Debian or PyPI package ships a Display P3 file (colord-data
has Adobe RGB, ColorMatch, ProPhoto... but no P3), so it is written here and
checked against littleCMS and the published figures in tests/test_colour_management.py:
its colorants match Apple's "Display P3.icc" (rXYZ 0.5151 0.2412 -0.0011, ...)
to 4 decimals, and sRGB red goes to color(display-p3 0.9175 0.2003 0.1386), the
value in the CSS Color 4 specification.

``adobe_rgb()`` is a real file from a Debian package: colord-data's
``AdobeRGB1998.icc`` (installed by .ci/setup --test).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

P3_PRIMARIES = ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060))
D65 = (0.3127, 0.3290)
#: the ICC's profile connection space white (D50), as s15Fixed16 numbers
ICC_D50 = np.array([0.9642, 1.0, 0.8249])
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
#: the sRGB tone curve as an ICC parametric curve (type 3): g, a, b, c, d
SRGB_CURVE = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
ADOBE_RGB_FILE = Path("/usr/share/color/icc/colord/AdobeRGB1998.icc")


def _xyz(xy) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1 - x - y) / y])


def rgb_to_xyz_d50(primaries, white) -> np.ndarray:
    """3×3 matrix, columns = the colorants adapted to D50 (what rXYZ/gXYZ/bXYZ hold)."""
    p = np.stack([_xyz(c) for c in primaries], axis=1)
    w = _xyz(white)
    m = p * np.linalg.solve(p, w)  # scale the primaries so that RGB = 1 gives the white
    return chad(white) @ m


def chad(white) -> np.ndarray:
    """Bradford adaptation from ``white`` to the ICC D50."""
    src, dst = BRADFORD @ _xyz(white), BRADFORD @ ICC_D50
    return np.linalg.inv(BRADFORD) @ np.diag(dst / src) @ BRADFORD


def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _mluc(text: str) -> bytes:
    s = text.encode("utf-16-be")
    return b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(s), 28) + s


def matrix_profile(description: str, primaries, white, curve=SRGB_CURVE) -> bytes:
    """An ICC v4.3 display profile (matrix/TRC) for RGB ``primaries`` and ``white``."""
    m = rgb_to_xyz_d50(primaries, white)
    xyz = lambda v: b"XYZ " + b"\0" * 4 + b"".join(_s15(c) for c in v)  # noqa: E731
    para = b"para" + b"\0" * 4 + struct.pack(">HH", 3, 0) + b"".join(_s15(c) for c in curve)
    tags = [(b"desc", _mluc(description)), (b"cprt", _mluc("No copyright, use freely (CC0)")),
            (b"wtpt", xyz(ICC_D50)), (b"chad", b"sf32" + b"\0" * 4 + b"".join(_s15(c) for c in chad(white).ravel())),
            (b"rXYZ", xyz(m[:, 0])), (b"gXYZ", xyz(m[:, 1])), (b"bXYZ", xyz(m[:, 2])),
            (b"rTRC", para), (b"gTRC", para), (b"bTRC", para)]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table, body = struct.pack(">I", len(tags)), b""
    shared: dict[bytes, int] = {}
    for sig, data in tags:
        if data in shared:  # the three TRCs share one curve, as real profiles do
            table += sig + struct.pack(">II", shared[data], len(data))
            continue
        while (offset + len(body)) % 4:
            body += b"\0"
        shared[data] = offset + len(body)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = 128 + table_size + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x04300000) + b"mntr" + b"RGB " + b"XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"APPL" + b"\0" * 4 + b"\0" * 8 + b"\0" * 8
              + struct.pack(">I", 0) + b"".join(_s15(c) for c in ICC_D50) + b"kmq " + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + table + body


def display_p3() -> bytes:
    return matrix_profile("Display P3", P3_PRIMARIES, D65)


def adobe_rgb() -> bytes:
    return ADOBE_RGB_FILE.read_bytes()
