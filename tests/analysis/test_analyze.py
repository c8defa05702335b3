"""Sections, groupings and filters of analyze, on real generated files."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcpobs.analysis import Query, analyze
from mcpobs.analysis.queries import session_figures
from mcpobs.analysis.sql import filters, parse_where
from mcpobs.cli import app
from mcpobs.errors import UsageError
from mcpobs.expr import ExprError
from mcpobs.ingest import load
from mcpobs.ingest.dialects import ERROR_CLASSES, outcome_columns
from mcpobs.store import Store
from tests.conftest import DIALECTS, ROOT, SAMPLE, request, span, write_lines

SEMCONV = str(DIALECTS / "semconv.jsonl")


@pytest.fixture
def semconv(store: Store) -> Store:
    load(store, [SEMCONV])
    return store


def test_tool_rows_hold_each_side_apart(semconv: Store) -> None:
    rows = {(r["side"], r["tool"]): r for r in analyze(semconv, Query(views=("calls",))).table("calls").records()}
    assert set(rows) == {
        ("client", "get-weather"),
        ("server", "get-weather"),
        ("client", "search-flights"),
        ("server", "search-flights"),
    }
    weather = rows[("client", "get-weather")]
    assert (weather["calls"], weather["errors"]) == (10, 2)
    assert weather["error_rate"] == pytest.approx(0.2)
    assert weather["success_rate"] == pytest.approx(0.8)
    assert weather["latency_p50_ms"] == pytest.approx(55.0)
    assert weather["latency_p95_ms"] == pytest.approx(95.5)
    assert weather["latency_p99_ms"] == pytest.approx(99.1)
    assert weather["latency_max_ms"] == pytest.approx(100.0)
    # the timeout shows only on the client; the server answered
    assert rows[("client", "search-flights")]["errors"] == 1
    assert rows[("server", "search-flights")]["errors"] == 0


def test_time_to_first_response_is_the_first_progress_event(semconv: Store) -> None:
    rows = {(r["side"], r["tool"]): r for r in analyze(semconv, Query(views=("calls",))).table("calls").records()}
    # only one search-flights call reports progress: first event 100 ms (client), 98 ms (server) in
    assert rows[("client", "search-flights")]["ttfr_p50_ms"] == pytest.approx(100.0)
    assert rows[("server", "search-flights")]["ttfr_p50_ms"] == pytest.approx(98.0)
    assert rows[("client", "get-weather")]["ttfr_p50_ms"] is None


def test_error_classes_per_tool(semconv: Store) -> None:
    rows = analyze(semconv, Query(views=("errors",), side="client")).table("errors").records()
    got = {(r["tool"], r["error_class"]): (r["errors"], r["error_rate"], r["share_of_errors"]) for r in rows}
    assert got == {
        ("get-weather", "tool_error"): (1, pytest.approx(0.1), pytest.approx(0.5)),
        ("get-weather", "-32602"): (1, pytest.approx(0.1), pytest.approx(0.5)),
        ("search-flights", "timeout"): (1, pytest.approx(0.5), pytest.approx(1.0)),
    }


def test_the_error_class_column_names_every_class_the_model_assigns(semconv: Store, runner: CliRunner) -> None:
    # the column's description lacked auth and not_logged, added to the model after it was written
    case = outcome_columns("error_type", "status", "status_message")["error_class"]
    assert re.findall(r"(?:THEN|ELSE) '(\w+)'", case) == list(ERROR_CLASSES)
    columns = analyze(semconv, Query(views=("errors",))).table("errors").columns
    (column,) = [c for c in columns if c.name == "error_class"]
    help_text = " ".join(runner.invoke(app, ["analyze", "--help"]).stdout.split())
    for name, meaning in ERROR_CLASSES.items():
        assert f"{name}: {meaning}" in column.description
        assert name in help_text


def test_group_by_method_includes_every_request_but_no_notification(semconv: Store) -> None:
    rows = analyze(semconv, Query(by=("method",), views=("calls",), side="server")).table("calls").records()
    methods = {r["method"]: r["calls"] for r in rows}
    assert methods == {
        "initialize": 2,
        "tools/list": 2,
        "tools/call": 12,
        "prompts/get": 1,
        "resources/read": 1,
        "resources/subscribe": 1,
    }


def test_sessions_recoveries_and_success(semconv: Store) -> None:
    table = analyze(semconv, Query(by=("session",), views=("sessions",), side="client")).table("sessions")
    sessions = {r["session"]: r for r in table.records()}
    recovered = sessions["8267461134f24305af708e66b8eda71a"]
    assert (recovered["calls"], recovered["errors"], recovered["recoveries"], recovered["succeeded"]) == (
        10,
        1,
        1,
        True,
    )
    # a call after a failure with other arguments is no retry: the failure stands
    failed = sessions["191c4850af6c49e08843a3f6c80e5046"]
    assert (failed["recoveries"], failed["succeeded"]) == (0, False)


def test_session_summary(semconv: Store) -> None:
    rows = analyze(semconv, Query(views=("sessions",))).table("sessions").records()
    # session B ends with resources/subscribe -32601: a failure to the client, a rejected request to
    # the server; neither is a success, so session B succeeded on neither side
    assert [(r["side"], r["sessions"], r["recoveries"], r["session_success_rate"]) for r in rows] == [
        ("client", 2, 1, 0.5),
        ("server", 2, 1, 0.5),
    ]


def test_a_server_rejecting_a_request_is_no_server_error(semconv: Store) -> None:
    rows = {(r["side"], r["tool"]): r for r in analyze(semconv, Query(views=("calls",))).table("calls").records()}
    client, server = rows[("client", "get-weather")], rows[("server", "get-weather")]
    # the -32602 call: an error on the client, rejected on the server; the tool_error counts on both
    assert (client["errors"], client["rejected"]) == (2, 0)
    assert (server["errors"], server["rejected"]) == (1, 1)
    assert server["error_rate"] == pytest.approx(0.1)
    assert server["rejected_rate"] == pytest.approx(0.1)
    assert server["success_rate"] == pytest.approx(0.8)
    errors = analyze(semconv, Query(views=("errors",), side="server")).table("errors").records()
    flagged = {(r["tool"], r["error_class"]): (r["rejected"], r["meaning"], r["share_of_errors"]) for r in errors}
    assert flagged[("get-weather", "-32602")] == (True, "invalid params, or resource not found (2026)", None)
    assert flagged[("get-weather", "tool_error")] == (False, None, pytest.approx(1.0))


def test_traces_section(semconv: Store) -> None:
    row = analyze(semconv, Query(views=("traces",))).table("traces").records()[0]
    assert row["traces"] == 2
    assert row["spans_max"] == 23
    assert row["size_max_bytes"] > row["size_p50_bytes"] * 0.5 > 0


def test_filters_by_tool_server_side_and_time(semconv: Store) -> None:
    only = analyze(semconv, Query(views=("calls",), tools=("search-flights",), side="server"))
    assert [(r["tool"], r["calls"]) for r in only.table("calls").records()] == [("search-flights", 2)]
    nobody = analyze(semconv, Query(views=("calls",), servers=("no-such-server",)))
    assert nobody.table("calls").rows == ()
    # session A runs at 09:00, session B at 09:01 (2026-11-20)
    late = analyze(semconv, Query(views=("calls",), since=datetime(2026, 11, 20, 9, 1, tzinfo=UTC)))
    assert sum(r["calls"] for r in late.table("calls").records()) == 2 * 6
    early = analyze(semconv, Query(views=("calls",), until=datetime(2026, 11, 20, 9, 1)))
    assert sum(r["calls"] for r in early.table("calls").records()) == 2 * 6


def test_where_filters_like_the_options_and_joins_with_or_and_not(semconv: Store) -> None:
    def calls(**kw: Any) -> list[tuple[str, str, int]]:
        rows = analyze(semconv, Query(views=("calls",), **kw)).table("calls").records()
        return sorted((r["side"], r["tool"], r["calls"]) for r in rows)

    assert calls(where=parse_where('tool == "search-flights" and side == "server"')) == calls(
        tools=("search-flights",), side="server"
    )
    assert calls(where=parse_where('not (side == "client") or tool == "nope"')) == calls(side="server")
    # a comparison with a field that has no value is unknown, and an unknown call is left out
    methods = analyze(semconv, Query(by=("method",), views=("calls",), where=parse_where('tool != "x"')))
    assert {r["method"] for r in methods.table("calls").records()} == {"tools/call"}


def test_where_checks_its_fields() -> None:
    with pytest.raises(ExprError, match="unknown field 'tol'; did you mean 'tool'") as error:
        parse_where('tol == "a"')
    assert error.value.column == 1
    with pytest.raises(ExprError, match="cannot compare a string with a number"):
        parse_where("tool == 3")


def test_session_figures_per_tool_count_each_sessions_calls_to_that_tool(semconv: Store) -> None:
    where, params = filters(Query(side="client"))
    per_tool = {r["tool"]: r for r in session_figures(semconv, ("tool",), where, params).records()}
    assert set(per_tool) == {"get-weather", "search-flights"}
    overall = session_figures(semconv, (), where, params).records()[0]
    # the one recovery of the file is a get-weather retry
    assert per_tool["get-weather"]["recoveries"] == overall["recoveries"] == 1
    assert per_tool["search-flights"]["recoveries"] == 0
    assert per_tool["get-weather"]["sessions"] <= overall["sessions"]


def test_top_and_sort(semconv: Store) -> None:
    rows = analyze(semconv, Query(views=("calls",), sort="latency_p50_ms", top=2)).table("calls").records()
    assert [(r["side"], r["tool"]) for r in rows] == [("client", "search-flights"), ("server", "search-flights")]


def test_group_by_server_for_the_client_side_uses_the_peer(semconv: Store) -> None:
    rows = analyze(semconv, Query(by=("server",), views=("calls",))).table("calls").records()
    assert {(r["side"], r["server"]) for r in rows} == {
        ("client", "weather-mcp-server"),
        ("server", "weather-mcp-server"),
    }


def test_client_spans_without_a_loaded_peer_name_the_address(store: Store, tmp_path: Path) -> None:
    client = span(kind=3, attributes={"server.address": "mcp.example.com", "server.port": 443})
    load(store, [str(write_lines(tmp_path / "c.jsonl", [request([client], service="agent")]))])
    rows = analyze(store, Query(by=("server",), views=("calls",))).table("calls").records()
    assert [(r["side"], r["server"]) for r in rows] == [("client", "mcp.example.com:443")]


@pytest.mark.parametrize(
    "query",
    [Query(by=("nope",)), Query(views=("nope",)), Query(sort="nope"), Query(side="both")],
)
def test_bad_queries_are_usage_errors(store: Store, query: Query) -> None:
    with pytest.raises(UsageError):
        analyze(store, query)


def test_sample_matches_what_its_generator_did(store: Store) -> None:
    expected = json.loads((SAMPLE.parent / "expected.json").read_text())
    load(store, [str(SAMPLE)])
    for side in ("client", "server"):
        for key, figures in expected[side].items():
            if figures["method"].startswith("notifications/"):
                continue
            target_clause = "AND target = ?" if figures["target"] else ""
            params = [side, figures["method"]] + ([figures["target"]] if target_clause else [])
            classes = [
                r[0]
                for r in store.con.execute(
                    f"SELECT error_class FROM mcp_calls WHERE side = ? AND method = ? {target_clause}", params
                ).fetchall()
            ]
            assert len(classes) == figures["calls"], (side, key)
            assert Counter(c for c in classes if c) == Counter(figures["errors"]), (side, key)
    sessions = analyze(store, Query(views=("sessions",))).table("sessions").records()
    assert [(r["side"], r["sessions"]) for r in sessions] == [("client", 4), ("server", 4)]


def test_a_span_that_ends_before_it_starts_is_counted_and_left_out_of_latency(store: Store, tmp_path: Path) -> None:
    ids = [f"{i:016x}" for i in range(1, 5)]
    spans = [
        span(span_id=ids[0], name="tools/call search", duration_ns=10_000_000),
        span(span_id=ids[1], name="tools/call search", duration_ns=30_000_000),
        span(span_id=ids[2], name="tools/call search", duration_ns=-5_000_000),  # a clock stepped back
        span(span_id=ids[3], name="tools/call fetch", duration_ns=-1),
    ]
    report = load(store, [str(write_lines(tmp_path / "skewed.jsonl", [request(spans)]))])
    assert [s.backwards_spans for s in report.sources] == [2]
    assert report.backwards_spans == 2
    rows = {r["tool"]: r for r in analyze(store, Query(views=("calls",))).table("calls").records()}
    assert (rows["search"]["calls"], rows["search"]["latency_p50_ms"], rows["search"]["latency_max_ms"]) == (3, 20, 30)
    assert (rows["fetch"]["calls"], rows["fetch"]["latency_p50_ms"], rows["fetch"]["latency_max_ms"]) == (1, None, None)


def test_the_summary_starts_when_the_first_session_started() -> None:
    """The summary's first start and a session's `started` are the same instant to the microsecond
    (one was rounded, the other truncated)."""
    with Store() as store:
        load(store, [str(ROOT / "sample_traces" / "notes_session.jsonl")])  # no LLM spans before the calls
        done = analyze(store, Query(views=("sessions",), by=("session",)))
    started = min(r["started"] for r in done.table("sessions").records())
    assert done.first_start is not None
    assert done.first_start.replace(tzinfo=None) == started.replace(tzinfo=None)
