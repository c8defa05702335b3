"""An event log's calls as OTLP JSON spans, following the MCP semantic conventions.

Every request is paired with its response by ``id`` (and direction): the span
starts when the request passed and ends when the response did. A JSON-RPC
error sets ``error.type`` to its code, an ``isError`` result to ``tool_error``,
a ``notifications/cancelled`` to ``cancelled`` (its reason in the status message, so a
reason saying the client timed out makes it a ``timeout``); a request the server never
answered before it exited or the client closed is a ``transport`` failure, and
one still open where a log was cut short is left out (its outcome is unknown).
The first ``notifications/progress`` for a request's progress token is a span
event, the time to first response. A list request's span (``tools/list``, …) holds
its result as JSON in ``mcpobs.list.result``; a tool call's, its ``structuredContent`` in
``mcpobs.tool.structured_content``. Over HTTP a span has its answer's
``http.response.status_code``; a request refused for its credentials (401 or 403,
with an OAuth error body rather than a JSON-RPC answer) failed (``http 401``), has
the ``WWW-Authenticate`` challenge in ``http.response.header.www-authenticate``,
and, sent before its client had a session, the session its retry opened.

A 2026-07-28 multi round-trip request is one call however many requests it
took: a request carrying ``inputResponses`` or ``requestState`` is the next
round of the open ``input_required`` answer of the same client, method and target
(the one whose ``requestState`` it echoes, else the one whose params it sends
again, else the latest; where those left are of different clients, none). The call's span runs
from the first round's request to the last round's answer, has the last
answer's outcome and says in ``mcpobs.rounds`` how many requests it took; a
call the client left at ``input_required`` when the session ended is
``abandoned``. A task-augmented call is one call the same way: the ``tasks/get``,
``tasks/result`` and ``tasks/cancel`` requests naming the ``taskId`` its answer
created are its rounds, and it ends with the last of them. Under 2026-07-28 a
stream that closes before its answer ends the call (no resumption): the client
closing it cancels it; a stream the server's side broke off is a ``transport``
failure, unless the same client sends the same request again under a new id
within a minute, which is the call's next round.

Spans are CLIENT spans: the recorder sits at the client's end of the wire; a
request the server sends the client (``elicitation/create``, ``sampling/createMessage``,
``roots/list``) is received and answered there, a SERVER span, the child of the
span its ``traceparent`` names (the server's own). A call's client (the
resource's ``service.name``) is the one its request names in the 2026-07-28
``_meta`` ``io.modelcontextprotocol/clientInfo``, else the one the log first
names; its server (``server.address``) the one its answer names in ``_meta``
``io.modelcontextprotocol/serverInfo``, else the log's. A request that carries a
W3C ``traceparent`` in ``_meta`` (or in a tool call's ``arguments._meta``) keeps
its trace and span id, so when the client's own trace is loaded too the call is
the same span and counts once; the others share one trace per log, made from the
log's start.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcpobs.eventlog.reader import EventLog, answered_request, id_key, meta_of, params_of
from mcpobs.eventlog.writer import CLIENT_META, agreed_protocol, messages_of

SERVER = 2
CLIENT = 3
ERROR = 2
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
SCOPE = "mcpobs.eventlog"  # the instrumentation scope of an event log's calls
MODERN = "2026-07-28"  # the revision without sessions, SSE resumption or server-to-client requests
# the requests that continue a task-augmented call: its rounds, not calls of their own
_TASK_METHODS = ("tasks/get", "tasks/result", "tasks/cancel")
# the events that end a session: after one of them an unanswered request will never be answered
_ENDINGS = ("client_closed", "server_exited", "recorder_stopped", "connection_lost")
# the params a 2026-07-28 request's next round adds to the ones it sends again
_ROUND_KEYS = ("inputResponses", "requestState")
# how soon after its stream broke a request sent again is the same call: clients that do it do it at
# once (the TS SDK's reconnection waits 1 s, then 1.5 s, never more than 30 s); twice the longest wait
REISSUE_WITHIN_NS = 60_000_000_000
# the span attribute holding a list request's result (tools/list: the tools and their schemas) as JSON
LIST_RESULT_KEY = "mcpobs.list.result"
# the span attribute holding a tool call's structured result (``structuredContent``) as JSON
STRUCTURED_KEY = "mcpobs.tool.structured_content"


@dataclass
class _Call:
    request: dict[str, Any]
    direction: str
    start: int
    end: int | None = None
    response: dict[str, Any] | None = None
    cancelled: bool = False
    cancel_reason: str | None = None  # the notifications/cancelled's reason ("timed out after 0.3s")
    first_progress: int | None = None
    http: dict[str, Any] = field(default_factory=dict)
    response_http: dict[str, Any] = field(default_factory=dict)
    http_failure: str | None = None  # an HTTP answer that ended the call without a JSON-RPC response
    stream_closed_by: str | None = None  # 2026-07-28: who closed the call's stream before its answer
    not_logged: dict[str, Any] | None = None  # the body_not_logged of a body of its exchange's answer
    broken: tuple[int, str] | None = None  # HTTP: when and how its answer failed (2025: its stream may resume)
    later: list[_Call] = field(default_factory=list)  # the call's later rounds (input_required, a task, a re-issue)
    head: _Call | None = None  # the first round, on a later one


@dataclass
class _Waiting:
    """The calls a later request may continue, as the log goes: answered ``input_required`` (and not
    continued yet), by the task their answer created, broken off by the server's side of the stream."""

    asked: list[_Call] = field(default_factory=list)
    tasks: dict[str, _Call] = field(default_factory=dict)
    broken: list[_Call] = field(default_factory=list)


