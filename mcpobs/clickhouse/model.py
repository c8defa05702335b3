"""The call model over the OpenTelemetry Collector exporter's ``otel_traces``, as one ClickHouse query head.

The file path loads spans into DuckDB and derives each call's columns as it loads
(:mod:`mcpobs.ingest.otlp_json`), then ties spans together (:mod:`mcpobs.ingest`). Here nothing is
loaded or written: the same derived columns, from the same definitions in
:mod:`mcpobs.ingest.dialects` rendered for ClickHouse, are a chain of CTEs over the table, ending in
the ``mcp_calls`` SELECT of :func:`mcpobs.store.calls_select` and the ``calls`` every section reads.

The exporter's columns (exporter/clickhouseexporter/internal/sqltemplates/traces_table.sql and
exporter_traces.go in open-telemetry/opentelemetry-collector-contrib): ``Timestamp`` DateTime64(9) is
the start, ``Duration`` UInt64 ns the end minus the start (wrapped when a span ends before it starts),
``SpanKind`` pdata's ``Kind().String()`` (``Server``…), ``StatusCode`` ``Code().String()`` (``Ok``,
``Error``), ids lower-case hex with ``''`` for none, ``ServiceName`` ``''`` without ``service.name``,
attribute values pdata's ``AsString()``. Older exporter releases wrote ``SPAN_KIND_SERVER`` and
``STATUS_CODE_ERROR``: both spellings are read. A span written twice (a retried batch) is read once;
of two rows with the same ids but different columns, the one the store would keep (:data:`ONE_COPY`).
"""

from __future__ import annotations

from mcpobs.cost.ledger import OUTPUT_MESSAGES_KEY, RESPONSE_ID_KEY, TOOL_CALL_ID_KEY
from mcpobs.ingest.dialects import (
    ATTRIBUTE_KEYS,
    TOKEN_KEYS,
    answers_sql,
    base_columns,
    content_hash,
    derived_columns,
    keys,
    last_columns,
    method_evidence_sql,
    richness,
    wraps_sql,
)
from mcpobs.ingest.rounds import abandoned_answers_sql, abandons_sql, client_rounds_sql, server_rounds_sql
from mcpobs.sqlengine import CLICKHOUSE
from mcpobs.sqlengine import quote as _quote
from mcpobs.store import calls_select, in_flight_select

_E = CLICKHOUSE
_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
_STATUSES = ("Unset", "Ok", "Error")

_TOKEN_KEYS = ", ".join(_quote(k) for names in TOKEN_KEYS.values() for k in names)
# what the cost ledger links a tool call to the LLM call that asked for it by (mcpobs.cost.ledger.requests_sql),
# and tells one LLM call traced twice by (mcpobs.cost.ledger.NUMBERED_CANDIDATES)
_ID_KEYS = f"{_quote(TOOL_CALL_ID_KEY)}, {_quote(OUTPUT_MESSAGES_KEY)}, {_quote(RESPONSE_ID_KEY)}"
# The GenAI keys any column past the model reads (tokens, model, provider, operation; the ledger's ids):
# a trace where no span has one, nor an MCP method, holds no call and no LLM call, and nothing that
# _KEPT_ATTRIBUTES and _KEPT_EVENTS keep (their keys are among these)
_GENAI_KEYS = ", ".join(
    _quote(k)
    for k in (
        *(k for names in TOKEN_KEYS.values() for k in names),
        *(
            k
            for c in ("gen_ai_operation", "gen_ai_provider", "gen_ai_request_model", "gen_ai_response_model")
            for k in ATTRIBUTE_KEYS[c]
        ),
        TOOL_CALL_ID_KEY,
        OUTPUT_MESSAGES_KEY,
        RESPONSE_ID_KEY,
    )
)
# what modelled keeps of a span's attributes and events: past it only the LLM-call test reads attributes,
# for their token keys, and the cost ledger its tool-call ids (of spans and their events); the rest would
# be carried through every step for nothing
_KEPT_ATTRIBUTES = f"mapFilter((k, v) -> k IN ({_TOKEN_KEYS}, {_ID_KEYS}), attributes)"
_KEPT_EVENTS = (
    f"arrayFilter(e -> notEmpty(e), arrayMap(e -> mapFilter((k, v) -> k IN ({_ID_KEYS}), e), Events.Attributes))"
)

