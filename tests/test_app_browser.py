"""The app end to end in a real browser: Debian's Chromium driven by Playwright.

``streamlit run streamlit_app.py`` on a free port of 127.0.0.1; the browser
uploads real photos, waits for the result, downloads the indexed PNG and every
palette file and parses each of them; a corrupt file must give an error on the
page. Screenshots of each state and the measured upload-to-result time of a
12-megapixel photo go to a temporary folder and are copied to
``$KMQ_ARTIFACTS`` (default ``/tmp/kmq-artifacts``).

Skipped when Chromium or Playwright is missing, failed instead under CI=true.
"""

from __future__ import annotations

import io
import json
import os
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

from kmq_core.formats import read_palette
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
WIDTH = 1400


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
    context = browser.new_context(accept_downloads=True, viewport={"width": WIDTH, "height": 1000})
    p = context.new_page()
    yield p
    context.close()


# ---- helpers -------------------------------------------------------------------------------------
def _photo_file(folder: Path, name: str, size: tuple[int, int] | None = None, **save) -> Path:
    img = Image.fromarray(data.astronaut())
    if size:
        img = img.resize(size, Image.Resampling.BICUBIC)
    path = folder / name
    img.save(path, **save)
    return path


def _settle(page) -> None:
    """Wait until no rerun is running and every image on the page has loaded."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT_MS)
    # the previous run's elements linger (faded) until the new run has replaced them
    expect(page.locator("[data-stale=true]")).to_have_count(0, timeout=WAIT_MS)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)", timeout=WAIT_MS)


def _wait_for_result(page, heading: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=WAIT_MS)
    _settle(page)  # the run has finished, so the previous run's elements are gone
    expect(page.get_by_role("button", name="Download PNG", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("stIFrame")).to_have_count(1, timeout=WAIT_MS)  # one before/after slider


def _upload(page, path: Path) -> None:
    box = page.get_by_test_id("stFileUploaderDropzoneInput")
    box.wait_for(state="attached", timeout=WAIT_MS)
    box.set_input_files(str(path))


def _screenshot(page, path: Path) -> None:
    """A full-page screenshot: the app scrolls inside its main block, so grow the viewport first."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll("
        "'[data-testid=stMain], [data-testid=stMainBlockContainer], body')]"
        ".map(e => e.scrollHeight))")
    page.set_viewport_size({"width": WIDTH, "height": min(int(height) + 40, 12000)})
    page.wait_for_timeout(300)
    _settle(page)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": 1000})


def _download(page, label: str, folder: Path) -> Path:
    button = page.get_by_role("button", name=label, exact=True)
    with page.expect_download(timeout=WAIT_MS) as d:
        button.click()
    path = folder / d.value.suggested_filename
    d.value.save_as(path)
    return path


def _shown_hex(page) -> list[str]:
    return page.locator(".kmq-swatch").evaluate_all("els => els.map(e => e.dataset.hex)")


