"""Skip a test when a tool it needs is missing, except in CI, where that fails.

Project rule: on a developer's machine a missing browser (or GIMP, ...) is a
skip with the reason; with ``CI=true`` a skip would hide that the test never
ran, so it is a failure instead.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """True when the environment says this is a CI run (``CI=true``, ``1`` or ``yes``)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(reason: str) -> None:
    """Skip the current test for ``reason``, or fail it when running in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing tool is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def require_file(path: str, what: str) -> str:
    """``path`` if it exists as an executable, else :func:`missing`."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        missing(f"{what} not found at {path}")
    return path
