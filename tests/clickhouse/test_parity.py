"""The same spans, loaded from their files into DuckDB and written into a chDB ``otel_traces`` table as
the Collector's ClickHouse exporter writes them: every call section and alert verdict the same.

Quantiles are compared with a tolerance (DuckDB's quantile_cont and ClickHouse's
quantileExactInclusive interpolate alike, in a different order of float operations); everything else
exactly, types included.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")

from conftest import Exported

from mcpobs.alerts import check_alerts, load_rules
from mcpobs.alerts.check import Status
from mcpobs.analysis import Query, analyze
from mcpobs.analysis.metrics import Figures
from mcpobs.analysis.model import Analysis, Table
from mcpobs.analysis.queries import COST_VIEWS
from mcpobs.analysis.sql import parse_where
from mcpobs.clickhouse import ClickHouseTraces, Location, parse
from mcpobs.cost import CostOptions, load_prices
from mcpobs.ingest import load
from mcpobs.store import Store

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
# every bundled sample and test data set
SETS = {
    "agent_cost_session": [ROOT / "sample_traces" / "agent_cost_session.jsonl"],
    "mcp_agent_session": [ROOT / "sample_traces" / "mcp_agent_session.jsonl"],
    "notes_proxy": [ROOT / "sample_traces" / "notes_proxy.jsonl"],
    "notes_session": [ROOT / "sample_traces" / "notes_session.jsonl"],
    **{
        d: [DATA / d]
        for d in (
            "auth",
            "concurrency",
            "decisions",
            "dialects",
            "edge",
            "fastmcp",
            "mixed",
            "mrtr",
            "peers",
            "replay",
            "spellings",
        )
    },
}
CALL_VIEWS = ("calls", "errors", "sessions", "traces")
SIZE_COLUMNS = ("size_p50_bytes", "size_p95_bytes", "size_max_bytes")


class Both:
    """One data set in DuckDB (loaded from its files) and in chDB (written as the exporter writes it)."""

    def __init__(self, store: Store, clickhouse: ClickHouseTraces) -> None:
        self.store = store
        self.clickhouse = clickhouse


# Every set is checked on the default analysis and per server; these on every grouping, filter and rule
# too (each ClickHouse query of the call model takes about a second to plan and run on chDB).
RICH = ("dialects", "fastmcp", "mcp_agent_session", "mrtr")


@pytest.fixture(scope="module")
def pairs(chdb_dir: Path, exported: Exported) -> Iterator[dict[str, Both]]:
    """Each data set's pair, built when a test first asks for it."""
    with contextlib.ExitStack() as stack:

        def build(name: str) -> Both:
            table = exported(name, SETS[name])
            store = stack.enter_context(Store())
            load(store, [str(p) for p in SETS[name]])
            return Both(store, stack.enter_context(ClickHouseTraces(parse(f"chdb:{chdb_dir}", table))))

        yield _Lazy(build)


class _Lazy(dict[str, Both]):
    def __init__(self, build: Callable[[str], Both]) -> None:
        super().__init__()
        self.build = build

    def __missing__(self, name: str) -> Both:
        self[name] = self.build(name)
        return self[name]


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return type(a) is type(b) and a == b


def assert_same_table(duck: Table, click: Table) -> None:
    assert duck.columns == click.columns
    assert len(duck.rows) == len(click.rows), (duck.rows, click.rows)
    sizes = {i for i, c in enumerate(duck.columns) if c.name in SIZE_COLUMNS}
    for d, c in zip(duck.rows, click.rows, strict=True):
        differing = [
            (duck.columns[i].name, x, y)
            for i, (x, y) in enumerate(zip(d, c, strict=True))
            if i not in sizes and not _same_value(x, y)
        ]
        assert not differing, (d, c)
        # the trace sizes are DuckDB's estimate from its value types, which ClickHouse's strings lose
        assert all(c[i] is None for i in sizes)


