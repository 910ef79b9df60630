"""The app end to end in a real browser: Debian's Chromium driven by Playwright.

``streamlit run streamlit_app.py`` on a free port of 127.0.0.1; the browser
uploads real photos at a laptop's 1440×900 and a phone's 390×844, and drives
what a designer does: the first screen (image, whole palette and the PNG and
.ase buttons without scrolling, asserted from element positions), downloads
(each file parsed), click a swatch to lock it, the eyedropper, the k number
box and slider (the image never shows an old k unmarked), the before/after,
side-by-side and 1:1 views (the 1:1 pixels checked against the file), dithering's
two palettes, the quality MIN-MAX mode (its k the core's, the warning below MIN,
the range kept in the URL) and the colour-profile control (converted or kept, down
to the PNG's chunks), the WCAG contrast matrix and the colour-vision views (every cell
and flagged pair the core's, the simulated image holding only simulated palette colours),
a 12-megapixel upload with its progress bar, and cancelling long searches. Screenshots of each state and the measured times go to
``$KMQ_ARTIFACTS`` (default ``/tmp/kmq-artifacts``); the times are reported,
never asserted.

Skipped when Chromium or Playwright is missing, failed instead under CI=true.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

import icc_profiles
from kmq_core import quantize
from kmq_core.auto_k import quality_for_delta_e, smallest_k_for_quality
from kmq_core.errors import QualityTooLowError
from kmq_core.formats import read_palette
from kmq_core.picking import pick_color
from kmq_core.palette import Palette, parse_hex
from kmq_core.palette_ops import sort_palette
from needs_tool import missing, require_file

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("KMQ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: every palette format the page offers: button label -> (format for read_palette, file suffix)
PALETTE_BUTTONS = {
    "Download .gpl": ("gpl", ".gpl"),
    "Download .ase": ("ase", ".ase"),
    "Download .aco": ("aco", ".aco"),
    "Download .act": ("act", ".act"),
    "Download .json": ("json", ".json"),
    "Download .css": ("css", ".css"),
    "Download .hex": ("hex", ".hex"),
    "Download .png strip": ("png", "-palette.png"),
}
WAIT_MS = 120_000
DESK = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


# ---- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """Save files under pytest's tmp dir and, as they are written, in the public artifacts folder."""
    local = tmp_path_factory.mktemp("app-artifacts")
    public = Path(os.environ.get("KMQ_ARTIFACTS") or "/tmp/kmq-artifacts")
    public.mkdir(parents=True, exist_ok=True)

    def save(name: str, payload: bytes | str | None = None) -> Path:
        """Write ``payload`` (or take the file already at local/name) and copy it out."""
        path = local / name
        if isinstance(payload, str):
            path.write_text(payload, encoding="utf-8")
        elif payload is not None:
            path.write_bytes(payload)
        public.mkdir(parents=True, exist_ok=True)  # another run may have cleared it meanwhile
        shutil.copyfile(path, public / name)
        return path

    save.local = local  # type: ignore[attr-defined]
    return save


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    require_file(CHROMIUM, "Chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright (Python) is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def app_url(browser, tmp_path_factory):
    """The app served by a real ``streamlit run`` on 127.0.0.1 (the browser is checked first)."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer on {url}:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    text = log_path.read_text(errors="replace")
    assert "Traceback" not in text, f"the server logged an exception:\n{text}"


@pytest.fixture
def page(browser):
    context = browser.new_context(accept_downloads=True, viewport=DESK)
    p = context.new_page()
    errors = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    context.close()
    assert errors == [], errors


# ---- helpers -------------------------------------------------------------------------------------
def _photo(folder: Path, name: str, size: tuple[int, int] | None = None, base=data.coffee, square=None,
           **save) -> tuple[Path, np.ndarray]:
    """A real photo saved as ``name`` (resized; optionally a flat square (x, y, side, rgb) pasted in)."""
    img = Image.fromarray(base())
    if size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    px = np.asarray(img).copy()
    if square:
        x, y, side, rgb = square
        px[y:y + side, x:x + side] = rgb
    path = folder / name
    Image.fromarray(px).save(path, **save)
    with Image.open(path) as im:  # what the app decodes (a JPEG changes the pixels)
        return path, np.asarray(im.convert("RGB"))


def _settle(page) -> None:
    """Wait until no rerun is running and every image on the page has loaded."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)
    # the previous run's elements linger (dimmed, see PAGE_CSS) until the new run has replaced them
    expect(page.locator("[data-stale=true]")).to_have_count(0, timeout=WAIT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)", timeout=WAIT_MS)


def _shown(page) -> str | None:
    v = page.locator(".kv")
    return v.get_attribute("data-shown") if v.count() else None


def _wait_for_result(page, heading: str, previous: str | None = None) -> None:
    """The result called ``heading`` is on screen: page settled, the viewer's images decoded and timed."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=WAIT_MS)
    _settle(page)
    page.wait_for_function("prev => { const v = document.querySelector('.st-key-viewer_box');"
                           " const k = v && [...v.querySelectorAll('*')].map(e => e.shadowRoot).find(Boolean);"
                           " const r = k && k.querySelector('.kv'); return r && r.dataset.shown &&"
                           " r.dataset.shown !== prev && k.querySelector('.kv-time').dataset.total; }",
                           arg=previous or "", timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Download PNG", exact=True)).to_be_visible(timeout=WAIT_MS)


def _upload(page, path: Path) -> None:
    box = page.get_by_test_id("stFileUploaderDropzoneInput")
    box.wait_for(state="attached", timeout=WAIT_MS)
    box.set_input_files(str(path))


def _shot(page, artifacts, name: str, full: bool = False, settle: bool = True) -> None:
    """A screenshot of the viewport (what is seen without scrolling), or of the whole page."""
    if settle:
        _settle(page)
    if full:  # the app scrolls inside its main block: grow the viewport to the content first
        size = page.viewport_size
        height = page.evaluate("() => Math.max(...[...document.querySelectorAll("
                               "'[data-testid=stMain], [data-testid=stMainBlockContainer], body')]"
                               ".map(e => e.scrollHeight))")
        page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 12000)})
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts.local / name), full_page=True)
        page.set_viewport_size(size)
        page.wait_for_timeout(300)
    else:
        page.screenshot(path=str(artifacts.local / name))
    artifacts(name)


def _download(page, label: str, folder: Path) -> Path:
    button = page.get_by_role("button", name=label, exact=True)
    with page.expect_download(timeout=WAIT_MS) as d:
        button.click()
    path = folder / d.value.suggested_filename
    d.value.save_as(path)
    return path


def _swatches(page) -> list[dict]:
    """The palette as shown: hex, the share text, and the marks, in display order."""
    return page.evaluate(
        "() => [...document.querySelectorAll('[class*=\"st-key-sw_\"] button')].filter(b => b.offsetParent)"
        ".map(b => ({hex: b.innerText.match(/#[0-9a-f]{6}/)[0], text: b.innerText,"
        " locked: !!b.querySelector('[data-testid=stIconMaterial]'), dashed: getComputedStyle(b).borderStyle}))")


def _locked_marks(page, want: set[str]) -> dict[str, bool]:
    """The swatches' lock marks once they show the locked colours ``want`` (the marks are
    drawn lower on the page than the lock text, and can arrive a moment after it); after
    WAIT_MS, the marks as they are, for the assertion to report."""
    try:
        page.wait_for_function(
            "want => { const b = [...document.querySelectorAll('[class*=\"st-key-sw_\"] button')]"
            ".filter(b => b.offsetParent); return b.length > 0 && b.every(x => "
            "!!x.querySelector('[data-testid=stIconMaterial]') === want.includes(x.innerText.match(/#[0-9a-f]{6}/)[0])); }",
            arg=sorted(want), timeout=WAIT_MS)
    except Exception:  # noqa: BLE001 - the assertion after this says what is wrong
        pass
    return {s["hex"]: s["locked"] for s in _swatches(page)}


def _shown_hex(page) -> list[str]:
    return [s["hex"] for s in _swatches(page)]


def _swatch(page, hx: str):
    return page.locator("[class*=st-key-sw_] button:visible").filter(has_text=hx)


def _in_view(box: dict, view: dict) -> bool:
    return box["x"] >= -0.5 and box["y"] >= -0.5 and box["x"] + box["width"] <= view["width"] + 0.5 \
        and box["y"] + box["height"] <= view["height"] + 0.5


def _time_tile(page) -> dict:
    t = page.locator(".kv-time")
    return {"text": t.inner_text(), "total": float(t.get_attribute("data-total")),
            "server": float(t.get_attribute("data-server")), "upload": float(t.get_attribute("data-upload"))}


def _lock_text(page) -> str:
    _open_options(page)
    return page.locator(".st-key-lock input").input_value()


def _open_options(page) -> None:
    if not page.locator(".st-key-lock input").is_visible():
        page.get_by_text("Options: colour matching, dithering, colour profile, locked colours").click()
        page.locator(".st-key-lock input").wait_for(state="visible", timeout=WAIT_MS)


def _example_bytes() -> bytes:
    """The app's example photo, the file scikit-learn ships (as the app reads it)."""
    import sklearn

    return (Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg").read_bytes()


def _alert(page, text: str):
    return page.get_by_test_id("stAlert").filter(has_text=text)


def _decode_uri(uri: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


# ---- the first screen ------------------------------------------------------------------------------
def test_first_screen_holds_image_palette_and_downloads(page, app_url, artifacts, tmp_path):
    outside = []  # the page must work offline: nothing requested beyond the app's own server
    local = (app_url, "data:", "blob:", "about:")
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    t0 = time.perf_counter()
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    first = time.perf_counter() - t0
    tile = _time_tile(page)
    _shot(page, artifacts, "app-1440-example.png")
    artifacts("timing-first-result.txt",
              f"first result on the example (page opened to image decoded, fresh page): {first:.2f} s by the "
              f"test's stopwatch; the time tile said: {tile['text']} (load average {os.getloadavg()[0]:.1f})\n")

    photo, _ = _photo(tmp_path, "coffee-wide.png", (1200, 800))
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, "coffee-wide.png: 1200×800 pixels, k = 16", before)
    view = page.viewport_size
    image = page.locator(".kv-box img").first.bounding_box()
    assert image["width"] >= 720 and _in_view(image, view), image
    swatches = page.locator("[class*=st-key-sw_] button:visible")
    assert swatches.count() == len(_shown_hex(page)) == 16
    for i in range(swatches.count()):
        assert _in_view(swatches.nth(i).bounding_box(), view), i
    for label in ("Download PNG", "Download .ase"):
        assert _in_view(page.get_by_role("button", name=label, exact=True).bounding_box(), view), label
    _shot(page, artifacts, "app-1440-result.png")
    _shot(page, artifacts, "app-1440-result-full.png", full=True)
    assert outside == []


def test_downloads_are_the_palette_shown(page, app_url, artifacts, tmp_path):
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    photo, _ = _photo(tmp_path, "astronaut.png", base=data.astronaut)
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, "astronaut.png: 512×512 pixels, k = 16", before)
    shown = _shown_hex(page)
    assert 2 <= len(shown) <= 16 and len(set(shown)) == len(shown)

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    png_path = _download(page, "Download PNG", downloads)
    assert png_path.name == "astronaut-k16.png"
    with Image.open(png_path) as im:
        assert im.format == "PNG" and im.mode == "P" and im.size == (512, 512)
        plte = np.asarray(im.getpalette("RGB"), np.uint8).reshape(-1, 3)
        used = np.unique(np.asarray(im))
    assert len(plte) <= 16
    assert {"#%02x%02x%02x" % tuple(c) for c in plte[used]} == set(shown)

    for label, (fmt, suffix) in PALETTE_BUTTONS.items():
        if not page.get_by_role("button", name=label, exact=True).is_visible():
            page.get_by_role("button", name="More formats").click()
        path = _download(page, label, downloads)
        assert path.name == "astronaut-k16" + suffix, label
        assert read_palette(path.read_bytes(), fmt).hex == shown, label
    page.keyboard.press("Escape")
    try:
        import swatch
    except ImportError:
        swatch = None
    if swatch is not None:  # an independent .ase reader
        parsed = swatch.parse(str(downloads / "astronaut-k16.ase"))
        entries = parsed[0]["swatches"]
        assert ["#%02x%02x%02x" % tuple(round(v * 255) for v in e["data"]["values"]) for e in entries] == shown

    # the order control reorders the swatches and the files follow it
    expected = sort_palette(Palette(np.array([parse_hex(h) for h in shown], np.uint8)), "lightness").hex
    assert expected != shown
    page.locator(".st-key-order").click()
    page.get_by_role("option", name="dark to light").click()
    page.wait_for_function("want => JSON.stringify([...document.querySelectorAll('[class*=\"st-key-sw_\"] button')]"
                           ".filter(b => b.offsetParent).map(b => b.innerText.match(/#[0-9a-f]{6}/)[0])) === want",
                           arg=json.dumps(expected, separators=(",", ":")), timeout=WAIT_MS)
    _settle(page)
    assert read_palette(_download(page, "Download .gpl", downloads).read_bytes(), "gpl").hex == expected