def to_otlp(log: EventLog) -> dict[str, Any]:
    """The log's calls as one ``ExportTraceServiceRequest`` in OTLP JSON."""
    calls, ended_at = _pair(log)
    names = _names(log)
    trace = hashlib.sha256(f"{log.header.get('t')}:{json.dumps(log.header.get('server'))}".encode()).hexdigest()[:32]
    protocol = agreed_protocol(log.records)
    # one resource per client: 2026-07-28 has no session, and each request names its own client
    by_client: dict[str, list[dict[str, Any]]] = {names["client"] or "mcp-client": []}
    used: set[tuple[str, str]] = set()
    fallbacks = _fallbacks(calls)
    sessions = _challenged_sessions(calls)
    session_clients = _session_clients(calls)
    # a request that names no client, outside any session a handshake named, is the log's one client;
    # where the log names several (a 2025 server without sessions), nothing says which: none is guessed
    named = {n for c in calls if (n := _named_client(c.request))}
    fallback = names["client"] if len(named) <= 1 else None
    for call in calls:
        if call.head is not None:
            continue  # a later round: part of its first round's span
        last = call.later[-1] if call.later else call
        if ended_at is None and (last.end is None or _waiting(last)):
            continue  # the log was cut short with this call open, or waiting for its next round: outcome unknown
        end = last.end if last.end is not None else ended_at
        assert end is not None
        server = server_info(_result(last)).get("name") or names["server"]
        span = _span(call, end, trace, protocol, log.header.get("transport"), server, used, sessions.get(id(call)))
        if id(call) in fallbacks:
            _negotiated(span, fallbacks[id(call)])
        session = call.http.get("session_id") or call.response_http.get("session_id") or sessions.get(id(call))
        client = _named_client(call.request) or session_clients.get(session)
        by_client.setdefault(client or fallback or "mcp-client", []).append(span)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attribute("service.name", client)]},
                "scopeSpans": [{"scope": {"name": SCOPE}, "spans": spans}],
            }
            for client, spans in by_client.items()
            if spans or len(by_client) == 1
        ]
    }


@dataclass(frozen=True)
class Answered:
    """A request the client sent and the result the server answered it with (``mcpobs tools`` reads
    the definitions servers advertised from these)."""

    request: dict[str, Any]
    result: dict[str, Any]
    server: str | None  # as the answer names it, else as the log first names it
    t: int  # when the answer passed


