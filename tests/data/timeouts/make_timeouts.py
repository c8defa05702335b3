#!/usr/bin/env python
"""Regenerate ``client-spans.jsonl``, ``session.log.jsonl`` and ``expected.json``: a call the client
gives up on after its timeout, next to one its caller cancels, traced and recorded at once.

Nothing here is hand-typed telemetry. The script drives a real MCP server (mcp SDK 2.3 ``MCPServer``,
a stdio subprocess of this script) with the real ``mcp.Client`` under the OpenTelemetry SDK
(``FileSpanExporter``, ``service.name=timeouts-agent``), the server started through ``mcpobs record``
so that the same session is also an event log. The calls, in one trace:

* ``slow`` 0.05 s: answered;
* ``slow`` 5 s with ``read_timeout_seconds=0.3``: the SDK gives up after 0.3 s (``MCPError`` -32001),
  its span records a ``TimeoutError``, and it sends ``notifications/cancelled`` with the reason
  ``timed out after 0.3s``;
* ``slow`` 5 s under ``anyio.move_on_after(0.3)``: the caller cancels it, and the SDK sends
  ``notifications/cancelled`` with the reason ``caller cancelled`` (its span records nothing:
  OpenTelemetry does not record a ``CancelledError``).

``expected.json`` is the script's own bookkeeping of each call's outcome as the client saw it. From
the review of the trace-analysis commands (December 2026): the recording said ``cancelled`` for the
timed-out call, where the client's span says ``timeout``.

Run with the project's environment (mcp, opentelemetry-sdk, opentelemetry-exporter-otlp-json-file and
mcpobs itself for ``mcpobs record``), about 3 s: ``.venv/bin/python tests/data/timeouts/make_timeouts.py``.
Timings differ from run to run; the calls and their outcomes do not.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from mcp_types import REQUEST_TIMEOUT
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # what the generators share
from _gen_common import SeededIds

HERE = Path(__file__).resolve().parent
SPANS = HERE / "client-spans.jsonl"
LOG = HERE / "session.log.jsonl"
EXPECTED = HERE / "expected.json"


def serve() -> None:
    srv = MCPServer("sleeper", version="1.0.0", log_level="WARNING")

    @srv.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        await anyio.sleep(seconds)
        return "done"

    srv.run("stdio")


async def agent(outcomes: list[str]) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "mcpobs",
            "record",
            "--out",
            str(LOG),
            "--",
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
        ],
    )
    with trace.get_tracer("timeouts-agent").start_as_current_span("invoke_agent timeouts-agent"):
        async with Client(params, mode="legacy") as client:
            await client.call_tool("slow", {"seconds": 0.05})
            outcomes.append("ok")
            try:
                await client.call_tool("slow", {"seconds": 5}, read_timeout_seconds=0.3)
                outcomes.append("ok")
            except MCPError as e:
                outcomes.append("timeout" if e.error.code == REQUEST_TIMEOUT else str(e.error.code))
            with anyio.move_on_after(0.3) as scope:
                await client.call_tool("slow", {"seconds": 5})
            outcomes.append("cancelled" if scope.cancelled_caught else "ok")


def main() -> None:
    for f in (SPANS, LOG):
        f.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="mcpobs-timeouts-") as d:
        spans = Path(d) / "client.jsonl"
        provider = TracerProvider(
            resource=Resource.create({"service.name": "timeouts-agent"}), id_generator=SeededIds(3)
        )
        provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(str(spans))))
        trace.set_tracer_provider(provider)
        outcomes: list[str] = []
        anyio.run(agent, outcomes)
        provider.shutdown()
        SPANS.write_text(spans.read_text())
    # the slow tool's calls in order; the implicit tools/list the first call_tool sends is no tool call
    EXPECTED.write_text(json.dumps({"slow": outcomes}, indent=1) + "\n")
    print(outcomes)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        logging.basicConfig(level=logging.WARNING)
        serve()
    else:
        main()
