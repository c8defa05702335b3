"""Find exactly where and why an OTLP JSON file is malformed.

DuckDB parses OTLP JSON fast but says little about bad input (its line numbers
can be off by one, and it stops at the first problem). When a load fails, this
module reads the file again, line by line, and names each bad line and what is
wrong with it. It accepts exactly what the SQL loader accepts.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mcpobs.eventlog.reader import NESTED_TOO_DEEPLY, loads
from mcpobs.ingest.sources import Format, Source

_HEX = re.compile(r"[0-9a-fA-F]+")
_DIGITS = re.compile(r"[0-9]+")
SPAN_KINDS = {
    "SPAN_KIND_UNSPECIFIED": 0,
    "SPAN_KIND_INTERNAL": 1,
    "SPAN_KIND_SERVER": 2,
    "SPAN_KIND_CLIENT": 3,
    "SPAN_KIND_PRODUCER": 4,
    "SPAN_KIND_CONSUMER": 5,
}
STATUS_CODES = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}


@dataclass(frozen=True)
class Problem:
    """A bad line: its 1-based number and what is wrong."""

    line: int
    message: str


def problems(source: Source) -> Iterator[Problem]:
    """Every problem in ``source``, in file order."""
    if source.format is Format.OTLP_JSON_LINES:
        yield from _lines(source)
    else:
        yield from _documents(source)


def _lines(source: Source) -> Iterator[Problem]:
    number = 0
    try:
        with source.open_binary() as f:
            for number, raw in enumerate(f, start=1):
                if not raw.strip():
                    continue
                try:
                    document = loads(raw.rstrip(b"\r\n"))
                except UnicodeDecodeError:
                    yield Problem(number, "not UTF-8 text")
                    continue
                except json.JSONDecodeError as e:
                    yield Problem(number, f"invalid JSON: {e.msg} (column {e.colno})")
                    continue
                except ValueError as e:
                    yield Problem(number, f"invalid JSON: {e}")
                    continue
                message = check_request(document)
                if message:
                    yield Problem(number, message)
    except (EOFError, OSError, zlib.error) as e:
        # gzip and zstd streams cut short end here, after their last whole line
        yield Problem(number + 1, f"compressed stream ends early: {e}")


def _documents(source: Source) -> Iterator[Problem]:
    with source.open_binary() as f:
        try:
            text = f.read().decode("utf-8-sig")  # a BOM first is no character of the document
        except UnicodeDecodeError as e:
            yield Problem(1, f"not UTF-8 text (byte {e.start})")
            return
        except (EOFError, OSError, zlib.error) as e:
            yield Problem(1, f"compressed stream ends early: {e}")
            return
    decoder = json.JSONDecoder()
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return
        line = text.count("\n", 0, position) + 1
        try:
            document, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as e:
            yield Problem(e.lineno, f"invalid JSON: {e.msg} (column {e.colno})")
            return
        except RecursionError:
            yield Problem(line, f"invalid JSON: {NESTED_TOO_DEEPLY}")
            return
        message = check_request(document)
        if message:
            yield Problem(line, message)


def check_request(document: Any) -> str | None:
    """What is wrong with one decoded ``ExportTraceServiceRequest``, or ``None``."""
    if not isinstance(document, dict):
        return f"expected a JSON object, got {_kind(document)}"
    resource_spans = document.get("resourceSpans")
    if resource_spans is None:
        return None  # another signal (metrics, logs) or an empty export: nothing to load
    if not isinstance(resource_spans, list):
        return f"resourceSpans: expected a list, got {_kind(resource_spans)}"
    for i, rs in enumerate(resource_spans):
        where = f"resourceSpans[{i}]"
        if not isinstance(rs, dict):
            return f"{where}: expected an object, got {_kind(rs)}"
        resource = rs.get("resource")
        if resource is not None:
            if not isinstance(resource, dict):
                return f"{where}.resource: expected an object, got {_kind(resource)}"
            message = _check_attributes(resource.get("attributes"), f"{where}.resource.attributes")
            if message:
                return message
        for key in ("scopeSpans", "instrumentationLibrarySpans"):
            message = _check_scope_spans(rs.get(key), f"{where}.{key}")
            if message:
                return message
    return None


def _check_scope_spans(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return f"{where}: expected a list, got {_kind(value)}"
    for j, ss in enumerate(value):
        if not isinstance(ss, dict):
            return f"{where}[{j}]: expected an object, got {_kind(ss)}"
        spans = ss.get("spans")
        if spans is None:
            continue
        if not isinstance(spans, list):
            return f"{where}[{j}].spans: expected a list, got {_kind(spans)}"
        for k, span in enumerate(spans):
            message = check_span(span)
            if message:
                return f"{where}[{j}].spans[{k}]: {message}"
    return None


def check_span(span: Any) -> str | None:
    """What is wrong with one decoded OTLP span, or ``None``."""
    if not isinstance(span, dict):
        return f"expected a span object, got {_kind(span)}"
    for field, size in (("traceId", 16), ("spanId", 8)):
        message = _check_id(span.get(field), field, size, required=True)
        if message:
            return message
    message = _check_id(span.get("parentSpanId"), "parentSpanId", 8, required=False)
    if message:
        return message
    for field in ("startTimeUnixNano", "endTimeUnixNano"):
        message = _check_uint(span.get(field), field, required=True)
        if message:
            return message
    for field in ("flags", "droppedAttributesCount", "droppedEventsCount", "droppedLinksCount"):
        message = _check_uint(span.get(field), field, required=False)
        if message:
            return message
    message = _check_enum(span.get("kind"), "kind", SPAN_KINDS)
    if message:
        return message
    status = span.get("status")
    if status is not None:
        if not isinstance(status, dict):
            return f"status: expected an object, got {_kind(status)}"
        message = _check_enum(status.get("code"), "status.code", STATUS_CODES)
        if message:
            return message
    message = _check_attributes(span.get("attributes"), "attributes")
    if message:
        return message
    events = span.get("events")
    if events is not None:
        if not isinstance(events, list):
            return f"events: expected a list, got {_kind(events)}"
        for i, event in enumerate(events):
            if not isinstance(event, dict):
                return f"events[{i}]: expected an object, got {_kind(event)}"
            message = _check_uint(event.get("timeUnixNano"), f"events[{i}].timeUnixNano", required=False)
            if message:
                return message
            message = _check_attributes(event.get("attributes"), f"events[{i}].attributes")
            if message:
                return message
    return None


def _check_id(value: Any, field: str, size: int, *, required: bool) -> str | None:
    if value is None or value == "":
        return f"{field} is missing" if required else None
    if not isinstance(value, str):
        return f"{field}: expected a string, got {_kind(value)}"
    if len(value) == 2 * size and _HEX.fullmatch(value):
        return None
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) == size:
        return None
    return f"{field} {value!r} is neither {2 * size} hex digits nor base64 of {size} bytes"


def _check_uint(value: Any, field: str, *, required: bool) -> str | None:
    if value is None:
        return f"{field} is missing" if required else None
    if isinstance(value, bool) or not isinstance(value, int | str):
        return f"{field}: expected an integer, got {_kind(value)}"
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        return f"{field}: expected an integer, got {value!r}"
    if int(value) < 0 or int(value) >= 2**63:
        return f"{field}: {value} is out of range"
    return None


def _check_enum(value: Any, field: str, names: dict[str, int]) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value in names.values():
        return None
    if isinstance(value, str) and (value in names or (value.isdigit() and int(value) in names.values())):
        return None
    return f"{field}: {json.dumps(value)} is not one of {', '.join(names)} or 0..{max(names.values())}"


def _check_attributes(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return f"{where}: expected a list, got {_kind(value)}"
    for i, attribute in enumerate(value):
        if not isinstance(attribute, dict) or not isinstance(attribute.get("key"), str):
            return f"{where}[{i}]: expected an object with a string key, got {_kind(attribute)}"
        v = attribute.get("value")
        if v is not None and not isinstance(v, dict):
            return f"{where}[{i}] ({attribute['key']}): value must be an AnyValue object, got {_kind(v)}"
        if isinstance(v, dict):
            message = _check_any_value(v, f"{where}[{i}] ({attribute['key']})")
            if message:
                return message
    return None


def _check_any_value(value: dict[str, Any], where: str) -> str | None:
    if "intValue" in value:
        return _check_int(value["intValue"], f"{where}.intValue")
    if "doubleValue" in value:
        v = value["doubleValue"]
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            return f"{where}.doubleValue: expected a number, got {_kind(v)}"
        if isinstance(v, str) and v not in ("NaN", "Infinity", "-Infinity"):
            try:
                float(v)
            except ValueError:
                return f"{where}.doubleValue: expected a number, got {json.dumps(v)}"
    if "boolValue" in value and not isinstance(value["boolValue"], bool):
        return f"{where}.boolValue: expected true or false, got {json.dumps(value['boolValue'])}"
    return None


def _check_int(value: Any, field: str) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
        return None
    return f"{field}: expected an integer, got {json.dumps(value)}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
