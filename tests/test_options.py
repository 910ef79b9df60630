from kmq_core import options as o
import pytest
from kmq_core import KmqError


@pytest.mark.parametrize("v,want", [(1, 1), ("16", 16), (256, 256), (64.0, 64)])
def test_check_k_ok(v, want):
    assert o.check_k(v) == want


@pytest.mark.parametrize("v", [0, 257, -3, "abc", "1.5", 2.5, True, None, ""])
def test_check_k_bad(v):
    with pytest.raises(KmqError):
        o.check_k(v)


def test_defaults_are_valid_choices():
    assert o.DEFAULT_SPACE in o.SPACES and o.DEFAULT_DITHER in o.DITHERS
    assert o.check_dither(True) == "fs" and o.check_dither(None) == "none"
    with pytest.raises(KmqError):
        o.check_space("hsv")


def test_dithers_and_their_aliases():
    assert o.DITHERS == ("none", "fs", "bayer", "bluenoise")
    for alias in ("bluenoise", "blue-noise", "Blue_Noise", "BLUE-NOISE"):
        assert o.check_dither(alias) == "bluenoise"
    assert o.check_dither("ordered") == "bayer" and o.check_dither("floyd-steinberg") == "fs"
    with pytest.raises(KmqError, match="bluenoise"):
        o.check_dither("noise")


@pytest.mark.parametrize("v,want", [(2, 2), (4, 4), (8, 8), ("4", 4), (" 8 ", 8), ("4x4", 4), ("2X2", 2), (8.0, 8)])
def test_check_bayer_size_ok(v, want):
    assert o.check_bayer_size(v) == want


@pytest.mark.parametrize("v", [0, 1, 3, 16, "4x8", "x", "", None, True, 4.5, "four"])
def test_check_bayer_size_bad(v):
    with pytest.raises(KmqError, match="Bayer size"):
        o.check_bayer_size(v)


def test_default_bayer_size_is_the_matrix_kmq_always_used():
    assert o.BAYER_SIZES == (2, 4, 8) and o.DEFAULT_BAYER_SIZE == 8


# ---- the options object ------------------------------------------------------------------------------
def test_quantize_options_normalise_every_field():
    q = o.QuantizeOptions(k="8", space="OKLAB", dither="blue-noise", bayer_size="4x4", seed="3", lock="#F00; 00f",
                          quality="80", frame_palette="per_frame", max_pixels="none", max_frames=5.0)
    assert (q.k, q.space, q.dither, q.bayer_size, q.seed) == (8, "oklab", "bluenoise", 4, 3)
    assert q.lock == "#ff0000,#0000ff" and q.lock_hex == ["#ff0000", "#0000ff"]
    assert q.lock_colours == [(255, 0, 0), (0, 0, 255)]
    assert (q.quality, q.frame_palette, q.max_pixels, q.max_frames) == ((72, 80), "per-frame", None, 5)
    assert o.QuantizeOptions() == o.QuantizeOptions(**{n: s.default for n, s in o.SPECS.items()})


def test_quantize_options_are_frozen_and_replace_validates_again():
    q = o.QuantizeOptions(k=4, lock="#000,#fff")
    with pytest.raises(Exception):
        q.k = 8  # type: ignore[misc]
    assert q.replace(k=8).k == 8 and q.k == 4
    with pytest.raises(KmqError, match="2 locked colours do not fit in a palette of k=1"):
        q.replace(k=1)
    with pytest.raises(KmqError, match="unknown dithering"):
        q.replace(dither="sierra")


@pytest.mark.parametrize("field, value, words", [
    ("k", 0, "from 1 to 256"), ("k", True, "whole number"), ("space", "hsv", "colour space"),
    ("dither", "x", "dithering"), ("bayer_size", 3, "Bayer size"), ("strength", 2, "strength"),
    ("lossy", -1, "lossy"), ("seed", 1.5, "seed"), ("lock", "#12", "not a colour"), ("max_pixels", -3, "pixel limit"),
    ("profile", "p3", "profile"), ("quality", "90-80", "above the maximum"), ("frame_palette", "x", "frame palette"),
    ("max_frames", 0, "at least 1"),
])
def test_quantize_options_reject_with_one_line(field, value, words):
    with pytest.raises(KmqError) as e:
        o.QuantizeOptions(**{field: value})
    assert words in str(e.value) and "\n" not in str(e.value)
    assert "--" not in str(e.value)  # core messages name no command-line flag


def test_dict_round_trip_and_unknown_names():
    q = o.QuantizeOptions(k=12, dither="bayer", bayer_size=2, lock="#123456", quality=(60, 70))
    assert o.QuantizeOptions.from_dict(q.to_dict()) == q
    with pytest.raises(KmqError, match="unknown options"):
        o.QuantizeOptions.from_dict({"k": 4, "colours": 4})


def test_fingerprint_names_only_what_changes_the_pixels():
    base = o.QuantizeOptions(k=16)
    assert base.pixel_fields() == {"k": 16, "space": o.DEFAULT_SPACE, "dither": o.DEFAULT_DITHER, "seed": 0,
                                   "lock": []}
    # the Bayer size counts only for Bayer dithering; strength only when something dithers
    assert base.replace(bayer_size=4).fingerprint() == base.fingerprint()
    assert base.replace(dither="bayer", bayer_size=4).fingerprint() != base.replace(dither="bayer").fingerprint()
    assert base.replace(strength=0.5).fingerprint() == base.fingerprint()
    assert base.replace(dither="fs", strength=0.5).fingerprint() != base.replace(dither="fs").fingerprint()
    assert base.replace(max_pixels=None).fingerprint() == base.fingerprint()  # a limit is no pixel
    assert base.replace(lossy=0).fingerprint() != base.fingerprint()
    assert base.fingerprint(palette=["#000000"]) != base.fingerprint()


def test_options_import_without_numpy():
    import subprocess
    import sys

    code = ("import sys, kmq_core.options as o; o.QuantizeOptions(k=3, lock='#000'); "
            "print(sorted(m for m in ('numpy', 'cv2', 'scipy', 'PIL') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.strip() == "[]", p.stderr


# ---- every front end offers what the object declares ---------------------------------------------------
def _cli_actions(*command):
    from kmq_core.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command[0]]
    # the first action of each name: '--nofs' is a second way to set dither ('none')
    return {a.dest: a for a in reversed(sub._actions)}


@pytest.mark.parametrize("command", ["quantize", "palette", "batch"])
def test_command_line_offers_the_declared_choices_and_defaults(command):
    actions = _cli_actions(command)
    seen = set(actions) & set(o.SPECS)
    assert {"k", "space", "seed", "lock", "max_pixels"} <= seen
    for name in seen:
        spec, action = o.SPECS[name], actions[name]
        if spec.choices:
            assert tuple(action.choices) == spec.choices, name
        # quantize leaves k unset so that a count among the inputs or --quality can be told apart
        if not (command == "quantize" and name == "k"):
            assert action.default == spec.default, (command, name)
        if spec.default is not None:  # the argument is checked by the option's own check
            assert action.type(str(spec.default)) == spec.check(spec.default), name
    if command == "quantize":
        assert {"dither", "bayer_size", "strength", "lossy", "profile", "quality", "frame_palette",
                "max_frames"} <= seen


def test_gimp_bridge_defaults_are_the_objects():
    from kmq_core import gimp_bridge

    assert gimp_bridge.request_options({}) == o.QuantizeOptions(max_pixels=None)
    assert set(gimp_bridge.REQUEST_OPTIONS) <= set(o.SPECS)
