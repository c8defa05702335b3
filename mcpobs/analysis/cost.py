"""The cost sections of an analysis: SQL over the ledger :func:`mcpobs.cost.build` writes.

Money leaves SQL as whole pico-dollars and becomes :class:`~decimal.Decimal`
here; no float ever holds it. Every figure is per side, as in the other sections.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from mcpobs.analysis.model import Column, Query, Table, Unit
from mcpobs.analysis.sql import GROUPINGS, IN_FLIGHT_GROUPINGS, Calls, select_groups, time_window
from mcpobs.sqlengine import Engine

COST_VIEWS = ("cost", "call_cost", "models", "decisions", "costly_sessions", "costly_traces")
# Shown when --top is not given: the sessions and traces that cost the most.
DEFAULT_TOP = 10

# Groupings of tool-call cost: analyze's, and the model that spent the inference.
COST_GROUPINGS = (*(key for key in GROUPINGS if key not in IN_FLIGHT_GROUPINGS), "model")

_TOKENS = (
    Column("tokens", Unit.COUNT, "input + output tokens"),
    Column("input_tokens", Unit.COUNT, "input tokens, cached ones included", "input tok"),
    Column("output_tokens", Unit.COUNT, "output tokens, reasoning included", "output tok"),
)
_VALUE = (
    Column("value", Unit.NUMBER, "sum of the --value-attr attribute"),
    Column("value_per_cost", Unit.NUMBER, "value / total_cost", "value/$"),
)

CALL_COST_COLUMNS = (
    Column("calls", Unit.COUNT, "MCP tool calls"),
    Column("successes", Unit.COUNT, "tool calls that succeeded: neither failed nor rejected"),
    Column("total_cost", Unit.MONEY, "token_cost + tool_cost", "total $"),
    Column("token_cost", Unit.MONEY, "the calls' share of the LLM calls that asked for them and read them", "tokens $"),
    Column("tool_cost", Unit.MONEY, "fixed cost per call from the price file", "tool $"),
    Column("cost_per_call", Unit.MONEY, "total_cost / calls (the mean)", "$/call"),
    Column("cost_p50", Unit.MONEY, "median total cost of a call", "p50 $"),
    Column("cost_p95", Unit.MONEY, "95th percentile total cost of a call", "p95 $"),
    Column("cost_max", Unit.MONEY, "the costliest call", "max $"),
    Column("cost_per_success", Unit.MONEY, "total_cost / successes", "$/success"),
    *_TOKENS,
    Column("tokens_per_call", Unit.COUNT, "tokens / calls", "tok/call"),
    *_VALUE,
)


# The columns of a tool call in cost_calls that call_cost reads, besides its costs and tokens
_CALL_COLUMNS = (
    "side", "trace_id", "span_id", "succeeded", "value", *(c for c in GROUPINGS.values() if c != "concurrency"),
)  # fmt: skip


def money(pico: Any) -> Decimal | None:
    """Whole pico-dollars from SQL (an int, or a Decimal of scale 0) as USD."""
    from mcpobs.cost.prices import from_pico  # not at the top: the CLI reads this module's names at start-up

    return None if pico is None else from_pico(int(pico))


def per(total: Any, count: Any) -> Decimal | None:
    """pico-dollars / count as USD to the pico-dollar, None when count is zero."""
    if total is None or not count:
        return None
    return (Decimal(int(total)) / Decimal(count)).quantize(Decimal(1)).scaleb(-12)


def _run(store: Calls, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a cost section's query, a ``WITH`` over the ledger :func:`mcpobs.cost.build` made."""
    from mcpobs.store import Store

    if isinstance(store, Store):
        # the ledger is in temporary tables, seen only by the connection that made them (not a cursor)
        return [tuple(r) for r in store.con.execute(sql, params).fetchall()]
    from mcpobs.clickhouse import ClickHouseTraces, with_head

    assert isinstance(store, ClickHouseTraces)
    # the ledger is in the session's temporary tables; the calls, the head every query starts with
    return list(store.run(with_head(store.calls_cte, sql), params))


