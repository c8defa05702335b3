#!/usr/bin/env python
"""Written by hand (no client here produces it: the mcp SDK 2.3 server's requestState is not
JWT-shaped and always present), after the review of issue 14. A 2026-07-28 HTTP event log (as `mcpobs record --upstream` writes it) of two clients through one
recorder, each calling `book` with a multi round-trip request, interleaved; the server's requestState is
a signed token (JWT-shaped), which the recorder's default redaction replaces with [REDACTED] in both
the answers and the retries (passed here through mcpobs's own Redactor, as the recorder does).

  .venv/bin/python tests/data/mrtr/make_interleaved.py   (from the repository root)

writes interleaved-2026.log.jsonl; interleaved-nostate-2026.log.jsonl, with no requestState at all and
both clients booking room 1 (only the clientInfo of each request tells them apart); and
interleaved-anonymous-2026.log.jsonl, as the latter with retries that name no client (nothing tells
which call each continues).


front-desk: request t=0 ms, input_required t=2, retry t=10, answer (success) t=11: 11 ms, 2 rounds
night-audit: request t=1 ms, input_required t=3, retry t=100, answer (isError) t=101: 100 ms, 2 rounds
"""
from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

from mcpobs.eventlog.redact import Redactor

T0 = 1796222634000000000
red = Redactor()
out: list[dict] = []


def jwt(sub: str) -> str:
    b = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{b({'alg': 'HS256', 'typ': 'JWT'})}.{b({'sub': sub, 'step': 1})}.{'s' * 43}"


def meta(client: str | None) -> dict:
    if client is None:
        return {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    return {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": client, "version": "1"}}


def msg(ms: float, direction: str, exchange: int, message: dict) -> None:
    http = ({"method": "POST", "path": "/mcp", "exchange": exchange, "protocol_version": "2026-07-28"}
            if direction == "c2s" else {"method": "POST", "status": 200, "exchange": exchange})
    body, _ = red.message(message)
    out.append({"t": T0 + int(ms * 1e6), "kind": "message", "dir": direction, "http": http, "message": body})


def ask(state: str) -> dict:
    return {"resultType": "input_required", **({} if NO_STATE else {"requestState": state}),
            "inputRequests": {"q": {"method": "elicitation/create", "params": {"message": "who?", "mode": "form",
                                                                             "requestedSchema": {"type": "object"}}}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "booking-desk", "version": "1"}}}


def done(text: str, is_error: bool) -> dict:
    return {"resultType": "complete", "content": [{"type": "text", "text": text}], "isError": is_error,
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "booking-desk", "version": "1"}}}


def write(name: str, same_room: bool, anonymous: bool) -> None:
    global red
    red = Redactor()
    out.clear()
    sa, sb = jwt("front-desk"), jwt("night-audit")
    call = lambda cid, room, c, extra=None: {"jsonrpc": "2.0", "id": cid, "method": "tools/call",  # noqa: E731
                                             "params": {"name": "book", "arguments": {"room": room}, "_meta": meta(c), **(extra or {})}}
    out.append({"kind": "header", "format": "mcpobs-event-log", "version": 1, "mcpobs_version": "0.1.0.dev0",
                "transport": "http", "server": {"url": "http://127.0.0.1:1/mcp"}, "protocol_version": None,
                "started": "2026-12-02T14:43:54+00:00", "t": T0 - 1000000, "redaction": red.describe()})
    out.append({"t": T0 - 1, "kind": "protocol", "protocol_version": "2026-07-28", "source": "_meta of tools/call"})
    msg(0, "c2s", 1, call(2, "1", "front-desk"))
    msg(1, "c2s", 2, call(2, "1" if same_room else "2", "night-audit"))
    msg(2, "s2c", 1, {"jsonrpc": "2.0", "id": 2, "result": ask(sa)})
    msg(3, "s2c", 2, {"jsonrpc": "2.0", "id": 2, "result": ask(sb)})
    msg(10, "c2s", 3, call(3, "1", None if anonymous else "front-desk", {"inputResponses": {"q": {"action": "accept", "content": {}}}, **({} if NO_STATE else {"requestState": sa})}))
    msg(11, "s2c", 3, {"jsonrpc": "2.0", "id": 3, "result": done("booked", False)})
    msg(100, "c2s", 4, call(3, "1" if same_room else "2", None if anonymous else "night-audit", {"inputResponses": {"q": {"action": "decline"}}, **({} if NO_STATE else {"requestState": sb})}))
    msg(101, "s2c", 4, {"jsonrpc": "2.0", "id": 3, "result": done("declined", True)})
    out.append({"t": T0 + 200_000_000, "kind": "event", "event": "recorder_stopped", "signal": "SIGTERM"})
    with open(Path(__file__).resolve().parent / name, "w") as f:
        for r in out:
            f.write(json.dumps(r) + "\n")


for NO_STATE, name, anonymous in (
    (False, "interleaved-2026.log.jsonl", False),
    (True, "interleaved-nostate-2026.log.jsonl", False),
    (True, "interleaved-anonymous-2026.log.jsonl", True),
):
    write(name, same_room=NO_STATE, anonymous=anonymous)
