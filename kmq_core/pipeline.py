"""The whole pipeline in one call: load → fit palette → remap (→ dither).

:func:`quantize` is what every front end calls. Each step is also usable on
its own: :func:`kmq_core.fitting.fit_palette`, :func:`kmq_core.remapping.remap`,
:func:`kmq_core.saving.encode_indexed_png`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .errors import KmqError
from .fitting import fit_palette
from .histogram import ColorHistogram, color_histogram, fitting_weights, row_chunks
from .loading import ImageSource, LoadedImage, load_image
from .metrics import bits_per_pixel, histogram_errors, label_errors, psnr_from_mse
from .nearest import assign_histogram
from .options import (BAYER_SIZES, DEFAULT_BAYER_SIZE, DEFAULT_DITHER, DEFAULT_K, DEFAULT_LOSSY, DEFAULT_MAX_PIXELS,
                      DEFAULT_PROFILE, DEFAULT_SEED, DEFAULT_SPACE, DEFAULT_STRENGTH, DITHERS, MOODS, PROFILES,
                      SPACES, check_bayer_size, check_dither, check_k, check_lossy, check_mood, check_profile,
                      check_space, check_strength)
from .palette import Palette, order_by_share
from .remapping import remap
from .colour_management import profile_name
from .saving import atomic_write, encode_indexed_png


def label_counts(labels: np.ndarray, alpha: np.ndarray | None, n: int) -> np.ndarray:
    """Pixels per palette index, visible pixels only, in row chunks
    (``np.bincount`` widens its input to int64: 8 bytes per pixel at once)."""
    counts = np.zeros(n, np.int64)
    h, w = labels.shape
    for rows in row_chunks(h, w):
        lab = labels[rows].ravel()
        if alpha is not None:
            lab = lab[alpha[rows].ravel() > 0]
        counts += np.bincount(lab, minlength=n)[:n]
    return counts


def check_png_name(path) -> None:
    """Refuse an output name whose extension is not ``.png`` (none is fine)."""
    from pathlib import Path

    name = Path(str(path)).name
    suffix = Path(name).suffix
    if suffix and suffix.lower() != ".png":
        raise KmqError(f"{name}: kmq writes indexed PNG files only; give a name ending in .png")


@dataclass(eq=False)
class QuantizeResult:
    """What :func:`quantize` returns.

    Attributes
    ----------
    palette : Palette
        The colours used, most used first, with pixel shares as weights.
    labels : (H, W) uint8 array
        Index into ``palette.colors`` for every pixel.
    source : LoadedImage
        The input pixels (8-bit sRGB(A)) and what was noted while loading.
    space, dither, seed, k, lossy, strength, bayer_size : the options used
    seconds : float
        Time to fit and remap (loading excluded).

    The metrics (``mse``, ``psnr``, ``delta_e``, ``png_bytes``, ...) are
    computed when first asked for.
    """

    palette: Palette
    labels: np.ndarray
    source: LoadedImage
    k: int
    space: str
    dither: str
    seed: int
    seconds: float
    histogram: ColorHistogram | None = field(default=None, repr=False)
    palette_given: bool = False
    lossy: float = 0.0
    strength: float = DEFAULT_STRENGTH
    #: alpha of each palette entry when kmq fitted colour and alpha together
    #: (fully transparent pixels then share one more, transparent, entry);
    #: None: the image's own alpha is paired with the colours when saving
    entry_alpha: np.ndarray | None = None
    bayer_size: int = DEFAULT_BAYER_SIZE

    @property
    def alpha(self) -> np.ndarray | None:
        px = self.source.pixels
        return px[:, :, 3] if px.shape[2] == 4 else None

    @cached_property
    def image(self) -> np.ndarray:
        """The quantized image, H×W×3 (or ×4 with alpha), uint8: what the PNG decodes to."""
        rgb = self.palette.colors[self.labels]
        if self.alpha is None:
            return rgb
        if self.entry_alpha is not None:
            a = self.entry_alpha[self.labels]
            clear = self.alpha == 0
            a[clear] = 0
            rgb[clear] = 0  # the PNG's transparent entry is (0, 0, 0, 0)
            return np.dstack([rgb, a])
        return np.dstack([rgb, self.alpha])

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape

    @cached_property
    def colors_used(self) -> int:
        """Palette colours that at least one visible pixel uses."""
        return int(np.count_nonzero(label_counts(self.labels, self.alpha, len(self.palette))))

    @cached_property
    def _errors(self) -> tuple[float, float]:
        if self.dither == "none" and self.lossy == 0 and self.histogram is not None:
            idx = assign_histogram(self.histogram, self.palette.colors, self.space)
            return histogram_errors(self.histogram, idx, self.palette.colors)
        return label_errors(self.source.pixels, self.labels, self.palette.colors)

    @property
    def mse(self) -> float:
        """Mean squared error over R, G and B (0-255 scale)."""
        return self._errors[0]

    @property
    def psnr(self) -> float:
        """Peak signal-to-noise ratio in dB."""
        return psnr_from_mse(self.mse)

    @property
    def delta_e(self) -> float:
        """Mean CIEDE2000 colour difference per visible pixel."""
        return self._errors[1]

    @property
    def bits_per_pixel(self) -> int:
        """Bits per pixel as the PNG stores them (its bit depth: 1, 2, 4 or 8)."""
        return int(self.png[24])  # IHDR's bit depth: signature 8 + length 4 + type 4 + size 8

    @property
    def input_bytes(self) -> int | None:
        return self.source.file_size

    def encode(self, *, strip: bool = False) -> bytes:
        """The indexed PNG, tagged sRGB (or with the kept ICC profile); with the
        input's EXIF and text unless ``strip`` (see :mod:`kmq_core.metadata`)."""
        from .colour_management import png_params

        meta = {} if strip else self.source.metadata
        tags = png_params(self.source.icc_profile, exif=meta.get("exif"), text=meta.get("text"))
        labels, colors, alpha = self.png_entries()
        return encode_indexed_png(labels, colors, alpha, tags=tags, keep_palette=self.palette_given)

    def png_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """What the PNG stores: labels, palette entries (n×3, or n×4 with alpha), and
        the per-pixel alpha to pair with a 3-column palette (or None)."""
        colors = self.palette.colors
        if self.entry_alpha is None:
            return self.labels, colors, self.alpha
        rgba = np.column_stack([colors, self.entry_alpha]).astype(np.uint8)
        if self.alpha is None or not (self.alpha == 0).any():
            return self.labels, rgba, None
        labels = np.where(self.alpha == 0, np.uint8(len(colors)), self.labels).astype(np.uint8)
        return labels, np.vstack([rgba, np.zeros((1, 4), np.uint8)]), None

    @cached_property
    def png(self) -> bytes:
        """The indexed PNG, encoded (metadata kept: see :meth:`encode`)."""
        return self.encode()

    @property
    def png_bytes(self) -> int:
        return len(self.png)

    @property
    def compression_ratio(self) -> float | None:
        """Input file bytes / indexed PNG bytes (None for in-memory input)."""
        return None if not self.input_bytes else self.input_bytes / self.png_bytes

    def save(self, path, *, force: bool = False, inputs=(), strip: bool = False) -> int:
        """Write the indexed PNG atomically; returns its size in bytes.

        The name must end in ``.png`` (or have no extension): kmq writes PNG
        only, and a ``.jpg`` holding PNG bytes would mislead every reader.
        An existing file is replaced only with ``force=True``; ``strip`` drops
        the metadata carried over from the input.
        """
        check_png_name(path)
        data = self.png if not strip else self.encode(strip=True)
        atomic_write(path, data, force=force, inputs=inputs)
        return len(data)

    # ---- conveniences for notebooks and PIL users (issue 17; drawn in kmq_core/result_view.py) ----
    def to_pil(self):
        """The result as a ``PIL.Image.Image`` in mode ``P``: palette and transparency
        set exactly as in the PNG :meth:`save` writes (its ``info`` has the tags)."""
        from .result_view import to_pil

        return to_pil(self)

    def _repr_png_(self) -> bytes:
        """Jupyter/IPython display: original and result side by side, the palette below."""
        from .result_view import preview_png

        return preview_png(self)

    def to_dict(self) -> dict:
        """The figures as plain JSON-ready values."""
        h, w = self.labels.shape
        return {
            "width": w,
            "height": h,
            "k": self.k,
            "space": self.space,
            "dither": self.dither,
            "lossy": self.lossy,
            "seed": self.seed,
            "colors_used": self.colors_used,
            "palette": self.palette.hex,
            "shares": [round(float(x), 6) for x in self.palette.weights],
            "mse": round(self.mse, 4),
            "psnr": None if self.psnr == float("inf") else round(self.psnr, 3),
            "delta_e2000": round(self.delta_e, 4),
            "bits_per_pixel": self.bits_per_pixel,
            "input_bytes": self.input_bytes,
            "png_bytes": self.png_bytes,
            "compression_ratio": None if self.compression_ratio is None else round(self.compression_ratio, 3),
            "seconds": round(self.seconds, 4),
            "notes": list(self.source.notes),
            "icc_profile": None if self.source.icc_profile is None else profile_name(self.source.icc_profile),
        }