# What wrapping compares (mcpobs.ingest.dialects.wraps_sql), of each MCP span of a trace
# (and a wrapper's HTTP status, which the ingest's HTTP link reads as a parent's: it is no call once unwrapped)
_FAMILY = (
    "trace_id", "span_id", "parent_span_id", "mcp_method", "mcp_side", "mcp_target", "service_name", "http_status",
    "auth_challenge",
)  # fmt: skip
_FAMILY_TYPE = (
    "Tuple(trace_id String, span_id String, parent_span_id Nullable(String), mcp_method Nullable(String), "
    "mcp_side Nullable(String), mcp_target Nullable(String), service_name Nullable(String), "
    "http_status Nullable(Int32), auth_challenge Nullable(String))"
)
# A span that carried a request over HTTP: what an MCP span with no HTTP status of its own takes from
# its parent (mcpobs.ingest._link_http)
_HTTP_TYPE = "Tuple(span_id String, http_status Nullable(Int32), auth_challenge Nullable(String))"
# modelled's columns before the derived ones, trace_id first
_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "status_code", "status_message", "start_ns", "end_ns",
    "service_name", "scope_name", "source_id", "attributes", "events", "approx_bytes", "round_links",
)  # fmt: skip
# what mcpobs.ingest.rounds links, left for rounds_select (a table with no calls of several rounds and
# none abandoned keeps these)
_NO_ROUNDS = "CAST(NULL AS Nullable(String)) AS round_of, CAST(NULL AS Nullable(Int64)) AS call_start_ns"
# a call of several rounds' links to its rounds' spans, as the exporter writes them (lower-case hex ids);
# empty on every other span
_LINKS_TYPE = "Array(Tuple(trace_id String, span_id String))"
# a wrapper's call columns are cleared, as the ingest's UPDATE does
_UNWRAPPED = ("mcp_method", "mcp_target", "mcp_side", "session_key", "call_key")

# One row of each span, the copy the store keeps of a span two files give (mcpobs.ingest._resolve_conflicts):
# the Collector retries a batch the server wrote but did not acknowledge, into a plain MergeTree, so a span
# is there twice alike; two copies that differ (two exporters, hand-made ids) leave the one that holds
# more attributes and events, else the one of the smaller content hash. Where the store then goes by the
# files' hashes (copies alike in content), a table has no file: the copy with a parent (of two parents the
# greater id), else the smaller hash of its links, so that the same row is read whatever the order of the
# rows. Of copies that tie on what they hold the two engines may keep different ones (each hashes
# its own values: mcpobs.ingest.dialects.content_hash).
_CONTENT = content_hash(
    name="SpanName",
    kind="SpanKind",
    start="Timestamp",
    end="Duration",
    status="StatusCode",
    status_message="StatusMessage",
    attributes="SpanAttributes",
    events="Events",
    service="ServiceName",
    scope="ScopeName",
    engine=_E,
)
ONE_COPY = f"""ORDER BY {richness("SpanAttributes", "Events", _E)} DESC, {_CONTENT}, ParentSpanId DESC,
        cityHash64(Links.TraceId, Links.SpanId)
    LIMIT 1 BY TraceId, SpanId"""


def _enum(column: str, names: tuple[str, ...], prefix: str) -> str:
    cases = ", ".join(f"{column} IN ('{name}', '{prefix}{name.upper()}'), {i}" for i, name in enumerate(names) if i)
    return f"multiIf({cases}, 0)"


def modelled_traces(table: str, window: str) -> str:
    """A query of the ids of the traces in the window that hold a span the call model derives anything
    from: an MCP span (the dialects' method, :func:`mcpobs.ingest.dialects.method_sql`) or one with a
    GenAI key (an LLM call, a tool execution, a tool-call id). A production table holds every service's
    HTTP, database and queue spans, most in traces with neither: those are only counted
    (:func:`spans_select`)."""
    scope = "nullIf(ScopeName, '')"
    method = base_columns(
        values="SpanAttributes", keys="SpanAttributes", name="toNullable(SpanName)", scope=scope, engine=_E
    )["mcp_method"]
    # the method's evidence first: the method itself is worked out only for the few spans that have some
    evidence = method_evidence_sql("SpanAttributes", "SpanName", scope, _E)
    # GROUP BY rather than DISTINCT: a GROUP BY spills to disk past max_bytes_before_external_group_by
    return f"""SELECT TraceId FROM {table} WHERE {window} AND ((({evidence}) AND ({method}) IS NOT NULL)
        OR hasAny(mapKeys(SpanAttributes), [{_GENAI_KEYS}])
        OR arrayExists(e -> hasAny(mapKeys(e), [{_ID_KEYS}]), Events.Attributes))
    GROUP BY TraceId"""


