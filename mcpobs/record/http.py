"""Recording a Streamable HTTP MCP server: a reverse proxy that logs every message it passes.

The client is pointed at ``http://LISTEN/<the upstream's path>``; each request
is sent on to the upstream origin with the same path, method, headers (but the
hop-by-hop ones) and body, and the answer comes back the same way: a JSON body
whole, an SSE stream event by event as the server sends it; a body longer than
:data:`~mcpobs.eventlog.writer.MESSAGE_LIMIT` (either way) is passed on as it
comes, never held whole, and not logged (``body_not_logged``). Bytes are passed
unchanged; the messages in them are logged (with the HTTP status and the MCP
headers) before they are passed on. Both protocol eras work, since nothing is
interpreted: ``Mcp-Session-Id``, ``MCP-Protocol-Version``, ``Mcp-Method``,
``Mcp-Name`` and ``Last-Event-ID`` are headers like the others.

The proxy listens on 127.0.0.1 unless told otherwise and refuses requests whose
Host or Origin is not this machine, so a web page cannot reach it through DNS
rebinding.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import signal
import socket
import sys
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
import uvicorn

from mcpobs.errors import UsageError
from mcpobs.eventlog.writer import MESSAGE_LIMIT, EventLogWriter, not_logged

# Headers that belong to one connection, not to the message (RFC 9110 7.6.1), and Host, which is the upstream's.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# What a message's line says of its HTTP exchange (lower-case header -> field).
MCP_HEADERS = {
    "mcp-session-id": "session_id",
    "mcp-protocol-version": "protocol_version",
    "mcp-method": "mcp_method",
    "mcp-name": "mcp_name",
    "last-event-id": "last_event_id",
}
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# How long an answer still open when the proxy is told to stop has to end (a call's answer on its way)
# before the proxy ends it; an SSE stream such as a client's GET stream never ends by itself.
STOP_GRACE_S = 2


@dataclass(frozen=True)
class Listen:
    """Where the proxy listens: ``HOST:PORT`` (port 0: any free port)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not host or int(port) > 65535:
            raise UsageError(f"--listen {text!r}: expected HOST:PORT (a port up to 65535), e.g. 127.0.0.1:8765")
        return cls(host.strip("[]"), int(port))


def check_upstream(url: str) -> str:
    try:
        # the proxy sends requests to this URL's origin as httpx2 parses it: it must parse
        valid = urlsplit(url).scheme in ("http", "https") and bool(httpx2.URL(url).host)
    except (ValueError, httpx2.InvalidURL):  # a port that is not a number, an unclosed [
        valid = False
    if not valid:
        raise UsageError(f"--upstream {url!r}: expected an http:// or https:// URL, e.g. http://127.0.0.1:8000/mcp")
    return url


