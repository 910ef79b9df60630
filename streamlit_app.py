"""kmq in the browser: reduce an image to k colours, see it big, take its palette.

Run with ``streamlit run streamlit_app.py``. The script reads top to bottom:
inputs (the upload, then k beside the palette, then the options) -> one job
that calls kmq_core (:mod:`kmq_app.work`, run off the page's thread by
:mod:`kmq_app.jobs` so that it shows progress and can be cancelled) ->
display: the image viewer, the palette with its downloads, the figures.
Every colour decision is made by kmq_core; this file only arranges what it
returns. Uploads stay in memory; nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import logging
import time
from importlib.util import find_spec
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from kmq_app import checks, emphasis, labels, viewer, views
from kmq_app.files import download_name, safe_stem
from kmq_app.jobs import Cancelled, Job, Jobs
from kmq_app.work import Computed, Options, animation_work, quantize_work, steps_work, sweep_work
from kmq_core import KmqError, Palette, hex_code
from kmq_core import options as opt
from kmq_core.colour_management import profile_name
from kmq_core.formats import MAIN_EXTENSIONS, mime_type, palette_bytes
from kmq_core.palette_ops import SORT_KEYS, default_names, sort_palette
from kmq_core.picking import pick_color
from kmq_core.sweep import DEFAULT_KS

#: upload limit in MB (also in .streamlit/config.toml) and pixel limit of the app
MAX_UPLOAD_MB = 50
MAX_PIXELS = 50_000_000
IMAGE_TYPES = ["png", "apng", "jpg", "jpeg", "webp", "tif", "tiff", "bmp", "gif"]
EXAMPLE_NAME = "china.jpg"
#: palette formats offered for download (every format of kmq_core.formats, with its plug-in's MIME
#: type): the two designers reach for first, then the rest; the PNG strip's name says what it is
FIRST_FORMATS = ("ase", "gpl")
PALETTE_FORMATS = {fmt: (f"Download .{fmt}" + (" strip" if fmt == "png" else ""),
                         "-palette.png" if fmt == "png" else f".{fmt}", mime_type(fmt))
                   for fmt in (*FIRST_FORMATS, *(f for f in MAIN_EXTENSIONS if f not in FIRST_FORMATS))}
SPEC = opt.SPECS  # every choice, range and default below is the core's
#: the k slider: every k up to 32 (where one colour more or less shows), coarser above
K_STEPS = tuple(range(SPEC["k"].low, 33)) + (40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256)
#: where the quality MIN-MAX slider starts (pngquant's usual 65-80; the scale is kmq_core.options')
QUALITY_START = (65, 80)
#: how the number of colours is chosen: a k, a largest mean ΔE, or a quality MIN-MAX (`kmq quantize --quality`)
K_MODES = ("k", "target", "quality")
#: Lloyd iterations shown at most in the animation
ANIM_MAX_ITER = 40
#: wait this long before showing a progress bar (shorter work just appears)
QUIET_WAIT_S = 0.3
POLL_S = 0.1

log = logging.getLogger("kmq.app")


@st.cache_resource
def jobs() -> Jobs:
    """The server's jobs and results, shared by every session."""
    return Jobs()


@st.cache_data(max_entries=1, show_spinner=False)
def example_bytes() -> bytes:
    """scikit-learn's china.jpg, as the file it ships (found without importing scikit-learn: 1 s saved)."""
    spec = find_spec("sklearn")
    return (Path(spec.submodule_search_locations[0]) / "datasets" / "images" / EXAMPLE_NAME).read_bytes()


def session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "none"


def digest_of(upload) -> str:
    """The upload's content digest, computed once per uploaded file (hashing 36 MB takes 50 ms)."""
    memo = st.session_state.setdefault("_digests", {})
    if upload.file_id not in memo:
        memo.clear()
        memo[upload.file_id] = hashlib.blake2b(upload.getvalue(), digest_size=16).hexdigest()
    return memo[upload.file_id]