def answered_requests(log: EventLog) -> list[Answered]:
    """Each request of the client's the server answered with a result, in the order the answers
    passed, paired as :func:`to_otlp` pairs them."""
    calls, _ = _pair(log)
    fallback = _names(log)["server"]
    answered = [
        Answered(c.request, _result(c), server_info(_result(c)).get("name") or fallback, c.end)
        for c in calls
        if c.direction == "c2s" and c.end is not None and c.response is not None and "result" in c.response
    ]
    return sorted(answered, key=lambda a: a.t)


def _challenged_sessions(calls: list[_Call]) -> dict[int, str]:
    """The session of each request refused for its credentials (HTTP 401 or 403) before it had one: the
    session the same request opened when the client sent it again (the same direction, id, method and
    params: an OAuth client's retry with the token it was challenged for), by the refused call's id()."""
    found: dict[int, str] = {}
    # the latest first, so that a chain of refusals (401, then 403, then authorised) takes the session at its end
    for i in reversed(range(len(calls))):
        refused = calls[i]
        if refused.http_failure not in ("http 401", "http 403") or refused.http.get("session_id"):
            continue
        for later in calls[i + 1 :]:
            if (
                later.direction == refused.direction
                and later.request.get("id") == refused.request.get("id")
                and later.request["method"] == refused.request["method"]
                and _sent_again(refused, later, ())
            ):
                session = later.http.get("session_id") or later.response_http.get("session_id") or found.get(id(later))
                if session:
                    found[id(refused)] = session
                break
    return found


def _named_client(request: dict[str, Any]) -> str | None:
    """The client a request names: in its 2026-07-28 ``_meta``, or the ``clientInfo`` of an ``initialize``."""
    info = meta_of(request).get(CLIENT_META) or params_of(request).get("clientInfo")
    return _info_name(info)


def _session_clients(calls: list[_Call]) -> dict[str | None, str]:
    """The client of each session, as its ``initialize`` names it: over HTTP one recorder may carry
    several clients' sessions, and a 2025 request names no client after the handshake."""
    found: dict[str | None, str] = {}
    for call in calls:
        session = call.response_http.get("session_id") or call.http.get("session_id")
        name = _named_client(call.request)
        if call.request["method"] == "initialize" and call.direction == "c2s" and session and name:
            found.setdefault(session, name)
    return found


def _fallbacks(calls: list[_Call]) -> dict[int, _Call]:
    """Version negotiation: each ``server/discover`` a server answered with an error (a 2025-era server:
    -32601 over stdio, an HTTP 400 over Streamable HTTP), with the ``initialize`` the same client then
    sent and the server answered. The client fell back to the older handshake: nothing failed."""
    found: dict[int, _Call] = {}  # by the probe's id()
    for i, probe in enumerate(calls):
        if probe.request["method"] != "server/discover" or probe.direction != "c2s" or probe.end is None:
            continue
        if probe.http_failure is None and not (probe.response is not None and "error" in probe.response):
            continue
        client = _info_name(meta_of(probe.request).get(CLIENT_META))
        for later in calls[i + 1 :]:
            if later.request["method"] != "initialize" or later.direction != "c2s" or later.start < probe.end:
                continue
            named = _info_name(params_of(later.request).get("clientInfo"))
            if client is not None and named is not None and named != client:
                continue  # another client's handshake
            if later.response is not None and "result" in later.response:
                found[id(probe)] = later
            break
    return found


def _negotiated(span: dict[str, Any], initialize: _Call) -> None:
    """Make a fallen-back ``server/discover`` span what it was: a negotiation, no error, in the session
    the ``initialize`` after it opened. The server's answer stays in ``mcpobs.negotiation``."""
    attributes = span["attributes"]
    answer = next((a["value"]["stringValue"] for a in attributes if a["key"] == "error.type"), None)
    message = span["status"].get("message", "")
    span["attributes"] = [a for a in attributes if a["key"] != "error.type"]
    span["attributes"].append(_attribute("mcpobs.negotiation", f"fell back to initialize: {answer} {message}"))
    session = initialize.http.get("session_id") or initialize.response_http.get("session_id")
    if session and not any(a["key"] == "mcp.session.id" for a in attributes):
        span["attributes"].append(_attribute("mcp.session.id", session))
    span["status"] = {}


