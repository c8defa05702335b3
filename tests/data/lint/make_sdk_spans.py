#!/usr/bin/env python
"""The mcp SDK's own spans of two stdio sessions, client and server, as OTLP JSON lines.

Run from the repository root: ``.venv/bin/python tests/data/lint/make_sdk_spans.py`` (mcp 2.3.0,
opentelemetry-sdk 1.45, opentelemetry-exporter-otlp-json-file). The server is
``misbehaving_server.py --spans FILE`` (the mcp SDK's ``MCPServer``, tracer ``mcp-python-sdk``); the
client is the mcp SDK's ``Client`` (``mode="legacy"``) in this process, traced by the OpenTelemetry
SDK with ``FileSpanExporter``. Writes:

``sdk-invalid-params.client-spans.jsonl`` / ``.server-spans.jsonl``: ``echo``, then ``query`` with a
  DELETE, which the server refuses with JSON-RPC -32602 (its span records
  ``error.type`` -32602 and status ERROR: the caller's error, which the conventions since
  semantic-conventions-genai #404 leave out of a SERVER span's status).
``sdk-no-propagation.client-spans.jsonl`` / ``.server-spans.jsonl``: the same ``echo`` with the
  client's propagators turned off (an empty composite propagator, as ``OTEL_PROPAGATORS=none`` gives):
  the client injects no ``traceparent`` into ``params._meta``, so the server's span starts a trace of
  its own instead of being the client span's child.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from mcp import Client, MCPError, StdioServerParameters
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.propagate import set_global_textmap
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

HERE = Path(__file__).resolve().parent


class Spans:
    """The client's spans go to the current scenario's file."""

    def __init__(self) -> None:
        self.exporter: FileSpanExporter | None = None
        provider = TracerProvider(resource=Resource.create({"service.name": "lint-agent"}))
        provider.add_span_processor(SimpleSpanProcessor(self))  # type: ignore[arg-type]
        trace.set_tracer_provider(provider)

    def export(self, spans: object) -> object:
        assert self.exporter is not None
        return self.exporter.export(spans)  # type: ignore[arg-type]

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


async def session(spans: Spans, name: str, *, invalid: bool) -> None:
    client_file, server_file = HERE / f"{name}.client-spans.jsonl", HERE / f"{name}.server-spans.jsonl"
    client_file.unlink(missing_ok=True)
    server_file.unlink(missing_ok=True)
    spans.exporter = FileSpanExporter(str(client_file))
    server = StdioServerParameters(
        command=sys.executable, args=[str(HERE / "misbehaving_server.py"), "--spans", str(server_file)]
    )
    with anyio.fail_after(60):
        async with Client(server, mode="legacy") as client:
            await client.call_tool("echo", {"text": "hello"})
            if invalid:
                try:
                    await client.call_tool("query", {"sql": "DELETE FROM users"})
                except MCPError as e:
                    print(f"{name}: add refused: {e}", file=sys.stderr)


async def main() -> None:
    spans = Spans()
    await session(spans, "sdk-invalid-params", invalid=True)
    set_global_textmap(CompositePropagator([]))
    await session(spans, "sdk-no-propagation", invalid=False)


if __name__ == "__main__":
    anyio.run(main)
