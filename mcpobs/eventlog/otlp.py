"""An event log's calls as OTLP JSON spans, following the MCP semantic conventions.

Every request is paired with its response by ``id`` (and direction): the span
starts when the request passed and ends when the response did. A JSON-RPC
error sets ``error.type`` to its code, an ``isError`` result to ``tool_error``,
a ``notifications/cancelled`` to ``cancelled``; a request the server never
answered before it exited or the client closed is a ``transport`` failure, and
one still open where a log was cut short is left out (its outcome is unknown).
The first ``notifications/progress`` for a request's progress token is a span
event, the time to first response.

Spans are CLIENT spans: the recorder sits at the client's end of the wire. A
request that carries a W3C ``traceparent`` in ``_meta`` keeps its trace and
span id, so when the client's own trace is loaded too the call is the same span
and counts once; the others share one trace per log, made from the log's start.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcpobs.eventlog.reader import EventLog, id_key

CLIENT = 3
ERROR = 2
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
# the events that end a session: after one of them an unanswered request will never be answered
_ENDINGS = ("client_closed", "server_exited", "recorder_stopped", "connection_lost")


@dataclass
class _Call:
    request: dict[str, Any]
    direction: str
    start: int
    end: int | None = None
    response: dict[str, Any] | None = None
    cancelled: bool = False
    first_progress: int | None = None
    http: dict[str, Any] = field(default_factory=dict)
    response_http: dict[str, Any] = field(default_factory=dict)
    http_failure: str | None = None  # an HTTP answer that ended the call without a JSON-RPC response


def to_otlp(log: EventLog) -> dict[str, Any]:
    """The log's calls as one ``ExportTraceServiceRequest`` in OTLP JSON."""
    calls, ended_at = _pair(log)
    names = _names(log)
    trace = hashlib.sha256(f"{log.header.get('t')}:{json.dumps(log.header.get('server'))}".encode()).hexdigest()[:32]
    protocol = next((r["protocol_version"] for r in log.records if r["kind"] == "protocol"), None)
    spans = []
    used: set[tuple[str, str]] = set()
    for call in calls:
        end = call.end
        if end is None:
            if ended_at is None:
                continue  # the log was cut short with this call open: its outcome is unknown
            end = ended_at
        spans.append(_span(call, end, trace, protocol, log.header.get("transport"), names["server"], used))
    resource = [_attribute("service.name", names["client"] or "mcp-client")]
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": resource},
                "scopeSpans": [{"scope": {"name": "mcpobs.eventlog"}, "spans": spans}],
            }
        ]
    }


def write_otlp(log: EventLog, target: Path) -> int:
    """Write the log's calls to ``target`` as one line of OTLP JSON; how many spans it holds."""
    document = to_otlp(log)
    # the owner's only, like the event log it comes from (writer.py): it holds the same session
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
    return len(document["resourceSpans"][0]["scopeSpans"][0]["spans"])


