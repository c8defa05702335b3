#!/usr/bin/env python
"""Record a concurrent load on a real mcp SDK server through ``mcpobs record`` (Streamable HTTP).

Run from the repository root: ``.venv/bin/python tests/data/concurrency/make_concurrency.py`` (about
10 s). Versions it was run with are in README.md next to this script. It writes:

* ``load.log.jsonl``: the event log ``mcpobs record --upstream`` wrote, a reverse proxy in front of
  ``capacity_server.py`` (two workers, 40 ms a lookup, refusing with "overloaded" past ten lookups);
* ``load.server-spans.jsonl``: the server's own spans (SERVER ``tools/call lookup``, mcp SDK tracer),
  through opentelemetry-exporter-otlp-json-file's FileSpanExporter.

The load comes in waves of 1, 2, 4, 8 and 16 clients at once, each wave after the last has finished:
each client is an mcp SDK ``Client`` of its own (``mode="auto"``, 2026-07-28) that lists the tools,
then calls ``lookup`` four times one after the other. So the calls in flight at the server grow wave
by wave, and with them the time a call waits for a worker, until the server sheds load.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root: tests.helpers
from tests.helpers import free_port, listening, recording  # noqa: E402

HERE = Path(__file__).resolve().parent
SERVER = HERE / "capacity_server.py"
WAVES = (1, 2, 4, 8, 16)
CALLS = 4


def client(url: str) -> None:
    """Send the waves to ``url`` (the recorder); in a process of its own."""
    import anyio
    from mcp import Client
    from mcp_types import Implementation

    async def one(wave: int, number: int) -> None:
        info = Implementation(name=f"load-{wave}-{number}", version="1.0.0")
        async with Client(url, client_info=info) as c:
            await c.list_tools()  # so that each call_tool sends only its own request
            for i in range(CALLS):
                await c.call_tool("lookup", {"key": f"w{wave}-c{number}-{i}"})

    async def main() -> None:
        with anyio.fail_after(120):
            for wave in WAVES:
                async with anyio.create_task_group() as group:
                    for number in range(wave):
                        group.start_soon(one, wave, number)

    anyio.run(main)


def run() -> None:
    log, spans = HERE / "load.log.jsonl", HERE / "load.server-spans.jsonl"
    for path in (log, spans):
        path.unlink(missing_ok=True)
    port = free_port()
    with (
        listening([sys.executable, str(SERVER), str(spans), "--http", str(port)], port),
        recording(log, f"http://127.0.0.1:{port}/mcp") as url,
    ):
        subprocess.run([sys.executable, __file__, "--client", url], check=True, timeout=180)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client(sys.argv[2])
    else:
        run()
