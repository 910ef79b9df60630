"""The ``kmq`` command: quantize images and extract palettes from the shell.

    kmq quantize photo.jpg -k 16 -o photo-16.png --palette photo.ase
    kmq palette photo.jpg -k 8 -o colours.gpl -o colours.ase
    kmq palette convert colours.ase colours.gpl
    kmq palette show colours.gpl --contrast --cvd
    kmq batch in/ out/ -k 32 --shared-palette
    kmq gimp install

Every failure is one line on stderr, ``kmq: error: ...``, and a non-zero exit
status (see :data:`EXIT_STATUSES`: pngquant's 98 and 99 included); ``--debug``
shows the traceback. Outputs are written atomically and inputs never
overwritten.

``kmq quantize`` follows pngquant's conventions where build steps rely on
them: ``kmq quantize [options] [NCOLORS] FILE...``, ``--quality MIN-MAX``
(exit 99 below MIN), ``--skip-if-larger`` (exit 98), ``--ext``, ``--output``,
``--force``, ``--strip``, and ``-`` for stdin and stdout (then stdout carries
nothing but the PNG; summaries go to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import traceback
from pathlib import Path

from . import options as opt
from .errors import FrameLimitError, KmqError, OutputExistsError, PixelLimitError, QualityTooLowError
from .interrupts import interrupt_pending, run_command
from .progress_bar import ProgressBar

#: exit statuses of ``kmq`` (98 and 99 are pngquant's, which wrappers such as imagemin test for)
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_TOO_LARGE, EXIT_QUALITY_TOO_LOW, EXIT_INTERRUPTED = 98, 99, 130
EXIT_STATUSES = {
    EXIT_OK: "success",
    EXIT_FAILED: "a file failed (bad or missing input, output exists, cannot write)",
    EXIT_USAGE: "bad arguments",
    EXIT_TOO_LARGE: "--skip-if-larger: the PNG would not be smaller than the input; nothing written",
    EXIT_QUALITY_TOO_LOW: "--quality: even the most colours allowed stay below MIN; nothing written",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); nothing half-written is left",
}
#: with several inputs the status is the most serious one: a failure, then 99, then 98
_SEVERITY = (EXIT_FAILED, EXIT_QUALITY_TOO_LOW, EXIT_TOO_LARGE, EXIT_OK)


#: the palette formats, as help texts list them: ``kmq_core.formats.extensions_text()``, written out
#: because importing the formats loads numpy (tests/test_cli.py keeps the two equal)
PALETTE_EXTENSIONS = ".gpl .ase .aco .act .json .css .hex .png"


def _exit_help() -> str:
    return "exit status: " + "; ".join(f"{code} {what}" for code, what in EXIT_STATUSES.items())


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error format used everywhere in kmq."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"kmq: error: {message}\n")
        raise SystemExit(2)


def _checked(check):
    """An argparse type from one of kmq_core.options' checks (its message becomes argparse's)."""
    def convert(text: str):
        try:
            return check(text)
        except KmqError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    convert.__name__ = check.__name__.removeprefix("check_")  # argparse names it in "invalid X value"
    return convert


def _option(p, name: str, *flags: str, help: str | None = None, show_default: bool = True, **kw) -> None:
    """An argument built from the option's declaration in :data:`kmq_core.options.SPECS`:
    the same check, default and choices as the library, the app and the GIMP plug-in."""
    spec = opt.SPECS[name]
    text = help if help is not None else spec.help
    if show_default and spec.default is not None:
        text += f" (default {spec.default:g})" if isinstance(spec.default, float) else f" (default {spec.default})"
    kw.setdefault("default", spec.default)
    if spec.choices:
        kw.setdefault("choices", spec.choices)
    kw.setdefault("type", _checked(spec.check))
    p.add_argument(*flags, dest=name, help=text, **kw)


def _add_fit_options(p: argparse.ArgumentParser, k_required: bool = False) -> None:
    g = p.add_argument_group("colour options (the same in the app and the GIMP plug-in)")
    _option(g, "k", "-k", "--colors", metavar="K", **({"default": None} if k_required else {}))
    _option(g, "space", "--space", help=f"{opt.SPECS['space'].help} (default {opt.DEFAULT_SPACE}; rgb maximises PSNR)",
            show_default=False)
    _option(g, "seed", "--seed")
    # checked with the others in QuantizeOptions (a bad colour is exit status 1, as it always was)
    _option(g, "lock", "--lock", metavar="'#RRGGBB,...'", type=str)
    _option(p, "max_pixels", "--max-pixels", metavar="N",
            help=f"refuse larger images (default {opt.DEFAULT_MAX_PIXELS:,}; 'none' disables)", show_default=False)


def _one_mood(text: str) -> str:
    """--mood takes a mood; leaving it out is the default (no mood)."""
    mood = opt.check_mood(text)
    if mood is None:
        raise KmqError(f"unknown mood {text!r}: choose one of {', '.join(opt.MOODS)}, or leave --mood out")
    return mood


def _add_mood_options(p: argparse.ArgumentParser) -> None:
    """--mood and --importance, the same for 'kmq quantize' and 'kmq palette' (README "Moods", "Emphasis")."""
    _option(p, "mood", "--mood", metavar="MOOD", type=_checked(_one_mood),
            help=f"pick the palette's colours from the image for a mood: {', '.join(opt.MOODS)} "
                 f"(default: the colours that best reproduce the image)", show_default=False)
    p.add_argument("--importance", metavar="MASK",
                   help="a greyscale image the size of the input: the fit weighs each pixel by it "
                        "(white counts fully, black not at all)")


def _add_dither_options(p: argparse.ArgumentParser) -> None:
    """--dither and --bayer-size, the same for 'kmq quantize' and 'kmq batch'."""
    _option(p, "dither", "--dither",
            help=f"fs: adaptive Floyd-Steinberg error diffusion; bayer: adaptive ordered dithering by a "
                 f"Bayer matrix; bluenoise (or blue-noise): the same with a blue-noise mask, fine grain "
                 f"without a grid; none (default {opt.DEFAULT_DITHER}). All of them dither smooth areas "
                 f"and leave edges and texture alone; bayer and bluenoise hold still from frame to frame",
            show_default=False)
    _option(p, "bayer_size", "--bayer-size", metavar="N",
            help=f"side of the Bayer matrix with --dither bayer: {', '.join(map(str, opt.BAYER_SIZES))} "
                 f"(default {opt.DEFAULT_BAYER_SIZE}; smaller is a coarser grid of fewer levels)", show_default=False)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """kmq's argument parser; with ``command`` (the command word on the line, ``""`` for none) the
    other commands' arguments that would load numpy are left out, so ``kmq --help`` and
    ``kmq quantize --help`` start as fast as Python does."""
    parser = _Parser(prog="kmq", description="k-means colour quantization: indexed PNGs and palettes.",
                     epilog="Run 'kmq COMMAND --help' for the options of a command.\n" + _exit_help(),
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"kmq {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    q = sub.add_parser("quantize", help="reduce images to K colours and save indexed PNGs",
                       usage="kmq quantize [options] [NCOLORS] INPUT...",
                       description="Reduce images to K colours with k-means and save indexed PNGs. "
                                   "Like pngquant, a number among the inputs is the colour count "
                                   "('kmq quantize a.png 32'), and '-' reads stdin (and then writes "
                                   "the PNG to stdout).",
                       epilog=_exit_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    q.add_argument("inputs", nargs="+", metavar="INPUT",
                   help="image files or folders, '-' for stdin; a whole number is the colour count (NCOLORS)")
    _add_fit_options(q)
    q.set_defaults(k=None)  # so that a colour count given twice, or with --quality, is seen
    _add_dither_options(q)
    _add_mood_options(q)
    q.add_argument("--nofs", dest="dither", action="store_const", const="none",
                   help="no dithering (pngquant's spelling)")
    _option(q, "strength", "--dither-strength", metavar="S")
    _option(q, "lossy", "--lossy", metavar="L",
            help=f"let a pixel repeat its neighbour's colour where texture hides the difference, for a "
                 f"smaller PNG (like gifsicle --lossy); 0 = exact nearest colours, "
                 f"{opt.LOSSY_MAX:g} at most (default {opt.DEFAULT_LOSSY:g})", show_default=False)
    _option(q, "frame_palette", "--frame-palette",
            help=f"animations (GIF, APNG, WebP): one palette for every frame (shared), or one per frame "
                 f"started from the last (per-frame, GIF only); default {opt.DEFAULT_FRAME_PALETTE}",
            show_default=False)
    _option(q, "max_frames", "--max-frames", metavar="N",
            help=f"refuse animations with more frames (default {opt.DEFAULT_MAX_FRAMES:,})", show_default=False)
    _option(q, "quality", "-Q", "--quality", metavar="MIN-MAX", type=_checked(opt.check_quality),
            help="use the fewest colours (up to K, default 256) whose quality reaches MAX; "
                 "below MIN write nothing and exit 99. Quality = 100 - 10 x mean CIEDE2000: "
                 "90 is a mean ΔE of 1, 77 of 2.3 (just noticeable), 50 of 5. "
                 "'80' means 72-80, '-80' 0-80, as in pngquant")
    q.add_argument("--write-below-min", action="store_true",
                   help="with --quality: when MIN is out of reach, write the best result anyway (exit 0, a warning)")
    q.add_argument("--skip-if-larger", action="store_true",
                   help="write nothing (exit 98) when the PNG would not be smaller than the input file")
    q.add_argument("-o", "--output", metavar="OUT.png",
                   help="output file (one input only); '-' for stdout. An animation is written as an animated "
                        "GIF or APNG by the extension (.gif, .png, .apng)")
    q.add_argument("--ext", metavar="EXT", default=None,
                   help="output name = input name without its extension + EXT (default -kK.png, "
                        "-qMIN-MAX.png with --quality)")
    q.add_argument("--out-dir", metavar="DIR", help="write the outputs into DIR instead of next to the inputs")
    q.add_argument("--strip", action="store_true",
                   help="drop the metadata carried over from the input (EXIF, text); the sRGB tag stays")
    _option(q, "profile", "--profile",
            help="srgb (default): convert an embedded ICC profile (Display P3, Adobe RGB...) to sRGB and "
                 "tag the PNG sRGB; keep: quantize in the image's own profile and embed it in the PNG",
            show_default=False)
    q.add_argument("--speed", type=int, default=None, metavar="N", help=argparse.SUPPRESS)  # pngquant's; ignored
    q.add_argument("--palette", action="append", default=[], metavar="FILE",
                   help=f"also write the palette; the extension picks the format ({PALETTE_EXTENSIONS}); repeatable")
    q.add_argument("--palette-in", metavar="FILE", help="apply this palette file instead of fitting one")
    q.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    q.add_argument("--json", action="store_true",
                   help="print one JSON object per image with the figures (failures too, with \"error\")")
    q.add_argument("-j", "--jobs", type=int, default=None, help="parallel processes (default: all cores)")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")

    pal = sub.add_parser("palette", help="extract a palette (or: palette convert IN OUT, palette show FILE)",
                         description="Extract the K best colours of an image into palette files. "
                                     "Also: 'kmq palette convert IN OUT' and "
                                     "'kmq palette show FILE [--contrast] [--cvd]'.")
    pal.add_argument("input", metavar="INPUT", help="image file")
    _add_fit_options(pal)
    _add_mood_options(pal)
    pal.add_argument("-o", "--output", action="append", default=[], metavar="FILE",
                     help="palette file; the extension picks the format; repeatable (default: print it)")
    pal.add_argument("--name", help="palette name (default: the image's file name)")
    pal.add_argument("--sort", choices=opt.SORT_KEYS, default=opt.DEFAULT_SORT,
                     help="colour order (default share: most used first)")
    pal.add_argument("-f", "--force", action="store_true", help="overwrite existing files")
    _option(pal, "profile", "--profile",
            help="srgb (default): colours of an image with an ICC profile are converted to sRGB; "
                 "keep: the image's own numbers", show_default=False)

    conv = sub.add_parser("palette-convert", help=argparse.SUPPRESS)
    conv.add_argument("src", metavar="IN")
    conv.add_argument("dst", metavar="OUT")
    conv.add_argument("-f", "--force", action="store_true", help="overwrite OUT if it exists")
    show = sub.add_parser("palette-show", help=argparse.SUPPRESS, prog="kmq palette show")
    show.add_argument("file", metavar="FILE")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    show.add_argument("--contrast", action="store_true",
                      help="also the WCAG 2.2 contrast ratio of every pair and the pairs that pass AA/AAA")
    show.add_argument("--cvd", action="store_true",
                      help="also the palette as seen with protanopia, deuteranopia and tritanopia, and the pairs "
                           "that look alike (simulated colours within ΔE2000 3)")

    b = sub.add_parser("batch", help="process a folder tree (in parallel, resumable, optionally on Dask)",
                       description="Quantize every image below IN_DIR into OUT_DIR, mirroring the folders.")
    if command in (None, "batch"):  # its arguments load the batch package (numpy): only when it runs
        from .batch import add_arguments as _batch_args

        _batch_args(b, _add_fit_options, _add_dither_options)

    # 'palette convert' and 'palette show' are reached through 'palette': keep their
    # internal names out of the command list (argparse would print "==SUPPRESS==")
    sub._choices_actions = [a for a in sub._choices_actions if a.dest not in ("palette-convert", "palette-show")]

    app = sub.add_parser("app", help="open the browser app (needs kmq[app])",
                         description="Start kmq's browser app with Streamlit; the options after 'app' go to "
                                     "'streamlit run' (e.g. --server.port 8502).")
    app.add_argument("streamlit_args", nargs=argparse.REMAINDER, metavar="STREAMLIT_OPTION")

    gimp = sub.add_parser("gimp", help="install or remove the GIMP 3 plug-in")
    gimp.add_argument("action", choices=("install", "uninstall"))
    gimp.add_argument("--dir", help="GIMP 3 plug-ins folder (default: your profile's)")
    gimp.add_argument("--python", help="interpreter the plug-in runs kmq with (default: this one)")
    return parser


STDIO = "-"
#: stems of kmq's default output names: NAME-k16, NAME-q65-80 (folder runs skip them)
_OWN_OUTPUT = re.compile(r"^(?P<base>.+)-(k\d{1,3}|q\d{1,3}-\d{1,3})$")


def split_colour_count(items: list[str]) -> tuple[list[str], int | None]:
    """pngquant's positional NCOLORS: a whole number among the inputs that is not a file."""
    inputs, counts = [], []
    for item in items:
        if item.isdigit() and not Path(item).exists():
            counts.append(item)
        else:
            inputs.append(item)
    if len(counts) > 1:
        raise KmqError(f"give one colour count, got {', '.join(counts)}")
    return inputs, (opt.check_k(counts[0]) if counts else None)