def write_otlp(log: EventLog, target: Path) -> int:
    """Write the log's calls to ``target``, a new file, as one line of OTLP JSON; how many spans it holds.
    :class:`FileExistsError` when ``target`` exists (or is a symlink)."""
    document = to_otlp(log)
    # the owner's only, like the event log it comes from (writer.py): it holds the same session. A new
    # file only: an existing one would keep its mode, and O_EXCL never follows a symlink to another file
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as out:
        out.write(json.dumps(document, ensure_ascii=False) + "\n")
    return sum(len(r["scopeSpans"][0]["spans"]) for r in document["resourceSpans"])


def _pair(log: EventLog) -> tuple[list[_Call], int | None]:
    """Requests with their responses, cancellations and first progress; and when the session ended.

    A response answers the open request of the other direction with its id; over HTTP, the one of the
    same exchange (the same POST) first, then of the same session, since ids repeat across sessions.
    An HTTP answer without a JSON-RPC response (a 4xx, a 502 from the recorder) ends its exchange's calls.
    """
    open_calls: dict[tuple[str, str], list[_Call]] = {}
    by_token: dict[tuple[str, str], _Call] = {}
    calls: list[_Call] = []
    waiting = _Waiting()
    ended_at = None
    protocol = None
    for record in log.records:
        kind, t = record["kind"], record["t"]
        if kind == "event":
            if record["event"] in _ENDINGS and ended_at is None:
                ended_at = t
            if record["event"] in ("http_response", "upstream_unreachable") and "exchange" in record:
                _end_exchange(calls, record, t)
            if record["event"] == "stream_closed" and protocol == MODERN:
                waiting.broken += _end_stream(calls, record, t)
            elif record["event"] == "stream_closed" and record.get("by") != "client":
                _break_exchange(calls, record.get("exchange"), t, "the call's stream broke off before its answer")
            if record["event"] == "body_not_logged" and record.get("dir") == "s2c":
                _not_logged(calls, record)
            continue
        if kind == "protocol":
            protocol = record.get("protocol_version")
        if kind == "invalid" and record.get("dir") == "s2c" and isinstance(record.get("http"), dict):
            # the POST's answer was no JSON-RPC message: the client cannot read it (a stdio line names no call)
            _break_exchange(calls, record["http"].get("exchange"), t, "the server's answer was not JSON")
        if kind != "message":
            continue
        direction, http = record["dir"], record.get("http") or {}
        for message in messages_of(record["message"]):
            if not isinstance(message, dict):
                continue
            method, key = message.get("method"), message.get("id")
            params = params_of(message)
            if isinstance(method, str) and key is not None:
                call = _Call(message, direction, t, http=http)
                head = _continues(waiting, call) or _reissues(waiting, call)
                if head is not None:
                    call.head = head.head or head
                    call.head.later.append(call)
                    waiting.asked = [c for c in waiting.asked if c is not head]
                    waiting.broken = [c for c in waiting.broken if c is not head]
                open_calls.setdefault((direction, id_key(key)), []).append(call)
                token = meta_of(message).get("progressToken")
                if token is not None:
                    by_token[(direction, id_key(token))] = call
                calls.append(call)
            elif isinstance(http.get("status"), int) and http["status"] >= 400 and "jsonrpc" not in message:
                # an HTTP error whose body is no JSON-RPC answer (an OAuth challenge's {"error": "invalid_token"})
                _end_exchange(calls, {**http, "event": "http_response"}, t)
            elif method is None and ("result" in message or "error" in message):
                asker = "s2c" if direction == "c2s" else "c2s"
                answered = _take(open_calls.get((asker, id_key(key)), []), http)
                if answered is None and key is None and http.get("exchange") is not None:
                    answered = _take([c for c in calls if c.end is None], http, exchange_only=True)
                if answered is not None:
                    answered.response, answered.end, answered.response_http = message, t, http
                    if _asked_for_input(answered):
                        waiting.asked.append(answered)
                    if (task := _created_task(answered)) is not None:
                        waiting.tasks[id_key(task)] = answered
            elif method == "notifications/cancelled":
                for cancelled in open_calls.get((direction, id_key(params.get("requestId"))), []):
                    if cancelled.end is None:
                        cancelled.cancelled, cancelled.end = True, t
                        reason = params.get("reason")
                        cancelled.cancel_reason = reason if isinstance(reason, str) else None
            elif method == "notifications/progress":
                asker = "s2c" if direction == "c2s" else "c2s"
                progressed = by_token.get((asker, id_key(params.get("progressToken"))))
                if progressed is not None and progressed.first_progress is None and progressed.end is None:
                    progressed.first_progress = t
    for call in calls:
        if call.end is None and call.not_logged is not None:
            _end_not_logged(call, call.not_logged)  # no answer logged after the unlogged body: that body was it
        if call.end is None and call.broken is not None:
            call.end = call.broken[0]  # no resumed stream answered it: the call failed where its stream did
    return calls, ended_at


