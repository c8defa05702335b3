#!/usr/bin/env python3
"""Regenerate openllmetry.jsonl / openllmetry.expected.json by RUNNING OpenLLMetry's MCP
instrumentation against a real mcp 1.x server and client over Streamable HTTP on 127.0.0.1.

Needs (in its own venv, NOT the project's: mcp 2 removed what this instruments):
    python3 -m venv /work/venv-dialects
    /work/venv-dialects/bin/pip install 'mcp==1.30.0' 'opentelemetry-instrumentation-mcp==0.62.4' \
        'opentelemetry-sdk==1.45.2' 'opentelemetry-exporter-otlp-json-file==0.66b1'
Run:
    /work/venv-dialects/bin/python tests/data/dialects/make_openllmetry.py

What it does: starts this same file with --serve as the server process (FastMCP from
mcp.server.fastmcp, instrumented, exporting to its own OTLP JSON lines file), runs the client
scenario of demo.py in this process (instrumented, exporting to another file), stops the server with
SIGINT, then concatenates the two files (client lines first) into openllmetry.jsonl.
Spans are exported by the OpenTelemetry SDK's BatchSpanProcessor + FileSpanExporter, i.e. spec
OTLP JSON lines, one ExportTraceServiceRequest per line, several spans per line.

The expected file is written from the scenario table (what the script does and what the mcp 1.30
protocol answers), not from reading the spans. See `recorded_by_dialect` for what the
instrumentation's source (opentelemetry/instrumentation/mcp/instrumentation.py, 0.62.4) records.
"""
from __future__ import annotations

import demo

NAME = "openllmetry"
# the packages whose versions the expected file states
PACKAGES = ("mcp", "opentelemetry-instrumentation-mcp", "opentelemetry-sdk",
            "opentelemetry-exporter-otlp-json-file")

# --------------------------------------------------------------------------------------------
# Telemetry setup (library specific)
# --------------------------------------------------------------------------------------------


def setup_telemetry(service_name: str, out_path: str, side: str):
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(BatchSpanProcessor(FileSpanExporter(out_path)))
    trace.set_tracer_provider(provider)

    from opentelemetry.instrumentation.mcp import McpInstrumentor

    McpInstrumentor().instrument(tracer_provider=provider)
    return provider.shutdown


# --------------------------------------------------------------------------------------------
# What this dialect records (from the instrumentation's source, 0.62.4)
# --------------------------------------------------------------------------------------------


def recorded_by_dialect(side: str, call: dict) -> str | None | bool:
    """Return False if the call leaves no span on that side, else the error class a normaliser
    can recover from the span (None = success, 'error' = failed but the class is not recorded).

    client: instrumentation.py:116-120 wraps BaseSession.send_request for EVERY request
      (initialize and ping too): span '{tool}.tool' for tools/call (l.288-309), '{method}.mcp'
      otherwise (l.336-341). isError result -> error.type='tool_error' + ERROR status (l.380-383).
      McpError (JSON-RPC error or timeout) -> record_error: error.type='McpError', ERROR status,
      exception event (utils.py record_error); the JSON-RPC code is NOT recorded (only the message).
      CancelledError is a BaseException: not caught by `except Exception` (l.387) and the span is
      started with set_status_on_exception=False -> span ends UNSET, looks like success.
    server: only the standalone `fastmcp` package is instrumented (fastmcp_instrumentation.py
      wraps fastmcp.tools.tool_manager.ToolManager.call_tool); mcp.server.fastmcp is not. The
      server emits only 'ResponseStreamWriter' spans per outgoing JSON-RPC message (l.602), with
      mcp.request.id and mcp.response.value but no method: no call spans.
    """
    if side == "server":
        return False
    truth = call["client"]
    if truth in (None, "tool_error"):
        return truth
    if truth == "cancelled":
        return None
    return "error"


NOTES = [
    "truth = what happened on the wire per side (error class: JSON-RPC code as string, tool_error, "
    "timeout, cancelled); recorded = what a correct normaliser can count from this file: calls that "
    "leave no span on that side are absent, 'error' = failed but the class is not in the spans.",
    "request ids are per session (0 = initialize); the session ids are the Mcp-Session-Id headers.",
    "notifications (notifications/initialized, notifications/cancelled) are not calls and not counted.",
    "Client-side OpenLLMetry patch_mcp_client is wrapped in @dont_throw: an McpError raised by "
    "send_request (JSON-RPC error or timeout) is swallowed and send_request returns None, so the "
    "caller sees None or an AttributeError instead of McpError (see client_observed).",
    "Every message the client sends (requests AND notifications) and every message the server "
    "sends (responses) gets an extra 'ResponseStreamWriter' span (InstrumentedStreamWriter.send): "
    "not calls; on the client it is a child of the '*.tool'/'*.mcp' span.",
]

if __name__ == "__main__":
    demo.run(__file__, NAME, setup_telemetry, recorded_by_dialect, PACKAGES, NOTES)