def expand_inputs(items: list[str], *, ext: str | None = None) -> tuple[list[Path], int]:
    """Files as given; folders become the images directly inside them.

    A folder's own kmq outputs are left out, so a second run over it does not
    quantize them again: ``NAME-k16.png``/``NAME-q65-80.png`` (and ``NAME`` +
    ``ext``) beside an image called ``NAME``. Returns the files and how many
    were left out.
    """
    from .loading import IMAGE_EXTENSIONS  # here, not at the top: 'kmq --help' imports no numpy

    out: list[Path] = []
    skipped = 0
    for item in items:
        p = Path(item)
        if item != STDIO and p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS
                           and not f.name.startswith("."))
            stems = {f.stem for f in found}
            names = {f.name for f in found}

            def own(f: Path) -> bool:
                if f.suffix.lower() != ".png":
                    return False
                m = _OWN_OUTPUT.match(f.stem)
                if m and m.group("base") in stems:
                    return True
                return bool(ext) and f.name.endswith(ext) and len(f.name) > len(ext) and \
                    any(n != f.name and Path(n).stem == f.name[:-len(ext)] for n in names)

            kept = [f for f in found if not own(f)]
            skipped += len(found) - len(kept)
            if not kept:
                raise KmqError(f"no images in folder {p}" + (" (only kmq's own outputs)" if found else ""))
            out.extend(kept)
        else:
            out.append(p)
    return out, skipped


