"""``kmq-pngquant``: kmq behind pngquant 3's command line.

Build tools rarely run pngquant by hand: they run a wrapper (imagemin-pngquant,
gulp and webpack plug-ins, CMS image pipelines) that calls a binary named
``pngquant`` with pngquant's own arguments. ``kmq-pngquant`` takes those
arguments, pngquant's defaults and its exit statuses, so that such a wrapper
runs kmq when its binary is replaced by this command::

    kmq-pngquant [options] [ncolors] -- pngfile [pngfile ...]
    kmq-pngquant [options] [ncolors] - >stdout <stdin

It is a separate command, not a mode of ``kmq quantize``, because the two
disagree on defaults that a wrapper cannot pass: pngquant takes 256 colours,
dithers, names its outputs ``NAME-fs8.png``/``NAME-or8.png``, skips an existing
output with status 15 and treats only the first argument as a colour count;
``kmq quantize`` keeps its own (16 colours, no dithering, ``NAME-k16.png``) for
the scripts that already use it.

Every option is turned into kmq's own (:class:`kmq_core.options.QuantizeOptions`)
and the files go through the same worker as ``kmq quantize``
(:func:`kmq_core.cli.run_jobs`): no colour logic lives here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from . import options as opt
from .errors import KmqError
from .interrupts import interrupt_pending, run_command

PROG = "kmq-pngquant"

# ---- pngquant's exit statuses (its rwpng.h), the ones this command uses ----
SUCCESS = 0
MISSING_ARGUMENT = 1      # no file given, an unknown option, an option without its value
READ_ERROR = 2            # the input cannot be opened
INVALID_ARGUMENT = 4      # a bad value: colours, --quality, --speed, --posterize, --ext with -o...
NOT_OVERWRITING_ERROR = 15  # the output exists and --force was not given: that file is skipped
CANT_WRITE_ERROR = 16     # the output cannot be written
DECODE_ERROR = 25         # the input is not an image kmq can read (pngquant's libpng error)
TOO_LARGE_FILE = 98       # --skip-if-larger: not worth writing
TOO_LOW_QUALITY = 99      # --quality: below MIN
INTERRUPTED = 130
EXIT_STATUSES = {
    SUCCESS: "success",
    MISSING_ARGUMENT: "no input, an unknown option or an option without its value (or a bug in kmq)",
    READ_ERROR: "an input cannot be opened",
    INVALID_ARGUMENT: "a bad option value",
    NOT_OVERWRITING_ERROR: "an output exists and --force was not given (that file is skipped)",
    CANT_WRITE_ERROR: "an output cannot be written",
    DECODE_ERROR: "an input is not an image kmq can read",
    TOO_LARGE_FILE: "--skip-if-larger: the result was not worth writing",
    TOO_LOW_QUALITY: "--quality: below MIN, nothing written",
    INTERRUPTED: "interrupted",
}

#: pngquant 3's options: long name -> None (a flag), "value" (required) or "optional" (only as --name=value)
LONG_OPTIONS = {
    "force": None, "no-force": None, "skip-if-larger": None, "output": "value", "ext": "value",
    "quality": "value", "speed": "value", "nofs": None, "ordered": None, "floyd": "optional",
    "posterize": "value", "strip": None, "verbose": None, "quiet": None, "version": None, "help": None,
    "iebug": None, "transbug": None, "map": "value",
    "max-pixels": "value",  # kmq's own: its limit on decompression bombs
}
SHORT_OPTIONS = {"f": "force", "o": "output", "Q": "quality", "s": "speed", "v": "verbose", "q": "quiet",
                 "V": "version", "h": "help"}
#: pngquant's --speed range; 11 also turns dithering off, as in pngquant
SPEED_MIN, SPEED_MAX, SPEED_NO_DITHER = 1, 11, 11
STDIO = "-"

USAGE = f"""\
usage:  {PROG} [options] [ncolors] -- pngfile [pngfile ...]
        {PROG} [options] [ncolors] - >stdout <stdin
"""

HELP = USAGE + f"""
kmq's k-means colour quantizer with pngquant 3's options, defaults and exit statuses,
for tools that run pngquant (imagemin-pngquant, build scripts).

