"""Whole traces for a waterfall: the slowest and the failing ones, their spans on a time
axis, and the cascade of their failures (which came first, and which followed from it)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mcpobs.analysis.dashboard import span_messages
from mcpobs.analysis.model import Column, Table, Unit
from mcpobs.analysis.sql import Calls, rows
from mcpobs.store import rejected_sql

# A span failed: a call that failed (a server's rejected request is no failure of it), or any span
# with error status.
FAILED_SQL = (
    f"(coalesce(mcp_failed, false) OR status_code = 2) AND NOT {rejected_sql('mcp_side', 'error_type', 'mcp_method')}"
)

# What a span is in a waterfall: the two sides of an MCP call, an LLM call, an agent's tool step,
# an agent's run, other work.
ROLES = ("client", "server", "llm", "tool", "agent", "other")

SPAN_COLUMNS = (
    Column("row", Unit.COUNT, "the span's place in the waterfall: parents before children, siblings by start"),
    Column("span_id", Unit.TEXT),
    Column("parent_span_id", Unit.TEXT),
    Column("depth", Unit.COUNT, "0 for a span whose parent is not in the trace"),
    Column("name", Unit.TEXT),
    Column("role", Unit.TEXT, "client or server side of an MCP call, llm call, agent tool step, agent run, other"),
    Column("service", Unit.TEXT),
    Column("start_ms", Unit.MS, "from the trace's first span start"),
    Column("end_ms", Unit.MS, "from the trace's first span start"),
    Column("duration_ms", Unit.MS),
    Column("failed", Unit.FLAG),
    Column("error_class", Unit.TEXT),
    Column("message", Unit.TEXT, prose=True),
    Column("failure", Unit.COUNT, "the failure's number in the cascade"),
    Column(
        "asked_by", Unit.TEXT, "a tool call's span: the LLM call that asked for it, where the cost ledger links one"
    ),
)

CASCADE_COLUMNS = (
    Column(
        "failure",
        Unit.COUNT,
        "failures numbered as they ended, each after those below it unless it timed out or was cancelled first",
        "#",
    ),
    Column("span_id", Unit.TEXT),
    Column("name", Unit.TEXT),
    Column("role", Unit.TEXT),
    Column("error_class", Unit.TEXT),
    Column("message", Unit.TEXT, prose=True),
    Column("at_ms", Unit.MS, "when it failed (its end), from the trace's start", "at ms"),
    Column("follows", Unit.COUNT, "the failure this one followed from; none for a first failure", "follows #"),
    Column(
        "relation",
        Unit.TEXT,
        "how it followed: client side of, caller of, cancelled by client or caller, retry of; else first",
    ),
)


@dataclass(frozen=True)
class TraceView:
    """One trace as a waterfall shows it."""

    trace_id: str
    start: datetime
    duration_ms: float
    span_count: int  # every span of the trace; ``spans`` may hold fewer
    spans: Table
    cascade: Table


@dataclass(frozen=True)
class _Span:
    span_id: str
    parent: str | None
    name: str
    role: str
    service: str | None
    start_ns: int
    end_ns: int
    failed: bool
    error_class: str | None
    message: str | None
    method: str | None
    target: str | None
    side: str | None
    call_key: int | None


def pick_traces(
    store: Calls, where: str, params: dict[str, Any], *, failing: bool, limit: int
) -> tuple[tuple[str, ...], int]:
    """The traces holding calls ``where`` selects: the longest first, or with ``failing`` those
    where a selected call failed, most failed spans first; at most ``limit``, and how many there are."""
    if failing:
        selected = f"SELECT DISTINCT trace_id FROM calls WHERE {where} AND failed"
        order = f"count(*) FILTER (WHERE {FAILED_SQL}) DESC, min(start_ns)"
    else:
        selected = f"SELECT DISTINCT trace_id FROM calls WHERE {where}"
        order = "max(end_ns) - min(start_ns) DESC"
    sql = f"""{store.calls_cte}, selected AS ({selected})
    SELECT trace_id, count(*) OVER () FROM spans WHERE trace_id IN (SELECT trace_id FROM selected)
    GROUP BY trace_id ORDER BY {order}, trace_id LIMIT $limit
    """
    found = rows(store, sql, {**params, "limit": limit})
    return tuple(r[0] for r in found), int(found[0][1]) if found else 0


def trace_sizes(store: Calls, trace_ids: tuple[str, ...]) -> dict[str, int]:
    """How many spans each of the traces has."""
    sql = f"""{store.calls_cte}
    SELECT trace_id, count(*) FROM spans WHERE {store.engine.in_list("trace_id", "traces")} GROUP BY trace_id"""
    return {trace_id: int(n) for trace_id, n in rows(store, sql, {"traces": list(trace_ids)})}


def trace_views(store: Calls, trace_ids: tuple[str, ...], max_spans: int) -> list[TraceView]:
    """Each trace's spans in waterfall order (at most ``max_spans``: the failed ones, then their
    ancestors, nearest first, then the earliest), and the cascade of all its failures."""
    in_traces = store.engine.in_list("trace_id", "traces")
    failed = f"SELECT trace_id, span_id FROM spans WHERE {in_traces} AND {FAILED_SQL}"
    sql = f"""{store.calls_cte}
    SELECT s.trace_id, s.span_id, nullif(parent_span_id, ''), coalesce(name, ''),
        CASE WHEN mcp_side IN ('client', 'server') THEN mcp_side
             WHEN gen_ai_operation IN ('invoke_agent', 'create_agent') THEN 'agent'
             WHEN gen_ai_operation = 'execute_tool' THEN 'tool'
             WHEN input_tokens IS NOT NULL OR output_tokens IS NOT NULL
                OR gen_ai_operation IN ('chat', 'text_completion', 'generate_content', 'embeddings') THEN 'llm'
             ELSE 'other' END,
        service_name, start_ns, end_ns, {FAILED_SQL} AS failed,
        CASE WHEN {FAILED_SQL} THEN coalesce(error_class, 'other') END,
        m.message, mcp_method, mcp_target, mcp_side, call_key
    FROM spans s LEFT JOIN ({span_messages(store, failed)}) AS m ON m.trace_id = s.trace_id AND m.span_id = s.span_id
    WHERE {store.engine.in_list("s.trace_id", "traces")}
    ORDER BY s.trace_id, start_ns, s.span_id
    """
    by_trace: dict[str, list[_Span]] = {}
    for trace_id, *span in rows(store, sql, {"traces": list(trace_ids)}):
        span[7] = bool(span[7])  # failed: ClickHouse's booleans come back as 0 and 1
        by_trace.setdefault(trace_id, []).append(_Span(*span))
    asked = _asked_by(store, trace_ids)
    return [_view(trace_id, by_trace[trace_id], max_spans, asked) for trace_id in trace_ids if trace_id in by_trace]


def _asked_by(store: Calls, trace_ids: tuple[str, ...]) -> dict[tuple[str, str], str]:
    """Each tool call's trace and span -> the LLM call's span that asked for it, as the cost ledger
    (:mod:`mcpobs.cost.ledger`) links them; nothing where no ledger was built on this store."""
    from mcpobs.analysis.cost import _run  # the cost sections' reader: the ledger is theirs
    from mcpobs.store import Store

    if isinstance(store, Store):
        # the ledger's temporary tables are seen by the connection that made them, not by a cursor
        built = "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = 'cost_links'"
        if not store.con.execute(built).fetchall()[0][0]:
            return {}
    else:
        from mcpobs.clickhouse import ClickHouseTraces

        assert isinstance(store, ClickHouseTraces)
        if "cost_links" not in store.temporary_tables:
            return {}
    sql = f"""WITH asked AS (
        SELECT trace_id, call, llm FROM cost_links WHERE link = 'asked' AND {store.engine.in_list("trace_id", "traces")}
    ) SELECT * FROM asked"""
    return {(trace, call): llm for trace, call, llm in _run(store, sql, {"traces": list(trace_ids)})}


def _view(trace_id: str, spans: list[_Span], max_spans: int, asked: dict[tuple[str, str], str]) -> TraceView:
    by_id = {s.span_id: s for s in spans}
    children: dict[str | None, list[_Span]] = {}
    for s in spans:
        parent = s.parent if s.parent in by_id and s.parent != s.span_id else None
        children.setdefault(parent, []).append(s)
    ordered: list[tuple[_Span, int]] = []
    seen: set[str] = set()

    def walk(parent: str | None, depth: int) -> None:
        # an explicit stack: a trace may be deeper than Python's recursion limit
        stack = [(s, depth) for s in reversed(children.get(parent, []))]
        while stack:
            span, d = stack.pop()
            if span.span_id in seen:
                continue  # a duplicated or cyclic parent link: each span once
            seen.add(span.span_id)
            ordered.append((span, d))
            stack.extend((c, d + 1) for c in reversed(children.get(span.span_id, [])))

    walk(None, 0)
    for s in spans:  # spans on a parent cycle have no root: show them flat, at the end
        if s.span_id not in seen:
            seen.add(s.span_id)
            ordered.append((s, 0))
    t0 = min(s.start_ns for s in spans)
    parents = _tree_parents(ordered)
    failures = _cascade(ordered)
    number = {span_id: n for n, (span_id, *_rest) in enumerate(failures, 1)}
    kept = _keep(ordered, parents, [span_id for span_id, *_rest in failures], max_spans)
    shown = {s.span_id for s, _ in kept}
    span_rows = tuple(
        (
            i,
            s.span_id,
            s.parent,
            depth,
            s.name,
            s.role,
            s.service,
            (s.start_ns - t0) / 1e6,
            (s.end_ns - t0) / 1e6,
            (s.end_ns - s.start_ns) / 1e6,
            s.failed,
            s.error_class,
            s.message,
            number.get(s.span_id),
            asked.get((trace_id, s.span_id)) if asked.get((trace_id, s.span_id)) in shown else None,
        )
        for i, (s, depth) in enumerate(kept, 1)
    )
    cascade_rows = tuple(
        (n, span_id, by_id[span_id].name, by_id[span_id].role, by_id[span_id].error_class, by_id[span_id].message,
         (by_id[span_id].end_ns - t0) / 1e6, number.get(cause) if cause else None, relation)
        for n, (span_id, cause, relation) in enumerate(failures, 1)
    )  # fmt: skip
    return TraceView(
        trace_id,
        datetime.fromtimestamp(t0 / 1e9, tz=UTC),
        (max(s.end_ns for s in spans) - t0) / 1e6,
        len(spans),
        Table("trace_spans", f"Trace {trace_id}", SPAN_COLUMNS, span_rows),
        Table("cascade", f"Failures in trace {trace_id}", CASCADE_COLUMNS, cascade_rows),
    )


def _tree_parents(ordered: list[tuple[_Span, int]]) -> dict[str, _Span]:
    """Each span's parent as the waterfall draws it (none for a root, or a span on a parent cycle)."""
    parents: dict[str, _Span] = {}
    path: list[_Span] = []  # the ancestors of the span at hand, root first
    for span, depth in ordered:
        del path[depth:]
        if path:
            parents[span.span_id] = path[-1]
        path.append(span)
    return parents