def _break_exchange(calls: list[_Call], exchange: Any, t: int, why: str) -> None:
    """An HTTP exchange whose answer failed (its stream broke off, or was no JSON): its open calls
    failed then, unless an answer still comes later in the log (2025: a stream resumed with a GET
    and ``Last-Event-ID``)."""
    if exchange is None:
        return
    for call in calls:
        open_here = call.end is None and call.direction == "c2s" and call.http.get("exchange") == exchange
        if open_here and call.broken is None:
            call.broken = (t, why)


def _continues(waiting: _Waiting, call: _Call) -> _Call | None:
    """The earlier round a request continues, if any.

    A ``tasks/get``, ``tasks/result`` or ``tasks/cancel`` continues the call whose answer created
    its ``taskId`` (a ``CreateTaskResult``). A request carrying ``inputResponses`` or
    ``requestState`` (a 2026-07-28 retry under a new id) continues an earlier request of the same
    client, direction, method and target that was answered ``input_required`` and not yet continued:
    the one whose ``requestState`` it echoes, else the one it sends the same params as (the mcp SDK
    re-sends the name and arguments), else the latest. Where the candidates left are of different
    clients (the request names none), nothing tells which one it continues: it is a call of its own."""
    params = params_of(call.request)
    method = call.request["method"]
    if method in _TASK_METHODS:
        task = params.get("taskId")
        created = waiting.tasks.get(id_key(task)) if task is not None else None
        if created is None or created.direction != call.direction:
            return None
        return (created.later or [created])[-1]
    if not any(k in params for k in _ROUND_KEYS):
        return None
    target = call_target(method, params)
    asked = [
        c
        for c in waiting.asked
        if c.direction == call.direction
        and c.request["method"] == method
        and call_target(method, params_of(c.request)) == target
        and _same_client(c, call)
    ]
    state = params.get("requestState")
    # a redacted requestState ([REDACTED] in every answer) tells nothing apart: the client and params do
    candidates = [c for c in asked if state is not None and _result(c).get("requestState") == state] or asked
    candidates = [c for c in candidates if _sent_again(c, call, ("_meta", *_ROUND_KEYS))] or candidates
    if len({json.dumps(_client(c)) for c in candidates}) > 1:
        return None
    return candidates[-1] if candidates else None


