#!/usr/bin/env python
"""Record redacted.log.jsonl: an mcp SDK ClientSession, through `mcpobs record` (default redaction),
calling redacted_server.py's `lookup` once validly ({"token_id": 7, ...}) and once with a string id.
Run from the repository root: .venv/bin/python tests/data/arguments/make_redacted.py"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


async def main() -> None:
    log = HERE / "redacted.log.jsonl"
    log.unlink(missing_ok=True)
    command = [sys.executable, str(HERE / "redacted_server.py")]
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpobs", "record", "-o", str(log), "--", *command],
        env={"PYTHONPATH": str(ROOT)},
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.list_tools()
        for arguments in ({"token_id": 7, "auth_level": 2, "use_password": True}, {"token_id": "7"}):
            await session.call_tool("lookup", arguments)


if __name__ == "__main__":
    asyncio.run(main())
