"""Load OTLP JSON into the store with one SQL statement per file.

DuckDB's own JSON reader does the parsing, in parallel and streaming, against
an explicit schema (auto-detection is 4x slower and drops keys it did not
sample). Everything the OTLP/JSON mapping allows or real exporters write is
accepted: ids in hex or base64, enums as numbers or names, 64-bit integers as
strings or numbers, and the pre-1.0 ``instrumentationLibrarySpans``.
"""

from __future__ import annotations

from functools import cache

from mcpobs.ingest.dialects import (
    approximate_size,
    attribute_values,
    base_columns,
    derived_columns,
    last_columns,
)
from mcpobs.store import ATTRIBUTES, EVENTS, RESOURCE

_SPAN = (
    "STRUCT(traceId VARCHAR, spanId VARCHAR, traceState VARCHAR, parentSpanId VARCHAR, flags UBIGINT, "
    "name VARCHAR, kind VARCHAR, startTimeUnixNano VARCHAR, endTimeUnixNano VARCHAR, "
    f"attributes {ATTRIBUTES}, droppedAttributesCount UBIGINT, events {EVENTS}, droppedEventsCount UBIGINT, "
    "links JSON, droppedLinksCount UBIGINT, status STRUCT(message VARCHAR, code VARCHAR))"
)
_SCOPE = f"STRUCT(name VARCHAR, version VARCHAR, attributes {ATTRIBUTES})"
_RESOURCE_SPANS = (
    f"STRUCT(resource {RESOURCE}, schemaUrl VARCHAR, "
    f"scopeSpans STRUCT(scope {_SCOPE}, spans {_SPAN}[], schemaUrl VARCHAR)[], "
    f"instrumentationLibrarySpans STRUCT(instrumentationLibrary {_SCOPE}, spans {_SPAN}[])[])[]"
)
COLUMNS = "{'resourceSpans': '" + _RESOURCE_SPANS + "'}"

_KINDS = (
    "CASE upper(s.kind) WHEN '0' THEN 0 WHEN '1' THEN 1 WHEN '2' THEN 2 WHEN '3' THEN 3 WHEN '4' THEN 4 "
    "WHEN '5' THEN 5 WHEN 'SPAN_KIND_UNSPECIFIED' THEN 0 WHEN 'SPAN_KIND_INTERNAL' THEN 1 "
    "WHEN 'SPAN_KIND_SERVER' THEN 2 WHEN 'SPAN_KIND_CLIENT' THEN 3 WHEN 'SPAN_KIND_PRODUCER' THEN 4 "
    "WHEN 'SPAN_KIND_CONSUMER' THEN 5 END"
)
_STATUS = (
    "CASE upper(s.status.code) WHEN '0' THEN 0 WHEN '1' THEN 1 WHEN '2' THEN 2 "
    "WHEN 'STATUS_CODE_UNSET' THEN 0 WHEN 'STATUS_CODE_OK' THEN 1 WHEN 'STATUS_CODE_ERROR' THEN 2 END"
)


def hex_id(expr: str, size: int) -> str:
    """Hex as the spec says, else base64 as protobuf's JSON mapping writes; NULL when neither fits."""
    return (
        f"CASE WHEN {expr} IS NULL OR {expr} = '' THEN NULL "
        f"WHEN length({expr}) = {2 * size} AND regexp_full_match({expr}, '[0-9a-fA-F]+') THEN lower({expr}) "
        f"WHEN octet_length(try(from_base64({expr}))) = {size} THEN lower(hex(from_base64({expr}))) END"
    )