def output_for(src: Path, args) -> Path | str:
    if args.output:
        return args.output if args.output == STDIO else Path(args.output)
    if str(src) == STDIO:
        return STDIO  # pngquant: stdin in, stdout out
    folder = Path(args.out_dir) if args.out_dir else src.parent
    if args.ext:
        return folder / f"{src.stem}{args.ext}"
    if args.palette_in:
        tag = Path(args.palette_in).stem
    elif args.quality:
        tag = f"q{args.quality[0]}-{args.quality[1]}"
    else:
        tag = f"k{args.k}"
    suffix = ".png"
    if src.suffix.lower() == ".gif" and not args.palette_in:
        from .animation import is_animation

        if is_animation(src):
            suffix = ".gif"  # an animated GIF stays a GIF
    return folder / f"{src.stem}-{tag}{suffix}"


def _read_stdin() -> bytes:
    data = sys.stdin.buffer.read()
    if not data:
        raise KmqError("nothing on stdin (0 bytes)")
    return data


def _guarded(src: str, settings: dict) -> list[str]:
    """The inputs an output must not replace: the input itself, unless the command lets
    ``--force`` replace it (kmq-pngquant's ``--ext .png --force``, pngquant's in-place run)."""
    return [] if settings.get("replace_input") and settings["force"] else [src]


