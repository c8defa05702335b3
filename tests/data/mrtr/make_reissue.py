#!/usr/bin/env python
"""Written by hand after the review of issue 14 (no client here re-issues a request; the real
recording of a re-issue is broken-stream-2026.log.jsonl). A 2026-07-28 HTTP event log (the shape `mcpobs record --upstream` writes, as in
tests/data/mrtr/broken-stream-2026.log.jsonl): client `front-desk` calls echo("hi"); the server's side
breaks its stream (the server died); front-desk gives up. An hour later another client, `night-audit`,
calls echo("hi") and gets its answer.

  .venv/bin/python tests/data/mrtr/make_reissue.py   (from the repository root)

writes reissue-other-client-2026.log.jsonl (that), reissue-late-2026.log.jsonl (front-desk itself
sends the same echo an hour later) and reissue-soon-other-client-2026.log.jsonl (night-audit sends
it 5 ms after the break): none of them a re-issue.

Expected (docs/dialects.md: a broken stream is a transport failure "unless the client then sends the
same request ... under a new id"): front-desk 1 call, 1 transport error; night-audit 1 call, 0 errors,
latency ~5 ms.
"""
from __future__ import annotations

import json
from pathlib import Path

T0 = 1796222634000000000
H = 3600 * 1000  # ms


def meta(client: str) -> dict:
    return {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": client, "version": "1"}}


def rec(ms: float, **kw: object) -> dict:
    return {"t": T0 + int(ms * 1e6), **kw}


def req(cid: int, client: str) -> dict:
    return {"jsonrpc": "2.0", "id": cid, "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "hi"}, "_meta": meta(client)}}


c2s = lambda ex: {"method": "POST", "path": "/mcp", "exchange": ex, "protocol_version": "2026-07-28"}  # noqa: E731
def write(name: str, later: float, second: str) -> None:
    out = [
        {"kind": "header", "format": "mcpobs-event-log", "version": 1, "mcpobs_version": "0.1.0.dev0", "transport": "http",
         "server": {"url": "http://127.0.0.1:1/mcp"}, "protocol_version": None, "started": "2026-12-02T14:43:54+00:00",
         "t": T0 - 1000000, "redaction": {"enabled": False, "rules": []}},
        rec(-0.5, kind="protocol", protocol_version="2026-07-28", source="_meta of tools/call"),
        rec(0, kind="message", dir="c2s", http=c2s(1), message=req(2, "front-desk")),
        rec(3, kind="event", event="stream_closed", by="server", exchange=1, error="peer closed connection"),
        rec(later, kind="message", dir="c2s", http=c2s(2), message=req(7, second)),
        rec(later + 5, kind="message", dir="s2c", http={"method": "POST", "status": 200, "exchange": 2},
            message={"jsonrpc": "2.0", "id": 7, "result": {"resultType": "complete", "content": [{"type": "text", "text": "hi"}],
                                                            "isError": False}}),
        rec(later + 100, kind="event", event="recorder_stopped", signal="SIGTERM"),
    ]
    with open(Path(__file__).resolve().parent / name, "w") as f:
        for r in out:
            f.write(json.dumps(r) + "\n")


write("reissue-other-client-2026.log.jsonl", H, "night-audit")
write("reissue-late-2026.log.jsonl", H, "front-desk")
write("reissue-soon-other-client-2026.log.jsonl", 8, "night-audit")
