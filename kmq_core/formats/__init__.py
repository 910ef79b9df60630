"""Palette files: one module per format, each with ``read(bytes)`` and ``write(Palette)``.

=========  ======================================  =======================
extension  format                                  names kept
=========  ======================================  =======================
.gpl       GIMP palette (GIMP, Inkscape, Krita)    yes (one line each)
.ase       Adobe Swatch Exchange                   yes
.aco       Photoshop swatches                      yes
.act       Photoshop colour table (768 bytes)      no
.json      kmq JSON (with shares)                  yes
.css       CSS custom properties                   yes
.hex/.txt  one hex code per line                   yes (one line each)
.png       swatch image with embedded palette      yes
=========  ======================================  =======================

:func:`read_palette` and :func:`write_palette` pick the module by extension;
writing is atomic (a temporary file in the same folder, flushed to disk, then
renamed over the target), so a failed write never leaves half a palette.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

from ..errors import KmqError
from ..palette import Palette
from ..saving import atomic_write
from . import aco, act, ase, css, gpl, hexlist, json_, swatch_png
from ._common import MAX_FILE_BYTES

#: the format plug-ins; each declares its ``EXTENSIONS`` (the first is the one kmq writes by
#: default), its ``MIME`` type and ``WHAT`` it is called in messages, next to its reader and writer
MODULES: tuple[ModuleType, ...] = (gpl, ase, aco, act, json_, css, hexlist, swatch_png)

#: extension (lower case, no dot) -> format module
FORMATS: dict[str, ModuleType] = {ext: module for module in MODULES for ext in module.EXTENSIONS}

#: the main extension of every format, for help texts: ``('gpl', 'ase', ...)``
MAIN_EXTENSIONS: tuple[str, ...] = tuple(m.EXTENSIONS[0] for m in MODULES)


def extensions_text() -> str:
    """``'.gpl .ase .aco .act .json .css .hex .png'``: the formats, as a help text lists them."""
    return " ".join("." + ext for ext in MAIN_EXTENSIONS)


def mime_type(format: str) -> str:
    """The MIME type of a format (``'gpl'`` -> ``'text/plain'``), as a download sends it."""
    return _module(format).MIME


def _known() -> str:
    return ", ".join("." + ext for ext in FORMATS)


def format_for(path: str | os.PathLike) -> str:
    """The format name (the extension, e.g. ``"gpl"``) for a file name."""
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FORMATS:
        shown = Path(path).suffix or "no extension"
        raise KmqError(f"unknown palette file type {shown!r} for {os.fspath(path)!r}: use one of {_known()}")
    return ext


def _module(format: str) -> ModuleType:
    key = str(format).lower().lstrip(".")
    if key not in FORMATS:
        raise KmqError(f"unknown palette format {format!r}: use one of {_known()}")
    return FORMATS[key]


def _sniff(data: bytes) -> str:
    if data.startswith(b"ASEF"):
        return "ase"
    if data.lstrip(b"\xef\xbb\xbf").startswith(b"GIMP Palette"):
        return "gpl"
    if data.startswith(swatch_png.PNG_SIGNATURE):
        return "png"
    if data.lstrip()[:1] in (b"{", b"["):
        return "json"
    raise KmqError(f"cannot tell the palette format of these bytes: give one of {_known()}")


def read_palette(source: str | os.PathLike | bytes, format: str | None = None) -> Palette:
    """Read a palette file.

    Parameters
    ----------
    source : path or bytes
        A file name, or the file's contents.
    format : str, optional
        ``"gpl"``, ``"ase"``… (see :data:`FORMATS`); by default from the file
        extension (or, for bytes, from the signature of .ase, .gpl, .png and
        .json).

    Returns
    -------
    Palette
        Files without a palette name get the file name without extension.
    """
    name = ""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        fmt = _module(format) if format else FORMATS[_sniff(data)]
    else:
        path = Path(source)
        fmt = _module(format) if format else FORMATS[format_for(path)]
        name = path.stem
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise KmqError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from None
    p = fmt.read(data)
    if not p.name and name:
        p = p.renamed(name)
    return p


def palette_bytes(p: Palette, format: str) -> bytes:
    """The palette encoded as ``format`` (``"gpl"``, ``"ase"``…)."""
    return _module(format).write(p)


def write_palette(p: Palette, path: str | os.PathLike, format: str | None = None, force: bool = True) -> Path:
    """Write a palette file atomically (see :func:`kmq_core.saving.atomic_write`).

    Parameters
    ----------
    p : Palette
    path : path
        Target file; the format comes from its extension unless ``format``
        is given.
    format : str, optional
    force : bool, default True
        Replace an existing file. With False an existing file is an error.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    return atomic_write(path, palette_bytes(p, format or format_for(path)), force=force)


__all__ = ["FORMATS", "format_for", "palette_bytes", "read_palette", "write_palette"]
