#!/usr/bin/env python
"""One traced mcp SDK client calling two real servers at once, the way the SDK's client spans record it.

Run from the repository root: ``.venv/bin/python tests/data/concurrency/make_two_servers.py`` (a few
seconds). Versions it was run with are in README.md next to this script. It writes
``two-servers.client-spans.jsonl``: the client's own spans (CLIENT ``MCP send …``, mcp SDK tracer,
service ``agent``) through opentelemetry-exporter-otlp-json-file's FileSpanExporter.

Two ``capacity_server.py`` processes (both ``capacity-server``) serve on two ports. The client, an mcp
SDK ``Client`` (``mode="auto"``) of each, calls ``lookup`` on the first, then on the second, then on
both at once. The SDK's client spans name neither the server's address nor its port.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root: tests.helpers
from tests.helpers import free_port, listening  # noqa: E402

HERE = Path(__file__).resolve().parent
SERVER = HERE / "capacity_server.py"


def client(first: str, second: str, spans: str) -> None:
    """Call both servers, traced; in a process of its own."""
    import anyio
    from mcp import Client
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "agent"}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(spans)))
    trace.set_tracer_provider(provider)

    async def main() -> None:
        with anyio.fail_after(60):
            async with Client(first) as a, Client(second) as b:
                await a.call_tool("lookup", {"key": "a-alone"})
                await b.call_tool("lookup", {"key": "b-alone"})
                async with anyio.create_task_group() as group:
                    group.start_soon(a.call_tool, "lookup", {"key": "a-together"})
                    group.start_soon(b.call_tool, "lookup", {"key": "b-together"})

    anyio.run(main)
    provider.shutdown()


def run() -> None:
    spans = HERE / "two-servers.client-spans.jsonl"
    spans.unlink(missing_ok=True)
    ports = free_port(), free_port()
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as servers:
        for port in ports:
            spill = Path(scratch) / f"{port}.jsonl"
            servers.enter_context(listening([sys.executable, str(SERVER), str(spill), "--http", str(port)], port))
        urls = [f"http://127.0.0.1:{port}/mcp" for port in ports]
        subprocess.run([sys.executable, __file__, "--client", *urls, str(spans)], check=True, timeout=120)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client(*sys.argv[2:5])
    else:
        run()