def wait_for(job: Job, slot, what: str) -> None:
    """Wait for a job; after a moment, a progress bar with its stage and a Cancel button.

    Each redraw of the bar is a point where Streamlit can stop this run for
    a click (Cancel, or any other input), so the page never freezes.
    """
    end = time.perf_counter() + QUIET_WAIT_S
    while not job.done() and time.perf_counter() < end:
        time.sleep(0.02)
    if job.done():
        return
    with slot.container(key=f"progress_{what}"):
        fraction, text = job.status()
        bar = st.progress(fraction, text=text)
        st.button("Cancel", key=f"cancel_{what}", on_click=cancel, args=(job.key, what), icon=":material/close:")
    while not job.done():
        fraction, text = job.status()
        bar.progress(fraction, text=text)
        time.sleep(POLL_S)
    slot.empty()


def cancel(key, what: str) -> None:
    jobs().cancel(key)
    st.session_state[f"stopped_{what}"] = key


def stopped_notice(slot, key, what: str, text: str) -> bool:
    """If the user stopped this job: say so, offer to start it again, and return True."""
    if st.session_state.get(f"stopped_{what}") != key:
        return False
    with slot.container():
        st.warning(text, icon=":material/stop_circle:")
        st.button("Compute it again", key=f"again_{what}", on_click=st.session_state.pop,
                  args=(f"stopped_{what}",))
    return True


# ---- what clicks on the palette and the image do ---------------------------------------------------
def locked_list() -> list[str]:
    try:
        return [hex_code(c) for c in opt.lock_colours(st.session_state.get("lock", ""))]
    except KmqError:
        return []


def set_locked(hexes: list[str]) -> None:
    st.session_state["lock"] = ", ".join(dict.fromkeys(hexes))


def toggle_lock(hx: str) -> None:
    now = locked_list()
    set_locked([h for h in now if h != hx] if hx in now else now + [hx])


def add_picked_colour() -> None:
    """The colour picker changed (on_change: only when the user picked one)."""
    hx = st.session_state["lock_pick"].lower()
    if hx not in locked_list():
        set_locked(locked_list() + [hx])


def eyedropper_pick() -> None:
    """The viewer's eyedropper: lock the original's colour at the point clicked (kmq_core.picking)."""
    pick = st.session_state["viewer"].get("pick")
    source = st.session_state.get("_shown_source")
    if not isinstance(pick, dict) or source is None:
        return
    try:  # while marking the emphasis region, a click is one of its corners
        if emphasis.click(st.session_state, float(pick["x"]), float(pick["y"]), source.shape[:2],
                          st.session_state.get("_shown_image", "")):
            return
    except (KeyError, TypeError, ValueError):
        return
    try:
        rgb = pick_color(source, float(pick["x"]), float(pick["y"]), int(pick.get("size", 1)))
    except (KmqError, KeyError, TypeError, ValueError):
        return
    if rgb is not None and hex_code(rgb) not in locked_list():
        set_locked(locked_list() + [hex_code(rgb)])
        st.session_state["_picked"] = hex_code(rgb)


def from_url(key: str, choices, default):
    """A choice kept in the URL (?key=value) as its short name: read once per session, written on change.

    (Streamlit's own ``bind="query-params"`` stores a choice by its label when the widget has a
    ``format_func``, so the plain labels would end up in shared links.)
    """
    seeded = st.session_state.setdefault("_from_url", set())
    if key not in seeded:
        seeded.add(key)
        value = st.query_params.get(key)
        chosen = [c for c in choices if str(c) == value]  # the URL holds text; a choice may be a number
        if chosen:
            st.session_state[key] = chosen[0]
    if key not in st.session_state:
        st.session_state[key] = default


def to_url(key: str, value, default) -> None:
    if value == default:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != str(value):
        st.query_params[key] = str(value)


def k_from_number() -> None:
    st.session_state["k_slide"] = st.session_state["k"]


def k_from_slider() -> None:
    st.session_state["k"] = st.session_state["k_slide"]


@st.cache_data(max_entries=8, show_spinner=False)
def cvd_preview(png: bytes, vision: str) -> bytes:
    """The result's preview as seen with a colour-vision deficiency (kmq_core.cvd)."""
    return checks.simulated_png(png, vision)


# the palette checks compare every pair (32,640 at k = 256): once per palette, not on every rerun
@st.cache_data(max_entries=16, show_spinner=False)
def contrast_view(hexes: tuple[str, ...]) -> str:
    return checks.contrast_html(checks.palette_of(hexes))


@st.cache_data(max_entries=16, show_spinner=False)
def vision_counts(hexes: tuple[str, ...]) -> dict[str, int]:
    return checks.flag_counts(checks.palette_of(hexes))


