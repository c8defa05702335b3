"""Everything the dashboards show, gathered once: the HTML report and the terminal view are
both drawn from one :class:`Report`.

The tables are the sections of :func:`mcpobs.analysis.analyze` (so every number is the one
``mcpobs analyze --cost`` prints), the figures over time, distributions and traces of
:mod:`mcpobs.analysis.dashboard` and :mod:`mcpobs.analysis.waterfall`, and the verdicts of
:func:`mcpobs.alerts.check_alerts` when rules were checked. What is left out to keep the
page small is said in :attr:`Report.notes`.

Every figure is a query of the calls, in DuckDB or in ClickHouse alike (:class:`mcpobs.analysis.sql.Calls`):
only aggregates come back, and the spans of the few traces drawn as waterfalls.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from mcpobs.alerts import Outcome
from mcpobs.analysis import CALL_VIEWS, COST_VIEWS, Analysis, Query, Table, analyze
from mcpobs.analysis.cost import costliest_groups
from mcpobs.analysis.dashboard import bucket_width, error_messages, error_timeline, latency_histogram, timeline
from mcpobs.analysis.queries import SECTIONS
from mcpobs.analysis.sql import Calls, filters, ns
from mcpobs.analysis.waterfall import TraceView, pick_traces, trace_sizes, trace_views
from mcpobs.cost import CostOptions
from mcpobs.sqlengine import DUCKDB
from mcpobs.store import IN_FLIGHT_BUCKETS

# The groupings the cost charts show, besides the tool (which analyze's own call_cost section holds).
COST_BY = ("server", "model", "session")
# The argument sections listing calls one by one: the report keeps the first Limits.invalid of each.
_LISTINGS = ("invalid_arguments", "invalid_results")


@dataclass(frozen=True)
class Limits:
    """How much a report embeds at most."""

    buckets: int = 60  # time buckets per chart over time
    traces: int = 5  # slowest traces, and failing traces, each
    spans: int = 150  # spans per trace in a waterfall
    tools: int = 20  # tools in the charts with a panel or row per tool
    messages: int = 20  # most frequent error messages
    groups: int = 10  # costliest servers, models, sessions
    invalid: int = 20  # calls with invalid arguments, and with invalid results, each
    trace_spans: int = 100_000  # spans of a trace read to draw it: a larger trace is not drawn


@dataclass(frozen=True)
class Report:
    """The figures of one report."""

    analysis: Analysis  # analyze's sections, grouped by tool, cost sections included
    overview: Table  # analyze's calls section with no grouping: one row per side, every MCP call
    cost_by: dict[str, Table]  # the call_cost section by tool, server, model and session: the costliest groups
    cost_groups: dict[str, int]  # how many groups with a cost there are, by the same keys
    bucket_ns: int  # the width of the time buckets, in nanoseconds
    timeline: Table  # calls and errors per bucket and side, every bucket
    tool_timeline: Table  # the same per tool (the top tools by calls)
    error_timeline: Table  # errors per bucket, side and class
    latency: Table  # the latency histogram of the top tools
    messages: Table  # the most frequent error messages
    message_kinds: int  # how many different messages there are
    slowest: tuple[TraceView, ...]
    traces: int  # traces holding a selected call
    failing: tuple[TraceView, ...]
    failing_traces: int  # traces where a selected call failed
    concurrency: Table  # the calls section by server and calls in flight: the busiest servers
    arguments: Table  # analyze's arguments section by tool: calls checked against the inputSchema, invalid
    invalid_arguments: Table  # the first calls whose arguments do not validate, in the order they started
    invalid_results: Table  # the first calls whose results do not validate against the outputSchema
    argument_notes: tuple[str, ...]  # why arguments were not checked (not recorded, no inputSchema)
    argument_totals: dict[str, int]  # the arguments section's counts of checked and invalid, over every tool
    tools: tuple[str, ...]  # the tools of the charts per tool, most called first
    tool_count: int  # every tool called, however many the charts show
    outcome: Outcome | None = None  # the verdicts of the rules, when rules were given
    notes: tuple[str, ...] = field(default=())  # what was left out of the charts, for the reader


def build_report(
    store: Calls,
    query: Query,
    cost: CostOptions | None = None,
    outcome: Outcome | None = None,
    limits: Limits = Limits(),
) -> Report:
    """The report of the calls ``query`` selects (its filters; its grouping, sections and
    ordering are the report's own) in ``store``, with the verdicts in ``outcome``."""
    e = store.engine
    # the call and cost sections; the argument sections below, their notes apart from the cost's
    sections = CALL_VIEWS + COST_VIEWS
    analysis = analyze(store, replace(query, by=("tool",), views=sections, sort="calls", top=None), cost)
    overview = analyze(store, replace(query, by=(), views=("calls",), sort="calls", top=None)).table("calls")
    cost_by: dict[str, Table] = {}
    cost_groups: dict[str, int] = {}
    cost_notes = []
    for key in ("tool", *COST_BY):
        top = limits.tools if key == "tool" else limits.groups
        if key == "tool":
            cost_by[key], cost_groups[key] = _costliest(analysis.table("call_cost"), key, top)
        else:
            grouped = replace(query, by=(key,), top=None)
            # the ledger analyze built above is still there: read it as analyze does
            cost_by[key], cost_groups[key] = costliest_groups(store, grouped, *filters(grouped, e), key, top)
        if cost_groups[key] > top:
            cost_notes.append(f"The cost chart by {key} shows the {top} costliest of {cost_groups[key]} {key}s.")
    where, params = filters(query, e)
    first = ns(analysis.first_start) if analysis.first_start else 0
    last = ns(analysis.last_end) if analysis.last_end else first
    width = bucket_width(first, last, limits.buckets)
    notes: list[str] = []
    tools = _top_tools(analysis.table("calls"), limits.tools)
    every_tool = _top_tools(analysis.table("calls"), None)
    if len(every_tool) > len(tools):
        notes.append(f"The charts per tool show the {len(tools)} most called of {len(every_tool)} tools.")
    tool_timeline = _only(timeline(store, query, where, params, width, ("tool",)), tools)
    latency = _only(latency_histogram(store, query, where, params), tools)
    messages, kinds = error_messages(store, query, where, params, limits.messages)
    if kinds > limits.messages:
        notes.append(f"The {limits.messages} most frequent of {kinds} different error messages are shown.")
    slow_ids, traces = pick_traces(store, where, params, failing=False, limit=limits.traces)
    failing_ids, failing = pick_traces(store, where, params, failing=True, limit=limits.traces)
    if traces > len(slow_ids):
        notes.append(f"The {len(slow_ids)} slowest of {traces} traces are shown.")
    if failing > len(failing_ids):
        notes.append(f"{len(failing_ids)} of {failing} failing traces are shown, those with the most failed spans.")
    picked = tuple(dict.fromkeys(slow_ids + failing_ids))
    # a trace is read whole to draw it (its cascade needs every failure): one too large is left out
    sizes = trace_sizes(store, picked)
    for trace_id in picked:
        if sizes.get(trace_id, 0) > limits.trace_spans:
            notes.append(
                f"Trace {trace_id} is not drawn: its {sizes[trace_id]:,} spans are more than the "
                f"{limits.trace_spans:,} a waterfall reads."
            )
    drawn = tuple(t for t in picked if sizes.get(t, 0) <= limits.trace_spans)
    views = {v.trace_id: v for v in trace_views(store, drawn, limits.spans)}
    for view in views.values():
        if len(view.spans.rows) < view.span_count:
            notes.append(
                f"Trace {view.trace_id}: {len(view.spans.rows)} of its {view.span_count} spans are shown "
                "(the failed ones, then their nearest ancestors, then the earliest)."
            )
    concurrency, servers = _busiest(store, query, limits.groups)
    if servers > limits.groups:
        notes.append(f"The charts of calls in flight show the {limits.groups} most called of {servers} servers.")
    notes.extend(cost_notes)
    if e is not DUCKDB:
        # DuckDB estimates them from the spans' value types, which the exporter's strings no longer tell
        notes.append(f"Trace sizes in bytes are not available on {e.title}.")
    arguments, invalid_arguments, invalid_results, argument_notes, totals = _arguments(
        store, query, where, params, limits, notes
    )
    return Report(
        analysis=analysis,
        overview=overview,
        cost_by=cost_by,
        cost_groups=cost_groups,
        bucket_ns=width,
        timeline=timeline(store, query, where, params, width),
        tool_timeline=tool_timeline,
        error_timeline=error_timeline(store, query, where, params, width),
        latency=latency,
        messages=messages,
        message_kinds=kinds,
        slowest=tuple(views[t] for t in slow_ids if t in views),
        traces=traces,
        failing=tuple(views[t] for t in failing_ids if t in views),
        failing_traces=failing,
        concurrency=concurrency,
        arguments=arguments,
        invalid_arguments=invalid_arguments,
        invalid_results=invalid_results,
        argument_notes=argument_notes,
        argument_totals=totals,
        tools=tools,
        tool_count=len(every_tool),
        outcome=outcome,
        notes=tuple(notes),
    )


def _arguments(
    store: Calls,
    query: Query,
    where: str,
    params: dict[str, Any],
    limits: Limits,
    notes: list[str],
) -> tuple[Table, Table, Table, tuple[str, ...], dict[str, int]]:
    """analyze's arguments section by tool, the first calls with invalid arguments and results, why
    arguments were not checked, and the counts over every tool."""
    names = ("arguments_checked", "invalid_arguments", "results_checked", "invalid_results")
    arguments = analyze(store, replace(query, by=("tool",), views=("arguments",), sort="calls", top=None))
    listed = replace(query, top=limits.invalid)
    # the checks analyze wrote are still there: list the invalid calls as analyze does, the first of them
    invalid_arguments, invalid_results = (SECTIONS[v](store, listed, where, params) for v in _LISTINGS)
    totals = {name: sum(r[name] or 0 for r in arguments.table("arguments").records()) for name in names}
    for table, what in ((invalid_arguments, "arguments"), (invalid_results, "results")):
        if totals[f"invalid_{what}"] > len(table.rows):
            count = totals[f"invalid_{what}"]
            notes.append(f"The first {len(table.rows)} of {count} tool calls with invalid {what} are listed.")
    return arguments.table("arguments"), invalid_arguments, invalid_results, arguments.notes, totals


def _top_tools(calls: Table, limit: int | None) -> tuple[str, ...]:
    """The tools of analyze's calls section, most calls (on either side) first, then by name."""
    totals: dict[str, int] = {}
    for record in calls.records():
        if record["tool"] is not None:
            totals[record["tool"]] = max(totals.get(record["tool"], 0), record["calls"])
    ranked = sorted(totals, key=lambda tool: (-totals[tool], tool))
    return tuple(ranked if limit is None else ranked[:limit])


BUCKET_ORDER = {label: i for i, (label, _) in enumerate(IN_FLIGHT_BUCKETS)}


def _busiest(store: Calls, query: Query, limit: int) -> tuple[Table, int]:
    """analyze's calls section by server and calls in flight, for the ``limit`` most called servers (the
    most called first, then by name; each server's buckets in order, client side first); and how
    many servers there are."""
    grouped = replace(query, by=("server", "concurrency"), top=None)
    table = SECTIONS["calls"](store, grouped, *filters(grouped, store.engine))
    totals: dict[str, int] = {}
    for record in table.records():
        totals[record["server"]] = totals.get(record["server"], 0) + record["calls"]
    ranked = sorted(totals, key=lambda server: (-totals[server], str(server)))
    rank = {server: i for i, server in enumerate(ranked[:limit])}
    names = [c.name for c in table.columns]
    at, side, bucket = names.index("server"), names.index("side"), names.index("concurrency")
    kept = sorted(
        (r for r in table.rows if r[at] in rank),
        key=lambda r: (rank[r[at]], BUCKET_ORDER[r[bucket]], str(r[side])),
    )
    return replace(table, name="in_flight", rows=tuple(kept)), len(ranked)


def _costliest(table: Table, key: str, limit: int) -> tuple[Table, int]:
    """The rows of the ``limit`` costliest groups of a call_cost ``table`` grouped by ``key``, both
    sides of each, the costliest group first (by the higher of its sides' totals, then by name);
    and how many groups have a cost."""
    totals: dict[object, Decimal] = {}
    for record in table.records():
        if record["total_cost"]:
            group = record[key]
            totals[group] = max(totals.get(group, record["total_cost"]), record["total_cost"])
    ranked = sorted(totals, key=lambda group: (-totals[group], group is None, str(group)))
    rank = {group: i for i, group in enumerate(ranked[:limit])}
    at, side = [c.name for c in table.columns].index(key), [c.name for c in table.columns].index("side")
    kept = sorted((r for r in table.rows if r[at] in rank), key=lambda r: (rank[r[at]], str(r[side])))
    return replace(table, rows=tuple(kept)), len(ranked)


def _only(table: Table, tools: tuple[str, ...]) -> Table:
    """The rows of ``table`` about the given tools."""
    at = [c.name for c in table.columns].index("tool")
    keep = set(tools)
    return replace(table, rows=tuple(r for r in table.rows if r[at] in keep))
