"""Exit status 0: every output format of analyze, checked against golden files.

Regenerate the golden files after an intended change with
``MCPOBS_UPDATE_GOLDENS=1 pytest tests/test_cli_ok.py`` and review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import ROOT, SAMPLE, request, span, write_lines

GOLDEN = Path(__file__).parent / "golden"
SEMCONV = "data/dialects/semconv.jsonl"  # relative, so file names in the output are the same everywhere


def _matches_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("MCPOBS_UPDATE_GOLDENS"):
        path.write_text(text)
    assert text == path.read_text()


pytestmark = pytest.mark.usefixtures("in_tests_dir")


@pytest.mark.parametrize(
    ("args", "golden"),
    [
        ([], "analyze.table.txt"),
        (["--format", "markdown"], "analyze.md"),
        (["--format", "json"], "analyze.json"),
        (["--format", "csv"], "analyze.calls.csv"),
        (["--format", "csv", "--view", "errors", "--by", "server,method"], "analyze.errors.csv"),
        (["--format", "csv", "--view", "sessions", "--by", "session"], "analyze.sessions.csv"),
        (["--by", "method", "--side", "server", "--view", "calls"], "analyze.method.server.txt"),
    ],
)
def test_analyze_output_formats(runner: CliRunner, args: list[str], golden: str) -> None:
    result = runner.invoke(app, ["analyze", SEMCONV, *args])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == "mcpobs: loaded 46 spans from 1 file\n"
    _matches_golden(golden, result.stdout)


def test_csv_numbers_carry_no_float_noise_and_json_keeps_full_precision(runner: CliRunner) -> None:
    # a percentile interpolated in floating point: 95.49999999999999 in JSON reads 95.5 in CSV
    document = json.loads(runner.invoke(app, ["analyze", SEMCONV, "--format", "json"]).stdout)
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["analyze", SEMCONV, "--format", "csv"]).stdout)))
    assert 95.49999999999999 in (record["latency_p95_ms"] for record in document["calls"])
    assert len(rows) == len(document["calls"])
    for row, record in zip(rows, document["calls"], strict=True):
        for name, value in record.items():
            if isinstance(value, float):
                assert row[name] == repr(float(f"{value:.10g}")), (name, value)
    assert "95.5" in (row["latency_p95_ms"] for row in rows)


def test_json_output_is_one_document_with_every_section(runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", SEMCONV, "--format", "json"])
    document = json.loads(result.stdout)
    assert set(document) == {"summary", "query", "calls", "errors", "sessions", "traces"}
    assert document["summary"]["spans"] == 46
    assert document["summary"]["sources"] == [SEMCONV]


def test_output_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    result = runner.invoke(app, ["analyze", SEMCONV, "-f", "markdown", "-o", str(target)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert target.read_text() == (GOLDEN / "analyze.md").read_text()
    assert f"wrote {target}" in result.stderr


def test_db_persists_and_adds(runner: CliRunner, tmp_path: Path) -> None:
    db = str(tmp_path / "obs.duckdb")
    assert runner.invoke(app, ["load", SEMCONV, "--db", db]).exit_code == 0
    again = runner.invoke(app, ["load", SEMCONV, "--db", db])
    assert again.stderr == (
        f"mcpobs: {SEMCONV}: already loaded (unchanged), skipped\n"
        "mcpobs: loaded 0 spans from 1 file, 1 file already loaded, skipped\n"
    )
    copied = tmp_path / "copy.jsonl"
    copied.write_bytes(Path(SEMCONV).read_bytes())
    copy = runner.invoke(app, ["load", str(copied), "--db", db])
    assert copy.stderr.splitlines()[0] == f"mcpobs: {copied}: already loaded (the same content as {SEMCONV}), skipped"
    more = runner.invoke(app, ["analyze", str(SAMPLE), "--db", db, "--format", "json"])
    assert more.exit_code == 0, more.stderr
    assert json.loads(more.stdout)["summary"]["spans"] == 46 + 116
    stored = runner.invoke(app, ["analyze", "--db", db, "--format", "json"])
    assert json.loads(stored.stdout)["summary"]["spans"] == 46 + 116


def test_export_parquet(runner: CliRunner, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    result = runner.invoke(app, ["export", SEMCONV, "--parquet", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    written = result.stdout.split()
    assert [Path(p).name for p in written] == ["spans.parquet", "sources.parquet", "mcp_calls.parquet"]
    assert pq.read_table(written[0]).num_rows == 46
    assert pq.read_table(written[2]).num_rows == 44


def test_help_has_examples_and_exit_codes(runner: CliRunner) -> None:
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    assert "Example: mcpobs analyze" in top.stdout
    for command in ("analyze", "load", "export"):
        result = runner.invoke(app, [command, "-h"])
        assert result.exit_code == 0
        assert f"mcpobs {command}" in result.stdout
        assert "3 unreadable or malformed input" in result.stdout


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("mcpobs ")


def test_the_summary_says_how_many_spans_end_before_they_start(runner: CliRunner, tmp_path: Path) -> None:
    spans = [span(span_id=f"{i:016x}", duration_ns=d) for i, d in ((1, 5_000_000), (2, -5_000_000))]
    path = write_lines(tmp_path / "skewed.jsonl", [request(spans)])
    result = runner.invoke(app, ["load", str(path), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 0
    assert result.stderr == (
        f"mcpobs: {path}: 1 span ends before it starts (left out of latency figures)\n"
        "mcpobs: loaded 2 spans from 1 file, 1 span ends before it starts (left out of latency figures)\n"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "sample_traces/notes_session.jsonl"],
        ["analyze", "sample_traces/notes_session.jsonl", "--format", "json"],
        ["report", "sample_traces/notes_session.jsonl", "--html", "-"],
        ["cost", "sample_traces/notes_session.jsonl"],
        ["convert", "sample_traces/notes_session.jsonl", "--to", "otlp"],
        ["check-alerts", "sample_traces/notes_session.jsonl", "-r", "sample_traces/alerts.yaml"],
    ],
)
def test_a_stdout_closed_by_its_reader_ends_quietly_with_141_whatever_the_command(args: list[str]) -> None:
    # `mcpobs report --html - | head` exited 1, which says an alert fired; a closed pipe is no verdict,
    # and never 0 either: check-alerts | head must not pass a gate whose alerts it could not print
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader gone before the first byte: every write to stdout fails
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mcpobs", *args],
            cwd=ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141, result.stderr
    assert "Traceback" not in result.stderr
    assert "Error" not in result.stderr
