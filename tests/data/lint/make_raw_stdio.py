#!/usr/bin/env python
"""Record sessions that break the protocol, through ``mcpobs record``, with a hand-written client.

Run from the repository root: ``.venv/bin/python tests/data/lint/make_raw_stdio.py`` (mcp 2.3.0).
The server is real (``misbehaving_server.py``, the mcp SDK's ``MCPServer`` over stdio); the client is
this script (``raw_stdio.py``) writing what no SDK client sends. Writes:

``protocol-2025.log.jsonl`` (2025-11-25, after a proper ``initialize``; the server declares tools,
prompts and resources without ``subscribe``, no logging, no completions):
  a line that is not JSON; a message with ``"jsonrpc": "1.0"``; ``notifications/initialized`` with
  an id; two ``tools/call`` sent together under the same id 7; a response (id 99) to no request;
  ``resources/subscribe``, ``logging/setLevel`` and ``completion/complete``, which need capabilities
  the server did not declare; last ``tools/call crash``, which takes the server down unanswered.
``cancelled-initialize.log.jsonl``: ``initialize`` followed at once by ``notifications/cancelled``
  naming it.
``elicit-undeclared-2025.log.jsonl``: ``initialize`` declaring no client capabilities, then
  ``tools/call ask``, in which the server sends ``elicitation/create`` all the same (the client declines).
``protocol-2026.log.jsonl`` (2026-07-28, no ``initialize``): ``server/discover`` and a ``tools/call``
  with the required ``_meta``; ``ping`` and ``logging/setLevel``, which 2026-07-28 removed; a
  ``tools/call`` without ``io.modelcontextprotocol/clientCapabilities``; ``chatty`` with
  ``io.modelcontextprotocol/logLevel``, which the server answers with ``notifications/message``
  (logging, deprecated in 2026-07-28).
What the server answered is in each log; the script prints nothing else.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from raw_stdio import HERE, RawStdio

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def call(key: Any, name: str, arguments: dict[str, Any], meta: dict[str, Any] | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if meta is not None:
        params["_meta"] = meta
    return {"jsonrpc": "2.0", "id": key, "method": "tools/call", "params": params}


def protocol_2025() -> None:
    s = RawStdio(HERE / "protocol-2025.log.jsonl")
    s.send(INIT)
    s.answer(1)
    s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    s.send("this is not JSON")
    s.send({"jsonrpc": "1.0", "id": 2, "method": "tools/list"})
    s.send({"jsonrpc": "2.0", "id": 3, "method": "notifications/initialized"})
    s.send(call(7, "echo", {"text": "first"}), call(7, "echo", {"text": "second"}))
    s.answer(3)  # the server answers the notification with an id as a request (-32601)
    s.answer(7)
    s.answer(7)
    s.send({"jsonrpc": "2.0", "id": 99, "result": {}})
    s.send({"jsonrpc": "2.0", "id": 8, "method": "resources/subscribe", "params": {"uri": "demo://x"}})
    s.answer(8)
    s.send({"jsonrpc": "2.0", "id": 9, "method": "logging/setLevel", "params": {"level": "info"}})
    s.answer(9)
    ref = {"type": "ref/prompt", "name": "p"}
    s.send(
        {
            "jsonrpc": "2.0",
            "id": 10,
            "method": "completion/complete",
            "params": {"ref": ref, "argument": {"name": "a", "value": ""}},
        }
    )
    s.answer(10)
    s.send(call(11, "crash", {}))
    s.proc.wait(timeout=30)


def cancelled_initialize() -> None:
    s = RawStdio(HERE / "cancelled-initialize.log.jsonl")
    s.send(
        INIT, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1, "reason": "gave up"}}
    )
    s.answer(1)
    s.close()


def elicit_undeclared() -> None:
    s = RawStdio(HERE / "elicit-undeclared-2025.log.jsonl")
    s.send(INIT)
    s.answer(1)
    s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    s.send(call(2, "ask", {"question": "Favourite colour?"}))
    request = s.request("elicitation/create")
    s.send({"jsonrpc": "2.0", "id": request["id"], "result": {"action": "decline"}})
    s.answer(2)
    s.close()


def protocol_2026() -> None:
    s = RawStdio(HERE / "protocol-2026.log.jsonl")
    s.send({"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": META}})
    s.answer(1)
    s.send(call(2, "echo", {"text": "hello"}, META))
    s.answer(2)
    s.send({"jsonrpc": "2.0", "id": 3, "method": "ping", "params": {"_meta": META}})
    s.answer(3)
    s.send({"jsonrpc": "2.0", "id": 4, "method": "logging/setLevel", "params": {"level": "info", "_meta": META}})
    s.answer(4)
    no_capabilities = {k: v for k, v in META.items() if k != "io.modelcontextprotocol/clientCapabilities"}
    s.send(call(5, "echo", {"text": "who am I"}, no_capabilities))
    s.answer(5)
    s.send(call(6, "chatty", {"text": "logged"}, {**META, "io.modelcontextprotocol/logLevel": "info"}))
    s.answer(6)
    s.close()


if __name__ == "__main__":
    protocol_2025()
    cancelled_initialize()
    elicit_undeclared()
    protocol_2026()