def _reissues(waiting: _Waiting, call: _Call) -> _Call | None:
    """The call a 2026-07-28 request sends again after its stream broke: the latest earlier request of
    the same client, direction, method and params (``_meta`` aside) whose stream the server's side broke
    off before the answer, no more than ``REISSUE_WITHIN_NS`` before, and that no round followed yet.
    (A stream the client closed is its cancellation.)"""
    broken = [
        c
        for c in waiting.broken
        if c.direction == call.direction
        and c.request["method"] == call.request["method"]
        and _sent_again(c, call)
        and _same_client(c, call)
        and c.end is not None
        and call.start - c.end <= REISSUE_WITHIN_NS
    ]
    return broken[-1] if broken else None


def _client(call: _Call) -> Any:
    """The client a request names in its 2026-07-28 ``_meta`` ``clientInfo`` (name and version), else None."""
    info = meta_of(call.request).get(CLIENT_META)
    return [info.get("name"), info.get("version")] if isinstance(info, dict) else None


def _same_client(earlier: _Call, later: _Call) -> bool:
    """Nothing tells the two requests' clients apart: the ``clientInfo`` they name, and over HTTP the
    session (``Mcp-Session-Id``, before 2026-07-28), are the same wherever both have one."""
    ours, theirs = _client(earlier), _client(later)
    if ours is not None and theirs is not None and ours != theirs:
        return False
    sessions = earlier.http.get("session_id"), later.http.get("session_id")
    return None in sessions or sessions[0] == sessions[1]


def _sent_again(earlier: _Call, later: _Call, aside: tuple[str, ...] = ("_meta",)) -> bool:
    """The later request sends the earlier one's params again: the same, the keys ``aside`` aside."""
    return {k: v for k, v in params_of(earlier.request).items() if k not in aside} == {
        k: v for k, v in params_of(later.request).items() if k not in aside
    }


def _end_stream(calls: list[_Call], record: dict[str, Any], t: int) -> list[_Call]:
    """A 2026-07-28 stream that closed before its answer ends its request's call: there is no resuming
    it. Closed by the client, that is the call's cancellation; by the server's side, it broke off (the
    calls it returns, which the client may send again)."""
    ended = [
        c for c in calls if c.end is None and c.direction == "c2s" and c.http.get("exchange") == record.get("exchange")
    ]
    for call in ended:
        call.end, call.stream_closed_by = t, "client" if record.get("by") == "client" else "server"
    return [c for c in ended if c.stream_closed_by == "server"]


def _not_logged(calls: list[_Call], record: dict[str, Any]) -> None:
    """A body of the server's the recorder passed on without logging it (too large to): it may be the
    answer of its exchange's open calls (over stdio, which has no exchanges: of every open call), which
    end with it (:func:`_end_not_logged`) unless an answer is logged later (the body was a notification
    on their SSE stream, or the answer of another call)."""
    for call in calls:
        if call.end is None and call.direction == "c2s" and call.http.get("exchange") == record.get("exchange"):
            call.not_logged = record


def _end_not_logged(call: _Call, record: dict[str, Any]) -> None:
    """End a call whose answer passed unlogged: its outcome unknown, but for an HTTP error status, which
    says how the exchange failed as an HTTP answer with no body does."""
    call.end = record["t"]
    status = record.get("status")
    if isinstance(status, int) and status >= 400:
        call.http_failure = f"http {status}"
        call.response_http = {k: v for k, v in record.items() if k not in ("event", "t", "kind")}


def _asked_for_input(call: _Call) -> bool:
    """The call's answer asks the client for input and to send the request again (2026-07-28)."""
    return _result(call).get("resultType") == "input_required"


def _created_task(call: _Call) -> Any:
    """The ``taskId`` of the task the call's answer created (a ``CreateTaskResult``), else None."""
    task = _result(call).get("task")
    return task.get("taskId") if isinstance(task, dict) and call.request["method"] not in _TASK_METHODS else None


def _task_status(call: _Call) -> Any:
    """The status a task-augmented call's last answer gave its task (``working``, ``completed``, …),
    where that answer is a ``CreateTaskResult`` or a ``tasks/get``/``tasks/cancel`` result; else None."""
    result = _result(call)
    if call.request["method"] in ("tasks/get", "tasks/cancel"):
        return result.get("status")
    task = result.get("task")
    return task.get("status") if isinstance(task, dict) and _created_task(call) is not None else None


