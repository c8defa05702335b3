#!/usr/bin/env python
"""Regenerate ``fastmcp.jsonl`` and ``fastmcp.expected.json`` by RUNNING a FastMCP server over stdio
(a subprocess of this script, ``service.name=fastmcp-demo``) called by FastMCP's own client
(``service.name=fastmcp-agent``), each process with the OpenTelemetry SDK writing OTLP JSON lines
through ``FileSpanExporter``; the two files are merged into one (what a Collector would write).

FastMCP traces natively (tracer ``fastmcp``): its SERVER spans carry ``mcp.method.name`` and
``gen_ai.tool.name`` next to its own ``fastmcp.server.name``, ``fastmcp.component.type`` and
``fastmcp.component.key``.

Package versions used (own venv): fastmcp 4.2.3 (with mcp 2.3.0), opentelemetry-sdk 1.45.2,
opentelemetry-exporter-otlp-json-file 0.66b1.
Run:
    python3 -m venv /tmp/venv-fastmcp
    /tmp/venv-fastmcp/bin/pip install fastmcp opentelemetry-sdk opentelemetry-exporter-otlp-json-file
    /tmp/venv-fastmcp/bin/python tests/data/fastmcp/make_fastmcp.py
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

HERE = Path(__file__).resolve().parent
OUT = HERE / "fastmcp.jsonl"
EXPECTED = HERE / "fastmcp.expected.json"


def _provider(service: str, path: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(path)))
    trace.set_tracer_provider(provider)
    return provider


def serve(path: str) -> None:
    provider = _provider("fastmcp-demo", path)
    from fastmcp import FastMCP
    from fastmcp.exceptions import ToolError

    mcp = FastMCP("fastmcp-demo")

    @mcp.tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @mcp.tool
    def divide(a: float, b: float) -> float:
        """Divide a by b."""
        if b == 0:
            raise ToolError("division by zero")
        return a / b

    @mcp.resource("notes://{name}")
    def note(name: str) -> str:
        """A note."""
        return f"note {name}"

    try:
        mcp.run("stdio", show_banner=False)
    finally:
        provider.shutdown()


async def agent(tmp: str) -> list[dict[str, object]]:
    from fastmcp import Client
    from fastmcp.client.transports import PythonStdioTransport

    calls: list[dict[str, object]] = []
    transport = PythonStdioTransport(str(Path(__file__).resolve()), args=["--serve", f"{tmp}/server.jsonl"])
    async with Client(transport) as client:
        await client.list_tools()
        calls.append({"method": "tools/list", "outcome": None})
        for name, arguments in (("add", {"a": 1, "b": 2}), ("add", {"a": 3, "b": 4}), ("divide", {"a": 1, "b": 0})):
            result = await client.call_tool(name, arguments, raise_on_error=False)
            calls.append({"method": "tools/call", "tool": name, "outcome": "tool_error" if result.is_error else None})
        await client.read_resource("notes://today")
        calls.append({"method": "resources/read", "outcome": None})
    return calls


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        provider = _provider("fastmcp-agent", f"{tmp}/agent.jsonl")
        with trace.get_tracer("fastmcp-agent").start_as_current_span("invoke_agent fastmcp-agent"):
            calls = asyncio.run(agent(tmp))
        provider.shutdown()
        lines = []
        for part in ("agent.jsonl", "server.jsonl"):
            lines += [line for line in Path(tmp, part).read_text().splitlines() if line.strip()]
        OUT.write_text("\n".join(lines) + "\n")
    EXPECTED.write_text(json.dumps({"client_calls": calls}, indent=2) + "\n")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2])  # never falls through to main(): that would start servers recursively
    else:
        main()
