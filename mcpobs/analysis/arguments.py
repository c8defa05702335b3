"""The tool layer's argument sections: the shapes of tool calls' arguments, the calls whose arguments
do not validate against the inputSchema their server advertised, and those whose results do not
validate against its outputSchema.

Each reads the calls joined to ``argument_checks``, which :func:`mcpobs.arguments.check.check_store`
writes first (a temporary table of the DuckDB store, or of the ClickHouse session).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcpobs.analysis.model import Column, Query, Table, Unit
from mcpobs.analysis.sql import GROUPINGS, Calls, calls_cte, order_limit, rows, select_groups

ARGUMENT_VIEWS = ("arguments", "argument_shapes", "invalid_arguments", "invalid_results")
_JOIN = "FROM calls JOIN argument_checks USING (source_id, trace_id, span_id)"

ARGUMENT_FIGURES = (
    Column("tool_calls", Unit.COUNT, "tools/call calls"),
    Column(
        "arguments_recorded",
        Unit.COUNT,
        "tool calls whose arguments were recorded (every recording; traces with gen_ai.tool.call.arguments)",
        "recorded",
    ),
    Column(
        "arguments_checked",
        Unit.COUNT,
        "recorded arguments checked against the inputSchema advertised in the call's session or file",
        "checked",
    ),
    Column(
        "invalid_arguments",
        Unit.COUNT,
        "checked arguments that do not validate against the inputSchema (none when none were checked)",
        "invalid",
    ),
    Column("invalid_argument_rate", Unit.RATE, "invalid_arguments / arguments_checked", "invalid %"),
    Column("argument_shapes", Unit.COUNT, "distinct shapes (keys and their JSON types) of the arguments", "shapes"),
    Column(
        "results_checked",
        Unit.COUNT,
        "successful calls' results checked against the tool's outputSchema, where it advertises one",
        "res. checked",
    ),
    Column(
        "invalid_results",
        Unit.COUNT,
        "checked results whose structuredContent is missing or does not validate (none when none were checked)",
        "res. invalid",
    ),
    Column("invalid_result_rate", Unit.RATE, "invalid_results / results_checked", "res. invalid %"),
)


def _arguments(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    groups = ["side", *query.by]
    sql = f"""{calls_cte(store, query.by)}
    SELECT {select_groups(groups)},
        count(*) AS tool_calls,
        count(*) FILTER (WHERE recorded) AS arguments_recorded,
        count(*) FILTER (WHERE checked) AS arguments_checked,
        -- none checked is no figure: zero would say they were valid
        CASE WHEN count(*) FILTER (WHERE checked) > 0 THEN count(*) FILTER (WHERE error IS NOT NULL) END
            AS invalid_arguments,
        count(*) FILTER (WHERE error IS NOT NULL) / nullif(count(*) FILTER (WHERE checked), 0)
            AS invalid_argument_rate,
        count(DISTINCT shape) AS argument_shapes,
        count(*) FILTER (WHERE result_checked) AS results_checked,
        CASE WHEN count(*) FILTER (WHERE result_checked) > 0 THEN count(*) FILTER (WHERE result_error IS NOT NULL) END
            AS invalid_results,
        count(*) FILTER (WHERE result_error IS NOT NULL) / nullif(count(*) FILTER (WHERE result_checked), 0)
            AS invalid_result_rate
    {_JOIN}
    WHERE {where} AND method = 'tools/call'
    GROUP BY ALL {order_limit(query, "invalid_arguments", len(groups))}
    """
    columns = tuple(Column(g, Unit.TEXT) for g in groups) + ARGUMENT_FIGURES
    return Table("arguments", f"Tool call arguments by {', '.join(query.by)}", columns, _run(store, sql, params))


def _shapes(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """Per side, the --by groups, server and tool (a shape is a tool's): each shape of the recorded
    arguments, most frequent first; --top keeps that many shapes per group."""
    groups = ["side", *(key for key in query.by if key not in ("server", "tool")), "server", "tool"]
    keys = ", ".join(GROUPINGS.get(g, g) for g in groups)
    top = ""
    if query.top:
        ranked = f"row_number() OVER (PARTITION BY {keys} ORDER BY count(*) DESC, shape)"
        top = f"QUALIFY {ranked} <= {int(query.top)}"
    sql = f"""{calls_cte(store, query.by)}
    SELECT {select_groups(groups)}, shape, count(*) AS calls,
        count(*) / sum(count(*)) OVER (PARTITION BY {keys}) AS share,
        count(*) FILTER (WHERE checked) AS checked,
        CASE WHEN count(*) FILTER (WHERE checked) > 0 THEN count(*) FILTER (WHERE error IS NOT NULL) END AS invalid
    {_JOIN}
    WHERE {where} AND method = 'tools/call' AND recorded
    GROUP BY {keys}, shape {top}
    ORDER BY {", ".join(groups)}, calls DESC, shape
    """
    columns = (
        *(Column(g, Unit.TEXT) for g in groups),
        Column(
            "shape",
            Unit.TEXT,
            "the arguments' keys and JSON types, sorted; {} none; (none sent): a recorded call without arguments",
            prose=True,
        ),
        Column("calls", Unit.COUNT, "tool calls whose arguments took this shape"),
        Column("share", Unit.RATE, "calls / the group's calls of the tool with arguments recorded", "share %"),
        Column("checked", Unit.COUNT, "of them checked against an inputSchema"),
        Column("invalid", Unit.COUNT, "of them that do not validate (none when none were checked)"),
    )
    extra = groups[1:-2]
    title = "Tool call argument shapes" + (f" by {', '.join(extra)}" if extra else "")
    return Table("argument_shapes", title, columns, _run(store, sql, params))


def _invalid(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """Each call whose arguments do not validate, in the order they started."""
    columns = (
        Column("error", Unit.TEXT, "why the arguments do not validate: the first error, at its JSON path", prose=True),
        Column(
            "arguments",
            Unit.TEXT,
            "as the call sent them (cut at 200 characters); (none sent): the request had no arguments",
            prose=True,
        ),
    )
    return _listing(store, query, where, params, "invalid_arguments", "Tool calls with invalid arguments", columns)


def _invalid_results(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """Each successful call whose result does not validate against the tool's outputSchema."""
    columns = (
        Column("result_error", Unit.TEXT, "why the structuredContent does not validate, at its JSON path", prose=True),
        Column("result", Unit.TEXT, "the structuredContent as answered (cut at 200 characters)", prose=True),
    )
    return _listing(store, query, where, params, "invalid_results", "Tool calls with invalid results", columns)


def _listing(
    store: Calls, query: Query, where: str, params: dict[str, Any], name: str, title: str, what: tuple[Column, ...]
) -> Table:
    """The calls whose first column of ``what`` is set, in the order they started, with ``what``."""
    sql = f"""{store.calls_cte}
    SELECT side, server, tool, session, {store.engine.timestamp_us("start_ns")} AS started,
        {", ".join(c.name for c in what)}
    {_JOIN}
    WHERE {where} AND {what[0].name} IS NOT NULL
    ORDER BY start_ns, span_id{f" LIMIT {int(query.top)}" if query.top else ""}
    """
    columns = (
        Column("side", Unit.TEXT),
        Column("server", Unit.TEXT),
        Column("tool", Unit.TEXT),
        # a long id that may wrap (2026-07-28's sessions are traces): not a label people read a row by
        Column("session", Unit.TEXT, prose=True),
        Column("started", Unit.TIME),
        *what,
    )
    return Table(name, title, columns, _run(store, sql, params), listing=True)


def _run(store: Calls, sql: str, params: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
    from mcpobs.store import Store

    if not isinstance(store, Store):
        return rows(store, sql, params)  # the ClickHouse session's temporary table
    # argument_checks is a temporary table, seen only by the connection that made it (not a cursor)
    return tuple(tuple(r) for r in store.con.execute(sql, params).fetchall())


BUILDERS: dict[str, Callable[[Calls, Query, str, dict[str, Any]], Table]] = {
    "arguments": _arguments,
    "argument_shapes": _shapes,
    "invalid_arguments": _invalid,
    "invalid_results": _invalid_results,
}
