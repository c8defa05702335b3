"""A real mcp SDK 2.x server whose tool asks the user a question (an elicitation), traced with OpenTelemetry.

``python elicit_server.py SPANS [--http PORT]``: serves over stdio (or Streamable HTTP on 127.0.0.1:PORT
at /mcp) and writes its own spans (tracer ``mcp-python-sdk``) to SPANS as OTLP JSON lines.

``book`` fills its ``guest`` parameter by a resolver that returns ``Elicit(...)``: under 2026-07-28 the
SDK answers the first ``tools/call`` with ``resultType: "input_required"`` and resumes when the client
re-sends the call with ``inputResponses`` and ``requestState`` (multi round-trip requests); under a
2025 revision it sends ``elicitation/create`` to the client in the middle of the one call.
``echo`` is a plain call for contrast; ``slow`` reports progress, then sleeps (a stream to break).
"""

from __future__ import annotations

import sys
from typing import Annotated

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from pydantic import BaseModel


class Guest(BaseModel):
    name: str


def ask_guest(room: str) -> Elicit[Guest]:
    return Elicit(f"Who is the booking of room {room} for?", Guest)


srv = MCPServer("booking-desk", version="1.0.0", log_level="WARNING")


@srv.tool()
def book(room: str, guest: Annotated[Guest, Resolve(ask_guest)]) -> str:
    """Book a room; asks who for."""
    return f"booked {room} for {guest.name}"


@srv.tool()
def echo(text: str) -> str:
    """Say it back."""
    return text


@srv.tool()
async def slow(seconds: float, ctx: Context) -> str:
    """Report progress, then take ``seconds`` to answer."""
    await ctx.report_progress(0, seconds, "started")
    await anyio.sleep(seconds)
    return f"slept {seconds}"


if __name__ == "__main__":
    provider = TracerProvider(resource=Resource.create({"service.name": "booking-desk"}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(sys.argv[1])))
    trace.set_tracer_provider(provider)
    try:
        if "--http" in sys.argv:
            port = int(sys.argv[sys.argv.index("--http") + 1])
            print("booking-desk ready", file=sys.stderr, flush=True)
            srv.run("streamable-http", host="127.0.0.1", port=port)
        else:
            print("booking-desk ready", file=sys.stderr, flush=True)
            srv.run("stdio")
    finally:
        provider.shutdown()
