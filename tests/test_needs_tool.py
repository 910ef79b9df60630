"""The skip-or-fail rule for missing tools (tests/needs_tool.py)."""

from __future__ import annotations

import pytest

import needs_tool


@pytest.mark.parametrize("value", ["", "false", "0"])
def test_missing_tool_skips_outside_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.skip.Exception, match="no such tool"):
        needs_tool.missing("no such tool")


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes"])
def test_missing_tool_fails_in_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="no such tool.*CI=true"):
        needs_tool.missing("no such tool")


def test_require_file(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    assert needs_tool.require_file("/bin/sh", "sh") == "/bin/sh"
    plain = tmp_path / "not-executable"
    plain.write_text("")
    for path in (str(plain), str(tmp_path / "absent")):
        with pytest.raises(pytest.skip.Exception):
            needs_tool.require_file(path, "tool")