def quantize(
    image: ImageSource,
    k: int = DEFAULT_K,
    *,
    space: str = DEFAULT_SPACE,
    dither: str = DEFAULT_DITHER,
    seed: int = DEFAULT_SEED,
    lock=None,
    palette: Palette | np.ndarray | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    profile: str = DEFAULT_PROFILE,
    lossy: float = DEFAULT_LOSSY,
    strength: float = DEFAULT_STRENGTH,
    count_alpha: bool = True,
    bayer_size: int = DEFAULT_BAYER_SIZE,
    mood: str | None = None,
    importance=None,
) -> QuantizeResult:
    """Reduce an image to at most ``k`` colours.

    Parameters
    ----------
    image : path, bytes, binary file object, PIL.Image.Image, uint8 array (H×W, H×W×3, H×W×4) or LoadedImage
        The image. Fully transparent pixels take no part in the fit. An embedded ICC profile is applied (see ``profile``).
    k : int
        Number of colours, 1 to 256 (default {DEFAULT_K}). Ignored when ``palette`` is given.
    space : {SPACES}
        Colour space for fitting and matching (default ``{DEFAULT_SPACE}``).
        ``de2000`` is CIELAB shaped so that distances follow CIEDE2000;
        ``rgb`` gives the highest PSNR.
    dither : {DITHERS}
        Dithering (default ``{DEFAULT_DITHER}``): ``fs`` adaptive error
        diffusion, ``bayer`` adaptive ordered dithering by a Bayer matrix,
        ``bluenoise`` the same with a blue-noise mask (fine grain, no
        cross-hatch), ``none`` nearest colours only (see
        :mod:`kmq_core.dithering`). ``bayer`` and ``bluenoise`` depend on
        the position only, so still areas dither the same in every frame.
    seed : int
        Same seed, same result.
    lock : None, '#hex,#hex', Palette or N×3 uint8
        Colours kept unchanged in the palette.
    palette : Palette or N×3 uint8, optional
        Apply this palette instead of fitting one (e.g. read from a file).
    max_pixels : int or None
        Refuse larger images (decompression bombs).
    profile : {PROFILES}
        ``srgb`` (default): an embedded ICC profile converts the pixels to sRGB
        and the PNG is tagged sRGB. ``keep``: quantize the numbers as they are
        and embed their profile in the PNG.
    lossy : float
        Rate-aware label choice for a smaller PNG where texture hides the
        difference (default {DEFAULT_LOSSY}; 0: exact nearest colours).
    strength : float
        Dithering strength 0..1 (default 1).
    count_alpha : bool
        True (default): ``k`` is the size of the PNG's palette, colour and
        alpha together, as pngquant counts it (transparent pixels take one
        entry; translucent images are fitted in colour and alpha). False:
        ``k`` counts colours only and the image's own alpha is kept, paired
        with them (a GIMP layer, which has no palette to hold alpha).
    bayer_size : {BAYER_SIZES}
        Side of the Bayer matrix for ``dither='bayer'`` (default
        {DEFAULT_BAYER_SIZE}; ignored otherwise): 8 has 64 levels, 4 and 2
        a coarser grid of 16 or 4 levels.
    mood : {MOODS} or None
        None (default): the k colours that best reproduce the image; a mood:
        k of the image's colours chosen for it (:mod:`kmq_core.moods`).
    importance : H×W array (uint8 0-255 or float 0-1) or a greyscale image, optional
        How much each pixel counts in the fit: white fully, black not at all
        (:mod:`kmq_core.importance`); the same size as the image.

    Returns
    -------
    QuantizeResult
        ``res.save("out.png")``, ``res.to_pil()``, ``res.palette``; shown as a
        before/after picture in a notebook.

    Examples
    --------
    >>> from PIL import Image
    >>> res = quantize(Image.new("RGB", (8, 8), "#336699"), 4)
    >>> res.palette.hex, res.to_pil().mode
    (['#336699'], 'P')
    """
    space = check_space(space)
    dither = check_dither(dither)
    if palette is None:
        k = check_k(k)
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise KmqError(f"seed must be a whole number, got {seed!r}") from None
    profile = check_profile(profile)
    lossy = check_lossy(lossy)
    strength = check_strength(strength)
    bayer_size = check_bayer_size(bayer_size)
    mood = check_mood(mood)
    src = load_image(image, max_pixels=max_pixels, profile=profile)
    if importance is not None:
        from .importance import check_importance

        importance = check_importance(importance, src.pixels.shape[:2],
                                      src.pixels[..., 3] > 0 if src.has_alpha else None)
    t0 = time.perf_counter()
    if palette is None and src.has_alpha and not src.pixels[..., 3].any():
        # nothing visible to fit: every pixel is the one entry, transparent (0, 0, 0, 0), as pngquant writes it
        return QuantizeResult(Palette(np.zeros((1, 3), np.uint8), np.zeros(1)),
                              np.zeros(src.pixels.shape[:2], np.uint8), src, k, space, dither, seed,
                              time.perf_counter() - t0, None, False, lossy, strength, None, bayer_size)
    n_colors = k if palette is None else len(np.asarray(getattr(palette, "colors", palette)).reshape(-1, 3))
    # errors count less where texture masks them (kmq_core.contrast); rgb is judged by PSNR alone
    weights = fitting_weights(src.pixels, n_colors, space)
    alpha = src.pixels[..., 3] if src.has_alpha else None
    entry_alpha = None
    transparent = translucent = False
    if palette is None and alpha is not None and count_alpha:
        # k counts PNG palette entries, colour and alpha together (kmq_core.alpha):
        # the fully transparent pixels take one of them
        transparent = bool((alpha == 0).any())
        translucent = bool(((alpha > 0) & (alpha < 255)).any())
    k_fit = max(1, k - transparent) if palette is None else k
    hist = color_histogram(src.pixels, weights=weights)
    fit_hist = hist
    if palette is None and importance is not None:
        from .importance import importance_histogram

        # the fit weighs pixels by the mask; remapping serves every pixel (kmq_core.importance)
        fit_hist = importance_histogram(src.pixels, importance, weights)
        weights = _times(weights, importance)  # for fit_rgba
    if palette is None and translucent and mood is not None:
        raise KmqError("moods need an image without translucent pixels (fully transparent ones are fine)")
    if palette is None and translucent:
        from .alpha import fit_rgba

        if len(hist) == 0:
            raise KmqError("the image is fully transparent: there are no colours to fit")
        rgba, labels, counts = fit_rgba(src.pixels, k_fit, space=space, seed=seed, weights=weights, lock=lock)
        pal = Palette(rgba[:, :3], counts / max(counts.sum(), 1))
        entry_alpha = rgba[:, 3]
    else:
        if palette is None and mood is not None:
            from .moods import mood_palette

            pal = mood_palette(fit_hist, k_fit, mood, space=space, seed=seed, lock=lock)
        elif palette is None:
            pal = fit_palette(None, k_fit, space=space, seed=seed, lock=lock, histogram=fit_hist)
        else:
            pal = palette if isinstance(palette, Palette) else Palette(np.asarray(palette, np.uint8).reshape(-1, 3))
            k = len(pal)
        labels = remap(src.pixels, pal, space=space, dither=dither, histogram=hist, lossy=lossy, strength=strength,
                       k=n_colors, bayer_size=bayer_size)  # checks the palette's size
        if palette is None and alpha is not None and count_alpha:
            entry_alpha = np.full(len(pal), 255, np.uint8)
        if palette is not None or dither != "none" or lossy > 0 or fit_hist is not hist or mood is not None:
            # the shares of the colours as the result uses them; a fitted palette
            # is then ordered by them again (a given one keeps its order)
            share = label_counts(labels, alpha, len(pal)).astype(np.float64)
            if palette is None:
                order = order_by_share(share)
                new_index = np.empty(len(order), np.uint8)
                new_index[order] = np.arange(len(order))
                labels = new_index[labels]
                if entry_alpha is not None:
                    entry_alpha = entry_alpha[order]
                share, colors = share[order], pal.colors[order]
            else:
                colors = pal.colors
            pal = Palette(colors, share / max(share.sum(), 1), pal.names if palette is not None else None, pal.name)
    seconds = time.perf_counter() - t0
    if translucent:
        dither, lossy = "none", 0.0  # translucent results are not dithered (kmq_core.alpha)
    return QuantizeResult(pal, labels, src, k, space, dither, seed, seconds, hist, palette is not None, lossy,
                          strength, entry_alpha, bayer_size)