# ---- the palette as a designer's tool ------------------------------------------------------------------
def test_click_a_swatch_to_lock_and_unlock(page, app_url, artifacts, tmp_path):
    photo, _ = _photo(tmp_path, "coffee.png")
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, "coffee.png: 600×400 pixels, k = 16", before)
    assert not any(s["locked"] for s in _swatches(page))
    target = _shown_hex(page)[3]
    before = _shown(page)
    _swatch(page, target).click()
    _wait_for_result(page, "coffee.png: 600×400 pixels, k = 16", before)
    marks = _locked_marks(page, {target})
    assert marks[target] and sum(marks.values()) == 1, marks
    assert _lock_text(page) == target
    _shot(page, artifacts, "app-1440-locked.png")

    # the locked colour stays when k changes (typed into the number box)
    before = _shown(page)
    box = page.locator(".st-key-k input")
    box.fill("5")
    box.press("Enter")
    _wait_for_result(page, "coffee.png: 600×400 pixels, k = 5", before)
    marks = _locked_marks(page, {target})
    assert len(marks) <= 5 and marks.get(target) is True, marks

    # a second click unlocks
    before = _shown(page)
    _swatch(page, target).click()
    _wait_for_result(page, "coffee.png: 600×400 pixels, k = 5", before)
    assert _lock_text(page) == ""
    assert not any(_locked_marks(page, set()).values())

    # a locked colour the image lacks is marked as such: a red, white and black graphic, green locked
    flat = np.zeros((60, 90, 3), np.uint8)
    flat[:, 30:60] = (255, 0, 0)
    flat[:, 60:] = 255
    Image.fromarray(flat).save(tmp_path / "flag.png")
    before = _shown(page)
    _upload(page, tmp_path / "flag.png")
    _wait_for_result(page, "flag.png: 90×60 pixels, k = 5", before)
    before = _shown(page)
    lock = page.locator(".st-key-lock input")
    lock.fill("#00ff00")
    lock.press("Enter")
    _wait_for_result(page, "flag.png: 90×60 pixels, k = 5", before)
    green = [s for s in _swatches(page) if s["hex"] == "#00ff00"]
    assert len(green) == 1 and green[0]["locked"] and "not in image" in green[0]["text"], (_swatches(page),
                                                                                            _lock_text(page))
    assert green[0]["dashed"] == "dashed"
    assert all("not in image" not in s["text"] for s in _swatches(page) if s["hex"] != "#00ff00")
    _shot(page, artifacts, "app-1440-locked-absent.png")