@cache
def insert_sql(json_format: str) -> str:
    """The statement that loads one file: parameters ``$path``, ``$compression``, ``$source_id``.

    ``json_format`` is DuckDB's ``format`` option: ``newline_delimited`` or ``unstructured``.
    """
    base = base_columns(values="attr_values", keys="attr_keys", name="s.name", scope="scope.name")
    base_sql = ",\n        ".join(f"{sql} AS {column}" for column, sql in base.items())
    derived = derived_columns(
        name="s.name", kind="kind_number", status="status_number", events="s.events", attributes="s.attributes"
    )
    derived_sql = ",\n        ".join(f"{sql} AS d_{column}" for column, sql in derived.items())
    last = last_columns(derived, trace_id="trace_hex", status="status_number", status_message="s.status.message")
    final_sql = ",\n    ".join(f"{sql} AS {column}" for column, sql in last.items())
    size = approximate_size(name="s.name", keys="attr_keys", values="attr_values", events="s.events")
    return f"""
INSERT INTO spans BY NAME
WITH resource_spans AS (
    SELECT unnest(resourceSpans) AS rs
    FROM read_json($path, format = '{json_format}', records = true, columns = {COLUMNS},
                   compression = $compression)
), scope_spans AS (
    SELECT rs.resource AS resource, rs.schemaUrl AS resource_schema_url, hash(rs.resource) AS resource_hash,
        unnest(scope_list) AS ss, generate_subscripts(scope_list, 1) AS scope_index
    FROM (
        -- files from before OTLP 1.0 say instrumentationLibrarySpans; rebuilding the list
        -- costs, so only those files pay for it
        SELECT rs, CASE WHEN rs.instrumentationLibrarySpans IS NULL THEN rs.scopeSpans ELSE list_concat(
            rs.scopeSpans,
            list_transform(rs.instrumentationLibrarySpans,
                lambda l: {{'scope': l.instrumentationLibrary, 'spans': l.spans, 'schemaUrl': NULL}})
        ) END AS scope_list
        FROM resource_spans
    )
), raw AS (
    SELECT resource, resource_schema_url, resource_hash, scope_index, ss.scope AS scope,
        unnest(ss.spans) AS s, generate_subscripts(ss.spans, 1) AS span_index
    FROM scope_spans
), typed AS (
    SELECT *, {_KINDS} AS kind_number, {_STATUS} AS status_number, {hex_id("s.traceId", 16)} AS trace_hex,
        list_transform(s.attributes, lambda a: a.key) AS attr_keys,
        {attribute_values("s.attributes")} AS attr_values
    FROM raw
), attributed AS (
    SELECT *,
        {base_sql}
    FROM typed
), derived AS (
    SELECT *,
        {derived_sql}
    FROM attributed
)
SELECT
    $source_id AS source_id,
    trace_hex AS trace_id,
    {hex_id("s.spanId", 8)} AS span_id,
    {hex_id("s.parentSpanId", 8)} AS parent_span_id,
    nullif(s.traceState, '') AS trace_state,
    s.flags,
    s.name,
    coalesce(kind_number, CASE WHEN s.kind IS NULL THEN 0 END) AS kind,
    -- through UBIGINT so that a negative time fails, as validate says it should
    CAST(CAST(s.startTimeUnixNano AS UBIGINT) AS BIGINT) AS start_ns,
    CAST(CAST(s.endTimeUnixNano AS UBIGINT) AS BIGINT) AS end_ns,
    coalesce(status_number, CASE WHEN s.status.code IS NULL THEN 0 END) AS status_code,
    nullif(s.status.message, '') AS status_message,
    s.attributes,
    CASE WHEN list_bool_or(list_transform(s.events,
            lambda e: e.timeUnixNano IS NOT NULL AND TRY_CAST(e.timeUnixNano AS UBIGINT) IS NULL))
        THEN error('an event time is not an integer') ELSE s.events END AS events,
    s.links,
    s.droppedAttributesCount AS dropped_attributes_count,
    s.droppedEventsCount AS dropped_events_count,
    s.droppedLinksCount AS dropped_links_count,
    resource.attributes[list_position(list_transform(resource.attributes, lambda a: a.key), 'service.name')]
        .value.stringValue AS service_name,
    resource_hash,
    CASE WHEN scope_index = 1 AND span_index = 1 THEN resource END AS resource,
    resource_schema_url,
    scope.name AS scope_name,
    scope.version AS scope_version,
    scope.attributes AS scope_attributes,
    {size} AS approx_bytes,
    {final_sql}
FROM derived
"""