def size_budget(input_bytes: int, quality: float | None = None) -> int:
    """The most bytes a result may have under ``--skip-if-larger``.

    ``quality`` None (``kmq quantize``): fewer bytes than the input. With the quality reached
    (0-100, ``kmq-pngquant``): pngquant's rule, ``(input - 1) × max((quality/100)^1.5, 0.5)``,
    so that a loss of quality must buy a saving that grows with it (and halving the file
    is always worth it).
    """
    if quality is None:
        return input_bytes - 1
    return int((input_bytes - 1) * max((max(quality, 0.0) / 100) ** 1.5, 0.5))


def _quantize_one(src: str, out: str, settings: dict, data: bytes | None = None) -> dict:
    """Worker: quantize one file, write its outputs; returns its figures (with ``exit_status``)
    or raises KmqError. ``data``: the input's bytes when it came on stdin."""
    from .auto_k import quality_for_delta_e, smallest_k_for_quality
    from .formats import read_palette
    from .pipeline import check_png_name, quantize
    from .saving import check_output

    o: opt.QuantizeOptions = settings["options"]
    to_stdout = out == STDIO
    animated = _is_animation(src, data, o.max_pixels)
    if not to_stdout:
        if settings["skip_existing"] and Path(out).exists() and not settings["force"]:
            return {"input": src, "output": out, "skipped": "exists", "exit_status": EXIT_OK}
        check_output(out, force=settings["force"], inputs=_guarded(src, settings))
        if animated:
            from .animation import output_format

            output_format(out)
        else:
            check_png_name(out)
    if animated:
        return _quantize_animation(src, out, settings, data)
    for pf in settings["palettes"]:
        check_output(pf, force=settings["force"], inputs=[src])
    palette = read_palette(settings["palette_in"]) if settings["palette_in"] else None
    source = src
    if data is not None:  # stdin: a named in-memory file, so messages say "stdin"
        import io

        source = io.BytesIO(data)
        source.name = "stdin"
    opts = o.quantize_kwargs()
    warnings: list[str] = []
    status = EXIT_OK
    if o.quality and palette is None:
        res, said = _search_quality(
            lambda: smallest_k_for_quality(source, o.quality, k_max=o.k, importance=settings.get("importance"), **opts),
            src, settings)
        if res is None:
            return said
        warnings += said
    else:
        res = quantize(source, o.k, palette=palette, importance=settings.get("importance"), **opts)
    if settings.get("posterize"):  # kmq-pngquant's --posterize N
        from .posterize import posterize

        res = posterize(res, settings["posterize"])
    png = res.encode(strip=True) if settings["strip"] else res.png
    info = {"input": src, "output": out, **(res.to_dict() if settings["json"] else {
        "colors_used": res.colors_used, "input_bytes": res.input_bytes, "seconds": round(res.seconds, 3)})}
    info["png_bytes"] = len(png)
    pngquant_rule = settings["skip_if_larger"] and settings.get("skip_rule") == "pngquant"
    if settings["json"] or o.quality or pngquant_rule:  # the mean ΔE2000 of a dithered 12 MP result takes seconds
        info["quality"] = round(quality_for_delta_e(res.delta_e), 1)
    if settings["skip_if_larger"] and res.input_bytes is not None:
        budget = size_budget(res.input_bytes, info["quality"] if pngquant_rule else None)
        if len(png) > budget:
            worth = "not be smaller than the input" if not pngquant_rule else \
                f"save too little for quality {info['quality']:g}: at most {budget:,} bytes from an input of"
            info.update(output=None, skipped="larger", exit_status=EXIT_TOO_LARGE,
                        error=f"the PNG ({len(png):,} bytes) would {worth} "
                              f"({res.input_bytes:,} bytes): nothing written (--skip-if-larger)")
            return info
    _write_outputs(png, res.palette, src, out, settings, info)
    fmt = res.source.format or ""
    if res.input_bytes and len(png) > res.input_bytes and fmt.upper() in ("JPEG", "MPO", "WEBP"):
        warnings.append(f"the PNG ({len(png):,} bytes) is {len(png) / res.input_bytes:.1f}x larger than the "
                        f"{fmt.upper()} input ({res.input_bytes:,} bytes): PNG is lossless, so for photos keep "
                        f"the {fmt.upper()}, or use fewer colours (or --skip-if-larger)")
    if warnings:
        info["warnings"] = warnings
    info["exit_status"] = status
    return info


