#!/usr/bin/env python
"""Record a stdio server that writes to stdout what is not MCP: ``stray-stdout.log.jsonl``.

Run from the repository root: ``.venv/bin/python tests/data/lint/make_stray_stdout.py`` (mcp 2.3.0).
The client is the mcp SDK's ``Client`` (``mode="legacy"``, 2025-11-25); the server is
``misbehaving_server.py --banner``, started through ``mcpobs record``: it prints a banner to stdout
before it serves (logged as ``invalid``, ``dir: s2c``; the SDK client logs a validation error and goes
on), and its ``noisy`` tool prints a debugging line in the middle of a call, which the mcp SDK's stdio
server sends to stderr (logged as ``stderr``: no fault, for contrast).
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

HERE = Path(__file__).resolve().parent
LOG = HERE / "stray-stdout.log.jsonl"


async def session() -> None:
    server = [sys.executable, str(HERE / "misbehaving_server.py"), "--banner"]
    record = ["-m", "mcpobs.cli", "record", "--out", str(LOG), "--", *server]
    with anyio.fail_after(60):
        async with Client(StdioServerParameters(command=sys.executable, args=record), mode="legacy") as client:
            await client.call_tool("echo", {"text": "before"})
            await client.call_tool("noisy", {"text": "during"})
            await client.call_tool("echo", {"text": "after"})


if __name__ == "__main__":
    LOG.unlink(missing_ok=True)
    anyio.run(session)
    print(f"wrote {LOG}", file=sys.stderr)