class RecordingProxy:
    """The ASGI application: forwards each request to the upstream and logs what passes."""

    def __init__(self, upstream: str, log: EventLogWriter, allowed_hosts: set[str] | None) -> None:
        parts = urlsplit(upstream)
        self.origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"  # as told to clients: no credentials
        self.upstream = httpx2.URL(upstream)
        self.log = log
        self.allowed_hosts = allowed_hosts  # None: listening beyond this machine, any Host is accepted
        self.exchanges = itertools.count(1)
        self.client = httpx2.AsyncClient(timeout=httpx2.Timeout(None, connect=10.0), follow_redirects=False)
        self.stopping: Callable[[], bool] = lambda: False  # set by record_http: whether the proxy is ending

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        refusal = self._refusal(headers)
        if refusal:
            self.log.event("request_refused", reason=refusal)
            await _answer(send, 403, refusal)
            return
        method, path = scope["method"], scope["raw_path"].decode("latin-1")
        url = self._upstream_url(scope["raw_path"], scope.get("query_string", b""))
        if url is None:
            reason = f"request target {path!r} is not a path on this proxy"
            self.log.event("request_refused", reason=self.log.redactor.text(reason))
            await _answer(send, 400, reason)
            return
        try:
            body, whole = await read_body(receive)
        except ClientGone:  # before the body's end: nothing is sent on, a shorter body is not the request
            self.log.event("stream_closed", by="client", exchange=next(self.exchanges))
            return
        # an exchange number ties a request to its answer, whatever ids the messages carry
        exchange = next(self.exchanges)
        request_facts = {"method": method, "path": path, "exchange": exchange, **self._mcp_headers(headers)}
        request_facts["headers"] = self._headers(headers)
        decoded = _decoded(body, _encoding(headers)) if body and whole else None
        if decoded is not None:
            self._log_body("c2s", decoded, request_facts)
        elif not whole:
            self._too_large("c2s", request_facts, f"a request body longer than {MESSAGE_LIMIT} bytes")
        elif body:
            self._too_large("c2s", request_facts)
        else:
            self.log.event("http_request", **{k: v for k, v in request_facts.items() if k != "headers"})
        forward = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        content: bytes | AsyncIterator[bytes] = body
        if not whole:  # passed on as it comes, not held: with the length the client stated, if it did
            forward += [(k, v) for k, v in headers if k.lower() == "content-length"]
            content = _rest_of_body(body, receive)
        try:
            request = self.client.build_request(method, url, headers=forward, content=content)
            response = await self.client.send(request, stream=True)
        except ClientGone:  # in the middle of a body passed on: the upstream's request is cut off too
            self.log.event("stream_closed", by="client", exchange=exchange)
            return
        except httpx2.HTTPError as e:
            self.log.event(
                "upstream_unreachable",
                url=self.log.redactor.text(str(url)),
                exchange=exchange,
                error=str(e) or type(e).__name__,
            )
            await _answer(send, 502, f"mcpobs record: the upstream {self.origin} cannot be reached: {e}")
            return
        # a client that goes away ends the upstream stream too, so nothing holds the proxy open; so does
        # the proxy's stop, after a grace (``cut``)
        gone, cut = asyncio.Event(), asyncio.Event()
        watchers = [
            asyncio.ensure_future(_on_disconnect(receive, response, gone)),
            asyncio.ensure_future(self._on_stop(response, cut)),
        ]
        begun: list[bool] = []  # whether the answer's head went to the client
        try:
            await self._relay(response, method, exchange, _noting_start(send, begun), gone)
        except (httpx2.HTTPError, OSError, RuntimeError, asyncio.CancelledError):
            # ended by the proxy's stop (after its grace; at once, cancelled, after a second signal): said
            # in the log and to the client, not a traceback from uvicorn
            if not (cut.is_set() or self.stopping()):
                raise
            self.log.event("stream_closed", by="server", exchange=exchange, error="the recorder stopped")
            with contextlib.suppress(OSError, RuntimeError):
                if begun:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                else:
                    await _answer(send, 503, "mcpobs record: the recorder stopped")
        finally:
            for watcher in watchers:
                watcher.cancel()
            await response.aclose()

    async def _on_stop(self, response: httpx2.Response, cut: asyncio.Event) -> None:
        while not self.stopping():
            await asyncio.sleep(0.1)
        await asyncio.sleep(STOP_GRACE_S)
        cut.set()
        await response.aclose()

    async def _relay(
        self, response: httpx2.Response, method: str, exchange: int, send: Callable[..., Any], gone: asyncio.Event
    ) -> None:
        headers = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in HOP_BY_HOP | {"date", "server"}
        ]
        facts = {"method": method, "status": response.status_code, "exchange": exchange, **self._mcp_headers(headers)}
        facts["headers"] = self._headers(headers)
        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        streaming = response.headers.get("content-type", "").startswith("text/event-stream")
        # the raw bytes go on as they came (compressed, if they are); the log reads them decoded
        decoder = _Decoder(response.headers.get("content-encoding", ""))
        chunks = response.aiter_raw()
        if not streaming:
            body, whole = await _first_bytes(chunks, MESSAGE_LIMIT)
            if whole:
                decoded = _decoded(body, response.headers.get("content-encoding", "")) if body else None
                if decoded is not None:
                    self._log_body("s2c", decoded, facts)
                elif body:
                    self._too_large("s2c", facts)
                else:
                    self.log.event("http_response", **{k: v for k, v in facts.items() if k != "headers"})
                raw_headers.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": response.status_code, "headers": raw_headers})
                await send({"type": "http.response.body", "body": body})
                return
            # too long to hold: passed on as it comes, with the length the server stated, if it did
            self._too_large("s2c", facts, f"a response body longer than {MESSAGE_LIMIT} bytes")
            length = response.headers.get("content-length")
            raw_headers += [(b"content-length", length.encode("latin-1"))] if length is not None else []
            await send({"type": "http.response.start", "status": response.status_code, "headers": raw_headers})
            await send({"type": "http.response.body", "body": body, "more_body": True})
        else:
            await send({"type": "http.response.start", "status": response.status_code, "headers": raw_headers})
        events = _SseEvents()
        said_too_large = False
        try:
            async for chunk in chunks:
                if streaming:
                    for event_id, data in events.feed(decoder.feed(chunk)):
                        if data is None:
                            self._too_large("s2c", facts, f"an SSE event longer than {events.limit} bytes")
                            continue
                        facts_of = {**facts, "sse_event_id": event_id} if event_id else facts
                        self._log_body("s2c", data.encode(), facts_of)
                    if decoder.too_large and not said_too_large:
                        said_too_large = True  # the rest of the stream is forwarded, not logged
                        self._too_large("s2c", facts)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except (httpx2.HTTPError, OSError, RuntimeError) as e:
            if gone.is_set():
                self.log.event("stream_closed", by="client", exchange=exchange)
                return
            if self.stopping():
                raise  # the proxy's stop ended it: the caller says so
            self.log.event("stream_closed", by="server", exchange=exchange, error=str(e) or type(e).__name__)
            raise  # the client's stream breaks off too, as the server's did, rather than seeming to end well
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _upstream_url(self, raw_path: bytes, query: bytes) -> httpx2.URL | None:
        """The upstream's scheme and authority with the request's path and query, or None for a target
        that is not a path (absolute-form, ``*``, ``@host:port/…``, bytes no URL holds): gluing the
        raw target to the origin let such a target name another host, which got every header."""
        if not raw_path.startswith(b"/"):
            return None
        try:
            return self.upstream.copy_with(raw_path=raw_path + (b"?" + query if query else b""))
        except (httpx2.InvalidURL, UnicodeError):
            return None

    def _log_body(self, direction: str, body: bytes, facts: dict[str, Any]) -> None:
        self.log.message(direction, body, facts)  # type: ignore[arg-type]

    def _too_large(self, direction: str, facts: dict[str, Any], what: str = "") -> None:
        body = "a request body" if direction == "c2s" else "a response body"
        what = what or f"{body} that decodes to more than {MESSAGE_LIMIT} bytes"
        not_logged(self.log, what, _warn, dir=direction, **{k: v for k, v in facts.items() if k != "headers"})

    def _headers(self, headers: list[tuple[str, str]]) -> dict[str, str]:
        return dict(self.log.redactor.headers(headers))

    def _mcp_headers(self, headers: list[tuple[str, str]]) -> dict[str, str]:
        facts = {MCP_HEADERS[k.lower()]: v for k, v in headers if k.lower() in MCP_HEADERS}
        if "session_id" in facts:
            facts["session_id"] = self.log.redactor.session_id(facts["session_id"])
        return facts

    def _refusal(self, headers: list[tuple[str, str]]) -> str:
        return refusal(headers, self.allowed_hosts)

    async def _lifespan(self, receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


class _SseEvents:
    """Whole server-sent events out of a byte stream cut anywhere: (id, data) of each event with data.

    An event longer than ``limit`` bytes (a server streaming with no blank line between events) is
    not held: its bytes are dropped as they come, until the blank line that ends it, and it yields
    ``(None, None)`` once, where it was; the events after it are read as before."""

    def __init__(self, limit: int = MESSAGE_LIMIT) -> None:
        self.limit = limit
        self.pending = bytearray()
        self.cr = b""  # a chunk's last \r, held back: it may be the first half of a \r\n
        self.skipping = False  # inside an event too long to hold

    def feed(self, chunk: bytes) -> Iterator[tuple[str | None, str | None]]:
        raw = self.cr + chunk
        self.cr = b"\r" if raw.endswith(b"\r") else b""
        raw = raw[: len(raw) - len(self.cr)]
        # searched from the last byte held (half a blank line, maybe), not from the start: a long event is
        # not scanned again at every chunk
        start = max(len(self.pending) - 1, 0)
        self.pending += raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        while (end := self.pending.find(b"\n\n", start)) >= 0:
            block = bytes(self.pending[:end])
            del self.pending[: end + 2]
            start = 0
            if self.skipping:
                self.skipping = False  # the long event's end: what follows is read again
                continue
            event_id, data = None, []
            for line in block.decode("utf-8", errors="replace").split("\n"):
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "data":
                    data.append(value)
                elif field == "id":
                    event_id = value
            if data and "".join(data).strip():
                yield event_id, "\n".join(data)
        if len(self.pending) > self.limit:
            if not self.skipping:
                self.skipping = True
                yield None, None
            # the last byte is kept: a "\n" may be the first half of the blank line that ends the event
            del self.pending[:-1]


class _Decoder:
    """Undoes a Content-Encoding a chunk at a time (gzip, deflate, zstd); anything else is left as it is.
    A chunk that decodes to more than ``limit`` bytes sets ``too_large`` and ends the decoding (never
    more than that in memory at once): what follows decodes to nothing."""

    def __init__(self, encoding: str, limit: int = MESSAGE_LIMIT) -> None:
        encoding = encoding.strip().lower()
        self.limit = limit
        self.too_large = False
        self._zlib = None
        self._zstd = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif encoding == "zstd":
            import zstandard

            self._zstd = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, chunk: bytes) -> bytes:
        if self.too_large:
            return b""
        try:
            if self._zlib is not None:
                out = self._zlib.decompress(chunk, self.limit + 1)
            elif self._zstd is not None:
                out = bytes(self._zstd.decompress(chunk))
            else:
                return chunk
        except Exception:  # a body that does not decode is logged as it came, never fatal
            self._zlib = self._zstd = None
            return chunk
        if len(out) > self.limit:
            self.too_large, self._zlib, self._zstd = True, None, None
            return b""
        return out

    def flush(self) -> bytes:
        return self._zlib.flush() if self._zlib is not None else b""