options:
  --force           overwrite existing output files (synonym: -f)
  --skip-if-larger  only save converted files if they're smaller than original (and,
                    as pngquant, smaller enough for the quality lost)
  --output file     destination file path to use instead of --ext (synonym: -o)
  --ext new.png     set custom suffix/extension for output filenames
                    (--ext .png --force replaces the input, atomically)
  --quality min-max don't save below min, use fewer colors below max (0-100; kmq's scale:
                    100 - 10 x mean CIEDE2000) (synonym: -Q)
  --speed N         accepted (1-11) and ignored, but 11 turns dithering off as in pngquant
  --nofs            disable dithering
  --floyd=N         Floyd-Steinberg dithering of strength N, 0-1 (default: on, 1)
  --ordered         kmq's ordered (Bayer) dithering instead of Floyd-Steinberg
  --posterize N     drop the N low bits (0-4) of each channel of the palette
  --strip           remove optional metadata (EXIF, text); the sRGB tag stays
  --verbose         print status messages (synonym: -v), on stdout unless the PNG goes
                    there; --quiet (-q): the default
  --iebug, --transbug, --no-force: accepted as pngquant does; --map: refused, as pngquant 3 does
  --max-pixels N    kmq's own: refuse larger images (default 100,000,000; 'none' disables)

The output filename is the same as the input name except that it ends in "-fs8.png",
"-or8.png" (no Floyd-Steinberg) or your custom extension (unless the input is stdin,
in which case the quantized image goes to stdout; on 98 and 99 the input itself does).
With several files the status is that of the last file that failed.

