"""What people see at any width: stderr lines whole when piped, tables that keep every column."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import request, span, write_lines


def test_stderr_lines_are_never_wrapped_when_not_a_terminal(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a file name longer than the width rich would wrap at, piped: one line each, the name whole
    monkeypatch.setenv("COLUMNS", "80")
    deep = tmp_path / ("a-directory-with-a-long-name-" * 3) / "traces"
    deep.mkdir(parents=True)
    bad = write_lines(deep / "bad.jsonl", [request([span()]), "[1, 2]"])
    result = runner.invoke(app, ["analyze", str(bad), "--skip-invalid", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"mcpobs: skipped {bad}:2: expected a JSON object, got a list",
        "mcpobs: loaded 1 spans from 1 file, 1 invalid lines skipped",
    ]