def _encoding(headers: list[tuple[str, str]]) -> str:
    return next((v for k, v in headers if k.lower() == "content-encoding"), "")


def _decoded(body: bytes, encoding: str) -> bytes | None:
    """A whole body decoded, or None if it decodes to more than :data:`MESSAGE_LIMIT` bytes."""
    if encoding.strip().lower() == "zstd":
        # zstd's decompressobj has no output bound: read through a stream reader, at most the limit
        import zstandard

        try:
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)) as reader:
                out = reader.read(MESSAGE_LIMIT + 1)
        except zstandard.ZstdError:
            return body  # logged as it came, as a body that does not decode is
        return out if len(out) <= MESSAGE_LIMIT else None
    decoder = _Decoder(encoding)
    out = decoder.feed(body) + decoder.flush()
    return None if decoder.too_large else out


def _warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _noting_start(send: Callable[..., Any], begun: list[bool]) -> Callable[..., Any]:
    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            begun.append(True)
        await send(message)

    return sending


async def _on_disconnect(receive: Callable[..., Any], response: httpx2.Response, gone: asyncio.Event) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()
    await response.aclose()


class ClientGone(Exception):
    """The client went away before the end of its request's body."""


async def read_body(receive: Callable[..., Any], limit: int = MESSAGE_LIMIT) -> tuple[bytes, bool]:
    """A request's body as it comes, until it ends or passes ``limit`` bytes (a client may send
    gigabytes): the bytes read, and whether they are all of it (False: the rest is still to receive).
    :class:`ClientGone` if the client goes away before its end."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        parts.append(message.get("body", b""))
        size += len(parts[-1])
        if not message.get("more_body"):
            return b"".join(parts), True
        if size > limit:
            return b"".join(parts), False


async def _rest_of_body(first: bytes, receive: Callable[..., Any]) -> AsyncIterator[bytes]:
    """A body too long to hold, passed on a chunk at a time: ``first``, what :func:`read_body` read of
    it, then the rest as the client sends it."""
    yield first
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone  # not a shorter body ended well: the upstream must not take it as whole
        yield message.get("body", b"")
        if not message.get("more_body"):
            return


async def _first_bytes(chunks: AsyncIterator[bytes], limit: int) -> tuple[bytes, bool]:
    """The chunks read until they end or pass ``limit`` bytes: their bytes, and whether they ended
    (False: the rest is still in ``chunks``)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(parts), False
    return b"".join(parts), True