def _write_outputs(blob: bytes, palette, src: str, out: str, settings: dict, info: dict) -> None:
    """The image (atomically, or to stdout) and the palette files asked for."""
    from .formats import write_palette
    from .saving import atomic_write

    if out == STDIO:
        sys.stdout.buffer.write(blob)
        sys.stdout.buffer.flush()
    else:
        atomic_write(out, blob, force=settings["force"], inputs=_guarded(src, settings))
    if settings["palettes"]:
        from .palette_ops import name_colors  # the same colour names as 'kmq palette' and the app

        p = name_colors(palette).renamed(Path(src).stem if src != STDIO else "stdin")
        for pf in settings["palettes"]:
            write_palette(p, pf, force=settings["force"])
        info["palettes"] = list(settings["palettes"])


def _search_quality(search, src: str, settings: dict):
    """``--quality``: ``search()`` gives ``(k, result)`` (kmq_core.auto_k). Returns the result and
    its warnings, or ``(None, figures)`` of a file skipped below MIN (exit 99) unless
    ``--write-below-min``, which writes it with a warning."""
    try:
        return search()[1], []
    except QualityTooLowError as e:
        if not settings["write_below_min"]:
            return None, {"input": src, "output": None, "skipped": "quality", "error": str(e),
                          "quality": round(e.quality, 1), "k": e.result.k, "exit_status": EXIT_QUALITY_TOO_LOW}
        return e.result, [f"{e}; written anyway (--write-below-min)"]


def _is_animation(src: str, data: bytes | None, max_pixels: int | None) -> bool:
    """True for a GIF, APNG or WebP of several frames; a file that cannot be read says why here."""
    from .animation import probe

    return probe(_stdin_file(data) if data is not None else src, max_pixels=max_pixels).n_frames > 1


def _stdin_file(data: bytes):
    import io

    f = io.BytesIO(data)
    f.name = "stdin"
    return f


def _quantize_animation(src: str, out: str, settings: dict, data: bytes | None) -> dict:
    """Worker for an animated input: every frame quantized, written as GIF or APNG."""
    import numpy as np

    from .animation import output_format, quantize_animation
    from .auto_k import quality_for_delta_e, smallest_k_for_quality_animation
    from .formats import read_palette

    o: opt.QuantizeOptions = settings["options"]
    if o.mood or settings.get("importance"):
        raise KmqError(f"{'--mood' if o.mood else '--importance'} works on still images, not animations")
    palette = read_palette(settings["palette_in"]) if settings["palette_in"] else None
    source = data if data is not None else src
    if out == STDIO:
        fmt = "GIF" if (data or b"")[:3] == b"GIF" else "PNG"
    else:
        fmt = output_format(out)
    # fmt: an APNG keeps translucent pixels (colour and alpha fitted together), a GIF cannot
    anim_kw = dict(frame_palette=o.frame_palette, max_frames=o.max_frames, fmt=fmt, **o.quantize_kwargs())
    warnings: list[str] = []
    if o.quality and palette is None:  # the fewest colours whose worst frame reaches MAX
        res, said = _search_quality(
            lambda: smallest_k_for_quality_animation(source, o.quality, k_max=o.k, **anim_kw), src, settings)
        if res is None:
            return said
        warnings += said
    else:
        res = quantize_animation(_stdin_file(data) if data is not None else src, o.k, palette=palette, **anim_kw)
    if fmt == "PNG" and res.frame_palette == "per-frame":
        raise KmqError("an APNG holds one palette for all its frames: write a .gif for per-frame palettes")
    blob = res.encode(fmt)
    used = len(np.unique(np.concatenate([np.unique(lab) for lab in res.labels])))
    info = {"input": src, "output": out, "frames": res.n_frames, "frame_palette": res.frame_palette,
            "colors_used": int(used), "input_bytes": res.input_bytes, "png_bytes": len(blob)}
    if res.frame_delta_e is not None:  # --quality: the worst frame's
        info.update(k=res.k, quality=round(quality_for_delta_e(max(res.frame_delta_e)), 1),
                    worst_frame_delta_e=round(max(res.frame_delta_e), 3))
    if settings["skip_if_larger"] and res.input_bytes is not None and len(blob) >= res.input_bytes:
        info.update(output=None, skipped="larger", exit_status=EXIT_TOO_LARGE,
                    error=f"the {'GIF' if fmt == 'GIF' else 'APNG'} ({len(blob):,} bytes) would not be smaller "
                          f"than the input ({res.input_bytes:,} bytes): nothing written (--skip-if-larger)")
        return info
    _write_outputs(blob, res.palette, src, out, settings, info)
    if res.notes:  # as a still image's notes: in the JSON, not on stderr
        info["notes"] = list(res.notes)
    if res.warnings or warnings:  # a damaged APNG read as its default image: one line on stderr
        info["warnings"] = list(res.warnings) + warnings
    info["exit_status"] = EXIT_OK
    return info


