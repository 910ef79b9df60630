"""Issue 13: kmq on real files that other projects made (``tests/foreign_corpus.py``).

Every file of the corpus must end as a correct result (kmq's pixels equal an
independent decode, the quantized PNG is the quantized image) or one clean
error line: no traceback, no hang, no stray stderr, no changed input. The run
prints its table of files per class. The files go through ``kmq_core`` in one
worker process with a timeout per file; a sample also goes through the real
``kmq`` command, for the one-stderr-line rule and no partial output.

The corpus is fetched by ``.ci/setup --test`` into ``$KMQ_FOREIGN_CORPUS``
(default ``/var/cache/kmq-foreign-corpus``); without it the tests skip, and
with ``CI=true`` they fail.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections import Counter

import pytest
from PIL import Image

import foreign_corpus as fc
from needs_tool import missing

KMQ = [shutil.which("kmq")] if shutil.which("kmq") else [sys.executable, "-m", "kmq_core.cli"]


@pytest.fixture(scope="module")
def corpus():
    root = fc.root_dir()
    try:
        return root, fc.manifest(root)
    except FileNotFoundError:
        missing(f"the foreign corpus is not at {root} (run: python tests/foreign_corpus.py fetch; "
                ".ci/setup --test does)")


@pytest.fixture(scope="module")
def rows(corpus):
    return {r["file"]: r for r in fc.run(corpus[0])}


def test_corpus_holds_every_source(corpus):
    _, sums = corpus
    per_source = Counter(f.split("/")[0] for f in sums)
    assert per_source["pillow"] > 1000 and per_source["pngsuite"] >= 28 and per_source["skimage"] >= 20
    assert any(f.startswith("pillow/crash-") for f in sums) and any(f.startswith("pillow/oom-") for f in sums)


def test_every_file_is_correct_or_one_clean_refusal(rows, capsys):
    table = fc.table(list(rows.values()))
    refused = [f"  {f}: {r['why']}" for f, r in sorted(rows.items()) if r["cls"] == "refusal" and r["pillow"]]
    with capsys.disabled():
        print(f"\nforeign corpus ({fc.root_dir()}):\n{table}\nrefusals of files Pillow decodes:\n"
              + "\n".join(refused))
    defects = [f"{f}: {r['why']}" for f, r in sorted(rows.items()) if r["cls"] == "defect"]
    assert not defects, f"{len(defects)} defects:\n" + "\n".join(defects)
    assert sum(r["cls"] == "correct" for r in rows.values()) > 800


def test_the_files_the_issue_named(rows):
    # one PNG with a single transparent colour: 58,686 of its 65,536 pixels are transparent
    assert rows["pillow/caption_6_33_22.png"]["cls"] == "correct"
    assert rows["pillow/caption_6_33_22.png"]["transparent"] == 58686
    for f in ("pillow/l_trns.png", "pillow/rgb_trns.png", "pillow/i_trns.png", "pillow/1_trns.png",
              "pngsuite/tbbn1g04.png", "pngsuite/tbrn2c08.png"):
        assert rows[f]["cls"] == "correct" and rows[f]["transparent"] > 0, f
    assert rows["pillow/hopper_webp.tif"]["message"] == (
        "hopper_webp.tif is a TIFF compressed with WebP: this Pillow/libtiff build has no WebP codec")
    assert rows["pillow/decompression_bomb.ico"]["error_type"] == "PixelLimitError"
    assert rows["pillow/oom-8ed3316a4109213ca96fb8a256a0bfefdece1461.icns"]["error_type"] == "PixelLimitError"
    assert rows["pillow/hopper.psd"]["cls"] == "correct"
    assert rows["pillow/hopper.psd"]["notes"] == ["Photoshop file with 2 layers: using the composite image"]
    for f in ("pillow/sugarshack.mpo", "pillow/frozenpond.mpo"):
        assert rows[f]["cls"] == "correct" and rows[f]["notes"] == ["multi-picture JPEG (MPO): using the first "
                                                                    "of 2 pictures"]
    # issue 26: files browsers show are not refused. A BMP whose bit fields declare alpha keeps it,
    # zero everywhere (every pixel of its 127×64 transparent): a fully transparent PNG, not an error
    assert rows["pillow/rgb32bf-abgr.bmp"]["cls"] == "correct"
    assert rows["pillow/rgb32bf-abgr.bmp"]["transparent"] == 127 * 64
    # the files Pillow decodes with every pixel transparent were refused ("no colours to fit")
    for f, clear in (("pillow/negative_layer_count.psd", 100 * 100), ("pillow/op_index.qoi", 1),
                     ("pillow/tRNS_null_1x1.png", 1)):
        assert rows[f]["cls"] == "correct" and rows[f]["transparent"] == clear, (f, rows[f])
    # damaged APNGs: the default image alone, with one warning
    for f in DAMAGED_APNG:
        anim = rows[f].get("animation") or {}
        assert rows[f]["cls"] == "correct" and anim.get("frames") == 1, (f, rows[f])
        assert len(anim["warnings"]) == 1 and anim["warnings"][0].startswith("damaged APNG ("), (f, anim)
    # a later frame larger than the logical screen is clipped to it, as browsers show it
    for f in ("pillow/test_extents.gif", "pillow/test_extents_transparency.gif"):
        assert rows[f]["cls"] == "correct" and rows[f]["animation"] == {"frames": 2, "size": [100, 100],
                                                                         "warnings": []}, rows[f]
    eps = rows["pillow/eps/1.eps"]
    if shutil.which("gs"):
        assert eps["cls"] == "correct"
    else:
        assert "needs Ghostscript" in eps["message"]


#: Pillow's damaged APNGs whose default image it decodes (frame-sequence errors, missing frame data,
#: a frame count that is too high): issue 26 asks for the default image and one warning
DAMAGED_APNG = ["pillow/apng/" + f for f in (
    "chunk_no_fdat.png", "chunk_repeat_fctl.png", "sequence_fdat_fctl.png", "sequence_gap.png",
    "sequence_reorder.png", "sequence_reorder_chunk.png", "sequence_repeat.png", "sequence_repeat_chunk.png",
    "sequence_start.png", "syntax_num_frames_high.png")]

#: files whose stderr behaviour matters most, plus every 37th file of the corpus
NAMED_SAMPLE = ["pillow/hopper_webp.tif", "pillow/decompression_bomb.ico", "pillow/hopper.psd",
                "pillow/sugarshack.mpo", "pillow/caption_6_33_22.png", "pillow/tiff_tiled_jpeg_oob_read.tif",
                "pillow/libtiff_segfault.tif", "pillow/crash-465703f71a0f0094873a3e0e82c9f798161171b8.sgi",
                "pillow/oom-225817ca0f8c663be7ab4b9e717b02c661e66834.tif", "pillow/g4-multi.tiff",
                "pngsuite/tbbn1g04.png", "pillow/apng/sequence_gap.png", "pillow/apng/syntax_num_frames_high.png",
                "pillow/test_extents.gif", "pillow/rgb32bf-abgr.bmp"]


def _animation_outcome(path: Path) -> tuple[str, list[str]] | None:
    """For an animation (several frames), what the core's animation pipeline makes of it in this
    process: ("ok", its warnings) or (its one-line message, []) (the command takes that path for
    every frame); None for a still image."""
    from kmq_core.animation import probe, quantize_animation
    from kmq_core.errors import KmqError

    try:
        if probe(path).n_frames <= 1:
            return None
    except KmqError:
        return None  # refused before any frame: the still path's check says the same
    try:
        res = quantize_animation(path, 8)
        res.encode("PNG")
    except KmqError as e:
        return str(e), []
    return "ok", list(res.warnings)


def test_a_sample_through_the_real_command(corpus, rows, tmp_path):
    root, sums = corpus
    sample = NAMED_SAMPLE + [f for f in sorted(sums)[::37] if f not in NAMED_SAMPLE]
    problems = []
    for i, rel in enumerate(sample):
        out_dir = tmp_path / str(i)
        out_dir.mkdir()
        out = out_dir / "out.png"
        r = subprocess.run([*KMQ, "quantize", root / rel, "-o", out, "-k", "8"], capture_output=True, text=True,
                           timeout=120)
        lines = r.stderr.splitlines()
        left = sorted(p.name for p in out_dir.iterdir())
        animated = _animation_outcome(root / rel)  # None: a still image, the rows' in-process check applies
        # an animation's warnings (a damaged APNG read as its default image) are its only stderr lines
        said = [] if animated is None else [f"kmq: warning: {root / rel}: {w}" for w in animated[1]]
        if r.returncode == 0:
            ok = lines == said and left == ["out.png"] and Image.open(out).size > (0, 0)
            agrees = rows[rel]["cls"] == "correct" if animated is None else animated[0] == "ok"
        else:
            ok = r.returncode == 1 and len(lines) == 1 and lines[0].startswith("kmq: error: ") and left == []
            agrees = rows[rel]["cls"] == "refusal" if animated is None else lines == [f"kmq: error: {animated[0]}"]
        unchanged = hashlib.sha256((root / rel).read_bytes()).hexdigest() == sums[rel]
        if not (ok and agrees and unchanged):
            problems.append(f"{rel}: exit {r.returncode}, stderr {lines!r}, left {left}, "
                            f"in-process {rows[rel]['cls']}, input unchanged {unchanged}")
    assert not problems, "\n".join(problems)
    assert len(sample) >= 35
