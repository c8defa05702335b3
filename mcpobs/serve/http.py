"""Serving a recording over Streamable HTTP, at ``http://HOST:PORT/mcp``.

Each POST carries the client's messages; a request is answered on the POST itself, as JSON, or as
an SSE stream when notifications go with the answer. A recording of a revision with sessions (2025)
gives each ``initialize`` a new ``Mcp-Session-Id``, which every later request must carry (400
without one, 404 once the session is gone: a ``session_expiry`` fault or a DELETE); a 2026-07-28
recording is served stateless, and a request whose ``MCP-Protocol-Version``, ``Mcp-Method`` or
``Mcp-Name`` header is missing or differs from its body (the name's Base64 sentinel decoded) gets
HTTP 400 with error ``-32020``, as the spec has a server answer it. A GET with ``Last-Event-ID``
resumes a 2025 stream that broke off (a ``stream_break`` fault: its event ids are ``EXCHANGE-N``),
and gets the rest of its messages; a GET without one (a stream for the server's own messages) is
405: the server sends nothing unasked. Like ``record``'s proxy, it listens on 127.0.0.1 unless told
otherwise and refuses a request whose Host or Origin is not this machine
(:func:`mcpobs.record.http.refusal`). A request body longer than
:data:`~mcpobs.eventlog.writer.MESSAGE_LIMIT` is read no further (a ``Content-Length`` past it, not at
all) and answered with 413 and the JSON-RPC error a stdio line too long gets.

Faults over HTTP: ``drop`` opens the answer's stream and closes it with no answer in it (the client
sees the connection end), ``http_status`` answers that status with no JSON-RPC message, ``exit``
cuts the call's stream as ``drop`` does and stops the server. A call still open when the server
stops (a signal, an ``exit``) gets 503, or its stream cut if it had begun; so does a later request on
a connection kept open.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import secrets
import signal
import socket
from collections.abc import Callable
from typing import Any

import anyio

from mcpobs import interrupt
from mcpobs.eventlog.reader import id_key, loads, meta_of, params_of
from mcpobs.eventlog.writer import MESSAGE_LIMIT, PROTOCOL_META, messages_of
from mcpobs.lint.eventlog import routing_problems, version_header_problems
from mcpobs.record.http import MCP_HEADERS, ClientGone, _answer, allowed_hosts, read_body, refusal, run_server
from mcpobs.serve.book import describe
from mcpobs.serve.server import DROPPED, Reply, Served
from mcpobs.serve.stdio import HEAD, head_request_id

PATH = "/mcp"
HEADER_MISMATCH = -32020  # 2026-07-28: a header (revision, method, name) missing or other than the body says
_JSON = (b"content-type", b"application/json")
RETRY_MS = 100  # how soon a client is told to resume a stream that broke off (SSE retry)


class ServeApp:
    """The ASGI application answering MCP requests from a recording."""

    def __init__(self, served: Served, allowed: set[str] | None) -> None:
        self.served = served
        self.allowed = allowed  # None: listening beyond this machine, any Host is accepted
        self.stateless = served.book.script.stateless
        self.sessions: set[str] = set()
        self.exchanges = itertools.count(1)
        self.numbers = itertools.count(1)  # the ids of the server's questions to clients
        self.questions: dict[str, asyncio.Future[dict[str, Any]]] = {}  # by id, until answered
        self.stop: Callable[[], None] = lambda: None  # set by serve_http: ends the server
        self.stopping: Callable[[], bool] = lambda: False  # set by serve_http: whether the server is ending
        self.exited = False  # an exit fault stopped it
        self.broken: dict[str, tuple[str | None, list[dict[str, Any]]]] = {}  # a stream to resume: session, messages

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        refused = refusal(headers, self.allowed)
        if refused:
            self.served.say(f"refused a request: {refused}")
            await _answer(send, 403, refused)
            return
        if scope["path"] != PATH:
            await _answer(send, 404, f"no MCP endpoint at {scope['path']}: it is {PATH}")
            return
        facts = {MCP_HEADERS[k.lower()]: v for k, v in headers if k.lower() in MCP_HEADERS}
        session = facts.get("session_id")
        if scope["method"] == "DELETE" and not self.stateless:  # the client ends its session
            known = session in self.sessions
            self.sessions.discard(session or "")
            await _status(send, 200 if known else 404)
        elif scope["method"] == "GET" and not self.stateless and facts.get("last_event_id"):
            await self._resume(send, facts, session)
        elif scope["method"] != "POST":
            await _status(send, 405, [(b"allow", b"POST, DELETE")])
        else:
            stated = next((v for k, v in headers if k.lower() == "content-length"), "")
            await self._post(receive, send, facts, session, int(stated) if stated.isdigit() else None)

    async def _post(
        self,
        receive: Callable[..., Any],
        send: Callable[..., Any],
        facts: dict[str, Any],
        session: str | None,
        length: int | None,
    ) -> None:
        http = {"method": "POST", "path": PATH, "exchange": next(self.exchanges), **facts}
        # a body longer than the limit is not held (a client may send gigabytes): a Content-Length over
        # it is refused unread, else it is read up to the limit; 413 as the SDK's servers answer it, with
        # the JSON-RPC error a stdio line too long gets, which the SDK's clients read at any status
        refused = length is not None and length > MESSAGE_LIMIT
        try:
            body, whole = (b"", False) if refused else await read_body(receive, MESSAGE_LIMIT)
        except ClientGone:
            return  # before its body's end: no one to answer
        if not whole or len(body) > MESSAGE_LIMIT:
            error = self.served.too_long(head_request_id(body[:HEAD]), MESSAGE_LIMIT, unread=refused, **http)
            await _json(send, 413, error, self.served, http)
            return
        try:
            parsed = loads(body)
        except ValueError as e:
            self.served.logged("c2s", body, http)
            error = {"code": -32700, "message": f"Parse error: {e}"}
            await _json(send, 400, {"jsonrpc": "2.0", "id": None, "error": error}, self.served, http)
            return
        messages = [m for m in messages_of(parsed) if isinstance(m, dict)]
        for message in messages:
            self.served.logged("c2s", json.dumps(message, ensure_ascii=False).encode(), http)
        starts = any(m.get("method") == "initialize" for m in messages)
        if self.stopping():  # after an exit fault or a signal, on a connection kept open: the server is gone
            await self._refuse(send, 503, "mcpobs serve: the server stopped", http)
            return
        if not self.stateless and not starts:
            if session is None:
                await self._refuse(send, 400, "Bad Request: no Mcp-Session-Id header", http)
                return
            if session not in self.sessions:
                await self._refuse(send, 404, "Not Found: no such session (it expired or was ended)", http)
                return
        for message in messages:
            future = self.questions.get(id_key(message.get("id"))) if "method" not in message else None
            if future is not None and not future.done():
                future.set_result(message)  # the client's answer to a question asked on another stream
        requests = [m for m in messages if isinstance(m.get("method"), str) and "id" in m]
        mismatch = self._header_mismatch(requests, facts) if self.stateless else None
        if mismatch is not None:
            await _json(send, 400, mismatch, self.served, http)
            return
        if not requests:
            await _status(send, 202)
            return
        # one request a POST, as the SDK clients send (a batch's requests answered in order on one stream)
        extra: list[tuple[bytes, bytes]] = []
        if starts and not self.stateless:
            session = secrets.token_hex(16)
            self.sessions.add(session)
            extra.append((b"mcp-session-id", session.encode()))
        http_out = {"method": "POST", "exchange": http["exchange"], **({"session_id": session} if session else {})}
        begun = ended = stopped = False

        async def sending(message: dict[str, Any]) -> None:
            nonlocal begun, ended
            begun = begun or message["type"] == "http.response.start"
            ended = message["type"] == "http.response.body" and not message.get("more_body")
            await send(message)

        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()  # the client went away (cancelled, or timed out): stop

            async def until_stopped() -> None:
                # a call still hung, slow or asking when the server stops (SIGINT, SIGTERM) ends now: uvicorn
                # would cancel it after its grace, with a traceback on stderr
                nonlocal stopped
                while not self.stopping():
                    await anyio.sleep(0.1)
                stopped = True
                group.cancel_scope.cancel()

            group.start_soon(watch)
            group.start_soon(until_stopped)
            replies = [await self.served.reply(r) for r in requests]
            await self._carry_out(sending, requests, replies, extra, http_out, session)
            group.cancel_scope.cancel()
        if stopped and not begun:
            await self._refuse(send, 503, "mcpobs serve: the server stopped", http_out)
        elif stopped and not ended:
            self.served.event("stream_closed", by="server", exchange=http_out["exchange"], error="the server stopped")
            await send({"type": "http.response.body", "body": b""})

    def _header_mismatch(self, requests: list[dict[str, Any]], facts: dict[str, Any]) -> dict[str, Any] | None:
        """2026-07-28: the error a request gets whose MCP-Protocol-Version, Mcp-Method or Mcp-Name
        header is missing or differs from its body (-32020, HTTP 400, as the spec has a server answer
        it); None if they agree."""
        for request in requests:
            meta = meta_of(request)
            if PROTOCOL_META not in meta:
                continue  # no 2026-07-28 request (an initialize): the recording answers it, or says it cannot
            stated = meta[PROTOCOL_META]
            problems = version_header_problems(request["method"], facts.get("protocol_version"), stated)
            problems += routing_problems(request["method"], params_of(request), facts)
            if problems:
                text = "; ".join(problems)
                self.served.say(f"{describe(request)}: refused, header mismatch: {text}")
                error = {"code": HEADER_MISMATCH, "message": f"Header mismatch: {text}"}
                return {"jsonrpc": "2.0", "id": request.get("id"), "error": error}
        return None

    async def _refuse(self, send: Callable[..., Any], status: int, text: str, http: dict[str, Any]) -> None:
        """An HTTP error with no JSON-RPC answer, logged as ``record`` logs one (an ``http_response``
        event), so that analyze counts the exchange's calls as failed with it."""
        self.served.event("http_response", method="POST", status=status, exchange=http["exchange"])
        await _answer(send, status, text)

    async def _carry_out(
        self,
        send: Callable[..., Any],
        requests: list[dict[str, Any]],
        replies: list[Reply],
        headers: list[tuple[bytes, bytes]],
        http: dict[str, Any],
        session: str | None,
    ) -> None:
        fault = next((r for r in replies if r.action != "answer"), None)
        if fault is not None:
            if fault.action == "hang":
                await anyio.sleep_forever()
            if fault.action == "exit":  # the call's stream is cut, as the process ending would, and the server ends
                self.served.say("exit: the server stops here (fault)")
                self.exited = True
                self.stop()
            if fault.action == "stream_break":
                await self._break(send, replies, headers, http, session)
            elif fault.action == "session_expiry":
                self.sessions.discard(session or "")
                await self._refuse(send, 404, "Not Found: no such session (it expired)", http)
            elif fault.action == "http_status":
                await self._refuse(send, fault.status or 503, "mcpobs serve: injected HTTP error", http)
            else:  # drop, exit: a stream that ends with no answer in it
                self.served.event("stream_closed", by="server", exchange=http["exchange"], error="dropped (fault)")
                await _stream(send, [], headers)
            return
        raw = next((r.raw for r in replies if r.raw is not None), None)
        if raw is not None:
            self.served.logged("s2c", raw, {**http, "status": 200})
            await _status(send, 200, [_JSON, *headers], raw)
            return
        if any(r.asks or any(r.at) for r in replies):  # questions to ask, or messages due one by one
            await self._asking(send, requests, replies, headers, http)
            return
        messages = [m for r in replies for m in _answer_last(r.messages)]
        for message in messages:
            self.served.logged("s2c", json.dumps(message, ensure_ascii=False).encode(), {**http, "status": 200})
        if len(messages) == 1:
            await _status(send, 200, [_JSON, *headers], json.dumps(messages[0], ensure_ascii=False).encode())
        else:
            await _stream(send, messages, headers)

    async def _break(
        self,
        send: Callable[..., Any],
        replies: list[Reply],
        headers: list[tuple[bytes, bytes]],
        http: dict[str, Any],
        session: str | None,
    ) -> None:
        """A stream that breaks off after its first event (an id, no message): the client resumes it
        with a GET naming that id, and gets the answer there."""
        stream = str(http["exchange"])
        self.broken[stream] = (session, [m for r in replies for m in _answer_last(r.messages)])
        await _start_events(send, headers)
        priming = f"id: {stream}-0\nretry: {RETRY_MS}\ndata: \n\n".encode()
        await send({"type": "http.response.body", "body": priming, "more_body": True})
        self.served.event("stream_closed", by="server", exchange=http["exchange"], error="broke off (fault): resumable")
        await send({"type": "http.response.body", "body": b""})

    async def _resume(self, send: Callable[..., Any], facts: dict[str, Any], session: str | None) -> None:
        """A GET with Last-Event-ID: the rest of the broken stream it names, on this one."""
        http = {"method": "GET", "path": PATH, "exchange": next(self.exchanges), **facts}
        stream = str(facts["last_event_id"]).partition("-")[0]
        broken = self.broken.get(stream)
        if session is None or session not in self.sessions or broken is None or broken[0] != session:
            status = 400 if session is None else 404
            self.served.say(f"refused a GET: no stream to resume at Last-Event-ID {facts['last_event_id']!r}")
            self.served.event("http_response", method="GET", status=status, exchange=http["exchange"])
            await _answer(send, status, f"no stream to resume at Last-Event-ID {facts['last_event_id']!r}")
            return
        del self.broken[stream]
        self.served.say(f"resumed stream {stream} (Last-Event-ID {facts['last_event_id']})")
        await _start_events(send)
        for number, message in enumerate(broken[1], start=1):
            event_id = f"{stream}-{number}"
            data = json.dumps(message, ensure_ascii=False)
            self.served.logged("s2c", data.encode(), {**http, "status": 200, "sse_event_id": event_id})
            body = f"id: {event_id}\nevent: message\ndata: {data}\n\n".encode()
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _asking(
        self,
        send: Callable[..., Any],
        requests: list[dict[str, Any]],
        replies: list[Reply],
        headers: list[tuple[bytes, bytes]],
        http: dict[str, Any],
    ) -> None:
        """Answers with the server's questions before them, or messages due one after another: a stream,
        each message sent on it when due, each question's answer (which the client POSTs) awaited, then
        the rest; an answer other than recorded ends the call with the error :meth:`Served.mismatch` gives."""
        await _start_events(send, headers)

        async def emit(message: dict[str, Any]) -> None:
            self.served.logged("s2c", json.dumps(message, ensure_ascii=False).encode(), {**http, "status": 200})
            await send({"type": "http.response.body", "body": _event(message), "more_body": True})

        for request, reply in zip(requests, replies, strict=True):
            last = 0.0  # when the message sent last was due (--timing recorded paces them)
            for index in range(reply.asked_at):
                last = await self.served.pace(reply, index, last)
                await emit(reply.messages[index])
            failed = None
            for question in reply.asks:
                number = next(self.numbers)
                future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
                self.questions[id_key(number)] = future
                try:
                    await emit({**question.request, "id": number})
                    failed = self.served.mismatch(question, await future, request)
                finally:
                    self.questions.pop(id_key(number), None)
                if failed is not None:
                    break
            if failed is not None:
                await emit(failed)
                continue
            rest = range(reply.asked_at, len(reply.messages))
            for index in sorted(rest, key=lambda i: "method" not in reply.messages[i]):  # as _answer_last
                last = await self.served.pace(reply, index, last)
                await emit(reply.messages[index])
        await send({"type": "http.response.body", "body": b""})


