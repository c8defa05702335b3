"""Exit status 2: the request itself is wrong, and nothing is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import DIALECTS

SEMCONV = str(DIALECTS / "semconv.jsonl")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "colour"], "cannot group by 'colour'"),
        (["--view", "charts"], "no section 'charts'"),
        (["--sort", "speed"], "cannot sort by 'speed'"),
        (["--side", "both"], "side 'both' is neither client nor server"),
        (["--since", "yesterday"], "--since: 'yesterday' is neither an ISO 8601 date or time"),
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


@pytest.mark.parametrize("url", ["http://[::1/mcp", "http://127.0.0.1:80x/mcp", "ftp://127.0.0.1/mcp", "http:///mcp"])
def test_an_upstream_url_the_proxy_cannot_send_to_is_refused_before_it_listens(
    runner: CliRunner, tmp_path: Path, url: str
) -> None:
    # an unclosed [ was a traceback; a port that is not a number was accepted, and every request a 500
    log = tmp_path / "log.jsonl"
    result = runner.invoke(app, ["record", "--out", str(log), "--upstream", url, "--listen", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert result.stderr == (
        f"mcpobs: error: --upstream {url!r}: expected an http:// or https:// URL, e.g. http://127.0.0.1:8000/mcp\n"
    )
    assert not log.exists()