@st.cache_data(max_entries=16, show_spinner=False)
def vision_view(hexes: tuple[str, ...], vision: str) -> str:
    return checks.vision_html(checks.palette_of(hexes), vision)


def text_colour(rgb) -> str:
    """Black or white text on a swatch, whichever reads better (WCAG relative luminance)."""
    c = [v / 255 for v in rgb]
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c]
    return "#000" if 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2] > 0.179 else "#fff"


# ---- the page --------------------------------------------------------------------------------------
st.set_page_config(page_title="kmq: the colours of an image", layout="wide")
st.html(f"<style>{views.PAGE_CSS}{checks.CSS}</style>")

head, up = st.columns([3, 2], vertical_alignment="center", gap="medium")
with head:
    st.markdown("#### kmq: the colours of an image")
    info = st.empty()
with up:
    upload = st.file_uploader(
        "Upload an image", type=IMAGE_TYPES, key="upload", max_upload_size=MAX_UPLOAD_MB,
        label_visibility="collapsed",
        help=f"PNG, JPEG, WebP, TIFF, BMP or GIF; up to {MAX_UPLOAD_MB} MB and {MAX_PIXELS / 1e6:g} megapixels. "
             "The file stays in memory and is never stored.")

left, right = st.columns([7, 3], gap="medium")
with left:
    progress_slot = st.empty()
    viewer_slot = st.container(key="viewer_box")
    figures_slot = st.container(key="figures")
    vision_slot = st.container(key="vision_box")
with right:
    k_box = st.container(key="k_box")
    palette_box = st.container(key="palette_box")
    downloads_box = st.container(key="downloads")
    contrast_box = st.expander("Contrast (WCAG)", expanded=False, key="contrast_box")
    options_box = st.expander("Options: colour matching, dithering, colour profile, locked colours",
                              expanded=False)

# ---- inputs --------------------------------------------------------------------------------------
with k_box:
    # option values are what the URL shows (?k_mode=...), so they stay short
    from_url("k_mode", K_MODES, "k")
    k_mode = st.segmented_control("Choose", K_MODES, key="k_mode", required=True,
                                  label_visibility="collapsed", format_func=labels.k_mode_label)
    to_url("k_mode", k_mode, "k")
    k = target_de = quality = None
    if k_mode == "target":
        target_de = st.slider("Largest mean colour difference (ΔE2000)", 0.5, 10.0, 2.3, 0.1,
                              key="target_de", bind="query-params", help=labels.TARGET_HELP)
    elif k_mode == "quality":  # issue 17: pngquant's MIN-MAX on kmq's scale, as `kmq quantize --quality`
        lo, hi = st.slider(f"Quality (MIN-MAX, {opt.QUALITY_MIN}-{opt.QUALITY_MAX})", opt.QUALITY_MIN,
                           opt.QUALITY_MAX, QUALITY_START, key="quality", bind="query-params",
                           help=labels.QUALITY_HELP)
        quality = opt.check_quality((lo, hi))
    else:
        c_num, c_slide = st.columns([2, 5], vertical_alignment="bottom", gap="small")
        k = int(c_num.number_input("Colours (k)", SPEC["k"].low, SPEC["k"].high, SPEC["k"].default, 1, key="k",
                                   bind="query-params", on_change=k_from_number, help=labels.K_HELP))
        if st.session_state.get("k_slide") != k:
            st.session_state["k_slide"] = k
        c_slide.select_slider("Colours (k), on a scale that is fine at small k", sorted({*K_STEPS, k}),
                              key="k_slide", on_change=k_from_slider, label_visibility="collapsed")
    # issue 27: a mood (kmq_core.moods) and the region that matters most (kmq_core.importance)
    moods = ("none", *SPEC["mood"].choices)  # 'none': the default (no mood); a select shows None as empty
    from_url("mood", moods, "none")
    c_mood, c_mark = st.columns([3, 2], vertical_alignment="bottom", gap="small")
    mood = c_mood.selectbox("Mood", moods, key="mood", format_func=labels.mood_label, help=labels.MOOD_HELP)
    to_url("mood", mood, "none")
    c_mark.toggle("Mark emphasis", key=emphasis.MARKING, on_change=emphasis.started, args=(st.session_state,),
                  help=labels.EMPHASIS_HELP)
    emphasis_slot = st.empty()