def _waiting(call: _Call) -> bool:
    """The call's last answer leaves it for the client to go on: answered ``input_required``, or its
    task is not done yet."""
    return _asked_for_input(call) or _task_status(call) in ("working", "input_required")


def _result(call: _Call) -> dict[str, Any]:
    result = call.response.get("result") if call.response is not None else None
    return result if isinstance(result, dict) else {}


def _take(candidates: list[_Call], http: dict[str, Any], exchange_only: bool = False) -> _Call | None:
    """The open call a response answers (:func:`~mcpobs.eventlog.reader.answered_request`)."""
    open_ones = [c for c in candidates if c.end is None]
    return answered_request(open_ones, http, lambda c: c.http, exchange_only=exchange_only)


def _end_exchange(calls: list[_Call], record: dict[str, Any], t: int) -> None:
    """An HTTP answer that carried no JSON-RPC response: the exchange's open calls end with it."""
    status = record.get("status")
    if isinstance(status, int) and status < 400 and record["event"] == "http_response":
        return
    for call in calls:
        if call.end is None and call.http.get("exchange") == record["exchange"]:
            call.end = t
            call.http_failure = "transport" if record["event"] == "upstream_unreachable" else f"http {status}"
            if record["event"] == "http_response":
                call.response_http = {k: v for k, v in record.items() if k not in ("event", "t", "kind")}


def _names(log: EventLog) -> dict[str, str | None]:
    """The client's and the server's names as the handshake (or the 2026 _meta) first states them: the
    names of calls whose own request (``clientInfo``) or answer (``serverInfo``) names none."""
    client = server = None
    for message in log.messages():
        body = message["message"]
        if not isinstance(body, dict):
            continue
        result = body.get("result") if isinstance(body.get("result"), dict) else {}
        if client is None:
            client = _info_name(params_of(body).get("clientInfo") or meta_of(body).get(CLIENT_META))
        if server is None and isinstance(result, dict):
            server = server_info(result).get("name")
    return {"client": client, "server": server}


