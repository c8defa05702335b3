"""A live connection to the server under replay, over the mcp SDK's own client transports.

The replay sends the recorded JSON-RPC messages themselves (ids, params and ``_meta`` as recorded),
so it speaks to the SDK's transports (``stdio_client``, ``streamable_http_client``) directly rather
than through ``ClientSession``, which numbers requests itself and adds requests of its own.

Each connection runs in a task of its own that owns the transport, so a transport failure (the server
exited, the HTTP server went away) closes the connection, fails the calls waiting on it, and never
tears down the replay itself.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx2
from mcp import Client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.message import ClientMessageMetadata, SessionMessage
from mcp_types import jsonrpc_message_adapter

from mcpobs.errors import ExitCode, McpobsError
from mcpobs.eventlog.reader import id_key

Handler = Callable[["Link", dict[str, Any]], Awaitable[None]]


class UnreachableError(McpobsError):
    """The server could not be started or reached."""

    exit_code = ExitCode.UNREACHABLE


@dataclass(frozen=True)
class Target:
    """The server to replay against, as the user named it: a command (stdio) or a URL."""

    command: tuple[str, ...] = ()
    url: str | None = None

    def __str__(self) -> str:
        return self.url or " ".join(self.command)

    def check(self) -> None:
        if not self.url and not self.command:
            raise McpobsError("no server named")
        if not self.command:
            return
        program = self.command[0]
        if shutil.which(program) is None:
            if not Path(program).exists():
                raise UnreachableError(f"cannot start the server: {program!r} not found")
            if Path(program).is_dir() or not os.access(program, os.X_OK):
                raise UnreachableError(f"cannot start the server: {program!r} is not a program that can be run")


@dataclass
class Pending:
    """A request waiting for its answer."""

    done: anyio.Event = field(default_factory=anyio.Event)
    response: dict[str, Any] | None = None
    first_message_at: float | None = None


@dataclass
class Link:
    """One connection: send messages, get answers by id; ``closed`` is set when it ends."""

    number: int
    closed: anyio.Event = field(default_factory=anyio.Event)
    stop: anyio.Event = field(default_factory=anyio.Event)
    error: str | None = None
    received: int = 0  # messages from the server so far
    sent_ids: set[str] = field(default_factory=set)  # the request ids sent on this connection
    _write: Any = None
    _pending: dict[str, Pending] = field(default_factory=dict)

    def expect(self, request_id: Any) -> Pending:
        pending = Pending()
        if self.closed.is_set():
            pending.done.set()
        else:
            self._pending[id_key(request_id)] = pending
        return pending

    def forget(self, request_id: Any) -> None:
        self._pending.pop(id_key(request_id), None)

    async def send(self, message: dict[str, Any], headers: dict[str, str] | None = None, timeout: float = 30.0) -> bool:
        """Send one message; False when the connection is gone, or takes nothing for ``timeout`` seconds
        (a hung HTTP server holds a notification's POST open: the connection is then dropped)."""
        if self.closed.is_set() or self._write is None:
            return False
        parsed = jsonrpc_message_adapter.validate_python(message, by_name=False)
        metadata = ClientMessageMetadata(headers=headers) if headers else None
        with anyio.move_on_after(max(timeout, 0.1)) as waited:
            try:
                await self._write.send(SessionMessage(parsed, metadata=metadata))
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
                self._end("the connection closed")
                return False
        if waited.cancelled_caught:
            self.drop(f"the server took no message for {timeout:g} s (hung)")
            return False
        return True

    def drop(self, error: str) -> None:
        """End the connection from this side: the transport said it is broken."""
        self._end(error)
        self.stop.set()

    def _end(self, error: str) -> None:
        if self.error is None:
            self.error = error
        self.closed.set()
        for pending in self._pending.values():
            pending.done.set()
        self._pending.clear()

    async def _read(self, stream: Any, handler: Handler) -> None:
        async for item in stream:
            if isinstance(item, Exception):
                continue  # a line that is not JSON-RPC: the transport already said so
            message = item.message.model_dump(by_alias=True, mode="json", exclude_unset=True)
            self.received += 1
            if "method" not in message and "id" in message:
                pending = self._pending.pop(id_key(message["id"]), None)
                if pending is not None:
                    pending.response = message
                    pending.done.set()
                    await handler(self, message)
                    continue
            await handler(self, message)


async def run_link(link: Link, target: Target, handler: Handler, ready: anyio.Event, errlog: TextIO) -> None:
    """Own one connection until ``link.stop`` is set or the transport ends; never raises."""
    try:
        if target.url:
            async with (
                httpx2.AsyncClient(timeout=httpx2.Timeout(30.0, read=None)) as client,
                streamable_http_client(target.url, http_client=client) as (read, write),
            ):
                await _serve(link, read, write, handler, ready)
        else:
            params = StdioServerParameters(command=target.command[0], args=list(target.command[1:]))
            async with stdio_client(params, errlog=errlog) as (read, write):
                await _serve(link, read, write, handler, ready)
        link._end("the server closed the connection")
    except Exception as e:  # the transport's failure is the connection's end, whatever it was
        link._end(_describe(e))
    finally:
        link._end("the connection closed")
        ready.set()


async def _serve(link: Link, read: Any, write: Any, handler: Handler, ready: anyio.Event) -> None:
    link._write = write
    async with anyio.create_task_group() as tg:

        async def reader() -> None:
            await link._read(read, handler)
            link._end("the server closed its output (it exited)")
            tg.cancel_scope.cancel()

        tg.start_soon(reader)
        ready.set()
        await link.stop.wait()
        tg.cancel_scope.cancel()


async def negotiated_revision(url: str, seconds: float = 10.0) -> str | None:
    """The revision the server at ``url`` agrees with the mcp SDK's client in mode auto (``server/discover``,
    else an ``initialize`` handshake), or None when it agrees none within ``seconds``; a session it opens
    is closed at once."""
    with anyio.move_on_after(seconds):
        try:
            async with Client(url, mode="auto") as client:
                return client.protocol_version
        except Exception:  # no handshake, however it failed: the caller says what it saw before
            return None
    return None


def _describe(error: BaseException) -> str:
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    text = str(error) or type(error).__name__
    return text.splitlines()[0] if text else type(error).__name__
