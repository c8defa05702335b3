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
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")

from conftest import Exported

from mcpobs.alerts import check_alerts, load_rules
from mcpobs.alerts.check import Outcome, Status
from mcpobs.analysis import Query, analyze
from mcpobs.analysis.dashboard import error_messages
from mcpobs.analysis.metrics import Figures
from mcpobs.analysis.model import Analysis, Table
from mcpobs.analysis.queries import COST_VIEWS
from mcpobs.analysis.sql import filters, parse_where
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
            "anthropic",
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
# Every set above in one table, as a production table holds every service's spans: MCP traces of every
# dialect beside traces with no MCP and no GenAI span (gRPC, HTTP, database and language-server spans of
# edge, openllmetry, sentry and spellings), which the call model counts but does not derive
SETS["together"] = sorted({path for files in SETS.values() for path in files})
CALL_VIEWS = ("calls", "errors", "sessions", "traces")
SIZE_COLUMNS = ("size_p50_bytes", "size_p95_bytes", "size_max_bytes")


class Both:
    """One data set in DuckDB (loaded from its files) and in chDB (written as the exporter writes it)."""

    def __init__(self, store: Store, clickhouse: ClickHouseTraces) -> None:
        self.store = store
        self.clickhouse = clickhouse


# Every set is checked on the default analysis and per server; these on every grouping, filter and rule
# too (each ClickHouse query of the call model takes about a second to plan and run on chDB).
RICH = ("dialects", "fastmcp", "mcp_agent_session", "mrtr", "together")


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


def test_llm_calls_traced_twice_count_once_on_clickhouse(pairs: dict[str, Both]) -> None:
    # OpenLLMetry's anthropic spans beside the anthropic SDK's own: each call two spans, one gen_ai.response.id;
    # OpenInference's around the SDK's: the SDK's span is still its sub-agent's
    both = pairs["anthropic"]
    for query in (Query(views=COST_VIEWS), Query(by=("model",), views=("call_cost",))):
        duck, click = analyze(both.store, query), analyze(both.clickhouse, query)
        assert_same(duck, click)
        assert _notes(duck) == _notes(click)
        assert any("traced twice" in note for note in click.notes)
    models = analyze(both.clickhouse, Query(views=("models",))).tables[0].records()
    # the folder's two files, each of 8 API calls: one with OpenLLMetry's spans, one with OpenInference's
    assert sum(row["llm_calls"] for row in models) == 16
    decisions = analyze(both.clickhouse, Query(views=("decisions",))).tables[0].records()
    assert {r["model"]: r["tool_calls_requested"] for r in decisions} == {
        "claude-sonnet-4-5-20250929": 10,
        "claude-haiku-4-5-20251001": 2,
    }


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


def assert_same_verdicts(both: Both, rules_text: str, tmp_path: Path) -> Outcome:
    """The rules ``rules_text`` checked on both engines: the same verdicts, values to the last digit;
    ClickHouse's."""
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(rules_text)
    rules = load_rules(rules_file)
    duck, click = check_alerts(rules, Figures(both.store)), check_alerts(rules, Figures(both.clickhouse))
    assert [(v.rule.name, v.group, v.status, v.reason, v.values) for v in duck.verdicts] == [
        (v.rule.name, v.group, v.status, v.reason, v.values) for v in click.verdicts
    ]
    assert duck.failed == click.failed
    return click


def test_cost_alert_verdicts_are_the_same(pairs: dict[str, Both], tmp_path: Path) -> None:
    click = assert_same_verdicts(pairs["agent_cost_session"], COST_RULES, tmp_path)
    assert any(v.status is Status.FIRED for v in click.verdicts)


def test_alert_verdicts_over_the_calls_filters_select_are_the_same(pairs: dict[str, Both], tmp_path: Path) -> None:
    # check-alerts and report --rules with --tool, --side and --where: the rules over those calls alone
    both = pairs["agent_cost_session"]
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(COST_RULES + '  - name: errors\n    condition: "error_rate > 0.05"\n')
    rules = load_rules(rules_file)
    calls = Query(tools=("read_file", "run_query"), side="server", where=parse_where('tool != "run_query"'))
    duck, click = (check_alerts(rules, Figures(traces, calls=calls)) for traces in (both.store, both.clickhouse))
    assert [(v.rule.name, v.group, v.status, v.reason, v.values) for v in duck.verdicts] == [
        (v.rule.name, v.group, v.status, v.reason, v.values) for v in click.verdicts
    ]
    # read_file's one error in four, on the server: the only tool and side left
    tools = {v.group for v in click.verdicts if v.rule.name == "costly tools"}
    assert tools == {(("side", "server"), ("tool", "read_file"))}
    assert [v.status for v in click.verdicts if v.rule.name == "errors"] == [Status.FIRED]


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


