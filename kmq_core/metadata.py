"""Metadata carried from an input image to its PNG: EXIF and text.

pngquant keeps a file's metadata unless told ``--strip``; kmq does the same
for what survives quantization: EXIF (camera, date, copyright; the
orientation tag is dropped because kmq has already turned the pixels) and PNG
text chunks (title, author, copyright). Colour profiles are not metadata
here: :mod:`kmq_core.colour_management` converts or keeps them.
"""

from __future__ import annotations

from PIL import Image

#: EXIF tag of the orientation, applied on load and so not carried over
ORIENTATION = 0x0112


def read_metadata(img: Image.Image) -> dict:
    """``{"exif": bytes or None, "text": {key: value}}`` of a decoded image."""
    exif_bytes = None
    try:
        exif = img.getexif()
        if len(exif):
            exif.pop(ORIENTATION, None)
            exif_bytes = exif.tobytes() if len(exif) else None
    except Exception:  # damaged EXIF is dropped, never a reason to refuse the image
        exif_bytes = None
    text = {}
    for key, value in (getattr(img, "text", None) or {}).items():
        if isinstance(value, str) and key:
            text[str(key)] = value
    return {"exif": exif_bytes, "text": text}


__all__ = ["read_metadata", "ORIENTATION"]
