"""The event-log rules: a recording's messages walked in order, each checked against the JSON-RPC and
MCP rules of the session's protocol revision (:data:`mcpobs.lint.rules.RULES`)."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Any

from mcpobs.eventlog.ids import id_key
from mcpobs.eventlog.reader import EventLog, params_of
from mcpobs.eventlog.writer import PROTOCOL_META, ProtocolAgreement, agreed_protocol, messages_of
from mcpobs.findings import Finding
from mcpobs.lint.rules import BY_ID, finding

REVISION_2026 = "2026-07-28"
CLIENT_CAPABILITIES_META = "io.modelcontextprotocol/clientCapabilities"

# Methods 2026-07-28 removed (changelog, major changes 2, 5, 6, minor 11), and those it deprecates
# (the deprecated-features registry: roots, sampling, logging).
REMOVED_2026 = (
    "initialize",
    "notifications/initialized",
    "ping",
    "logging/setLevel",
    "notifications/roots/list_changed",
    "resources/subscribe",
    "resources/unsubscribe",
    "tasks/list",
    "tasks/result",
    "notifications/elicitation/complete",
)
DEPRECATED_2026 = ("roots/list", "sampling/createMessage", "notifications/message")

# Methods a 2025-era revision has only from the revision named (server/discover is left out: the
# spec lets a client probe a server with it).
INTRODUCED = {
    "elicitation/create": "2025-06-18",
    "tasks/get": "2025-11-25",
    "tasks/list": "2025-11-25",
    "tasks/result": "2025-11-25",
    "tasks/cancel": "2025-11-25",
    "subscriptions/listen": REVISION_2026,
}

# The method → the body field its Mcp-Name header mirrors (streamable HTTP, standard request headers).
NAMED = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}

# A request → the capability (path in the receiver's declared capabilities) it needs; c2s requests
# need the server's, s2c the client's (2025-11-25 lifecycle, capability negotiation).
SERVER_NEEDS = {
    "tools/list": ("tools",),
    "tools/call": ("tools",),
    "prompts/list": ("prompts",),
    "prompts/get": ("prompts",),
    "resources/list": ("resources",),
    "resources/templates/list": ("resources",),
    "resources/read": ("resources",),
    "resources/subscribe": ("resources", "subscribe"),
    "resources/unsubscribe": ("resources", "subscribe"),
    "logging/setLevel": ("logging",),
    "completion/complete": ("completions",),
}
CLIENT_NEEDS = {
    "sampling/createMessage": ("sampling",),
    "elicitation/create": ("elicitation",),
    "roots/list": ("roots",),
}

_SENTINEL = re.compile(r"=\?base64\?(?P<payload>.*)\?=")


def decode_header(value: str) -> str | None:
    """An Mcp-Name value as the body would hold it: the Base64 sentinel ``=?base64?…?=`` decoded
    (UTF-8), a plain value as it is; None for a sentinel that does not decode."""
    match = _SENTINEL.fullmatch(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match.group("payload"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def version_header_problems(method: str, header: Any, stated: Any) -> list[str]:
    """Where a 2026-07-28 HTTP request's ``MCP-Protocol-Version`` header is missing or differs from the
    revision its ``_meta`` states (``stated``; None: it states none); none: they agree."""
    if header is None:
        return [f"{method} without an MCP-Protocol-Version header"]
    if stated is not None and header != stated:
        return [f"{method}: MCP-Protocol-Version {header!r}, but _meta says {stated!r}"]
    return []


def routing_problems(method: str, params: dict[str, Any], http: dict[str, Any]) -> list[str]:
    """Where a 2026-07-28 HTTP request's ``Mcp-Method`` and ``Mcp-Name`` headers (``http``'s
    ``mcp_method``, ``mcp_name``) are missing or differ from its body (the name decoded from its
    Base64 sentinel); none: they agree."""
    problems = []
    mcp_method = http.get("mcp_method")
    if mcp_method is None:
        problems.append(f"{method} without an Mcp-Method header")
    elif mcp_method != method:
        problems.append(f"Mcp-Method {mcp_method!r}, but the body's method is {method!r}")
    if method not in NAMED:
        return problems
    body = params.get(NAMED[method])
    raw = http.get("mcp_name")
    if raw is None:
        problems.append(f"{method} without an Mcp-Name header (the body's {NAMED[method]} is {body!r})")
        return problems
    decoded = decode_header(str(raw))
    if decoded is None:
        problems.append(f"Mcp-Name {raw!r} is a Base64 sentinel that does not decode")
    elif decoded != body:
        shown = repr(raw) if decoded == raw else f"{raw!r} (decoded {decoded!r})"
        problems.append(f"Mcp-Name {shown}, but the body's {NAMED[method]} is {body!r}")
    return problems


@dataclass
class _Request:
    method: str
    id: Any
    index: int  # of its record in the log
    http: dict[str, Any]
    cancelled: bool = False
    notification_method: bool = False
    not_logged: bool = False  # a body of its exchange's answer passed unlogged (body_not_logged): maybe its answer


@dataclass
class _State:
    """What the walk has seen so far, per direction and session."""

    open: dict[tuple[str, str], list[_Request]] = field(default_factory=dict)  # (sender dir, id) → requests
    sent: dict[tuple[str, str], _Request] = field(default_factory=dict)  # every request, by (dir, id)
    capabilities: dict[tuple[str, Any], Any] = field(default_factory=dict)  # (side, session) → declared
    asked: dict[Any, Any] = field(default_factory=dict)  # initialize's exchange/id → client capabilities


class _Walk:
    def __init__(self, log: EventLog, stated_lines: bool) -> None:
        self.log = log
        self.stated_lines = stated_lines
        self.findings: list[Finding] = []
        self.revision = agreed_protocol(log.records)
        self.http = log.header.get("transport") == "http"
        self.state = _State()
        # (direction, exchange) of the bodies passed on unlogged: a request among them has no line, and
        # its answer must not read as answering nothing (over stdio the exchange is None: any answer)
        self.unlogged: set[tuple[str, Any]] = set()
        self.revisions, self.sessionless = _http_revisions(log) if self.http else ({}, None)

    def revision_at(self, http: dict[str, Any]) -> str | None:
        """The revision a message is held to. Over HTTP several clients may share a recording, each on
        its own revision: a 2025-era one by its Mcp-Session-Id (its initialize by its exchange), a
        2026-07-28 one by having no session."""
        if self.http:
            for key in (("session", http.get("session_id")), ("exchange", http.get("exchange"))):
                if key[1] is not None and key in self.revisions:
                    return self.revisions[key]
            if http.get("session_id") is None and self.sessionless is not None:
                return self.sessionless
        return self.revision

    def line(self, index: int) -> int | None:
        # an mcpobs event log: the header is line 1, each record a line after it
        return index + 2 if self.stated_lines else None

    def find(self, rule: str, index: int, message: str) -> None:
        where = "" if self.stated_lines else f"message {index + 1}: "
        self.findings.append(finding(BY_ID[rule], self.log.path, where + message, self.line(index)))

    def run(self) -> list[Finding]:
        for index, record in enumerate(self.log.records):
            kind = record.get("kind")
            if kind == "invalid":
                self.invalid(index, record)
            elif kind == "message":
                http = _object(record.get("http"))
                batch = record["message"]
                if isinstance(batch, list):
                    if not batch:
                        self.find("invalid-frame", index, "an empty batch")
                    for one in batch:
                        self.message(index, record["dir"], one, http)
                else:
                    self.message(index, record["dir"], batch, http)
            elif kind == "event" and record.get("event") == "stream_closed" and record.get("by") == "client":
                self.client_closed_stream(record.get("exchange"))
            elif kind == "event" and record.get("event") == "body_not_logged" and record.get("dir") in ("c2s", "s2c"):
                self.unlogged.add((record["dir"], record.get("exchange")))
                if record["dir"] == "s2c":
                    self.answer_not_logged(record.get("exchange"))
        self.unanswered()
        return self.findings

    def invalid(self, index: int, record: dict[str, Any]) -> None:
        text = str(record.get("text", ""))
        shown = text if len(text) <= 80 else text[:77] + "…"
        if not self.http and record.get("dir") == "s2c":
            self.find("stdout-noise", index, f"the server wrote a line that is not JSON to stdout: {shown!r}")
        else:
            side = "client" if record.get("dir") == "c2s" else "server"
            self.find("invalid-frame", index, f"the {side} sent something that is not JSON: {shown!r}")

    def message(self, index: int, direction: str, message: Any, http: dict[str, Any]) -> None:
        problem = frame_problem(message)
        if problem:
            self.find("invalid-frame", index, problem)
            return
        if "method" in message:
            self.method(index, direction, message, http)
        else:
            self.response(index, direction, message, http)

    def method(self, index: int, direction: str, message: dict[str, Any], http: dict[str, Any]) -> None:
        method = message["method"]
        params = params_of(message)
        has_id = "id" in message
        if has_id and method.startswith("notifications/"):
            self.find(
                "notification-with-id", index, f"{method} sent with id {message['id']!r}: a notification has none"
            )
        self.revision_of(index, method, http)
        if method == "notifications/cancelled":
            self.cancelled(index, direction, params)
        if not has_id:
            return
        request = _Request(method, message["id"], index, http, notification_method=method.startswith("notifications/"))
        key = (direction, id_key(message["id"]))
        # a cancelled request may still be answered, but its id is free again
        in_flight = [
            r
            for r in self.state.open.get(key, [])
            if not r.cancelled and r.http.get("session_id") == http.get("session_id")
        ]
        if in_flight and not self.http_without_sessions(http):
            first = in_flight[0]
            at = f" (line {self.line(first.index)})" if self.stated_lines else f" (message {first.index + 1})"
            self.find(
                "duplicate-id",
                index,
                f"{method} sent with id {message['id']!r}, still in flight for {first.method}{at}",
            )
        self.state.open.setdefault(key, []).append(request)
        self.state.sent[key] = request
        if direction == "c2s":
            self.request_meta(index, method, params, http)
            # a message logged without its HTTP details (a replay's own log) has headers nobody knows
            if self.http and http and http.get("method", "POST") == "POST":
                self.headers(index, message, params, http)
        self.capability(index, direction, method, http)
        if method == "initialize" and direction == "c2s":
            self.state.asked[http.get("exchange", id_key(message["id"]))] = params.get("capabilities")

    def response(self, index: int, direction: str, message: dict[str, Any], http: dict[str, Any]) -> None:
        sender = "s2c" if direction == "c2s" else "c2s"
        answer_id = message.get("id")
        if answer_id is None:
            # an error without an id answers the request of its HTTP exchange, if any: over stdio, none
            self.close_exchange(sender, http.get("exchange"))
            return
        candidates = self.state.open.get((sender, id_key(answer_id)), [])
        request = _answered(candidates, http)
        if request is None:
            if (sender, http.get("exchange")) in self.unlogged:
                return  # it may answer a request whose body was not logged
            side = "client" if direction == "c2s" else "server"
            self.find("unmatched-response", index, f"the {side} answered id {answer_id!r}, which no open request has")
            return
        candidates.remove(request)
        result = message.get("result")
        if request.method == "initialize" and isinstance(result, dict):
            session = http.get("session_id")
            self.state.capabilities[("server", session)] = result.get("capabilities")
            asked = self.state.asked.pop(request.http.get("exchange", id_key(request.id)), None)
            self.state.capabilities[("client", session)] = asked
        if request.method == "server/discover" and isinstance(result, dict):
            self.state.capabilities[("server", http.get("session_id"))] = result.get("capabilities")

    def close_exchange(self, sender: str, exchange: Any) -> None:
        if exchange is None:
            return
        for (direction, _), requests in self.state.open.items():
            if direction == sender:
                requests[:] = [r for r in requests if r.http.get("exchange") != exchange]

    def client_closed_stream(self, exchange: Any) -> None:
        # 2026-07-28 over HTTP: closing the response stream is the cancellation
        for requests in self.state.open.values():
            for request in requests:
                if request.http.get("exchange") == exchange:
                    request.cancelled = True

    def answer_not_logged(self, exchange: Any) -> None:
        for (direction, _), requests in self.state.open.items():
            for request in requests:
                # over stdio neither has an exchange: the body may answer any request still open
                if direction == "c2s" and request.http.get("exchange") == exchange:
                    request.not_logged = True

    def cancelled(self, index: int, direction: str, params: dict[str, Any]) -> None:
        # either side cancels only its own requests (a server gives up on its elicitation too)
        target = self.state.sent.get((direction, id_key(params.get("requestId"))))
        if target is None:
            return
        if target.method == "initialize":
            self.find(
                "cancelled-initialize",
                index,
                f"notifications/cancelled names the initialize request (id {target.id!r})",
            )
        target.cancelled = True

    def revision_of(self, index: int, method: str, http: dict[str, Any]) -> None:
        revision = self.revision_at(http)
        if revision is None:
            return
        if revision == REVISION_2026 and method in REMOVED_2026:
            self.find("removed-method", index, f"{method}: protocol revision {revision} removed it")
        elif revision == REVISION_2026 and method in DEPRECATED_2026:
            self.find("deprecated-method", index, f"{method}: protocol revision {revision} deprecates it")
        elif method in INTRODUCED and revision < INTRODUCED[method]:
            self.find(
                "removed-method",
                index,
                f"{method}: protocol revision {revision} does not have it (from {INTRODUCED[method]})",
            )

    def request_meta(self, index: int, method: str, params: dict[str, Any], http: dict[str, Any]) -> None:
        if self.revision_at(http) != REVISION_2026:
            return
        meta = _object(params.get("_meta"))
        missing = [k for k in (PROTOCOL_META, CLIENT_CAPABILITIES_META) if k not in meta]
        if missing:
            self.find("request-meta", index, f"{method} lacks _meta {', '.join(missing)}")

    def headers(self, index: int, message: dict[str, Any], params: dict[str, Any], http: dict[str, Any]) -> None:
        method = message["method"]
        meta = _object(params.get("_meta"))
        stated = meta.get(PROTOCOL_META)
        revision = self.revision_at(http)
        modern = stated == REVISION_2026 or (stated is None and revision == REVISION_2026)
        header = http.get("protocol_version")
        if modern:
            for problem in version_header_problems(method, header, stated):
                self.find("protocol-version-header", index, problem)
            self.routing(index, method, params, http)
        elif revision is not None and revision >= "2025-06-18" and method != "initialize":
            if header is None:
                self.find("protocol-version-header", index, f"{method} without an MCP-Protocol-Version header")
            elif header != revision:
                self.find(
                    "protocol-version-header",
                    index,
                    f"{method}: MCP-Protocol-Version {header!r}, but the session agreed {revision!r}",
                )

    def routing(self, index: int, method: str, params: dict[str, Any], http: dict[str, Any]) -> None:
        for problem in routing_problems(method, params, http):
            self.find("routing-header", index, problem)

    def capability(self, index: int, direction: str, method: str, http: dict[str, Any]) -> None:
        session = http.get("session_id")
        if direction == "c2s":
            needs, declared, receiver = (
                SERVER_NEEDS.get(method),
                self.state.capabilities.get(("server", session)),
                "server",
            )
        else:
            needs, declared, receiver = (
                CLIENT_NEEDS.get(method),
                self.state.capabilities.get(("client", session)),
                "client",
            )
            if self.revision_at(http) == REVISION_2026:
                return  # 2026-07-28 servers ask through input_required results, checked per request there
        if needs is None or not isinstance(declared, dict):
            return  # nothing needed, or no capabilities seen to hold it to
        value: Any = declared
        for part in needs:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or value is False:
            self.find(
                "undeclared-capability",
                index,
                f"{method} needs the {receiver} capability {'.'.join(needs)}, which the {receiver} did not declare",
            )

    def unanswered(self) -> None:
        for requests in self.state.open.values():
            for request in requests:
                if request.cancelled or request.notification_method or request.not_logged:
                    continue
                message = f"{request.method} (id {request.id!r}) got no answer before the recording ended"
                self.find("unanswered-request", request.index, message)

    def http_without_sessions(self, http: dict[str, Any]) -> bool:
        # several clients of a 2026-07-28 server share nothing that tells them apart: their ids may repeat
        return self.http and http.get("session_id") is None


def _http_revisions(log: EventLog) -> tuple[dict[tuple[str, Any], str], str | None]:
    """Each revision an HTTP recording's clients agreed, by session id and by the exchange that settled
    it; and 2026-07-28 when a client agreed it (its requests carry no session)."""
    agreement = ProtocolAgreement()
    revisions: dict[tuple[str, Any], str] = {}
    sessionless = None
    for record in log.records:
        if record.get("kind") != "message":
            continue
        http = _object(record.get("http"))
        for message in messages_of(record["message"]):
            agreed = agreement.feed(record["dir"], message, http)
            if agreed is None:
                continue
            for key in (("session", http.get("session_id")), ("exchange", http.get("exchange"))):
                if key[1] is not None:
                    revisions.setdefault(key, agreed[0])
            if agreed[0] == REVISION_2026:
                sessionless = REVISION_2026
    return revisions, sessionless


def _object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one: what a malformed part of a message holds."""
    return value if isinstance(value, dict) else {}


