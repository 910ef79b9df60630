"""The ``kmq`` command: quantize images and extract palettes from the shell.

    kmq quantize photo.jpg -k 16 -o photo-16.png --palette photo.ase
    kmq palette photo.jpg -k 8 -o colours.gpl -o colours.ase
    kmq palette convert colours.ase colours.gpl
    kmq palette show colours.gpl
    kmq batch in/ out/ -k 32 --shared-palette
    kmq gimp install

Every failure is one line on stderr, ``kmq: error: ...``, and a non-zero exit
status (1: a file failed, 2: bad arguments, 130: interrupted); ``--debug``
shows the traceback. Outputs are written atomically and inputs never
overwritten.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from . import options as opt
from .errors import KmqError, PixelLimitError
from .loading import IMAGE_EXTENSIONS


class _Parser(argparse.ArgumentParser):
    """argparse with the one-line error format used everywhere in kmq."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.stderr.write(f"kmq: error: {message}\n")
        raise SystemExit(2)


def _k_arg(text: str) -> int:
    try:
        return opt.check_k(text)
    except KmqError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _pixels_arg(text: str) -> int | None:
    if text.lower() in ("none", "0", "unlimited"):
        return None
    try:
        v = float(text)
        if v < 0:
            raise ValueError
        return int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--max-pixels takes a number of pixels, got {text!r}") from None


