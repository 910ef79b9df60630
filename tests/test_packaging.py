"""The package as pip builds it: what the wheel holds and what it declares.

Builds the real wheel from this checkout (``pip wheel --no-deps``) once, then reads its
file list and METADATA: every module kmq imports is declared, the library installs
without the app's packages, the app and its static files ship, one version.
"""

from __future__ import annotations

import ast
import email
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import kmq_core

REPO = Path(__file__).resolve().parents[1]
#: import name -> the distribution that provides it
DISTRIBUTIONS = {"numpy": "numpy", "cv2": "opencv-python-headless", "PIL": "pillow", "skimage": "scikit-image",
                 "scipy": "scipy", "threadpoolctl": "threadpoolctl", "numba": "numba", "oxipng": "pyoxipng",
                 "streamlit": "streamlit", "dask": "dask", "distributed": "dask", "sklearn": "scikit-learn",
                 "altair": "altair", "pandas": "pandas"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[list[str], email.message.Message, str]:
    out = tmp_path_factory.mktemp("wheel")
    # from a copy without build leftovers: setuptools reuses ./build, whose old files would
    # ship in the wheel whatever pyproject.toml says now
    src = tmp_path_factory.mktemp("src") / "kmq"
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache"))
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                        str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    (whl,) = out.glob("kmq-*.whl")
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        meta = email.message_from_bytes(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))))
        entry_points = z.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    return names, meta, entry_points


def _requires(meta) -> dict[str | None, set[str]]:
    """extra (None: the base install) -> distribution names."""
    out: dict[str | None, set[str]] = {}
    for line in meta.get_all("Requires-Dist") or []:
        name = re.match(r"[A-Za-z0-9_.-]+", line).group(0).lower()
        extra = re.search(r'extra == "([^"]+)"', line)
        out.setdefault(extra.group(1) if extra else None, set()).add(name)
    return out


def _third_party_imports(folder: Path) -> set[str]:
    found = set()
    for path in folder.rglob("*.py"):
        if path.is_symlink():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("kmq_core", "kmq_app")}


def test_every_import_of_the_library_is_declared(wheel):
    _, meta, _ = wheel
    req = _requires(meta)
    imports = _third_party_imports(REPO / "kmq_core")
    unknown = imports - set(DISTRIBUTIONS)
    assert not unknown, f"add these to DISTRIBUTIONS and pyproject: {unknown}"
    base = req[None]
    for module in imports - {"dask", "distributed"}:  # Dask: the optional cluster runner
        assert DISTRIBUTIONS[module] in base, module
    assert "dask" in req["dask"]


def test_the_library_installs_without_the_app(wheel):
    _, meta, _ = wheel
    req = _requires(meta)
    assert "streamlit" not in req[None] and "scikit-learn" not in req[None]
    app_imports = _third_party_imports(REPO / "kmq_app") | _third_party_imports_of(REPO / "streamlit_app.py")
    for module in app_imports:
        dist = DISTRIBUTIONS[module]
        assert dist in req[None] | req["app"], module


def _third_party_imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
    return {m for m in mods if m not in sys.stdlib_module_names and m not in ("kmq_core", "kmq_app")}


def test_the_app_the_plugin_and_their_files_ship(wheel):
    names, _, _ = wheel
    for needed in ("kmq_app/streamlit_app.py", "kmq_app/static/viewer.js", "kmq_app/static/viewer.css",
                   "kmq_core/gimp/kmq-quantize.py", "kmq_core/data/colour_names.tsv", "kmq_core/batch/__init__.py"
                   if (REPO / "kmq_core" / "batch").is_dir() else "kmq_core/batch.py"):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]


def test_one_version_and_an_spdx_licence(wheel):
    _, meta, _ = wheel
    assert meta["Version"] == kmq_core.__version__
    assert meta["License-Expression"] == "MIT" and "License" not in meta
    p = subprocess.run([sys.executable, "-m", "kmq_core.cli", "--version"], capture_output=True, text=True)
    assert p.stdout.strip() == f"kmq {kmq_core.__version__}"
    text = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and not re.search(r'^version\s*=\s*"', text, re.M)


def test_both_commands_are_installed(wheel):
    """``kmq`` and ``kmq-pngquant`` (pngquant 3's command line, README "Switching from pngquant")
    are console scripts whose functions exist."""
    import configparser
    import importlib

    _, _, text = wheel
    ep = configparser.ConfigParser()
    ep.read_string(text)
    scripts = dict(ep["console_scripts"])
    assert scripts == {"kmq": "kmq_core.cli:run", "kmq-pngquant": "kmq_core.pngquant_cli:run"}
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func))


def test_kmq_app_finds_the_script():
    from kmq_core.cli import app_script

    assert app_script().read_bytes() == (REPO / "streamlit_app.py").read_bytes()
    assert (REPO / "kmq_app" / "streamlit_app.py").resolve() == (REPO / "streamlit_app.py").resolve()


def test_import_kmq_core_loads_no_numpy():
    code = ("import sys, kmq_core; print(sorted(m for m in ('numpy', 'cv2', 'scipy', 'PIL', 'skimage') "
            "if m in sys.modules)); kmq_core.quantize; print('numpy' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["[]", "True"]  # nothing at import; the pipeline on first use