def test_eyedropper_locks_the_original_colour_under_the_pointer(page, app_url, artifacts, tmp_path):
    # a flat magenta square in a photo: the colour under the pointer is known exactly
    photo, px = _photo(tmp_path, "coffee-square.png", (1200, 800), square=(100, 150, 200, (255, 0, 255)))
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, "coffee-square.png: 1200×800 pixels, k = 16", before)
    page.get_by_role("button", name="Pick a colour to lock").click()
    image = page.locator(".kv-box").first
    b = image.bounding_box()
    x, y = 200, 250  # the square's centre, in image pixels
    page.mouse.move(b["x"] + x / 1200 * b["width"], b["y"] + y / 800 * b["height"])
    chip = page.locator(".kv-chip")  # a preview of the colour, from the original's (JPEG) preview
    rgb = re.findall(r"\d+", chip.evaluate("e => getComputedStyle(e).backgroundColor"))
    assert np.abs(np.array(rgb[:3], int) - (255, 0, 255)).max() <= 3, rgb
    _shot(page, artifacts, "app-1440-eyedropper.png")
    before = _shown(page)
    image.click(position={"x": x / 1200 * b["width"], "y": y / 800 * b["height"]})
    _wait_for_result(page, "coffee-square.png: 1200×800 pixels, k = 16", before)
    expected = "#%02x%02x%02x" % pick_color(px, x, y, 1)
    assert expected == "#ff00ff"
    assert _lock_text(page) == expected
    assert [s["hex"] for s in _swatches(page) if s["locked"]] == [expected]


# ---- k: the number box, the slider, never an unmarked old k ----------------------------------------------
def test_k_number_box_slider_and_no_stale_k(page, app_url, artifacts, tmp_path):
    photo, _ = _photo(tmp_path, "coffee-640.jpg", (640, 480), quality=92)
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, "coffee-640.jpg: 640×480 pixels, k = 16", before)
    box = page.locator(".st-key-k input")
    # sample the page while the new k computes: the image shown says the k asked for, or is marked as old
    samples = []
    before = _shown(page)
    t0 = time.perf_counter()
    box.fill("7")
    box.press("Enter")
    while True:
        state = page.evaluate(
            "() => { const c = document.querySelector('.st-key-viewer'); if (!c) return null;"
            " const host = [...c.querySelectorAll('*')].find(e => e.shadowRoot);"
            " const tag = host && host.shadowRoot.querySelector('.kv-tag.right');"
            " const root = host && host.shadowRoot.querySelector('.kv');"
            " return {tag: tag && tag.textContent, stale: c.dataset.stale === 'true' || !!(root && root.dataset.pending),"
            " box: document.querySelector('.st-key-k input').value,"
            " shown: host && host.shadowRoot.querySelector('.kv').dataset.shown}; }")
        samples.append(state)
        if state and state["shown"] != before and state["tag"] == "k = 7" and not state["stale"]:
            break
        assert time.perf_counter() - t0 < WAIT_MS / 1000
    seconds = time.perf_counter() - t0
    _wait_for_result(page, "coffee-640.jpg: 640×480 pixels, k = 7", before)
    for s in samples:
        assert s is None or s["tag"] == f"k = {s['box']}" or s["stale"], s
    assert len(_shown_hex(page)) <= 7
    assert page.locator(".st-key-k_slide [data-testid=stSliderThumbValue]").inner_text() == "7"
    tile = _time_tile(page)
    artifacts("timing-k-change.txt",
              f"k 16 -> 7 typed into the number box on a 640x480 JPEG: {seconds:.2f} s by the test's stopwatch "
              f"(Enter to the new image decoded); the time tile said: {tile['text']} ({len(samples)} samples, "
              f"each showing the asked-for k or marked as old; load average {os.getloadavg()[0]:.1f})\n")
    # the slider: one step left is k = 6, and the number box follows
    before = _shown(page)
    page.locator(".st-key-k_slide input[type=range]").press("ArrowLeft")
    _wait_for_result(page, "coffee-640.jpg: 640×480 pixels, k = 6", before)
    assert box.input_value() == "6"
    _shot(page, artifacts, "app-1440-k6.png")


