"""`mcpobs cost` on a ClickHouse source as the README shows it, with no --view: the sections ClickHouse has,
the same as on the files, decisions included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("chdb")

from conftest import Exported
from test_cli_clickhouse import _close

from mcpobs.cli import app
from tests.conftest import ROOT

COST_SAMPLE = ROOT / "sample_traces" / "agent_cost_session.jsonl"


@pytest.fixture(scope="module")
def source(chdb_dir: Path, exported: Exported) -> list[str]:
    return [f"chdb:{chdb_dir}", "--table", exported("agent_cost_session", [COST_SAMPLE])]


def _document(text: str) -> dict[str, object]:
    document = json.loads(text)
    document["summary"].pop("sources")
    return dict(document)


@pytest.mark.parametrize("command", [["cost"], ["analyze", "--cost", "--view", "cost,models"], ["analyze", "--cost"]])
def test_cost_without_view_is_the_files_on_clickhouse(runner: CliRunner, source: list[str], command: list[str]) -> None:
    table = runner.invoke(app, [*command, *source, "--format", "json"])
    assert table.exit_code == 0, table.stderr
    files = runner.invoke(app, [*command, str(COST_SAMPLE), "--format", "json"])
    expected = _document(files.stdout)
    if "--view" not in command:
        assert "decisions" in expected
    got = _document(table.stdout)
    for section in ("traces",):  # the byte sizes ClickHouse leaves empty (README)
        for row in [*got.get(section, []), *expected.get(section, [])]:  # type: ignore[attr-defined]
            for size in ("size_p50_bytes", "size_p95_bytes", "size_max_bytes"):
                row.pop(size)
    assert _close(got, expected)  # the latencies within a quantile's rounding, as there
    # what the files' run says, after the line that says what was read
    assert table.stderr.splitlines()[1:] == files.stderr.splitlines()[1:]


def test_files_checked_against_a_clickhouse_baseline_in_a_named_table(
    runner: CliRunner, source: list[str], tmp_path: Path
) -> None:
    """A pull request's trace files against production's table: --table names the baseline's table."""
    rules = tmp_path / "rules.yaml"
    rules.write_text('alerts:\n  - name: slower\n    condition: "latency_p95_ms > baseline.latency_p95_ms * 2"\n')
    args = ["check-alerts", "--rules", str(rules), str(COST_SAMPLE), "-f", "json", "--baseline"]
    files = runner.invoke(app, [*args, str(COST_SAMPLE)])
    table = runner.invoke(app, [*args, *source])
    assert table.exit_code == files.exit_code == 0, table.stderr
    assert _close(json.loads(table.stdout)["verdicts"], json.loads(files.stdout)["verdicts"])
