"""kmq: k-means colour quantization.

The pipeline, each step usable on its own::

    src = load_image("photo.jpg")                       # loading
    pal = fit_palette(src.pixels, 16, space="lab")      # fitting
    labels = remap(src.pixels, pal, dither="fs")        # remapping (+ dithering)
    png = encode_indexed_png(labels, pal.colors)        # saving

or all at once: ``quantize("photo.jpg", 16).save("out.png")``. The options every
front end offers, with their defaults and checks, are :class:`QuantizeOptions`
and :data:`SPECS` (:mod:`kmq_core.options`).

The package loads lazily (PEP 562, as scikit-image does): ``import kmq_core``
imports no numpy, OpenCV or SciPy; each name below loads its module on first use.
So ``kmq_core.options`` works in a Python without numpy (GIMP's, for the plug-in).
"""

from __future__ import annotations

import importlib

#: the one place the version is written (pyproject.toml reads it from here)
__version__ = "0.1.0"

#: the public API: name -> the module that defines it
_API = {
    # the pipeline
    "load_image": "loading", "LoadedImage": "loading",
    "color_histogram": "histogram", "ColorHistogram": "histogram",
    "fit_palette": "fitting",
    "remap": "remapping",
    "encode_indexed_png": "saving", "atomic_write": "saving",
    "quantize": "pipeline", "QuantizeResult": "pipeline",
    "quantize_animation": "animation", "fit_animation_palette": "animation",
    # options
    "QuantizeOptions": "options", "OptionSpec": "options", "SPECS": "options",
    "DEFAULT_K": "options", "DEFAULT_SPACE": "options", "DEFAULT_DITHER": "options", "DEFAULT_SEED": "options",
    "SPACES": "options", "DITHERS": "options",
    # palettes and their files
    "Palette": "palette", "hex_code": "hexcodes", "parse_hex": "hexcodes", "parse_hex_list": "palette",
    "read_palette": "formats", "write_palette": "formats",
    # errors
    "KmqError": "errors",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    module = _API.get(name)
    if module is None:
        try:  # a submodule (kmq_core.fitting after a bare `import kmq_core`)
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