with options_box:
    from_url("space", SPEC["space"].choices, SPEC["space"].default)
    space = st.selectbox("Colour matching", SPEC["space"].choices, key="space", format_func=labels.space_label,
                         help=labels.SPACE_HELP)
    to_url("space", space, SPEC["space"].default)
    from_url("dither", SPEC["dither"].choices, SPEC["dither"].default)
    dither = st.selectbox("Dithering", SPEC["dither"].choices, key="dither", format_func=labels.dither_label,
                          help=labels.DITHER_HELP)
    to_url("dither", dither, SPEC["dither"].default)
    bayer_size = SPEC["bayer_size"].default
    if dither == "bayer":  # the other ditherings have no matrix size
        from_url("bayer_size", SPEC["bayer_size"].choices, SPEC["bayer_size"].default)
        bayer_size = st.selectbox("Bayer pattern size", SPEC["bayer_size"].choices, key="bayer_size",
                                  format_func=labels.bayer_size_label, help=labels.BAYER_SIZE_HELP)
    to_url("bayer_size", bayer_size, SPEC["bayer_size"].default)
    from_url("profile", SPEC["profile"].choices, SPEC["profile"].default)
    profile = st.selectbox("Colour profile", SPEC["profile"].choices, key="profile", format_func=labels.profile_label,
                           help=labels.PROFILE_HELP)
    to_url("profile", profile, SPEC["profile"].default)
    seed = int(st.number_input("Variation (seed)", value=SPEC["seed"].default, step=1, key="seed",
                               bind="query-params", help=labels.SEED_HELP))
    lock = st.text_input("Locked colours", key="lock", bind="query-params", placeholder="#ff0000, #0055aa",
                         help=labels.LOCK_HELP)
    st.color_picker("Add a colour to lock", "#808080", key="lock_pick", on_change=add_picked_colour,
                    help="Opens a colour picker; the colour you choose is added to the locked colours.")

if upload is None:
    name, data, digest = EXAMPLE_NAME, example_bytes(), "example"
    info.caption(f"An example photo ({EXAMPLE_NAME}, shipped with scikit-learn): upload your own.")
else:
    name, data, digest = upload.name, upload.getvalue(), digest_of(upload)
image_id = f"{digest}:{name}"
region = emphasis.region(st.session_state, image_id)
if region is not None:
    with emphasis_slot.container(horizontal=True, vertical_alignment="center", key="emphasis_row"):
        st.caption(f"Emphasis: x {region[0]}–{region[2]}, y {region[1]}–{region[3]}")
        st.button("Clear", key="emphasis_clear", on_click=emphasis.clear, args=(st.session_state,),
                  icon=":material/close:", type="tertiary")

if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
    st.error(f"{name} is {len(data) / 1e6:.1f} MB, more than the limit of {MAX_UPLOAD_MB} MB.")
    st.stop()
try:  # every option checked once, by the core's own checks (the locked colours must fit in k)
    chosen = opt.QuantizeOptions(k=k or SPEC["k"].high, space=space, dither=dither, bayer_size=bayer_size, seed=seed,
                                 lock=lock, max_pixels=MAX_PIXELS, profile=profile, quality=quality, mood=mood)
except KmqError as e:
    st.error(str(e))
    st.stop()
lock_canonical = chosen.lock or ""

# ---- the one job: kmq_core quantizes ---------------------------------------------------------------
options = Options(k, target_de, space, dither, seed, lock_canonical, MAX_PIXELS, quality, profile, bayer_size,
                  chosen.mood, region)
key = ("quantize", digest, name, options)
if stopped_notice(progress_slot, key, "main", f"Stopped before {name} was ready. Change an option, or compute "
                                            "it again."):
    st.stop()
known = jobs().get(key)
cached = known is not None and known.done()
job = jobs().start(key, quantize_work(data, name, options), session=session_id(), size=lambda c: c.nbytes)
jobs().release(session_id(), keep=key)
wait_for(job, progress_slot, "main")
try:
    c: Computed = job.result()
except Cancelled:
    stopped_notice(progress_slot, key, "main", f"Stopped before {name} was ready.")
    st.stop()
except KmqError as e:
    st.error(str(e))
    st.stop()
except Exception as e:  # a bug in kmq: one line on the page, the traceback in the server log
    log.exception("quantizing %r failed", name)
    st.error(f"kmq failed on {name} ({type(e).__name__}: {e}). This is a bug; please report it.")
    st.stop()

