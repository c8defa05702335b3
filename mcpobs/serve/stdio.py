"""Serving a recording over stdio: a JSON-RPC message a line on stdin, the answers a line on stdout.

Requests are answered side by side (a hung or slow call holds up no other); ``notifications/cancelled``
ends the wait of the request it names. A line longer than :data:`~mcpobs.eventlog.writer.MESSAGE_LIMIT`
is not held: its bytes are dropped as they come, it is answered with an error (under its id, if its
first bytes tell it), and the lines after it are served as before. The server's recorded requests
(elicitation, sampling, roots) are put to the client under ids of the server's own, and its answers
routed back to the call waiting. stdin is read on a thread of its own that never holds the process
up: a fault that ends the process (``drop``, ``exit``) ends it while the client still writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import anyio

from mcpobs.eventlog.reader import id_key, loads, params_of
from mcpobs.eventlog.writer import MESSAGE_LIMIT, messages_of
from mcpobs.record.stdio import read_pieces, write_all
from mcpobs.serve.server import DROPPED, PARSE_ERROR, Served

HEAD = 1 << 16  # how much of a line too long to read is searched for its request's id
_OPEN = re.compile(rb"\s*\{\s*")
_COLON = re.compile(r"\s*:\s*")
_COMMA = re.compile(r"\s*,\s*")


@dataclass(frozen=True)
class TooLong:
    """A line longer than the limit, not read: the id of the request it starts, if its head tells it."""

    id: str | int | None


def head_request_id(head: bytes) -> str | int | None:
    """The id of the JSON-RPC request whose line begins with ``head`` (cut anywhere), if the members
    before the cut state it and a method (serializers put both before the params, which are what
    grows); else None."""
    opened = _OPEN.match(head)
    if opened is None:
        return None  # not an object (a batch, not JSON): no one id
    text = head[opened.end() : HEAD].decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    members: dict[str, Any] = {}
    at = 0
    while True:
        try:
            key, at = decoder.raw_decode(text, at)
            colon = _COLON.match(text, at)
            if not isinstance(key, str) or colon is None:
                break
            members[key], at = decoder.raw_decode(text, colon.end())
        except ValueError:
            break  # cut here: the members before it are all there is to go on
        comma = _COMMA.match(text, at)
        if comma is None:
            break
        at = comma.end()
    request_id = members.get("id")
    is_request = isinstance(members.get("method"), str) and not isinstance(request_id, bool)
    return request_id if is_request and isinstance(request_id, str | int) else None


async def serve_stdio(served: Served, stdin: int, stdout: int) -> int:
    """Answer the client on ``stdin``/``stdout`` (file descriptors) until it closes stdin; the exit
    status: 0, or 1 when a fault ended the connection."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[bytes | TooLong | None] = asyncio.Queue()

    def read() -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits for the rest
            try:
                for piece in read_pieces(stdin, MESSAGE_LIMIT):
                    if piece.whole:
                        loop.call_soon_threadsafe(lines.put_nowait, piece.data)
                    elif piece.starts:  # the rest of the line is dropped as it comes
                        loop.call_soon_threadsafe(lines.put_nowait, TooLong(head_request_id(piece.data)))
            except OSError:
                pass
            loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, name="mcpobs-serve-stdin", daemon=True).start()
    waiting: dict[str, anyio.CancelScope] = {}
    questions: dict[str, asyncio.Future[dict[str, Any]]] = {}  # the server's requests, until answered
    numbers = itertools.count(1)
    status = 0

    def send(message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        served.logged("s2c", data)
        write_all(stdout, data + b"\n")

    async def ask(request: dict[str, Any]) -> dict[str, Any]:
        """Put a recorded request of the server's to the client, under an id of our own; its answer."""
        number = next(numbers)
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        questions[id_key(number)] = future
        try:
            send({**request, "id": number})
            return await future
        finally:
            questions.pop(id_key(number), None)

    async def answer(message: dict[str, Any], group: anyio.abc.TaskGroup) -> None:
        nonlocal status
        key = id_key(message.get("id"))
        with anyio.CancelScope() as scope:
            waiting[key] = scope
            try:
                reply = await served.reply(message)
                if reply.action in ("drop", "exit"):
                    status = DROPPED
                    served.say(f"{reply.action}: the connection ends here (fault)")
                    served.event("server_exited", code=DROPPED)  # the session ends: its open calls failed
                    group.cancel_scope.cancel()
                    return
                if reply.action != "answer":
                    await anyio.sleep_forever()  # hang (http faults have no meaning on stdio: refused before)
                if reply.raw is not None:
                    served.logged("s2c", reply.raw)
                    write_all(stdout, reply.raw + b"\n")
                last = 0.0  # when the message sent last was due (--timing recorded paces them)
                for index in range(reply.asked_at):
                    last = await served.pace(reply, index, last)
                    send(reply.messages[index])
                for question in reply.asks:
                    error = served.mismatch(question, await ask(question.request), message)
                    if error is not None:
                        send(error)
                        return
                for index in range(reply.asked_at, len(reply.messages)):
                    last = await served.pace(reply, index, last)
                    send(reply.messages[index])
            finally:
                waiting.pop(key, None)

    async with anyio.create_task_group() as group:
        while (line := await lines.get()) is not None:
            if isinstance(line, TooLong):
                send(served.too_long(line.id, MESSAGE_LIMIT))
                continue
            if not line.strip():
                continue
            served.logged("c2s", line)
            try:
                parsed = loads(line)
            except ValueError as e:
                send({"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": f"Parse error: {e}"}})
                continue
            for message in messages_of(parsed):
                if not isinstance(message, dict):
                    continue
                if not isinstance(message.get("method"), str):  # the client's answer to a question
                    future = questions.get(id_key(message.get("id")))
                    if future is not None and not future.done():
                        future.set_result(message)
                    continue
                if "id" in message:
                    group.start_soon(answer, message, group)
                elif message["method"] == "notifications/cancelled":
                    cancelled = params_of(message).get("requestId")
                    scope = waiting.get(id_key(cancelled))
                    if scope is not None:
                        scope.cancel()
        served.say("the client closed stdin")
        served.event("client_closed")
        group.cancel_scope.cancel()  # calls still hung or waiting have nobody to answer
    return status
