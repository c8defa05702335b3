#!/usr/bin/env python
"""The mcp SDK 2.3 client's own spans of a task-augmented ``tools/call`` polled with ``tasks/get``.

Run from the repository root: ``.venv/bin/python tests/data/mrtr/make_task_spans.py NODE_MODULES``, where
NODE_MODULES holds ``@modelcontextprotocol/server-everything`` 2026.8.31 (as for ``make_tasks.py``).

The server is real: server-everything over stdio, whose ``simulate-research-query`` tool requires a task.
The client is the mcp SDK's ``Client`` (``mode="legacy"``: 2025-11-25), which has no task calls of its
own: the script sends ``tools/call`` with ``task: {ttl}``, ``tasks/get`` until the task completes and
``tasks/result`` through the session's own send path, so each request is the SDK's own ``MCP send …``
CLIENT span (tracer ``mcp-python-sdk``), exported by opentelemetry-exporter-otlp-json-file's
FileSpanExporter to ``tasks-2025.client-spans.jsonl``. Those spans name no task: see docs/dialects.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def main(node_modules: Path) -> None:
    import anyio
    from mcp import Client, StdioServerParameters
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    out = HERE / "tasks-2025.client-spans.jsonl"
    out.unlink(missing_ok=True)
    provider = TracerProvider(resource=Resource.create({"service.name": "research-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(str(out))))
    trace.set_tracer_provider(provider)
    server = node_modules / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"

    async def run() -> None:
        params = StdioServerParameters(command="node", args=[str(server), "stdio"])
        with anyio.fail_after(60):
            async with Client(params, mode="legacy") as c:  # type: ignore[arg-type]

                async def send(method: str, body: dict[str, Any]) -> Any:
                    # the session's own send path (its dispatcher, which makes the span) without its check
                    # of the result: the mcp SDK 2.3 validates a tools/call answer as a CallToolResult
                    return await c.session._dispatcher.send_raw_request(method, body, {})

                created = await send(
                    "tools/call",
                    {"name": "simulate-research-query", "arguments": {"topic": "tide tables"}, "task": {"ttl": 60000}},
                )
                task = created["task"]["taskId"]
                while True:
                    await anyio.sleep(0.4)
                    status = (await send("tasks/get", {"taskId": task}))["status"]
                    if status in ("completed", "failed", "cancelled"):
                        break
                await send("tasks/result", {"taskId": task})

    anyio.run(run)
    provider.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