def assert_same(duck: Analysis, click: Analysis) -> None:
    assert (duck.spans, duck.calls, duck.first_start, duck.last_end) == (
        click.spans,
        click.calls,
        click.first_start,
        click.last_end,
    )
    assert [t.name for t in duck.tables] == [t.name for t in click.tables]
    for d, c in zip(duck.tables, click.tables, strict=True):
        assert_same_table(d, c)


QUERIES = {
    "by tool": Query(views=CALL_VIEWS),
    # the sessions and traces sections read no grouping but session: "by tool" covers them for these
    "by server": Query(by=("server",), views=("calls", "errors")),
    "by method, errors first": Query(by=("method",), views=("calls", "errors"), sort="errors"),
    "by server and tool": Query(by=("server", "tool"), views=("calls", "errors")),
    "by transport and protocol": Query(by=("transport", "protocol"), views=("calls", "errors")),
    "by client": Query(by=("client",), views=("calls", "errors", "sessions")),
    "sessions listed": Query(by=("session",), views=("sessions",)),
    "server side": Query(views=CALL_VIEWS, side="server"),
    "top 2": Query(views=("calls", "errors"), top=2),
    "a where filter": Query(views=CALL_VIEWS, where=parse_where('side == "client" or method != "tools/call"')),
}


@pytest.mark.parametrize("data", sorted(SETS))
def test_every_call_section_of_every_set_is_the_same_on_clickhouse(pairs: dict[str, Both], data: str) -> None:
    both = pairs[data]
    for query in (QUERIES["by tool"], QUERIES["by server"]):
        assert_same(analyze(both.store, query), analyze(both.clickhouse, query))


@pytest.mark.parametrize("data", RICH)
@pytest.mark.parametrize("name", sorted(set(QUERIES) - {"by tool", "by server"}))
def test_every_grouping_and_filter_is_the_same_on_clickhouse(pairs: dict[str, Both], data: str, name: str) -> None:
    both = pairs[data]
    assert_same(analyze(both.store, QUERIES[name]), analyze(both.clickhouse, QUERIES[name]))


@pytest.mark.parametrize("data", RICH)
def test_filters_by_tool_server_and_time_are_the_same(pairs: dict[str, Both], data: str) -> None:
    both = pairs[data]
    calls = both.store.run("SELECT min(start_ns), max(start_ns), any_value(tool), any_value(server) FROM mcp_calls", {})
    first, last, tool, server = calls[0]
    middle = datetime.fromtimestamp((first + last) / 2e9)
    for query in (
        Query(views=CALL_VIEWS, tools=(tool or "none", "other")),
        Query(views=CALL_VIEWS, servers=(server or "none",)),
        Query(views=CALL_VIEWS, since=middle),
        Query(views=CALL_VIEWS, until=middle),
    ):
        assert_same(analyze(both.store, query), analyze(both.clickhouse, query))


RULES = """
alerts:
  - name: errors
    condition: "error_rate + rejected_rate > 0.05"
  - name: slow tools
    condition: "latency_p95_ms > 100ms and latency_p50_ms > baseline.latency_p50_ms * 0.5"
    scope: tool
  - name: servers
    condition: "success_rate < 0.99 or rounds > 100"
    scope: server
    min_calls: 2
  - name: sessions
    condition: "session_recovery > 0 or session_duration_p95_ms > 1000"
    scope: session
    where: 'side == "client"'
  - name: first response
    condition: "ttfr_p95_ms > 1ms"
"""


@pytest.mark.parametrize("data", RICH)
def test_alert_verdicts_are_the_same(pairs: dict[str, Both], data: str, tmp_path: Path) -> None:
    both = pairs[data]
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    rules = load_rules(rules_file)
    # the data set is its own baseline: one Figures serves both, its sections computed once
    duck_figures, click_figures = Figures(both.store), Figures(both.clickhouse)
    duck = check_alerts(rules, duck_figures, duck_figures)
    click = check_alerts(rules, click_figures, click_figures)
    assert len(duck.verdicts) == len(click.verdicts)
    for d, c in zip(duck.verdicts, click.verdicts, strict=True):
        assert (d.rule.name, d.group, d.status, d.reason) == (c.rule.name, c.group, c.status, c.reason)
        assert d.values.keys() == c.values.keys()
        assert all(_same_value(d.values[k], c.values[k]) for k in d.values), (d.values, c.values)
    assert duck.failed == click.failed


