"""The plan of a batch: which images below IN_DIR, and the name of each one's output.

``a/b.jpg`` becomes ``OUT_DIR/a/b.jpg.png``: the input's extension stays in the
name, so ``b.jpg`` and ``b.png`` side by side give ``b.jpg.png`` and ``b.png.png``
and no two inputs can ever share an output (a name that only changes on a clash
would change when a file is added).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import KmqError
from ..loading import IMAGE_EXTENSIONS


@dataclass(frozen=True)
class BatchFile:
    """One input and where its output goes.

    Attributes
    ----------
    input : Path
        The image, absolute.
    rel : str
        Its path below IN_DIR, with ``/`` separators (what the summary shows).
    output : Path
        ``OUT_DIR/rel.png``, absolute.
    """

    input: Path
    rel: str
    output: Path

    @property
    def rel_output(self) -> str:
        return output_name(self.rel)


def output_name(rel: str) -> str:
    """``'a/b.jpg'`` -> ``'a/b.jpg.png'``: the extension stays, so outputs never collide."""
    return rel + ".png"


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def find_images(in_dir: str | os.PathLike, out_dir: str | os.PathLike) -> list[BatchFile]:
    """The images below ``in_dir`` (recursively, by extension), sorted, with their outputs.

    Hidden files and folders (``.name``) are skipped, and so is ``out_dir``
    when it lies inside ``in_dir``, so outputs are never read back as inputs.
    """
    src = Path(in_dir)
    if not src.exists():
        raise KmqError(f"no such folder: {src}")
    if not src.is_dir():
        raise KmqError(f"{src} is not a folder")
    # paths handed to workers stay as the user wrote them (made absolute): a Dask worker
    # mounts shared storage by that name, which may be a symlink on this machine
    src_real, dst_real = src.resolve(), Path(out_dir).resolve()
    src, dst = Path(os.path.abspath(src)), Path(os.path.abspath(out_dir))
    if dst_real == src_real:
        raise KmqError("OUT_DIR is IN_DIR: give another output folder (outputs would be read back as inputs)")
    if _is_within(src_real, dst_real):
        raise KmqError(f"IN_DIR {src} is inside OUT_DIR {dst}: give an output folder outside the input tree")
    found: list[BatchFile] = []
    for root, dirs, files in os.walk(src, onerror=None, followlinks=False):
        here = Path(root)
        # prune in place: hidden folders and the output folder are not walked
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and not _is_within((here / d).resolve(), dst_real))
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            path = here / name
            if not path.is_file():
                continue
            rel = path.relative_to(src).as_posix()
            found.append(BatchFile(path, rel, dst / output_name(rel)))
    found.sort(key=lambda f: f.rel)
    return found