def _add_fit_options(p: argparse.ArgumentParser, k_required: bool = False) -> None:
    g = p.add_argument_group("colour options (the same in the app and the GIMP plug-in)")
    g.add_argument("-k", "--colors", dest="k", type=_k_arg, default=None if k_required else opt.DEFAULT_K,
                   metavar="K", help=f"number of colours, {opt.K_MIN}-{opt.K_MAX} (default {opt.DEFAULT_K})")
    g.add_argument("--space", choices=opt.SPACES, default=opt.DEFAULT_SPACE,
                   help=f"colour space for fitting and matching (default {opt.DEFAULT_SPACE}; rgb maximises PSNR)")
    g.add_argument("--seed", type=int, default=opt.DEFAULT_SEED, help="random seed: same seed, same result (default 0)")
    g.add_argument("--lock", metavar="'#RRGGBB,...'", default=None,
                   help="colours that must stay in the palette unchanged, e.g. brand colours")
    p.add_argument("--max-pixels", type=_pixels_arg, default=opt.DEFAULT_MAX_PIXELS, metavar="N",
                   help=f"refuse larger images (default {opt.DEFAULT_MAX_PIXELS:,}; 'none' disables)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kmq", description="k-means colour quantization: indexed PNGs and palettes.",
                     epilog="Run 'kmq COMMAND --help' for the options of a command.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("--version", action="version", version="kmq 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    q = sub.add_parser("quantize", help="reduce images to K colours and save indexed PNGs",
                       description="Reduce images to K colours with k-means and save indexed PNGs.")
    q.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    _add_fit_options(q)
    q.add_argument("--dither", choices=opt.DITHERS, default=opt.DEFAULT_DITHER,
                   help="fs: Floyd-Steinberg error diffusion (default none)")
    q.add_argument("-o", "--output", metavar="OUT.png", help="output file (one input only)")
    q.add_argument("--out-dir", metavar="DIR", help="write NAME-kK.png files into DIR")
    q.add_argument("--palette", action="append", default=[], metavar="FILE",
                   help="also write the palette; the extension picks the format (.gpl .ase .aco .act .json .css .hex .png); repeatable")
    q.add_argument("--palette-in", metavar="FILE", help="apply this palette file instead of fitting one")
    q.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    q.add_argument("--json", action="store_true", help="print one JSON object per image with the figures")
    q.add_argument("-j", "--jobs", type=int, default=None, help="parallel processes (default: all cores)")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")

    pal = sub.add_parser("palette", help="extract a palette (or: palette convert IN OUT, palette show FILE)",
                         description="Extract the K best colours of an image into palette files. "
                                     "Also: 'kmq palette convert IN OUT' and 'kmq palette show FILE'.")
    pal.add_argument("input", metavar="INPUT", help="image file")
    _add_fit_options(pal)
    pal.add_argument("-o", "--output", action="append", default=[], metavar="FILE",
                     help="palette file; the extension picks the format; repeatable (default: print it)")
    pal.add_argument("--name", help="palette name (default: the image's file name)")
    pal.add_argument("--sort", choices=("share", "hue", "lightness", "strip"), default="share",
                     help="colour order (default share: most used first)")
    pal.add_argument("-f", "--force", action="store_true", help="overwrite existing files")

    conv = sub.add_parser("palette-convert", help=argparse.SUPPRESS)
    conv.add_argument("src", metavar="IN")
    conv.add_argument("dst", metavar="OUT")
    conv.add_argument("-f", "--force", action="store_true", help="overwrite OUT if it exists")
    show = sub.add_parser("palette-show", help=argparse.SUPPRESS)
    show.add_argument("file", metavar="FILE")
    show.add_argument("--color", choices=("auto", "always", "never"), default="auto")

    try:
        from .batch import add_arguments as _batch_args  # noqa: F401

        b = sub.add_parser("batch", help="process a folder tree (in parallel, resumable, optionally on Dask)",
                           description="Quantize every image below IN_DIR into OUT_DIR, mirroring the folders.")
        _batch_args(b, _add_fit_options)
    except ImportError:
        pass

    # 'palette convert' and 'palette show' are reached through 'palette': keep their
    # internal names out of the command list (argparse would print "==SUPPRESS==")
    sub._choices_actions = [a for a in sub._choices_actions if a.dest not in ("palette-convert", "palette-show")]

    gimp = sub.add_parser("gimp", help="install or remove the GIMP 3 plug-in")
    gimp.add_argument("action", choices=("install", "uninstall"))
    gimp.add_argument("--dir", help="GIMP 3 plug-ins folder (default: your profile's)")
    gimp.add_argument("--python", help="interpreter the plug-in runs kmq with (default: this one)")
    return parser


def expand_inputs(items: list[str]) -> list[Path]:
    """Files as given; folders become the images directly inside them."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                raise KmqError(f"no images in folder {p}")
            out.extend(found)
        else:
            out.append(p)
    return out


def output_for(src: Path, args) -> Path:
    if args.output:
        return Path(args.output)
    folder = Path(args.out_dir) if args.out_dir else src.parent
    tag = Path(args.palette_in).stem if args.palette_in else f"k{args.k}"
    return folder / f"{src.stem}-{tag}.png"


def _quantize_one(src: str, out: str, settings: dict) -> dict:
    """Worker: quantize one file, write its outputs; returns its figures or raises KmqError."""
    from .formats import read_palette, write_palette
    from .pipeline import quantize
    from .saving import check_output

    check_output(out, force=settings["force"], inputs=[src])
    for pf in settings["palettes"]:
        check_output(pf, force=settings["force"], inputs=[src])
    palette = read_palette(settings["palette_in"]) if settings["palette_in"] else None
    res = quantize(src, settings["k"], space=settings["space"], dither=settings["dither"], seed=settings["seed"],
                   lock=settings["lock"], palette=palette, max_pixels=settings["max_pixels"])
    res.save(out, force=settings["force"], inputs=[src])
    if settings["palettes"]:
        from .palette_ops import name_colors  # the same colour names as 'kmq palette' and the app

        p = name_colors(res.palette).renamed(Path(src).stem)
        for pf in settings["palettes"]:
            write_palette(p, pf, force=settings["force"])
    info = {"input": src, "output": out, **(res.to_dict() if settings["json"] else {
        "colors_used": res.colors_used, "png_bytes": res.png_bytes, "input_bytes": res.input_bytes,
        "seconds": round(res.seconds, 3)})}
    if settings["palettes"]:
        info["palettes"] = list(settings["palettes"])
    return info


def _progress(done: int, total: int, name: str, enabled: bool) -> None:
    if not enabled:
        return
    width = 24
    fill = int(width * done / max(total, 1))
    sys.stderr.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{total} {name[:40]:<40}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _message(e: KmqError) -> str:
    if isinstance(e, PixelLimitError):
        return f"{e} (raise it with --max-pixels if you trust the file)"
    return str(e)


def _internal(e: BaseException) -> str:
    return f"internal error ({type(e).__name__}: {e}); run with --debug for details"


def cmd_quantize(args) -> int:
    inputs = expand_inputs(args.inputs)
    if args.output and len(inputs) > 1:
        raise KmqError("-o names one output file; use --out-dir for several inputs")
    if args.palette and len(inputs) > 1:
        raise KmqError("--palette writes one palette file; give one input (or use 'kmq batch --shared-palette')")
    if args.out_dir:
        d = Path(args.out_dir)
        if d.exists() and not d.is_dir():
            raise KmqError(f"{d} is not a folder")
        d.mkdir(parents=True, exist_ok=True)
    if args.lock:
        from .fitting import as_lock

        lock = as_lock(args.lock)
        if len(lock) > args.k:
            raise KmqError(f"{len(lock)} locked colours do not fit in k={args.k}")
    from .formats import format_for

    for pf in args.palette:
        format_for(pf)
    if args.palette_in:
        format_for(args.palette_in)
        if not Path(args.palette_in).exists():
            raise KmqError(f"no such palette file: {args.palette_in}")
    settings = {"k": args.k, "space": args.space, "dither": args.dither, "seed": args.seed, "lock": args.lock,
                "palette_in": args.palette_in, "max_pixels": args.max_pixels, "force": args.force,
                "palettes": args.palette, "json": args.json}
    jobs = [(str(s), str(output_for(s, args))) for s in inputs]
    outs = [o for _, o in jobs]
    if len(set(outs)) != len(outs):
        raise KmqError("two inputs would write the same output file; use --out-dir with distinct names")
    show = not args.quiet and sys.stderr.isatty() and len(jobs) > 1
    failed = 0

    def report(info: dict | None, src: str, err: str | None) -> None:
        nonlocal failed
        if err:
            failed += 1
            if show:
                sys.stderr.write("\n")
            sys.stderr.write(f"kmq: error: {src}: {err}\n" if len(jobs) > 1 else f"kmq: error: {err}\n")
        elif args.json:
            print(json.dumps(info), flush=True)
        elif not args.quiet:
            ratio = f", {info['input_bytes'] / info['png_bytes']:.1f}x smaller" if info.get("input_bytes") else ""
            print(f"{info['input']} -> {info['output']}: {info['colors_used']} colours, "
                  f"{info['png_bytes']:,} bytes{ratio}", flush=True)

    n_workers = args.jobs or min(len(jobs), os.cpu_count() or 1)
    if len(jobs) == 1 or n_workers <= 1:
        for i, (src, out) in enumerate(jobs, 1):
            try:
                report(_quantize_one(src, out, settings), src, None)
            except KmqError as e:
                report(None, src, _message(e))
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as e:  # a bug on one file must not stop the others
                report(None, src, _internal(e))
            _progress(i, len(jobs), Path(src).name, show)
    else:
        with ProcessPoolExecutor(max_workers=n_workers) as pool:
            futs = {pool.submit(_quantize_one, src, out, settings): src for src, out in jobs}
            for i, fut in enumerate(as_completed(futs), 1):
                src = futs[fut]
                try:
                    report(fut.result(), src, None)
                except KmqError as e:
                    report(None, src, _message(e))
                except Exception as e:  # a bug on one file must not stop the others
                    report(None, src, _internal(e))
                _progress(i, len(jobs), Path(src).name, show)
    if failed and len(jobs) > 1:
        sys.stderr.write(f"kmq: error: {failed} of {len(jobs)} images failed\n")
    return 1 if failed else 0


def cmd_palette(args) -> int:
    from .fitting import fit_palette
    from .formats import format_for, write_palette
    from .formats.terminal import render
    from .loading import load_image
    from .palette_ops import name_colors, sort_palette
    from .saving import check_output

    for f in args.output:
        format_for(f)
        check_output(f, force=args.force, inputs=[args.input])
    src = load_image(args.input, max_pixels=args.max_pixels)
    pal = fit_palette(src.pixels, args.k, space=args.space, seed=args.seed, lock=args.lock)
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
    return 0


def cmd_gimp(args) -> int:
    from . import gimp_install

    if args.action == "install":
        path = gimp_install.install(Path(args.dir) if args.dir else None, python=args.python)
        print(f"installed the GIMP plug-in: {path}\nrestart GIMP; it is under Filters > Colors > K-means Quantize...")
    else:
        removed = gimp_install.uninstall(Path(args.dir) if args.dir else None)
        print("removed the GIMP plug-in" if removed else "the GIMP plug-in was not installed")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    # 'kmq palette convert A B' and 'kmq palette show F' are sub-commands of 'palette'
    for i, a in enumerate(argv):
        if a == "palette" and i + 1 < len(argv) and argv[i + 1] in ("convert", "show"):
            argv[i:i + 2] = [f"palette-{argv[i + 1]}"]
            break
        if not a.startswith("-"):
            break
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        handler = {"quantize": cmd_quantize, "palette": cmd_palette, "palette-convert": cmd_palette_convert,
                   "palette-show": cmd_palette_show, "gimp": cmd_gimp}.get(args.command)
        if handler is None:
            from .batch import run_from_args

            handler = run_from_args
        return handler(args)
    except KmqError as e:
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"kmq: error: {_message(e)}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("kmq: error: interrupted (nothing half-written was left)\n")
        return 130
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    except BrokenPipeError:
        return 1
    except Exception as e:  # a bug: still one line, with the details behind --debug
        if debug:
            traceback.print_exc()
        sys.stderr.write(f"kmq: error: {_internal(e)}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