def _pair(log: EventLog) -> tuple[list[_Call], int | None]:
    """Requests with their responses, cancellations and first progress; and when the session ended.

    A response answers the open request of the other direction with its id; over HTTP, the one of the
    same exchange (the same POST) first, then of the same session, since ids repeat across sessions.
    An HTTP answer without a JSON-RPC response (a 4xx, a 502 from the recorder) ends its exchange's calls.
    """
    open_calls: dict[tuple[str, str], list[_Call]] = {}
    by_token: dict[tuple[str, str], _Call] = {}
    calls: list[_Call] = []
    ended_at = None
    for record in log.records:
        kind, t = record["kind"], record["t"]
        if kind == "event":
            if record["event"] in _ENDINGS and ended_at is None:
                ended_at = t
            if record["event"] in ("http_response", "upstream_unreachable") and "exchange" in record:
                _end_exchange(calls, record, t)
            continue
        if kind != "message":
            continue
        direction, http = record["dir"], record.get("http") or {}
        messages = record["message"] if isinstance(record["message"], list) else [record["message"]]
        for message in messages:
            if not isinstance(message, dict):
                continue
            method, key = message.get("method"), message.get("id")
            params: dict[str, Any] = message["params"] if isinstance(message.get("params"), dict) else {}
            if isinstance(method, str) and key is not None:
                call = _Call(message, direction, t, http=http)
                open_calls.setdefault((direction, id_key(key)), []).append(call)
                token = _meta(message).get("progressToken")
                if token is not None:
                    by_token[(direction, id_key(token))] = call
                calls.append(call)
            elif method is None and ("result" in message or "error" in message):
                asker = "s2c" if direction == "c2s" else "c2s"
                answered = _take(open_calls.get((asker, id_key(key)), []), http)
                if answered is None and key is None and http.get("exchange") is not None:
                    answered = _take([c for c in calls if c.end is None], http, exchange_only=True)
                if answered is not None:
                    answered.response, answered.end, answered.response_http = message, t, http
            elif method == "notifications/cancelled":
                for cancelled in open_calls.get((direction, id_key(params.get("requestId"))), []):
                    if cancelled.end is None:
                        cancelled.cancelled, cancelled.end = True, t
            elif method == "notifications/progress":
                asker = "s2c" if direction == "c2s" else "c2s"
                progressed = by_token.get((asker, id_key(params.get("progressToken"))))
                if progressed is not None and progressed.first_progress is None and progressed.end is None:
                    progressed.first_progress = t
    return calls, ended_at


def _take(candidates: list[_Call], http: dict[str, Any], exchange_only: bool = False) -> _Call | None:
    """The open call a response answers: the one of its HTTP exchange, else of its session, else the latest."""
    open_ones = [c for c in candidates if c.end is None]
    for field_name in ("exchange", "session_id"):
        value = http.get(field_name)
        if value is not None:
            same = [c for c in open_ones if c.http.get(field_name) == value]
            if same:
                return same[-1]
        if exchange_only:
            return None
    return open_ones[-1] if open_ones else None


def _end_exchange(calls: list[_Call], record: dict[str, Any], t: int) -> None:
    """An HTTP answer that carried no JSON-RPC response: the exchange's open calls end with it."""
    status = record.get("status")
    if isinstance(status, int) and status < 400 and record["event"] == "http_response":
        return
    for call in calls:
        if call.end is None and call.http.get("exchange") == record["exchange"]:
            call.end = t
            call.http_failure = "transport" if record["event"] == "upstream_unreachable" else f"http {status}"


def _names(log: EventLog) -> dict[str, str | None]:
    """The client's and the server's names as the handshake (or the 2026 _meta) states them."""
    client = server = None
    for message in log.messages():
        body = message["message"]
        if not isinstance(body, dict):
            continue
        params = body.get("params") if isinstance(body.get("params"), dict) else {}
        result = body.get("result") if isinstance(body.get("result"), dict) else {}
        if client is None and isinstance(params, dict):
            info = params.get("clientInfo") or _meta(body).get("io.modelcontextprotocol/clientInfo")
            client = info.get("name") if isinstance(info, dict) else None
        if server is None and isinstance(result, dict):
            server = server_info(result).get("name")
    return {"client": client, "server": server}


def server_info(result: dict[str, Any]) -> dict[str, Any]:
    """The server's name and version as a result states them: ``serverInfo`` in an ``initialize``
    result, ``_meta["io.modelcontextprotocol/serverInfo"]`` in 2026-07-28; empty where it does not."""
    meta = result.get("_meta")
    info = result.get("serverInfo") or (
        meta.get("io.modelcontextprotocol/serverInfo") if isinstance(meta, dict) else None
    )
    return info if isinstance(info, dict) else {}