def _info_name(info: Any) -> str | None:
    """The ``name`` of a ``clientInfo`` (or ``serverInfo``) object, where it is text."""
    name = info.get("name") if isinstance(info, dict) else None
    return name if isinstance(name, str) and name else None


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
    challenged_session: str | None = None,
) -> dict[str, Any]:
    request = call.request
    method = request["method"]
    params = params_of(request)
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
    session = call.http.get("session_id") or call.response_http.get("session_id") or challenged_session
    if session:
        attributes.append(_attribute("mcp.session.id", session))
    rounds = [call, *call.later]
    # the HTTP answer (OTel's HTTP conventions): its status, and the challenge of a 401 or 403
    answer_http = rounds[-1].response_http
    if isinstance(answer_http.get("status"), int):
        attributes.append({"key": "http.response.status_code", "value": {"intValue": str(answer_http["status"])}})
    headers = answer_http.get("headers")
    challenge = headers.get("www-authenticate") if isinstance(headers, dict) else None
    if isinstance(challenge, str):
        attributes.append(
            {
                "key": "http.response.header.www-authenticate",
                "value": {"arrayValue": {"values": [{"stringValue": challenge}]}},
            }
        )
    if len(rounds) > 1:
        attributes.append({"key": "mcpobs.rounds", "value": {"intValue": str(len(rounds))}})
    structured = _result(rounds[-1]).get("structuredContent")
    if method == "tools/call" and structured is not None:
        # the result checked against the tool's outputSchema (the rest of the result is not kept)
        attributes.append(_attribute(STRUCTURED_KEY, json.dumps(structured, sort_keys=True)))
    if method.endswith("/list") and call.direction == "c2s" and _result(rounds[-1]):
        # what the server advertised (tools with their schemas): a call's arguments are checked against it
        attributes.append(_attribute(LIST_RESULT_KEY, json.dumps(_result(rounds[-1]), sort_keys=True)))
    error, message = _outcome(rounds[-1])
    if error:
        attributes.append(_attribute("error.type", error))
    trace_id, span_id = _ids(call, trace, used)
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": f"{method} {target}" if target else method,
        # a request the server sent: at the client's end it is received and answered, a SERVER span
        "kind": CLIENT if call.direction == "c2s" else SERVER,
        "startTimeUnixNano": str(call.start),
        "endTimeUnixNano": str(end),
        "attributes": attributes,
        "status": {"code": ERROR, "message": message} if error else {},
    }
    progress = next((r.first_progress for r in rounds if r.first_progress is not None), None)
    if progress is not None:
        span["events"] = [{"timeUnixNano": str(progress), "name": "notifications/progress"}]
    # each round's own span (the client's, by its traceparent) is a round of this call, not a call
    links = [
        {"traceId": ids[0], "spanId": ids[1], "attributes": [_attribute("jsonrpc.request.id", str(r.request["id"]))]}
        for r in rounds
        if len(rounds) > 1 and (ids := _traceparent(r)) is not None
    ]
    if links:
        span["links"] = links
    parent = _traceparent(call)
    if call.direction == "s2c" and parent is not None:
        span["parentSpanId"] = parent[1]  # the server's own span for the request it sent
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
        # the reason says why: a client that gave up after its timeout says so ("timed out after 0.3s"),
        # and the message then makes the call a timeout, as its own span would (TimeoutError)
        reason = f": {call.cancel_reason}" if call.cancel_reason else ""
        return "cancelled", f"cancelled by notifications/cancelled{reason}"
    if call.stream_closed_by == "client":
        return "cancelled", "the client closed the call's stream (2026-07-28: its cancellation)"
    if call.stream_closed_by == "server":
        return "transport", "the call's stream broke off before its answer"
    if call.http_failure is not None:
        return call.http_failure, "the HTTP exchange failed without a JSON-RPC response"
    if call.response is None and call.not_logged is not None:
        return "not_logged", "the answer passed unlogged (body_not_logged): its outcome is unknown"
    if call.response is None and call.broken is not None:
        return "transport", call.broken[1]
    if call.response is None:
        return "transport", "no response before the session ended"
    if _asked_for_input(call):
        return "abandoned", "the server asked for input and the client did not send the request again"
    status = _task_status(call)
    if status in ("working", "input_required"):
        return "abandoned", f"the client stopped polling while the task was {status}"
    if status in ("failed", "cancelled"):
        return ("task_failed" if status == "failed" else "cancelled"), f"the task ended {status}"
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
    current context, a retry) names the first call only: the later ones get ids of their own in its trace.
    A call of several rounds (2026-07-28 input_required) gets its own id in its first round's trace too."""
    key = f"{trace}:{call.direction}:{call.start}:{json.dumps(call.request.get('id'))}"
    own = hashlib.sha256(key.encode()).hexdigest()[:16]
    ids = _traceparent(call)
    if ids is not None and call.direction == "s2c":
        return ids[0], own  # the traceparent names the sender's span (the server's): this span is its child
    if ids is not None:
        # a call of several rounds is none of the client's round spans: it links to them instead
        if ids not in used and not call.later:
            used.add(ids)
            return ids
        return ids[0], own
    return trace, own


def _traceparent(call: _Call) -> tuple[str, str] | None:
    """The trace and span id of the request's W3C ``traceparent``, where it has a valid one: in
    ``params._meta`` as the spec reserves it, else in a tool call's ``arguments._meta``, where Langfuse's
    widely copied MCP tracing recipe puts it."""
    parent = meta_of(call.request).get("traceparent")
    if parent is None:
        arguments = params_of(call.request).get("arguments")
        parent = meta_of({"params": arguments}).get("traceparent")
    if isinstance(parent, str) and (match := _TRACEPARENT.match(parent)):
        return match.group(1), match.group(2)
    return None


def _attribute(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}
