#!/usr/bin/env python3
"""Regenerate logfire.jsonl / logfire.expected.json by RUNNING Pydantic Logfire's MCP
instrumentation (`logfire.instrument_mcp()`) against a real mcp 1.x server and client over
Streamable HTTP on 127.0.0.1.

Needs (in its own venv, NOT the project's: with mcp 2 `instrument_mcp()` does nothing, see
logfire/_internal/integrations/mcp.py:31-47):
    python3 -m venv /work/venv-dialects
    /work/venv-dialects/bin/pip install 'mcp==1.30.0' 'logfire==5.2.0' \
        'opentelemetry-sdk==1.45.2' 'opentelemetry-exporter-otlp-json-file==0.66b1'
    (logfire 5.4.0 needs a certifi release newer than the one served here; its
    integrations/mcp.py differs from 5.2.0 only in the 'MCP server log' log records for
    notifications/message, which this scenario does not send.)
Run:
    /work/venv-dialects/bin/python tests/data/dialects/make_logfire.py

Logfire is configured not to send anything (send_to_logfire=False, console=False) and to export
through an extra span processor: BatchSpanProcessor(FileSpanExporter(path)), i.e. spec OTLP JSON
lines written by the OpenTelemetry SDK. Logfire's "pending_span" copies are only fed to its own
exporters (config.py add_span_processor: only TestExporter/RemovePendingSpansExporter/console), so
none are in this file.

What it does: starts this same file with --serve as the server process (FastMCP from
mcp.server.fastmcp, instrumented, exporting to its own file), runs the client scenario of demo.py in
this process, stops the server with SIGINT, then concatenates the two files (client lines first).
The expected file is written from the scenario table, not from reading the spans; see
`recorded_by_dialect` for what logfire/_internal/integrations/mcp.py (5.2.0) records.
"""
from __future__ import annotations

import demo

NAME = "logfire"
# the packages whose versions the expected file states
PACKAGES = ("mcp", "logfire", "opentelemetry-sdk", "opentelemetry-exporter-otlp-json-file")

# --------------------------------------------------------------------------------------------
# Telemetry setup (library specific)
# --------------------------------------------------------------------------------------------


def setup_telemetry(service_name: str, out_path: str, side: str):
    import logfire
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    logfire.configure(
        send_to_logfire=False,
        console=False,
        service_name=service_name,
        additional_span_processors=[BatchSpanProcessor(FileSpanExporter(out_path))],
    )
    logfire.instrument_mcp()  # propagate_otel_context=True (default): traceparent in params._meta
    return logfire.shutdown


# --------------------------------------------------------------------------------------------
# What this dialect records (from the instrumentation's source, 0.62.4)
# --------------------------------------------------------------------------------------------


def recorded_by_dialect(side: str, call: dict) -> str | None | bool:
    """Return False if the call leaves no span on that side, else the error class a normaliser
    can recover from the span (None = success, 'error' = failed but the class is not recorded).

    client (integrations/mcp.py:55-84): BaseSession.send_request -> span 'MCP request: {method}'
      (+ ' {tool}' for CallToolRequest) with request/rpc.system/rpc.jsonrpc.version/rpc.method and
      'response' set only on success. McpError (JSON-RPC error or timeout) escapes the logfire span:
      ERROR status, exception event, logfire.level_num=17; the JSON-RPC code is only inside the
      exception message text, not an attribute. An isError result is an ordinary response: the
      span is OK/unset, the error is only in the 'response' JSON ("isError": true).
      Cancellation: the CancelledError escapes the span too: ERROR + exception event of that type.
    server (l.130-155): Server._handle_request -> span 'MCP server handle request: {method}' (no
      tool name in the name; it is in the 'request' JSON), 'response' = the ServerResult or ErrorData
      JSON. _handle_request catches McpError/Exception itself (mcp lowlevel/server.py), so the span
      never sees the error: ERROR shows only as 'response' JSON with a "code" (JSON-RPC error) or
      "isError": true. A request that fails validation (foo/bar -> -32602) never reaches
      _handle_request: no server span. initialize is answered by ServerSession itself: no span.
    """
    truth = call[side]
    if side == "server":
        if call["method"] in ("initialize", "foo/bar"):
            return False
        # tool_error: "isError": true in 'response'; JSON-RPC error: "code" in 'response';
        # cancelled: responder.cancel() answers without respond(), so no 'response' at all and
        # status UNSET -> not recoverable as 'cancelled'.
        return "error" if truth == "cancelled" else truth
    # client: isError -> 'response' JSON; CancelledError -> exception event type; McpError
    # (timeout or any JSON-RPC error) -> ERROR + exception McpError, code not recorded.
    if truth in (None, "tool_error", "cancelled"):
        return truth
    return "error"


NOTES = [
    "truth = what happened on the wire per side (error class: JSON-RPC code as string, tool_error, "
    "timeout, cancelled); recorded = what a correct normaliser can count from this file: calls that "
    "leave no span on that side are absent; error classes there are what the span structure "
    "gives (status, exception.type, the 'response' JSON's isError / code), never parsed from "
    "message text; 'error' = failed but the class is not recorded (client McpError carries the "
    "code only in its message; a cancelled server request has no 'response' and UNSET status).",
    "request ids are per session (0 = initialize); the session ids are the Mcp-Session-Id headers "
    "(logfire does not record them).",
    "notifications (notifications/initialized, notifications/cancelled) are not calls and not counted.",
]

if __name__ == "__main__":
    demo.run(__file__, NAME, setup_telemetry, recorded_by_dialect, PACKAGES, NOTES)
