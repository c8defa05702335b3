"""OTLP protobuf: decode with the generated classes and hand the spans to the JSON loader.

Two layouts: a bare binary ``ExportTraceServiceRequest`` (``.pb``/``.binpb``),
and the Collector file exporter's framing, where each record is a 4-byte
big-endian length then the message, zstd-compressed or not, protobuf or JSON.
Each message is rewritten as one line of OTLP JSON in a spool file, so both
formats share one loader and one set of checks. Record ``N`` of the input is
line ``N`` of the spool. The rewriting reads the generated classes' fields
directly: protobuf's own ``json_format`` walks them by reflection, at less than
half the speed.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from mcpobs.errors import InputError
from mcpobs.ingest.sources import ZSTD_MAGIC, Format, Source

_FRAME_HEADER = struct.Struct(">I")


def spool_as_json_lines(source: Source, target: Path) -> int:
    """Write ``source`` as OTLP JSON lines to ``target``; return how many records it held."""
    records = 0
    with source.open_binary() as f, target.open("wb") as out:
        for number, record in enumerate(_records(source, f), start=1):
            out.write(_as_json_line(source, number, record))
            out.write(b"\n")
            records += 1
    return records


def _records(source: Source, f: BinaryIO) -> Iterator[bytes]:
    if source.format is Format.OTLP_PROTO:
        yield f.read()
        return
    number = 0
    while header := f.read(_FRAME_HEADER.size):
        number += 1
        if len(header) < _FRAME_HEADER.size:
            raise InputError(source.name, "file ends inside a record's length prefix", number, unit="record ")
        (size,) = _FRAME_HEADER.unpack(header)
        record = f.read(size)
        if len(record) < size:
            raise InputError(source.name, f"record is cut short: {len(record)} of {size} bytes", number, unit="record ")
        yield record


def _as_json_line(source: Source, number: int, record: bytes) -> bytes:
    unit = "record " if source.format is Format.OTLP_PROTO_FRAMED else ""
    line = number if unit else None
    if record.startswith(ZSTD_MAGIC):
        import zstandard

        try:
            record = zstandard.ZstdDecompressor().decompressobj().decompress(record)
        except zstandard.ZstdError as e:
            raise InputError(source.name, f"bad zstd data: {e}", line, unit=unit) from None
    if record.lstrip().startswith(b"{"):
        return record.strip()  # the Collector's JSON format, framed for compression
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(record)
    except DecodeError as e:
        raise InputError(
            source.name,
            f"not an OTLP ExportTraceServiceRequest: {e or 'protobuf decode error'}",
            line,
            unit=unit,
        ) from None
    return _JSON.encode(_request(request)).encode()


# compact, and without the check for cycles (a decoded message has none)
_JSON = json.JSONEncoder(separators=(",", ":"), check_circular=False)


# OTLP/JSON of the decoded message: hex ids, enums and 64-bit integers as numbers
# (all of which the JSON loader reads), every field the loader keeps.
def _request(m: Any) -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": _present(
                    attributes=_attributes(rs.resource.attributes),
                    droppedAttributesCount=rs.resource.dropped_attributes_count,
                ),
                **_present(schemaUrl=rs.schema_url),
                "scopeSpans": [
                    {
                        "scope": _present(
                            name=ss.scope.name, version=ss.scope.version, attributes=_attributes(ss.scope.attributes)
                        ),
                        **_present(schemaUrl=ss.schema_url),
                        "spans": [_span(s) for s in ss.spans],
                    }
                    for ss in rs.scope_spans
                ],
            }
            for rs in m.resource_spans
        ]
    }


def _span(s: Any) -> dict[str, Any]:
    # field by field rather than through _present: this runs for every span, and the keys keep
    # _present's order (the lines stay byte for byte what they were)
    span: dict[str, Any] = {
        "traceId": s.trace_id.hex(),
        "spanId": s.span_id.hex(),
        "startTimeUnixNano": s.start_time_unix_nano,
        "endTimeUnixNano": s.end_time_unix_nano,
    }
    if parent := s.parent_span_id:
        span["parentSpanId"] = parent.hex()
    if trace_state := s.trace_state:
        span["traceState"] = trace_state
    if flags := s.flags:
        span["flags"] = flags
    if name := s.name:
        span["name"] = name
    if kind := s.kind:
        span["kind"] = kind
    if s.attributes:
        span["attributes"] = _attributes(s.attributes)
    if dropped := s.dropped_attributes_count:
        span["droppedAttributesCount"] = dropped
    if dropped := s.dropped_events_count:
        span["droppedEventsCount"] = dropped
    if dropped := s.dropped_links_count:
        span["droppedLinksCount"] = dropped
    status = s.status
    span["status"] = _present(code=status.code, message=status.message)
    if s.events:
        span["events"] = [
            {
                "timeUnixNano": e.time_unix_nano,
                **_present(
                    name=e.name,
                    attributes=_attributes(e.attributes),
                    droppedAttributesCount=e.dropped_attributes_count,
                ),
            }
            for e in s.events
        ]
    if s.links:
        span["links"] = [
            {
                "traceId": link.trace_id.hex(),
                "spanId": link.span_id.hex(),
                **_present(
                    traceState=link.trace_state,
                    flags=link.flags,
                    attributes=_attributes(link.attributes),
                    droppedAttributesCount=link.dropped_attributes_count,
                ),
            }
            for link in s.links
        ]
    return span


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that differ from protobuf's defaults, which OTLP/JSON leaves out as absent."""
    return {k: v for k, v in fields.items() if v not in ("", 0, [])}


def _attributes(pairs: Any) -> list[dict[str, Any]]:
    attributes = []
    for kv in pairs:
        value = kv.value
        kind = value.WhichOneof("value")
        # most values are strings: those without a call of their own
        if kind == "string_value":
            attributes.append({"key": kv.key, "value": {"stringValue": value.string_value}})
        else:
            attributes.append({"key": kv.key, "value": _any_value(value, kind)})
    return attributes


def _any_value(v: Any, kind: str | None) -> dict[str, Any]:
    if kind == "string_value":
        return {"stringValue": v.string_value}
    if kind == "int_value":
        return {"intValue": str(v.int_value)}
    if kind == "bool_value":
        return {"boolValue": v.bool_value}
    if kind == "double_value":
        return {"doubleValue": _double(v.double_value)}
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(v.bytes_value).decode()}
    if kind == "array_value":
        return {"arrayValue": {"values": [_any_value(x, x.WhichOneof("value")) for x in v.array_value.values]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": _attributes(v.kvlist_value.values)}}
    return {}


def _double(x: float) -> float | str:
    """A double as OTLP/JSON writes it: non-finite values by name."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x
