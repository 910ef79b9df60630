"""kmq in the browser: reduce an image to k colours, compare, download.

Run with ``streamlit run streamlit_app.py``. The script reads top to bottom:
sidebar inputs -> one cached call into kmq_core -> display. Every colour
decision is made by kmq_core; this file only arranges what it returns.
Uploads stay in memory; nothing is written to disk.
"""

from __future__ import annotations

import io
import logging
from concurrent.futures import ThreadPoolExecutor
from importlib import resources

import altair as alt
import pandas as pd
import streamlit as st

from kmq_app import views
from kmq_app.files import download_name, safe_stem
from kmq_core import KmqError, Palette, QuantizeResult, load_image, quantize, remap
from kmq_core.auto_k import quality_for_delta_e, smallest_k_for_delta_e, smallest_k_for_quality
from kmq_core.errors import QualityTooLowError
from kmq_core.formats import palette_bytes
from kmq_core.options import (DEFAULT_DITHER, DEFAULT_K, DEFAULT_PROFILE, DEFAULT_SEED, DEFAULT_SPACE, DITHERS,
                              K_MAX, PROFILES, QUALITY_MAX, QUALITY_MIN, SPACES)
from kmq_core.palette_ops import default_names, sort_palette
from kmq_core.progression import lloyd_snapshots

#: upload limit in MB (also in .streamlit/config.toml) and pixel limit of the app
MAX_UPLOAD_MB = 50
MAX_PIXELS = 50_000_000
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "tif", "tiff", "bmp", "gif"]
EXAMPLE_NAME = "china.jpg"
#: palette formats offered for download, in the order shown
PALETTE_FORMATS = {
    "gpl": ("Download .gpl", ".gpl", "text/plain"),
    "ase": ("Download .ase", ".ase", "application/octet-stream"),
    "aco": ("Download .aco", ".aco", "application/octet-stream"),
    "act": ("Download .act", ".act", "application/octet-stream"),
    "json": ("Download .json", ".json", "application/json"),
    "css": ("Download .css", ".css", "text/css"),
    "hex": ("Download .hex", ".hex", "text/plain"),
    "png": ("Download .png strip", "-palette.png", "image/png"),
}
CURVE_KS = (2, 4, 8, 16, 32, 64, 128, 256)
#: Lloyd iterations shown at most in the animation
ANIM_MAX_ITER = 40

log = logging.getLogger("kmq.app")


def as_file(data: bytes, name: str) -> io.BytesIO:
    """The uploaded bytes as an in-memory file carrying its name (for kmq's messages)."""
    f = io.BytesIO(data)
    f.name = name
    return f


@st.cache_data(max_entries=1, show_spinner=False)
def example_bytes() -> bytes:
    """scikit-learn's china.jpg, as the file it ships (a real JPEG)."""
    return (resources.files("sklearn.datasets") / "images" / EXAMPLE_NAME).read_bytes()


@st.cache_data(max_entries=8, show_spinner=False)
def compute(data: bytes, name: str, k: int | None, target_de: float | None, space: str, dither: str,
            seed: int, lock: str, quality: tuple[int, int] | None = None,
            profile: str = DEFAULT_PROFILE) -> tuple[QuantizeResult, views.Previews, int]:
    """The one call into kmq_core: quantize (fixed k, or the smallest k for a target ΔE).

    Returns the result, its previews and the number of colours used; the
    figures that take a pass over all pixels are computed here, once, so that
    a rerun (another palette order, another crop) only unpickles them.
    """
    opts = dict(space=space, dither=dither, seed=seed, lock=lock or None, max_pixels=MAX_PIXELS, profile=profile)
    if quality is not None:  # issue 17: the same --quality MIN-MAX as the command line
        try:
            _, result = smallest_k_for_quality(as_file(data, name), quality, **opts)
        except QualityTooLowError as e:
            result = e.result  # shown with a warning: the app never withholds a result
    elif target_de is None:
        result = quantize(as_file(data, name), k, **opts)
    else:
        _, result = smallest_k_for_delta_e(as_file(data, name), target_de, **opts)
    # encode the PNG (zlib, which releases the GIL) on the other core while the metrics and previews
    # are computed here; all of it is done now so that the cache keeps it
    with ThreadPoolExecutor(max_workers=1) as pool:
        png = pool.submit(lambda: result.png)
        previews = views.make_previews(result.source.pixels, result.labels, result.palette.colors)
        colors_used, _ = result.colors_used, result.mse
        png.result()
    return result, previews, colors_used


