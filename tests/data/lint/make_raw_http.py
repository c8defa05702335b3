#!/usr/bin/env python
"""Record 2026-07-28 HTTP requests whose headers do not match their bodies: ``headers-2026.log.jsonl``.

Run from the repository root: ``.venv/bin/python tests/data/lint/make_raw_http.py`` (mcp 2.3.0, httpx2).
The server is real (``misbehaving_server.py --http PORT``, the mcp SDK's ``MCPServer`` over Streamable
HTTP, behind ``mcpobs record --upstream``); the client is this script posting the 2026-07-28 wire
format by hand, each ``tools/call echo`` with the required ``_meta``:

1. every header right; 2. no ``Mcp-Method`` and no ``Mcp-Name``; 3. ``Mcp-Name`` as the Base64
sentinel of ``echo`` (right: the sentinel decodes to the body's name); 4. ``Mcp-Name`` the sentinel of
``noisy`` (wrong once decoded); 5. ``Mcp-Method: tools/list``; 6. ``MCP-Protocol-Version: 2025-11-25``
while ``_meta`` says 2026-07-28; 7. no ``MCP-Protocol-Version``.
The server's answers (-32020 HeaderMismatch where it checks) are in the log.
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import httpx2

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.helpers import recording, serving  # noqa: E402

LOG = HERE / "headers-2026.log.jsonl"
META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "raw-http", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


def sentinel(value: str) -> str:
    return f"=?base64?{base64.b64encode(value.encode()).decode()}?="


def body(key: int) -> dict[str, Any]:
    params = {"name": "echo", "arguments": {"text": f"call {key}"}, "_meta": META}
    return {"jsonrpc": "2.0", "id": key, "method": "tools/call", "params": params}


def headers(**changes: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "mcp-protocol-version": "2026-07-28",
        "mcp-method": "tools/call",
        "mcp-name": "echo",
    }
    base.update({k.replace("_", "-"): v for k, v in changes.items()})
    return {k: v for k, v in base.items() if v is not None}


def main() -> None:
    LOG.unlink(missing_ok=True)
    sent = [
        headers(),
        headers(mcp_method=None, mcp_name=None),
        headers(mcp_name=sentinel("echo")),
        headers(mcp_name=sentinel("noisy")),
        headers(mcp_method="tools/list"),
        headers(mcp_protocol_version="2025-11-25"),
        headers(mcp_protocol_version=None),
    ]
    with (
        serving([sys.executable, str(HERE / "misbehaving_server.py"), "--http"]) as upstream,
        recording(LOG, upstream) as url,
        httpx2.Client(timeout=30) as client,
    ):
        for key, h in enumerate(sent, 1):
            client.post(url, json=body(key), headers=h)


if __name__ == "__main__":
    main()