def _message(e: KmqError) -> str:
    if isinstance(e, PixelLimitError):
        return f"{e} (raise it with --max-pixels if you trust the file)"
    if isinstance(e, FrameLimitError):
        return f"{e} (raise it with --max-frames if you trust the file)"
    if isinstance(e, OutputExistsError):
        return str(e).replace("pass force=True", "use --force")
    return str(e)


def _internal(e: BaseException) -> str:
    return f"internal error ({type(e).__name__}: {e}); run with --debug for details"


def _quantize_task(job: tuple) -> tuple[dict | None, str | None, str | None]:
    """One file of ``kmq quantize`` (or ``kmq-pngquant``), here or in a worker process:
    :func:`_quantize_one` on ``(src, out, settings[, stdin bytes])``, returning ``(figures, None,
    None)`` or ``(None, message, kind)``: a failure comes back as its one line and the name of
    its :class:`KmqError` class (``"internal"`` for a bug), and a bug on one file must not stop
    the others."""
    src, out, settings, *data = job
    try:
        return _quantize_one(src, out, settings, *data), None, None
    except KmqError as e:
        return None, _message(e), type(e).__name__
    except (KeyboardInterrupt, SystemExit, BrokenPipeError):
        raise
    except Exception as e:
        interrupt = e.__cause__ or e.__context__
        if isinstance(interrupt, KeyboardInterrupt):  # Ctrl-C inside a numba kernel comes out as a SystemError
            raise interrupt from None
        return None, _internal(e), "internal"


def run_jobs(jobs: list[tuple], n_workers: int):
    """:func:`_quantize_task` on each job, yielding ``(job, figures, message, kind)`` as each ends.

    One job, or one worker: here, in order (Ctrl-C and a closed stdout stop the run). Else in
    the batch's pool: workers ignore Ctrl-C (this process stops the run), one OpenCV/BLAS thread
    each, and a worker that dies costs only its own file.
    """
    if len(jobs) == 1 or n_workers <= 1:
        for job in jobs:
            yield (job, *_quantize_task(job))
        return
    from .batch.runners import run_local

    for job, outcome, error in run_local(_quantize_task, jobs, n_workers):
        yield (job, *outcome) if error is None else (job, None, error, "internal")


