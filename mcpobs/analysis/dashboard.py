"""The figures dashboards draw that the sections do not hold: calls over time, latency
distributions, the most frequent error messages.

Each reads the calls through the same filters as :func:`mcpobs.analysis.analyze`, with
bound parameters, in DuckDB or ClickHouse (the same SQL, rendered for each engine as the sections
are), and returns a plain :class:`~mcpobs.analysis.model.Table`.
"""

from __future__ import annotations

import math
from typing import Any

from mcpobs.analysis.model import Column, Query, Table, Unit
from mcpobs.analysis.sql import GROUPINGS, Calls, rows
from mcpobs.sqlengine import DUCKDB, Engine

_MS = 1_000_000
# Bucket widths people read without arithmetic, in nanoseconds: 100 ms … 1 week.
NICE_WIDTHS = tuple(
    n * _MS
    for n in (
        100,
        200,
        500,
        1_000,
        2_000,
        5_000,
        10_000,
        15_000,
        30_000,
        60_000,
        120_000,
        300_000,
        600_000,
        900_000,
        1_800_000,
        3_600_000,
        7_200_000,
        10_800_000,
        21_600_000,
        43_200_000,
        86_400_000,
        172_800_000,
        604_800_000,
    )
)
# Latency histogram bins per decade of milliseconds (edges 1, 1.78, 3.16, 5.62, 10, …).
BINS_PER_DECADE = 4


def bucket_width(first_ns: int, last_ns: int, buckets: int) -> int:
    """The narrowest nice width (:data:`NICE_WIDTHS`, then whole weeks) that covers
    ``first_ns`` to ``last_ns`` in at most ``buckets`` buckets aligned on multiples of it."""
    if buckets < 1:
        raise ValueError("buckets must be at least 1")
    for width in NICE_WIDTHS:
        if last_ns // width - first_ns // width < buckets:
            return width
    week = NICE_WIDTHS[-1]
    weeks = 1
    while last_ns // (week * weeks) - first_ns // (week * weeks) >= buckets:
        weeks += 1
    return week * weeks


def _by(by: tuple[str, ...]) -> tuple[str, str, str]:
    """The extra grouping columns as a SELECT list, as names, and the WHERE they add (tools: tool calls only)."""
    select = "".join(f", {GROUPINGS[g]} AS {g}" for g in by)
    names = "".join(f", {g}" for g in by)
    extra = " AND method = 'tools/call'" if "tool" in by else ""
    return select, names, extra


def timeline(
    store: Calls, query: Query, where: str, params: dict[str, Any], width_ns: int, by: tuple[str, ...] = ()
) -> Table:
    """Calls and errors per time bucket of ``width_ns`` (by start time), per side and ``by`` group.

    Without a grouping every bucket from the first call's to the last call's (of either side)
    is a row for each side, zero or not, so the sides' sparklines have no gaps and line up;
    with one, only buckets with calls are rows.
    """
    select, names, extra = _by(by)
    e = store.engine
    bound = {**params, "width": width_ns}
    picked = f"""{store.calls_cte}
    , picked AS (
        SELECT side{select}, {e.int_div("start_ns", "$width")} AS bucket, failed FROM calls WHERE {where}{extra}
    ), counted AS (
        SELECT side{names}, bucket, count(*) AS calls, count(*) FILTER (WHERE failed) AS errors
        FROM picked GROUP BY ALL
    )"""
    if by:
        sql = f"""{picked}
        SELECT {e.timestamp_us("bucket * $width")} AS bucket_start, side{names}, calls, errors, errors / calls
        FROM counted ORDER BY bucket, side{names}
        """
    else:
        sql = f"""{picked}
        , every AS (
            -- one range of buckets for both sides, so their series line up
            SELECT side, bucket FROM (SELECT DISTINCT side FROM picked) AS sides
            CROSS JOIN (SELECT {e.every_integer("min(bucket)", "max(bucket)")} AS bucket FROM picked) AS buckets
        )
        SELECT {e.timestamp_us("bucket * $width")} AS bucket_start, side,
            coalesce(calls, 0), coalesce(errors, 0), errors / calls
        FROM every LEFT JOIN counted USING (side, bucket) ORDER BY bucket, side
        """
    columns = (
        Column("bucket_start", Unit.TIME, "the bucket's start (UTC); calls count in the bucket they started in"),
        Column("side", Unit.TEXT),
        *(Column(g, Unit.TEXT) for g in by),
        Column("calls", Unit.COUNT),
        Column("errors", Unit.COUNT),
        Column("error_rate", Unit.RATE, "errors / calls", "error %"),
    )
    return Table("timeline", "Calls over time", columns, rows(store, sql, bound))


def error_timeline(store: Calls, query: Query, where: str, params: dict[str, Any], width_ns: int) -> Table:
    """Failed calls per time bucket of ``width_ns``, per side and error class."""
    e = store.engine
    sql = f"""{store.calls_cte}
    SELECT {e.timestamp_us(e.int_div("start_ns", "$width") + " * $width")} AS bucket_start, side, error_class,
        count(*) AS errors
    FROM calls WHERE {where} AND failed GROUP BY ALL ORDER BY bucket_start, side, error_class
    """
    columns = (
        Column("bucket_start", Unit.TIME, "the bucket's start (UTC)"),
        Column("side", Unit.TEXT),
        Column("error_class", Unit.TEXT),
        Column("errors", Unit.COUNT),
    )
    return Table(
        "error_timeline", "Errors over time by class", columns, rows(store, sql, {**params, "width": width_ns})
    )