# ---- the views: before/after, side by side, 1:1 --------------------------------------------------------
def test_views_and_the_true_1_to_1_zoom(page, app_url, artifacts, tmp_path):
    photo, px = _photo(tmp_path, "coffee-wide.png", (1200, 800))
    expected = quantize(photo.read_bytes(), 16)
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, "coffee-wide.png: 1200×800 pixels, k = 16", before)

    page.get_by_role("tab", name="Before / after").click()
    clip = page.locator(".kv-clip")
    assert clip.evaluate("e => getComputedStyle(e).clipPath") == "inset(0px 50% 0px 0px)"
    page.locator(".kv-range").fill("20")
    assert clip.evaluate("e => getComputedStyle(e).clipPath") == "inset(0px 80% 0px 0px)"
    _shot(page, artifacts, "app-1440-before-after.png")
    page.get_by_role("tab", name="Side by side").click()
    assert page.locator(".kv-box img").count() == 2
    _shot(page, artifacts, "app-1440-side-by-side.png")

    # a click on the image opens the 1:1 view there
    page.get_by_role("tab", name="Result").click()
    b = page.locator(".kv-box").first.bounding_box()
    x, y = 900, 300
    page.locator(".kv-box").first.click(position={"x": x / 1200 * b["width"], "y": y / 800 * b["height"]})
    crop = page.locator("img.kv-crop.kv-before")
    crop.wait_for(timeout=WAIT_MS)
    page.wait_for_function("() => { const i = [...document.querySelectorAll('.st-key-viewer *')].map(e => "
                           "e.shadowRoot).find(Boolean).querySelector('img.kv-crop'); return i && i.complete; }",
                           timeout=WAIT_MS)

    def window():
        d = {k: int(crop.get_attribute(f"data-{k}")) for k in ("x0", "y0", "cw", "ch", "z")}
        return d

    win = window()
    assert win["x0"] <= x < win["x0"] + win["cw"] and win["y0"] <= y < win["y0"] + win["ch"], win
    rows, cols = slice(win["y0"], win["y0"] + win["ch"]), slice(win["x0"], win["x0"] + win["cw"])
    assert np.array_equal(_decode_uri(crop.get_attribute("src")), px[rows, cols])  # the file's own pixels
    after = page.locator("img.kv-crop.kv-after")
    assert np.array_equal(_decode_uri(after.get_attribute("src")), expected.image[rows, cols])
    shown = crop.bounding_box()
    assert abs(shown["width"] - win["cw"] * win["z"]) < 1  # each pixel as z×z screen pixels
    _shot(page, artifacts, "app-1440-zoom.png")

    # dragging moves the window: 100 screen pixels left at 2× = 50 image pixels right
    start = (shown["x"] + shown["width"] / 2, shown["y"] + shown["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] - 50, start[1], steps=4)
    page.mouse.move(start[0] - 100, start[1], steps=4)
    page.mouse.up()
    page.wait_for_function("x0 => { const i = [...document.querySelectorAll('.st-key-viewer *')].map(e => "
                           "e.shadowRoot).find(Boolean).querySelector('img.kv-crop');"
                           " return i && i.dataset.x0 !== x0; }", arg=str(win["x0"]), timeout=WAIT_MS)
    moved = window()
    assert abs(moved["x0"] - min(win["x0"] + 100 // win["z"], 1200 - moved["cw"])) <= 1, (win, moved)
    assert moved["y0"] == win["y0"]


# ---- dithering: one palette, in the swatches, the files and the PNG --------------------------------------
def test_dithered_result_has_one_palette(page, app_url, artifacts, tmp_path):
    photo, _ = _photo(tmp_path, "coffee.png")
    r = quantize(photo.read_bytes(), 16, dither="fs")
    page.goto(app_url + "/?dither=fs")
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, "coffee.png: 600×400 pixels, k = 16", before)
    from playwright.sync_api import expect

    expect(page.get_by_text("Dithering moved the palette", exact=False)).to_have_count(0)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    gpl = read_palette(_download(page, "Download .gpl", downloads).read_bytes(), "gpl")
    assert gpl.hex == r.palette.hex
    assert _shown_hex(page) == gpl.hex
    _shot(page, artifacts, "app-1440-dithered.png")
    with Image.open(_download(page, "Download PNG", downloads)) as im:
        plte = np.asarray(im.getpalette("RGB"), np.uint8).reshape(-1, 3)
    assert {"#%02x%02x%02x" % tuple(c) for c in plte} == set(r.palette.hex)


# ---- the quality target (kmq quantize --quality MIN-MAX) and the colour profile ------------------------
def test_quality_mode_in_the_layout(page, app_url, artifacts, tmp_path):
    from playwright.sync_api import expect

    # chosen beside the palette: the slider starts at 65-80 and the k is the core's for that range
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    k, r = smallest_k_for_quality(_example_bytes(), (65, 80))
    before = _shown(page)
    page.get_by_role("radio", name="Quality MIN-MAX").click()
    _wait_for_result(page, f"china.jpg: 640×427 pixels, k = {k}", before)
    reached = quality_for_delta_e(r.delta_e)
    # the message is the core's finding: MAX reached, or (the default engine's mean ΔE2000 on this
    # photo stays above 2.0 even at k = 256) only MIN
    expect(_alert(page, f"k = {k} is the smallest k whose quality ({reached:.0f}) reaches 80." if reached >= 80
                  else f"Even k = {k} reaches quality {reached:.0f}, below 80 but above 65.")).to_be_visible()
    thumbs = page.locator(".st-key-quality [data-testid=stSliderThumbValue]")
    assert [thumbs.nth(i).inner_text() for i in range(thumbs.count())] == ["65", "80"]
    assert "k_mode=quality" in page.url

    # the range is kept in the URL; an upload is searched with it, and the first screen still holds it all
    page.goto(app_url + "/?k_mode=quality&quality=45&quality=65")
    k, r = smallest_k_for_quality(_example_bytes(), (45, 65))
    _wait_for_result(page, f"china.jpg: 640×427 pixels, k = {k}")
    assert [thumbs.nth(i).inner_text() for i in range(thumbs.count())] == ["45", "65"]
    photo, _ = _photo(tmp_path, "coffee-wide.png", (1200, 800))
    k, r = smallest_k_for_quality(photo.read_bytes(), (45, 65))
    assert k <= 16  # so that the whole palette must fit on the first screen
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, f"coffee-wide.png: 1200×800 pixels, k = {k}", before)
    expect(_alert(page, f"k = {k} is the smallest k whose quality "
                        f"({quality_for_delta_e(r.delta_e):.0f}) reaches 65.")).to_be_visible()
    assert sorted(_shown_hex(page)) == sorted(r.palette.hex)
    view = page.viewport_size
    image = page.locator(".kv-box img").first.bounding_box()
    assert image["width"] >= 720 and _in_view(image, view), image
    swatches = page.locator("[class*=st-key-sw_] button:visible")
    for i in range(swatches.count()):
        assert _in_view(swatches.nth(i).bounding_box(), view), i
    for label in ("Download PNG", "Download .ase"):
        assert _in_view(page.get_by_role("button", name=label, exact=True).bounding_box(), view), label
    _shot(page, artifacts, "app-1440-quality.png")

    # out of reach: the best result is still shown and offered, with the warning the CLI's exit 99 stands for
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, size=(80, 120, 3), dtype=np.uint8)).save(tmp_path / "noise.png")
    page.goto(app_url + "/?k_mode=quality&quality=97&quality=99")
    _wait_for_result(page, re.compile(r"china\.jpg: 640×427 pixels, k = \d+"))
    before = _shown(page)
    _upload(page, tmp_path / "noise.png")
    _wait_for_result(page, "noise.png: 120×80 pixels, k = 256", before)
    with pytest.raises(QualityTooLowError) as e:
        smallest_k_for_quality((tmp_path / "noise.png").read_bytes(), (97, 99))
    reached = e.value.quality
    warning = _alert(page, f"Even k = 256 reaches only quality {reached:.0f}, below the minimum 97")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("exit 99")
    assert page.get_by_role("button", name="Download PNG", exact=True).is_visible()
    _shot(page, artifacts, "app-1440-quality-below-min.png")


