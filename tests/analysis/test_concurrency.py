"""Calls in flight: the count of each call, its buckets, and where they show (analyze, alert rules, report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcpobs.alerts import RulesError, Status, check_alerts, parse_rules
from mcpobs.analysis import Query, analyze
from mcpobs.analysis.metrics import Figures
from mcpobs.analysis.queries import check
from mcpobs.errors import UsageError
from mcpobs.ingest import load
from mcpobs.report import build_report
from mcpobs.store import IN_FLIGHT_BUCKETS, Store
from tests.conftest import DATA, request, span, write_lines

LOAD = DATA / "concurrency"
FILES = [str(LOAD / "load.log.jsonl"), str(LOAD / "load.server-spans.jsonl")]


@pytest.fixture
def loaded(store: Store) -> Store:
    load(store, FILES)
    return store


def _in_flight(store: Store) -> dict[str, tuple[str, str, int, int, int, str]]:
    rows = store.con.execute(
        "SELECT span_id, side, server, start_ns, end_ns, in_flight, concurrency FROM mcp_calls_in_flight"
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def _bucket(n: int) -> str:
    return next(label for label, most in IN_FLIGHT_BUCKETS if most is None or n <= most)


def test_each_call_counts_the_calls_to_its_server_and_side_in_flight_as_it_started(loaded: Store) -> None:
    calls = _in_flight(loaded)
    every = loaded.con.execute("SELECT count(*) FROM mcp_calls WHERE NOT is_notification").fetchone()
    assert every is not None
    assert len(calls) == every[0]
    # the same count, call by call, the slow way: every other call of the server and side that had
    # started before and not yet ended, or started at the same instant
    for span_id, (side, server, start, _end, in_flight, bucket) in calls.items():
        others = sum(
            1
            for other, (s, srv, o_start, o_end, *_) in calls.items()
            if other != span_id and (s, srv) == (side, server) and (o_start == start or o_start < start < o_end)
        )
        assert in_flight == others + 1, span_id
        assert bucket == _bucket(in_flight)
    # the waves of 16 clients put more than 8 calls in flight on each side
    assert {calls[c][5] for c in calls} == {label for label, _ in IN_FLIGHT_BUCKETS}


def test_by_concurrency_the_server_degrades_as_calls_pile_up(loaded: Store) -> None:
    table = analyze(loaded, Query(by=("concurrency",), views=("calls", "errors"), tools=("lookup",)))
    rows = {(r["side"], r["concurrency"]): r for r in table.table("calls").records()}
    assert set(rows) == {(side, label) for side in ("client", "server") for label, _ in IN_FLIGHT_BUCKETS}
    for side in ("client", "server"):
        # one or two lookups at once never wait for a worker, and the server sheds load only past ten
        assert rows[(side, "1")]["errors"] == rows[(side, "2")]["errors"] == 0
        assert rows[(side, "9+")]["errors"] > 0
        assert rows[(side, "9+")]["latency_p95_ms"] > 2 * rows[(side, "1")]["latency_p95_ms"]
    # the errors section groups the same way: the refusals are tool errors, all past 8 in flight
    errors = analyze(loaded, Query(by=("concurrency",), views=("errors",), tools=("lookup",))).table("errors")
    assert {(r["side"], r["concurrency"], r["error_class"]) for r in errors.records()} == {
        ("client", "9+", "tool_error"),
        ("server", "9+", "tool_error"),
    }


def test_calls_ending_starting_together_and_without_duration(tmp_path: Path, store: Store) -> None:
    ms = 1_000_000
    t0 = 1_700_000_000_000_000_000

    def call(i: int, start_ms: int, duration_ms: int, trace: str = "a" * 32) -> dict[str, Any]:
        return span(trace=trace, span_id=f"{i:016x}", start=t0 + start_ms * ms, duration_ns=duration_ms * ms)

    spans = [
        call(1, 0, 10),  # alone
        call(2, 10, 5),  # starts as 1 ends: 1 is no longer in flight
        call(3, 20, 10),  # 3 and 4 start together: each counts the other
        call(4, 20, 10),
        call(5, 25, 0),  # no duration, during 3 and 4: counts itself
        call(6, 25, 1),  # starts with 5: they count each other
    ]
    backwards = call(7, 40, 0)
    backwards["endTimeUnixNano"] = str(t0 + 39 * ms)  # ends before it starts: in flight at its start all the same
    write_lines(tmp_path / "a.jsonl", [request([*spans, backwards]), request([call(8, 0, 100, "b" * 32)], "other")])
    load(store, [str(tmp_path / "a.jsonl")])
    counts = {span_id: row[4] for span_id, row in _in_flight(store).items()}
    assert counts == {
        f"{1:016x}": 1,
        f"{2:016x}": 1,
        f"{3:016x}": 2,
        f"{4:016x}": 2,
        f"{5:016x}": 4,
        f"{6:016x}": 4,
        f"{7:016x}": 1,
        f"{8:016x}": 1,  # another server's call, in flight beside 1 and 2
    }


def test_concurrency_groups_only_the_call_sections() -> None:
    with pytest.raises(UsageError, match="--by concurrency groups only the call sections"):
        check(Query(by=("concurrency",), views=("cost",)))


def test_a_rule_per_server_and_calls_in_flight(loaded: Store) -> None:
    rules = parse_rules(
        "alerts:\n  - name: slow under load\n    condition: latency_p95_ms > 150ms\n    action: notify\n"
        "    scope: concurrency\n    where: tool == 'lookup'\n"
    )
    outcome = check_alerts(rules, Figures(loaded))
    fired = {tuple(value for _, value in v.group) for v in outcome.verdicts if v.status is Status.FIRED}
    checked = {tuple(value for _, value in v.group) for v in outcome.verdicts}
    assert checked == {
        (side, "capacity-server", label) for side in ("client", "server") for label, _ in IN_FLIGHT_BUCKETS
    }
    assert ("client", "capacity-server", "9+") in fired
    assert ("server", "capacity-server", "9+") in fired
    assert not {group for group in fired if group[2] in ("1", "2")}


def test_session_figures_are_not_measured_per_calls_in_flight() -> None:
    with pytest.raises(RulesError, match="not measured per concurrency"):
        parse_rules(
            "alerts:\n  - name: r\n    condition: session_recovery > 3\n    action: a\n    scope: concurrency\n"
        )


def test_the_report_charts_each_server_by_calls_in_flight(loaded: Store) -> None:
    from mcpobs.render.charts import charts

    report = build_report(loaded, Query())
    made = {chart.id: chart for chart in charts(report)}
    latency = made["latency_p95_ms_by_in_flight"].data
    errors = made["error_rate_by_in_flight"].data
    # the rows of analyze --by server,concurrency, in bucket order per server and side
    calls = analyze(loaded, Query(by=("server", "concurrency"), views=("calls",))).table("calls").records()
    expected = {(r["side"], r["concurrency"]): r["latency_p95_ms"] for r in calls}
    assert {(d["side"], d["concurrency"]): d["latency_p95_ms"] for d in latency} == expected
    assert [d["rank"] for d in errors if d["side"] == "client"] == list(range(len(IN_FLIGHT_BUCKETS)))
    json.dumps(made["error_rate_by_in_flight"].full_spec())  # plain JSON


def test_analyze_json_and_cli_refusals() -> None:
    from typer.testing import CliRunner

    from mcpobs.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["analyze", *FILES, "--by", "server,concurrency", "--view", "calls", "-f", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["calls"]
    assert {(r["side"], r["server"], r["concurrency"]) for r in rows} == {
        (side, "capacity-server", label) for side in ("client", "server") for label, _ in IN_FLIGHT_BUCKETS
    }
    refused = runner.invoke(app, ["cost", *FILES, "--by", "concurrency"])
    assert refused.exit_code == 2
    assert "--by concurrency groups only the call sections" in refused.stderr


def test_calls_that_name_no_server_count_as_one_servers_and_analyze_says_so(store: Store) -> None:
    # the mcp SDK's client spans name no server (no server.address, no server span loaded with them):
    # its calls to two servers, started together, cannot be told apart and count each other
    load(store, [str(LOAD / "two-servers.client-spans.jsonl")])
    notes = analyze(store, Query(by=("concurrency",), views=("calls",))).notes
    assert [n for n in notes if "name no server" in n] == [
        "8 client calls name no server: their calls in flight count them all as calls to one server"
    ]
    assert not analyze(store, Query(by=("tool",), views=("calls",))).notes  # said only where counted


def test_no_such_note_where_every_call_names_its_server(loaded: Store) -> None:
    assert not analyze(loaded, Query(by=("server", "concurrency"), views=("calls",))).notes


def test_a_rule_per_calls_in_flight_notes_the_calls_that_name_no_server(store: Store) -> None:
    load(store, [str(LOAD / "two-servers.client-spans.jsonl")])
    rules = parse_rules("alerts:\n  - name: slow\n    condition: latency_p95_ms > 1s\n    scope: concurrency\n")
    assert any("name no server" in n for n in check_alerts(rules, Figures(store)).notes)
    rules = parse_rules("alerts:\n  - name: slow\n    condition: latency_p95_ms > 1s\n    scope: server\n")
    assert not check_alerts(rules, Figures(store)).notes


def test_by_concurrency_the_buckets_come_in_their_order_unless_sorted(loaded: Store) -> None:
    # the load's calls per bucket are not in bucket order (more at 5-8 and 9+ than at 2 or 3-4)
    labels = [label for label, _ in IN_FLIGHT_BUCKETS]
    rows = analyze(loaded, Query(by=("concurrency",), views=("calls",))).table("calls").records()
    in_order = [(side, label) for side in ("client", "server") for label in labels]
    assert [(r["side"], r["concurrency"]) for r in rows] == in_order
    by_server = analyze(loaded, Query(by=("server", "concurrency"), views=("calls",), top=3)).table("calls").records()
    assert [r["concurrency"] for r in by_server] == labels[:3]
    # --sort still orders by its column, largest first
    by_calls = analyze(loaded, Query(by=("concurrency",), views=("calls",), sort="calls")).table("calls").records()
    counts = [r["calls"] for r in by_calls]
    assert counts == sorted(counts, reverse=True)
    assert [r["concurrency"] for r in by_calls] != labels * 2