@st.cache_data(max_entries=64, show_spinner=False)
def curve_point(data: bytes, name: str, k: int, space: str, dither: str, seed: int, lock: str) -> dict:
    """Quality and size of one k, for the chart."""
    r = quantize(as_file(data, name), k, space=space, dither=dither, seed=seed, lock=lock or None,
                 max_pixels=MAX_PIXELS)
    return {"k": k, "PSNR (dB)": r.psnr, "mean ΔE": r.delta_e, "PNG size (kB)": r.png_bytes / 1e3,
            "colours used": r.colors_used}


@st.cache_data(max_entries=8, show_spinner=False)
def kmeans_steps(data: bytes, name: str, k: int, space: str, seed: int,
                 lock: str) -> tuple[list[str], list[float | None], bytes]:
    """The fit's Lloyd iterations from kmq_core (labels, inertia per step) and their animation."""
    src = load_image(as_file(data, name), max_pixels=MAX_PIXELS)
    small = views.shrink(src.pixels[..., :3], views.ANIM_MAX_SIDE)
    shots = list(lloyd_snapshots(src, k, space=space, seed=seed, lock=lock or None, max_iter=ANIM_MAX_ITER))
    labels = [remap(small, s.colors, space=space) for s in shots]
    gif = views.progression_gif(labels, [s.colors for s in shots])
    return [s.label for s in shots], [s.inertia for s in shots], gif


def add_locked_colour() -> None:
    picked = st.session_state["lock_pick"]
    text = st.session_state.get("lock", "").strip().rstrip(",")
    if picked.lower() not in text.lower():
        st.session_state["lock"] = f"{text}, {picked}" if text else picked