def _times(weights, importance: np.ndarray):
    """The fitting weights (None, an H×W array or a function of row slices) times the importance."""
    if weights is None:
        return importance
    if callable(weights):
        return lambda rows: np.asarray(weights(rows), np.float32) * importance[rows]
    return np.asarray(weights, np.float32) * importance


# the documented defaults are the ones in options.py, whatever they become
quantize.__doc__ = (quantize.__doc__ or "").replace("{DEFAULT_K}", str(DEFAULT_K)).replace(
    "{DEFAULT_SPACE}", DEFAULT_SPACE).replace("{SPACES}", "{" + ", ".join(repr(x) for x in SPACES) + "}").replace(
    "{PROFILES}", "{" + ", ".join(repr(x) for x in PROFILES) + "}").replace(
    "{DITHERS}", "{" + ", ".join(repr(x) for x in DITHERS) + "}").replace("{DEFAULT_DITHER}", DEFAULT_DITHER).replace(
    "{DEFAULT_LOSSY}", f"{DEFAULT_LOSSY:g}").replace(
    "{BAYER_SIZES}", "{" + ", ".join(str(x) for x in BAYER_SIZES) + "}").replace(
    "{DEFAULT_BAYER_SIZE}", str(DEFAULT_BAYER_SIZE)).replace(
    "{MOODS}", "{" + ", ".join(repr(x) for x in MOODS) + "}")