def _raw(table: str, window: str, traces: str) -> str:
    return f"""
    SELECT
        TraceId AS trace_id, SpanId AS span_id, nullIf(ParentSpanId, '') AS parent_span_id,
        toNullable(SpanName) AS name,
        {_enum("SpanKind", _KINDS, "SPAN_KIND_")} AS kind_number,
        {_enum("StatusCode", _STATUSES, "STATUS_CODE_")} AS status_number,
        nullIf(StatusMessage, '') AS status_message,
        toUnixTimestamp64Nano(Timestamp) AS start_ns,
        -- Duration is UInt64: a span that ends before it starts wrapped, and comes back as Int64
        toUnixTimestamp64Nano(Timestamp) + toInt64(Duration) AS end_ns,
        nullIf(toString(ServiceName), '') AS service_name,
        nullIf(ScopeName, '') AS scope_name,
        SpanAttributes AS attributes,
        Events,
        Links.TraceId AS link_trace_ids, Links.SpanId AS link_span_ids
    FROM {table}
    WHERE {window} AND {traces}
    {ONE_COPY}"""


def spans_select(table: str, window: str, traces: str) -> str:
    """The spans of ``table`` (a quoted ``database.table``) whose ``Timestamp`` passes ``window`` (SQL
    over that column, so partitions prune), one of each ids, with the store's derived columns and
    links: the store's ``spans`` as one query, which :class:`mcpobs.clickhouse.ClickHouseTraces` runs
    once into a temporary table that every section then reads (:func:`calls_cte`). ``traces`` is SQL of
    the trace ids of :func:`modelled_traces` (a table or a subquery): the spans of other traces are there
    without derived columns."""
    events = "Events"
    base = base_columns(values="attributes", keys="attributes", name="name", scope="scope_name", engine=_E)
    derived = derived_columns(
        name="name", kind="kind_number", status="status_number", events=events, attributes="attributes", engine=_E
    )
    last = last_columns(
        derived, trace_id="trace_id", status="status_number", status_message="status_message", engine=_E
    )
    size = _E.approximate_size("name", "attributes", "attributes", events)
    base_sql = ",\n        ".join(f"{sql} AS {column}" for column, sql in base.items())
    derived_sql = ",\n        ".join(f"{sql} AS d_{column}" for column, sql in derived.items())
    final_sql = ",\n        ".join(f"{sql} AS {column}" for column, sql in last.items())
    columns = [*_COLUMNS, *last]
    # a span of a trace with no MCP and no GenAI span keeps its own columns but none derived (nor its size):
    # no call, session, LLM call or cost is in its trace, so nothing reads them, and the analysis's span
    # count still counts it; the derived columns' steps then run over the other traces' spans only
    underived = ", ".join(["false AS mcp_failed" if c == "mcp_failed" else f"NULL AS {c}" for c in last])
    return f"""WITH raw AS ({_raw(table, window, f"TraceId IN {traces}")}
), unmodelled AS ({_raw(table, window, f"TraceId NOT IN {traces}")}
), attributed AS (
    SELECT *,
        {base_sql}
    FROM raw
), derived AS (
    SELECT *,
        {derived_sql}
    FROM attributed
), modelled AS (
    SELECT trace_id, span_id, parent_span_id, name, kind_number AS kind, status_number AS status_code,
        status_message, start_ns, end_ns, service_name, scope_name, 0 AS source_id,
        {_KEPT_ATTRIBUTES} AS attributes, {_KEPT_EVENTS} AS events, {size} AS approx_bytes,
        CAST(if(d_rounds > 1, arrayZip(link_trace_ids, link_span_ids), []) AS {_LINKS_TYPE}) AS round_links,
        {final_sql}
    FROM derived
), traced AS (
    -- each trace's MCP spans as one row, to find wrappers and peers among them once per trace: a
    -- self-join is planned again at every reference to the calls, a window copies the trace per span
    SELECT trace_id, groupArrayIf(({", ".join(columns[1:])}), mcp_method IS NOT NULL) AS rows,
        groupArrayIf(CAST(({", ".join(_FAMILY)}), {_quote(_FAMILY_TYPE)}), mcp_method IS NOT NULL) AS family,
        groupArrayIf(CAST((span_id, http_status, auth_challenge), {_quote(_HTTP_TYPE)}), mcp_method IS NULL) AS http
    FROM modelled WHERE mcp_method IS NOT NULL OR http_status IS NOT NULL GROUP BY trace_id
), flagged AS (
    -- a span that wraps an MCP span of the same call is no call itself (mcpobs.ingest._unwrap);
    -- a client's call is answered by the server span whose parent it is (mcpobs.ingest._link_peers)
    SELECT trace_id, rows, wrappers,
        arrayFilter((a, wrapper) -> {answers_sql("a")} AND NOT wrapper, family, wrappers) AS answers,
        arrayConcat(http, arrayMap(f -> CAST((f.span_id, f.http_status, f.auth_challenge), {_quote(_HTTP_TYPE)}),
            arrayFilter((f, wrapper) -> wrapper AND f.http_status IS NOT NULL, family, wrappers))) AS http_parents
    FROM (
        -- comparing every pair copies the trace's MCP spans once per span: only in a trace where some
        -- span is the parent of one of the same method and side (wraps_sql's first terms; no copy)
        SELECT *, if(empty(arrayIntersect(arrayMap(c -> (c.parent_span_id, c.mcp_method, c.mcp_side), family),
                arrayMap(w -> (w.span_id, w.mcp_method, w.mcp_side), family))),
            arrayWithConstant(length(family), false),
            arrayMap(w -> arrayExists(c -> {wraps_sql("w", "c")}, family), family)) AS wrappers
        FROM traced
    )
), calls_linked AS (
    SELECT trace_id,
        {", ".join(_element(c, i, columns) for i, c in enumerate(columns[1:], start=1))},
        if(mcp_side = 'client', arrayFirst(s -> s IS NOT NULL,
            arrayMap(a -> if(a.parent_span_id = span_id, a.service_name, NULL), answers)), NULL) AS peer_service
    FROM (
        SELECT *, row, is_wrapper, {_inherited_session(columns)} AS inherited_session
        FROM flagged ARRAY JOIN rows AS row, wrappers AS is_wrapper
    )
), spans AS (
    SELECT {", ".join(columns)}, peer_service, {_NO_ROUNDS} FROM calls_linked
    UNION ALL
    SELECT {", ".join(columns)}, CAST(NULL AS Nullable(String)) AS peer_service, {_NO_ROUNDS}
    FROM modelled WHERE mcp_method IS NULL
    UNION ALL
    SELECT trace_id, span_id, parent_span_id, name, kind_number AS kind, status_number AS status_code,
        status_message, start_ns, end_ns, service_name, scope_name, 0 AS source_id,
        -- what modelled keeps of their attributes and events is empty: each key it keeps makes a trace modelled
        CAST(map() AS Map(String, String)) AS attributes, CAST([] AS Array(Map(String, String))) AS events,
        NULL AS approx_bytes, CAST([] AS {_LINKS_TYPE}) AS round_links, {underived},
        CAST(NULL AS Nullable(String)) AS peer_service, {_NO_ROUNDS}
    FROM unmodelled
)
SELECT * FROM spans"""


