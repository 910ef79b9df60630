"""The GIMP harness itself against the real GIMP 3.0 (the palette tests rely on it)."""

import pytest

from gimp_harness import GimpPaletteError, gimp_import_palette, gimp_load_gpl, run_gimp_script

GPL = "GIMP Palette\nName: KMQ harness check\nColumns: 2\n#\n255   0   0\tred\n  0 128 255\tsky\n"


def test_batch_script_sees_files_and_writes_outdir():
    script = (
        "import os\n"
        "data = open(os.path.join(os.environ['KMQ_IN'], 'a.txt')).read()\n"
        "open(os.path.join(os.environ['KMQ_OUT'], 'b.txt'), 'w').write(data.upper())\n"
    )
    rc, out, err, outdir = run_gimp_script(script, files={"a.txt": b"abc"})
    assert rc == 0, err
    assert (outdir / "b.txt").read_text() == "ABC"


def test_failing_script_gives_nonzero_status():
    rc, out, err, outdir = run_gimp_script("raise RuntimeError('kmq-boom')\n")
    assert rc != 0
    assert "kmq-boom" in out + err


def test_gpl_through_palettes_folder_and_importer(tmp_path):
    p = tmp_path / "check.gpl"
    p.write_text(GPL)
    expected = ("KMQ harness check", [("red", (255, 0, 0)), ("sky", (0, 128, 255))])
    assert gimp_load_gpl(p) == expected
    assert gimp_import_palette(p) == expected


def test_gimp_refusal_is_reported(tmp_path):
    p = tmp_path / "bad.gpl"
    p.write_text("GIMP Palette\nName: x\nColumns: abc\n")
    with pytest.raises(GimpPaletteError, match="Invalid column count"):
        gimp_import_palette(p)
    with pytest.raises(GimpPaletteError, match="Invalid column count"):
        gimp_load_gpl(p)
