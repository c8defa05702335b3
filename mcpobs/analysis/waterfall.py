"""Whole traces for a waterfall: the slowest and the failing ones, their spans on a time
axis, and the cascade of their failures (which came first, and which followed from it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mcpobs.analysis.dashboard import MESSAGE_SQL
from mcpobs.analysis.model import Column, Table, Unit
from mcpobs.analysis.sql import rows
from mcpobs.store import Store

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
    Column("message", Unit.TEXT),
    Column("failure", Unit.COUNT, "the failure's number in the cascade, in the order the failures ended"),
)

CASCADE_COLUMNS = (
    Column("failure", Unit.COUNT, "failures numbered in the order they ended", "#"),
    Column("span_id", Unit.TEXT),
    Column("name", Unit.TEXT),
    Column("role", Unit.TEXT),
    Column("error_class", Unit.TEXT),
    Column("message", Unit.TEXT),
    Column("at_ms", Unit.MS, "when it failed (its end), from the trace's start", "at ms"),
    Column("follows", Unit.COUNT, "the failure this one followed from; none for a first failure", "follows #"),
    Column("relation", Unit.TEXT, "how it followed: client side of, caller of, retry of; first where it followed none"),
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
    side: str | None
    call_key: int | None


def pick_traces(
    store: Store, where: str, params: dict[str, Any], *, failing: bool, limit: int
) -> tuple[tuple[str, ...], int]:
    """The traces holding calls ``where`` selects: the longest first, or with ``failing`` those
    where a selected call failed, most failed spans first; at most ``limit``, and how many there are."""
    if failing:
        selected = f"SELECT DISTINCT trace_id FROM calls WHERE {where} AND failed"
        order = "count(*) FILTER (coalesce(mcp_failed, false) OR status_code = 2) DESC, min(start_ns)"
    else:
        selected = f"SELECT DISTINCT trace_id FROM calls WHERE {where}"
        order = "max(end_ns) - min(start_ns) DESC"
    sql = f"""WITH calls AS (FROM mcp_calls), selected AS ({selected})
    SELECT trace_id, count(*) OVER () FROM spans SEMI JOIN selected USING (trace_id)
    GROUP BY trace_id ORDER BY {order}, trace_id LIMIT $limit
    """
    found = rows(store, sql, {**params, "limit": limit})
    return tuple(r[0] for r in found), int(found[0][1]) if found else 0


def trace_views(store: Store, trace_ids: tuple[str, ...], max_spans: int) -> list[TraceView]:
    """Each trace's spans in waterfall order (at most ``max_spans``: the failed ones and their
    ancestors first, then the earliest), and the cascade of all its failures."""
    sql = f"""
    SELECT trace_id, span_id, nullif(parent_span_id, ''), coalesce(name, ''),
        CASE WHEN mcp_side IN ('client', 'server') THEN mcp_side
             WHEN gen_ai_operation IN ('invoke_agent', 'create_agent') THEN 'agent'
             WHEN gen_ai_operation = 'execute_tool' THEN 'tool'
             WHEN input_tokens IS NOT NULL OR output_tokens IS NOT NULL
                OR gen_ai_operation IN ('chat', 'text_completion', 'generate_content', 'embeddings') THEN 'llm'
             ELSE 'other' END,
        service_name, start_ns, end_ns, coalesce(mcp_failed, false) OR status_code = 2 AS failed,
        CASE WHEN coalesce(mcp_failed, false) OR status_code = 2 THEN coalesce(error_class, 'other') END,
        CASE WHEN coalesce(mcp_failed, false) OR status_code = 2 THEN {MESSAGE_SQL} END,
        mcp_method, mcp_side, call_key
    FROM spans s WHERE trace_id IN (SELECT unnest($traces))
    ORDER BY trace_id, start_ns, span_id
    """
    by_trace: dict[str, list[_Span]] = {}
    for r in rows(store, sql, {"traces": list(trace_ids)}):
        by_trace.setdefault(r[0], []).append(_Span(*r[1:]))
    return [_view(trace_id, by_trace[trace_id], max_spans) for trace_id in trace_ids if trace_id in by_trace]


def _view(trace_id: str, spans: list[_Span], max_spans: int) -> TraceView:
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
    failures = _cascade(spans, by_id)
    number = {span_id: n for n, (span_id, *_rest) in enumerate(failures, 1)}
    kept = _keep(ordered, by_id, max_spans)
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


def _keep(ordered: list[tuple[_Span, int]], by_id: dict[str, _Span], limit: int) -> list[tuple[_Span, int]]:
    """At most ``limit`` spans, in waterfall order: failed spans and their ancestors first, then the earliest."""
    if len(ordered) <= limit:
        return ordered
    wanted: list[str] = []
    chosen: set[str] = set()
    for span, _ in ordered:
        if span.failed:
            chain = []
            at: _Span | None = span
            while at is not None and at.span_id not in chosen:
                chain.append(at.span_id)
                chosen.add(at.span_id)
                at = by_id.get(at.parent) if at.parent else None
            wanted.extend(reversed(chain))
    for span, _ in ordered:
        if span.span_id not in chosen:
            wanted.append(span.span_id)
            chosen.add(span.span_id)
    keep = set(wanted[:limit])
    return [(s, d) for s, d in ordered if s.span_id in keep]


def _cascade(spans: list[_Span], by_id: dict[str, _Span]) -> list[tuple[str, str | None, str]]:
    """The failed spans in the order they failed (ended), each with the earlier failure it
    followed from and how: ``client side of`` (the client's span of a call whose server span
    failed first), ``caller of`` (an ancestor of an earlier failure: the failure went up the
    stack), ``retry of`` (the same call on the same side, failed again), else ``first``."""

    def ancestors(span: _Span) -> list[str]:
        out: list[str] = []
        at = by_id.get(span.parent) if span.parent else None
        while at is not None and at.span_id not in out and at.span_id != span.span_id:
            out.append(at.span_id)
            at = by_id.get(at.parent) if at.parent else None
        return out

    failed = sorted((s for s in spans if s.failed), key=lambda s: (s.end_ns, -len(ancestors(s)), s.span_id))
    result: list[tuple[str, str | None, str]] = []
    before: list[_Span] = []
    for span in failed:
        cause: _Span | None = None
        relation = "first"
        # the nearest earlier failure below this span: its failure went up to this one
        below = [(ancestors(e).index(span.span_id), e) for e in before if span.span_id in ancestors(e)]
        if below:
            cause = min(below, key=lambda pair: pair[0])[1]
            same_call = (
                span.side == "client"
                and cause.side == "server"
                and cause.parent == span.span_id
                and cause.method == span.method
            )
            relation = "client side of" if same_call else "caller of"
        else:
            retried = [
                e for e in before if span.call_key is not None and (e.call_key, e.side) == (span.call_key, span.side)
            ]
            if retried:
                cause, relation = retried[-1], "retry of"
        result.append((span.span_id, cause.span_id if cause else None, relation))
        before.append(span)
    return result
