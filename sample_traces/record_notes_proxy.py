#!/usr/bin/env python
"""Regenerate the bundled sample of several sessions, ``sample_traces/notes_proxy.jsonl``.

``notes_server.py`` serves Streamable HTTP; ``mcpobs record --upstream`` is a recording proxy in
front of it, left running while four real ``mcp.Client`` sessions (protocol 2025-11-25) go through
it: ``app-a`` then ``app-b``, one after another, then ``app-c`` and ``app-d`` side by side. Each keeps
a note of its own, reads it back and says hello; the log is what the proxy wrote, every session in it.

Run from the project root: ``python sample_traces/record_notes_proxy.py`` (about 5 s). Replay it with
``python sample_traces/notes_server.py --http 8000`` running and
``mcpobs replay sample_traces/notes_proxy.jsonl --url http://127.0.0.1:8000/mcp``.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
from mcp import Client
from mcp_types import Implementation

HERE = Path(__file__).resolve().parent
LOG = HERE / "notes_proxy.jsonl"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {port}")
        time.sleep(0.05)


async def _client(url: str, name: str) -> None:
    async with Client(url, mode="legacy", client_info=Implementation(name=name, version="1.0")) as client:
        await client.call_tool("put", {"key": name, "value": f"kept by {name}"})
        await client.call_tool("get", {"key": name})
        await client.call_tool("echo", {"text": f"hello from {name}"})


async def sessions(url: str) -> None:
    with anyio.fail_after(60):
        await _client(url, "app-a")
        await _client(url, "app-b")
        async with anyio.create_task_group() as together:
            together.start_soon(_client, url, "app-c")
            together.start_soon(_client, url, "app-d")


def main() -> None:
    LOG.unlink(missing_ok=True)
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(HERE / "notes_server.py"), "--http", str(port)])
    try:
        _wait_for(port)
        record = [sys.executable, "-m", "mcpobs.cli", "record", "--out", str(LOG)]
        record += ["--upstream", f"http://127.0.0.1:{port}/mcp", "--listen", "127.0.0.1:0"]
        proxy = subprocess.Popen(record, stderr=subprocess.PIPE, text=True)
        assert proxy.stderr is not None
        said = proxy.stderr.readline()
        match = re.search(r"point the MCP client at (\S+)", said)
        if match is None:
            raise SystemExit(f"the recorder did not start: {said}")
        anyio.run(sessions, match.group(1))
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(timeout=15)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"wrote {LOG}", file=sys.stderr)


if __name__ == "__main__":
    main()