@st.fragment
def detail_view(result: QuantizeResult, k_used: int) -> None:
    """A window of the full-size images, pixel for pixel (a fragment: moving it reruns only this)."""
    c1, c2, c3 = st.columns(3)
    cx = c1.slider("Centre across (%)", 0, 100, 50, key="crop_x")
    cy = c2.slider("Centre down (%)", 0, 100, 50, key="crop_y")
    zoom = c3.select_slider("Zoom", views.ZOOMS, value=2, key="zoom", format_func=lambda z: f"{z}×")
    rows, cols = views.crop_box(result.source.pixels.shape, cx, cy, views.DETAIL_VIEW // zoom)
    crop_before = result.source.pixels[rows, cols]
    crop_after = views.quantized_crop(result.labels, result.palette.colors, result.alpha, rows, cols)
    st.caption(f"Pixels {cols.start}–{cols.stop - 1} across, {rows.start}–{rows.stop - 1} down, "
               f"from the full-size images, each pixel drawn as {zoom}×{zoom}.")
    d1, d2 = st.columns(2)
    with d1.container(key="detail_before"):
        st.image(views.encode_png(views.magnify(crop_before, zoom)), caption="Original", output_format="PNG")
    with d2.container(key="detail_after"):
        st.image(views.encode_png(views.magnify(crop_after, zoom)), caption=f"k = {k_used}", output_format="PNG")


@st.fragment
def palette_and_downloads(result: QuantizeResult, name: str, k_used: int) -> None:
    """Swatches in the chosen order and every file to download (a fragment: reordering reruns only this)."""
    st.subheader("Palette")
    order = st.radio("Order", ["share", "hue", "lightness"], horizontal=True, key="order",
                     format_func={"share": "by share", "hue": "by hue", "lightness": "by lightness"}.get)
    shown = sort_palette(result.palette, order)
    shown = Palette(shown.colors, shown.weights, default_names(shown.colors), safe_stem(name))
    st.html(views.swatches_html(shown.hex, shown.weights, list(shown.names)))
    st.code(", ".join(shown.hex), language=None, wrap_lines=True)

    st.subheader("Downloads")
    st.download_button("Download PNG", result.png, download_name(name, k_used, ".png"), "image/png",
                       key="dl_image", on_click="ignore", type="primary")
    st.caption(f"Indexed PNG, {views.human_bytes(result.png_bytes)}. Palette files (in the order shown above):")
    buttons = st.container(horizontal=True)
    for fmt, (label, suffix, mime) in PALETTE_FORMATS.items():
        buttons.download_button(label, palette_bytes(shown, fmt), download_name(name, k_used, suffix), mime,
                                key=f"dl_palette_{fmt}", on_click="ignore")


st.set_page_config(page_title="kmq: k-means colour quantizer", layout="wide")
st.html(f"<style>{views.PAGE_CSS}</style>")
st.title("kmq: k-means colour quantizer")
st.caption("Reduce an image to a few colours with k-means, compare it with the original, and "
           "download an indexed PNG and its palette for GIMP, Photoshop, Krita, Inkscape or CSS.")

# ---- inputs ---------------------------------------------------------------------------------------
with st.sidebar:
    st.header("Image")
    upload = st.file_uploader("Upload an image", type=IMAGE_TYPES, key="upload", max_upload_size=MAX_UPLOAD_MB)
    st.caption(f"PNG, JPEG, WebP, TIFF, BMP or GIF; up to {MAX_UPLOAD_MB} MB and {MAX_PIXELS / 1e6:g} "
               "megapixels. The file stays in memory and is never stored.")
    st.header("Colours")
    # option values are what the URL shows (?k_mode=...), so they stay short
    k_mode = st.radio("Number of colours", ["k", "target ΔE", "quality"], key="k_mode", bind="query-params",
                      horizontal=True,
                      help="k: choose the number of colours. target ΔE: kmq picks the smallest k that reaches "
                           "a quality you set.")
    k = target_de = quality = None
    if k_mode == "quality":  # issue 17: pngquant's MIN-MAX on kmq's scale, as `kmq quantize --quality`
        quality = st.slider("Quality (MIN-MAX, 0-100)", QUALITY_MIN, QUALITY_MAX, (65, 80), key="quality",
                            help="kmq finds the fewest colours whose quality reaches MAX, and warns below MIN. "
                                 "Quality = 100 - 10 x mean ΔE2000: 90 is a mean ΔE of 1, 77 of 2.3.")
    elif k_mode == "k":
        k = st.slider("k (number of colours)", 2, K_MAX, DEFAULT_K, key="k", bind="query-params")
    else:
        target_de = st.slider("Target mean ΔE (CIEDE2000)", 0.5, 10.0, 2.3, 0.1, key="target_de",
                              bind="query-params",
                              help="kmq finds the fewest colours whose mean colour difference from the original "
                                   "is at most this. About 1: barely visible side by side; 2.3: just noticeable; "
                                   "above 5: clearly different.")
    space = st.selectbox("Colour space", SPACES, index=SPACES.index(DEFAULT_SPACE), key="space", bind="query-params",
                         format_func=lambda s: f"{s} (default)" if s == DEFAULT_SPACE else s,
                         help="The space in which colours are clustered and matched: the perceptual ones "
                              "(de2000, lab, oklab) look best, rgb gives the highest PSNR.")
    dither = st.selectbox("Dithering", DITHERS, index=DITHERS.index(DEFAULT_DITHER), key="dither", bind="query-params",
                          help="fs: Floyd–Steinberg error diffusion, which trades flat areas for grain.")
    profile = st.selectbox("Colour profile", PROFILES, index=PROFILES.index(DEFAULT_PROFILE), key="profile",
                           bind="query-params",
                           format_func={"srgb": "convert to sRGB (default)", "keep": "keep the image's profile"}.get,
                           help="An image with an embedded ICC profile (Display P3, Adobe RGB...) is converted to "
                                "sRGB, or quantized in its own profile, which the PNG then carries.")
    seed = int(st.number_input("Seed", value=DEFAULT_SEED, step=1, key="seed", bind="query-params",
                               help="Same seed, same result."))
    lock = st.text_input("Locked colours", key="lock", bind="query-params", placeholder="#ff0000, #0055aa",
                         help="Colours that stay in the palette unchanged (brand colours): hex codes, "
                              "separated by commas.")
    st.color_picker("Pick a colour to lock", "#ff0000", key="lock_pick")
    st.button("Add to locked colours", on_click=add_locked_colour, key="lock_add")

if upload is None:
    name, data = EXAMPLE_NAME, example_bytes()
    st.info(f"Showing an example photo ({EXAMPLE_NAME}, shipped with scikit-learn). "
            "Upload your own image in the sidebar.")
else:
    name, data = upload.name, upload.getvalue()

# ---- the one call into kmq_core ------------------------------------------------------------------
if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
    st.error(f"{name} is {len(data) / 1e6:.1f} MB, more than the limit of {MAX_UPLOAD_MB} MB.")
    st.stop()
try:
    busy = "Quantizing…" if target_de is None else f"Searching for the smallest k with ΔE ≤ {target_de}…"
    with st.spinner(busy):
        result, previews, colors_used = compute(data, name, k, target_de, space, dither, seed, lock.strip(),
                                                quality=tuple(quality) if quality else None, profile=profile)
except KmqError as e:
    st.error(str(e))
    st.stop()
except Exception as e:  # a bug in kmq: one line on the page, the traceback in the server log
    log.exception("quantizing %r failed", name)
    st.error(f"kmq failed on {name} ({type(e).__name__}: {e}). This is a bug; please report it.")
    st.stop()

k_used = result.k

# ---- display -------------------------------------------------------------------------------------
if target_de is not None:
    if result.delta_e <= target_de:
        st.success(f"k = {k_used} is the smallest k whose mean ΔE ({result.delta_e:.2f}) is at most {target_de}.")
    else:
        st.warning(f"Even k = {k_used} leaves a mean ΔE of {result.delta_e:.2f}, above the target {target_de}.")
if quality is not None:
    reached = quality_for_delta_e(result.delta_e)
    if reached >= quality[1]:
        st.success(f"k = {result.k} is the smallest k whose quality ({reached:.0f}) reaches {quality[1]}.")
    elif reached >= quality[0]:
        st.info(f"Even k = {result.k} reaches quality {reached:.0f}, below {quality[1]} but above {quality[0]}.")
    else:
        st.warning(f"Even k = {result.k} reaches only quality {reached:.0f}, below the minimum {quality[0]} "
                   "(the command line would write nothing and exit 99).")
for note in result.source.notes:
    st.info(note)

h, w = result.shape
st.subheader(f"{name}: {w}×{h} pixels, k = {k_used}")
row1 = st.columns(4)
row1[0].metric("Colours used", f"{colors_used}", help="Palette entries that at least one pixel uses.")
row1[1].metric("PSNR", "∞" if result.psnr == float("inf") else f"{result.psnr:.2f} dB",
               help="Peak signal-to-noise ratio over R, G, B: 30 dB looks good, 40 dB is hard to tell apart.")
row1[2].metric("Mean ΔE (CIEDE2000)", f"{result.delta_e:.2f}",
               help="Average colour difference per pixel: about 1 is barely visible side by side, "
                    "2.3 just noticeable, above 5 clearly different.")
row1[3].metric("Bits per pixel", f"{result.bits_per_pixel}",
               help=f"Index bits per pixel, against {8 * result.source.pixels.shape[2]} for the original.")
row2 = st.columns(4)
row2[0].metric("Original file", views.human_bytes(result.input_bytes))
row2[1].metric("Indexed PNG", views.human_bytes(result.png_bytes))
ratio = result.compression_ratio
row2[2].metric("Size ratio", "n/a" if ratio is None else f"{ratio:.2f}×",
               help="Original file size divided by the indexed PNG's size (above 1: the PNG is smaller).")
row2[3].metric("Time", f"{result.seconds:.2f} s", help="Fitting the palette and mapping the pixels.")

st.subheader("Before and after")
tab_slider, tab_side, tab_detail = st.tabs(["Slider", "Side by side", "1:1 detail"])
with tab_slider:
    st.iframe(views.compare_slider_html(previews, "Original", f"k = {k_used}"), height="content")
    if (previews.width, previews.height) != (w, h):
        st.caption(f"Previews are scaled to {previews.width}×{previews.height}; see “1:1 detail” for real pixels.")
with tab_side:
    left, right = st.columns(2)
    left.image(previews.before, caption="Original", output_format="PNG", width="stretch")
    with right.container(key="after_full"):
        st.image(previews.after, caption=f"k = {k_used}", output_format="PNG", width="stretch")
with tab_detail:
    detail_view(result, k_used)

palette_and_downloads(result, name, k_used)

st.subheader("Quality and size against k")
st.caption("Quantizes the image at k = " + ", ".join(map(str, CURVE_KS)) + " with the options above.")
curve_key = (name, len(data), space, dither, seed, lock.strip())
if st.button("Compute the curve", key="curve"):
    st.session_state["curve_for"] = curve_key
if st.session_state.get("curve_for") == curve_key:
    bar = st.progress(0.0, text="Quantizing…")
    points = []
    for i, kk in enumerate(CURVE_KS):
        bar.progress(i / len(CURVE_KS), text=f"Quantizing at k = {kk}…")
        try:
            points.append(curve_point(data, name, kk, space, dither, seed, lock.strip()))
        except KmqError:  # e.g. more locked colours than kk
            continue
    bar.empty()
    df = pd.DataFrame(points)
    if len(df):
        # an exact result (k at least the image's colour count) has an infinite PSNR: no point on the chart
        plot = df.replace(float("inf"), float("nan"))
        x = alt.X("k:Q", scale=alt.Scale(type="log", base=2), axis=alt.Axis(values=list(CURVE_KS)))
        for col, field in zip(st.columns(3), ["PSNR (dB)", "mean ΔE", "PNG size (kB)"]):
            y = alt.Y(f"{field}:Q", scale=alt.Scale(zero=False))
            chart = alt.Chart(plot).mark_line(point=True).encode(x=x, y=y)
            col.altair_chart(chart.properties(title=field, height=220), width="stretch")
        st.dataframe(df.round(3), hide_index=True)

st.subheader("How k-means got there")
st.caption("The palette after k-means++ seeding and after each Lloyd iteration of kmq's fit, then the final "
           "palette (after accent rescue and refinement), each applied to a small copy of the image without "
           "dithering.")
steps_key = (name, len(data), k_used, space, seed, lock.strip())
if st.button("Show the k-means iterations", key="steps"):
    st.session_state["steps_for"] = steps_key
if st.session_state.get("steps_for") == steps_key:
    with st.spinner("Running the fit step by step…"):
        step_labels, inertia, gif = kmeans_steps(data, name, k_used, space, seed, lock.strip())
    a, b = st.columns([3, 2])
    a.image(gif, caption=f"{len(step_labels)} frames: {step_labels[0]} … {step_labels[-1]}")
    lloyd = pd.DataFrame({"step": range(len(inertia) - 1), "mean squared distance": inertia[:-1]})
    chart = alt.Chart(lloyd).mark_line(point=True).encode(
        x=alt.X("step:Q", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("mean squared distance:Q", scale=alt.Scale(zero=False)))
    b.altair_chart(chart.properties(title=f"k-means objective in {space}", height=260), width="stretch")