async def _answer(send: Callable[..., Any], status: int, text: str) -> None:
    body = json.dumps({"error": text}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Server(uvicorn.Server):
    """uvicorn, but a signal stops it and is remembered, instead of being raised again after shutdown."""

    stopped_by: int | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(sig: int, frame: object) -> None:
            if self.should_exit:
                self.force_exit = True  # a second signal: do not wait for open streams
            self.stopped_by = sig
            self.should_exit = True

        before = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await super().shutdown(sockets)
        if self.force_exit:
            # uvicorn leaves the application's lifespan waiting after a second signal, and its task, then
            # cancelled, is a traceback on stderr: told to shut down, it ends as after one signal
            await self.lifespan.shutdown()


def refusal(headers: list[tuple[str, str]], allowed_hosts: set[str] | None) -> str:
    """Why a request is refused (empty: it is not): a Host that is not this listener, an Origin not on
    this machine (DNS rebinding: a web page must not reach a local listener)."""
    values = {k.lower(): v for k, v in headers}
    host = values.get("host", "")
    if allowed_hosts is not None and host not in allowed_hosts:
        return f"Host {host!r} is not this proxy"
    origin = values.get("origin")
    if origin and urlsplit(origin).hostname not in LOCAL_HOSTS:
        return f"Origin {origin!r} is not this machine"
    return ""


def allowed_hosts(sock: socket.socket) -> tuple[str, set[str] | None]:
    """The listener's host as a URL shows it, and the Host headers it accepts (None: any, when it
    listens beyond this machine)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if sock.family == socket.AF_INET6 else host
    loopback = host in LOCAL_HOSTS or host.startswith("127.")
    allowed = {f"{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]", shown)} if loopback else None
    return f"{shown}:{port}", allowed


def run_server(
    app: Any, sock: socket.socket, stopper: Callable[[Callable[[], None], Callable[[], bool]], None] | None = None
) -> int | None:
    """Serve the ASGI ``app`` on ``sock`` with uvicorn until SIGINT or SIGTERM (open streams get 2 s
    to end, a second signal ends them at once); the signal that stopped it. ``stopper`` is given a
    function that stops the server as a signal would, and one that tells whether it is stopping."""
    # h11 hands over the request target as it came (httptools would quietly cut an absolute-form one
    # down to its path), so the proxy sees, and refuses, every target that is not a path
    config = uvicorn.Config(
        app,
        http="h11",
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=STOP_GRACE_S + 1,  # a backstop: the proxy ends what is open after its own grace
    )
    server = _Server(config)
    if stopper is not None:
        stopper(lambda: setattr(server, "should_exit", True), lambda: bool(server.should_exit))
    asyncio.run(server.serve(sockets=[sock]))
    sock.close()
    return server.stopped_by


def listen_socket(listen: Listen) -> socket.socket:
    """The proxy's listening socket, bound now, so a bad --listen fails before the log is created."""
    family = socket.AF_INET6 if ":" in listen.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((listen.host, listen.port))
        sock.listen(2048)  # a client told the URL may connect before uvicorn starts serving: it waits, not refused
    except OSError as e:
        sock.close()
        raise UsageError(f"--listen {listen.host}:{listen.port}: cannot listen: {e.strerror or e}") from None
    return sock


def record_http(
    upstream: str, sock: socket.socket, log: EventLogWriter, ready: Callable[[str], None] | None = None
) -> None:
    """Serve the recording proxy on ``sock`` until SIGINT or SIGTERM (then :class:`KeyboardInterrupt`,
    as for stdio); open streams get 2 s to end, a second signal ends them at once. ``ready`` is told
    the proxy's own URL for the upstream's path once it listens."""
    where, allowed = allowed_hosts(sock)
    app = RecordingProxy(upstream, log, allowed)
    url = f"http://{where}{urlsplit(upstream).path or '/'}"
    log.event("proxy_listening", url=url, upstream=log.redactor.text(upstream))
    if ready is not None:
        ready(url)
    stopped_by = run_server(app, sock, lambda stop, stopping: setattr(app, "stopping", stopping))
    if stopped_by is not None:
        log.event("recorder_stopped", signal=signal.Signals(stopped_by).name)
        raise KeyboardInterrupt
