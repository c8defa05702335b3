"""`check-alerts --since/--until` and `--baseline-since/--baseline-until` on files: each narrows the calls
its side checks, as analyze's --since/--until do, and changes the verdict where the errors are.

The sample session has no error in its first two seconds (11:07:04 to 11:07:06.040) and a burst of them
at 11:07:12.700 to 11:07:12.735 (-32602, tool errors on read_file and get_forecast)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcpobs.cli import _moment, _window, app
from mcpobs.errors import UsageError
from tests.conftest import SAMPLE

RULES = """
alerts:
  - name: errors
    condition: "error_rate > 0.05"
  - name: worse than before
    condition: "error_rate > baseline.error_rate + 0.1"
"""
QUIET = ("2026-11-23T11:07:04Z", "2026-11-23T11:07:06.040Z")
BURST = ("2026-11-23T11:07:12.700Z", "2026-11-23T11:07:12.735Z")


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


def _fired(stdout: str) -> dict[str, int]:
    """Per rule: how many of its groups fired."""
    document = json.loads(stdout)
    return {
        r["name"]: sum(v["rule"] == r["name"] and v["status"] == "fired" for v in document["verdicts"])
        for r in document["rules"]
    }


def _check(runner: CliRunner, rules: Path, *args: str) -> tuple[int, dict[str, int]]:
    result = runner.invoke(app, ["check-alerts", "--rules", str(rules), "-f", "json", *args])
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, _fired(result.stdout)


def _between(since: str, until: str, prefix: str = "") -> list[str]:
    return [f"--{prefix}since", since, f"--{prefix}until", until]


def test_the_window_changes_the_verdict(runner: CliRunner, rules: Path) -> None:
    sample = [str(SAMPLE), "--baseline", str(SAMPLE)]
    # the whole session against itself: errors fire, nothing is worse than itself
    assert _check(runner, rules, *sample) == (1, {"errors": 2, "worse than before": 0})
    # the quiet seconds alone: nothing fires
    assert _check(runner, rules, *sample, *_between(*QUIET), *_between(*QUIET, "baseline-")) == (
        0,
        {"errors": 0, "worse than before": 0},
    )
    # the burst against the quiet seconds: worse than before, on both sides
    assert _check(runner, rules, *sample, *_between(*BURST), *_between(*QUIET, "baseline-")) == (
        1,
        {"errors": 2, "worse than before": 2},
    )
    # the quiet seconds against the burst: better than before
    assert _check(runner, rules, *sample, *_between(*QUIET), *_between(*BURST, "baseline-")) == (
        0,
        {"errors": 0, "worse than before": 0},
    )


def test_the_window_selects_what_analyze_selects(runner: CliRunner, rules: Path) -> None:
    window = _between(*BURST)
    # the burst holds only tools/call: grouped by method, analyze's rows are the global scope's groups
    analyzed = runner.invoke(app, ["analyze", str(SAMPLE), "--by", "method", "-f", "json", "--view", "calls", *window])
    checked = runner.invoke(
        app, ["check-alerts", "--rules", str(rules), str(SAMPLE), "--baseline", str(SAMPLE), "-f", "json", *window]
    )
    assert analyzed.exit_code == 0, analyzed.stderr
    assert checked.exit_code == 1, checked.stderr
    rows = json.loads(analyzed.stdout)["calls"]
    assert {r["method"] for r in rows} == {"tools/call"}
    rates = {r["side"]: r["error_rate"] for r in rows}
    verdicts = json.loads(checked.stdout)["verdicts"]
    seen = {v["group"]["side"]: v["values"]["error_rate"] for v in verdicts if v["rule"] == "errors"}
    assert seen == rates == {"client": pytest.approx(0.2), "server": pytest.approx(0.6)}


def test_relative_moments_are_read_against_now(runner: CliRunner, rules: Path) -> None:
    sample = [str(SAMPLE), "--baseline", str(SAMPLE)]
    # the session is older than a day (2026-11-23): --since 1d selects none of it, --until 1d all of it
    assert _check(runner, rules, *sample, "--until", "1d", "--baseline-until", "1d") == _check(runner, rules, *sample)
    code, fired = _check(runner, rules, *sample, "--since", "1d")
    assert (code, fired) == (0, {"errors": 0, "worse than before": 0})


def test_relative_moments_share_one_now() -> None:
    now = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    assert _moment("90s", "--since", now) == now - timedelta(seconds=90)
    assert _moment("30m", "--since", now) == now - timedelta(minutes=30)
    assert _moment("7d", "--since", now) == now - timedelta(days=7)
    assert _moment("2w", "--since", now) == now - timedelta(days=14)
    assert _window("8d", "7d", now=now) == (now - timedelta(days=8), now - timedelta(days=7))
    assert _moment("2026-11-23", "--since") == datetime(2026, 11, 23)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-11-23T12:00Z", "--until", "2026-11-23T11:00Z"], "--until 2026-11-23T11:00Z is not after"),
        (["--since", "1h", "--until", "2h"], "--until 2h is not after --since 1h: the window is empty"),
        (["--since", "2026-11-23T12:00", "--until", "2026-11-23T12:00Z"], "the window is empty"),
        (["--baseline-since", "7d", "--baseline-until", "8d"], "--baseline-until 8d is not after --baseline-since 7d"),
        (["--since", "yesterday"], "--since: 'yesterday' is neither an ISO 8601 date or time"),
        (["--baseline-until", "1 h"], "--baseline-until: '1 h' is neither"),
    ],
)
def test_a_bad_window_is_one_line_with_exit_2(runner: CliRunner, rules: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["check-alerts", "--rules", str(rules), str(SAMPLE), "--baseline", str(SAMPLE), *args])
    assert result.exit_code == 2, result.stdout
    [line] = result.stderr.strip().splitlines()
    assert message in line


def test_a_baseline_window_without_a_baseline_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text('alerts:\n  - name: errors\n    condition: "error_rate > 0.05"\n')
    result = runner.invoke(app, ["check-alerts", "--rules", str(rules), str(SAMPLE), "--baseline-since", "1h"])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "mcpobs: error: --baseline-since narrows the baseline: give the baseline with --baseline"
    )


def test_analyze_refuses_an_empty_window_too(runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", str(SAMPLE), "--since", "2026-11-24", "--until", "2026-11-23"])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "--until 2026-11-23 is not after --since 2026-11-24" in line
    with pytest.raises(UsageError):
        _window("2026-11-24", "2026-11-23")


def test_report_checks_its_rules_over_the_calls_it_shows(runner: CliRunner, tmp_path: Path) -> None:
    # the page of the quiet seconds said "2 alerts fired": its rules were checked on the whole file
    rules = tmp_path / "rules.yaml"
    rules.write_text('alerts:\n  - name: errors\n    condition: "error_rate > 0.05"\n')
    page = tmp_path / "report.html"
    args = ["report", str(SAMPLE), "--rules", str(rules), "--html", str(page)]
    quiet = runner.invoke(app, [*args, *_between(*QUIET)])
    burst = runner.invoke(app, [*args, *_between(*BURST)])
    assert quiet.exit_code == burst.exit_code == 0, quiet.stderr
    assert quiet.stderr.strip().endswith("22 calls, 1 trace waterfalls, 0 alerts fired"), quiet.stderr
    assert burst.stderr.strip().endswith("10 calls, 2 trace waterfalls, 2 alerts fired"), burst.stderr