def cmd_quantize(args) -> int:
    items, count = split_colour_count(args.inputs)
    if count is not None and args.k is not None and count != args.k:
        raise KmqError(f"two colour counts: {count} and -k {args.k}; give one")
    args.k = count if count is not None else args.k
    if not items:
        raise KmqError("no input: give image files, folders or '-' for stdin")
    if args.write_below_min and not args.quality:
        raise KmqError("--write-below-min goes with --quality")
    if (args.mood or args.importance) and args.palette_in:
        raise KmqError(f"{'--mood' if args.mood else '--importance'} is for fitting a palette; --palette-in gives "
                       "one: give one of them")
    if args.importance and not Path(args.importance).is_file():
        raise KmqError(f"no such importance mask: {args.importance}")
    if args.quality and args.palette_in:
        raise KmqError("--quality picks the number of colours; --palette-in fixes them: give one")
    if args.ext is not None and not args.ext.lower().endswith((".png", ".gif")):
        raise KmqError(f"--ext {args.ext}: kmq writes PNG files (and GIF for animations); the extension must "
                       "end in .png or .gif")
    if args.k is None and not args.quality:
        args.k = opt.DEFAULT_K
    if items.count(STDIO) > 1 or (STDIO in items and len(items) > 1):
        raise KmqError("'-' (stdin) must be the only input")
    inputs, own_skipped = expand_inputs(items, ext=args.ext)
    if args.output and len(inputs) > 1:
        raise KmqError("-o names one output file; use --out-dir or --ext for several inputs")
    if args.palette and len(inputs) > 1:
        raise KmqError("--palette writes one palette file; give one input (or use 'kmq batch --shared-palette')")
    if args.out_dir:
        d = Path(args.out_dir)
        if d.exists() and not d.is_dir():
            raise KmqError(f"{d} is not a folder")
        d.mkdir(parents=True, exist_ok=True)
    # every colour option, validated together (the locked colours must fit in k)
    options = opt.QuantizeOptions(k=args.k or opt.K_MAX, space=args.space, dither=args.dither,
                                  bayer_size=args.bayer_size, strength=args.strength, lossy=args.lossy,
                                  seed=args.seed, lock=args.lock, max_pixels=args.max_pixels, profile=args.profile,
                                  quality=args.quality, frame_palette=args.frame_palette, max_frames=args.max_frames,
                                  mood=args.mood)
    from .formats import format_for

    for pf in args.palette:
        format_for(pf)
    if args.palette_in:
        format_for(args.palette_in)
        if not Path(args.palette_in).exists():
            raise KmqError(f"no such palette file: {args.palette_in}")
    jobs = [(str(s), str(output_for(s, args))) for s in inputs]
    outs = [o for _, o in jobs]
    if len(set(outs)) != len(outs):
        raise KmqError("two inputs would write the same output file; use --out-dir with distinct names")
    png_to_stdout = STDIO in outs
    if png_to_stdout and sys.stdout.isatty():
        raise KmqError("refusing to write PNG bytes to a terminal: redirect stdout (> out.png) or use -o FILE")
    # with the PNG on stdout, every word goes to stderr
    text_out = sys.stderr if png_to_stdout else sys.stdout
    # the colour options, then what the command does with the files
    settings = {"options": options, "palette_in": args.palette_in, "importance": args.importance, "force": args.force,
                "palettes": args.palette, "json": args.json,
                "write_below_min": args.write_below_min, "skip_if_larger": args.skip_if_larger,
                "strip": args.strip,
                # a second run over a folder leaves the outputs it already wrote
                "skip_existing": any(Path(i).is_dir() for i in items if i != STDIO)}
    data = _read_stdin() if jobs[0][0] == STDIO else None
    # the bar stays on screen at the end, above the closing lines
    bar = ProgressBar(not args.quiet and sys.stderr.isatty() and len(jobs) > 1, keep=True)
    statuses: list[int] = []
    n_skipped_existing = 0

    def report(info: dict | None, src: str, err: str | None) -> None:
        nonlocal n_skipped_existing
        name = "stdin" if src == STDIO else src
        if err:
            statuses.append(EXIT_FAILED)
            bar.newline()
            sys.stderr.write(f"kmq: error: {name}: {err}\n" if len(jobs) > 1 else f"kmq: error: {err}\n")
            if args.json:
                print(json.dumps({"input": src, "output": None, "error": err, "exit_status": EXIT_FAILED}),
                      file=text_out, flush=True)
            return
        statuses.append(info["exit_status"])
        if info.get("skipped") == "exists":
            n_skipped_existing += 1
        elif info.get("skipped"):
            sys.stderr.write(f"kmq: {name}: {info['error']}\n")
        for w in info.get("warnings", ()):
            sys.stderr.write(f"kmq: warning: {name}: {w}\n")
        if args.json:
            print(json.dumps(info), file=text_out, flush=True)
        elif not args.quiet and not info.get("skipped"):
            ratio = ""
            if info.get("input_bytes"):
                r = info["input_bytes"] / info["png_bytes"]
                ratio = f", {r:.1f}x smaller" if r >= 1 else f", {1 / r:.1f}x larger"
            where = "stdout" if info["output"] == STDIO else info["output"]
            frames = (f"{info['frames']} frame{'' if info['frames'] == 1 else 's'}, " if "frames" in info else "")
            print(f"{name} -> {where}: {frames}{info['colors_used']} colours, {info['png_bytes']:,} bytes{ratio}"
                  + (f", quality {info['quality']:g}" if args.quality else ""), file=text_out, flush=True)

    n_workers = args.jobs or min(len(jobs), os.cpu_count() or 1)
    tasks = [(src, out, settings, data) if src == STDIO else (src, out, settings) for src, out in jobs]
    for i, ((src, *_), info, err, _kind) in enumerate(run_jobs(tasks, n_workers), 1):
        report(info, src, err)
        bar.update(i, len(jobs), name=Path(src).name)
    failed = statuses.count(EXIT_FAILED)
    if failed and len(jobs) > 1:
        sys.stderr.write(f"kmq: error: {failed} of {len(jobs)} images failed\n")
    if n_skipped_existing and not args.quiet:
        sys.stderr.write(f"kmq: {n_skipped_existing} of {len(jobs)} outputs already exist and were left as they "
                         f"are (--force redoes them)\n")
    return next((code for code in _SEVERITY if code in statuses), EXIT_OK)


def cmd_palette(args) -> int:
    from .formats import format_for, write_palette
    from .formats.terminal import render
    from .loading import load_image
    from .palette_ops import name_colors, sort_palette
    from .pipeline import quantize
    from .saving import check_output

    for f in args.output:
        format_for(f)
        check_output(f, force=args.force, inputs=[args.input])
    src = load_image(args.input, max_pixels=args.max_pixels, profile=args.profile)
    # the palette quantize fits (same weights, same k for transparency), so the
    # swatches a designer downloads are the colours of the quantized image
    if args.importance and not Path(args.importance).is_file():
        raise KmqError(f"no such importance mask: {args.importance}")
    pal = quantize(src, args.k, space=args.space, seed=args.seed, lock=args.lock, dither="none", lossy=0,
                   mood=args.mood, importance=args.importance).palette
    pal = name_colors(sort_palette(pal, args.sort)).renamed(args.name or Path(args.input).stem)
    for f in args.output:
        write_palette(pal, f, force=args.force)
    if not args.output:
        print(render(pal, color=sys.stdout.isatty()))
    else:
        print(f"{args.input}: {len(pal)} colours -> {', '.join(args.output)}")
    return 0