def test_profile_control_converts_or_keeps(page, app_url, artifacts, tmp_path):
    from playwright.sync_api import expect

    # a photo whose numbers are Display P3 (as a phone writes them), the profile embedded
    icc = icc_profiles.display_p3()
    photo, _ = _photo(tmp_path, "coffee-p3.png", icc_profile=icc)
    payload = photo.read_bytes()
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, "coffee-p3.png: 600×400 pixels, k = 16", before)
    expect(_alert(page, "converted to sRGB")).to_be_visible()
    converted = quantize(payload, 16)
    kept = quantize(payload, 16, profile="keep")
    assert set(converted.palette.hex) != set(kept.palette.hex)
    assert sorted(_shown_hex(page)) == sorted(converted.palette.hex)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with Image.open(_download(page, "Download PNG", downloads)) as im:
        assert "srgb" in im.info and "icc_profile" not in im.info  # tagged sRGB
    _open_options(page)
    assert page.get_by_role("combobox", name="Colour profile").input_value() == "convert to sRGB, default"
    _shot(page, artifacts, "app-1440-profile-srgb.png", full=True)  # the Options with the control

    before = _shown(page)
    choice = page.get_by_role("combobox", name="Colour profile")
    choice.focus()
    choice.press("ArrowDown")  # opens the list (a click on this combobox sometimes only focuses it)
    page.get_by_role("option", name="keep the image's own profile").click()
    _wait_for_result(page, "coffee-p3.png: 600×400 pixels, k = 16", before)
    expect(_alert(page, "kept the colour profile")).to_be_visible()
    assert "profile=keep" in page.url
    assert sorted(_shown_hex(page)) == sorted(kept.palette.hex)
    with Image.open(_download(page, "Download PNG", downloads)) as im:
        assert im.info.get("icc_profile") == icc  # the profile goes with the numbers
    # the images on screen carry it too, so a colour-managed browser shows them as the PNG will look
    for img in page.locator(".kv-box img").all():
        uri = img.get_attribute("src")
        with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as im:
            assert im.info.get("icc_profile") == icc
    page.evaluate("() => document.querySelectorAll('[data-testid=stMain], [data-testid=stMainBlockContainer]')"
                  ".forEach(e => e.scrollTo(0, 0))")
    _shot(page, artifacts, "app-1440-profile-keep.png")


# ---- 12 megapixels: progress with stages, honest time, cancel ------------------------------------------
def test_twelve_megapixel_upload_progress_and_time(page, app_url, artifacts, tmp_path):
    from playwright.sync_api import expect

    photo, _ = _photo(tmp_path, "astronaut-12mp.jpg", (4000, 3000), base=data.astronaut, quality=90)
    page.goto(app_url + "/?k=64")  # k is bound to the URL
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 64")
    before = _shown(page)
    t0 = time.perf_counter()
    _upload(page, photo)
    bar = page.get_by_test_id("stProgress")
    expect(bar).to_be_visible(timeout=WAIT_MS)
    stage = bar.inner_text()
    _shot(page, artifacts, "app-1440-12mp-progress.png", settle=False)
    _wait_for_result(page, "astronaut-12mp.jpg: 4000×3000 pixels, k = 64", before)
    seconds = time.perf_counter() - t0
    tile = _time_tile(page)
    report = (f"12 MP upload to result: {seconds:.2f} s by the test's stopwatch (file chosen to image decoded); "
              f"the time tile said: {tile['text']} (astronaut upscaled to 4000×3000, JPEG q90, "
              f"{photo.stat().st_size / 1e6:.2f} MB, k=64, defaults otherwise; progress bar seen at “{stage}”; "
              f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})\n")
    print("\n" + report)
    artifacts("timing-12mp.txt", report)
    assert any(s in stage for s in ("Reading the image", "Fitting the palette", "Measuring", "Encoding",
                                    "Making the previews"))
    assert tile["server"] > 0 and tile["total"] >= tile["server"]
    assert len(_shown_hex(page)) <= 64
    _shot(page, artifacts, "app-1440-12mp.png")