r = c.result
k_used = r.k
h, w = r.shape
result_id = hashlib.blake2b(repr(key).encode(), digest_size=8).hexdigest()
st.session_state["_shown_source"] = r.source.pixels
st.session_state["_shown_image"] = image_id

# ---- display: the image ------------------------------------------------------------------------------
with head:
    dims = f"{name}: {w}×{h} pixels, k = {k_used}"
    if upload is not None:
        info.empty()
with viewer_slot:
    st.subheader(dims, anchor=False)
    if target_de is not None:
        if c.delta_e <= target_de:
            st.success(f"k = {k_used} is the smallest k whose mean ΔE ({c.delta_e:.2f}) is at most {target_de}.")
        else:
            st.warning(f"Even k = {k_used} leaves a mean ΔE of {c.delta_e:.2f}, above the target {target_de}.")
    if quality is not None:  # the same search and the same words as `kmq quantize --quality`
        q_min, q_max = quality
        if c.below_min:
            st.warning(f"Even k = {k_used} reaches only quality {c.quality:.0f}, below the minimum {q_min} "
                       "(the command line would write nothing and exit 99).")
        elif c.quality >= q_max:
            st.success(f"k = {k_used} is the smallest k whose quality ({c.quality:.0f}) reaches {q_max}.")
        else:
            st.info(f"Even k = {k_used} reaches quality {c.quality:.0f}, below {q_max} but above {q_min}.")
    for note in r.source.notes:
        st.info(note)
    viewer.show(c, result_id, f"k = {k_used}", key="viewer", on_pick=eyedropper_pick, cached=cached, region=region,
                marking=emphasis.hint(st.session_state, image_id))
    if c.frames > 1:
        anim_key = ("animation", key, tuple(c.fitted.hex))
        st.markdown(f"**Animation**: {c.frames} frames, one palette for all of them (the one on the right). "
                    "Before and after, playing:")
        anim_slot = st.empty()
        aj = jobs().start(anim_key, animation_work(data, name, options, c.fitted), session=session_id())
        wait_for(aj, anim_slot, "animation")
        try:
            gif = aj.result()
        except Cancelled:
            gif = None
            anim_slot.info("Stopped before the frames were done.")
        except KmqError as e:
            gif = None
            anim_slot.error(str(e))
        if gif is not None:
            anim_slot.html(views.animation_pair(data, gif))
            st.session_state["_animation"] = (anim_key, gif)

with figures_slot:
    dithered = r.dither != "none"
    row = st.container(horizontal=True, key="figure_row")
    row.metric("Colours used", f"{c.colors_used}", help="Palette entries that at least one pixel uses.")
    row.metric("Mean ΔE (CIEDE2000)", f"{c.delta_e:.2f}",
               help="Colour difference from the original, averaged over the pixels: about 1 is barely visible side "
                    "by side, 2.3 just noticeable, above 5 clearly different."
                    + (" Measured pixel by pixel, so dithering's grain counts as error: from a viewing distance "
                       "the grain blends and the image looks closer than this." if dithered else ""))
    row.metric("PSNR", "∞" if c.psnr == float("inf") else f"{c.psnr:.2f} dB",
               help="Peak signal-to-noise ratio over R, G, B: 30 dB looks good, 40 dB is hard to tell apart."
                    + (" Per pixel: dithering's grain lowers it." if dithered else ""))
    row.metric("Indexed PNG", views.human_bytes(len(c.png)), help="The file “Download PNG” gives.")
    row.metric("Original file", views.human_bytes(r.input_bytes))
    ratio = r.compression_ratio
    row.metric("Size ratio", "n/a" if ratio is None else f"{ratio:.2f}×",
               help="Original file size divided by the indexed PNG's size (above 1: the PNG is smaller).")
    row.metric("Bits per pixel", f"{r.bits_per_pixel}",
               help=f"Bits of palette index per pixel in the PNG, against {8 * r.source.pixels.shape[2]} "
                    "for the original's colour values.")

