#!/usr/bin/env python
"""Record HTTP sessions with real OAuth challenges from an mcp SDK server, through ``mcpobs record``.

Run from the repository root: ``.venv/bin/python tests/data/auth/make_auth.py`` (a few seconds).
Versions it was run with are in README.md next to this script. It writes ``sessions.log.jsonl``: the
event log ``mcpobs record --upstream`` wrote as a reverse proxy in front of ``auth_server.py`` (an
OAuth protected resource requiring scope ``lookup``).

Each client is an mcp SDK ``Client`` (``mode="legacy"``: 2025-11-25 sessions) whose HTTP client has an
``httpx2.Auth`` flow, as the SDK's own OAuth provider has: a request answered 401 is sent again with
the token the client then obtains (here handed to it, standing for an authorization server's), once.

* ``ada``: no token at first; challenged on ``initialize``, authorised with ``ada-token``, calls ``lookup``.
* ``bob``: challenged, then sends ``bob-token``, which lacks the scope: refused (403), gives up.
* ``eve``: challenged and has no token to send: never authorised.
* ``cat``: sends ``ada-token`` from the first request: never challenged.
* ``dan``: starts with ``dan-1``, which expires in the middle of the session: challenged on a
  ``tools/call``, authorised again with ``dan-2``.

With ``--modern`` it writes ``modern.log.jsonl`` instead, the same way, with ``mode="auto"`` clients (2026-07-28: no
sessions, so the log is one trace): ``xan``, challenged with no token to send, never authorised; then
``yul``, with ``ada-token`` from the first request, never challenged. With ``--stateless``,
``stateless.log.jsonl``: the same two clients in ``mode="legacy"`` against ``auth_server.py
--stateless`` (2025-11-25 without sessions: after its ``initialize`` a request names no client).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root: tests.helpers
from tests.helpers import free_port, listening, recording  # noqa: E402

HERE = Path(__file__).resolve().parent
SERVER = HERE / "auth_server.py"
# client -> (the token it starts with, the token it obtains when challenged)
CLIENTS: dict[str, tuple[str | None, str | None]] = {
    "ada": (None, "ada-token"),
    "bob": (None, "bob-token"),
    "eve": (None, None),
    "cat": ("ada-token", None),
    "dan": ("dan-1", "dan-2"),
}
MODERN_CLIENTS: dict[str, tuple[str | None, str | None]] = {"xan": (None, None), "yul": ("ada-token", None)}


def client(url: str, variant: str) -> None:
    """Run each client against ``url`` (the recorder), one after the other; in a process of its own."""
    import anyio
    import httpx2
    from mcp import Client, MCPError
    from mcp.client.streamable_http import streamable_http_client
    from mcp_types import Implementation

    class Bearer(httpx2.Auth):
        def __init__(self, token: str | None, obtain: str | None) -> None:
            self.token, self.obtain = token, obtain

        def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
            if self.token:
                request.headers["Authorization"] = f"Bearer {self.token}"
            response = yield request
            if response.status_code == 401 and self.obtain:
                self.token, self.obtain = self.obtain, None
                request.headers["Authorization"] = f"Bearer {self.token}"
                yield request

    clients = CLIENTS if variant == "sessions" else MODERN_CLIENTS

    async def one(name: str) -> None:
        token, obtain = clients[name]
        async with httpx2.AsyncClient(auth=Bearer(token, obtain), timeout=30) as http:
            transport = streamable_http_client(url, http_client=http)
            info = Implementation(name=name, version="1.0.0")
            try:
                async with Client(transport, mode="auto" if variant == "modern" else "legacy", client_info=info) as c:  # type: ignore[arg-type]
                    for i in range(4):
                        await c.call_tool("lookup", {"key": f"{name}-{i}"})
            except (MCPError, httpx2.HTTPStatusError, Exception) as e:  # noqa: BLE001
                print(f"{name}: {type(e).__name__}: {e}", file=sys.stderr)

    async def main() -> None:
        with anyio.fail_after(60):
            for name in clients:
                await one(name)

    anyio.run(main)


def run(variant: str) -> None:
    log = HERE / f"{variant}.log.jsonl"
    log.unlink(missing_ok=True)
    port = free_port()
    stateless = ["--stateless"] if variant == "stateless" else []
    with (
        listening([sys.executable, str(SERVER), "--http", str(port), *stateless], port),
        recording(log, f"http://127.0.0.1:{port}/mcp") as url,
    ):
        subprocess.run([sys.executable, __file__, "--client", url, variant], check=True, timeout=120)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client(sys.argv[2], sys.argv[3])
    else:
        run(sys.argv[1].removeprefix("--") if sys.argv[1:] else "sessions")