def test_a_long_search_on_12mp_can_be_cancelled(page, app_url, artifacts, tmp_path):
    from playwright.sync_api import expect

    photo, _ = _photo(tmp_path, "astronaut-12mp.jpg", (4000, 3000), base=data.astronaut, quality=90)
    page.goto(app_url + "/?k_mode=target&target_de=3.0")  # reachable: a bisection of about 9 tries
    _wait_for_result(page, re.compile(r"china\.jpg: 640×427 pixels, k = \d+"))
    _upload(page, photo)
    bar = page.get_by_test_id("stProgress")
    expect(bar).to_contain_text("tried k =", timeout=WAIT_MS)
    _shot(page, artifacts, "app-1440-12mp-search-progress.png", settle=False)
    page.get_by_role("button", name="Cancel").click()
    stopped = page.get_by_test_id("stAlert").filter(has_text="Stopped before astronaut-12mp.jpg was ready")
    expect(stopped).to_be_visible(timeout=WAIT_MS)
    _settle(page)
    assert page.get_by_role("button", name="Download PNG", exact=True).count() == 0
    assert page.get_by_test_id("stProgress").count() == 0
    _shot(page, artifacts, "app-1440-12mp-cancelled.png")
    # it can be started again (and stopped again, to leave the machine idle)
    page.get_by_role("button", name="Compute it again").click()
    expect(page.get_by_test_id("stProgress")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Cancel").click()
    expect(stopped).to_be_visible(timeout=WAIT_MS)


def test_a_quality_search_on_12mp_shows_progress_and_can_be_cancelled(page, app_url, artifacts, tmp_path):
    from playwright.sync_api import expect

    photo, _ = _photo(tmp_path, "astronaut-12mp.jpg", (4000, 3000), base=data.astronaut, quality=90)
    page.goto(app_url + "/?k_mode=quality&quality=65&quality=80")
    _wait_for_result(page, re.compile(r"china\.jpg: 640×427 pixels, k = \d+"))
    _upload(page, photo)
    bar = page.get_by_test_id("stProgress")
    expect(bar).to_contain_text("tried k =", timeout=WAIT_MS)
    _shot(page, artifacts, "app-1440-12mp-quality-progress.png", settle=False)
    page.get_by_role("button", name="Cancel").click()
    stopped = page.get_by_test_id("stAlert").filter(has_text="Stopped before astronaut-12mp.jpg was ready")
    expect(stopped).to_be_visible(timeout=WAIT_MS)
    _settle(page)
    assert page.get_by_role("button", name="Download PNG", exact=True).count() == 0
    assert page.get_by_test_id("stProgress").count() == 0
    _shot(page, artifacts, "app-1440-12mp-quality-cancelled.png")


# ---- a phone ---------------------------------------------------------------------------------------
def test_on_a_phone_the_upload_is_on_the_page(browser, app_url, artifacts, tmp_path):
    context = browser.new_context(accept_downloads=True, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(app_url)
        _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
        assert page.get_by_test_id("stSidebar").count() == 0  # nothing hides in a collapsed sidebar
        dropzone = page.get_by_test_id("stFileUploaderDropzone")
        assert _in_view(dropzone.bounding_box(), PHONE)
        _shot(page, artifacts, "app-390-example.png")
        photo, _ = _photo(tmp_path, "coffee.png")
        before = _shown(page)
        _upload(page, photo)
        _wait_for_result(page, "coffee.png: 600×400 pixels, k = 16", before)
        image = page.locator(".kv-box img").first.bounding_box()
        assert image["width"] >= PHONE["width"] - 60 and image["x"] >= 0
        _shot(page, artifacts, "app-390-result.png")
        _shot(page, artifacts, "app-390-result-full.png", full=True)
    finally:
        context.close()


# ---- errors and transparency -------------------------------------------------------------------------
def test_corrupt_upload_shows_an_error(page, app_url, artifacts, tmp_path):
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a PNG")
    _upload(page, bad)
    from playwright.sync_api import expect

    alert = page.get_by_test_id("stAlert").filter(has_text="broken.png")
    expect(alert).to_be_visible(timeout=WAIT_MS)
    expect(alert).to_have_text("broken.png is not an image kmq can read (PNG, JPEG, WebP, TIFF, BMP, GIF)")
    _settle(page)
    assert page.get_by_test_id("stException").count() == 0
    assert "Traceback" not in page.content()
    assert page.get_by_role("button", name="Download PNG", exact=True).count() == 0
    _shot(page, artifacts, "app-1440-corrupt-upload.png")

    # over the upload limit: refused by the widget itself, before anything reaches the app
    big = tmp_path / "huge.png"
    big.write_bytes(b"\0" * (50 * 1024 * 1024 + 1))
    _upload(page, big)
    expect(page.get_by_text("File must be 50.0MB or smaller.")).to_be_visible(timeout=WAIT_MS)


def test_transparency_on_a_checkerboard(page, app_url, artifacts, tmp_path):
    rgb = data.astronaut()
    yy, xx = np.mgrid[:512, :512]
    alpha = np.clip((250 - np.hypot(yy - 256, xx - 256)) * 8, 0, 255).astype(np.uint8)
    disc = tmp_path / "disc.png"
    Image.fromarray(np.dstack([rgb, alpha])).save(disc)
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, disc)
    _wait_for_result(page, "disc.png: 512×512 pixels, k = 16", before)
    page.get_by_role("tab", name="Side by side").click()
    boxes = page.locator(".kv-box")
    assert boxes.count() == 2
    for i in range(2):
        assert "conic-gradient" in boxes.nth(i).evaluate("e => getComputedStyle(e).backgroundImage")
        assert boxes.nth(i).locator("img").get_attribute("src").startswith("data:image/png;base64,")
    _shot(page, artifacts, "app-1440-transparency.png")


# ---- animations ---------------------------------------------------------------------------------------
def test_animated_upload_plays_and_downloads_as_gif(page, app_url, artifacts, tmp_path):
    """An animated upload: the original and kmq's GIF play side by side (both decoded by the browser),
    and "Download GIF" gives every frame in the palette the page shows."""
    from playwright.sync_api import expect

    photo = data.coffee()
    frames = [Image.fromarray(photo[60 + 4 * i:220 + 4 * i, 100 + 6 * i:340 + 6 * i]) for i in range(8)]
    clip = tmp_path / "pan.png"
    frames[0].save(clip, "PNG", save_all=True, append_images=frames[1:], duration=120, loop=0)
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, clip)
    _wait_for_result(page, "pan.png: 240×160 pixels, k = 16", before)
    expect(page.get_by_text("8 frames, one palette for all of them", exact=False)).to_be_visible(timeout=WAIT_MS)
    imgs = page.locator(".kmq-animation img")
    expect(imgs).to_have_count(2, timeout=WAIT_MS)
    page.wait_for_function("() => [...document.querySelectorAll('.kmq-animation img')]"
                           ".every(i => i.complete && i.naturalWidth === 240 && i.naturalHeight === 160)",
                           timeout=WAIT_MS)
    imgs.nth(1).scroll_into_view_if_needed()
    _shot(page, artifacts, "app-1440-animation.png")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    gif = _download(page, "Download GIF", downloads)
    shown = set(_shown_hex(page))
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames == 8
        seen = set()
        for i in range(8):
            im.seek(i)
            px = np.asarray(im.convert("RGB")).reshape(-1, 3)
            seen |= {"#%02x%02x%02x" % tuple(c) for c in np.unique(px, axis=0)}
    assert seen <= shown


