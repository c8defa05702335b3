"""Exit status 2: the request itself is wrong, and nothing is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import DIALECTS, ROOT

SEMCONV = str(DIALECTS / "semconv.jsonl")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "colour"], "cannot group by 'colour'"),
        (["--view", "charts"], "no section 'charts'"),
        (["--sort", "speed"], "cannot sort by 'speed'"),
        (["--side", "both"], "side 'both' is neither client nor server"),
        (["--since", "yesterday"], "--since: 'yesterday' is not an ISO 8601"),
        (["--format", "csv", "--view", "calls,errors"], "--format csv writes one section"),
    ],
)
def test_bad_options_fail_before_loading(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["analyze", SEMCONV, *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("mcpobs: error: ")
    assert message in result.stderr
    assert "loaded" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_nothing_to_analyze(runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze"])
    assert result.exit_code == 2
    assert "name the trace files to analyze" in result.stderr


def test_unknown_option_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", SEMCONV, "--colour"])
    assert result.exit_code == 2
    assert result.stdout == ""


def test_unwritable_output(runner: CliRunner, tmp_path: object) -> None:
    result = runner.invoke(app, ["analyze", SEMCONV, "-f", "json", "-o", "/nonexistent-dir/x.json"])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr


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
