"""A second fresh-eyed review of issue 21 (auth state, argument structure, calls in flight, decisions):
a regression test for each problem it found, on edited copies of real recordings. Each names the
wrong behaviour observed before its fix."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import DATA

# recorded by tests/data/arguments/make_arguments.py: an mcp SDK client calling mcp-server-time through
# `mcpobs record`; request id 3 is get_current_time {"timezone": "Europe/Paris"}, which validates
TIME = DATA / "arguments" / "time.log.jsonl"


def _edited(tmp_path: Path, edit: Any) -> Path:
    """A copy of TIME with ``edit`` applied to each parsed line."""
    rows = [json.loads(line) for line in TIME.read_text().splitlines()]
    for row in rows:
        edit(row)
    out = tmp_path / "edited.log.jsonl"
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return out


def _csv(*args: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_null_arguments_in_a_recording_are_recorded_and_checked_as_none_sent(tmp_path: Path) -> None:
    # observed: a recorded request with "arguments": null counted "not recorded" (recorded 5 of 6,
    # and the warning "1 of 9 tool calls have no arguments recorded (traces hold them only where ...)"),
    # though the recording holds the request whole; a server reads null as no arguments
    def edit(row: dict[str, Any]) -> None:
        message = row.get("message")
        if isinstance(message, dict) and message.get("id") == 3 and message.get("method") == "tools/call":
            message["params"]["arguments"] = None

    log = _edited(tmp_path, edit)
    result = CliRunner().invoke(app, ["analyze", str(log), "--view", "arguments", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "no arguments recorded" not in result.stderr
    row = next(r for r in csv.DictReader(io.StringIO(result.stdout)) if r["tool"] == "get_current_time")
    assert (row["tool_calls"], row["arguments_recorded"], row["arguments_checked"]) == ("6", "6", "6"), row
    shapes = _csv("analyze", str(log), "--view", "argument_shapes")
    assert any(r["shape"] == "(none sent)" and r["calls"] == "2" for r in shapes), shapes


# the same client against mcp-server-time, recorded over HTTP (tests/data/arguments/make_http.py):
# every answer has its HTTP status, none a 401 or 403
TIME_HTTP = DATA / "arguments" / "time-http.log.jsonl"


def _summary(path: Path) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["analyze", str(path), "--view", "sessions", "--format", "json"])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["sessions"]
    return dict(row)


def test_auth_figures_are_empty_where_no_http_status_was_recorded(tmp_path: Path) -> None:
    # observed: a stdio recording (no HTTP, nothing to authorise) reported challenged_sessions 0 and
    # auth_failures 0, and the rule `auth_failures > 0` passed ("ok") on it: zero where nothing was checked
    stdio = _summary(TIME)
    assert (stdio["auth_failures"], stdio["challenged_sessions"]) == (None, None), stdio
    http = _summary(TIME_HTTP)
    assert (http["auth_failures"], http["challenged_sessions"], http["refused_sessions"]) == (0, 0, 0), http
    rules = tmp_path / "rules.yaml"
    rules.write_text("alerts:\n  - name: auth\n    condition: auth_failures > 0\n")
    result = CliRunner().invoke(app, ["check-alerts", str(TIME), "--rules", str(rules), "--format", "json"])
    assert result.exit_code == 0, result.output
    (verdict,) = json.loads(result.stdout)["verdicts"]
    assert (verdict["status"], verdict["values"]) == ("no verdict", {"auth_failures": None}), verdict


def test_a_tool_advertised_twice_in_one_list_with_different_schemas_is_not_checked(tmp_path: Path) -> None:
    # observed: mcp-server-time's tools/list answer edited to list get_current_time a second time, with
    # an inputSchema requiring "tz" instead of "timezone": every call was checked against the second
    # (5 of 6 invalid, the calls the server answered included), without a word; which definition the
    # server uses is unknown
    def edit(row: dict[str, Any]) -> None:
        message = row.get("message")
        if isinstance(message, dict) and message.get("id") == 2 and "result" in message:
            tools = message["result"]["tools"]
            twin = json.loads(json.dumps(next(t for t in tools if t["name"] == "get_current_time")))
            twin["inputSchema"] = {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]}
            tools.append(twin)

    log = _edited(tmp_path, edit)
    result = CliRunner().invoke(app, ["analyze", str(log), "--view", "arguments", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "get_current_time" in result.stderr
    assert "advertised 2 times" in result.stderr, result.stderr
    rows = {r["tool"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert rows["get_current_time"]["arguments_checked"] == "0", rows
    assert rows["get_current_time"]["invalid_arguments"] == "", rows
    # the other tool of the same list is checked as before
    assert (rows["convert_time"]["arguments_checked"], rows["convert_time"]["invalid_arguments"]) == ("3", "2")