def _keep(
    ordered: list[tuple[_Span, int]], parents: dict[str, _Span], failed: list[str], limit: int
) -> list[tuple[_Span, int]]:
    """At most ``limit`` spans, in waterfall order: the ``failed`` ones (in the cascade's order),
    then their ancestors, nearest first, then the earliest others. A deep failure is kept even
    when its chain to the root is longer than the limit."""
    if len(ordered) <= limit:
        return ordered
    wanted = failed[:limit]
    chosen = set(wanted)
    frontier = list(wanted)
    while frontier and len(wanted) < limit:
        above = []
        for span_id in frontier:
            parent = parents.get(span_id)
            if parent is not None and parent.span_id not in chosen:
                chosen.add(parent.span_id)
                above.append(parent.span_id)
        wanted.extend(above)
        frontier = above
    for span, _ in ordered:
        if len(wanted) >= limit:
            break
        if span.span_id not in chosen:
            chosen.add(span.span_id)
            wanted.append(span.span_id)
    keep = set(wanted[:limit])
    return [(s, d) for s, d in ordered if s.span_id in keep]


# Error classes of a caller that gave up: what fails below it afterwards follows from it.
GAVE_UP = ("timeout", "cancelled")


def _cascade(ordered: list[tuple[_Span, int]]) -> list[tuple[str, str | None, str]]:
    """The failed spans in the order they failed, each with the earlier failure it followed from
    and how: ``client side of`` (the client's span of a call whose server span failed),
    ``caller of`` (an ancestor of an earlier failure: the failure went up the stack),
    ``cancelled by client`` (the server span of a call its client gave up on first: a timeout or a
    cancellation), ``cancelled by caller`` (the same below any other span that gave up first),
    ``retry of`` (the same call on the same side, failed again), else ``first``.

    The order is the order they ended, except that a failure comes after the failures below it
    (clocks of two services disagree, and a client span may end a little before its server span),
    unless it is a timeout or cancellation that ended first. A client's span and its server's are
    the same call whatever lies between them (an HTTP span, middleware). Linear in the spans but
    for a sort of the failures."""
    depth: dict[str, int] = {}
    failed_parent: dict[str, _Span] = {}  # a failed span's nearest failed ancestor
    client_of: dict[str, str] = {}  # a server span's client span of the same call
    failed_above: list[_Span] = []  # the failed spans on the path from the root to the span at hand
    clients_above: list[_Span] = []  # the client spans on that path
    for span, d in ordered:
        depth[span.span_id] = d
        # leave the spans that are not ancestors of this one (in pre-order: those as deep as it, or deeper)
        while failed_above and depth[failed_above[-1].span_id] >= d:
            failed_above.pop()
        while clients_above and depth[clients_above[-1].span_id] >= d:
            clients_above.pop()
        if span.failed and failed_above:
            failed_parent[span.span_id] = failed_above[-1]
        if span.side == "server" and clients_above:
            client = clients_above[-1]
            if (client.method, client.target) == (span.method, span.target):
                client_of[span.span_id] = client.span_id
        if span.failed:
            failed_above.append(span)
        if span.side == "client":
            clients_above.append(span)

    def gave_up_first(above: _Span, below: _Span) -> bool:
        return above.error_class in GAVE_UP and above.end_ns < below.end_ns

    # Which failure must come before which: only between a failure and its nearest failed
    # ancestor, so the constraints form a forest and can always be met.
    failures = [s for s, _ in ordered if s.failed]
    waiting = {s.span_id: 0 for s in failures}
    then: dict[str, list[_Span]] = {}
    for span in failures:
        above = failed_parent.get(span.span_id)
        if above is None:
            continue
        first, second = (above, span) if gave_up_first(above, span) else (span, above)
        then.setdefault(first.span_id, []).append(second)
        waiting[second.span_id] += 1

    place = {s.span_id: i for i, s in enumerate(failures)}

    def key(s: _Span) -> tuple[int, int, str, int]:
        return (s.end_ns, -depth[s.span_id], s.span_id, place[s.span_id])

    ready = [key(s) for s in failures if not waiting[s.span_id]]
    heapq.heapify(ready)
    done: dict[str, int] = {}  # each failure's place in the cascade
    below: dict[str, list[_Span]] = {}  # each failure's failed descendants that came before it
    servers: dict[str, list[_Span]] = {}  # each client span's failed server spans that came before it
    last_try: dict[tuple[int, str | None], _Span] = {}
    result: list[tuple[str, str | None, str]] = []
    while ready:
        span = failures[heapq.heappop(ready)[-1]]
        above = failed_parent.get(span.span_id)
        cause: _Span | None = None
        relation = "first"
        if above is not None and above.span_id in done:
            cause = above
            relation = "cancelled by client" if client_of.get(span.span_id) == above.span_id else "cancelled by caller"
        elif servers.get(span.span_id):
            cause, relation = servers[span.span_id][0], "client side of"
        elif below.get(span.span_id):
            # the nearest failure below, the earliest of those as near
            cause = min(below[span.span_id], key=lambda s: (depth[s.span_id], done[s.span_id]))
            relation = "caller of"
        elif span.call_key is not None and (span.call_key, span.side) in last_try:
            cause, relation = last_try[span.call_key, span.side], "retry of"
        result.append((span.span_id, cause.span_id if cause else None, relation))
        done[span.span_id] = len(done)
        if span.call_key is not None:
            last_try[span.call_key, span.side] = span
        if above is not None and above.span_id not in done:
            below.setdefault(above.span_id, []).append(span)
        if span.span_id in client_of:
            servers.setdefault(client_of[span.span_id], []).append(span)
        for after in then.get(span.span_id, ()):
            waiting[after.span_id] -= 1
            if not waiting[after.span_id]:
                heapq.heappush(ready, key(after))
    return result
