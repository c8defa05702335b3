"""What the replay says of a session's state that differs (and does not, when a recorder redacted part
of it), and of --ignore patterns: the path the diff prints is one, and one that meets nothing is told."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import ROOT
from tests.replay.conftest import SAMPLE, server

STATEFUL = str(ROOT / "tests" / "servers" / "stateful.py")


def _record(log: Path, command: list[str], *options: str) -> Path:
    """A real mcp client's session through ``mcpobs record`` (its first call lists the tools)."""
    args = ["-m", "mcpobs.cli", "record", "--out", str(log), *options, "--", *command]

    async def run() -> None:
        with anyio.fail_after(60):
            async with Client(StdioServerParameters(command=sys.executable, args=args), mode="legacy") as client:  # type: ignore[arg-type]
                await client.call_tool(
                    "items" if STATEFUL in command else "echo", {} if STATEFUL in command else {"text": "hi"}
                )

    anyio.run(run)
    return log


def _replay(*args: str) -> Any:
    return CliRunner().invoke(app, ["replay", *args], catch_exceptions=False)


def test_a_recorders_partial_redaction_in_a_tool_description_is_no_state_difference(tmp_path: Path) -> None:
    # a redaction rule that met a tool's description: "A value [REDACTED]." in the recorded tools list
    log = _record(tmp_path / "redacted.jsonl", server(), "--redact-regex", "kept before")
    assert "A value [REDACTED]." in log.read_text()
    run = tmp_path / "run"
    result = _replay(str(log), "--run-dir", str(run), "--", *server())
    assert result.exit_code == 0, result.stdout
    assert "state DIFFERS" not in result.stdout
    report = json.loads((run / "report.json").read_text())
    assert report["state_differs_from_recording"] is False
    assert report["state_differences"] == []


def test_a_state_that_differs_says_where(tmp_path: Path) -> None:
    log = _record(tmp_path / "stateful.jsonl", [sys.executable, STATEFUL])
    run = tmp_path / "run"
    result = _replay(str(log), "--run-dir", str(run), "--", sys.executable, STATEFUL, "--variant")
    assert result.exit_code == 1
    state_line = next(line for line in result.stdout.splitlines() if line.startswith("state:"))
    assert 'state DIFFERS from the recording\'s: $.tools[2].description: "Every item in the ledger."' in state_line
    report = json.loads((run / "report.json").read_text())
    assert report["state_differences"] == [
        {
            "path": "$.tools[2].description",
            "change": "changed",
            "recorded": "Every item in the ledger.",
            "replayed": "Every item in the ledger, changed.",
        }
    ]


def test_ignore_takes_the_printed_path_and_warns_of_a_pattern_that_matched_nothing(tmp_path: Path) -> None:
    # as the diff prints them, where the changed server's echo differs
    printed = ["$.result.content[0].text", "$.result.structuredContent.result"]
    ignore = ["--ignore", printed[0], "--ignore", printed[1], "--ignore", "result.nowhere"]
    result = _replay(str(SAMPLE), "--run-dir", str(tmp_path / "run"), *ignore, "--", *server("--changed"))
    assert result.exit_code == 0, result.stdout  # the changed echo's text is ignored
    assert "mcpobs: warning: --ignore result.nowhere matched no path in any answer" in result.stderr
    assert result.stderr.count("warning") == 1
