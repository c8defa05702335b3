"""Other recorders' files as event logs: mcp-recorder and mcp-cassette cassettes, mcp-vcr transcripts.

mcp-recorder (PyPI ``mcp-recorder``) writes one JSON document per recording::

    {"version": "1.0",
     "metadata": {"recorded_at": "…", "server_url": "…", "transport_type": "stdio" | "http",
                  "protocol_version": "…", "server_info": {"name": …, "version": …}},
     "interactions": [{"type": "jsonrpc_request", "request": {…}, "response": {…} | null,
                       "response_status": 200, "response_is_sse": false, "latency_ms": 7}, …,
                      {"type": "notification", "request": {…}, …}]}

It keeps each request with its response and the latency in whole milliseconds,
but not when each call started, nor the server's notifications (progress). A
converted log therefore lays the interactions end to end from ``recorded_at``,
each taking its ``latency_ms``: latencies and error figures are the recording's,
the gaps between calls are not, and there is no time to first response.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

from mcpobs.errors import InputError
from mcpobs.eventlog.reader import EventLog, is_event_log, loads, parse_event_log
from mcpobs.eventlog.writer import FORMAT, header_record

MCP_RECORDER = "mcp-recorder"
MCP_VCR_NDJSON = "mcp-vcr-ndjson"
MCP_VCR_YAML = "mcp-vcr-yaml"
MCP_CASSETTE = "mcp-cassette"
_VCR_YAML_KEY = re.compile(rb"^(messages|meta):\s*$", re.MULTILINE)


def sniff(head: bytes) -> str | None:
    """The peer format a file's first bytes belong to, or None."""
    stripped = head.lstrip()
    if stripped[:1] == b"{":
        first = stripped.split(b"\n", 1)[0]
        if b'"_type"' in first and b'"meta"' in first and b'"recorded_at"' in first:
            return MCP_VCR_NDJSON
        if b'"interactions"' in head and b'"resourceSpans"' not in head:
            return MCP_RECORDER
        if b'"format_version"' in head and b'"messages"' in head and b'"resourceSpans"' not in head:
            return MCP_CASSETTE
    elif _VCR_YAML_KEY.search(head) and b"payload:" in head:
        return MCP_VCR_YAML
    return None


def as_event_log(name: str, data: bytes, kind: str) -> EventLog:
    """A recording as an event log: mcpobs' own (kind ``mcpobs-event-log``) or a peer recorder's file
    (of the ``kind`` :func:`sniff` said)."""
    if kind == FORMAT:
        return parse_event_log(name, data)
    if kind == MCP_RECORDER:
        return from_mcp_recorder(name, data)
    if kind == MCP_CASSETTE:
        return from_mcp_cassette(name, data)
    return from_mcp_vcr(name, data, yaml_format=kind == MCP_VCR_YAML)


def from_mcp_recorder(name: str, data: bytes) -> EventLog:
    """An mcp-recorder cassette as an event log (see the module's note on times)."""
    try:
        document = loads(data)
    except ValueError as e:
        line = getattr(e, "lineno", None)
        raise InputError(name, f"invalid JSON: {getattr(e, 'msg', e)}", line) from None
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        raise InputError(name, 'not an mcp-recorder cassette: no "interactions" list')
    raw_metadata = document.get("metadata")
    metadata: dict[str, Any] = raw_metadata if isinstance(raw_metadata, dict) else {}
    start = _ns(name, metadata.get("recorded_at"))
    transport = "http" if metadata.get("transport_type") == "http" else "stdio"
    server = {"url": metadata.get("server_url")} if transport == "http" else {"command": None}
    redaction = {"enabled": False, "rules": [], "converted_from": f"{MCP_RECORDER} {document.get('version')}"}
    header, records = _opening(
        start, metadata.get("recorded_at"), transport, server, redaction, metadata.get("protocol_version"), MCP_RECORDER
    )
    cursor = start
    for number, interaction in enumerate(document["interactions"], 1):
        if not isinstance(interaction, dict) or not isinstance(interaction.get("request"), dict):
            raise InputError(name, f"interaction {number}: expected an object with a request")
        latency = interaction.get("latency_ms") or 0
        if not isinstance(latency, int | float) or latency < 0:
            raise InputError(name, f"interaction {number}: latency_ms {latency!r} is not a duration")
        http = _http(interaction, transport)
        records.append({"t": cursor, "kind": "message", "dir": "c2s", "message": interaction["request"], **http})
        cursor += int(latency * 1_000_000)
        response = interaction.get("response")
        if isinstance(response, dict | list):
            status = {"http": {"status": interaction.get("response_status")}} if transport == "http" else {}
            records.append({"t": cursor, "kind": "message", "dir": "s2c", "message": response, **status})
    records.append({"t": cursor, "kind": "event", "event": "client_closed"})
    return EventLog(name, header, records)


