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
``STATUS_CODE_ERROR``: both spellings are read.
"""

from __future__ import annotations

from mcpobs.ingest.dialects import (
    base_columns,
    derived_columns,
    keys,
    outcome_columns,
    peer_services_sql,
    wraps_sql,
)
from mcpobs.sqlengine import CLICKHOUSE
from mcpobs.store import calls_select

_E = CLICKHOUSE
_KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
_STATUSES = ("Unset", "Ok", "Error")

# The ingest's post-load steps that are not expressed here yet: a table holding such calls is refused
# rather than counted differently from its files (see :func:`unsupported_sql`).
UNSUPPORTED = {
    "rounds": "2026-07-28 calls of several rounds (mcpobs.rounds)",
    "abandoned": "calls abandoned after input_required (error.type abandoned)",
}


def _enum(column: str, names: tuple[str, ...], prefix: str) -> str:
    cases = ", ".join(f"{column} IN ('{name}', '{prefix}{name.upper()}'), {i}" for i, name in enumerate(names) if i)
    return f"multiIf({cases}, 0)"


def _raw(table: str, window: str) -> str:
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
        Events
    FROM {table}
    WHERE {window}"""


def calls_cte(table: str, window: str) -> str:
    """``WITH …``: the spans of ``table`` (a quoted ``database.table``) whose ``Timestamp`` passes
    ``window`` (SQL over that column, so partitions prune) as ``spans``, with the store's derived
    columns and links; then ``mcp_calls`` and the ``calls`` every section reads."""
    events = "Events"
    base = base_columns(values="attributes", keys="attributes", name="name", scope="scope_name", engine=_E)
    derived = derived_columns(name="name", kind="kind_number", status="status_number", events=events, engine=_E)
    outcome = outcome_columns(
        error_type="d_error_type", status="status_number", status_message="status_message", engine=_E
    )
    outcome.update(
        keys(
            trace_id="trace_id",
            session_id="d_mcp_session_id",
            side="d_mcp_side",
            method="d_mcp_method",
            target="d_mcp_target",
            arguments_hash="d_arguments_hash",
            engine=_E,
        )
    )
    size = _E.approximate_size("name", "attributes", "attributes", events)
    base_sql = ",\n        ".join(f"{sql} AS {column}" for column, sql in base.items())
    derived_sql = ",\n        ".join(f"{sql} AS d_{column}" for column, sql in derived.items())
    final_sql = ",\n        ".join(
        [f"d_{column} AS {column}" for column in derived] + [f"{sql} AS {column}" for column, sql in outcome.items()]
    )
    unwrapped = ("mcp_method", "mcp_target", "mcp_side", "session_key", "call_key")
    return f"""WITH raw AS ({_raw(table, window)}
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
        status_message, start_ns, end_ns, service_name, scope_name, attributes, 0 AS source_id,
        {size} AS approx_bytes,
        {final_sql}
    FROM derived
), wrappers AS (
    SELECT w.trace_id AS trace_id, w.span_id AS span_id
    FROM modelled AS w INNER JOIN modelled AS c ON c.trace_id = w.trace_id AND c.parent_span_id = w.span_id
    WHERE {wraps_sql("w", "c")}
    GROUP BY w.trace_id, w.span_id
), unwrapped AS (
    SELECT * EXCEPT (is_wrapper, {", ".join(unwrapped)}),
        {", ".join(f"if(is_wrapper, NULL, {c}) AS {c}" for c in unwrapped)}
    FROM (SELECT *, (trace_id, span_id) IN (SELECT trace_id, span_id FROM wrappers) AS is_wrapper FROM modelled)
), peers AS ({peer_services_sql("unwrapped", _E)}
), spans AS (
    SELECT u.*, if(u.mcp_side = 'client', p.service_name, NULL) AS peer_service,
        CAST(NULL AS Nullable(String)) AS round_of, CAST(NULL AS Nullable(Int64)) AS call_start_ns
    FROM unwrapped AS u LEFT JOIN peers AS p ON p.trace_id = u.trace_id AND p.parent_span_id = u.span_id
), mcp_calls AS ({calls_select(_E)}
), calls AS (SELECT * FROM mcp_calls)
"""


def unsupported_sql(cte: str) -> str:
    """A query counting the calls of each kind :data:`UNSUPPORTED` names, after the head ``cte``."""
    return f"""{cte}
    SELECT countIf(rounds > 1), countIf(error_type = 'abandoned') FROM spans WHERE mcp_method IS NOT NULL"""