def test_tool_calls_are_linked_by_their_tool_call_id_as_on_the_files(pairs: dict[str, Both]) -> None:
    # real openai-v2 instrumentation output: the LLM call that asked for each tool call names its id in
    # gen_ai.output.messages, the execute_tool span around the MCP call records it (gen_ai.tool.call.id)
    both = pairs["decisions"]
    for query in (Query(views=COST_VIEWS), Query(by=("model",), views=("call_cost",))):
        duck, click = analyze(both.store, query), analyze(both.clickhouse, query)
        assert_same(duck, click)
        assert _notes(duck) == _notes(click)
        sql = "SELECT side, trace_id, call, llm, link, linked_by FROM cost_links ORDER BY ALL"
        links = both.clickhouse.run(sql, {})
        assert [tuple(r) for r in both.store.con.execute(sql).fetchall()] == list(links)
        assert sum(linked_by == "tool call id" for *_, linked_by in links) > 0
    decisions = analyze(both.clickhouse, Query(views=("decisions",))).tables[0].records()
    assert sum(row["linked_by_id"] for row in decisions) > 0
    assert any(row["failed_decision_cost"] for row in decisions)


def _notes(analysis: Analysis) -> list[str]:
    # a note on a span with invalid token counts names where it was read: the file, or the table
    return sorted(re.sub(r"^\S+ ?\S*: span ", "span ", note) for note in analysis.notes)


def test_every_cost_section_is_the_same_on_clickhouse_to_the_pico_dollar(pairs: dict[str, Both]) -> None:
    both = pairs["agent_cost_session"]
    # a price file (a model genai-prices does not know, tools' and servers' fixed costs), then genai-prices alone
    priced = CostOptions(load_prices(ROOT / "sample_traces" / "prices.yaml"))
    for query, cost in (
        (Query(views=COST_VIEWS), priced),
        (Query(by=("model",), views=("call_cost",)), None),
    ):
        duck, click = analyze(both.store, query, cost), analyze(both.clickhouse, query, cost)
        assert_same(duck, click)
        assert _notes(duck) == _notes(click)
    summary = duck.tables[0].records() if duck.tables[0].name == "cost" else None
    assert summary is None or summary[0]["token_cost"]
    assert any(isinstance(v, Decimal) and v for row in click.tables[0].rows for v in row)


COST_RULES = """
alerts:
  - name: spend
    condition: "token_cost > 0.001 or unattributed_cost > 0"
  - name: costly tools
    condition: "cost_per_call > 0.0001 or call_cost_p95 > 0.001 or tokens_per_call > 100"
    scope: tool
  - name: models
    condition: "token_cost > 0.0001 and unpriced_llm_calls == 0"
    scope: model
"""


def test_cost_alert_verdicts_are_the_same(pairs: dict[str, Both], tmp_path: Path) -> None:
    both = pairs["agent_cost_session"]
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(COST_RULES)
    rules = load_rules(rules_file)
    duck, click = check_alerts(rules, Figures(both.store)), check_alerts(rules, Figures(both.clickhouse))
    assert [(v.rule.name, v.group, v.status, v.reason, v.values) for v in duck.verdicts] == [
        (v.rule.name, v.group, v.status, v.reason, v.values) for v in click.verdicts
    ]
    assert duck.failed == click.failed
    assert any(v.status is Status.FIRED for v in click.verdicts)


# What the ingest's post-load steps make of 2026-07-28 calls of several rounds and of calls abandoned
# after input_required (mcpobs.ingest.rounds), per span: which call a round belongs to, the call's
# first start and rounds, and the server's side of an abandoned call marked abandoned too
ROUND_COLUMNS = "trace_id, span_id, round_of, rounds, call_start_ns, error_type, error_class, mcp_failed"


