"""An mcp client traced with OpenTelemetry, calling the toolbox server through ``mcpobs record``.

``python tests/servers/traced_client.py LOG SPANS``: the client's spans go to SPANS (OTLP JSON lines),
the recorder's event log to LOG. The mcp SDK puts each request's trace context in ``_meta.traceparent``,
which is how a log's calls meet the trace's spans. Run in a process of its own: it sets the global
tracer provider.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

TOOLBOX = Path(__file__).resolve().parent / "toolbox.py"


async def main(log: str) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpobs.cli", "record", "--out", log, "--", sys.executable, str(TOOLBOX)],
    )
    with anyio.fail_after(30):
        async with Client(params, mode="legacy") as client:
            await client.call_tool("echo", {"text": "one"})
            await client.call_tool("add", {"a": 2, "b": 3})
            await client.call_tool("fail", {"reason": "traced"})


if __name__ == "__main__":
    provider = TracerProvider(resource=Resource.create({"service.name": "traced-agent"}))
    exporter = FileSpanExporter(sys.argv[2])
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    anyio.run(main, sys.argv[1])
    provider.shutdown()