# ---- the palette checks: WCAG contrast and colour vision (issue 27) ------------------------------------
def _vision(page, label: str) -> None:
    """Choose a colour vision and wait until the page shows it."""
    page.locator(".st-key-vision button").filter(has_text=label).click()
    page.locator(f".kmq-vision[data-vision={label.lower()}]").wait_for(state="visible", timeout=WAIT_MS)
    _settle(page)


def test_contrast_matrix_and_colour_vision_views(page, app_url, artifacts, tmp_path):
    from playwright.sync_api import expect

    from kmq_core.cvd import confusable_pairs, simulate
    from kmq_core.wcag import contrast_matrix

    # coffee with a red and a green of the same lightness pasted in (a deuteranope's confusion pair:
    # ΔE2000 0.4 apart for them, 72.7 for everyone else), big enough to be palette colours
    img = np.asarray(Image.fromarray(data.coffee()))
    px = img.copy()
    px[40:160, 40:160] = (214, 39, 40)
    px[40:160, 200:320] = (0, 150, 0)
    photo = tmp_path / "coffee-red-green.png"
    Image.fromarray(px).save(photo)
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, "coffee-red-green.png: 600×400 pixels, k = 16", before)
    shown = _shown_hex(page)
    colors = np.array([parse_hex(h) for h in shown], np.uint8)
    # the pasted red and green are palette colours (each swatch sits at its pixels' mean, so a few
    # neighbouring pixels may move it by less than a just-noticeable difference)
    from kmq_core.metrics import delta_e2000

    pasted = {}
    for name, rgb in (("red", (214, 39, 40)), ("green", (0, 150, 0))):
        de = delta_e2000(np.tile(np.array(rgb, np.uint8), (len(colors), 1)), colors)
        assert de.min() < 1.0, (name, shown[int(de.argmin())], float(de.min()))
        pasted[name] = shown[int(de.argmin())]

    # normal vision: one line counting the pairs each deficiency merges, the core's counts
    counts = {d: len(confusable_pairs(colors, d)) for d in ("protanopia", "deuteranopia", "tritanopia")}
    assert counts["deuteranopia"] >= 1
    expect(page.locator(".st-key-vision_box").get_by_text(
        "Pairs of swatches that look alike with colour-blindness: "
        + ", ".join(f"{d} {n}" for d, n in counts.items()))).to_be_visible()

    # the contrast matrix: opened beside the palette, every cell the core's ratio (cut to what fits), level
    # coloured; the first screen still holds the palette and the two downloads
    page.get_by_text("Contrast (WCAG)", exact=True).click()
    table = page.locator(".kmq-contrast table")
    table.wait_for(state="visible", timeout=WAIT_MS)
    cells = page.evaluate("() => [...document.querySelectorAll('.kmq-contrast td.lv')].map(td => ({"
                          "text: td.innerText, level: td.dataset.level, title: td.title}))")
    m = contrast_matrix(colors)
    n = len(shown)
    assert len(cells) == n * (n - 1)
    expected = []
    for i in range(n):
        for j in range(n):
            if i != j:
                r = m[i, j]
                level = "AAA" if r >= 7 else "AA" if r >= 4.5 else "AA large" if r >= 3 else "fail"
                text = f"{np.floor(r * 10) / 10:.1f}" if r < 10 else f"{int(np.floor(r))}"
                expected.append({"text": text, "level": level, "title": f"{shown[i]} and {shown[j]}: {r:.2f}:1, "
                                 + (level if level != "fail" else "below 3:1, not for text")})
    assert cells == expected
    n_body = int((m[np.triu_indices(n, 1)] >= 4.5).sum())
    expect(page.locator(".kmq-count")).to_contain_text(f"{n_body} of {n * (n - 1) // 2} pairs can carry body text")
    # the 16-colour matrix fits the column: no scrolling sideways
    assert page.evaluate("() => { const s = document.querySelector('.kmq-contrast .scroll');"
                         " return s.scrollWidth <= s.clientWidth; }")
    for label in ("Download PNG", "Download .ase"):
        assert _in_view(page.get_by_role("button", name=label, exact=True).bounding_box(), page.viewport_size)
    page.locator(".st-key-contrast_box").screenshot(path=str(artifacts.local / "app-1440-contrast.png"))
    artifacts("app-1440-contrast.png")

    # each deficiency: the result as seen (only the simulated palette's colours), the palette strip, the flags
    for label in ("Deuteranopia", "Protanopia", "Tritanopia"):
        _vision(page, label)
        name = label.lower()
        seen = simulate(colors, name)
        strip = page.evaluate("() => [...document.querySelectorAll('.kmq-vision .pair')].map(p => p.title)")
        assert strip == [f"{h} looks like #{s[0]:02x}{s[1]:02x}{s[2]:02x}" for h, s in zip(shown, seen)]
        flagged = confusable_pairs(colors, name)
        items = page.locator(".kmq-vision li")
        assert items.count() == len(flagged)
        for k, q in enumerate(flagged):
            assert f"{shown[q.i]} and {shown[q.j]}: ΔE2000 {q.delta_e:.1f}" in items.nth(k).inner_text()
        if name == "deuteranopia":
            assert any({shown[q.i], shown[q.j]} == {pasted["red"], pasted["green"]} for q in flagged)
        img = page.locator(".st-key-vision_box [data-testid=stImage] img")
        src = img.get_attribute("src")
        payload = page.request.get(src if src.startswith("http") else app_url + src).body()
        with Image.open(io.BytesIO(payload)) as im:
            got = np.asarray(im.convert("RGB"))
        used = {tuple(c) for c in got.reshape(-1, 3)}
        assert used <= {tuple(c) for c in seen}, len(used - {tuple(c) for c in seen})
        assert got.shape[:2] == (400, 600)
        page.locator(".st-key-vision_box").scroll_into_view_if_needed()
        _shot(page, artifacts, f"app-1440-vision-{name}.png", full=True)

    # back to normal vision: the simulated view goes, the counts come back
    page.locator(".st-key-vision button").filter(has_text="Normal").click()
    expect(page.locator(".kmq-vision")).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator(".st-key-vision_box").get_by_text("Pairs of swatches that look alike")).to_be_visible()