def test_calls_of_several_rounds_and_abandoned_calls_are_the_same_on_clickhouse(pairs: dict[str, Both]) -> None:
    both = pairs["mrtr"]
    sql = f"SELECT {ROUND_COLUMNS} FROM spans WHERE mcp_method IS NOT NULL ORDER BY trace_id, span_id"
    duck = both.store.run(sql, {})
    click = both.clickhouse.run(f"{both.clickhouse.calls_cte} {sql}", {})
    assert duck == click
    # the set holds each kind: rounds of a call on both sides, a server span carrying its call's first
    # start, and a server's side abandoned with its client's call
    kinds = "SELECT DISTINCT mcp_side, round_of IS NOT NULL, call_start_ns IS NOT NULL, error_class FROM spans"
    found = set(both.store.run(kinds, {}))
    assert {("client", True, False, None), ("server", True, False, None), ("server", False, True, None)} <= found
    assert ("server", False, False, "abandoned") in found
    # every grouping, filter and rule: RICH; calls in flight, which count a call of several rounds from
    # its first round's start
    query = Query(by=("server", "concurrency"), views=("calls", "errors"))
    assert_same(analyze(both.store, query), analyze(both.clickhouse, query))


@pytest.mark.parametrize("data", ["auth", "dialects"])
def test_each_calls_http_status_and_challenge_are_the_same(pairs: dict[str, Both], data: str) -> None:
    # auth: the calls' own 401s and 403s and their challenges; dialects: MCP spans with no status of
    # their own, which take their HTTP parent's (mcpobs.ingest._link_http)
    both = pairs[data]
    sql = "SELECT span_id, http_status, auth_challenge FROM calls ORDER BY span_id"
    duck = both.store.run(f"{both.store.calls_cte} {sql}", {})
    click = both.clickhouse.run(f"{both.clickhouse.calls_cte} {sql}", {})
    assert duck == click
    assert any(status is not None for _, status, _ in duck)


def test_auth_sessions_are_the_same_on_clickhouse(pairs: dict[str, Both]) -> None:
    both = pairs["auth"]
    query = Query(by=("session",), views=("sessions", "errors"))
    duck, click = analyze(both.store, query), analyze(both.clickhouse, query)
    assert_same(duck, click)
    sessions = click.tables[0]
    auth = [row[sessions.columns.index(next(c for c in sessions.columns if c.name == "auth"))] for row in sessions.rows]
    assert {"authorised after challenge", "refused"} <= set(auth)
    summary = analyze(both.clickhouse, Query(views=("sessions",))).tables[0]
    challenged = [c.name for c in summary.columns].index("challenged_sessions")
    assert sum(row[challenged] for row in summary.rows) > 0


def test_calls_in_flight_are_the_same_on_clickhouse(pairs: dict[str, Both], tmp_path: Path) -> None:
    both = pairs["concurrency"]
    query = Query(by=("server", "concurrency"), views=("calls", "errors", "sessions"))
    duck, click = analyze(both.store, query), analyze(both.clickhouse, query)
    assert_same(duck, click)
    assert duck.notes == click.notes
    assert {row[2] for row in click.tables[0].rows} >= {"1", "2", "3-4"}
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(
        'alerts:\n  - name: busy\n    condition: "latency_p95_ms > 60ms or error_rate > 0.1"\n    scope: concurrency\n'
    )
    rules = load_rules(rules_file)
    duck_alerts, click_alerts = check_alerts(rules, Figures(both.store)), check_alerts(rules, Figures(both.clickhouse))
    assert [(v.group, v.status, v.reason) for v in duck_alerts.verdicts] == [
        (v.group, v.status, v.reason) for v in click_alerts.verdicts
    ]
    assert any(v.status is Status.FIRED for v in click_alerts.verdicts)


# Sets where a duplicate would count twice in every kind of figure: plain calls (mcp_agent_session),
# a client's call answered by its server's span (peers), wrappers and HTTP parents (dialects)
RETRIED = ("dialects", "mcp_agent_session", "peers")