def rounded_tokens(total: Any) -> float | None:
    """A sum of token shares to one decimal place, as DuckDB's round: the exact float's nearest, a tie
    away from zero."""
    if total is None:
        return None
    return float(Decimal(float(total)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _llm_window(query: Query) -> tuple[str, dict[str, Any]]:
    """LLM calls in the query's time range (the other filters narrow tool calls, not LLM calls)."""
    from mcpobs.cost.ledger import LLM_CALL_ROW  # not at the top: the CLI reads this module's names at start-up

    clauses = [LLM_CALL_ROW]
    params: dict[str, Any] = {}
    time_window(query, clauses, params)
    return " AND ".join(clauses), params


def _session_success(e: Engine) -> str:
    return f"""
session_outcomes AS (
    -- a session succeeded when the last call to each method, target and arguments succeeded (as in analyze)
    SELECT side, session_key, {e.all_true("last_succeeded")} AS succeeded FROM (
        SELECT side, session_key, {e.arg_max("succeeded", "start_ns")} AS last_succeeded
        FROM mcp_calls WHERE NOT is_notification GROUP BY side, session_key, call_key
    ) GROUP BY side, session_key
)
"""


def summary(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """Per side: what the LLM calls cost, how much of it the tool calls account for, and the return."""
    window, window_params = _llm_window(query)
    sql = f"""
    WITH llm AS (SELECT * FROM cost_llm WHERE {window}),
    totals AS (
        SELECT count(*) AS llm_calls, count(*) FILTER (WHERE status <> 'priced') AS unpriced,
            coalesce(sum(cost_pico), 0) AS token_pico,
            coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens
        FROM llm
    ),
    shared_out AS (
        SELECT side, sum(amount_pico) AS pico FROM cost_shares
        WHERE (trace_id, llm) IN (SELECT trace_id, span_id FROM llm) GROUP BY side
    ),
    {_session_success(store.engine)},
    tool_calls AS (
        SELECT side, count(*) AS calls, count(*) FILTER (WHERE succeeded) AS successes,
            sum(fixed_pico) AS tool_pico, sum(total_pico) AS call_pico
        FROM cost_calls WHERE {where} GROUP BY side
    ),
    tool_sessions AS (
        SELECT side, count(*) AS sessions, count(*) FILTER (WHERE succeeded) AS successful
        FROM (SELECT DISTINCT side, session_key FROM cost_calls WHERE {where}) AS selected
        JOIN session_outcomes USING (side, session_key) GROUP BY side
    ),
    sides AS (
        SELECT DISTINCT side FROM cost_calls WHERE {where}
        UNION ALL SELECT NULL WHERE NOT EXISTS (SELECT 1 FROM cost_calls WHERE {where})
    )
    SELECT sides.side, totals.llm_calls, totals.unpriced, totals.token_pico,
        coalesce(shared_out.pico, 0), totals.token_pico - coalesce(shared_out.pico, 0),
        coalesce(tool_calls.calls, 0), coalesce(tool_calls.successes, 0), coalesce(tool_calls.tool_pico, 0),
        totals.token_pico + coalesce(tool_calls.tool_pico, 0),
        tool_calls.call_pico, tool_sessions.sessions, tool_sessions.successful,
        totals.input_tokens + totals.output_tokens, totals.input_tokens, totals.output_tokens,
        (SELECT sum(value) FROM cost_values)
    FROM sides CROSS JOIN totals
    LEFT JOIN shared_out USING (side) LEFT JOIN tool_calls USING (side) LEFT JOIN tool_sessions USING (side)
    ORDER BY sides.side NULLS FIRST
    """
    out = []
    for (
        side,
        llm_calls,
        unpriced,
        token,
        attributed,
        unattributed,
        calls,
        successes,
        tool,
        total,
        call_pico,
        sessions,
        successful,
        tokens,
        input_tokens,
        output_tokens,
        value,
    ) in _run(store, sql, {**params, **window_params}):
        out.append(
            (
                side,
                llm_calls,
                unpriced,
                money(token),
                money(attributed),
                money(unattributed),
                calls,
                money(tool),
                money(total),
                per(call_pico, calls),
                per(call_pico, successes),
                sessions,
                successful,
                per(call_pico, successful),
                tokens,
                input_tokens,
                output_tokens,
                value,
                _ratio(value, money(total)),
            )
        )
    columns = (
        Column("side", Unit.TEXT),
        Column("llm_calls", Unit.COUNT, "LLM calls (spans with token usage) in the time range", "LLM calls"),
        Column(
            "unpriced_llm_calls", Unit.COUNT, "LLM calls with no price or invalid usage: not in any cost", "unpriced"
        ),
        Column("token_cost", Unit.MONEY, "what every priced LLM call cost", "tokens $"),
        Column("attributed_cost", Unit.MONEY, "of token_cost, the part shared out to tool calls", "attributed $"),
        Column("unattributed_cost", Unit.MONEY, "token_cost - attributed_cost", "unattributed $"),
        Column("tool_calls", Unit.COUNT, "MCP tool calls selected", "tool calls"),
        Column("tool_cost", Unit.MONEY, "fixed costs of the selected tool calls", "tool $"),
        Column("total_cost", Unit.MONEY, "token_cost + tool_cost", "total $"),
        Column("cost_per_call", Unit.MONEY, "(attributed + fixed cost of the tool calls) / tool_calls", "$/call"),
        Column("cost_per_success", Unit.MONEY, "the same / tool calls that succeeded", "$/success"),
        Column("sessions", Unit.COUNT, "sessions with a selected tool call"),
        Column("successful_sessions", Unit.COUNT, "sessions whose last call to each target succeeded", "ok sessions"),
        Column("cost_per_successful_session", Unit.MONEY, "tool calls' cost / successful sessions", "$/ok session"),
        *_TOKENS,
        Column("value", Unit.NUMBER, "sum of the --value-attr attribute over all spans"),
        Column("value_per_cost", Unit.NUMBER, "value / total_cost", "value/$"),
    )
    return Table("cost", "Cost", columns, tuple(out), vertical=True)


# the figures of a group of call_cost's query (_call_cost_head), in the order its rows are read
_GROUP_FIGURES = (
    "group_calls", "group_successes", "group_pico", "group_inference_pico", "group_fixed_pico", "group_quantiles",
    "group_most_pico", "group_tokens", "group_input_tokens", "group_output_tokens", "group_value",
)  # fmt: skip


def call_cost(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """Tool-call cost per group: its distribution over calls, its parts, tokens and value."""
    groups = ["side", *query.by]
    sql = f"""{_call_cost_head(store.engine, query, where)}
    SELECT * FROM grouped
    ORDER BY group_pico DESC, {", ".join(str(i) for i in range(1, len(groups) + 1))}
    {f"LIMIT {int(query.top)}" if query.top else ""}
    """
    return _call_cost_table(groups, _run(store, sql, params))


def costliest_groups(
    store: Calls, query: Query, where: str, params: dict[str, Any], key: str, limit: int
) -> tuple[Table, int]:
    """The :func:`call_cost` rows of the ``limit`` costliest groups by ``key`` (``query.by`` is
    ``(key,)``), both sides of each, the costliest group first (by the higher of its sides' totals,
    then by name, none last), then by side; and how many groups have a cost. Ranked in SQL: only
    those rows leave the engine (a cost chart by session over millions of sessions reads ten)."""
    assert query.by == (key,)
    sql = f"""{_call_cost_head(store.engine, query, where)},
    costed AS (SELECT *, max(group_pico) OVER (PARTITION BY {key}) AS group_best FROM grouped),
    ranked AS (
        SELECT *, dense_rank() OVER (ORDER BY group_best DESC, {key} IS NULL, {key}) AS group_rank
        FROM costed WHERE group_best > 0
    ),
    counted AS (SELECT *, max(group_rank) OVER () AS group_count FROM ranked)
    SELECT side, {key}, {", ".join(_GROUP_FIGURES)}, group_count FROM counted
    WHERE group_rank <= {int(limit)} ORDER BY group_rank, side
    """
    found = _run(store, sql, params)
    return _call_cost_table(["side", key], [row[:-1] for row in found]), int(found[0][-1]) if found else 0


def _call_cost_head(e: Engine, query: Query, where: str) -> str:
    """The ``WITH`` of call_cost's query, its last table ``grouped``: a row per side and group, the group
    keys then :data:`_GROUP_FIGURES`."""
    groups = ["side", *query.by]
    if "model" in query.by:
        # a call's cost split by the model that spent it; fixed costs under no model
        call = ", ".join(f"c.{column} AS {column}" for column in _CALL_COLUMNS)
        parts = f"""
        parts AS (
            SELECT {call}, s.model AS model, 0 AS fixed_pico, s.amount_pico AS inference_pico,
                s.input_tokens AS input_tokens, s.output_tokens AS output_tokens
            FROM (SELECT * FROM cost_calls WHERE {where}) c
            JOIN cost_shares s ON s.side = c.side AND s.trace_id = c.trace_id AND s.call = c.span_id
            UNION ALL
            SELECT {call}, '(tool cost)' AS model, c.fixed_pico, 0 AS inference_pico, 0 AS input_tokens,
                0 AS output_tokens
            FROM cost_calls c WHERE {where} AND (fixed_pico > 0
                OR (side, trace_id, span_id) NOT IN (SELECT side, trace_id, call FROM cost_shares))
        ),"""
    else:
        parts = f"parts AS (SELECT *, NULL AS model FROM cost_calls WHERE {where}),"
    return f"""
    WITH {parts}
    per_call AS (
        SELECT {select_groups(groups)}, trace_id, span_id, {e.any_value("succeeded")} AS succeeded,
            {e.any_value("value")} AS value,
            sum(fixed_pico) AS fixed_pico, sum(coalesce(inference_pico, 0)) AS inference_pico,
            sum(fixed_pico) + sum(coalesce(inference_pico, 0)) AS total_pico,
            sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens
        FROM parts GROUP BY ALL
    ),
    grouped AS (
        SELECT {", ".join(groups)}, count(*) AS group_calls, count(*) FILTER (WHERE succeeded) AS group_successes,
            sum(total_pico) AS group_pico, sum(inference_pico) AS group_inference_pico,
            sum(fixed_pico) AS group_fixed_pico,
            {e.whole_quantiles("total_pico", (0.5, 0.95))} AS group_quantiles, max(total_pico) AS group_most_pico,
            sum(input_tokens) + sum(output_tokens) AS group_tokens, sum(input_tokens) AS group_input_tokens,
            sum(output_tokens) AS group_output_tokens, sum(value) AS group_value
        FROM per_call GROUP BY ALL
    )"""


def _call_cost_table(groups: list[str], found: list[tuple[Any, ...]]) -> Table:
    """call_cost's table of the rows of ``grouped`` (:func:`_call_cost_head`)."""
    out = []
    for row in found:
        group = row[: len(groups)]
        calls, successes, total, token, tool, quantiles, most, *counts, value = row[len(groups) :]
        all_tokens, input_tokens, output_tokens = map(rounded_tokens, counts)
        out.append(
            (
                *group,
                calls,
                successes,
                money(total),
                money(token),
                money(tool),
                per(total, calls),
                money(quantiles[0]),
                money(quantiles[1]),
                money(most),
                per(total, successes),
                all_tokens,
                input_tokens,
                output_tokens,
                round(all_tokens / calls, 1) if calls and all_tokens is not None else None,
                value,
                _ratio(value, money(total)),
            )
        )
    columns = tuple(Column(g, Unit.TEXT) for g in groups) + CALL_COST_COLUMNS
    return Table("call_cost", f"Tool call cost by {', '.join(groups[1:])}", columns, tuple(out))


def models(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """Per provider and model: LLM calls, tokens, and what they cost, or why there is no price."""
    window, window_params = _llm_window(query)
    sql = f"""
    WITH llm AS (SELECT * FROM cost_llm WHERE {window})
    SELECT provider, model, status, {store.engine.any_value("priced_as")} AS priced_as, count(*) AS llm_calls,
        sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_creation_tokens),
        sum(reasoning_tokens), sum(cost_pico) AS pico
    FROM llm
    GROUP BY provider, model, status
    ORDER BY pico DESC NULLS LAST, llm_calls DESC, provider, model, status
    """
    out = [(*r[:4], *r[4:10], money(r[10]), per(r[10], r[4])) for r in _run(store, sql, window_params)]
    columns = (
        Column("provider", Unit.TEXT, "gen_ai.provider.name as the spans say it"),
        Column("model", Unit.TEXT, "the response model, else the request model"),
        Column("status", Unit.TEXT, "priced, no price, invalid tokens, or no usage", prose=True),
        Column(
            "priced_as",
            Unit.TEXT,
            "the genai-prices model, or the price file, the price came from",
            "priced as",
            prose=True,
        ),
        Column("llm_calls", Unit.COUNT, label="calls"),
        Column("input_tokens", Unit.COUNT, "cached ones included", "input tok"),
        Column("output_tokens", Unit.COUNT, label="output tok"),
        Column("cache_read_tokens", Unit.COUNT, label="cache read"),
        Column("cache_write_tokens", Unit.COUNT, label="cache write"),
        Column("reasoning_tokens", Unit.COUNT, label="reasoning"),
        Column("token_cost", Unit.MONEY, "none where the model has no price", "tokens $"),
        Column("cost_per_call", Unit.MONEY, "token_cost / llm_calls", "$/call"),
    )
    return Table("models", "LLM calls by model", columns, tuple(out))


# How far up from a server's span of a call its client's span is looked for (HTTP client and server
# spans may lie between them).
_CLIENT_DEPTH = 4

DECISION_COLUMNS = (
    Column("provider", Unit.TEXT, "gen_ai.provider.name as the spans say it"),
    Column("model", Unit.TEXT, "the response model, else the request model"),
    Column("llm_calls", Unit.COUNT, "the model's LLM calls in the time range", "LLM calls"),
    Column("decisions", Unit.COUNT, "LLM calls that asked for at least one of the selected tool calls"),
    Column("tool_calls_requested", Unit.COUNT, "tool calls the model's LLM calls asked for", "requested"),
    Column(
        "failed_tool_calls", Unit.COUNT, "of those, the calls that failed or were rejected, on either side", "failed"
    ),
    Column("failed_call_rate", Unit.RATE, "failed_tool_calls / tool_calls_requested", "failed %"),
    Column(
        "decision_cost",
        Unit.MONEY,
        "what the LLM calls that asked for the calls cost, shared equally among the calls each asked for",
        "decisions $",
    ),
    Column(
        "failed_decision_cost",
        Unit.MONEY,
        "of decision_cost, the failed calls' shares: money spent choosing calls that failed",
        "failed $",
    ),
    Column("linked_by_id", Unit.COUNT, "requested calls linked by their tool-call id (the rest by time)", "by id"),
)


def decisions(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """Per provider and model: the tool calls its LLM calls asked for, how many failed, and what choosing
    them cost. A call seen on both sides (the server's span below the client's) is one call, failed
    when either side says so; it is linked to the LLM call that asked for it as the client's span is,
    else as the server's."""
    # not at the top: the CLI reads this module's names
    from mcpobs.cost.ledger import LLM_CALL_ROW, ancestors_sql, equal_share

    e = store.engine
    window, window_params = _llm_window(query)
    # a server's span of a call is a child of the client's, or further down (HTTP spans between them);
    # walked up from every server's tool call (tables: asked is computed again at each reference on ClickHouse)
    servers = "SELECT trace_id, span_id FROM cost_calls WHERE side = 'server'"
    up = ancestors_sql(servers, ("trace_id", "span_id"), "tree", _CLIENT_DEPTH, e)
    sql = f"""
    WITH llm AS (SELECT * FROM cost_llm WHERE {window}),
    asked AS {e.materialized}(
        SELECT c.side AS side, c.trace_id AS trace_id, c.span_id AS call, c.succeeded AS succeeded, k.llm AS llm,
            k.linked_by AS linked_by, c.selected AS selected
        FROM (SELECT *, coalesce(({where}), false) AS selected FROM cost_calls) c
        JOIN cost_links k ON k.side = c.side AND k.trace_id = c.trace_id AND k.call = c.span_id AND k.link = 'asked'
        WHERE (k.trace_id, k.llm) IN (SELECT trace_id, span_id FROM llm)
    ),
    tree AS {e.materialized}(
        SELECT trace_id, span_id, parent_span_id FROM spans
        WHERE trace_id IN (SELECT trace_id FROM cost_calls WHERE side = 'server')
    ),
    up AS ({up}),
    answers AS (
        SELECT up.trace_id AS trace_id, up.span_id AS server_call, {e.arg_min("cl.call", "up.depth")} AS client_call
        FROM up JOIN asked cl ON cl.side <> 'server' AND cl.trace_id = up.trace_id AND cl.call = up.here
        WHERE up.depth > 0
        GROUP BY up.trace_id, up.span_id
    ),
    requested AS (
        SELECT coalesce(cl.trace_id, sv.trace_id) AS trace_id, coalesce(cl.call, sv.call) AS call,
            coalesce(cl.llm, sv.llm) AS llm, coalesce(cl.linked_by, sv.linked_by) AS linked_by,
            -- failed as the selected sides say; every call asked for counts in the shares below, so a
            -- filter keeps each call's share of its decision rather than re-splitting it among the rest
            NOT (coalesce(CASE WHEN cl.selected THEN cl.succeeded END, true)
                AND coalesce(CASE WHEN sv.selected THEN sv.succeeded END, true)) AS failed,
            coalesce(cl.selected, false) OR coalesce(sv.selected, false) AS selected
        FROM (SELECT * FROM asked WHERE side <> 'server') cl
        FULL OUTER JOIN (
            SELECT s.*, a.client_call FROM asked s
            LEFT JOIN answers a ON a.trace_id = s.trace_id AND a.server_call = s.call
            WHERE s.side = 'server'
        ) sv ON sv.trace_id = cl.trace_id AND sv.client_call = cl.call
    ),
    shares AS (
        SELECT c.*, l.provider AS provider, l.model AS model,
            {equal_share("l.cost_pico", "c.n", "c.rn", e)} AS amount_pico
        FROM (
            SELECT *, count(*) OVER (PARTITION BY trace_id, llm) AS n,
                row_number() OVER (PARTITION BY trace_id, llm ORDER BY call) AS rn
            FROM requested
        ) c JOIN llm l ON l.trace_id = c.trace_id AND l.span_id = c.llm
    ),
    per_model AS (
        SELECT provider, model, count(DISTINCT (trace_id, llm)) AS decisions, count(*) AS requested,
            count(*) FILTER (WHERE failed) AS failed, sum(amount_pico) AS pico,
            coalesce(sum(amount_pico) FILTER (WHERE failed), CASE WHEN count(amount_pico) > 0 THEN 0 END)
                AS failed_pico,
            count(*) FILTER (WHERE linked_by = 'tool call id') AS by_id
        FROM shares WHERE selected GROUP BY provider, model
    ),
    models AS (SELECT provider, model, count(*) AS llm_calls FROM llm WHERE {LLM_CALL_ROW} GROUP BY ALL)
    SELECT m.provider, m.model, m.llm_calls, coalesce(d.decisions, 0), coalesce(d.requested, 0),
        coalesce(d.failed, 0), d.pico, d.failed_pico, coalesce(d.by_id, 0)
    FROM models m LEFT JOIN per_model d
        ON d.provider IS NOT DISTINCT FROM m.provider AND d.model IS NOT DISTINCT FROM m.model
    ORDER BY d.failed_pico DESC NULLS LAST, d.pico DESC NULLS LAST, m.provider, m.model
    """
    out = [
        (
            provider,
            model,
            llm_calls,
            decided,
            requested,
            failed,
            failed / requested if requested else None,
            money(pico),
            money(failed_pico),
            by_id,
        )
        for provider, model, llm_calls, decided, requested, failed, pico, failed_pico, by_id in _run(
            store, sql, {**params, **window_params}
        )
    ]
    return Table("decisions", "Tool calls by the model that asked for them", DECISION_COLUMNS, tuple(out))


def costly_sessions(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """The sessions whose tool calls cost the most."""
    e = store.engine
    sql = f"""
    WITH {_session_success(e)},
    trace_values AS (SELECT trace_id, sum(value) AS value FROM cost_values GROUP BY trace_id),
    session_values AS (
        SELECT side, session_key, sum(value) AS value
        FROM (SELECT DISTINCT side, session_key, trace_id FROM cost_calls WHERE {where}) AS selected
        JOIN trace_values USING (trace_id)
        GROUP BY ALL
    )
    SELECT side, {e.any_value("session")} AS session_label, count(*) AS calls, count(*) FILTER (WHERE failed) AS errors,
        {e.any_value("o.succeeded")}, sum(inference_pico), sum(fixed_pico), sum(total_pico) AS session_pico,
        sum(input_tokens) + sum(output_tokens), {e.any_value("v.value")}, {e.timestamp_us("min(start_ns)")}
    FROM cost_calls LEFT JOIN session_outcomes o USING (side, session_key)
        LEFT JOIN session_values v USING (side, session_key)
    WHERE {where}
    GROUP BY side, session_key
    ORDER BY session_pico DESC, session_label, side LIMIT {int(query.top or DEFAULT_TOP)}
    """
    out = [
        (*r[:5], money(r[5]), money(r[6]), money(r[7]), rounded_tokens(r[8]), r[9], _ratio(r[9], money(r[7])), r[10])
        for r in _run(store, sql, params)
    ]
    columns = (
        Column("side", Unit.TEXT),
        Column("session", Unit.TEXT),
        Column("calls", Unit.COUNT, "tool calls"),
        Column("errors", Unit.COUNT),
        Column("succeeded", Unit.FLAG, "the last call to each method and target succeeded"),
        Column("token_cost", Unit.MONEY, "the tool calls' share of inference", "tokens $"),
        Column("tool_cost", Unit.MONEY, label="tool $"),
        Column("total_cost", Unit.MONEY, label="total $"),
        Column("tokens", Unit.COUNT, "tokens attributed to the tool calls"),
        Column("value", Unit.NUMBER, "the --value-attr attribute summed over the session's traces"),
        Column("value_per_cost", Unit.NUMBER, "value / total_cost", "value/$"),
        Column("started", Unit.TIME),
    )
    return Table("costly_sessions", "Costliest sessions", columns, tuple(out))


def costly_traces(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """The traces that cost the most: all their LLM calls, attributed or not, and their tools' fixed costs."""
    window, window_params = _llm_window(query)
    e = store.engine
    narrowed = bool(query.tools or query.servers or query.side or query.where)
    sql = f"""
    WITH llm AS (
        SELECT trace_id, count(*) AS llm_calls, sum(cost_pico) AS token_pico,
            sum(input_tokens) + sum(output_tokens) AS tokens, min(start_ns) AS start_ns
        FROM cost_llm WHERE {window} GROUP BY trace_id
    ), trace_calls AS (
        SELECT side, trace_id, count(*) AS calls, sum(fixed_pico) AS tool_pico, min(start_ns) AS start_ns
        FROM cost_calls WHERE {where} GROUP BY side, trace_id
    ), trace_values AS (SELECT trace_id, sum(value) AS value FROM cost_values GROUP BY trace_id)
    SELECT trace_calls.side, trace_id, coalesce(llm.llm_calls, 0), llm.token_pico, coalesce(trace_calls.calls, 0),
        trace_calls.tool_pico, coalesce(llm.token_pico, 0) + coalesce(trace_calls.tool_pico, 0) AS total_pico,
        llm.tokens, trace_values.value, {e.timestamp_us(e.least("llm.start_ns", "trace_calls.start_ns"))}
    FROM llm {"RIGHT" if narrowed else "FULL OUTER"} JOIN trace_calls USING (trace_id)
    LEFT JOIN trace_values USING (trace_id)
    ORDER BY total_pico DESC, trace_id, trace_calls.side NULLS FIRST LIMIT {int(query.top or DEFAULT_TOP)}
    """
    out = [
        (r[0], r[1], r[2], money(r[3]), r[4], money(r[5]), money(r[6]), r[7], r[8], _ratio(r[8], money(r[6])), r[9])
        for r in _run(store, sql, {**params, **window_params})
    ]
    columns = (
        Column("side", Unit.TEXT, "the side of the trace's tool calls"),
        Column("trace_id", Unit.TEXT, label="trace"),
        Column("llm_calls", Unit.COUNT, label="LLM calls"),
        Column("token_cost", Unit.MONEY, "every LLM call in the trace, attributed or not", "tokens $"),
        Column("tool_calls", Unit.COUNT, label="tool calls"),
        Column("tool_cost", Unit.MONEY, label="tool $"),
        Column("total_cost", Unit.MONEY, label="total $"),
        Column("tokens", Unit.COUNT),
        Column("value", Unit.NUMBER, "the --value-attr attribute summed over the trace"),
        Column("value_per_cost", Unit.NUMBER, "value / total_cost", "value/$"),
        Column("started", Unit.TIME),
    )
    return Table("costly_traces", "Costliest traces", columns, tuple(out))


def _ratio(value: Any, cost: Decimal | None) -> float | None:
    if value is None or not cost:
        return None
    return float(value) / float(cost)


BUILDERS: dict[str, Callable[[Calls, Query, str, dict[str, Any]], Table]] = {
    "cost": summary,
    "call_cost": call_cost,
    "models": models,
    "decisions": decisions,
    "costly_sessions": costly_sessions,
    "costly_traces": costly_traces,
}
