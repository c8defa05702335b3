#!/usr/bin/env python
"""Record a 2026-07-28 call whose HTTP stream broke, re-issued under a new id, through ``mcpobs record``.

Run from the repository root: ``.venv/bin/python tests/data/mrtr/make_broken_stream.py`` (mcp 2.3.0,
httpx2 2.16.2). Writes ``broken-stream-2026.log.jsonl``.

The server is real (``elicit_server.py``, the mcp SDK's ``MCPServer`` over Streamable HTTP, behind
``mcpobs record --upstream``); the client is this script writing the 2026-07-28 wire format by hand,
since the mcp SDK 2.3 client does not re-issue a request whose stream broke. It calls ``echo``, then
``slow`` (3 s, with a progress token, so the answer comes as an SSE stream); once the progress event
has come it kills the server (SIGKILL), so the recorder sees the server's stream break; it starts the
server again on the same port and sends the same ``tools/call`` again under a new id, which is
answered. Then ``slow`` again, whose stream the client itself closes after the progress event (in
2026-07-28, closing the stream is the cancellation), and a last ``echo``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root: tests.helpers
from tests.helpers import free_port, recording, stop, wait_for_port  # noqa: E402

HERE = Path(__file__).resolve().parent
SERVER = HERE / "elicit_server.py"
LOG = HERE / "broken-stream-2026.log.jsonl"
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "stream-breaker", "version": "1.0.0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def start(port: int) -> subprocess.Popen[bytes]:
    spans = Path("/dev/null")
    server = subprocess.Popen([sys.executable, str(SERVER), str(spans), "--http", str(port)], stderr=subprocess.DEVNULL)
    wait_for_port(port)
    return server


def body(key: int, name: str, arguments: dict[str, Any], progress: bool = False) -> dict[str, Any]:
    meta = {**META, "progressToken": key} if progress else META
    params = {"name": name, "arguments": arguments, "_meta": meta}
    return {"jsonrpc": "2.0", "id": key, "method": "tools/call", "params": params}


def headers(name: str) -> dict[str, str]:
    return {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": name,
    }


def main() -> None:
    LOG.unlink(missing_ok=True)
    port = free_port()
    server = start(port)
    try:
        with recording(LOG, f"http://127.0.0.1:{port}/mcp") as url, httpx2.Client(timeout=30) as client:
            print(client.post(url, json=body(1, "echo", {"text": "before"}), headers=headers("echo")).text)
            with client.stream("POST", url, json=body(2, "slow", {"seconds": 3}, True), headers=headers("slow")) as r:
                lines = r.iter_lines()
                while "notifications/progress" not in next(lines):
                    pass
                server.kill()  # the server's stream breaks in the middle of the call
                server.wait(timeout=10)
                try:
                    for _ in lines:
                        pass
                except httpx2.HTTPError as e:
                    print("stream broke:", type(e).__name__)
            server = start(port)
            again = client.post(url, json=body(3, "slow", {"seconds": 3}, True), headers=headers("slow"))
            print("re-issued:", [line for line in again.text.splitlines() if '"result"' in line])
            with client.stream("POST", url, json=body(4, "slow", {"seconds": 3}, True), headers=headers("slow")) as r:
                lines = r.iter_lines()
                while "notifications/progress" not in next(lines):
                    pass
            # the stream closed by the client: its cancellation
            time.sleep(0.5)
            print(client.post(url, json=body(5, "echo", {"text": "after"}), headers=headers("echo")).text)
    finally:
        stop(server)
    json.loads(LOG.read_text().splitlines()[0])


if __name__ == "__main__":
    main()
