"""Resume records: ``OUT_DIR/.kmq-manifest.jsonl`` and the fingerprints it keeps.

The format of the manifest and the arithmetic of :func:`options_key` and
:func:`_inputs_digest` are what make an existing output folder resumable:
change them only with :data:`OUTPUT_VERSION` (which redoes every file).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..errors import KmqError
from ..options import DEFAULT_BAYER_SIZE, QuantizeOptions
from ..palette import Palette
from .plan import BatchFile

#: resume records, one JSON line per finished file (in OUT_DIR)
MANIFEST_NAME = ".kmq-manifest.jsonl"
#: bump when outputs for the same options would differ (forces a redo on resume)
OUTPUT_VERSION = 1


def file_stat(path: Path) -> list[int]:
    """``[size, mtime_ns]``: how the manifest tells that a file is as it was (raises OSError)."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns]


class Manifest:
    """``OUT_DIR/.kmq-manifest.jsonl``: what was written, from what, with which options.

    One JSON line is appended as each file finishes, so an interrupted run
    keeps what it finished; a torn last line is ignored. Before the batch
    first writes an output path, a ``"claim"`` line says that it owns that
    path, so an output written just before an interruption (and not yet
    recorded) is replaced on resume, while a file the batch never claimed
    is not (without ``--force``). Lines of kind ``"palette"``
    remember the last shared palette and the inputs it came from, so a
    resumed run does not read every image again to refit it.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.path = out_dir / MANIFEST_NAME
        self.files: dict[str, dict] = {}
        self.claimed: set[str] = set()
        self.palette: dict | None = None
        self._fh = None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as e:
            raise KmqError(f"cannot read {self.path}: {e}; delete it to start over") from None
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # torn by an interruption
            if not isinstance(rec, dict):
                continue
            if rec.get("kind") == "palette":
                self.palette = rec
            elif rec.get("kind") == "claim" and isinstance(rec.get("output"), str):
                self.claimed.add(rec["output"])
            elif isinstance(rec.get("output"), str):
                self.files[rec["output"]] = rec

    def up_to_date(self, f: BatchFile, key: str) -> dict | None:
        """The record of ``f`` if its output is current for ``key``, else None."""
        rec = self.files.get(f.rel_output)
        if not rec or rec.get("key") != key:
            return None
        try:
            if file_stat(f.input) != rec.get("in_stat") or file_stat(f.output) != rec.get("out_stat"):
                return None
        except OSError:
            return None
        return rec

    def owns(self, rel_output: str) -> bool:
        """Did this batch write (or claim) that output, so that it may replace it?"""
        return rel_output in self.files or rel_output in self.claimed

    def claim(self, rel_output: str) -> None:
        self.append({"kind": "claim", "output": rel_output})

    def append(self, rec: dict) -> None:
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self._fh.flush()
        if rec.get("kind") == "palette":
            self.palette = rec
        elif rec.get("kind") == "claim":
            self.claimed.add(rec["output"])
        else:
            self.files[rec["output"]] = rec

    def compact(self, keep: set[str]) -> None:
        """Rewrite with one line per output still in the batch (atomically)."""
        from ..saving import atomic_write

        self.close()
        lines = [self.palette] if self.palette else []
        lines += [rec for out, rec in sorted(self.files.items()) if out in keep]
        # claims still matter only for outputs that exist without a record
        lines += [{"kind": "claim", "output": out} for out in sorted(self.claimed)
                  if out in keep and out not in self.files and (self.out_dir / out).exists()]
        atomic_write(self.path, "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in lines).encode())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def settings_options(settings: dict) -> QuantizeOptions:
    """The colour options of a batch's settings, as the one options object."""
    return QuantizeOptions(**{k: settings[k] for k in ("k", "space", "dither", "seed", "lock")},
                           bayer_size=settings.get("bayer_size", DEFAULT_BAYER_SIZE), max_pixels=None)


#: the options every manifest has recorded since the first (the others only where they count)
_FIRST_FIELDS = ("k", "space", "dither", "seed", "lock")


def _extra_options(settings: dict) -> dict:
    """Options added after the first manifests, present only where they change the pixels
    (:meth:`QuantizeOptions.pixel_fields`: the Bayer size only for ``dither='bayer'``), so the
    fingerprints of earlier runs stay the same and their outputs are not redone."""
    return {k: v for k, v in settings_options(settings).pixel_fields().items() if k not in _FIRST_FIELDS}


def options_key(settings: dict, palette: Palette | None) -> str:
    """Fingerprint of everything that decides an output's pixels (the options' fingerprint,
    with the manifest's version and the palette applied)."""
    return settings_options(settings).fingerprint(v=OUTPUT_VERSION,
                                                  palette=None if palette is None else palette.hex)


def _inputs_digest(files: list[BatchFile], settings: dict) -> str:
    """Fingerprint of the shared palette's inputs: the fit options and every input's size and mtime."""
    # max_pixels too: a file refused for its size may be accepted with another limit
    fit = {k: settings[k] for k in ("k", "space", "seed", "lock", "max_pixels")}
    h = hashlib.sha256(json.dumps(fit, sort_keys=True).encode())
    h.update(str(OUTPUT_VERSION).encode())
    for f in files:
        try:
            st = file_stat(f.input)
        except OSError:
            st = [-1, -1]
        h.update(f"\0{f.rel}\0{st[0]}\0{st[1]}".encode())
    return h.hexdigest()[:32]
