"""2026-07-28 calls of several rounds, and calls abandoned after ``input_required``: how the spans that
are rounds of one call become one call, as one SQL text for both engines.

mcpobs's span of a multi round-trip call (``rounds`` > 1, from an event log) links to each round's own
client span: those are rounds of it, not calls. The server spans answering them (their children) are
one call too: the last round's span carries it, with the first round's start and the rounds' count;
the others are rounds of it. The server's side of a call the client abandoned is ``abandoned`` too.

The store runs these SELECTs in UPDATEs after each load (:func:`mcpobs.ingest.link_rounds`), the
ClickHouse model in a SELECT over the session's spans (:func:`mcpobs.clickhouse.model.rounds_select`).
Each reads ``spans`` (the store's columns) and ``links``, one row per link of a call of several
rounds: ``call`` (the call's span id), ``side``, ``call_source`` and ``call_error_class`` (the call
span's), ``trace_id`` and ``span_id`` (the linked round span's) and ``i`` (the link's place, from 1);
each engine reads the links its own way. The big relation comes first in each join, the small one
second: ClickHouse builds its hash table of the right side.
"""

from __future__ import annotations

from mcpobs.sqlengine import DUCKDB, Engine


def client_rounds_sql(links: str, spans: str) -> str:
    """SELECT: each span that is a round of another span's call of several rounds, on the call's side:
    ``trace_id``, ``span_id``, ``source_id``, ``round_of`` (the call's span id), ``call_source``."""
    return f"""SELECT r.trace_id, r.span_id, r.source_id, l.call AS round_of, l.call_source
        FROM {spans} AS r JOIN {links} AS l ON r.trace_id = l.trace_id AND r.span_id = l.span_id
        WHERE r.mcp_side = l.side AND r.rounds = 1"""


def server_rounds_sql(links: str, spans: str, engine: Engine = DUCKDB, touched: str | None = None) -> str:
    """SELECT: each server span answering a round of a client's call of several rounds, when more than one
    does: ``trace_id``, ``span_id`` and the values it takes, ``round_of`` (the last one's span id; NULL on
    the last one, which carries the call), ``rounds`` and ``call_start_ns`` (the first one's start, on the
    last one). ``touched``: a condition on an answer's ``source_id`` and ``call_source``, which at least
    one of a call's answers must meet (the store updates only the calls a load touched)."""
    answers = f"""SELECT l.call, s.trace_id, s.span_id, s.start_ns, s.source_id, l.call_source, l.i
            FROM {spans} AS s JOIN {links} AS l ON s.trace_id = l.trace_id AND s.parent_span_id = l.span_id
            WHERE s.mcp_side = 'server' AND l.side = 'client'"""
    having = "count(*) > 1" + (f" AND count(*) FILTER (WHERE {touched}) > 0" if touched else "")
    return f"""SELECT a.trace_id, a.span_id,
            CASE WHEN a.span_id = g.last_span THEN NULL ELSE g.last_span END AS round_of,
            CAST(CASE WHEN a.span_id = g.last_span THEN g.n ELSE 1 END AS INTEGER) AS rounds,
            CASE WHEN a.span_id = g.last_span THEN g.first_start END AS call_start_ns
        FROM ({answers}) AS a JOIN (
            SELECT call, {engine.arg_max("span_id", "i")} AS last_span, min(start_ns) AS first_start, count(*) AS n
            FROM ({answers}) GROUP BY call HAVING {having}
        ) AS g ON a.call = g.call"""


def abandoned_answers_sql(links: str, spans: str) -> str:
    """SELECT: the spans a server's side of an abandoned call answers (``trace_id``, ``answered``, with
    ``call_source``): the client's call span, or, for a call of several rounds, its rounds' spans (the
    server span answering the last of them carries the call). ``spans`` must have its rounds linked."""
    return f"""SELECT trace_id, span_id AS answered, source_id AS call_source FROM {spans}
        WHERE mcp_side = 'client' AND error_class = 'abandoned' AND round_of IS NULL
        UNION ALL
        SELECT l.trace_id, l.span_id AS answered, l.call_source FROM {links} AS l
        WHERE l.side = 'client' AND l.call_error_class = 'abandoned'"""


def abandons_sql(span: str) -> str:
    """SQL: server span ``span`` (an alias) takes its client's abandonment when it answers an abandoned
    call, has not failed of its own and carries its call (is no round of another span's)."""
    return f"{span}.mcp_side = 'server' AND {span}.round_of IS NULL AND NOT {span}.mcp_failed"
