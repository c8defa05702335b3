#!/usr/bin/env python
"""Regenerate ``crash.client-spans.jsonl``, ``crash.server-spans.jsonl``, ``crash.log.jsonl`` and
``expected.json``: an MCP server that dies in the middle of a tool call, traced on both sides and
recorded at once.

Nothing here is hand-typed telemetry. The script drives a real MCP server (mcp SDK 2.3 ``MCPServer``
named ``toolbox``, a stdio subprocess of this script, ``service.name=crash-server``, its spans exported
as each ends) with the real ``mcp.Client`` (``service.name=crash-agent``), both under the OpenTelemetry
SDK (``FileSpanExporter``), the server started through ``mcpobs record`` so that the session is also an
event log. In one trace: ``echo`` (answered), then ``crash``, whose handler ends the server process
(``os._exit``) before it answers: the client gets ``MCPError`` -32000 (connection closed), the server
never ends its span of that call, and the recording ends ``server_exited``.

The recording names the server by its ``serverInfo`` (``toolbox``); the server's spans by their
service (``crash-server``). ``expected.json`` is the script's bookkeeping: each call's outcome as the
client saw it. From the review of the trace-analysis commands (December 2026): with the recording and
the server's spans loaded, the crashed call was counted on a server ``toolbox`` and every other call of
the session on ``crash-server``, so that server's error rate did not show its crash.

Run with the project's environment (mcp, opentelemetry-sdk, opentelemetry-exporter-otlp-json-file and
mcpobs itself for ``mcpobs record``), about 3 s: ``.venv/bin/python tests/data/crash/make_crash.py``.
Timings differ from run to run; the calls and their outcomes do not.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # what the generators share
from _gen_common import SeededIds

HERE = Path(__file__).resolve().parent
CLIENT_SPANS = HERE / "crash.client-spans.jsonl"
SERVER_SPANS = HERE / "crash.server-spans.jsonl"
LOG = HERE / "crash.log.jsonl"
EXPECTED = HERE / "expected.json"


def _provider(service: str, path: Path, seed: int) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}), id_generator=SeededIds(seed))
    # exported as each span ends: the server's process dies without a chance to flush a batch
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(str(path))))
    trace.set_tracer_provider(provider)
    return provider


def serve() -> None:
    _provider("crash-server", SERVER_SPANS, 2)
    srv = MCPServer("toolbox", version="1.0.0", log_level="WARNING")

    @srv.tool()
    def echo(text: str) -> str:
        """Say it back."""
        return text

    @srv.tool()
    def crash() -> str:
        """Die before answering."""
        os._exit(3)

    srv.run("stdio")


async def agent(outcomes: dict[str, str]) -> None:
    here = str(Path(__file__).resolve())
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpobs", "record", "--out", str(LOG), "--", sys.executable, here, "--serve"],
    )
    with trace.get_tracer("crash-agent").start_as_current_span("invoke_agent crash-agent"):
        try:
            async with Client(params, mode="legacy") as client:
                for tool, arguments in (("echo", {"text": "hi"}), ("crash", {})):
                    try:
                        await client.call_tool(tool, arguments)
                        outcomes[tool] = "ok"
                    except MCPError as e:
                        outcomes[tool] = str(e.error.code)
        except Exception as e:  # closing a session whose server died may raise
            outcomes["close"] = type(e).__name__


def main() -> None:
    for f in (CLIENT_SPANS, SERVER_SPANS, LOG):
        f.unlink(missing_ok=True)
    provider = _provider("crash-agent", CLIENT_SPANS, 1)
    outcomes: dict[str, str] = {}
    anyio.run(agent, outcomes)
    provider.shutdown()
    EXPECTED.write_text(json.dumps(outcomes, indent=1) + "\n")
    print(outcomes)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        logging.basicConfig(level=logging.WARNING)
        serve()
    else:
        main()
