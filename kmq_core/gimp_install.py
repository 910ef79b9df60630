"""Install kmq's GIMP 3 plug-in into the user's GIMP profile.

``kmq gimp install [--dir DIR] [--python PY]`` calls :func:`install`;
``kmq gimp uninstall [--dir DIR]`` calls :func:`uninstall`.

The plug-in goes to ``PLUGINS/kmq-quantize/kmq-quantize.py`` (GIMP 3 wants the
folder and the file to share the name, and the file to be executable), next to
a ``kmq-quantize.json`` recording

- ``python``: the interpreter of this kmq environment (default
  ``sys.executable``), which the plug-in runs as ``python -m kmq_core.gimp_bridge``
  when GIMP's own Python cannot import kmq_core;
- ``kmq_core_path``: the folder holding this ``kmq_core`` package, which the
  plug-in first tries to import in GIMP's Python.

The plug-in file is read from the repository checkout
(``plugins/gimp/kmq-quantize/kmq-quantize.py``) when there is one, else from the
copy shipped as package data (``kmq_core/gimp/kmq-quantize.py``, a link to the
same file in the repository, stored as a file in the wheel).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

from . import __version__
from .errors import KmqError

PLUGIN_NAME = "kmq-quantize"
CONFIG_NAME = "kmq-quantize.json"
_PKG_DIR = Path(__file__).resolve().parent
REPO_PLUGIN = _PKG_DIR.parent / "plugins" / "gimp" / PLUGIN_NAME / f"{PLUGIN_NAME}.py"
PACKAGED_PLUGIN = _PKG_DIR / "gimp" / f"{PLUGIN_NAME}.py"


def plugin_source() -> Path:
    """The plug-in file to install (repository checkout first, then package data)."""
    for p in (REPO_PLUGIN, PACKAGED_PLUGIN):
        if p.is_file():
            return p
    raise KmqError(f"the GIMP plug-in file is missing from this kmq installation "
                   f"(looked for {REPO_PLUGIN} and {PACKAGED_PLUGIN}); reinstall kmq")


def gimp_directory() -> Path:
    """GIMP 3's per-user folder: ``$GIMP3_DIRECTORY`` or the platform default."""
    env = os.environ.get("GIMP3_DIRECTORY")
    if env:
        return Path(env).expanduser()
    home = Path.home()
    if sys.platform.startswith("win"):
        base = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
        return base / "GIMP" / "3.0"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "GIMP" / "3.0"
    base = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return base / "GIMP" / "3.0"


def default_plugins_dir() -> Path:
    return gimp_directory() / "plug-ins"


def install(plugins_dir: Path | str | None = None, python: str | None = None) -> Path:
    """Copy the plug-in into ``plugins_dir`` (default: GIMP 3's user plug-ins folder).

    Returns the path of the installed plug-in file. ``python`` is the interpreter the
    plug-in runs the core with when it cannot import it (default: this Python).
    Raises :class:`KmqError` with a one-line message on failure.
    """
    src = plugin_source()
    base = Path(plugins_dir).expanduser() if plugins_dir is not None else default_plugins_dir()
    py = str(python) if python else sys.executable
    if not py:
        raise KmqError("cannot tell which Python runs kmq: name the interpreter (python=...)")
    if python and not (Path(py).is_file() or shutil.which(py)):
        raise KmqError(f"{py}: no such interpreter")
    target_dir = base / PLUGIN_NAME
    target = target_dir / f"{PLUGIN_NAME}.py"
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(src, tmp)
        mode = os.stat(tmp).st_mode
        os.chmod(tmp, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(tmp, target)
        config = {
            "python": os.path.abspath(py) if os.path.sep in py else py,
            "kmq_core_path": str(_PKG_DIR.parent),
            "kmq_version": __version__,
        }
        cfg = target_dir / CONFIG_NAME
        cfg_tmp = cfg.with_name(cfg.name + ".part")
        cfg_tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        os.replace(cfg_tmp, cfg)
    except OSError as e:
        raise KmqError(f"cannot install the GIMP plug-in into {target_dir}: {e.strerror or e}") from None
    return target


def uninstall(plugins_dir: Path | str | None = None) -> bool:
    """Remove the plug-in folder; True if something was removed."""
    base = Path(plugins_dir).expanduser() if plugins_dir is not None else default_plugins_dir()
    target_dir = base / PLUGIN_NAME
    if not target_dir.exists():
        return False
    if not (target_dir / f"{PLUGIN_NAME}.py").exists() and not (target_dir / CONFIG_NAME).exists():
        raise KmqError(f"{target_dir} does not look like kmq's plug-in; not removing it")
    try:
        shutil.rmtree(target_dir)
    except OSError as e:
        raise KmqError(f"cannot remove {target_dir}: {e.strerror or e}") from None
    return True
