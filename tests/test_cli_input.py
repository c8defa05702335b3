"""Exit status 3: input that cannot be read, a database that is not there, memory that runs out."""

from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.mark.parametrize("command", ["load", "analyze"])
@pytest.mark.parametrize(
    "tables",
    [
        ["CREATE TABLE spans (my_col VARCHAR)", "INSERT INTO spans VALUES ('precious')"],  # clashes with ours
        ["CREATE TABLE mine (x INTEGER)"],  # no clash: mcpobs' tables went in beside it
    ],
)
def test_a_duckdb_database_not_made_by_mcpobs_is_refused_and_left_byte_identical(
    runner: CliRunner, tmp_path: Path, command: str, tables: list[str]
) -> None:
    import duckdb

    traces = write_lines(tmp_path / "traces.jsonl", [request([span()])])
    db = tmp_path / "mine.duckdb"
    con = duckdb.connect(str(db))
    for statement in tables:
        con.execute(statement)
    con.close()
    before = db.read_bytes()
    result = runner.invoke(app, [command, str(traces), "--db", str(db)])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"mcpobs: error: {db}: a DuckDB database not made by mcpobs (it has no mcpobs_meta table); left as it is\n"
    )
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.duckdb", "traces.jsonl"]


def test_an_empty_duckdb_database_is_adopted(runner: CliRunner, tmp_path: Path) -> None:
    # one with no tables at all holds nothing of anyone's: `load` makes it an mcpobs store
    import duckdb

    traces = write_lines(tmp_path / "traces.jsonl", [request([span()])])
    db = tmp_path / "new.duckdb"
    duckdb.connect(str(db)).close()
    result = runner.invoke(app, ["load", str(traces), "--db", str(db)])
    assert result.exit_code == 0, result.stderr
    assert runner.invoke(app, ["analyze", "--db", str(db), "--format", "json"]).exit_code == 0


@pytest.mark.parametrize("command", ["load", "analyze"])
def test_a_db_that_is_not_a_regular_file_is_refused_without_opening_it(tmp_path: Path, command: str) -> None:
    # a FIFO: opening it to read the magic bytes blocked until a writer came, forever
    traces = write_lines(tmp_path / "traces.jsonl", [request([span()])])
    fifo = tmp_path / "fifo.duckdb"
    os.mkfifo(fifo)
    directory = tmp_path / "dir.duckdb"
    directory.mkdir()
    link = tmp_path / "link.duckdb"
    link.symlink_to(fifo)
    for db in (fifo, directory, link):
        # a process of its own, so that a hang is a failure and not a stuck test run
        result = subprocess.run(
            [sys.executable, "-m", "mcpobs", command, str(traces), "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 3, (db, result.stderr)
        assert result.stderr == f"mcpobs: error: {db}: not a regular file; --db names a DuckDB database file\n"


@pytest.mark.parametrize("command", ["load", "analyze"])
@pytest.mark.parametrize("target", ["gone.duckdb", "no-such-dir/gone.duckdb"])
def test_a_db_that_is_a_symlink_to_nothing_is_refused_and_nothing_is_created(
    runner: CliRunner, tmp_path: Path, command: str, target: str
) -> None:
    # a stale link: the database was made wherever it pointed, out of sight, and the load said "loaded"
    traces = write_lines(tmp_path / "traces.jsonl", [request([span()])])
    link = tmp_path / "obs.duckdb"
    link.symlink_to(tmp_path / target)
    result = runner.invoke(app, [command, str(traces), "--db", str(link)])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"mcpobs: error: {link}: a symlink to {tmp_path / target}, which does not exist; "
        "name the database file itself, or remove the link\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["obs.duckdb", "traces.jsonl"]
    assert link.is_symlink()


def test_a_db_that_is_a_symlink_to_an_mcpobs_database_is_read_and_added_to(runner: CliRunner, tmp_path: Path) -> None:
    traces = write_lines(tmp_path / "traces.jsonl", [request([span()])])
    real = tmp_path / "real.duckdb"
    assert runner.invoke(app, ["load", str(traces), "--db", str(real)]).exit_code == 0
    link = tmp_path / "obs.duckdb"
    link.symlink_to(real)
    more = write_lines(tmp_path / "more.jsonl", [request([span(span_id="00000000000000aa")])])
    result = runner.invoke(app, ["load", str(more), "--db", str(link)])
    assert result.exit_code == 0, result.stderr
    assert link.is_symlink()
    assert runner.invoke(app, ["analyze", "--db", str(real), "--format", "json"]).exit_code == 0
    import duckdb

    with duckdb.connect(str(real), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM sources").fetchone() == (2,)
