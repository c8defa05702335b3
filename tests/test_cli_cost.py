"""mcpobs cost and analyze --cost: every output format on the bundled agent session (golden files),
and what they say about prices they cannot use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.test_cli_ok import _matches_golden

AGENT = "../sample_traces/agent_cost_session.jsonl"  # relative: file names in the output are the same everywhere
PRICES = "../sample_traces/prices.yaml"
LOADED = "mcpobs: loaded 70 spans from 1 file\n"


pytestmark = pytest.mark.usefixtures("in_tests_dir")


@pytest.mark.parametrize(
    ("args", "golden"),
    [
        (["--side", "client"], "cost.table.txt"),
        (["--format", "markdown"], "cost.md"),
        (["--format", "json", "--value-attr", "task.value"], "cost.json"),
        (["--format", "csv", "--view", "call_cost", "--by", "server,tool"], "cost.call_cost.csv"),
        (["--by", "model", "--side", "client", "--view", "call_cost"], "cost.by_model.txt"),
    ],
)
def test_cost_output_formats(runner: CliRunner, args: list[str], golden: str) -> None:
    result = runner.invoke(app, ["cost", AGENT, "--prices", PRICES, *args])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == LOADED
    _matches_golden(golden, result.stdout)


def test_json_money_is_exact_decimal_text(runner: CliRunner) -> None:
    result = runner.invoke(app, ["cost", AGENT, "--prices", PRICES, "--format", "json", "--side", "client"])
    document = json.loads(result.stdout)
    assert set(document) == {
        "summary",
        "query",
        "cost",
        "call_cost",
        "models",
        "decisions",
        "costly_sessions",
        "costly_traces",
    }
    (summary,) = document["cost"]
    assert isinstance(summary["total_cost"], str)
    assert float(summary["total_cost"]) > 0


def test_without_a_price_for_a_model_the_report_says_so(runner: CliRunner) -> None:
    result = runner.invoke(app, ["cost", AGENT, "--view", "models", "--format", "csv"])
    assert result.exit_code == 0
    assert result.stderr == LOADED + (
        "mcpobs: warning: provider 'acme' (2 LLM calls) is unknown to genai-prices (as 'acme'): its models "
        "are looked up by name alone\n"
        "mcpobs: warning: no price for model 'acme-local-7b' of 'acme' (2 LLM calls): not counted in costs; "
        "give it a price with --prices\n"
    )
    acme = [line for line in result.stdout.splitlines() if "acme-local-7b" in line]
    assert acme == ["acme,acme-local-7b,no price,,2,1769,27,,,,,"]


def test_a_broken_price_file_is_named_line_by_line_and_the_analysis_runs(runner: CliRunner, tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  acme-local-7b:\n    input_mtok: free\n    output_mtok: 0.8\ntools:\n  x: 1\n")
    result = runner.invoke(app, ["cost", AGENT, "--prices", str(prices), "--view", "cost", "--format", "json"])
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert (
        f"mcpobs: warning: {prices}:3:17: input_mtok of model 'acme-local-7b' must be a number, got 'free' "
        "(left out)" in lines
    )
    assert any("no price for model 'acme-local-7b'" in line for line in lines)
    assert json.loads(result.stdout)["cost"]


def test_analyze_with_cost_adds_the_cost_sections(runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", AGENT, "--cost", "--format", "json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert {"calls", "errors", "sessions", "traces", "cost", "call_cost", "models"} <= set(document)


def test_a_missing_price_file_stops_before_loading(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    result = runner.invoke(app, ["cost", AGENT, "--prices", str(missing)])
    assert result.exit_code == 3
    assert result.stderr == f"mcpobs: error: {missing}: no such price file\n"


def test_by_model_groups_only_cost(runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", AGENT, "--by", "model"])
    assert result.exit_code == 2
    assert result.stderr == "mcpobs: error: --by model groups only the cost sections: use `mcpobs cost --by model`\n"