def cmd_palette_convert(args) -> int:
    from .formats import format_for, read_palette, write_palette
    from .saving import check_output

    format_for(args.dst)
    check_output(args.dst, force=args.force, inputs=[args.src])
    pal = read_palette(args.src)
    write_palette(pal, args.dst, force=args.force)
    print(f"{args.src} -> {args.dst}: {len(pal)} colours")
    return 0


def cmd_palette_show(args) -> int:
    from .formats import read_palette
    from .formats.terminal import render

    pal = read_palette(args.file)
    color = args.color == "always" or (args.color == "auto" and sys.stdout.isatty() and os.environ.get("NO_COLOR") is None)
    print(render(pal, color=color))
    if args.contrast:
        from .formats.terminal import render_contrast

        print("\n" + render_contrast(pal, color=color))
    if args.cvd:
        from .formats.terminal import render_cvd

        print("\n" + render_cvd(pal, color=color))
    return 0


def app_script() -> Path:
    """The app's script: the checkout's ``streamlit_app.py``, else the copy shipped in ``kmq_app``."""
    import importlib.util

    spec = importlib.util.find_spec("kmq_app")
    if spec is None or not spec.submodule_search_locations:
        raise KmqError("the app is not installed: pip install 'kmq[app]'")
    pkg = Path(list(spec.submodule_search_locations)[0])
    for p in (pkg.parent / "streamlit_app.py", pkg / "streamlit_app.py"):
        if p.is_file():
            return p
    raise KmqError(f"the app's script is missing from {pkg}; reinstall kmq[app]")


def cmd_app(args) -> int:
    import importlib.util

    if importlib.util.find_spec("streamlit") is None:
        raise KmqError("the app needs Streamlit: pip install 'kmq[app]'")
    script = app_script()
    argv = [sys.executable, "-m", "streamlit", "run", str(script), *args.streamlit_args]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # Streamlit's own Ctrl-C handling and exit status
    return 0  # not reached


def cmd_gimp(args) -> int:
    from . import gimp_install

    if args.action == "install":
        try:
            path = gimp_install.install(Path(args.dir) if args.dir else None, python=args.python)
        except KmqError as e:
            if args.python and str(e).startswith(f"{args.python}:"):  # about the interpreter given
                raise KmqError(f"--python {e}") from None
            raise
        print(f"installed the GIMP plug-in: {path}\nrestart GIMP; it is under Filters > Colors > K-means Quantize...")
    else:
        removed = gimp_install.uninstall(Path(args.dir) if args.dir else None)
        print("removed the GIMP plug-in" if removed else "the GIMP plug-in was not installed")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    # the command is the first word that is not an option:
    # - 'kmq palette convert A B' and 'kmq palette show F' are sub-commands of 'palette';
    # - 'kmq app OPTIONS...': everything after 'app' goes to 'streamlit run' as it is
    #   (argparse would take '--server.port' for an option of kmq's own)
    passthrough = None
    command = ""
    for i, a in enumerate(argv):
        if a.startswith("-"):
            continue
        command = a
        if a == "palette" and i + 1 < len(argv) and argv[i + 1] in ("convert", "show"):
            argv[i:i + 2] = [f"palette-{argv[i + 1]}"]
        elif a == "app" and i + 1 < len(argv) and argv[i + 1] not in ("-h", "--help"):
            argv, passthrough = argv[:i + 1], argv[i + 1:]
        break
    # pngquant's extensions start with a dash ('--ext -fs8.png'), which argparse would take for an option
    for i in range(len(argv) - 1):
        if argv[i] == "--ext":
            argv[i:i + 2] = [f"--ext={argv[i + 1]}"]
            break
    parser = build_parser(command)
    try:
        args = parser.parse_args(argv)
        if passthrough is not None:
            args.streamlit_args = passthrough
        if not args.command:
            parser.print_help()
            return 2
        handler = {"quantize": cmd_quantize, "palette": cmd_palette, "palette-convert": cmd_palette_convert,
                   "palette-show": cmd_palette_show, "gimp": cmd_gimp, "app": cmd_app}.get(args.command)
        if handler is None:
            from .batch import run_from_args

            handler = run_from_args
        code = handler(args)
        if interrupt_pending():  # a Ctrl-C that a finaliser swallowed (kmq_core.interrupts)
            raise KeyboardInterrupt
        return code
    except KmqError as e:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"kmq: error: {_message(e)}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        sys.stderr.write("kmq: error: interrupted (nothing half-written was left)\n")
        return EXIT_INTERRUPTED
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    except BrokenPipeError:
        return 1
    except Exception as e:  # a bug: still one line, with the details behind --debug
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"kmq: error: {_internal(e)}\n")
        return 1


def run() -> None:
    """The ``kmq`` command: :func:`main`, then exit with its status
    (:func:`kmq_core.interrupts.run_command`)."""
    run_command(main, EXIT_INTERRUPTED)


if __name__ == "__main__":
    run()
