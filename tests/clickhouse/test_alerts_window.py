"""`check-alerts --since/--until --baseline-since/--baseline-until` on a chDB `otel_traces` table: each
side's window is its own scan (the table compared with itself is two windows of it), and the verdicts are
the files' over the same windows.

The sample session has no error in its first two seconds and a burst of them at 11:07:12.700 to .735
(tests/test_cli_alerts_window.py)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("chdb")

from conftest import Exported

from mcpobs.analysis.sql import ns
from mcpobs.cli import app
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import SAMPLE

RULES = """
alerts:
  - name: errors
    condition: "error_rate > 0.05"
  - name: worse than before
    condition: "error_rate > baseline.error_rate + 0.1"
    scope: tool
"""
QUIET = ["--since", "2026-11-23T11:07:04Z", "--until", "2026-11-23T11:07:06.040Z"]
BURST = ["--since", "2026-11-23T11:07:12.700Z", "--until", "2026-11-23T11:07:12.735Z"]


def _baseline(window: list[str]) -> list[str]:
    return [f"--baseline-{option[2:]}" if option.startswith("--") else option for option in window]


@pytest.fixture(scope="module")
def table(chdb_dir: Path, exported: Exported) -> list[str]:
    """The sample session in a chDB table as the Collector's exporter writes it: the source arguments."""
    return [f"chdb:{chdb_dir}", "--table", exported("sample", [SAMPLE])]


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


def _verdicts(stdout: str) -> list[tuple[str, dict[str, str], str]]:
    return [(v["rule"], v["group"], v["status"]) for v in json.loads(stdout)["verdicts"]]


@pytest.mark.parametrize(
    ("current", "before", "exit_code"),
    [(QUIET, QUIET, 0), (BURST, QUIET, 1), (QUIET, BURST, 0), ([], [], 1)],
    ids=["quiet-vs-quiet", "burst-vs-quiet", "quiet-vs-burst", "whole-vs-whole"],
)
def test_the_windows_give_the_files_verdict(
    runner: CliRunner, table: list[str], rules: Path, current: list[str], before: list[str], exit_code: int
) -> None:
    windows = [*current, *_baseline(before)]
    args = ["check-alerts", "--rules", str(rules), "-f", "json", *windows]
    on_table = runner.invoke(app, [*args, *table, "--baseline", table[0]])
    on_files = runner.invoke(app, [*args, str(SAMPLE), "--baseline", str(SAMPLE)])
    assert on_table.exit_code == on_files.exit_code == exit_code, on_table.stderr
    assert _verdicts(on_table.stdout) == _verdicts(on_files.stdout)


def test_the_table_against_itself_fires_nothing_worse_two_windows_of_it_do(
    runner: CliRunner, table: list[str], rules: Path
) -> None:
    args = ["check-alerts", "--rules", str(rules), "-f", "json", *table, "--baseline", table[0]]
    itself = runner.invoke(app, args)
    windowed = runner.invoke(app, [*args, *BURST, *_baseline(QUIET)])
    assert itself.exit_code == windowed.exit_code == 1, windowed.stderr

    def worse(stdout: str) -> list[tuple[str, str, str]]:
        return sorted(
            (v["group"]["side"], v["group"]["tool"], v["status"])
            for v in json.loads(stdout)["verdicts"]
            if v["rule"] == "worse than before" and v["status"] != "ok"
        )

    assert worse(itself.stdout) == []
    # read_file failed on the server in the burst, never in the quiet seconds; run_query and get_forecast
    # were not called in them: no baseline, no verdict
    assert worse(windowed.stdout) == [
        ("client", "get_forecast", "no verdict"),
        ("client", "run_query", "no verdict"),
        ("server", "get_forecast", "no verdict"),
        ("server", "read_file", "fired"),
        ("server", "run_query", "no verdict"),
    ]


def test_each_side_scans_its_own_window(runner: CliRunner, table: list[str], rules: Path) -> None:
    result = runner.invoke(
        app, ["check-alerts", "--rules", str(rules), *table, "--baseline", table[0], *BURST, *_baseline(QUIET)]
    )
    assert result.exit_code == 1, result.stderr
    read = [line for line in result.stderr.splitlines() if " read " in line]
    pattern = r"mcpobs: (baseline: )?read (\d+) spans of set_sample\.otel_traces \(from (\S+) to (\S+)\)"
    found = [re.fullmatch(pattern, line) for line in read]
    assert all(found), read
    (current, before) = [(m[1], int(m[2]), m[3], m[4]) for m in found if m]
    assert current[0] is None
    assert current[2:] == ("2026-11-23T11:07:12Z", "2026-11-23T11:07:12Z")
    assert before[0] == "baseline: "
    assert before[2:] == ("2026-11-23T11:07:04Z", "2026-11-23T11:07:06Z")
    # only the window's spans leave the table: as many as the sample has starting in it
    assert (current[1], before[1]) == (_spans_in(BURST), _spans_in(QUIET))
    assert 0 < current[1] < before[1] < 116


def _spans_in(window: list[str]) -> int:
    """How many of the sample's spans start in the window, counted on the files' store."""
    since, until = (ns(datetime.fromisoformat(window[i])) for i in (1, 3))
    with Store() as store:
        load(store, [str(SAMPLE)])
        [(count,)] = store.con.execute(
            "SELECT count(*) FROM spans WHERE start_ns >= $since AND start_ns < $until",
            {"since": since, "until": until},
        ).fetchall()
    return int(count)