# ---- display: the palette and the downloads ------------------------------------------------------------
locked = set(locked_list())
with palette_box:
    base = c.fitted
    if r.source.icc_profile is not None:  # --profile keep: the numbers are the image's profile's, not sRGB
        st.caption(f"The colours are numbers in the image's profile ({profile_name(r.source.icc_profile)}), as "
                   "the PNG and the palette files hold them; the swatches draw them as sRGB, so wide-gamut "
                   "colours look duller here than in the image.")
    p_head, p_order = st.columns([1, 1], vertical_alignment="center")
    p_head.markdown(f"**Palette**: {len(base)} colours")
    order = p_order.selectbox("Order", SORT_KEYS, key="order", format_func=labels.order_label,
                              label_visibility="collapsed", help="The order of the swatches and of the palette files "
                              "(the command line's `kmq palette --sort`).")
    shown = sort_palette(base, order)
    shown = Palette(shown.colors, shown.weights, default_names(shown.colors), safe_stem(name))
    css = []
    grid = st.container(horizontal=True, gap="small", key="swatches")
    for i, (hx, share, cname, rgb) in enumerate(zip(shown.hex, shown.weights, shown.names, shown.colors)):
        is_locked, absent = hx in locked, share <= 0
        text = f"{hx}  \n" + ("not in image" if absent else f"{share:.1%}" if share >= 0.0005 else "< 0.1%")
        tip = (f"{cname} {hx}, {share:.1%} of the pixels. "
               + ("Locked: click to unlock." if is_locked else "Click to lock it (it stays when k changes)."))
        if absent:
            tip += " Locked, but no pixel of the image is nearest to it."
        grid.button(text, key=f"sw_{i}", on_click=toggle_lock, args=(hx,), help=tip,
                    icon=":material/lock:" if is_locked else None, type="tertiary")
        css.append(f".st-key-sw_{i} button {{ background: {hx} !important; color: {text_colour(rgb)} !important; }}")
        if absent:
            css.append(f".st-key-sw_{i} button {{ border: 2px dashed #d33 !important; }}")
    st.html(f"<style>{''.join(css)}</style>")
    with st.popover("Copy the hex codes", icon=":material/content_copy:"):
        st.code(", ".join(shown.hex), language=None, wrap_lines=True)

with downloads_box:
    buttons = st.container(horizontal=True, gap="small")
    buttons.download_button("Download PNG", c.png, download_name(name, k_used, ".png"), "image/png",
                            key="dl_image", on_click="ignore", type="primary", icon=":material/download:",
                            help=f"Indexed PNG, {views.human_bytes(len(c.png))}, {len(r.palette)} colours.")
    shown_anim = st.session_state.get("_animation") if c.frames > 1 else None
    gif = shown_anim[1] if shown_anim is not None and shown_anim[0] == anim_key else None
    if gif is not None:
        buttons.download_button("Download GIF", gif, download_name(name, k_used, ".gif"), "image/gif",
                                key="dl_animation", on_click="ignore", type="primary", icon=":material/download:",
                                help=f"Animated GIF, {views.human_bytes(len(gif))}, {c.frames} frames.")
    for fmt in FIRST_FORMATS:
        label, suffix, mime = PALETTE_FORMATS[fmt]
        buttons.download_button(label, palette_bytes(shown, fmt), download_name(name, k_used, suffix), mime,
                                key=f"dl_palette_{fmt}", on_click="ignore")
    with buttons.popover("More formats"):
        st.caption("The palette in the order shown: Photoshop swatches, colour table, JSON, CSS, hex list, "
                   "a PNG strip.")
        for fmt, (label, suffix, mime) in PALETTE_FORMATS.items():
            if fmt not in FIRST_FORMATS:
                st.download_button(label, palette_bytes(shown, fmt), download_name(name, k_used, suffix), mime,
                                   key=f"dl_palette_{fmt}", on_click="ignore")

# ---- display: the palette checks (kmq_core.wcag, kmq_core.cvd) ------------------------------------------
with contrast_box:
    st.caption("The WCAG 2.2 contrast ratio of every pair of swatches (numbered in the palette's order; hover a "
               "cell for the colours): body text needs 4.5:1 (AA) or 7:1 (AAA), large text 3:1.")
    st.html(contrast_view(tuple(shown.hex)))

