"""Argument checks on sessions recorded over Streamable HTTP (tests/data/arguments/make_http.py): a real
mcp SDK client sending valid and invalid arguments through ``mcpobs record --upstream`` to
@modelcontextprotocol/server-everything (npm, a 2025-era server whose schemas are draft-07) and to
mcp-server-time's own server, in 2025-11-25 sessions and a 2026-07-28 one. The argument views find
exactly the calls the servers refused, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcpobs.analysis import Query, analyze
from mcpobs.analysis.queries import ARGUMENT_VIEWS
from mcpobs.cli import app
from mcpobs.eventlog.reader import read_event_log
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.analysis.test_arguments import INVALID as TIME_INVALID
from tests.conftest import DATA

HERE = DATA / "arguments"
# what make_http.py sent that server-everything's inputSchema refuses, in order, with the first error
EVERYTHING_INVALID = [
    ("echo", "$.message: 42 is not of type 'string'", '{"message": 42}'),
    ("echo", "$: 'message' is a required property", '{"text": "hello"}'),
    ("get-sum", "$.a: '2' is not of type 'number'", '{"a": "2", "b": 3}'),
    ("get-sum", "$: 'b' is a required property", '{"a": 2}'),
    ("get-sum", "$: 'a' is a required property", "(none sent)"),  # no arguments sent: shown as its shape is
    (
        "get-structured-content",
        "$.location: 'Paris' is not one of ['New York', 'Chicago', 'Los Angeles']",
        '{"location": "Paris"}',
    ),
    ("get-resource-links", "$.count: 20 is greater than the maximum of 10", '{"count": 20}'),
]
# (log, protocol revision, server, the invalid calls, tool calls per tool)
LOGS = {
    "everything-2025": (
        HERE / "everything-http.log.jsonl",
        "2025-11-25",
        "mcp-servers/everything",
        EVERYTHING_INVALID,
        {"echo": 3, "get-sum": 4, "get-structured-content": 2, "get-resource-links": 1},
    ),
    "time-2025": (
        HERE / "time-http.log.jsonl",
        "2025-11-25",
        "mcp-time",
        TIME_INVALID,
        {"get_current_time": 6, "convert_time": 3},
    ),
    "time-2026": (
        HERE / "time-http-2026.log.jsonl",
        "2026-07-28",
        "mcp-time",
        TIME_INVALID,
        {"get_current_time": 6, "convert_time": 3},
    ),
}
Case = tuple[Path, str, str, list[tuple[str, str, str | None]], dict[str, int]]


@pytest.fixture(params=list(LOGS.values()), ids=list(LOGS))
def case(request: pytest.FixtureRequest) -> Case:
    found: Case = request.param
    return found


def test_each_recording_is_over_http_in_its_revision(store: Store, case: Case) -> None:
    log, revision, server, _, _ = case
    recorded = read_event_log(log)
    assert recorded.header["transport"] == "http"
    sent = [r for r in recorded.records if r.get("dir") == "c2s"]
    assert sent
    assert all(r["http"]["method"] == "POST" for r in sent)
    load(store, [str(log)])
    found = store.con.execute("SELECT DISTINCT server, protocol_version FROM mcp_calls").fetchall()
    assert found == [(server, revision)]


def test_the_invalid_calls_are_listed_with_their_errors(store: Store, case: Case) -> None:
    log, _, server, invalid, calls = case
    load(store, [str(log)])
    result = analyze(store, Query(views=ARGUMENT_VIEWS))
    listed = result.table("invalid_arguments").records()
    assert [(r["tool"], r["error"], r["arguments"]) for r in listed] == invalid
    assert {r["server"] for r in listed} == {server}
    figures = {r["tool"]: r for r in result.table("arguments").records()}
    assert {tool: r["tool_calls"] for tool, r in figures.items()} == calls
    for tool, r in figures.items():
        # every call's arguments recorded and checked: none left out of the verdict
        assert r["arguments_recorded"] == r["arguments_checked"] == r["tool_calls"], tool
        assert r["invalid_arguments"] == sum(1 for t, _, _ in invalid if t == tool), tool
    assert result.notes == ()


def test_the_calls_found_invalid_are_exactly_the_ones_the_server_refused(store: Store, case: Case) -> None:
    # each server checks arguments itself (zod, pydantic) and answers an isError result: its verdict, not ours
    log, _, _, invalid, calls = case
    load(store, [str(log)])
    analyze(store, Query(views=("arguments",)))
    rows = store.con.execute(
        """SELECT c.error_class, a.error IS NOT NULL FROM mcp_calls c
        JOIN argument_checks a USING (source_id, trace_id, span_id) WHERE c.method = 'tools/call'"""
    ).fetchall()
    assert len(rows) == sum(calls.values())
    assert [error_class for error_class, found in rows if found] == ["tool_error"] * len(invalid)
    assert [error_class for error_class, found in rows if not found] == [None] * (len(rows) - len(invalid))


def test_a_result_server_everything_answered_is_checked_against_its_output_schema(store: Store) -> None:
    load(store, [str(LOGS["everything-2025"][0])])
    result = analyze(store, Query(views=ARGUMENT_VIEWS))
    figures = {r["tool"]: r for r in result.table("arguments").records()}
    structured = figures["get-structured-content"]
    # the call for Chicago answered structured content that conforms; Paris was refused, so not checked
    assert (structured["results_checked"], structured["invalid_results"]) == (1, 0)
    # the other tools advertise no outputSchema: not checked, and no figure of invalid results
    assert {(r["results_checked"], r["invalid_results"]) for t, r in figures.items() if t != structured["tool"]} == {
        (0, None)
    }
    assert result.table("invalid_results").rows == ()


def test_analyze_lists_them_in_json(case: Case) -> None:
    log, _, _, invalid, _ = case
    result = CliRunner().invoke(app, ["analyze", str(log), "--view", "invalid_arguments", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)["invalid_arguments"]
    assert [(r["tool"], r["error"]) for r in listed] == [(tool, error) for tool, error, _ in invalid]