def _answer_last(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A client reads a POST's stream up to its answer and no further: the notifications recorded after
    an answer go just before it."""
    return sorted(messages, key=lambda m: "method" not in m)


def _event(message: dict[str, Any]) -> bytes:
    return f"event: message\ndata: {json.dumps(message, ensure_ascii=False)}\n\n".encode()


async def _status(
    send: Callable[..., Any], status: int, headers: list[tuple[bytes, bytes]] | None = None, body: bytes = b""
) -> None:
    given = [*(headers or []), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": given})
    await send({"type": "http.response.body", "body": body})


async def _json(
    send: Callable[..., Any], status: int, message: dict[str, Any], served: Served, http: dict[str, Any]
) -> None:
    data = json.dumps(message).encode()
    served.logged("s2c", data, {**http, "status": status})
    await _status(send, status, [_JSON], data)


async def _start_events(send: Callable[..., Any], headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Begin a 200 answer of server-sent events: its body follows, event by event."""
    start = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), *(headers or [])]
    await send({"type": "http.response.start", "status": 200, "headers": start})


async def _stream(send: Callable[..., Any], messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]]) -> None:
    """The answer as server-sent events, one message each (none: a stream cut short)."""
    await _start_events(send, headers)
    for message in messages:
        await send({"type": "http.response.body", "body": _event(message), "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def _control(app: ServeApp, stop: Callable[[], None], stopping: Callable[[], bool]) -> None:
    app.stop, app.stopping = stop, stopping


def serve_http(served: Served, sock: socket.socket, ready: Callable[[str], None] | None = None) -> int:
    """Serve on ``sock`` until SIGINT or SIGTERM (then :class:`KeyboardInterrupt`) or an ``exit`` fault;
    the exit status: 1 after the fault."""
    where, allowed = allowed_hosts(sock)
    app = ServeApp(served, allowed)
    url = f"http://{where}{PATH}"
    if served.log is not None:
        served.log.event("serve_listening", url=url)
    if ready is not None:
        ready(url)
    stopped_by = run_server(app, sock, functools.partial(_control, app))
    if app.exited:
        served.event("server_exited", code=DROPPED)
        return DROPPED
    if stopped_by is not None:
        served.event("recorder_stopped", signal=signal.Signals(stopped_by).name)
        # uvicorn took SIGTERM from mcpobs.interrupt: the exit status still says which signal it was
        interrupt.terminated = interrupt.terminated or stopped_by == signal.SIGTERM
        raise KeyboardInterrupt
    return 0