# ---- moods and the emphasis region (issue 27) --------------------------------------------------------
def _click_image_at(page, u: float, v: float) -> None:
    """Click the viewer's image at fractions (u, v) of its size, once its size holds still (the
    viewer fits the image to the window, and a hint that wraps to two lines makes it smaller)."""
    image = page.locator(".kv-box").first
    b = image.bounding_box()
    for _ in range(50):
        page.wait_for_timeout(100)
        now = image.bounding_box()
        if now == b:
            break
        b = now
    image.click(position={"x": u * b["width"], "y": v * b["height"]})


def test_mood_select_and_emphasis_region(page, app_url, artifacts, tmp_path):
    """A small red patch on CQ100's tiger: lost at k = 8, a swatch of its own once a region around it
    is marked by clicking two corners on the image; then the colourful mood of the same image."""
    from playwright.sync_api import expect

    from kmq_core.importance import region_mask
    from kmq_core.metrics import delta_e2000

    tiger = ROOT.parent / "shared" / "data" / "cq100" / "siberian_tiger.png"
    if not tiger.is_file():
        missing(f"the CQ100 photos are not at {tiger.parent}")
    px = np.asarray(Image.open(tiger).convert("RGB")).copy()
    red = np.array([220, 20, 40], np.uint8)
    px[200:224, 300:324] = red
    H, W = px.shape[:2]  # a portrait photo, 512×768
    photo = tmp_path / "tiger-red.png"
    Image.fromarray(px).save(photo)

    def red_error(hexes) -> float:
        cols = np.array([parse_hex(h) for h in hexes], np.uint8)
        return float(delta_e2000(cols, np.broadcast_to(red, cols.shape)).min())

    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    before = _shown(page)
    _upload(page, photo)
    _wait_for_result(page, f"tiger-red.png: {W}×{H} pixels, k = 16", before)
    before = _shown(page)
    box = page.locator(".st-key-k input")
    box.fill("8")
    box.press("Enter")
    _wait_for_result(page, f"tiger-red.png: {W}×{H} pixels, k = 8", before)
    assert sorted(_shown_hex(page)) == sorted(quantize(px, 8).palette.hex)
    assert red_error(_shown_hex(page)) > 15  # the patch has no colour of its own

    # mark the region: the toggle, then two corners clicked on the image
    page.get_by_text("Mark emphasis", exact=True).click()
    hint = page.locator(".kv-hint")
    expect(hint).to_have_text(re.compile("Click one corner"), timeout=WAIT_MS)
    _settle(page)
    before = _shown(page)
    _click_image_at(page, 285 / W, 185 / H)
    expect(hint).to_have_text(re.compile("opposite corner"), timeout=WAIT_MS)
    _shot(page, artifacts, "app-1440-emphasis-marking.png")
    _click_image_at(page, 340 / W, 240 / H)
    caption = page.get_by_text(re.compile(r"^Emphasis: x \d+–\d+, y \d+–\d+$"))
    expect(caption).to_be_visible(timeout=WAIT_MS)
    _wait_for_result(page, f"tiger-red.png: {W}×{H} pixels, k = 8", before)
    x0, x1, y0, y1 = map(int, re.findall(r"\d+", caption.inner_text()))
    assert abs(x0 - 285) <= 3 and abs(x1 - 340) <= 3 and abs(y0 - 185) <= 3 and abs(y1 - 240) <= 3
    weighed = quantize(px, 8, importance=region_mask(px.shape[:2], (x0, y0, x1, y1))).palette.hex
    assert sorted(_shown_hex(page)) == sorted(weighed)
    assert red_error(_shown_hex(page)) < 3  # the patch's red is a swatch now
    region = page.locator(".kv-region")  # the region is outlined on the image
    expect(region).to_have_count(1, timeout=WAIT_MS)
    r, b = region.bounding_box(), page.locator(".kv-box").first.bounding_box()
    assert abs(r["x"] - b["x"] - x0 / W * b["width"]) <= 2 and abs(r["width"] - (x1 - x0) / W * b["width"]) <= 3
    expect(hint).not_to_have_text(re.compile("corner"))  # marking ended with the second corner
    _shot(page, artifacts, "app-1440-emphasis.png")

    # the colourful mood, with the region still marked
    before = _shown(page)
    choice = page.get_by_role("combobox", name="Mood")
    choice.focus()
    choice.press("ArrowDown")
    page.get_by_role("option", name="colourful: the most chromatic").click()
    _wait_for_result(page, f"tiger-red.png: {W}×{H} pixels, k = 8", before)
    assert "mood=colorful" in page.url
    want = quantize(px, 8, mood="colorful", importance=region_mask(px.shape[:2], (x0, y0, x1, y1))).palette.hex
    assert sorted(_shown_hex(page)) == sorted(want)
    _shot(page, artifacts, "app-1440-mood-colorful.png")

    # clearing the region gives the plain colourful mood
    before = _shown(page)
    page.locator(".st-key-emphasis_clear button").click()
    _wait_for_result(page, f"tiger-red.png: {W}×{H} pixels, k = 8", before)
    expect(page.locator(".kv-region")).to_have_count(0, timeout=WAIT_MS)
    assert sorted(_shown_hex(page)) == sorted(quantize(px, 8, mood="colorful").palette.hex)