# ---- tests ---------------------------------------------------------------------------------------
def test_upload_compare_and_download_everything(page, app_url, artifacts, tmp_path):
    outside = []  # the page must work offline: nothing requested beyond the app's own server
    local = (app_url, "data:", "blob:", "about:")
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")  # the example, before any upload
    photo = _photo_file(tmp_path, "astronaut.png")
    _upload(page, photo)
    _wait_for_result(page, "astronaut.png: 512×512 pixels, k = 16")

    # the before/after slider: inline PNGs, and dragging moves the cut
    slider = page.frame_locator("[data-testid=stIFrame]")
    for img in (slider.locator(".after img"), slider.locator(".before img")):
        assert img.get_attribute("src").startswith("data:image/png;base64,")
    assert slider.locator("#before").evaluate("e => getComputedStyle(e).clipPath") == "inset(0px 50% 0px 0px)"
    slider.locator("#pos").fill("20")
    assert slider.locator("#before").evaluate("e => getComputedStyle(e).clipPath") == "inset(0px 80% 0px 0px)"
    assert slider.locator("#line").evaluate("e => e.style.left") == "20%"

    shown = _shown_hex(page)
    assert 2 <= len(shown) <= 16 and len(set(shown)) == len(shown)
    assert page.get_by_text(", ".join(shown), exact=True).count() >= 1  # the copyable list

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    png_path = _download(page, "Download PNG", downloads)
    assert png_path.name == "astronaut-k16.png"
    with Image.open(png_path) as im:
        assert im.format == "PNG" and im.mode == "P" and im.size == (512, 512)
        plte = np.asarray(im.getpalette("RGB"), np.uint8).reshape(-1, 3)
        used = np.unique(np.asarray(im), return_counts=False)
        rgb = np.asarray(im.convert("RGB")).reshape(-1, 3)
    assert len(plte) <= 16
    used_hex = {"#%02x%02x%02x" % tuple(c) for c in plte[used]}
    assert used_hex == set(shown)
    assert {"#%02x%02x%02x" % tuple(c) for c in np.unique(rgb, axis=0)} == set(shown)

    for label, (fmt, suffix) in PALETTE_BUTTONS.items():
        path = _download(page, label, downloads)
        assert path.name == "astronaut-k16" + suffix, label
        pal = read_palette(path.read_bytes(), fmt)
        assert pal.hex == shown, f"{label}: {pal.hex} != {shown}"
    try:
        import swatch
    except ImportError:
        swatch = None
    if swatch is not None:  # an independent .ase reader
        parsed = swatch.parse(str(downloads / "astronaut-k16.ase"))
        assert len(parsed) == 1 and parsed[0]["type"] == "Color Group"  # one group, named like the file
        entries = parsed[0]["swatches"]
        ase_hex = ["#%02x%02x%02x" % tuple(round(v * 255) for v in e["data"]["values"]) for e in entries]
        assert ase_hex == shown

    # the order control reorders the swatches and the files follow it
    expected = sort_palette(Palette(np.array([parse_hex(h) for h in shown], np.uint8)), "lightness").hex
    assert expected != shown
    page.get_by_text("by lightness", exact=True).click()
    page.wait_for_function("want => JSON.stringify([...document.querySelectorAll('.kmq-swatch')]"
                           ".map(e => e.dataset.hex)) === want",
                           arg=json.dumps(expected, separators=(",", ":")), timeout=WAIT_MS)
    _settle(page)
    by_lightness = _shown_hex(page)
    assert by_lightness == expected
    gpl = read_palette(_download(page, "Download .gpl", downloads).read_bytes(), "gpl")
    assert gpl.hex == by_lightness

    # on demand: the quality curve and the k-means animation
    from playwright.sync_api import expect

    page.get_by_role("button", name="Compute the curve", exact=True).click()
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(3, timeout=WAIT_MS)
    _settle(page)
    page.get_by_role("button", name="Show the k-means iterations", exact=True).click()
    gif = page.locator("[data-testid=stImage] img[src$='.gif']")
    expect(gif).to_have_count(1, timeout=WAIT_MS)
    _settle(page)
    anim = Image.open(io.BytesIO(page.request.get(app_url + gif.get_attribute("src").removeprefix(app_url)).body()))
    assert anim.format == "GIF" and anim.n_frames >= 3  # served as an animation, not re-encoded

    _screenshot(page, artifacts.local / "app-result.png")
    artifacts("app-result.png")
    for tab, shot in (("Side by side", "app-side-by-side.png"), ("1:1 detail", "app-detail.png")):
        page.get_by_role("tab", name=tab).click()
        _settle(page)
        page.get_by_role("tabpanel").screenshot(path=str(artifacts.local / shot))
        artifacts(shot)
    assert outside == []


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
    _screenshot(page, artifacts.local / "app-corrupt-upload.png")
    artifacts("app-corrupt-upload.png")

    # over the upload limit: refused by the widget itself, before anything reaches the app
    big = tmp_path / "huge.png"
    big.write_bytes(b"\0" * (50 * 1024 * 1024 + 1))
    _upload(page, big)
    expect(page.get_by_text("File must be 50.0MB or smaller.")).to_be_visible(timeout=WAIT_MS)


def test_transparency_on_a_checkerboard(page, app_url, artifacts, tmp_path):
    rgb = data.astronaut()
    yy, xx = np.mgrid[:512, :512]
    r = np.hypot(yy - 256, xx - 256)
    alpha = np.clip((250 - r) * 8, 0, 255).astype(np.uint8)  # a disc with a soft edge, clear corners
    disc = tmp_path / "disc.png"
    Image.fromarray(np.dstack([rgb, alpha])).save(disc)
    page.goto(app_url)
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 16")
    _upload(page, disc)
    _wait_for_result(page, "disc.png: 512×512 pixels, k = 16")
    page.get_by_role("tab", name="Side by side").click()
    _settle(page)
    images = page.locator("[data-testid=stImage] img")
    assert images.count() >= 2
    for i in range(images.count()):
        assert "conic-gradient" in images.nth(i).evaluate("e => getComputedStyle(e).backgroundImage")
    layers = page.frame_locator("[data-testid=stIFrame]").locator(".layer")
    assert layers.count() == 2
    for i in range(2):
        assert "conic-gradient" in layers.nth(i).evaluate("e => getComputedStyle(e).backgroundImage")
    page.get_by_role("tabpanel").screenshot(path=str(artifacts.local / "app-transparency.png"))
    artifacts("app-transparency.png")


def test_twelve_megapixel_upload_time(page, app_url, artifacts, tmp_path):
    """Measurement only: upload to result for a 4000×3000 JPEG at k=64 (printed, saved)."""
    photo = _photo_file(tmp_path, "astronaut-12mp.jpg", (4000, 3000), quality=90)
    page.goto(app_url + "/?k=64")  # k is bound to the URL
    _wait_for_result(page, "china.jpg: 640×427 pixels, k = 64")
    t0 = time.perf_counter()
    _upload(page, photo)
    _wait_for_result(page, "astronaut-12mp.jpg: 4000×3000 pixels, k = 64")
    seconds = time.perf_counter() - t0
    fit = page.get_by_test_id("stMetric").filter(has_text="Time").get_by_test_id("stMetricValue").inner_text()
    report = (f"12 MP upload to result: {seconds:.2f} s, of which fitting and remapping {fit} "
              f"(astronaut upscaled to 4000×3000, JPEG q90, "
              f"{photo.stat().st_size / 1e6:.2f} MB, k=64, defaults otherwise; upload, decode, fit, remap, "
              f"metrics, PNG encoding, previews and page render on {os.cpu_count()} cores; "
              f"load average then {os.getloadavg()[0]:.1f})\n")
    print("\n" + report)
    artifacts("timing-12mp.txt", report)
    assert len(_shown_hex(page)) <= 64
    _screenshot(page, artifacts.local / "app-12mp.png")
    artifacts("app-12mp.png")
