"""kmq: k-means colour quantization.

The pipeline, each step usable on its own::

    src = load_image("photo.jpg")                       # loading
    pal = fit_palette(src.pixels, 16, space="lab")      # fitting
    labels = remap(src.pixels, pal, dither="fs")        # remapping (+ dithering)
    png = encode_indexed_png(labels, pal.colors)        # saving

or all at once: ``quantize("photo.jpg", 16).save("out.png")``.
"""

from .errors import KmqError
from .fitting import fit_palette
from .histogram import ColorHistogram, color_histogram
from .loading import LoadedImage, load_image
from .options import DEFAULT_DITHER, DEFAULT_K, DEFAULT_SEED, DEFAULT_SPACE, DITHERS, SPACES
from .palette import Palette, hex_code, parse_hex, parse_hex_list
from .pipeline import QuantizeResult, quantize
from .remapping import remap
from .saving import atomic_write, encode_indexed_png

__version__ = "0.1.0"

__all__ = [
    "KmqError", "LoadedImage", "load_image", "ColorHistogram", "color_histogram", "fit_palette",
    "remap", "quantize", "QuantizeResult", "Palette", "hex_code", "parse_hex", "parse_hex_list",
    "encode_indexed_png", "atomic_write", "DEFAULT_K", "DEFAULT_SPACE", "DEFAULT_DITHER",
    "DEFAULT_SEED", "SPACES", "DITHERS",
]