exit status: """ + "; ".join(f"{code} {what}" for code, what in EXIT_STATUSES.items()) + "\n"


class UsageError(Exception):
    """A bad command line: the message and pngquant's exit status for it."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def parse_args(argv: list[str]) -> tuple[dict[str, str | bool | None], list[str]]:
    """pngquant's command line, as its getopt reads it: options anywhere before ``--``,
    ``--name value`` or ``--name=value``, short ones clustered (``-fv``, ``-Q60-80``,
    ``-o out.png``), ``--floyd`` taking a value only as ``--floyd=N``, ``-`` a file name.

    Returns the options given (``{name: value}``, ``True`` for a flag; the last one given
    wins) and the other arguments in order.
    """
    given: dict[str, str | bool | None] = {}
    positional: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positional.extend(argv[i:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if name not in LONG_OPTIONS:
                raise UsageError(f"unrecognized option '--{name}'", MISSING_ARGUMENT)
            takes = LONG_OPTIONS[name]
            if takes is None:
                if eq:
                    raise UsageError(f"option '--{name}' takes no value", MISSING_ARGUMENT)
                given[name] = True
            elif takes == "optional":
                given[name] = value if eq else None
            else:
                if not eq:
                    if i >= len(argv):
                        raise UsageError(f"option '--{name}' needs a value", MISSING_ARGUMENT)
                    value = argv[i]
                    i += 1
                given[name] = value
        elif arg.startswith("-") and arg != STDIO:
            j = 1
            while j < len(arg):
                letter = arg[j]
                j += 1
                if letter not in SHORT_OPTIONS:
                    raise UsageError(f"unrecognized option '-{letter}'", MISSING_ARGUMENT)
                name = SHORT_OPTIONS[letter]
                if LONG_OPTIONS[name] == "value":
                    if j < len(arg):
                        given[name] = arg[j:]
                    elif i < len(argv):
                        given[name] = argv[i]
                        i += 1
                    else:
                        raise UsageError(f"option '-{letter}' needs a value", MISSING_ARGUMENT)
                    break
                given[name] = True
        else:
            positional.append(arg)
    return given, positional


def _whole(text, what: str, lo: int, hi: int) -> int:
    try:
        x = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be a whole number from {lo} to {hi}, got {text!r}", INVALID_ARGUMENT) from None
    if not lo <= x <= hi:
        raise UsageError(f"{what} must be from {lo} to {hi}, got {text}", INVALID_ARGUMENT)
    return x


def output_name(src: str, ext: str) -> str:
    """pngquant's output name: ``.png`` (or ``.PNG``) replaced by ``ext``, else ``ext`` appended;
    kmq reads more than PNG, and another image extension (``.jpg``, ``.webp``...) is replaced too."""
    from .loading import IMAGE_EXTENSIONS

    suffix = os.path.splitext(src)[1]
    if len(src) > 4 and (src.endswith((".png", ".PNG")) or
                         (suffix.lower() in IMAGE_EXTENSIONS and suffix.lower() != ".png")):
        return src[:-len(suffix)] + ext
    return src + ext


class Plan:
    """What a command line asks for, in kmq's terms."""

    def __init__(self, given: dict, positional: list[str]):
        from .posterize import check_posterize

        if "map" in given:
            raise UsageError("--map is not supported (pngquant 3 refuses it too); "
                             "'kmq quantize --palette-in FILE' applies a palette file", INVALID_ARGUMENT)
        k = opt.K_MAX
        if positional and positional[0].isascii() and positional[0].isdigit():
            n = int(positional.pop(0))
            if n != 0 and not 2 <= n <= opt.K_MAX:  # pngquant: 0 is its default, 256
                raise UsageError(f"Number of colors must be between 2 and {opt.K_MAX}.", INVALID_ARGUMENT)
            k = n or opt.K_MAX
        if not positional:
            raise UsageError("no input file", MISSING_ARGUMENT)
        self.files = positional
        try:
            self.quality = opt.check_quality(given["quality"]) if "quality" in given else None
        except KmqError as e:
            raise UsageError(str(e), INVALID_ARGUMENT) from None
        self.speed = _whole(given["speed"], "--speed", SPEED_MIN, SPEED_MAX) if "speed" in given else None
        try:
            self.posterize = check_posterize(given["posterize"]) if "posterize" in given else 0
        except KmqError as e:
            raise UsageError(str(e), INVALID_ARGUMENT) from None
        strength = opt.DEFAULT_STRENGTH
        if given.get("floyd") is not None:
            try:
                strength = float(given["floyd"])
                if strength != strength:  # nan
                    raise ValueError
            except ValueError:
                raise UsageError(f"--floyd=N takes a dithering strength from 0 to 1, got {given['floyd']!r}",
                                 INVALID_ARGUMENT) from None
            strength = min(1.0, max(0.0, strength))  # pngquant takes any number and keeps it to 0-1
        # pngquant dithers unless told not to; --nofs wins over everything, as in pngquant
        if "nofs" in given:
            dither = "none"
        elif "ordered" in given:
            dither = "bayer"
        elif self.speed == SPEED_NO_DITHER or strength == 0:
            dither = "none"
        else:
            dither = "fs"
        self.ext = given.get("ext")
        self.output = given.get("output")
        if self.ext is not None and self.output is not None:
            raise UsageError("--ext and --output options can't be used at the same time", INVALID_ARGUMENT)
        if self.output is not None and len(self.files) > 1:
            raise UsageError("only one input file is allowed when --output is used", INVALID_ARGUMENT)
        if self.ext is None:
            self.ext = "-fs8.png" if dither == "fs" else "-or8.png"
        self.force = bool(given.get("force")) and "no-force" not in given
        self.verbose = bool(given.get("verbose"))
        try:
            self.options = opt.QuantizeOptions(k=k, dither=dither, strength=strength if dither == "fs" else 1.0,
                                               quality=self.quality,
                                               max_pixels=given.get("max-pixels", opt.DEFAULT_MAX_PIXELS))
        except KmqError as e:
            raise UsageError(str(e), INVALID_ARGUMENT) from None
        self.settings = {"options": self.options, "palette_in": None, "importance": None, "force": self.force, "palettes": [],
                         "json": False, "write_below_min": False, "skip_if_larger": bool(given.get("skip-if-larger")),
                         "skip_rule": "pngquant", "strip": bool(given.get("strip")), "skip_existing": False,
                         "posterize": self.posterize, "replace_input": True}
        self.outputs = [self._output_for(f) for f in self.files]

    def _output_for(self, src: str) -> str:
        from .pipeline import check_png_name

        if self.output is not None:
            out = self.output
        elif src == STDIO and len(self.files) == 1:
            out = STDIO
        else:
            out = output_name(src, self.ext)
        if out != STDIO and not out.lower().endswith(".gif"):  # an animated GIF stays one
            try:
                check_png_name(out)
            except KmqError as e:
                raise UsageError(str(e), INVALID_ARGUMENT) from None
        return out


def _status(info: dict | None, kind: str | None) -> int:
    """pngquant's exit status for one file's outcome from :func:`kmq_core.cli.run_jobs`."""
    if info is not None:
        return {0: SUCCESS, 98: TOO_LARGE_FILE, 99: TOO_LOW_QUALITY}[info["exit_status"]]
    return {"OutputExistsError": NOT_OVERWRITING_ERROR, "WriteError": CANT_WRITE_ERROR,
            "internal": MISSING_ARGUMENT}.get(kind or "", DECODE_ERROR)


def _say(text: str, stream=None) -> None:
    stream = stream or sys.stderr
    stream.write(f"{PROG}: {text}\n")
    stream.flush()


def run_plan(plan: Plan) -> int:
    """Quantize the plan's files; returns the status of the last file that failed (0 if none)."""
    from .cli import _read_stdin, run_jobs

    statuses = [SUCCESS] * len(plan.files)
    stdin_data = None
    tasks, where = [], {}
    # --verbose talks on stdout, as pngquant's, unless the PNG goes there (pngquant 3 then mixes
    # its messages into the PNG; kmq-pngquant keeps stdout for the PNG); errors go to stderr
    talk = sys.stderr if STDIO in plan.outputs else sys.stdout
    if plan.verbose and plan.speed is not None and plan.speed != SPEED_NO_DITHER:
        _say(f"--speed {plan.speed} is accepted and ignored (kmq has one speed)", talk)
    for i, (src, out) in enumerate(zip(plan.files, plan.outputs)):
        name = "stdin" if src == STDIO and len(plan.files) == 1 else src
        if src == STDIO and len(plan.files) == 1:
            try:
                stdin_data = _read_stdin()
            except KmqError as e:
                _say(f"error: cannot decode image from stdin: {e}")
                statuses[i] = DECODE_ERROR
                continue
        elif not os.path.isdir(src):
            try:
                with open(src, "rb"):
                    pass
            except OSError as e:
                _say(f"error: cannot open {src} for reading: {e.strerror or e}")
                statuses[i] = READ_ERROR
                continue
        if out == STDIO:
            if sys.stdout.isatty():
                _say("error: refusing to write PNG bytes to a terminal: redirect stdout (> out.png) or use -o FILE")
                statuses[i] = CANT_WRITE_ERROR
                continue
        elif os.path.lexists(out) and not plan.force:
            _say(f"error: '{out}' exists; not overwriting (--force overwrites it)")
            statuses[i] = NOT_OVERWRITING_ERROR
            continue
        task = (src, out, plan.settings, stdin_data) if stdin_data is not None else (src, out, plan.settings)
        where[id(task)] = (i, name)
        tasks.append(task)
    n_workers = min(len(tasks), os.cpu_count() or 1)
    for task, info, message, kind in run_jobs(tasks, n_workers):
        i, name = where[id(task)]
        src, out = task[0], task[1]
        statuses[i] = status = _status(info, kind)
        for warning in (info or {}).get("warnings", ()):  # as kmq quantize: a JPEG that grew, say
            _say(f"warning: {name}: {warning}")
        if message:
            _say(f"error: {name}: {message}")
        elif status in (TOO_LARGE_FILE, TOO_LOW_QUALITY):
            if out == STDIO:  # the pipe still gets a picture: the input as it came
                sys.stdout.buffer.write(stdin_data if stdin_data is not None else Path(src).read_bytes())
                sys.stdout.buffer.flush()
            if plan.verbose:
                _say(f"{name}: {info['error']}" + ("; the input went to stdout" if out == STDIO else ""), talk)
        elif plan.verbose:
            where_to = "stdout" if out == STDIO else out
            quality = f", quality {info['quality']:g}" if "quality" in info else ""
            _say(f"{name} -> {where_to}: {info['colors_used']} colours, {info['png_bytes']:,} bytes{quality}", talk)
    failed = [s for s in statuses if s != SUCCESS]
    if plan.verbose:
        _say(f"quantized {statuses.count(SUCCESS)} of {len(statuses)} image{'s' if len(statuses) > 1 else ''}",
             talk)
    return failed[-1] if failed else SUCCESS


def main(argv: list[str] | None = None) -> int:
    from . import __version__

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        given, positional = parse_args(argv)
        if "help" in given:
            sys.stdout.write(HELP)
            return SUCCESS
        if "version" in given:
            print(f"{__version__} ({PROG}: kmq {__version__} with pngquant 3's options)")
            return SUCCESS
        plan = Plan(given, positional)
        code = run_plan(plan)
        if interrupt_pending():  # a Ctrl-C that a finaliser swallowed (kmq_core.interrupts)
            raise KeyboardInterrupt
        return code
    except UsageError as e:
        _say(f"error: {e}")
        if e.status == MISSING_ARGUMENT:
            sys.stderr.write(USAGE + f"Run '{PROG} --help' for the options.\n")
        return e.status
    except KeyboardInterrupt:
        _say("error: interrupted (nothing half-written was left)")
        return INTERRUPTED
    except BrokenPipeError:
        return CANT_WRITE_ERROR
    except Exception as e:  # a bug: one line, like kmq's
        _say(f"error: internal error ({type(e).__name__}: {e})")
        return MISSING_ARGUMENT


def run() -> None:
    """The ``kmq-pngquant`` command (:func:`kmq_core.interrupts.run_command`)."""
    run_command(main, INTERRUPTED)


if __name__ == "__main__":
    run()