def _copies(tmp_path: Path, tie: bool) -> tuple[Path, Path]:
    """Two files that give one call under the same ids with other content, and a second call alike in both:
    the second copy holds one attribute more (a session), or as many (``tie``: another transport)."""
    from tests.conftest import request, span, write_lines

    def failed(message: str, error_type: str, attributes: dict[str, Any]) -> dict[str, Any]:
        found = span(span_id="00000000000000a1", error_type=error_type, attributes=attributes)
        found["status"]["message"] = message
        return found

    same = span(span_id="00000000000000a2", name="tools/call get-forecast", start=1_700_000_001_000_000_000)
    poor = failed("internal error", "-32603", {})
    other = {"network.transport": "pipe"} if tie else {"network.transport": "pipe", "mcp.session.id": "s-1"}
    rich = failed("timed out", "-32001", other)
    poor["attributes"].append({"key": "network.transport", "value": {"stringValue": "tcp"}})
    return (
        write_lines(tmp_path / "poor.jsonl", [request([poor, same])]),
        write_lines(tmp_path / "rich.jsonl", [request([rich, same])]),
    )


def _written_in_order(chdb_dir: Path, database: str, files: Sequence[Path]) -> None:
    """The table ``database.otel_traces`` with each file's spans written by the exporter in turn, the
    last one's twice (a retried batch)."""
    from chdb import session
    from otel_traces_exporter import DDL, insert, rows

    written = []
    for file in files:
        with Store() as store:
            load(store, [str(file)])
            written.append(rows(store))
    s = session.Session(str(chdb_dir))
    try:
        s.query(f"CREATE DATABASE IF NOT EXISTS {database}")
        s.query(DDL.format(database=database, table="otel_traces"))
        for found in [*written, written[-1]]:
            insert(s, found, database)
    finally:
        s.close()


def _figures(clickhouse: ClickHouseTraces | Store) -> tuple[Analysis, Table]:
    query = Query(views=CALL_VIEWS, by=("tool", "session"))
    return analyze(clickhouse, query), error_messages(clickhouse, query, *filters(query, clickhouse.engine), 10)[0]


@pytest.mark.parametrize("tie", [False, True], ids=["richer", "as_rich"])
def test_a_span_given_twice_with_other_content_is_the_copy_the_files_keep(
    chdb_dir: Path, tmp_path: Path, tie: bool
) -> None:
    # Two exporters (or hand-made ids) give one span with other content. From files the copy that holds
    # more attributes and events stays, else the one of the smaller content hash, whatever the order of
    # the files (mcpobs.ingest._resolve_conflicts); the table's rows are read in the same way, whatever
    # the order they were written in, and the copies alike (a retried batch) still count once.
    poor, rich = _copies(tmp_path, tie)
    found = {}
    for order in ((poor, rich), (rich, poor)):
        database = f"copies_{'tie' if tie else 'richer'}_{order[0].stem}_first"
        _written_in_order(chdb_dir, database, order)
        with ClickHouseTraces(parse(f"chdb:{chdb_dir}", f"{database}.otel_traces")) as clickhouse:
            ((written,),) = clickhouse.run(f"SELECT count() FROM {database}.otel_traces", {})
            assert written == 6
            found[order] = _figures(clickhouse)
    (first, first_messages), (second, second_messages) = found.values()
    assert_same(first, second)
    assert_same_table(first_messages, second_messages)
    assert first.calls == 2
    if not tie:
        with Store() as store:
            load(store, [str(poor), str(rich)])
            duck, duck_messages = _figures(store)
        assert_same(duck, first)
        assert_same_table(duck_messages, first_messages)
        assert [r[4] for r in first_messages.rows] == ["timed out"]


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


# --value-attr's values as spans write them: a double, an integer, numbers as text (with white space
# around one), a boolean and words (no number), on tool calls and the LLM calls; a large double (written
# 1e+21) on the agent's root span
VALUES: list[Any] = [2.5, 3, "4.25", " 1.5 ", True, "high", 7]