@pytest.mark.parametrize("data", RETRIED)
def test_spans_the_exporter_wrote_twice_count_once(chdb_dir: Path, data: str) -> None:
    # The Collector retries a batch whose INSERT it saw fail (a timeout) though the server had written
    # it, and otel_traces is a plain MergeTree: the table then holds those spans twice
    # (open-telemetry/opentelemetry-collector#11056, SigNoz/signoz#7281). The store keeps one of each
    # trace_id and span_id at load: so must the ClickHouse model.
    from chdb import session
    from otel_traces_exporter import export, insert, rows

    database = f"retried_{data}"
    with Store() as store:
        load(store, [str(p) for p in SETS[data]])
        s = session.Session(str(chdb_dir))
        try:
            exported = export(store, s, database=database)
            insert(s, rows(store)[::2], database)  # a retried batch: every other span once more
            insert(s, rows(store)[:3], database)  # and a few a third time
        finally:
            s.close()
        with ClickHouseTraces(parse(f"chdb:{chdb_dir}", f"{database}.otel_traces")) as clickhouse:
            ((written,),) = clickhouse.run(f"SELECT count() FROM {database}.otel_traces", {})
            assert written == exported + (exported + 1) // 2 + min(3, exported) > exported
            for query in (Query(views=CALL_VIEWS), Query(by=("server", "session"), views=CALL_VIEWS)):
                assert_same(analyze(store, query), analyze(clickhouse, query))


class _Recorded(ClickHouseTraces):
    """A ClickHouse source that keeps the text of every statement it runs or creates a table with."""

    def __init__(self, location: Location) -> None:
        self.statements: list[str] = []
        super().__init__(location)

    def run(self, sql: str, params: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
        self.statements.append(sql)
        return super().run(sql, params)

    def temporary(self, name: str, sql: str, params: dict[str, Any] | None = None) -> None:
        self.statements.append(sql)
        super().temporary(name, sql, params)


def test_the_ledger_is_built_once_per_command(chdb_dir: Path, exported: Exported) -> None:
    table = exported("agent_cost_session", SETS["agent_cost_session"])
    with _Recorded(parse(f"chdb:{chdb_dir}", table)) as traces:
        traces.statements.clear()
        analyze(traces, Query(views=COST_VIEWS))
        # LLM calls are priced (cost_prices) and shared out (cost_shares' equal shares) in one statement
        # each, which every section then reads, rather than again in every section's query
        assert sum("$cost_prices" in s for s in traces.statements) == 1
        assert sum("PARTITION BY side, trace_id, llm" in s for s in traces.statements) == 1
        temporary = {name for (name,) in traces.run("SELECT name FROM system.tables WHERE is_temporary", {})}
        assert {"cost_llm", "cost_links", "cost_shares", "cost_calls"} <= temporary


@pytest.mark.parametrize("case", ["reused", "event", "not_json"])
def test_links_by_id_are_the_files_in_every_case(chdb_dir: Path, exported: Exported, tmp_path: Path, case: str) -> None:
    from tests.conftest import request, write_lines
    from tests.cost.test_decisions import id_cases

    path = write_lines(tmp_path / f"{case}.jsonl", [request(id_cases()[case], "agent")])
    table = exported(f"ids_{case}", [path])
    sql = "SELECT side, trace_id, call, llm, link, linked_by FROM cost_links ORDER BY ALL"
    with Store() as store, ClickHouseTraces(parse(f"chdb:{chdb_dir}", table)) as clickhouse:
        load(store, [str(path)])
        duck, click = analyze(store, Query(views=COST_VIEWS)), analyze(clickhouse, Query(views=COST_VIEWS))
        assert_same(duck, click)
        links = clickhouse.run(sql, {})
        assert [tuple(r) for r in store.con.execute(sql).fetchall()] == list(links)
    assert (case == "not_json") != any(linked_by == "tool call id" for *_, linked_by in links)
