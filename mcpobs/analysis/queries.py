"""The SQL behind each section of an analysis."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from mcpobs.analysis import arguments as argument_sections
from mcpobs.analysis import cost as cost_sections
from mcpobs.analysis.model import Analysis, Column, Query, Table, Unit
from mcpobs.analysis.sql import GROUPINGS, Calls, calls_cte, filters, order_limit, rows, select_groups, time_window
from mcpobs.errors import UsageError
from mcpobs.store import in_flight_rank_sql

if TYPE_CHECKING:
    from mcpobs.cost import CostOptions

CALL_VIEWS = ("calls", "errors", "sessions", "traces")
# sections of the calls shown when asked for (they validate every tool call's arguments)
ARGUMENT_VIEWS = argument_sections.ARGUMENT_VIEWS
COST_VIEWS = cost_sections.COST_VIEWS
VIEWS = CALL_VIEWS + ARGUMENT_VIEWS + COST_VIEWS
_OF_CALLS = CALL_VIEWS + ARGUMENT_VIEWS  # the sections --by groups as it groups calls

_LATENCY = (
    Column("latency_p50_ms", Unit.MS, "median duration of a call", "p50 ms"),
    Column("latency_p90_ms", Unit.MS, "90th percentile duration", "p90 ms"),
    Column("latency_p95_ms", Unit.MS, "95th percentile duration", "p95 ms"),
    Column("latency_p99_ms", Unit.MS, "99th percentile duration", "p99 ms"),
    Column("latency_max_ms", Unit.MS, "longest call", "max ms"),
)
CALL_FIGURES = (
    Column("calls", Unit.COUNT, "requests answered or failed (notifications are not calls)"),
    Column("errors", Unit.COUNT, "calls that failed: a JSON-RPC error, an isError result, a timeout, …"),
    Column("error_rate", Unit.RATE, "errors / calls", "error %"),
    Column(
        "rejected",
        Unit.COUNT,
        "server side: calls answered with an error that blames the request (-32602, -32601, …), not errors",
    ),
    Column("rejected_rate", Unit.RATE, "rejected / calls", "rej. %"),
    Column("success_rate", Unit.RATE, "(calls - errors - rejected) / calls", "ok %"),
    Column(
        "rounds",
        Unit.COUNT,
        "requests the calls took: a 2026-07-28 call the server answered input_required is sent again, one call",
        repeats="calls",
    ),
    *_LATENCY,
    Column("ttfr_p50_ms", Unit.MS, "median time to first response (first progress event), where recorded", "ttfr p50"),
    Column("ttfr_p95_ms", Unit.MS, "95th percentile time to first response, where recorded", "ttfr p95"),
)
SORTABLE = tuple(c.name for c in CALL_FIGURES)


def check(query: Query) -> None:
    """Refuse a query that names an unknown grouping, section or sort column."""
    for view in query.views:
        if view not in VIEWS:
            raise UsageError(f"no section {view!r}: choose from {', '.join(VIEWS)}")
    for key in query.by:
        if key not in cost_sections.COST_GROUPINGS and key not in GROUPINGS:
            every = dict.fromkeys((*GROUPINGS, *cost_sections.COST_GROUPINGS))
            raise UsageError(f"cannot group by {key!r}: choose from {', '.join(every)}")
        if key not in GROUPINGS and any(v in _OF_CALLS for v in query.views):
            raise UsageError(f"--by {key} groups only the cost sections: use `mcpobs cost --by {key}`")
        if key not in cost_sections.COST_GROUPINGS and any(v in COST_VIEWS for v in query.views):
            raise UsageError(f"--by {key} groups only the call sections: use `mcpobs analyze --by {key}`")
    if query.sort is not None and query.sort not in SORTABLE:
        raise UsageError(f"cannot sort by {query.sort!r}: choose from {', '.join(SORTABLE)}")
    if query.side not in (None, "client", "server"):
        raise UsageError(f"side {query.side!r} is neither client nor server")


# The sections whose rows are not groups: the --by keys each shows, and what its rows are. Another key
# is refused where the section is asked for by name, never ignored.
_FIXED_ROWS: dict[str, tuple[tuple[str, ...], str]] = {
    "invalid_arguments": (("server", "tool", "session"), "a list of calls with their server, tool and session"),
    "invalid_results": (("server", "tool", "session"), "a list of calls with their server, tool and session"),
    "cost": ((), "one row per side"),
    "models": (("model",), "one row per provider and model"),
    "decisions": (("model",), "one row per provider and model"),
    "costly_sessions": (("session",), "one row per session"),
    "costly_traces": ((), "one row per trace"),
}


def refuse_ignored(views: tuple[str, ...], by: tuple[str, ...], sort: str | None) -> None:
    """Refuse a --by or --sort given (``by`` empty, ``sort`` None when not) that a section asked for
    by name (``views``) would not apply: an option is honoured or refused, never ignored."""
    for view in views:
        keys, rows_are = _FIXED_ROWS.get(view, (None, ""))
        ignored = [key for key in by if keys is not None and key not in keys]
        if ignored:
            raise UsageError(f"--by {ignored[0]} does not apply to --view {view} ({rows_are})")
    if sort is not None and views and "calls" not in views:
        raise UsageError(f"--sort does not apply to --view {views[0]} (it orders the calls section)")


def analyze(store: Calls, query: Query, cost: CostOptions | None = None) -> Analysis:
    """Run the sections ``query`` asks for over everything in ``store``.

    The cost sections price the LLM calls with ``cost`` (genai-prices' own data
    when None) and note what they could not price in :attr:`Analysis.notes`.
    """
    from mcpobs.analysis.sql import IN_FLIGHT_GROUPINGS
    from mcpobs.ingest.dialects import LLM_CALL_PARAMETERS, llm_call

    check(query)
    e = store.engine
    where, params = filters(query, e)
    notes: tuple[str, ...] = ()
    if any(v in COST_VIEWS for v in query.views):
        # the cost stack (genai-prices, the price file's YAML) only for the cost sections
        from mcpobs.cost import CostOptions, build

        notes = tuple(build(store, cost or CostOptions()).notes)
    if any(v in ARGUMENT_VIEWS for v in query.views):
        # jsonschema only for the argument sections
        from mcpobs.arguments.check import check_store

        notes += tuple(check_store(store))
    tables = tuple(SECTIONS[v](store, query, where, params) for v in query.views)
    if any(key in IN_FLIGHT_GROUPINGS for key in query.by) and any(v in _OF_CALLS for v in query.views):
        notes += unnamed_servers(store)
    # the time covered: the selected MCP calls, and the LLM calls in the --since/--until window
    window: list[str] = []
    time_window(query, window, params)
    llm_where = " AND ".join([llm_call(e), *window])
    first_llm = f"(SELECT min(start_ns) FROM spans s WHERE {llm_where})"
    last_llm = f"(SELECT max(end_ns) FROM spans s WHERE {llm_where})"
    spans, calls, first, last = _one(
        store,
        f"""SELECT (SELECT count(*) FROM spans), count(*),
            {e.least("min(start_ns)", first_llm)}, {e.greatest("max(end_ns)", last_llm)}
        FROM calls WHERE {where}""",
        params | LLM_CALL_PARAMETERS,
    )
    return Analysis(query, tables, int(spans), int(calls), _time(first), _time(last), store.sources, notes)


def unnamed_servers(store: Calls) -> tuple[str, ...]:
    """The note that calls naming no server (a client span without ``server.address``, no server span
    loaded with it) were counted in flight as calls to one server: nothing tells their servers apart."""
    (unnamed,) = _one(
        store, "SELECT count(*) FROM calls WHERE server = 'unknown' AND side = 'client' AND NOT is_notification", {}
    )
    if not unnamed:
        return ()
    return (f"{unnamed} client calls name no server: their calls in flight count them all as calls to one server",)


def _group(query: Query) -> tuple[list[str], str]:
    """The grouping columns as output names, and the WHERE clause they add."""
    columns = ["side", *query.by]
    extra = " AND method = 'tools/call'" if "tool" in query.by else ""
    return columns, extra


def _calls_order(query: Query, groups: list[str]) -> str:
    """The calls section's ORDER BY: by ``--sort``, largest first; unsorted by concurrency, the buckets
    in their own order (1, 2, 3-4, …), which sorting their labels or their calls would shuffle."""
    if query.sort is None and "concurrency" in groups:
        keys = ", ".join(in_flight_rank_sql(g) if g == "concurrency" else g for g in groups)
        return f" ORDER BY {keys}" + (f" LIMIT {int(query.top)}" if query.top else "")
    return order_limit(query, query.sort or "calls", len(groups))


def _calls(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    groups, extra = _group(query)
    e = store.engine
    # every section reads the calls through the same CTE, so filters and session keys agree;
    # one quantile_cont with a list of fractions sorts each group once, not four times
    sql = f"""{calls_cte(store, query.by)}
    SELECT * EXCEPT (latency, latency_max_ms, ttfr),
        latency[1] AS latency_p50_ms, latency[2] AS latency_p90_ms,
        latency[3] AS latency_p95_ms, latency[4] AS latency_p99_ms,
        latency_max_ms,
        ttfr[1] AS ttfr_p50_ms, ttfr[2] AS ttfr_p95_ms
    FROM (
        SELECT {select_groups(groups)},
            count(*) AS calls,
            count(*) FILTER (WHERE failed) AS errors,
            count(*) FILTER (WHERE failed) / count(*) AS error_rate,
            count(*) FILTER (WHERE rejected) AS rejected,
            count(*) FILTER (WHERE rejected) / count(*) AS rejected_rate,
            count(*) FILTER (WHERE succeeded) / count(*) AS success_rate,
            sum(rounds) AS rounds,
            {e.quantiles("duration_ms", (0.5, 0.9, 0.95, 0.99))} AS latency,
            max(duration_ms) AS latency_max_ms,
            {e.quantiles("ttfr_ms", (0.5, 0.95))} AS ttfr
        FROM calls WHERE {where}{extra}
        GROUP BY ALL
    ) {_calls_order(query, groups)}
    """
    columns = tuple(Column(g, Unit.TEXT) for g in groups) + CALL_FIGURES
    title = "MCP tool calls" if "tool" in query.by else "MCP calls"
    return Table("calls", f"{title} by {', '.join(query.by)}", columns, rows(store, sql, params))


def _errors(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    from mcpobs.ingest.dialects import ERROR_CLASSES

    groups, extra = _group(query)
    keys = ", ".join(groups)
    # one pass: calls per group and class (NULL: no error), then the group's totals over them
    sql = f"""{calls_cte(store, query.by)}
    , classes AS (
        SELECT {select_groups(groups)}, error_class, rejected, count(*) AS n
        FROM calls WHERE {where}{extra} GROUP BY ALL
    )
    SELECT {keys}, error_class, {_meaning("error_class")} AS meaning, rejected, n AS errors,
        n / total AS error_rate, CASE WHEN NOT rejected THEN n / nullif(failures, 0) END AS share_of_errors
    FROM (
        SELECT *, sum(n) OVER per_group AS total,
            sum(n) FILTER (WHERE error_class IS NOT NULL AND NOT rejected) OVER per_group AS failures
        FROM classes WINDOW per_group AS (PARTITION BY {keys})
    )
    WHERE error_class IS NOT NULL {order_limit(query, "errors", len(groups) + 1)}
    """
    columns = (
        *(Column(g, Unit.TEXT) for g in groups),
        Column(
            "error_class",
            Unit.TEXT,
            "the JSON-RPC error code, or " + "; ".join(f"{name}: {meaning}" for name, meaning in ERROR_CLASSES.items()),
        ),
        Column(
            "meaning", Unit.TEXT, "what the JSON-RPC code means, where the MCP or JSON-RPC spec names it", prose=True
        ),
        Column("rejected", Unit.FLAG, "server side: the answer blames the request, so these are not errors"),
        Column("errors", Unit.COUNT, "calls of this class: failed, or rejected where flagged"),
        Column("error_rate", Unit.RATE, "calls of this class / all calls of the group", "error %"),
        Column(
            "share_of_errors", Unit.RATE, "errors of this class / all errors of the group (not rejected)", "% of errors"
        ),
    )
    return Table("errors", "Errors by class", columns, rows(store, sql, params))


# JSON-RPC error codes the JSON-RPC 2.0 and MCP specs name. -32602 is also resource-not-found from
# 2026-07-28 on, -32002 before it; -32020..-32022 are new in 2026-07-28, -32042 only in 2025-11-25.
ERROR_CODES = {
    "-32700": "parse error",
    "-32600": "invalid request",
    "-32601": "method not found",
    "-32602": "invalid params, or resource not found (2026)",
    "-32603": "internal error",
    "-32002": "resource not found (2025)",
    "-32020": "header mismatch",
    "-32021": "missing required client capability",
    "-32022": "unsupported protocol version",
    "-32042": "URL elicitation required",
}


def _meaning(column: str) -> str:
    """SQL naming the JSON-RPC code in ``column``, NULL for any other class."""
    cases = " ".join(f"WHEN '{code}' THEN '{text}'" for code, text in ERROR_CODES.items())
    return f"CASE {column} {cases} END"


# Sessions and calls group on the hashes the load made (mcpobs.ingest.dialects.keys).
# Each call after one of the same call that did not succeed (failed, or rejected by the
# server) is a recovery: that is every such call but the last call, if that one did not
# succeed either. Only calls that did not succeed at least once are grouped that finely:
# they are few. {keys} are extra grouping columns (a session's calls to one tool, say),
# each ending in a comma.
_SESSION_ROWS = """
, selected AS (
    SELECT side, {keys} session_key, {label} failed, succeeded, start_ns, end_ns, call_key AS call,
        http_status, auth_challenge, coalesce(client, '') AS auth_client
    FROM calls WHERE {where}
), retried AS (
    SELECT side, {names} session_key,
        count(*) FILTER (WHERE NOT succeeded) - CAST(NOT {last_succeeded} AS INTEGER) AS recoveries,
        NOT {last_succeeded} AS last_failed
    FROM selected WHERE call IN (SELECT call FROM selected WHERE NOT succeeded)
    GROUP BY side, {names} session_key, call
), challenged AS (
    -- the sessions an HTTP 401 challenged or a 403 refused (few): when the first challenge came, and how
    -- long until a request was answered (below 400) after it. Per client within the session: without
    -- sessions (2026-07-28) a session is a trace that may hold several clients, and one client's token
    -- does not authorise another; a session is authorised when each client challenged in it was. The
    -- counts are of clients: two clients in one trace that each failed are two failures, not one.
    SELECT side, {names} session_key, min(challenged_at) AS challenged_at,
        CASE WHEN count(challenged_at) = count(authorised_at) THEN max(authorised_at - challenged_at) END
            AS authorise_ns,
        count(challenged_at) AS challenged_clients,
        count(*) FILTER (WHERE refused) AS refused_clients,
        count(authorised_at) AS authorised_clients,
        count(*) FILTER (WHERE refused OR (challenged_at IS NOT NULL AND authorised_at IS NULL)) AS failed_clients
    FROM (
        SELECT side, {names} session_key, auth_client, {challenged_at} AS challenged_at, {refused} AS refused,
            min(s.start_ns) FILTER (WHERE s.http_status < 400 AND s.start_ns >= c.challenged_at) AS authorised_at
        FROM (
            SELECT side, {names} session_key, auth_client,
                min(end_ns) FILTER (WHERE http_status = 401) AS challenged_at,
                coalesce(max(http_status = 403), false) AS refused
            FROM selected WHERE http_status IN (401, 403) GROUP BY ALL
        ) AS c JOIN selected AS s USING (side, {names} session_key, auth_client)
        GROUP BY ALL
    ) AS per_client GROUP BY ALL
), sessions AS (
    SELECT * EXCEPT (recoveries, any_last_failed, challenged_at, authorise_ns),
        coalesce(recoveries, 0) AS recoveries, NOT coalesce(any_last_failed, false) AS succeeded,
        challenged_at IS NOT NULL AS challenged, authorise_ns / 1e6 AS time_to_authorise_ms
    FROM (
        SELECT side, {names} session_key, {servers}
            count(*) AS calls, count(*) FILTER (WHERE failed) AS errors,
            (max(end_ns) - min(start_ns)) / 1e6 AS duration_ms, min(start_ns) AS start_ns,
            coalesce(max(http_status = 403), false) AS refused, count(http_status) AS http_answers,
            {first_challenge} FILTER (WHERE http_status IN (401, 403)) AS challenge
        FROM selected GROUP BY ALL
    ) AS totals
    LEFT JOIN (
        SELECT side, {names} session_key, sum(recoveries) AS recoveries, max(last_failed) AS any_last_failed
        FROM retried GROUP BY ALL
    ) AS retries USING (side, {names} session_key)
    LEFT JOIN challenged USING (side, {names} session_key)
)
"""

SESSION_FIGURES = (
    Column("sessions", Unit.COUNT, "by mcp.session.id, else by trace where a revision has no sessions"),
    Column("session_success_rate", Unit.RATE, "sessions whose last call to each target succeeded", "success %"),
    Column("recoveries", Unit.COUNT, "calls retrying a call that did not succeed, all sessions"),
    Column("session_recovery_max", Unit.COUNT, "most recoveries in one session", "max recov."),
    Column("calls_per_session", Unit.COUNT, "mean", "calls/session"),
    Column("duration_p50_ms", Unit.MS, "session duration", "p50 ms"),
    Column("duration_p95_ms", Unit.MS, label="p95 ms"),
    Column("duration_max_ms", Unit.MS, label="max ms"),
    Column(
        "challenged_sessions",
        Unit.COUNT,
        "sessions answered HTTP 401 (a WWW-Authenticate challenge); in a trace without session ids, each client",
        "challenged",
    ),
    Column(
        "refused_sessions",
        Unit.COUNT,
        "sessions answered HTTP 403: credentials without the rights; in a trace without session ids, each client",
        "refused",
    ),
    Column(
        "authorised_sessions",
        Unit.COUNT,
        "challenged sessions (or clients, as above) with a request answered (below 400) after the first challenge",
        "authorised",
    ),
    Column(
        "auth_failures",
        Unit.COUNT,
        "sessions refused, or challenged and never authorised after; in a trace without session ids, each client",
        "auth fail.",
    ),
    Column(
        "time_to_authorise_p50_ms",
        Unit.MS,
        "first challenge's answer to the first authorised request's start, challenged sessions",
        "auth p50 ms",
    ),
    Column("time_to_authorise_max_ms", Unit.MS, "the longest time to authorise of one session", "auth max ms"),
)

# The session figures of HTTP authorisation, after the durations
_AUTH_FIGURES = (
    "challenged_sessions",
    "refused_sessions",
    "authorised_sessions",
    "auth_failures",
    "time_to_authorise_p50_ms",
    "time_to_authorise_max_ms",
)


def _session_rows(
    store: Calls, by: tuple[str, ...], where: str, keys: str, names: str, label: str, servers: str
) -> str:
    e = store.engine
    return calls_cte(store, by) + _SESSION_ROWS.format(
        where=where,
        keys=keys,
        names=names,
        label=label,
        servers=servers,
        last_succeeded=e.arg_max("succeeded", "start_ns"),
        challenged_at=e.any_value("c.challenged_at"),
        refused=e.any_value("c.refused"),
        first_challenge=e.arg_min("auth_challenge", "end_ns"),
    )


def session_figures(store: Calls, by: tuple[str, ...], where: str, params: dict[str, Any]) -> Table:
    """Per side and ``by`` group (a grouping of GROUPINGS): the figures of :data:`SESSION_FIGURES`,
    each session counted on the group's calls alone (a session's calls to one tool, with ``by=("tool",)``)."""
    groups, extra = _group(Query(by=by))
    head = _session_rows(
        store,
        by,
        where=where + extra,
        keys="".join(f"{GROUPINGS[g]} AS {g}, " for g in by),
        names="".join(f"{g}, " for g in by),
        label="",
        servers="",
    )
    keys = ", ".join(groups)
    e = store.engine
    auth = ", ".join(c.name for c in SESSION_FIGURES if c.name in _AUTH_FIGURES)
    # no HTTP status recorded (stdio, or traces without one): nothing says whether a session was
    # challenged, so the counts are empty (a rule on them has no verdict), not 0
    http = "CASE WHEN sum(http_answers) > 0 THEN"
    sql = f"""{head}
    SELECT * EXCEPT (duration, duration_max_ms, {auth}), duration[1], duration[2], duration_max_ms, {auth}
    FROM (
    SELECT {keys}, count(*) AS sessions,
        avg(CAST(succeeded AS INTEGER)) AS session_success_rate,
        sum(recoveries) AS recoveries,
        max(recoveries) AS session_recovery_max,
        avg(calls) AS calls_per_session,
        {e.quantiles("duration_ms", (0.5, 0.95))} AS duration,
        max(duration_ms) AS duration_max_ms,
        {http} coalesce(sum(challenged_clients), 0) END AS challenged_sessions,
        {http} coalesce(sum(refused_clients), 0) END AS refused_sessions,
        {http} coalesce(sum(authorised_clients), 0) END AS authorised_sessions,
        {http} coalesce(sum(failed_clients), 0) END AS auth_failures,
        {e.quantiles("time_to_authorise_ms", (0.5,))}[1] AS time_to_authorise_p50_ms,
        max(time_to_authorise_ms) AS time_to_authorise_max_ms
    FROM sessions GROUP BY ALL
    ) ORDER BY {keys}
    """
    columns = tuple(Column(g, Unit.TEXT) for g in groups) + SESSION_FIGURES
    return Table("sessions", "Sessions", columns, rows(store, sql, params))


def _sessions(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """Per session when grouped by session, else one summary row per side."""
    if "session" not in query.by:
        return session_figures(store, (), where, params)
    e = store.engine
    head = _session_rows(
        store,
        (),
        where=where,
        keys="",
        names="",
        # only a listing of sessions shows their ids and servers
        label="session AS label, server,",
        servers=f"{e.any_value('label')} AS label, {e.distinct_list('server', ', ')} AS servers,",
    )
    sql = f"""{head}
    SELECT side, label AS session, servers, calls, errors, duration_ms, recoveries, succeeded,
        CASE WHEN time_to_authorise_ms IS NOT NULL AND NOT refused THEN 'authorised after challenge'
            WHEN refused THEN 'refused' WHEN challenged THEN 'never authorised' END AS auth,
        challenge, time_to_authorise_ms,
        {e.timestamp_us("start_ns")} AS started
    FROM sessions ORDER BY duration_ms DESC, label{f" LIMIT {int(query.top)}" if query.top else ""}
    """
    columns = (
        Column("side", Unit.TEXT),
        Column("session", Unit.TEXT),
        Column("servers", Unit.TEXT, prose=True),
        Column("calls", Unit.COUNT),
        Column("errors", Unit.COUNT),
        Column("duration_ms", Unit.MS, "first call's start to last call's end", "duration ms"),
        Column(
            "recoveries",
            Unit.COUNT,
            "calls retrying a call that did not succeed (same method, target and arguments)",
            "recoveries",
        ),
        Column(
            "succeeded",
            Unit.FLAG,
            "the last call to each method, target and arguments succeeded (not failed, not rejected)",
        ),
        Column(
            "auth",
            Unit.TEXT,
            "authorised after challenge (HTTP 401, then a request answered), refused (HTTP 403), never authorised "
            "(challenged, nothing answered after); empty when never challenged",
            prose=True,
        ),
        Column(
            "challenge",
            Unit.TEXT,
            "the first 401's or 403's WWW-Authenticate: scheme, error, resource metadata",
            prose=True,
        ),
        Column("time_to_authorise_ms", Unit.MS, "first challenge's answer to the first authorised request", "auth ms"),
        Column("started", Unit.TIME),
    )
    return Table("sessions", "Sessions", columns, rows(store, sql, params))


def _traces(store: Calls, query: Query, where: str, params: dict[str, Any]) -> Table:
    """The instance layer: how big and long the traces holding the selected calls are."""
    e = store.engine
    sql = f"""{store.calls_cte}
    , selected AS (SELECT DISTINCT {e.hash("trace_id")} AS trace FROM calls WHERE {where}),
    traces AS (
        SELECT {e.hash("trace_id")} AS trace, count(*) AS spans, (max(end_ns) - min(start_ns)) / 1e6 AS duration_ms,
            sum(approx_bytes) AS size_bytes
        FROM spans GROUP BY trace
    ), figures AS (
        SELECT count(*) AS traces,
            {e.quantiles("spans", (0.5, 0.95))} AS s, max(spans) AS spans_max,
            {e.quantiles("duration_ms", (0.5, 0.95))} AS d, max(duration_ms) AS duration_max,
            {e.quantiles("size_bytes", (0.5, 0.95))} AS b, max(size_bytes) AS size_max
        FROM traces WHERE trace IN (SELECT trace FROM selected)
    )
    SELECT traces, s[1], s[2], spans_max, d[1], d[2], duration_max, b[1], b[2], size_max FROM figures
    """
    columns = (
        Column("traces", Unit.COUNT, "traces holding at least one selected call"),
        Column("spans_p50", Unit.COUNT, "spans per trace, all kinds", "spans p50"),
        Column("spans_p95", Unit.COUNT, label="spans p95"),
        Column("spans_max", Unit.COUNT, label="spans max"),
        Column("duration_p50_ms", Unit.MS, "first span's start to last span's end", "p50 ms"),
        Column("duration_p95_ms", Unit.MS, label="p95 ms"),
        Column("duration_max_ms", Unit.MS, label="max ms"),
        Column("size_p50_bytes", Unit.BYTES, "the trace's spans as compact JSON", "bytes p50"),
        Column("size_p95_bytes", Unit.BYTES, label="bytes p95"),
        Column("size_max_bytes", Unit.BYTES, label="bytes max"),
    )
    return Table("traces", "Traces", columns, rows(store, sql, params))


# Each section's builder: (store, query, WHERE clause and its parameters from filters(query)) -> Table.
# The cost sections read the ledger, which mcpobs.cost.build must have written first.
SECTIONS: dict[str, Callable[[Calls, Query, str, dict[str, Any]], Table]] = {
    "calls": _calls,
    "errors": _errors,
    "sessions": _sessions,
    "traces": _traces,
    **argument_sections.BUILDERS,
    **cost_sections.BUILDERS,
}


def _one(store: Calls, sql: str, params: dict[str, Any]) -> tuple[Any, ...]:
    return rows(store, store.calls_cte + "\n" + sql, params)[0]


def _time(ns: int | None) -> datetime | None:
    # to the microsecond below, exactly, as the sections' make_timestamp(ns // 1000): a float rounds
    return None if ns is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)
