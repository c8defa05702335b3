"""Exit status 3: input that cannot be read, a database that is not there, memory that runs out."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import ROOT, request, span, write_lines


def test_a_bad_line_is_one_line_on_stderr(runner: CliRunner, tmp_path: Path) -> None:
    bad = write_lines(tmp_path / "bad.jsonl", [request([span()]), "[1, 2]"])
    result = runner.invoke(app, ["analyze", str(bad)])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == f"mcpobs: error: {bad}:2: expected a JSON object, got a list\n"


def test_running_out_of_memory_says_so_in_one_line(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from generate import generate  # type: ignore[import-not-found]

    path = tmp_path / "big.jsonl"
    with path.open("w") as out:
        generate(out, 20_000, 512, 7)
    result = runner.invoke(app, ["analyze", str(path), "--memory-limit", "4MB"])
    assert result.exit_code == 3
    assert result.stderr.startswith(f"mcpobs: error: {path}: out of memory loading it: ")
    assert result.stderr.rstrip().endswith("raise --memory-limit")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["analyze", "export"])
def test_a_missing_database_is_not_created(runner: CliRunner, tmp_path: Path, command: str) -> None:
    db = tmp_path / "typo.duckdb"
    extra = ["--parquet", str(tmp_path / "out")] if command == "export" else []
    result = runner.invoke(app, [command, "--db", str(db), *extra])
    assert result.exit_code == 3
    assert result.stderr == f"mcpobs: error: {db}: no such database file\n"
    assert not db.exists()
