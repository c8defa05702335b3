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


@pytest.mark.parametrize("command", ["load", "analyze"])
@pytest.mark.parametrize("content", [b"", b'{"resourceSpans": []}\n', b"SQLite format 3\x00" + bytes(100)])
def test_a_db_that_is_not_a_duckdb_database_is_refused_and_left_as_it_was(
    runner: CliRunner, tmp_path: Path, command: str, content: bytes
) -> None:
    # the traces named as the database by mistake: DuckDB opened such a file, the load said
    # "loaded N spans", and the spans were nowhere
    traces = write_lines(tmp_path / "traces.jsonl", [request([span()])])
    db = tmp_path / "store.jsonl"
    db.write_bytes(content)
    result = runner.invoke(app, [command, str(traces), "--db", str(db)])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith(f"mcpobs: error: {db}: ")
    assert "not a DuckDB database" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert db.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.jsonl", "traces.jsonl"]  # no .wal beside it