def _valued_session(tmp_path: Path) -> Path:
    from tests.conftest import llm_span, request, span, write_lines

    trace = "0af7651916cd43dd8448eb211c80319c"
    start = 1_760_000_000_000_000_000
    spans = [
        llm_span(
            trace=trace, span_id="00000000000000a0", start=start, duration_ns=10**9, attributes={"task.value": 1e21}
        )
    ]
    for i, value in enumerate(VALUES):
        at = start + (i + 1) * 10**8
        spans.append(
            llm_span(
                trace=trace,
                span_id=f"00000000000000b{i}",
                parent="00000000000000a0",
                start=at,
                duration_ns=10**7,
                usage={"input_tokens": 100 + i, "output_tokens": 10},
                attributes={"task.value": value},
            )
        )
        spans.append(
            span(
                trace=trace,
                span_id=f"00000000000000c{i}",
                parent="00000000000000a0",
                name=f"tools/call tool{i % 3}",
                kind=3,
                start=at + 2 * 10**7,
                attributes={"task.value": value, "mcp.session.id": f"s{i % 2}"},
            )
        )
    return write_lines(tmp_path / "valued.jsonl", [request(spans, "agent")])


def test_a_value_attribute_gives_the_files_figures(exported: Exported, chdb_dir: Path, tmp_path: Path) -> None:
    # the sample's task.value (doubles on its agent runs), and one of every value type a span may hold
    priced = CostOptions(load_prices(ROOT / "sample_traces" / "prices.yaml"), "task.value")
    valued = _valued_session(tmp_path)
    for name, files in (("agent_cost_session", SETS["agent_cost_session"]), ("valued", [valued])):
        with Store() as store, ClickHouseTraces(parse(f"chdb:{chdb_dir}", exported(name, files))) as clickhouse:
            load(store, [str(p) for p in files])
            values = []
            for query in (Query(views=COST_VIEWS), Query(by=("tool",), views=("call_cost",))):
                duck, click = analyze(store, query, priced), analyze(clickhouse, query, priced)
                assert_same(duck, click)
                values += [r["value"] for t in click.tables for r in t.records() if r.get("value")]
            assert values, name


def test_traces_with_no_call_are_counted_and_not_derived(pairs: dict[str, Both], tmp_path: Path) -> None:
    # A production otel_traces is mostly other services' HTTP, database and queue traces: the call model
    # derives only the traces holding an MCP or GenAI span, and counts the others' spans
    both = pairs["together"]
    no_call = """trace_id NOT IN (SELECT trace_id FROM spans WHERE mcp_method IS NOT NULL
        OR gen_ai_operation IS NOT NULL OR gen_ai_request_model IS NOT NULL OR input_tokens IS NOT NULL)"""
    ((traces, with_status),) = both.store.run(
        f"SELECT count(DISTINCT trace_id), count(http_status) FROM spans WHERE {no_call}", {}
    )
    assert traces >= 40
    assert with_status > 0
    # their spans are there, not their derived columns (an HTTP status, read only as an MCP span's parent's)
    ((derived,),) = both.clickhouse.run(
        f"{both.clickhouse.calls_cte} SELECT count(http_status) FROM spans WHERE {no_call}", {}
    )
    assert derived == 0
    priced = CostOptions(load_prices(ROOT / "sample_traces" / "prices.yaml"))
    for query, cost in (
        (Query(views=(*CALL_VIEWS, *COST_VIEWS)), priced),
        (Query(by=("model",), views=("call_cost",)), None),
    ):
        duck, click = analyze(both.store, query, cost), analyze(both.clickhouse, query, cost)
        assert_same(duck, click)
        assert _notes(duck) == _notes(click)
    assert_same_verdicts(both, COST_RULES, tmp_path)


def test_a_model_built_in_parts_is_the_model_built_at_once(pairs: dict[str, Both]) -> None:
    # a window of more spans than BUCKET_SPANS is built a share of its traces at a time, to bound the memory
    # a build takes: the same spans, derived alike, whether the table holds MCP traces or others
    both = pairs["together"]
    location = both.clickhouse.location
    ((spans,),) = both.clickhouse.run(f"SELECT count() FROM {location.qualified}", {})
    assert both.clickhouse.buckets == 1
    every = f"{both.clickhouse.calls_cte} SELECT * FROM spans ORDER BY trace_id, span_id"
    with ClickHouseTraces(location, bucket_spans=-(-spans // 3)) as parts:
        assert parts.buckets == 3
        assert parts.run(every.replace(both.clickhouse.calls_cte, parts.calls_cte), {}) == both.clickhouse.run(
            every, {}
        )
        query = Query(views=(*CALL_VIEWS, *COST_VIEWS))
        assert_same(analyze(both.store, query, CostOptions()), analyze(parts, query, CostOptions()))
