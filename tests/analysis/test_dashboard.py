"""The dashboards' own queries: buckets over time, latency bins, error messages, trace
waterfalls and the cascade of failures, on files made here with known answers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcpobs.analysis import Query
from mcpobs.analysis.dashboard import (
    NICE_WIDTHS,
    bucket_width,
    error_messages,
    error_timeline,
    latency_histogram,
    timeline,
)
from mcpobs.analysis.sql import filters
from mcpobs.analysis.waterfall import pick_traces, trace_views
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import DATA, DIALECTS, request, span, write_lines

T0 = 1_800_000_000_000_000_000  # 2027-01-15 08:00:00 UTC, a multiple of every nice width up to an hour
S = 1_000_000_000
TRACE_A = "a" * 32
TRACE_B = "b" * 32


def _load(store: Store, tmp_path: Path, spans: list[dict[str, Any]], service: str = "svc") -> Store:
    load(store, [str(write_lines(tmp_path / "t.jsonl", [request(spans, service)]))])
    return store


@given(
    first=st.integers(min_value=0, max_value=4 * 10**18),
    length=st.integers(min_value=0, max_value=10**17),
    buckets=st.integers(min_value=1, max_value=200),
)
def test_bucket_width_is_the_narrowest_nice_width_that_fits(first: int, length: int, buckets: int) -> None:
    last = first + length
    width = bucket_width(first, last, buckets)
    assert last // width - first // width < buckets
    narrower = [w for w in NICE_WIDTHS if w < width]
    if width <= NICE_WIDTHS[-1]:
        assert all(last // w - first // w >= buckets for w in narrower)
    else:
        assert width % NICE_WIDTHS[-1] == 0
        assert last // (width - NICE_WIDTHS[-1]) - first // (width - NICE_WIDTHS[-1]) >= buckets


def test_bucket_width_examples() -> None:
    assert bucket_width(T0, T0 + 8 * S, 60) == 200_000_000  # 8 s: 40 buckets of 200 ms
    assert bucket_width(T0, T0 + 3600 * S - 1, 60) == 60 * S  # an hour: minutes
    assert bucket_width(T0, T0 + 3600 * S, 60) == 120 * S  # its last moment would be a 61st minute
    assert bucket_width(T0, T0, 60) == NICE_WIDTHS[0]
    with pytest.raises(ValueError, match="at least 1"):
        bucket_width(T0, T0, 0)


def test_timeline_counts_each_side_per_bucket_and_fills_the_gaps(store: Store, tmp_path: Path) -> None:
    spans = [
        span(span_id="0000000000000001", start=T0, name="tools/call search"),
        span(span_id="0000000000000002", start=T0 + S // 2, name="tools/call search", error_type="tool_error"),
        span(span_id="0000000000000003", start=T0 + 3 * S, name="tools/call fetch", kind=3),
        span(span_id="0000000000000004", start=T0 + 3 * S + 1, name="tools/list"),
    ]
    _load(store, tmp_path, spans)
    where, params = filters(Query())
    rows = timeline(store, Query(), where, params, S).records()
    server = [(r["bucket_start"], r["calls"], r["errors"]) for r in rows if r["side"] == "server"]
    start = datetime(2027, 1, 15, 8, 0, 0)
    assert server == [
        (start, 2, 1),
        (start.replace(second=1), 0, 0),
        (start.replace(second=2), 0, 0),
        (start.replace(second=3), 1, 0),  # tools/list: a call, not a tool call
    ]
    # the client's calls on the same buckets as the server's, though its first came later
    client = [(r["bucket_start"], r["calls"]) for r in rows if r["side"] == "client"]
    assert client == [
        (start, 0),
        (start.replace(second=1), 0),
        (start.replace(second=2), 0),
        (start.replace(second=3), 1),
    ]
    by_tool = timeline(store, Query(), where, params, S, ("tool",)).records()
    assert [(r["side"], r["tool"], r["calls"], r["errors"], r["error_rate"]) for r in by_tool] == [
        ("server", "search", 2, 1, 0.5),
        ("client", "fetch", 1, 0, 0.0),
    ]
    classes = error_timeline(store, Query(), where, params, S).records()
    assert [(r["bucket_start"], r["side"], r["error_class"], r["errors"]) for r in classes] == [
        (start, "server", "tool_error", 1)
    ]


def test_timeline_follows_the_query_filters(store: Store, tmp_path: Path) -> None:
    spans = [
        span(span_id="0000000000000001", start=T0, name="tools/call search"),
        span(span_id="0000000000000002", start=T0, name="tools/call fetch"),
    ]
    _load(store, tmp_path, spans)
    query = Query(tools=("fetch",))
    rows = timeline(store, query, *filters(query), S, ("tool",)).records()
    assert [r["tool"] for r in rows] == ["fetch"]


def test_latency_histogram_bins_four_to_a_decade(store: Store, tmp_path: Path) -> None:
    durations_ms = [1, 1.5, 2, 9.99, 10, 100, 0]
    spans = [
        span(span_id=f"{i + 1:016x}", start=T0 + i * S, duration_ns=int(ms * 1e6), name="tools/call t")
        for i, ms in enumerate(durations_ms)
    ]
    _load(store, tmp_path, spans)
    rows = latency_histogram(store, Query(), *filters(Query())).records()
    assert [(r["from_ms"], r["to_ms"], r["calls"]) for r in rows] == [
        (0.001, 0.001778, 1),  # a call of 0 ms counts as 1 µs
        (1.0, 1.778, 2),
        (1.778, 3.162, 1),
        (5.623, 10.0, 1),
        (10.0, 17.78, 1),
        (100.0, 177.8, 1),
    ]


def test_the_latency_histogram_leaves_out_a_span_that_ends_before_it_starts(store: Store, tmp_path: Path) -> None:
    spans = [
        span(span_id=f"{i + 1:016x}", start=T0 + i * S, duration_ns=d, name="tools/call t")
        for i, d in enumerate([-2_000_000, 2_000_000])
    ]
    _load(store, tmp_path, spans)
    rows = latency_histogram(store, Query(), *filters(Query())).records()
    assert [(r["from_ms"], r["calls"]) for r in rows] == [(1.778, 1)]  # not a call of 1 µs


def test_error_messages_rank_by_count_and_read_the_exception(store: Store, tmp_path: Path) -> None:
    exception = {
        "timeUnixNano": str(T0),
        "name": "exception",
        "attributes": [
            {"key": "exception.type", "value": {"stringValue": "ValueError"}},
            {"key": "exception.message", "value": {"stringValue": "bad </script> <b>input</b>"}},
        ],
    }
    spans = [
        # client spans: on a server span -32602 is a rejected request, no error
        {
            **span(span_id="0000000000000001", start=T0, error_type="-32602", kind=3),
            "status": {"code": 2, "message": "no"},
        },
        {
            **span(span_id="0000000000000002", start=T0 + S, error_type="-32602", kind=3),
            "status": {"code": 2, "message": "no"},
        },
        span(span_id="0000000000000003", start=T0 + 2 * S, error_type="tool_error", events=[exception]),
        span(span_id="0000000000000004", start=T0 + 3 * S, error_type="tool_error"),
        span(span_id="0000000000000005", start=T0 + 4 * S),
    ]
    _load(store, tmp_path, spans)
    table, kinds = error_messages(store, Query(), *filters(Query()), 2)
    assert kinds == 3
    assert [(r["target"], r["error_class"], r["message"], r["errors"]) for r in table.records()] == [
        ("get-weather", "-32602", "no", 2),
        ("get-weather", "tool_error", None, 1),
    ]
    table, kinds = error_messages(store, Query(), *filters(Query()), 10)
    assert [r["message"] for r in table.records()][2] == "ValueError: bad </script> <b>input</b>"
    first, last = table.records()[0]["first_seen"], table.records()[0]["last_seen"]
    assert (last - first).total_seconds() == 1


def _trace(trace: str, spans: list[tuple[str, str, str, int, int, int, str | None, int]]) -> list[dict[str, Any]]:
    """Spans of one trace: (id, parent, name, kind, start ms, duration ms, error type, status code)."""
    out = []
    for span_id, parent, name, kind, start_ms, duration_ms, error, status in spans:
        made = span(
            trace=trace,
            span_id=span_id,
            parent=parent,
            name=name,
            kind=kind,
            start=T0 + start_ms * 1_000_000,
            duration_ns=duration_ms * 1_000_000,
            error_type=error,
        )
        if not name.split(" ")[0].count("/"):
            made["attributes"] = [a for a in made["attributes"] if a["key"] != "mcp.method.name"]
            made["attributes"].append({"key": "gen_ai.operation.name", "value": {"stringValue": name.split(" ")[0]}})
        if status == 2:
            made["status"] = {"code": 2, "message": f"{name} failed"}
        out.append(made)
    return out


def test_waterfall_orders_parents_before_children_and_numbers_the_cascade(store: Store, tmp_path: Path) -> None:
    spans = _trace(
        TRACE_A,
        [
            ("00000000000000a1", "", "invoke_agent bot", 1, 0, 100, None, 0),
            ("00000000000000a2", "00000000000000a1", "execute_tool read", 1, 10, 20, None, 2),
            ("00000000000000a3", "00000000000000a2", "tools/call read", 3, 11, 18, "tool_error", 2),
            ("00000000000000a4", "00000000000000a3", "tools/call read", 2, 12, 10, "tool_error", 2),
            ("00000000000000a5", "00000000000000a1", "tools/call read", 3, 40, 5, "tool_error", 2),
            ("00000000000000a6", "00000000000000a1", "tools/call other", 3, 60, 5, "-32602", 2),
            ("00000000000000a7", "00000000000000ff", "chat model", 3, 70, 5, None, 0),
        ],
    )
    _load(store, tmp_path, spans)
    [view] = trace_views(store, (TRACE_A,), 100)
    assert view.span_count == 7
    assert view.duration_ms == 100
    order = [(r["row"], r["span_id"][-2:], r["depth"], r["role"]) for r in view.spans.records()]
    assert order == [
        (1, "a1", 0, "agent"),
        (2, "a2", 1, "tool"),
        (3, "a3", 2, "client"),
        (4, "a4", 3, "server"),
        (5, "a5", 1, "client"),
        (6, "a6", 1, "client"),
        (7, "a7", 0, "llm"),  # its parent is not in the trace
    ]
    cascade = [
        (r["failure"], r["span_id"][-2:], r["follows"], r["relation"], r["at_ms"]) for r in view.cascade.records()
    ]
    assert cascade == [
        (1, "a4", None, "first", 22.0),
        (2, "a3", 1, "client side of", 29.0),
        (3, "a2", 2, "caller of", 30.0),
        (4, "a5", 2, "retry of", 45.0),  # the same call on the client side, failed again
        (5, "a6", None, "first", 65.0),
    ]
    assert {r["span_id"][-2:]: r["failure"] for r in view.spans.records() if r["failed"]} == {
        "a2": 3,
        "a3": 2,
        "a4": 1,
        "a5": 4,
        "a6": 5,
    }
    assert view.spans.records()[1]["message"] == "execute_tool read failed"


def test_a_capped_waterfall_keeps_the_failures_and_their_parents(store: Store, tmp_path: Path) -> None:
    rows = [("00000000000000a1", "", "invoke_agent bot", 1, 0, 1000, None, 0)]
    rows += [(f"00000000000001{i:02x}", "00000000000000a1", "tools/call ok", 3, i, 1, None, 0) for i in range(30)]
    rows += [("00000000000000f1", "00000000000000a1", "tools/call bad", 3, 500, 1, "tool_error", 2)]
    _load(store, tmp_path, _trace(TRACE_A, rows))
    [view] = trace_views(store, (TRACE_A,), 5)
    kept = [r["span_id"] for r in view.spans.records()]
    assert view.span_count == 32
    assert kept == ["00000000000000a1", "0000000000000100", "0000000000000101", "0000000000000102", "00000000000000f1"]
    assert [r["row"] for r in view.spans.records()] == [1, 2, 3, 4, 5]


def _chain(depth: int, failing: bool, end_ms: int) -> list[tuple[str, str, str, int, int, int, str | None, int]]:
    """Spans nested ``depth`` deep, each the parent of the next; the innermost fails, or every one does.
    Each level ends ``end_ms`` after the one inside it (negative: before it, as skewed clocks show)."""
    rows: list[tuple[str, str, str, int, int, int, str | None, int]] = []
    for i in range(depth):
        fails = failing or i == depth - 1
        end = 10 * depth + (depth - i) * end_ms
        rows.append((f"{i + 1:016x}", f"{i:016x}" if i else "", f"level {i}", 1, i, end - i, None, 2 if fails else 0))
    return rows


def test_a_capped_waterfall_keeps_a_deep_failure_and_its_nearest_ancestors(store: Store, tmp_path: Path) -> None:
    rows = _chain(40, failing=False, end_ms=1)
    rows += [(f"00000000000001{i:02x}", "0000000000000001", "tools/call ok", 3, 500 + i, 1, None, 0) for i in range(5)]
    _load(store, tmp_path, _trace(TRACE_A, rows))
    [view] = trace_views(store, (TRACE_A,), 10)
    kept = [(r["span_id"], r["depth"], r["failure"]) for r in view.spans.records()]
    # the failure 39 levels down, then the 9 spans right above it: none from the top of the chain
    assert kept == [(f"{i + 1:016x}", i, 1 if i == 39 else None) for i in range(30, 40)]
    [cascade] = view.cascade.records()
    assert cascade["name"] == "level 39"


def test_the_cascade_of_a_2000_deep_chain_goes_up_it(store: Store, tmp_path: Path) -> None:
    # every level fails after the one inside it, though each clock says it ended first; one walk
    # down the tree and a sort: a quadratic cascade would take minutes here
    _load(store, tmp_path, _trace(TRACE_A, _chain(2000, failing=True, end_ms=-1)))
    [view] = trace_views(store, (TRACE_A,), 150)
    cascade = [(r["failure"], r["name"], r["follows"], r["relation"]) for r in view.cascade.records()]
    assert len(cascade) == 2000
    assert cascade[0] == (1, "level 1999", None, "first")
    assert cascade[1:] == [(n, f"level {2000 - n}", n - 1, "caller of") for n in range(2, 2001)]
    # the waterfall keeps the 150 failures that came first, the innermost
    assert [r["depth"] for r in view.spans.records()] == list(range(1850, 2000))


def _call(
    span_id: str, parent: str, side: int, start_ms: int, end_ms: int, error: str | None
) -> tuple[str, str, str, int, int, int, str | None, int]:
    return (span_id, parent, "tools/call slow", side, start_ms, end_ms - start_ms, error, 2 if error else 0)


@pytest.mark.parametrize(
    ("client_error", "client_end", "server_end", "expected"),
    [
        # skewed clocks: the server's failure ends after its client's, and still caused it
        ("-32603", 50, 53, [("c2", None, "first"), ("c1", 1, "client side of")]),
        # the client timed out first: the server's failure followed from it
        ("-32001", 50, 53, [("c1", None, "first"), ("c2", 1, "cancelled by client")]),
        ("-32800", 50, 53, [("c1", None, "first"), ("c2", 1, "cancelled by client")]),
        # the server failed first: the client's timeout followed from it
        ("-32001", 50, 45, [("c2", None, "first"), ("c1", 1, "client side of")]),
    ],
)
def test_the_cascade_of_a_call_follows_its_links_not_only_the_clocks(
    store: Store,
    tmp_path: Path,
    client_error: str,
    client_end: int,
    server_end: int,
    expected: list[tuple[str, int | None, str]],
) -> None:
    spans = [
        ("00000000000000a1", "", "invoke_agent bot", 1, 0, 100, None, 0),
        _call("00000000000000c1", "00000000000000a1", 3, 10, client_end, client_error),
        _call("00000000000000c2", "00000000000000c1", 2, 12, server_end, "-32603"),
    ]
    _load(store, tmp_path, _trace(TRACE_A, spans))
    [view] = trace_views(store, (TRACE_A,), 100)
    assert [(r["span_id"][-2:], r["follows"], r["relation"]) for r in view.cascade.records()] == expected


def test_a_span_between_client_and_server_leaves_them_one_call(store: Store, tmp_path: Path) -> None:
    spans = [
        _call("00000000000000c1", "", 3, 0, 100, "-32603"),
        ("00000000000000b1", "00000000000000c1", "POST /mcp", 2, 5, 90, None, 0),
        _call("00000000000000c2", "00000000000000b1", 2, 10, 90, "-32603"),
    ]
    _load(store, tmp_path, _trace(TRACE_A, spans))
    [view] = trace_views(store, (TRACE_A,), 100)
    assert [(r["span_id"][-2:], r["follows"], r["relation"]) for r in view.cascade.records()] == [
        ("c2", None, "first"),
        ("c1", 1, "client side of"),
    ]


def test_a_cancelled_call_of_the_logfire_dialect(store: Store) -> None:
    # the client cancelled at 302.2 ms; its server span ended at 308.4 ms
    load(store, [str(DIALECTS / "logfire.jsonl")])
    [view] = trace_views(store, ("01a2081820e76505cc22344ea8173fe2",), 100)
    cascade = [(r["role"], r["error_class"], r["follows"], r["relation"]) for r in view.cascade.records()]
    assert cascade == [("client", "cancelled", None, "first"), ("server", "cancelled", 1, "cancelled by client")]


def test_pick_traces_slowest_first_and_failing_by_failures(store: Store, tmp_path: Path) -> None:
    spans = _trace(TRACE_A, [("00000000000000a1", "", "tools/call a", 2, 0, 50, "tool_error", 2)])
    spans += _trace(
        TRACE_B,
        [
            ("00000000000000b1", "", "tools/call b", 2, 0, 500, None, 0),
            ("00000000000000b2", "", "tools/call c", 2, 0, 5, "tool_error", 2),
            ("00000000000000b3", "", "tools/call c", 2, 10, 5, "tool_error", 2),
        ],
    )
    _load(store, tmp_path, spans)
    where, params = filters(Query())
    assert pick_traces(store, where, params, failing=False, limit=5) == ((TRACE_B, TRACE_A), 2)
    assert pick_traces(store, where, params, failing=False, limit=1) == ((TRACE_B,), 2)
    assert pick_traces(store, where, params, failing=True, limit=5) == ((TRACE_B, TRACE_A), 2)
    narrowed = Query(tools=("a",))
    assert pick_traces(store, *filters(narrowed), failing=True, limit=5) == ((TRACE_A,), 1)
    assert pick_traces(store, *filters(Query(tools=("none",))), failing=False, limit=5) == ((), 0)


def test_a_waterfall_does_not_mark_a_request_the_server_rejected_as_failed(store: Store) -> None:
    """A rejected server span is no failure of the server: the waterfall agrees with the calls table."""
    load(store, [str(DATA / "edge" / "edge_spans.jsonl")])
    outcome = dict(
        store.con.execute("SELECT trace_id, rejected OR failed FROM mcp_calls WHERE side = 'server'").fetchall()
    )
    rejected = dict(store.con.execute("SELECT trace_id, rejected FROM mcp_calls WHERE side = 'server'").fetchall())
    assert sum(rejected.values()) >= 5
    for view in trace_views(store, tuple(outcome), 10):
        [call] = [r for r in view.spans.records() if r["role"] == "server"]
        assert call["failed"] == (outcome[view.trace_id] and not rejected[view.trace_id]), call["name"]
        assert len(view.cascade.records()) == int(call["failed"])
