"""SQL helpers every section shares: filters, grouping, ordering, running a query."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from mcpobs.analysis.model import Query
from mcpobs.sqlengine import DUCKDB, Engine

if TYPE_CHECKING:
    from mcpobs.expr import Kind, Node


class Calls(Protocol):
    """Where the call sections run: the DuckDB store (:class:`mcpobs.store.Store`), or a ClickHouse
    table of the Collector exporter's (:class:`mcpobs.clickhouse.ClickHouseTraces`)."""

    @property
    def engine(self) -> Engine: ...

    @property
    def calls_cte(self) -> str:
        """``WITH …, calls AS (…)``: the head of every query, naming the calls as ``mcp_calls`` gives them."""
        ...

    @property
    def sources(self) -> tuple[str, ...]:
        """What the calls were read from, as the analysis names it."""
        ...

    def run(self, sql: str, params: dict[str, Any]) -> tuple[tuple[Any, ...], ...]: ...


# --by name -> the mcp_calls column it groups on.
GROUPINGS: dict[str, str] = {
    "tool": "tool",
    "method": "method",
    "target": "target",
    "server": "server",
    "client": "client",
    "session": "session",
    "transport": "transport",
    "protocol": "protocol_version",
    # the calls to the same server and side in flight when the call started, in buckets
    "concurrency": "concurrency",
}
# Groupings of the call sections alone, read from the view mcp_calls_in_flight: the cost ledger has
# no such column, and counting calls in flight sorts every call, so no filter reads them.
IN_FLIGHT_GROUPINGS = ("concurrency",)

# --where field -> the column it reads, in mcp_calls and in the cost ledger's cost_calls alike.
FIELDS: dict[str, str] = {**{k: v for k, v in GROUPINGS.items() if k not in IN_FLIGHT_GROUPINGS}, "side": "side"}
FIELD_KINDS: dict[str, Kind] = dict.fromkeys(FIELDS, "string")


def parse_where(text: str) -> Node:
    """A ``--where`` filter such as ``tool == "search" and side == "server"``, checked against
    :data:`FIELDS`; :class:`~mcpobs.expr.ExprError` says where it goes wrong."""
    # the parser is imported when a filter is given: the CLI reads this module's names at start-up
    from mcpobs.expr import check, parse

    node = parse(text)
    check(node, FIELD_KINDS, noun="field")
    return node


def where_sql(node: Node, params: dict[str, Any]) -> str:
    """A checked filter as SQL; its literals become bound parameters added to ``params``."""
    from mcpobs.expr import Binary, Name, Number, String, Unary

    if isinstance(node, Name):
        return FIELDS[node.name]
    if isinstance(node, Number | String):
        key = f"where_{len(params)}"
        params[key] = node.value
        return f"${key}"
    if isinstance(node, Unary):
        return f"({'NOT' if node.op == 'not' else '-'} {where_sql(node.operand, params)})"
    assert isinstance(node, Binary)
    op = {"==": "=", "!=": "<>", "and": "AND", "or": "OR"}.get(node.op, node.op)
    return f"({where_sql(node.left, params)} {op} {where_sql(node.right, params)})"


def filters(query: Query, engine: Engine = DUCKDB) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (over mcp_calls' columns) and bound parameters of the query's filters."""
    clauses = ["NOT is_notification"]
    params: dict[str, Any] = {}
    time_window(query, clauses, params)
    if query.tools:
        clauses.append(engine.in_list("tool", "tools"))
        params["tools"] = list(query.tools)
    if query.servers:
        clauses.append(engine.in_list("server", "servers"))
        params["servers"] = list(query.servers)
    if query.side:
        clauses.append("side = $side")
        params["side"] = query.side
    if query.where is not None:
        clauses.append(where_sql(query.where, params))
    return " AND ".join(clauses), params


def time_window(query: Query, clauses: list[str], params: dict[str, Any]) -> None:
    """Add the query's --since/--until, on ``start_ns``, to ``clauses`` and ``params``."""
    if query.since:
        clauses.append("start_ns >= $since")
        params["since"] = ns(query.since)
    if query.until:
        clauses.append("start_ns < $until")
        params["until"] = ns(query.until)


def calls_cte(store: Calls, by: tuple[str, ...]) -> str:
    """The head ``WITH calls AS (…)`` every call section reads: the store's calls, with those in flight
    where ``by`` groups by them (:func:`mcpobs.store.in_flight_select`: the DuckDB view
    ``mcp_calls_in_flight``, or the same SELECT in ClickHouse's head)."""
    if not any(key in IN_FLIGHT_GROUPINGS for key in by):
        return store.calls_cte
    if store.engine is DUCKDB:
        return "WITH calls AS (SELECT * FROM mcp_calls_in_flight)"
    from mcpobs.clickhouse import ClickHouseTraces

    assert isinstance(store, ClickHouseTraces)
    return store.in_flight_cte


def select_groups(columns: list[str]) -> str:
    """The SELECT list of the grouping columns, named as the output shows them."""
    return ", ".join(f"{GROUPINGS.get(c, c)} AS {c}" for c in columns)


def order_limit(query: Query, sort: str, keys: int) -> str:
    """Largest first, then by every key column, so the order is the same on every run."""
    limit = f" LIMIT {int(query.top)}" if query.top else ""
    tie_breaks = "".join(f", {i}" for i in range(1, keys + 1))
    return f" ORDER BY {sort} DESC NULLS LAST{tie_breaks}{limit}"


def rows(store: Calls, sql: str, params: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
    """Every row of a query."""
    return store.run(sql, params)


def ns(moment: datetime) -> int:
    """A moment as Unix nanoseconds (a naive one is UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000_000)
