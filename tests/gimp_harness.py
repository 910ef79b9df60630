"""Run a real GIMP 3.0 (Debian trixie chroot) from the tests.

The host is Debian 12, whose GIMP is 2.10 without Python, so the GIMP tests use a
Debian 13 chroot built by ``tests/gimp/build_root.sh`` (cached outside the checkout,
default ``/var/cache/kmq-gimp3-root``, override with ``KMQ_GIMP_ROOT``).

Public API (pure Python, import it from tests):

- :func:`gimp_root` -> Path of the ready chroot (builds it if needed). Under pytest,
  when it cannot be had (not root, build failed) the test is skipped -- unless
  ``CI=true``, where a skip counts as a failure, so the test fails instead.
- :func:`run_gimp_script` -> ``(returncode, stdout, stderr, outdir)``: runs a Python
  script inside ``gimp-console-3.0 -i -n --batch-interpreter=python-fu-eval -b -
  --quit`` with a throw-away ``GIMP3_DIRECTORY`` profile. Files you pass are in
  ``$KMQ_IN`` (inside the chroot), the script writes results to ``$KMQ_OUT``, which
  is ``outdir`` on the host. Work folders are removed when the Python process exits
  (set ``KMQ_GIMP_KEEP=1`` to keep them for debugging).
- :func:`prepare_gimp_work` sets up such a work folder (profile, inputs, plug-ins)
  without running anything; :func:`run_in_root` runs any command in the chroot the
  same way (the dialog test runs GIMP's GUI under Xvfb with it); :func:`read_xwd`
  reads an ``xwd`` screenshot.
- :func:`gimp_import_palette` -> ``(name, [(entry_name, (r, g, b)), ...])`` read by
  GIMP's own palette importer (Palettes > Import, the code behind it, via the
  LD_PRELOAD probe in ``tests/gimp/probe``); raises :class:`GimpPaletteError` with
  GIMP's message when GIMP refuses the file.
- :func:`gimp_load_gpl` -> ``(name, entries)`` for a ``.gpl`` dropped into the
  profile's ``palettes/`` folder and read back through libgimp.

Mounts: every call runs in its own private mount namespace (``unshare -m``): /proc,
/dev, /sys, the repository (read-only, at the same absolute path, so ``kmq_core`` can
be imported inside the chroot) and the host's Python prefix (read-only, same path, so
the host interpreter can run there as a plug-in subprocess) are bind-mounted only for
that process tree and disappear with it. Concurrent calls cannot unmount each other's
mounts and nothing is left mounted on the host after a crash.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / "tests" / "gimp" / "build_root.sh"
GIMP_BATCH = ["gimp-console-3.0", "-i", "-n", "--batch-interpreter=python-fu-eval", "-b", "-", "--quit"]
#: paths that must never be shadowed by a bind mount inside the chroot
_SYSTEM_PREFIXES = ("/usr", "/lib", "/lib64", "/bin", "/sbin", "/etc", "/var/lib", "/opt/kmq-probe")

_root: Path | None = None


class GimpUnavailable(RuntimeError):
    """No GIMP 3 chroot can be had here (not root, no network, build failed)."""


class GimpPaletteError(RuntimeError):
    """GIMP refused a palette file; ``str(e)`` is GIMP's own message."""

    def __init__(self, message: str, output: str = ""):
        super().__init__(message)
        self.output = output


