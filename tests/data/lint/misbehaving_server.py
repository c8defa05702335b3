"""A real mcp SDK 2.x server with the faults ``mcpobs lint`` looks for, for the generators beside it.

``python misbehaving_server.py [--spans FILE] [--banner] [--http PORT]``: serves over stdio (or
Streamable HTTP on 127.0.0.1:PORT at /mcp); with ``--spans`` it writes its own spans (tracer
``mcp-python-sdk``) to FILE as OTLP JSON lines; with ``--banner`` it greets on stdout before serving,
as servers that print a start-up line do (on stdio that line is not an MCP message).

Tools: ``echo``; ``noisy``, which ``print()``s to stdout in the middle of a call (a debugging print
left in); ``chatty``, which logs through the session (``notifications/message``); ``query``, which refuses
anything but a SELECT with JSON-RPC -32602 (a protocol-level rejection, not an ``isError`` result);
``ask``, which elicits an answer from the user whatever the client declared; ``ask_briefly``, which
gives up on its elicitation after 0.3 s (the server cancels it, a correct exchange); ``crash``, which
exits without an answer.
"""

from __future__ import annotations

import os
import sys

from mcp import MCPError
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import INVALID_PARAMS
from pydantic import BaseModel

srv = MCPServer("misbehaving", version="1.0.0", log_level="WARNING")


@srv.tool()
def echo(text: str) -> str:
    """Say it back."""
    return text


@srv.tool()
def noisy(text: str) -> str:
    """Say it back, after a debugging print to stdout."""
    print(f"DEBUG noisy called with {text!r}", flush=True)
    return text


@srv.tool()
async def chatty(text: str, ctx: Context) -> str:
    """Say it back, logging it first."""
    await ctx.info(f"chatty says {text}")
    return text


@srv.tool()
def query(sql: str) -> str:
    """Run a read-only query: anything but SELECT is refused as invalid params (JSON-RPC -32602)."""
    if not sql.lstrip().upper().startswith("SELECT"):
        raise MCPError(code=INVALID_PARAMS, message="query accepts SELECT statements only")
    return "0 rows"


class Answer(BaseModel):
    answer: str


@srv.tool()
async def ask(question: str, ctx: Context) -> str:
    """Ask the user (an elicitation), whatever the client declared it can do."""
    result = await ctx.elicit(question, Answer)
    return result.data.answer if result.action == "accept" and result.data else result.action


@srv.tool()
async def ask_briefly(question: str, ctx: Context) -> str:
    """Ask the user, but give up after 0.3 s: the server cancels its elicitation (notifications/cancelled)."""
    import anyio

    with anyio.move_on_after(0.3):
        result = await ctx.elicit(question, Answer)
        return result.action
    return "gave up"


@srv.tool()
def crash() -> str:
    """Exit without answering."""
    os._exit(3)


def _trace(path: str) -> None:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "misbehaving-server"}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(path)))
    trace.set_tracer_provider(provider)


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--spans" in args:
        _trace(args[args.index("--spans") + 1])
    if "--banner" in args:
        print("misbehaving server 1.0.0 ready", flush=True)
    if "--http" in args:
        srv.run("streamable-http", host="127.0.0.1", port=int(args[args.index("--http") + 1]))
    else:
        srv.run("stdio")
