#!/usr/bin/env python
"""Record two correct clients of one HTTP server, each on its own revision: ``mixed-revisions-http.log.jsonl``.

Run from the repository root: ``.venv/bin/python tests/data/lint/make_mixed_http.py`` (mcp 2.3.0).
The server is real (``misbehaving_server.py --http PORT``, the mcp SDK's ``MCPServer`` over Streamable
HTTP, behind ``mcpobs record --upstream``); so are the clients, the mcp SDK's ``Client``: first one in
2026-07-28 (``mode="auto"``: ``server/discover``, no session), then one in 2025-11-25
(``mode="legacy"``: ``initialize`` and an ``Mcp-Session-Id``). Each lists the tools and calls ``echo``.
Nothing in the log breaks the protocol: each client follows its own revision.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.helpers import recording, serving  # noqa: E402

LOG = HERE / "mixed-revisions-http.log.jsonl"


def main() -> None:
    import anyio
    from mcp import Client

    LOG.unlink(missing_ok=True)

    async def clients(url: str) -> None:
        with anyio.fail_after(60):
            for mode in ("auto", "legacy"):
                async with Client(url, mode=mode) as c:
                    await c.list_tools()
                    await c.call_tool("echo", {"text": f"from the {mode} client"})

    with (
        serving([sys.executable, str(HERE / "misbehaving_server.py"), "--http"]) as upstream,
        recording(LOG, upstream) as url,
    ):
        anyio.run(clients, url)


if __name__ == "__main__":
    main()