def _answered(candidates: list[_Request], http: dict[str, Any]) -> _Request | None:
    """The open request a response answers: the one of its HTTP exchange, else its session, else the earliest."""
    for name in ("exchange", "session_id"):
        value = http.get(name)
        if value is not None:
            same = [r for r in candidates if r.http.get(name) == value]
            if same:
                return same[0]
    return candidates[0] if candidates else None


def frame_problem(message: Any) -> str:
    """Why a parsed message is no JSON-RPC 2.0 request, notification or response; "" when it is one."""
    if not isinstance(message, dict):
        return f"a JSON-RPC message is an object, not {type(message).__name__}"
    if message.get("jsonrpc") != "2.0":
        return f'"jsonrpc" must be "2.0", not {message.get("jsonrpc")!r}'
    # an error about a request whose id could not be read has id null (JSON-RPC 2.0, section 5)
    null_error = "method" not in message and "error" in message and message.get("id", 0) is None
    if (
        "id" in message
        and not null_error
        and (isinstance(message["id"], bool) or not isinstance(message["id"], str | int))
    ):
        return f"id {message['id']!r}: an MCP id is a string or an integer (never null)"
    if "method" in message:
        if not isinstance(message["method"], str):
            return f"method {message['method']!r} is not a string"
        if "params" in message and not isinstance(message["params"], dict):
            return f"{message['method']}: params must be an object"
        if "result" in message or "error" in message:
            return f"{message['method']}: a request holds no result or error"
        return ""
    if "id" not in message and "error" not in message:
        return "neither a request (no method) nor a response (no id)"
    if ("result" in message) == ("error" in message):
        return "a response holds exactly one of result and error"
    if "result" in message and not isinstance(message["result"], dict):
        return "an MCP result is an object"
    error = message.get("error")
    if "error" in message and not (
        isinstance(error, dict)
        and isinstance(error.get("code"), int)
        and not isinstance(error.get("code"), bool)
        and isinstance(error.get("message"), str)
    ):
        return "an error needs an integer code and a message"
    return ""


def lint_event_log(log: EventLog, *, stated_lines: bool = True) -> list[Finding]:
    """Every finding of the event-log rules in ``log``. ``stated_lines``: the log is mcpobs's own, whose
    record N is line N + 1 of the file (a peer recorder's converted file has no such lines)."""
    return _Walk(log, stated_lines).run()
