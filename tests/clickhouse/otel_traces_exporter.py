"""Fill a chDB ``otel_traces`` table with the spans of a DuckDB store, exactly as the OpenTelemetry
Collector's ClickHouse exporter writes them.

Written from open-telemetry/opentelemetry-collector-contrib:
- exporter/clickhouseexporter/internal/sqltemplates/traces_table.sql: the DDL below, rendered with the
  exporter's defaults (no cluster, ``MergeTree()``, no TTL, bloom-filter indexes);
- exporter/clickhouseexporter/exporter_traces.go (pushTraceData): ``Timestamp`` the start,
  ``Duration`` ``EndTimestamp() - StartTimestamp()`` as pcommon.Timestamp (uint64: wraps when the span
  ends before it starts), ``SpanKind`` ``Kind().String()``, ``StatusCode`` ``Code().String()``, ids
  through traceutil.*IDToHexOrEmptyString (lower-case hex, ``''`` for none), ``ScopeName`` and
  ``ScopeVersion`` the scope's, ``Events``/``Links`` nested as convertEvents/convertLinks build them;
- exporter/clickhouseexporter/internal/attributes.go (AttributesToMap, GetServiceName): every value
  through pdata's ``Value.AsString()`` (go.opentelemetry.io/collector/pdata/pcommon/value.go): ints in
  decimal, bools ``true``/``false``, doubles as float64AsString (ES6 number formatting: fixed notation
  between 1e-6 and 1e21, else ``1e+21``/``1e-7``), bytes base64, maps and slices as ``json.Marshal``
  of ``AsRaw()`` (compact, map keys sorted, ``<>&`` escaped as ``\\u003c``…), an empty value ``""``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from decimal import Decimal
from typing import Any

from mcpobs.store import Store

DDL = """
CREATE TABLE IF NOT EXISTS {database}.{table} (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    ResourceAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(ResourceAttributes, 'Array(Tuple(String, String))')),
    SpanAttributeItems Array(String) ALIAS arrayMap(kv -> concat(kv.1, '=', kv.2), CAST(SpanAttributes, 'Array(Tuple(String, String))')),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_key mapKeys(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_span_attr_value mapValues(SpanAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1,
    INDEX idx_lower_span_name lower(SpanName) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree()
PARTITION BY toDate(Timestamp)
PRIMARY KEY (ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1
"""  # noqa: E501 (the exporter's text as it is)

# ptrace.SpanKind.String() and ptrace.StatusCode.String()
KINDS = ("Unspecified", "Internal", "Server", "Client", "Producer", "Consumer")
STATUSES = ("Unset", "Ok", "Error")


def go_float(f: float) -> str:
    """pdata's float64AsString (encoding/json's float formatting)."""
    if math.isinf(f) or math.isnan(f):
        return f"json: unsupported value: {'NaN' if math.isnan(f) else ('+Inf' if f > 0 else '-Inf')}"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    shortest = Decimal(repr(f))
    if 1e-6 <= abs(f) < 1e21:
        return format(shortest.normalize(), "f")
    sign, digits, exponent = shortest.normalize().as_tuple()
    assert isinstance(exponent, int)
    mantissa = "".join(map(str, digits))
    power = exponent + len(mantissa) - 1
    text = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
    return f"{'-' if sign else ''}{text}e{'+' if power >= 0 else '-'}{abs(power)}"


def _go_json(raw: Any) -> str:
    """encoding/json.Marshal of an AsRaw() value."""
    if raw is None:
        return "null"
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return go_float(raw)
    if isinstance(raw, bytes):
        return _go_string(base64.b64encode(raw).decode())
    if isinstance(raw, str):
        return _go_string(raw)
    if isinstance(raw, list):
        return "[" + ",".join(_go_json(v) for v in raw) + "]"
    assert isinstance(raw, dict)
    return "{" + ",".join(f"{_go_string(k)}:{_go_json(raw[k])}" for k in sorted(raw)) + "}"


def _go_string(text: str) -> str:
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        encoded = encoded.replace(char, escape)
    return encoded


def _raw_of_json(value: dict[str, Any] | None) -> Any:
    """An OTLP/JSON AnyValue object as pdata's AsRaw() gives it."""
    if not value:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "bytesValue" in value:
        return base64.b64decode(value["bytesValue"])
    if "arrayValue" in value:
        return [_raw_of_json(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: _raw_of_json(kv.get("value")) for kv in (value["kvlistValue"] or {}).get("values", [])}
    return None


def as_string(value: dict[str, Any] | None) -> str:
    """pdata Value.AsString() of an AnyValue as the store holds it (a struct of its possible fields)."""
    if value is None:
        return ""
    if value.get("stringValue") is not None:
        return str(value["stringValue"])
    if value.get("intValue") is not None:
        return str(int(value["intValue"]))
    if value.get("boolValue") is not None:
        return "true" if value["boolValue"] else "false"
    if value.get("doubleValue") is not None:
        return go_float(float(value["doubleValue"]))
    if value.get("bytesValue") is not None:
        return base64.b64encode(base64.b64decode(value["bytesValue"])).decode()
    if value.get("arrayValue") is not None:
        return _go_json(_raw_of_json({"arrayValue": json.loads(value["arrayValue"])}))
    if value.get("kvlistValue") is not None:
        return _go_json(_raw_of_json({"kvlistValue": json.loads(value["kvlistValue"])}))
    return ""


def attributes_to_map(attributes: list[dict[str, Any]] | None) -> dict[str, str]:
    """AttributesToMap: every key with its value's AsString()."""
    out: dict[str, str] = {}
    for a in attributes or ():
        out.setdefault(a["key"], as_string(a["value"]))  # a repeated key: the first, as DuckDB's lookup
    return out


def _hex_id(text: str | None, size: int) -> str:
    if not text:
        return ""
    if len(text) == 2 * size and all(c in "0123456789abcdefABCDEF" for c in text):
        return "" if set(text) == {"0"} else text.lower()
    try:
        raw = base64.b64decode(text)
    except binascii.Error:
        return ""
    return raw.hex() if len(raw) == size and any(raw) else ""


def _seconds(ns: int) -> str:
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def rows(store: Store) -> list[dict[str, Any]]:
    """The exporter's row of each span in ``store``."""
    resources: dict[int, Any] = {
        h: r
        for h, r in store.con.execute(
            "SELECT resource_hash, any_value(resource) FROM spans WHERE resource IS NOT NULL GROUP BY ALL"
        ).fetchall()
    }
    found = store.con.execute(
        """SELECT trace_id, span_id, parent_span_id, trace_state, name, kind, start_ns, end_ns, status_code,
            status_message, attributes, events, links, resource_hash, scope_name, scope_version
        FROM spans ORDER BY source_id, trace_id, span_id"""
    ).fetchall()
    out = []
    for (
        trace_id, span_id, parent, state, name, kind, start, end, status, message,
        attributes, events, links, resource_hash, scope_name, scope_version,
    ) in found:  # fmt: skip
        resource = resources.get(resource_hash) or {}
        resource_attributes = attributes_to_map(resource.get("attributes"))
        link_list = json.loads(links) if links else []
        out.append(
            {
                "Timestamp": _seconds(start),
                "TraceId": _hex_id(trace_id, 16),
                "SpanId": _hex_id(span_id, 8),
                "ParentSpanId": _hex_id(parent, 8),
                "TraceState": state or "",
                "SpanName": name or "",
                "SpanKind": KINDS[kind],
                # GetServiceName: service.name's AsString(), '' without one
                "ServiceName": resource_attributes.get("service.name", ""),
                "ResourceAttributes": resource_attributes,
                "ScopeName": scope_name or "",
                "ScopeVersion": scope_version or "",
                "SpanAttributes": attributes_to_map(attributes),
                "Duration": (end - start) % 2**64,
                "StatusCode": STATUSES[status],
                "StatusMessage": message or "",
                "Events.Timestamp": [_seconds(int(e["timeUnixNano"] or 0)) for e in events or ()],
                "Events.Name": [e["name"] or "" for e in events or ()],
                "Events.Attributes": [attributes_to_map(e["attributes"]) for e in events or ()],
                "Links.TraceId": [_hex_id(link.get("traceId"), 16) for link in link_list],
                "Links.SpanId": [_hex_id(link.get("spanId"), 8) for link in link_list],
                "Links.TraceState": [link.get("traceState") or "" for link in link_list],
                "Links.Attributes": [
                    {a["key"]: as_string(_json_value(a.get("value"))) for a in link.get("attributes") or ()}
                    for link in link_list
                ],
            }
        )
    return out


def _json_value(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """An AnyValue from raw OTLP JSON in the store's struct form (arrays and maps as JSON text)."""
    if value is None:
        return None
    return {k: json.dumps(v) if k in ("arrayValue", "kvlistValue") else v for k, v in value.items()}


def export(store: Store, session: Any, database: str = "otel", table: str = "otel_traces") -> int:
    """Create the exporter's table in a chDB ``session`` and insert every span of ``store``; how many."""
    session.query(f"CREATE DATABASE IF NOT EXISTS {database}")
    session.query(DDL.format(database=database, table=table))
    found = rows(store)
    insert(session, found, database, table)
    return len(found)


def insert(session: Any, found: list[dict[str, Any]], database: str = "otel", table: str = "otel_traces") -> None:
    """One INSERT of the exporter's rows ``found``, as one batch of pushTraceData (a retried batch is
    inserted again whole: the table is a plain MergeTree, so its rows are then there twice)."""
    if found:
        data = "\n".join(json.dumps(r, ensure_ascii=False) for r in found)
        session.query(f"INSERT INTO {database}.{table} FORMAT JSONEachRow\n{data}\n")
