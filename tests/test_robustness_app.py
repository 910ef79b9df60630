"""Issue 7, the Streamlit app (headless AppTest): bad uploads are one ``st.error`` and the app stays usable.

Each bad corpus file is uploaded, the page must show exactly one error with
the core's message and no exception, and a good upload afterwards must work
in the same session. Odd but valid files must show the core's figures. The app
must not write uploads to disk, must sanitise download names, and must refuse
bad ``k`` values however they arrive (widgets, shared links' query parameters).
"""

from __future__ import annotations

import builtins
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # kmq_app sits beside streamlit_app.py

import numpy as np
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import corpus
from kmq_core import quantize

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".gif": "image/gif", ".tif": "image/tiff"}
APP_DEFAULT_K = 16


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=180).run()


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, MIME.get(Path(name).suffix.lower(), "image/png")))
    return at.run()


def assert_works(at: AppTest, name: str, w: int, h: int, k: int = APP_DEFAULT_K) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == []
    assert at.subheader[0].value == f"{name}: {w}×{h} pixels, k = {k}"


# ---------------------------------------------------------------- bad uploads
@pytest.mark.parametrize("key", corpus.bad_params())
def test_bad_upload_is_one_error_and_the_app_stays_usable(key):
    item = corpus.BAD[key]
    at = upload(new_app(), item.name, item.make())
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and item.message in errors[0] and errors[0].startswith(item.name), errors
    assert "\n" not in errors[0] and "Traceback" not in errors[0]
    assert len(at.metric) == 0  # nothing stale from an earlier image is shown
    # the same session goes on working with a good file
    data, _ = corpus.one_by_one()
    at = upload(at, "dot.png", data)
    assert_works(at, "dot.png", 1, 1)


@pytest.mark.parametrize("name", sorted(corpus.NOISY_TIFFS))
def test_tiff_that_makes_pillow_warn_is_one_error(name):
    make, message = corpus.NOISY_TIFFS[name]
    at = upload(new_app(), name, make())
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(name) and message in errors[0], errors


# ---------------------------------------------------------------- odd but valid uploads
@pytest.mark.parametrize("key", sorted(corpus.ODD))
def test_odd_upload_shows_the_cores_result(key):
    item = corpus.ODD[key]
    data, expected = corpus.odd_bytes(key)
    at = new_app()
    k = max(item.k, 2)
    if k != APP_DEFAULT_K:
        at.number_input(key="k").set_value(k)
    at = upload(at, item.name, data)
    h, w = expected.shape[:2]
    assert_works(at, item.name, w, h, k)
    r = quantize(data, k)
    assert {m.label: m.value for m in at.metric}["Colours used"] == str(r.colors_used)
    assert [i.value for i in at.info] == r.source.notes


def test_one_pixel_and_single_colour_uploads_give_exact_figures():
    at = upload(new_app(), "dot.png", corpus.one_by_one()[0])
    m = {x.label: x.value for x in at.metric}
    assert m["Colours used"] == "1" and m["PSNR"] == "∞" and m["Mean ΔE (CIEDE2000)"] == "0.00"
    at.number_input(key="k").set_value(64)
    at = upload(at, "flat.png", corpus.single_colour()[0])
    m = {x.label: x.value for x in at.metric}
    assert m["Colours used"] == "1" and m["PSNR"] == "∞"


# ---------------------------------------------------------------- bad k
@pytest.mark.parametrize("k", [str(k) for k in corpus.BAD_K] + ["16.5", "1e9", ""])
def test_bad_k_in_a_shared_link_falls_back_to_the_default(k):
    """k is bound to the URL (?k=...): a hand-edited link must not break the page or reach the core."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["k"] = k
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == []
    assert at.number_input(key="k").value == APP_DEFAULT_K
    assert at.subheader[0].value.endswith(f"k = {APP_DEFAULT_K}")


@pytest.mark.parametrize("k", [0, 257, -3])
def test_k_box_refuses_values_outside_what_the_core_offers(k):
    at = new_app()
    at.number_input(key="k").set_value(k).run()
    assert not at.exception and [e.value for e in at.error] == []
    assert at.number_input(key="k").value == APP_DEFAULT_K
    assert at.number_input(key="k").min == 1 and at.number_input(key="k").max == 256


# ---------------------------------------------------------------- no disk writes, safe names, limits
def test_uploads_are_never_written_to_disk(monkeypatch, tmp_path):
    """Every file opened for writing while the app handles an upload must be in a private temporary folder."""
    writes: list[str] = []
    real_open, real_os_open = builtins.open, os.open
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def spy_open(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and any(c in str(mode) for c in "wax+"):
            writes.append(os.fsdecode(file))
        return real_open(file, mode, *args, **kwargs)

    def spy_os_open(path, flags, *args, **kwargs):
        if flags & write_flags:
            writes.append(os.fsdecode(path))
        return real_os_open(path, flags, *args, **kwargs)

    at = new_app()
    data = corpus.photo_png()
    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    at = upload(at, "private.png", data)
    at.selectbox(key="order").set_value("hue").run()
    monkeypatch.undo()
    assert_works(at, "private.png", 128, 96)
    private = [w for w in writes if not Path(w).resolve().is_relative_to(Path(os.environ.get("TMPDIR", "/tmp")).resolve())]
    assert private == [], private


HOSTILE_NAMES = {
    "../../etc/passwd.png": "passwd",
    "..\\..\\Windows\\System32\\evil.png": "evil",
    "CON.png": "_CON",
    ".hidden.png": "hidden",
    "a<b>c:d|e?f*g\".png": "a_b_c_d_e_f_g_",
    "x" * 300 + ".png": "x" * 64,
    "line\nbreak\ttab.png": "linebreaktab",
    corpus.NON_ASCII_NAME: "фото café 写真",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_NAMES), ids=lambda n: n[:20].encode("unicode_escape").decode())
def test_download_names_are_sanitised(monkeypatch, name):
    seen: list[str | None] = []
    real = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None:
            seen.append(filename)
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    at = new_app()
    seen.clear()  # the example photo's downloads
    at = upload(at, name, corpus.one_by_one()[0])
    assert not at.exception and [e.value for e in at.error] == []
    stem = HOSTILE_NAMES[name]
    suffixes = [".png", ".gpl", ".ase", ".aco", ".act", ".json", ".css", ".hex", "-palette.png"]
    assert sorted(set(seen)) == sorted(f"{stem}-k{APP_DEFAULT_K}{s}" for s in suffixes), seen
    for f in seen:
        assert "/" not in f and "\\" not in f and not f.startswith(".") and f.isprintable()


def test_pixel_limit_refuses_a_real_decompression_bomb_before_decoding():
    """A 1-bit PNG of 60 000 × 1 000 = 60 MP (a few kB): over the app's 50 MP limit, refused from its header."""
    from PIL import Image

    bomb = corpus.encode(Image.new("1", (60_000, 1_000)), "PNG")
    assert len(bomb) < 100_000
    at = upload(new_app(), "bomb.png", bomb)
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("bomb.png has 60000×1000 = 60.0 megapixels, more than the limit of 50 megapixels")


def test_pixel_limit_message_in_the_app_gives_advice_the_app_can_follow():
    at = upload(new_app(), "bomb.png", corpus.png_header_bomb(20_000, 5_000))
    assert len(at.error) == 1 and "100.0 megapixels" in at.error[0].value
    assert "--max-pixels" not in at.error[0].value