def calls_cte(spans: str, in_flight: bool = False, calls: str | None = None) -> str:
    """``WITH …``: the head of every query, over the table ``spans`` that :func:`spans_select` filled:
    ``spans``, then ``mcp_calls`` and the ``calls`` every section reads (``in_flight``: with the calls
    in flight when each started, as the store's view ``mcp_calls_in_flight``). With ``calls``, ``mcp_calls``
    is read from that table, filled once by ``SELECT * FROM mcp_calls`` after the head without it."""
    model = f"SELECT * FROM {calls}" if calls else calls_select(_E)
    return f"""WITH spans AS (SELECT * FROM {spans}), mcp_calls AS ({model}
), calls AS ({in_flight_select(_E) if in_flight else "SELECT * FROM mcp_calls"})
"""


def _inherited_session(columns: list[str]) -> str:
    """A server span's session where it records none: the client's call it answers, or the client's call
    the server's span it is inside answers (mcpobs.ingest._link_sessions), over the trace's ``rows``."""

    def of(tuple_: str, column: str) -> str:
        return f"tupleElement({tuple_}, {columns.index(column)})"

    parent = (
        f"arrayFirstIndex(r -> {of('r', 'span_id')} = {of('row', 'parent_span_id')} "
        f"AND {of('r', 'mcp_method')} IS NOT NULL, rows)"
    )
    grandparent = (
        f"arrayFirstIndex(r -> {of('r', 'span_id')} = {of(f'rows[{parent}]', 'parent_span_id')} "
        f"AND {of('r', 'mcp_side')} = 'client', rows)"
    )
    own = of("row", "mcp_session_id")
    return f"""multiIf({own} IS NOT NULL OR {of("row", "mcp_side")} != 'server' OR {parent} = 0, {own},
        {of(f"rows[{parent}]", "mcp_session_id")} IS NOT NULL, {of(f"rows[{parent}]", "mcp_session_id")},
        {of(f"rows[{parent}]", "mcp_side")} = 'server' AND {grandparent} > 0,
            {of(f"rows[{grandparent}]", "mcp_session_id")}, NULL)"""