def _span(
    call: _Call,
    end: int,
    trace: str,
    protocol: str | None,
    transport: Any,
    server: str | None,
    used: set[tuple[str, str]],
) -> dict[str, Any]:
    request = call.request
    method = request["method"]
    raw_params = request.get("params")
    params: dict[str, Any] = raw_params if isinstance(raw_params, dict) else {}
    target = call_target(method, params)
    attributes = [
        _attribute("mcp.method.name", method),
        _attribute("jsonrpc.request.id", str(request["id"])),
        _attribute("network.transport", "pipe" if transport == "stdio" else "tcp"),
    ]
    if method == "tools/call" and target:
        attributes += [_attribute("gen_ai.tool.name", target), _attribute("gen_ai.operation.name", "execute_tool")]
        if "arguments" in params:
            attributes.append(_attribute("gen_ai.tool.call.arguments", json.dumps(params["arguments"], sort_keys=True)))
    elif method == "prompts/get" and target:
        attributes.append(_attribute("gen_ai.prompt.name", target))
    elif target:
        attributes.append(_attribute("mcp.resource.uri", target))
    if protocol:
        attributes.append(_attribute("mcp.protocol.version", protocol))
    if server:
        attributes.append(_attribute("server.address", server))
    # the session an initialize opens is named in its response; every later request names it
    session = call.http.get("session_id") or call.response_http.get("session_id")
    if session:
        attributes.append(_attribute("mcp.session.id", session))
    error, message = _outcome(call)
    if error:
        attributes.append(_attribute("error.type", error))
    trace_id, span_id = _ids(call, trace, used)
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": f"{method} {target}" if target else method,
        "kind": CLIENT,
        "startTimeUnixNano": str(call.start),
        "endTimeUnixNano": str(end),
        "attributes": attributes,
        "status": {"code": ERROR, "message": message} if error else {},
    }
    if call.first_progress is not None:
        span["events"] = [{"timeUnixNano": str(call.first_progress), "name": "notifications/progress"}]
    return span


def call_target(method: str, params: dict[str, Any]) -> str | None:
    """What a request is about: the tool or prompt it names, the resource's URI."""
    if method in ("tools/call", "prompts/get"):
        name = params.get("name")
        return name if isinstance(name, str) else None
    if method.startswith("resources/"):
        uri = params.get("uri")
        return uri if isinstance(uri, str) else None
    return None


def _outcome(call: _Call) -> tuple[str | None, str]:
    """The error type and message of a call, or (None, "") when it succeeded."""
    if call.cancelled:
        return "cancelled", "cancelled by notifications/cancelled"
    if call.http_failure is not None:
        return call.http_failure, "the HTTP exchange failed without a JSON-RPC response"
    if call.response is None:
        return "transport", "no response before the session ended"
    error = call.response.get("error")
    if isinstance(error, dict):
        return str(error.get("code")), str(error.get("message", ""))
    result = call.response.get("result")
    if isinstance(result, dict) and result.get("isError") is True:
        return "tool_error", "isError result"
    return None, ""


def _ids(call: _Call, trace: str, used: set[tuple[str, str]]) -> tuple[str, str]:
    """The trace and span id: the request's traceparent where it has one (the client's own span for the
    call), else made from the log. A traceparent a second request carries too (a client passing on its
    current context, a retry) names the first call only: the later ones get ids of their own in its trace."""
    key = f"{trace}:{call.direction}:{call.start}:{json.dumps(call.request.get('id'))}"
    own = hashlib.sha256(key.encode()).hexdigest()[:16]
    parent = _meta(call.request).get("traceparent")
    if isinstance(parent, str) and (match := _TRACEPARENT.match(parent)):
        ids = (match.group(1), match.group(2))
        if ids not in used:
            used.add(ids)
            return ids
        return match.group(1), own
    return trace, own


def _meta(message: dict[str, Any]) -> dict[str, Any]:
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return meta if isinstance(meta, dict) else {}


def _attribute(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}