def latency_histogram(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """Per side and tool: how many calls took how long, in bins of equal width on a log scale
    (:data:`BINS_PER_DECADE` a decade of milliseconds; a call under 1 µs counts as 1 µs)."""
    sql = f"""{store.calls_cte}
    SELECT side, tool, CAST(floor(log10(greatest(duration_ms, 0.001)) * $per_decade) AS INTEGER) AS bin,
        count(*) AS calls
    FROM calls WHERE {where} AND method = 'tools/call' AND duration_ms IS NOT NULL
    GROUP BY ALL ORDER BY side, tool, bin
    """
    out = []
    for side, tool, b, calls in rows(store, sql, {**params, "per_decade": BINS_PER_DECADE}):
        low, high = (_edge(b), _edge(b + 1))
        out.append((side, tool, low, high, calls))
    columns = (
        Column("side", Unit.TEXT),
        Column("tool", Unit.TEXT),
        Column("from_ms", Unit.MS, "the bin's lower edge (included)"),
        Column("to_ms", Unit.MS, "the bin's upper edge (excluded)"),
        Column("calls", Unit.COUNT),
    )
    return Table("latency_histogram", "Latency distribution by tool", columns, tuple(out))


def _edge(b: int) -> float:
    """A bin edge in ms, to four significant digits."""
    value = 10 ** (b / BINS_PER_DECADE)
    return round(value, 3 - math.floor(math.log10(value)))


def message_sql(e: Engine, status_message: str, events: str) -> str:
    """A failed span's message: its status message, else its recorded exception ("type: message")."""
    exception_message = f"nullif({e.exception_attribute(events, 'exception.message')}, '')"
    exception_type = e.exception_attribute(events, "exception.type")
    # || is NULL when either side is, in both engines (ClickHouse's concat_ws is NULL then too)
    exception = f"coalesce({exception_type} || ': ' || {exception_message}, {exception_type}, {exception_message})"
    return f"coalesce(nullif({e.rtrim(status_message, ': ')}, ''), nullif({exception}, ''))"


def span_messages(store: Calls, keys: str) -> str:
    """A query of the message (:func:`message_sql`) of each span whose ``trace_id`` and ``span_id`` the
    query ``keys`` returns: rows of ``trace_id, span_id, message``. ClickHouse's call model keeps no
    events: they are read from the table for those spans alone."""
    e = store.engine
    if e is DUCKDB:
        return f"""SELECT s.trace_id, s.span_id, {message_sql(e, "s.status_message", "s.events")} AS message
        FROM spans s SEMI JOIN ({keys}) AS k ON s.trace_id = k.trace_id AND s.span_id = k.span_id"""
    from mcpobs.clickhouse import ClickHouseTraces

    assert isinstance(store, ClickHouseTraces)
    message = message_sql(e, "nullIf(StatusMessage, '')", "Events")
    return store.scan(f"TraceId AS trace_id, SpanId AS span_id, {message} AS message", f"(TraceId, SpanId) IN ({keys})")


def error_messages(store: Calls, query: Query, where: str, params: dict[str, Any], limit: int) -> tuple[Table, int]:
    """The most frequent messages of failed calls (the status message, else the recorded
    exception) per side, method, target and error class, at most ``limit`` of them; and how
    many different ones there are."""
    e = store.engine
    sql = f"""{store.calls_cte}
    , failed AS (
        SELECT trace_id, span_id, side, method, target, error_class, start_ns FROM calls WHERE {where} AND failed
    ),
    messages AS (
        SELECT f.side AS side, f.method AS method, f.target AS target, f.error_class AS error_class,
            s.message AS message, f.start_ns AS start_ns
        FROM failed f JOIN ({span_messages(store, "SELECT trace_id, span_id FROM failed")}) AS s
            ON s.trace_id = f.trace_id AND s.span_id = f.span_id
    )
    SELECT side, method, target, error_class, message, count(*) AS errors,
        {e.timestamp_us("min(start_ns)")}, {e.timestamp_us("max(start_ns)")}, count(*) OVER () AS kinds
    FROM messages GROUP BY ALL
    ORDER BY errors DESC, side, method, target NULLS FIRST, error_class, message NULLS FIRST
    LIMIT $limit
    """
    found = rows(store, sql, {**params, "limit": limit})
    columns = (
        Column("side", Unit.TEXT),
        Column("method", Unit.TEXT),
        Column("target", Unit.TEXT, "tool, prompt or resource"),
        Column("error_class", Unit.TEXT),
        Column(
            "message",
            Unit.TEXT,
            "the span's status message, else its recorded exception; none where neither",
            prose=True,
        ),
        Column("errors", Unit.COUNT),
        Column("first_seen", Unit.TIME, label="first"),
        Column("last_seen", Unit.TIME, label="last"),
    )
    total = int(found[0][-1]) if found else 0
    return Table("error_messages", "Most frequent error messages", columns, tuple(r[:-1] for r in found)), total
