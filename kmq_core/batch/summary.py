"""What a batch did: :class:`BatchSummary`, one row per file, written as ``kmq-summary.json`` and ``.csv``."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import KmqError
from ..palette import Palette
from .manifest import _extra_options

#: default summary files (in OUT_DIR), ``.json`` and ``.csv``
SUMMARY_STEM = "kmq-summary"
SUMMARY_FIELDS = ("input", "output", "status", "frames", "colors_used", "psnr", "delta_e2000", "input_bytes",
                  "png_bytes", "seconds", "error")


@dataclass
class BatchSummary:
    """What :func:`run_batch` did.

    Attributes
    ----------
    rows : list of dict
        One per input, sorted by input path: ``input``, ``output`` (both
        relative), ``status`` (``'done'``, ``'skipped'`` - already up to date -
        or ``'failed'``), ``frames`` (1 for a still image; an animation is
        written as an APNG, without ``psnr`` and ``delta_e2000``), ``colors_used``, ``psnr``, ``delta_e2000``,
        ``input_bytes``, ``png_bytes``, ``seconds``, ``error``.
    palette : Palette or None
        The shared palette, when there was one.
    seconds : float
        Wall-clock time of the whole run.
    summary_files : list of Path
        The summary files written.
    """

    in_dir: Path
    out_dir: Path
    rows: list[dict]
    palette: Palette | None
    seconds: float
    settings: dict
    summary_files: list[Path] = field(default_factory=list)

    def _count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    @property
    def done(self) -> int:
        return self._count("done")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def failures(self) -> list[dict]:
        return [r for r in self.rows if r["status"] == "failed"]

    def to_dict(self) -> dict:
        return {
            "in_dir": str(self.in_dir),
            "out_dir": str(self.out_dir),
            "options": {**{k: self.settings[k] for k in ("k", "space", "dither", "seed", "lock")},
                        **_extra_options(self.settings)},
            "shared_palette": None if self.palette is None else self.palette.hex,
            "files": len(self.rows),
            "done": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "rows": [{k: r.get(k) for k in SUMMARY_FIELDS} for r in self.rows],
        }

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=SUMMARY_FIELDS, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in SUMMARY_FIELDS})
        return buf.getvalue()

    def write(self, path: str | os.PathLike) -> Path:
        """Write the summary as JSON or CSV, by the extension of ``path``."""
        from ..saving import atomic_write

        p = Path(path)
        ext = p.suffix.lower()
        if ext == ".json":
            data = json.dumps(self.to_dict(), indent=1).encode() + b"\n"
        elif ext == ".csv":
            data = self.to_csv().encode()
        else:
            raise KmqError(f"the summary is written as .json or .csv, not {p.suffix or 'no extension'!r}")
        return atomic_write(p, data)
