"""A real mcp SDK 2.x server of limited capacity, traced with OpenTelemetry: the server under load.

``python capacity_server.py SPANS --http PORT`` serves Streamable HTTP on 127.0.0.1:PORT at /mcp and
writes its own spans (tracer ``mcp-python-sdk``) to SPANS as OTLP JSON lines.

``lookup`` does its work on one of two workers (an ``anyio.CapacityLimiter``), 40 ms each: more
calls at once wait for a worker, so latency grows with the calls in flight. With more than
``OVERLOAD`` lookups already in the server it refuses at once with a tool error ("overloaded"),
as a server shedding load does.
"""

from __future__ import annotations

import sys

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

WORKERS = 2
WORK_SECONDS = 0.04
OVERLOAD = 10

srv = MCPServer("capacity-server", version="1.0.0", log_level="WARNING")
workers = anyio.CapacityLimiter(WORKERS)
inside = 0


@srv.tool()
async def lookup(key: str) -> str:
    """Look a key up on one of the server's two workers."""
    global inside
    if inside >= OVERLOAD:
        raise ToolError(f"overloaded: {inside} lookups in progress")
    inside += 1
    try:
        async with workers:
            await anyio.sleep(WORK_SECONDS)
        return f"value of {key}"
    finally:
        inside -= 1


if __name__ == "__main__":
    provider = TracerProvider(resource=Resource.create({"service.name": "capacity-server"}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(sys.argv[1])))
    trace.set_tracer_provider(provider)
    try:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        print("capacity-server ready", file=sys.stderr, flush=True)
        srv.run("streamable-http", host="127.0.0.1", port=port)
    finally:
        provider.shutdown()