with vision_slot:
    vision = st.segmented_control("Colour vision", checks.VISIONS, key="vision", default="normal", required=True,
                                  format_func=checks.vision_label, help=checks.VISION_HELP)
    if vision == "normal":
        counts = vision_counts(tuple(shown.hex))
        st.caption("Pairs of swatches that look alike with colour-blindness: "
                   + ", ".join(f"{d} {n}" for d, n in counts.items())
                   + ". Choose one to see the result and the palette as they see it.")
    else:
        img_col, pal_col = st.columns([3, 2], gap="medium")
        img_col.image(cvd_preview(c.previews.after, vision), output_format="PNG",
                      caption=f"The result as seen with {vision} (Machado et al. 2009)")
        pal_col.html(vision_view(tuple(shown.hex), vision))

# ---- on demand, below: the k curve and the k-means animation ------------------------------------------
st.divider()
curve_col, steps_col = st.columns(2, gap="large")
with curve_col:
    st.subheader("Quality and size against k", anchor=False)
    st.caption("Quantizes the image at k = " + ", ".join(map(str, DEFAULT_KS)) + " with the options above.")
    curve_key = ("sweep", digest, name, Options(None, None, space, dither, seed, lock_canonical, MAX_PIXELS,
                                                    profile=profile, bayer_size=bayer_size))
    if st.button("Compute the curve", key="curve"):
        st.session_state["curve_for"] = curve_key
        st.session_state.pop("stopped_curve", None)
    curve_slot = st.empty()
    if st.session_state.get("curve_for") == curve_key and not stopped_notice(
            curve_slot, curve_key, "curve", "Stopped the curve before it was done."):
        cj = jobs().start(curve_key, sweep_work(data, name, curve_key[3], DEFAULT_KS), session=session_id())
        wait_for(cj, curve_slot, "curve")
        try:
            points = cj.result()
        except Cancelled:
            points = None
            stopped_notice(curve_slot, curve_key, "curve", "Stopped the curve before it was done.")
        except KmqError as e:
            points = None
            st.error(str(e))
        if points:
            import altair as alt  # imported when asked for: half a second off every page load
            import pandas as pd

            df = pd.DataFrame([p.to_dict() for p in points])
            # an exact result (k at least the image's colour count) has an infinite PSNR: no point on the chart
            plot = df.replace(float("inf"), float("nan"))
            x = alt.X("k:Q", scale=alt.Scale(type="log", base=2), axis=alt.Axis(values=list(DEFAULT_KS)))
            for field in ("mean ΔE", "PNG size (kB)", "PSNR (dB)"):
                y = alt.Y(f"{field}:Q", scale=alt.Scale(zero=False))
                chart = alt.Chart(plot).mark_line(point=True).encode(x=x, y=y)
                st.altair_chart(chart.properties(title=field, height=180), width="stretch")
            st.dataframe(df.round(3), hide_index=True)

with steps_col:
    st.subheader("How k-means got there", anchor=False)
    st.caption("The palette after k-means++ seeding and after each Lloyd iteration of kmq's fit, then the final "
               "palette (after accent rescue and refinement), each applied to a small copy of the image without "
               "dithering.")
    steps_key = ("steps", digest, name, k_used, space, seed, lock_canonical, profile)
    if st.button("Show the k-means iterations", key="steps"):
        st.session_state["steps_for"] = steps_key
    steps_slot = st.empty()
    if st.session_state.get("steps_for") == steps_key and not stopped_notice(
            steps_slot, steps_key, "steps", "Stopped before the iterations were drawn."):
        sj = jobs().start(steps_key, steps_work(data, name, options, k_used, ANIM_MAX_ITER), session=session_id())
        wait_for(sj, steps_slot, "steps")
        try:
            step_labels, inertia, gif = sj.result()
        except Cancelled:
            stopped_notice(steps_slot, steps_key, "steps", "Stopped before the iterations were drawn.")
        except KmqError as e:
            st.error(str(e))
        else:
            import altair as alt
            import pandas as pd

            st.image(gif, caption=f"{len(step_labels)} frames: {step_labels[0]} … {step_labels[-1]}")
            lloyd = pd.DataFrame({"step": range(len(inertia) - 1), "mean squared distance": inertia[:-1]})
            chart = alt.Chart(lloyd).mark_line(point=True).encode(
                x=alt.X("step:Q", axis=alt.Axis(tickMinStep=1, format="d")),
                y=alt.Y("mean squared distance:Q", scale=alt.Scale(zero=False)))
            st.altair_chart(chart.properties(title=f"k-means objective in {space}", height=220), width="stretch")
