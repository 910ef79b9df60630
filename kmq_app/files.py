"""Safe download file names derived from an uploaded file's name.

The uploaded name comes from the user's browser and can hold anything: path
separators (``../../etc/passwd``, ``C:\\x\\y.png``), control characters,
characters Windows refuses (``<>:"|?*``), reserved device names (``CON``),
or a thousand characters. Browsers sanitise download names too, but not all
in the same way, so the app hands them a name that is safe everywhere.
"""

from __future__ import annotations

import re
import unicodedata

#: longest stem kept, in characters (the suffix comes on top)
MAX_STEM = 64
FALLBACK = "image"
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
_UNSAFE = re.compile(r'[<>:"/\\|?*]')


def safe_stem(name: str | None) -> str:
    """The uploaded name reduced to a safe file-name stem.

    Only the last path component is kept, its extension dropped; control and
    format characters are removed, characters that are unsafe in file names
    become ``_``, whitespace runs become one space, leading dots and trailing
    dots and spaces go, and the result is at most :data:`MAX_STEM` characters.
    Empty or reserved results become ``image`` (or ``_con``...).
    """
    text = unicodedata.normalize("NFC", str(name or ""))
    text = re.split(r"[/\\]", text)[-1]
    if "." in text.strip(".").strip():
        text = text[: text.rfind(".")]
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    text = _UNSAFE.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip().lstrip(".").rstrip(". ")
    text = text[:MAX_STEM].rstrip(". ")
    if not text:
        return FALLBACK
    if text.lower().split(".")[0] in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def download_name(upload_name: str | None, k: int, suffix: str) -> str:
    """``photo.jpg``, 16, ``.gpl`` -> ``photo-k16.gpl``."""
    return f"{safe_stem(upload_name)}-k{int(k)}{suffix}"
