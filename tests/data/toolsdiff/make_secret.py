#!/usr/bin/env python
"""Record the mcp SDK 2.x client listing the tools of ``secret_server.py`` through ``mcpobs record``, twice:
``secret-redacted.log.jsonl`` with the recorder's redaction (as always) and ``secret-unredacted.log.jsonl``
with ``--no-redact``, which holds the definitions as the server advertised them, credentials included, as
recorders without redaction (mcp-recorder) and spans that record results (Logfire, OpenLLMetry) do.

Run from the repository root: ``.venv/bin/python tests/data/toolsdiff/make_secret.py`` (a few seconds).
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

HERE = Path(__file__).resolve().parent


async def record(name: str, *options: str) -> None:
    log = HERE / f"secret-{name}.log.jsonl"
    log.unlink(missing_ok=True)
    record = ["-m", "mcpobs.cli", "record", "--out", str(log), *options, "--"]
    server = StdioServerParameters(command=sys.executable, args=[*record, sys.executable, str(HERE / "secret_server.py")])
    with anyio.fail_after(60):
        async with Client(server, mode="legacy") as client:
            await client.list_tools()


async def main() -> None:
    await record("redacted")
    await record("unredacted", "--no-redact")


if __name__ == "__main__":
    anyio.run(main)
