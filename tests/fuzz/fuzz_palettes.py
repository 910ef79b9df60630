"""Coverage-guided fuzzing of every palette reader with atheris (libFuzzer).

    python tests/fuzz/fuzz_palettes.py -max_total_time=60 [CORPUS_DIR ...]
    python tests/fuzz/fuzz_palettes.py --make-seeds DIR    # valid files of every format

The first input byte picks the format (``kmq_core.formats.FORMATS`` in a fixed
order), the rest is the file given to that module's ``read(data)``. A reader
may return a :class:`kmq_core.palette.Palette` or raise
:class:`kmq_core.KmqError`; any other exception, a hang (``-timeout``) or a
blow-up of memory (``-rss_limit_mb``) is a crash, and libFuzzer writes the
input that caused it to ``crash-*`` (or ``-artifact_prefix``) and exits
non-zero. ``tests/test_robustness_core.py`` runs this for about 20 seconds in
CI; run it for longer by hand after touching a reader.

Only ``kmq_core.formats`` is instrumented: the heavy imports behind
``kmq_core`` (numpy, scikit-image) are loaded first, uninstrumented.
"""

from __future__ import annotations

import sys
from pathlib import Path

import kmq_core  # noqa: F401  (numpy, Pillow, scikit-image: imported before instrumenting)
from kmq_core import KmqError
from kmq_core.palette import Palette

MAX_INPUT = 64 * 1024  # libFuzzer's -max_len default would be 4096; files this big reach more code


def _formats():
    import atheris

    with atheris.instrument_imports(include=["kmq_core.formats"]):
        from kmq_core.formats import FORMATS
    mods = []
    for ext in sorted(FORMATS):
        if FORMATS[ext] not in mods:
            mods.append(FORMATS[ext])
    return mods


def check_one(module, data: bytes) -> None:
    """The property: a Palette or a KmqError with a one-line message, nothing else."""
    try:
        pal = module.read(data)
    except KmqError as e:
        msg = str(e)
        if not msg or "\n" in msg:
            raise AssertionError(f"{module.__name__}: error message is not one line: {msg!r}") from None
        return
    if not isinstance(pal, Palette):
        raise AssertionError(f"{module.__name__}.read returned {type(pal).__name__}, not a Palette")
    colours = pal.colors
    if colours.ndim != 2 or colours.shape[1] != 3 or str(colours.dtype) != "uint8":
        raise AssertionError(f"{module.__name__}.read gave colours of shape {colours.shape}, {colours.dtype}")


def make_seeds(folder: Path) -> int:
    """Write a valid file of every format (a few palettes each), tagged with its format byte."""
    import numpy as np

    from kmq_core.formats import FORMATS

    mods = []
    for ext in sorted(FORMATS):
        if FORMATS[ext] not in mods:
            mods.append(FORMATS[ext])
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n = 0
    for i, mod in enumerate(mods):
        for size in (1, 3, 17):
            cols = rng.integers(0, 256, (size, 3), dtype=np.uint8)
            pal = Palette(cols, None, [f"colour {j} é" for j in range(size)], f"seed {size}")
            try:
                data = mod.write(pal)
            except Exception:  # a writer that refuses this palette (e.g. a fixed-size table): skip it
                continue
            if isinstance(data, str):
                data = data.encode()
            (folder / f"{mod.__name__.rsplit('.', 1)[-1]}-{size}").write_bytes(bytes([i]) + data)
            n += 1
    return n


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--make-seeds":
        print(f"{make_seeds(Path(sys.argv[2]))} seed files in {sys.argv[2]}")
        return
    import atheris

    mods = _formats()

    def test_one_input(data: bytes) -> None:
        if not data:
            return
        check_one(mods[data[0] % len(mods)], data[1:])

    argv = list(sys.argv)
    if not any(a.startswith("-max_len") for a in argv):
        argv.insert(1, f"-max_len={MAX_INPUT}")
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