def _element(column: str, index: int, columns: list[str]) -> str:
    value = f"tupleElement(row, {index})"
    if column in ("mcp_session_id", "session_key", "call_key"):
        session = "inherited_session"
        if column != "mcp_session_id":
            value = keys(
                trace_id="trace_id",
                session_id=session,
                side=f"tupleElement(row, {columns.index('mcp_side')})",
                method=f"tupleElement(row, {columns.index('mcp_method')})",
                target=f"tupleElement(row, {columns.index('mcp_target')})",
                arguments_hash=f"tupleElement(row, {columns.index('arguments_hash')})",
                engine=_E,
            )[column]
        else:
            value = session
    if column in _UNWRAPPED:
        return f"if(is_wrapper, NULL, {value}) AS {column}"
    if column in ("http_status", "auth_challenge"):
        # no HTTP status of its own: the HTTP parent's status and challenge (mcpobs.ingest._link_http)
        own = f"tupleElement(row, {columns.index('http_status')})"
        parent = f"tupleElement(row, {columns.index('parent_span_id')})"
        found = f"arrayFirstIndex(h -> h.span_id = {parent}, http_parents)"
        return f"if({own} IS NULL AND {found} > 0, http_parents[{found}].{column}, {value}) AS {column}"
    return f"{value} AS {column}"


def rounds_needed_sql(spans: str) -> str:
    """A query counting the spans :func:`rounds_select` reads in ``spans`` (the table :func:`spans_select`
    filled): calls of several rounds that link to their rounds, and calls the client abandoned."""
    return f"""SELECT count() FROM {spans}
    WHERE (rounds > 1 AND notEmpty(round_links)) OR (mcp_side = 'client' AND error_class = 'abandoned')"""


def rounds_select(spans: str) -> str:
    """The spans of ``spans`` (the table :func:`spans_select` filled) with the rounds of each 2026-07-28
    call of several rounds tied into one call, and the server's side of each call the client abandoned
    marked abandoned, as the store's post-load steps do (:mod:`mcpobs.ingest.rounds`, the same SQL).

    A span that two calls both link to is a round of one of them (which one is not defined, as in the store).
    """
    abandons = f"coalesce(a.answered IS NOT NULL AND {abandons_sql('s')}, false)"
    # the joined relations' columns are named apart from the spans': a name in both would come out as
    # `s.trace_id` of `s.*`
    return f"""WITH links AS (
    SELECT span_id AS call, mcp_side AS side, source_id AS call_source, error_class AS call_error_class,
        link.trace_id AS trace_id, link.span_id AS span_id, i
    FROM {spans} ARRAY JOIN round_links AS link, arrayEnumerate(round_links) AS i
    WHERE rounds > 1 AND link.span_id != ''
), client_rounds AS (
    SELECT trace_id AS round_trace, span_id AS round_span, round_of AS round_call
    FROM ({client_rounds_sql("links", spans)}) LIMIT 1 BY trace_id, span_id
), server_rounds AS (
    SELECT trace_id AS answer_trace, span_id AS answer_span, round_of AS answer_round_of,
        rounds AS answer_rounds, call_start_ns AS answer_call_start_ns, true AS answer_found
    FROM ({server_rounds_sql("links", spans, _E)}) LIMIT 1 BY trace_id, span_id
), rounded AS (
    -- a server span answering a round takes what server_rounds says, NULLs included, after client_rounds
    -- (the store's UPDATEs in that order)
    SELECT s.* REPLACE (
        if(v.answer_found, v.answer_round_of, coalesce(c.round_call, s.round_of)) AS round_of,
        if(v.answer_found, v.answer_rounds, s.rounds) AS rounds,
        if(v.answer_found, v.answer_call_start_ns, s.call_start_ns) AS call_start_ns)
    FROM {spans} AS s
        LEFT JOIN client_rounds AS c ON s.trace_id = c.round_trace AND s.span_id = c.round_span
        LEFT JOIN server_rounds AS v ON s.trace_id = v.answer_trace AND s.span_id = v.answer_span
), abandoned AS (
    SELECT DISTINCT trace_id AS abandoned_trace, answered FROM ({abandoned_answers_sql("links", "rounded")})
)
SELECT s.* REPLACE (
    if({abandons}, 'abandoned', s.error_type) AS error_type,
    if({abandons}, 'abandoned', s.error_class) AS error_class,
    -- mcp_failed is the UInt8 of an OR: 1 keeps it so
    if({abandons}, 1, s.mcp_failed) AS mcp_failed)
FROM rounded AS s LEFT JOIN abandoned AS a ON s.trace_id = a.abandoned_trace AND s.parent_span_id = a.answered"""