def from_mcp_vcr(name: str, data: bytes, *, yaml_format: bool) -> EventLog:
    """An mcp-vcr transcript (YAML: ``meta`` and ``messages``; NDJSON: a ``_type: meta`` line, then
    ``{"t", "dir", "payload"}`` lines) as an event log. mcp-vcr's ``t`` is whole milliseconds since
    ``recorded_at``, so times are exact to the millisecond; notifications are kept."""
    if yaml_format:
        import yaml  # only for mcp-vcr's YAML cassettes: not paid by every command that sniffs a file

        try:
            document = yaml.safe_load(data)
        except RecursionError:
            raise InputError(name, "not valid YAML: nested too deeply to read") from None
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            raise InputError(
                name, f"not valid YAML: {getattr(e, 'problem', e)}", mark.line + 1 if mark else None
            ) from None
        if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
            raise InputError(name, "not an mcp-vcr transcript: no messages list")
        meta = document.get("meta") or {}
        lines: list[tuple[int | None, Any]] = [(None, m) for m in document["messages"]]
    else:
        rows: list[tuple[int | None, Any]] = []
        for number, line in enumerate(data.split(b"\n"), 1):
            if line.strip():
                try:
                    rows.append((number, loads(line)))
                except ValueError as e:
                    raise InputError(name, f"invalid JSON: {e}", number) from None
        if not rows or not isinstance(rows[0][1], dict) or rows[0][1].get("_type") != "meta":
            raise InputError(name, 'not an mcp-vcr transcript: the first line is no {"_type": "meta"}', 1)
        meta, lines = rows[0][1], rows[1:]
    start = _ns(name, meta.get("recorded_at") if isinstance(meta, dict) else None)
    command = meta.get("server_command") if isinstance(meta, dict) else None
    redaction = {"enabled": False, "rules": [], "converted_from": f"mcp-vcr {meta.get('schema_version')}"}
    header, records = _opening(
        start,
        meta.get("recorded_at"),
        "stdio",
        {"command": command},
        redaction,
        meta.get("protocol_version"),
        "mcp-vcr",
    )
    end = start
    for index, (line_number, row) in enumerate(lines, 1):
        where = f"message {index}" if line_number is None else f"line {line_number}"
        if not isinstance(row, dict) or row.get("dir") not in ("c2s", "s2c") or not isinstance(row.get("t"), int):
            raise InputError(name, f"{where}: expected t (ms), dir (c2s or s2c) and payload")
        end = start + row["t"] * 1_000_000
        records.append({"t": end, "kind": "message", "dir": row["dir"], "message": row.get("payload")})
    records.append({"t": end, "kind": "event", "event": "client_closed"})
    return EventLog(name, header, records)


