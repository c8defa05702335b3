#!/usr/bin/env python
"""Record a server cancelling its own request: ``server-cancels-elicitation.log.jsonl``.

Run from the repository root: ``.venv/bin/python tests/data/lint/make_server_cancel.py`` (mcp 2.3.0).
The mcp SDK ``Client`` (2025-11-25, declaring elicitation) calls ``ask_briefly`` of
``misbehaving_server.py`` over stdio through ``mcpobs record``; the client takes 3 s to answer the
elicitation, the server gives up after 0.3 s and sends ``notifications/cancelled`` for it, so the client
never answers. A correct exchange: nothing in it breaks the protocol.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LOG = HERE / "server-cancels-elicitation.log.jsonl"
SERVER = HERE / "misbehaving_server.py"


def main() -> None:
    import anyio
    import mcp_types as types
    from mcp import Client, StdioServerParameters

    LOG.unlink(missing_ok=True)
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpobs.cli", "record", "--out", str(LOG), "--", sys.executable, str(SERVER)],
    )

    async def slow(context: Any, params: Any) -> types.ElicitResult:
        await anyio.sleep(3)
        return types.ElicitResult(action="accept", content={"answer": "green"})

    async def client() -> None:
        with anyio.fail_after(60):
            async with Client(server, mode="legacy", elicitation_callback=slow) as c:
                result = await c.call_tool("ask_briefly", {"question": "Favourite colour?"})
                print(result.content, file=sys.stderr)
                await c.list_tools()  # after the cancellation: the session goes on

    anyio.run(client)


if __name__ == "__main__":
    main()
