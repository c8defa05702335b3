"""Serving a recording over stdio: a JSON-RPC message a line on stdin, the answers a line on stdout.

Requests are answered side by side (a hung or slow call holds up no other); ``notifications/cancelled``
ends the wait of the request it names. stdin is read on a thread of its own that never holds the
process up: a fault that ends the process (``drop``, ``exit``) ends it while the client still writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from typing import Any

import anyio

from mcpobs.eventlog.reader import id_key, loads
from mcpobs.record.stdio import read_lines, write_all
from mcpobs.serve.server import DROPPED, Reply, Served

PARSE_ERROR = -32700


async def serve_stdio(served: Served, stdin: int, stdout: int) -> int:
    """Answer the client on ``stdin``/``stdout`` (file descriptors) until it closes stdin; the exit
    status: 0, or 1 when a fault ended the connection."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[bytes | None] = asyncio.Queue()

    def read() -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits for the rest
            try:
                for line in read_lines(stdin):
                    loop.call_soon_threadsafe(lines.put_nowait, line)
            except OSError:
                pass
            loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, name="mcpobs-serve-stdin", daemon=True).start()
    waiting: dict[str, anyio.CancelScope] = {}
    status = 0

    def send(message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
        served.logged("s2c", data)
        write_all(stdout, data + b"\n")

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
                    group.cancel_scope.cancel()
                    return
                if reply.action != "answer":
                    await anyio.sleep_forever()  # hang (http faults have no meaning on stdio: refused before)
                _carry_out(reply, send, served, stdout)
            finally:
                waiting.pop(key, None)

    async with anyio.create_task_group() as group:
        while (line := await lines.get()) is not None:
            if not line.strip():
                continue
            served.logged("c2s", line)
            try:
                parsed = loads(line)
            except ValueError as e:
                send({"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": f"Parse error: {e}"}})
                continue
            for message in parsed if isinstance(parsed, list) else [parsed]:
                if not isinstance(message, dict) or not isinstance(message.get("method"), str):
                    continue  # an answer to a request of the server's: it sends none yet
                if "id" in message:
                    group.start_soon(answer, message, group)
                elif message["method"] == "notifications/cancelled":
                    params = message.get("params")
                    cancelled = params.get("requestId") if isinstance(params, dict) else None
                    scope = waiting.get(id_key(cancelled))
                    if scope is not None:
                        scope.cancel()
        served.say("the client closed stdin")
        group.cancel_scope.cancel()  # calls still hung or waiting have nobody to answer
    return status


def _carry_out(reply: Reply, send: Any, served: Served, stdout: int) -> None:
    if reply.raw is not None:
        served.logged("s2c", reply.raw)
        write_all(stdout, reply.raw + b"\n")
    for message in reply.messages:
        send(message)