def from_mcp_cassette(name: str, data: bytes) -> EventLog:
    """An mcp-cassette cassette (format version 3: one JSON document with ``messages``, each with
    ``t_offset_ms`` from ``recorded_at``, ``sender`` client or server, and the ``payload``) as an event log."""
    try:
        document = loads(data)
    except ValueError as e:
        raise InputError(name, f"invalid JSON: {getattr(e, 'msg', e)}", getattr(e, "lineno", None)) from None
    if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
        raise InputError(name, 'not an mcp-cassette cassette: no "messages" list')
    if document.get("format_version") != 3:
        raise InputError(name, f"mcp-cassette format_version {document.get('format_version')!r}: mcpobs reads 3")
    start = _ns(name, document.get("recorded_at"))
    transport = "http" if document.get("transport") in ("http", "streamable-http") else "stdio"
    raw_redaction = document.get("redaction")
    redaction: dict[str, Any] = raw_redaction if isinstance(raw_redaction, dict) else {}
    server = {"url": document.get("server_url")} if transport == "http" else {"command": None}
    converted = {
        "enabled": bool(redaction),
        "rules": list(redaction.get("rule_ids") or []),
        "converted_from": f"{MCP_CASSETTE} 3",
    }
    header, records = _opening(
        start, document.get("recorded_at"), transport, server, converted, document.get("protocol_version"), MCP_CASSETTE
    )
    session = document.get("session_id")
    end = start
    for number, message in enumerate(document["messages"], 1):
        offset = message.get("t_offset_ms") if isinstance(message, dict) else None
        if not isinstance(offset, int | float) or message.get("sender") not in ("client", "server"):
            raise InputError(name, f"message {number}: expected t_offset_ms, sender (client or server) and payload")
        end = start + int(offset * 1_000_000)
        record = {"t": end, "kind": "message", "dir": "c2s" if message["sender"] == "client" else "s2c"}
        if transport == "http" and session:
            record["http"] = {"session_id": session}
        records.append({**record, "message": message.get("payload")})
    records.append({"t": end, "kind": "event", "event": "client_closed"})
    return EventLog(name, header, records)


def _opening(
    start: int,
    started: Any,
    transport: str,
    server: dict[str, Any],
    redaction: dict[str, Any],
    protocol: Any,
    source: str,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header of a converted log, and its protocol line when the recording states the revision."""
    header = header_record(transport, server, start, started, redaction)
    records: list[dict[str, Any]] = []
    if isinstance(protocol, str):
        records.append({"t": start, "kind": "protocol", "protocol_version": protocol, "source": source})
    return header, records


def _http(interaction: dict[str, Any], transport: str) -> dict[str, Any]:
    if transport != "http":
        return {}
    return {"http": {"method": interaction.get("http_method") or "POST", "path": interaction.get("http_path")}}


def _ns(name: str, recorded_at: Any) -> int:
    try:
        return int(datetime.fromisoformat(str(recorded_at).replace("Z", "+00:00")).timestamp() * 1_000_000_000)
    except ValueError:
        raise InputError(name, f"metadata.recorded_at {recorded_at!r} is not an ISO 8601 time") from None


def read_recording(path: Path) -> EventLog:
    """An event log or a peer recorder's file, read as an event log."""
    try:
        data = _decompressed(path, path.read_bytes())
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror or e}") from None
    kind = FORMAT if is_event_log(data.split(b"\n", 1)[0]) else sniff(data[:65536])
    if kind is not None:
        return as_event_log(str(path), data, kind)
    raise InputError(
        path,
        "not a recording: neither an event log, an mcp-recorder or mcp-cassette cassette, nor an mcp-vcr transcript",
        1,
    )


def _decompressed(path: Path, data: bytes) -> bytes:
    """A gzip- or zstd-compressed recording's bytes, told by their magic, as ingest tells them."""
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise InputError(path, f"not a valid gzip file: {e}") from None
    if data[:4] == b"\x28\xb5\x2f\xfd":
        import zstandard

        try:
            return zstandard.ZstdDecompressor().stream_reader(data).read()
        except zstandard.ZstdError as e:
            raise InputError(path, f"not a valid zstd file: {e}") from None
    return data


def event_log_lines(log: EventLog) -> str:
    """An event log as the text of a log file (the header, then a line per record)."""
    lines = [json.dumps(log.header, ensure_ascii=False)]
    lines.extend(json.dumps(r, ensure_ascii=False) for r in log.records)
    return "\n".join(lines) + "\n"