class GimpRun(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    outdir: Path


def root_path() -> Path:
    return Path(os.environ.get("KMQ_GIMP_ROOT", "/var/cache/kmq-gimp3-root"))


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _unavailable(reason: str):
    if "pytest" in sys.modules:
        import pytest

        if _in_ci():
            pytest.fail(f"GIMP 3 chroot unavailable and CI=true (a skip would hide this): {reason}")
        pytest.skip(reason)
    raise GimpUnavailable(reason)


def gimp_root() -> Path:
    """The ready chroot, building or completing it with build_root.sh when needed."""
    global _root
    if _root is not None:
        return _root
    root = root_path()
    if os.geteuid() != 0:
        _unavailable("GIMP tests need root (chroot, mount namespaces); run them as root")
    if shutil.which("unshare") is None or shutil.which("chroot") is None:
        _unavailable("GIMP tests need util-linux 'unshare' and coreutils 'chroot'")
    marker = root / ".kmq-ready"
    if not marker.exists():
        print(f"[gimp_harness] building the GIMP 3 chroot in {root} (a few minutes, once)", file=sys.stderr)
    proc = subprocess.run(["bash", str(BUILD_SCRIPT), str(root)], capture_output=True, text=True)
    if proc.returncode != 0 or not marker.exists():
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        _unavailable(f"could not build the GIMP 3 chroot with {BUILD_SCRIPT} {root}:\n{tail}")
    _root = root
    return root


def probe_path() -> str:
    """Path (inside the chroot) of the compiled palette-import probe."""
    for line in (gimp_root() / ".kmq-ready").read_text().splitlines():
        if line.startswith("probe: "):
            return line[len("probe: "):].strip()
    raise GimpUnavailable("the ready marker names no probe; rerun tests/gimp/build_root.sh")


def host_python_prefixes() -> list[str]:
    """Host Python prefixes that can be bind-mounted at the same path in the chroot."""
    out = []
    for p in {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}:
        if p != "/" and not any(p == s or p.startswith(s + "/") for s in _SYSTEM_PREFIXES):
            out.append(p)
    return sorted(out)


def host_python_usable_in_root() -> bool:
    """True when the interpreter running the tests is visible at the same path in the chroot
    and, run as the plug-in runs it (no PYTHONPATH), imports this checkout's kmq_core: an
    editable install of another checkout (a git worktree sharing the main checkout's venv)
    would find no kmq_core in the chroot, where only this checkout is mounted."""
    exe = os.path.realpath(sys.executable)
    if not any(exe.startswith(p + "/") for p in host_python_prefixes()):
        return False
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    p = subprocess.run([sys.executable, "-c", "import kmq_core, os; print(os.path.dirname(os.path.dirname("
                        "os.path.realpath(kmq_core.__file__))))"], capture_output=True, text=True, env=env,
                       cwd="/")
    return p.returncode == 0 and p.stdout.strip() == os.path.realpath(REPO)


def _binds() -> list[tuple[str, str]]:
    binds = [(str(REPO), str(REPO))]
    binds += [(p, p) for p in host_python_prefixes()]
    return [(s, d) for s, d in binds if not any(d == x or d.startswith(x + "/") for x in _SYSTEM_PREFIXES)]


def new_workdir(prefix: str = "kmq-gimp-") -> tuple[Path, str]:
    """A fresh folder under the chroot's /tmp: (host path, path inside the chroot)."""
    root = gimp_root()
    (root / "tmp").mkdir(exist_ok=True)
    host = Path(tempfile.mkdtemp(prefix=prefix, dir=root / "tmp"))
    os.chmod(host, 0o755)
    _workdirs.append(host)
    return host, "/tmp/" + host.name


_workdirs: list[Path] = []


@atexit.register
def _cleanup_workdirs() -> None:
    if os.environ.get("KMQ_GIMP_KEEP"):  # keep the folders to debug a failing run
        return
    for d in _workdirs:
        shutil.rmtree(d, ignore_errors=True)


def run_in_root(
    command: list[str] | str,
    env: dict | None = None,
    stdin: str | bytes | None = None,
    timeout: float = 600,
    cwd: str = "/",
) -> subprocess.CompletedProcess:
    """Run ``command`` (argv list, or a bash command line) inside the chroot as root.

    The environment is clean (``env -i``) plus ``env``. Mounts live in a private
    namespace and vanish with the process. On timeout the whole process group is
    killed and ``subprocess.TimeoutExpired`` propagates.
    """
    root = gimp_root()
    if isinstance(command, str):
        command = ["/bin/bash", "-c", command]
    base_env = {
        "HOME": "/root",
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }
    base_env.update({k: str(v) for k, v in (env or {}).items()})
    lines = [
        "set -e",
        f"R={shlex.quote(str(root))}",
        'mount --bind /proc "$R/proc"',
        'mount --rbind /dev "$R/dev"',
        'mount --bind /sys "$R/sys"',
    ]
    for src, dst in _binds():
        lines.append(f'mkdir -p "$R"{shlex.quote(dst)}')
        lines.append(f'mount --bind -o ro {shlex.quote(src)} "$R"{shlex.quote(dst)}')
    envargs = " ".join(shlex.quote(f"{k}={v}") for k, v in base_env.items())
    lines.append(
        f'exec chroot "$R" /usr/bin/env -i {envargs} /bin/sh -c \'cd "$0" && exec "$@"\' '
        f"{shlex.quote(cwd)} " + " ".join(shlex.quote(c) for c in command)
    )
    argv = ["unshare", "--mount", "--propagation", "private", "/bin/bash", "-c", "\n".join(lines)]
    data = stdin.encode() if isinstance(stdin, str) else stdin
    p = subprocess.Popen(
        argv,
        stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = p.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate()
        raise
    return subprocess.CompletedProcess(
        argv, p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    )


def _template_profile() -> Path:
    """A GIMP profile that has been started once (plug-ins queried): copies start ~3x faster."""
    root = gimp_root()
    tpl = root / "var" / "cache" / "kmq-gimp-profile"
    if (tpl / ".kmq-ok").exists():
        return tpl
    with open(str(root) + ".profile.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (tpl / ".kmq-ok").exists():
            return tpl
        shutil.rmtree(tpl, ignore_errors=True)
        (tpl / "plug-ins").mkdir(parents=True)
        (tpl / "palettes").mkdir()
        r = run_in_root(
            GIMP_BATCH,
            env={"GIMP3_DIRECTORY": "/var/cache/kmq-gimp-profile", "HOME": "/var/cache/kmq-gimp-profile"},
            stdin="print('kmq profile ready')\n",
            timeout=300,
        )
        if r.returncode != 0:
            raise GimpUnavailable(f"GIMP did not start in the chroot (rc={r.returncode}):\n{r.stderr[-2000:]}")
        (tpl / ".kmq-ok").write_text("ok\n")
    return tpl


def _install_plugin(src: Path, plugins_dir: Path) -> None:
    src = Path(src)
    if src.is_dir():
        dst = plugins_dir / src.name
        shutil.copytree(src, dst, dirs_exist_ok=True)
        main = dst / (src.name + ".py")
    else:
        dst = plugins_dir / src.stem
        dst.mkdir(parents=True, exist_ok=True)
        main = dst / src.name
        shutil.copy2(src, main)
    if main.exists():
        main.chmod(0o755)  # GIMP silently ignores plug-ins without the run bit


class GimpWork(NamedTuple):
    host: Path  # the work folder on the host
    inside: str  # the same folder inside the chroot
    env: dict  # GIMP3_DIRECTORY, HOME, KMQ_IN, KMQ_OUT, KMQ_WORK for the chroot


def prepare_gimp_work(
    files: dict[str, bytes | Path] | None = None,
    plugins: list[Path] | tuple = (),
    env: dict | None = None,
    setup=None,
) -> GimpWork:
    """A work folder in the chroot with a fresh GIMP profile, input files and plug-ins.

    ``files`` go to ``$KMQ_IN``; ``plugins`` (a plug-in folder ``NAME/NAME.py`` or a
    single ``NAME.py``) are installed, run bit set, into the throw-away profile
    ``$GIMP3_DIRECTORY``; ``setup(profile_host_path)`` may adjust the profile (e.g.
    install with ``kmq_core.gimp_install``); results go to ``$KMQ_OUT``.
    """
    host, inside = new_workdir()
    tpl = _template_profile()
    profile = host / "profile"
    shutil.copytree(tpl, profile, symlinks=True)
    (profile / ".kmq-ok").unlink(missing_ok=True)
    for d in ("in", "out", "home"):
        (host / d).mkdir()
    for name, content in (files or {}).items():
        dst = host / "in" / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, (bytes, bytearray)):
            dst.write_bytes(content)
        else:
            shutil.copy2(content, dst)
    for p in plugins:
        _install_plugin(Path(p), profile / "plug-ins")
    if setup is not None:
        setup(profile)
    full_env = {
        "GIMP3_DIRECTORY": f"{inside}/profile",
        "HOME": f"{inside}/home",
        "XDG_RUNTIME_DIR": f"{inside}/home",
        "KMQ_IN": f"{inside}/in",
        "KMQ_OUT": f"{inside}/out",
        "KMQ_WORK": inside,
    }
    full_env.update(env or {})
    return GimpWork(host, inside, full_env)


def run_gimp_script(
    script: str,
    files: dict[str, bytes | Path] | None = None,
    plugins: list[Path] | tuple = (),
    env: dict | None = None,
    timeout: float = 600,
    setup=None,
) -> GimpRun:
    """Run ``script`` with GIMP 3's python-fu-eval batch interpreter in the chroot.

    ``files``, ``plugins``, ``env`` and ``setup`` as in :func:`prepare_gimp_work`
    (``env`` is added to GIMP's environment; plug-ins inherit it). The script writes
    results into ``$KMQ_OUT``; returns ``(returncode, stdout, stderr, outdir)`` with
    ``outdir`` the host path of ``$KMQ_OUT``. GIMP exits 0 on success and 64 when the
    script raises.
    """
    work = prepare_gimp_work(files, plugins, env, setup)
    (work.host / "script.py").write_text(script)
    r = run_in_root(GIMP_BATCH, env=work.env, stdin=script, timeout=timeout, cwd=work.inside)
    return GimpRun(r.returncode, r.stdout, r.stderr, work.host / "out")


def gimp_import_palette(path: Path | str) -> tuple[str, list[tuple[str, tuple[int, int, int]]]]:
    """Read a palette file with GIMP 3's own importer (any format it imports).

    Returns ``(palette_name, [(entry_name, (r, g, b)), ...])`` with 8-bit sRGB values.
    Raises :class:`GimpPaletteError` with GIMP's message when GIMP cannot import it.
    """
    path = Path(path)
    host, inside = new_workdir("kmq-gimp-pal-")
    shutil.copy2(path, host / path.name)
    # set the probe's variables with env(1) right before exec'ing GIMP: an LD_PRELOAD seen by
    # the shell that run_in_root starts would make the shell itself run the probe
    r = run_in_root(
        ["/usr/bin/env", f"GIMP_PALETTE_PROBE={inside}/{path.name}", f"LD_PRELOAD={probe_path()}",
         "gimp-console-3.0"],
        env={"HOME": inside},
        timeout=120,
    )
    shutil.rmtree(host, ignore_errors=True)
    name = None
    entries = []
    for line in r.stdout.splitlines():
        if line.startswith("ERROR"):
            raise GimpPaletteError(line.split(":", 1)[-1].strip(), r.stdout + r.stderr)
        if line.startswith("NAME "):
            name = line[5:]
        elif line[:1].isdigit() and "\t" in line:
            parts = line.split("\t", 3)
            r8, g8, b8 = (int(v) for v in parts[2].split())
            entries.append((parts[3] if len(parts) > 3 else "", (r8, g8, b8)))
    if r.returncode != 0 or name is None:
        raise GimpPaletteError(
            f"GIMP's palette importer failed (rc={r.returncode})", r.stdout + r.stderr
        )
    return name, entries


_LOAD_GPL_SCRIPT = r"""
import gi, json, os
gi.require_version('Gimp', '3.0'); gi.require_version('Babl', '0.1')
from gi.repository import Gimp, Babl
fmt = Babl.format("R'G'B' u8")
found = []
for p in Gimp.palettes_get_list(''):
    if not p.is_editable():        # system palettes are read-only; the profile's are editable
        continue
    entries = []
    for i, c in enumerate(p.get_colors()):
        entries.append([p.get_entry_name(i)[1], list(c.get_bytes(fmt).get_data())])
    found.append({'name': p.get_name(), 'columns': p.get_columns(), 'entries': entries})
with open(os.path.join(os.environ['KMQ_OUT'], 'palettes.json'), 'w') as f:
    json.dump(found, f)
"""


def gimp_load_gpl(path: Path | str) -> tuple[str, list[tuple[str, tuple[int, int, int]]]]:
    """Load a ``.gpl`` the way GIMP does at start-up (profile ``palettes/`` folder).

    Returns ``(palette_name, [(entry_name, (r, g, b)), ...])``. Raises
    :class:`GimpPaletteError` (with GIMP's warnings) when GIMP did not load it.
    """
    path = Path(path)

    def setup(profile: Path) -> None:
        shutil.copy2(path, profile / "palettes" / path.name)

    r = run_gimp_script(_LOAD_GPL_SCRIPT, setup=setup, timeout=180)
    out = r.outdir / "palettes.json"
    if r.returncode != 0 or not out.exists():
        raise GimpPaletteError(f"GIMP batch run failed (rc={r.returncode})", r.stdout + r.stderr)
    found = json.loads(out.read_text())
    shutil.rmtree(r.outdir.parent, ignore_errors=True)
    if not found:
        warn = [l for l in r.stderr.splitlines() if "palette" in l.lower() or "rror" in l]
        raise GimpPaletteError(
            "GIMP did not load the palette" + (": " + " | ".join(warn[-3:]) if warn else ""),
            r.stdout + r.stderr,
        )
    if len(found) > 1:
        raise GimpPaletteError(f"expected one user palette, GIMP has {[f['name'] for f in found]}")
    pal = found[0]
    return pal["name"], [(n, tuple(int(v) for v in rgb)) for n, rgb in pal["entries"]]


def read_xwd(path: Path | str):
    """An X11 ``xwd`` screenshot (24/32-bit TrueColor, as Xvfb makes) -> H×W×3 uint8 RGB."""
    import struct

    import numpy as np

    data = Path(path).read_bytes()
    f = struct.unpack(">25I", data[:100])
    header_size, width, height, byte_order, bpp, bpl, ncolors = f[0], f[4], f[5], f[7], f[11], f[12], f[19]
    if bpp != 32:
        raise ValueError(f"{path}: {bpp} bits per pixel; only 32 is supported")
    off = header_size + ncolors * 12
    px = np.frombuffer(data[off:off + bpl * height], np.uint8).reshape(height, bpl)[:, : width * 4]
    px = px.reshape(height, width, 4)
    return np.ascontiguousarray(px[..., [2, 1, 0]] if byte_order == 0 else px[..., [1, 2, 3]])
