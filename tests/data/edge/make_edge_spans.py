#!/usr/bin/env python
"""Regenerate ``edge_spans.jsonl``: spans at the edge of what counts as an MCP call, written by the
real OpenTelemetry SDK (``FileSpanExporter``), each with the attributes a real producer of its kind
sets. ``EXPECTED`` (also written to ``edge_spans.expected.json``) says, per span name, whether it is
an MCP call and, for a call, whether it failed or was rejected. From the review of issue 14.

Run from this directory: ``python make_edge_spans.py`` (opentelemetry-sdk and
opentelemetry-exporter-otlp-json-file, as in the project's test dependencies).
"""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

HERE = Path(__file__).parent
S, C, I = SpanKind.SERVER, SpanKind.CLIENT, SpanKind.INTERNAL
REJ = {"mcp.method.name": "tools/call", "gen_ai.tool.name": "rej"}

# (scope, name, kind, attributes, error status?, expected: None (no call), "ok", "failed" or "rejected")
SPANS = [
    # a language server (pygls) speaks JSON-RPC too; `initialize` is a method of both protocols
    ("pygls", "textDocument/hover", S, {"rpc.system": "jsonrpc", "rpc.method": "textDocument/hover"}, False, None),
    ("pygls", "initialize", S, {"rpc.system": "jsonrpc", "rpc.method": "initialize"}, False, None),
    ("pygls", "initialize+baggage", S,
     {"rpc.system": "jsonrpc", "rpc.method": "initialize", "mcp.session.id": "s-42"}, False, None),
    ("pygls", "shutdown", S, {"rpc.system": "jsonrpc", "rpc.method": "shutdown"}, False, None),
    # an MCP method by name alone is a call; `initialize` with MCP evidence too
    ("my-app", "tools/call add", S, {"rpc.method": "tools/call"}, False, "ok"),
    ("my-app", "initialize mcp", S, {"rpc.method": "initialize", "mcp.protocol.version": "2025-11-25"}, False, "ok"),
    ("mcp-python-sdk", "initialize sdk", S, {"rpc.method": "initialize"}, False, "ok"),
    # gRPC is never MCP, whatever its tracer is called and whatever baggage copied onto it
    ("acme.mcp.gateway", "routeguide.RouteGuide/GetFeature", C,
     {"rpc.system": "grpc", "rpc.service": "routeguide.RouteGuide", "rpc.method": "GetFeature"}, False, None),
    ("opentelemetry.instrumentation.grpc", "routeguide.RouteGuide/GetFeature+baggage", C,
     {"rpc.system": "grpc", "rpc.service": "routeguide.RouteGuide", "rpc.method": "GetFeature",
      "mcp.session.id": "s-42"}, False, None),
    ("acme.mcp.gateway", "mcp.Tools/Call", C,
     {"rpc.system.name": "grpc", "rpc.service": "mcp.Tools", "rpc.method": "tools/call"}, False, None),
    ("acme_mcp_agent", "GET", C, {"http.request.method": "GET", "rpc.method": "GET"}, False, None),
    # server-side outcomes
    ("my-app", "tools/call srv-rej-status", S, {**REJ, "rpc.response.status_code": "-32602"}, False, "rejected"),
    ("my-app", "tools/call srv-rej-errtype", S, {**REJ, "error.type": "-32602"}, True, "rejected"),
    ("my-app", "tools/call srv-32603", S, {**REJ, "error.type": "-32603"}, True, "failed"),
    ("my-app", "tools/call srv-rej-int", S, {**REJ, "rpc.jsonrpc.error_code": -32601}, True, "rejected"),
    ("my-app", "tools/call srv-rej-32021", S, {**REJ, "error.type": "-32021"}, True, "rejected"),
    ("my-app", "tools/call cli-32602", C, {**REJ, "error.type": "-32602"}, True, "failed"),
    ("my-app", "tools/call srv-mcperror-status", S,
     {**REJ, "error.type": "McpError", "rpc.response.status_code": "-32602"}, True, "rejected"),
    ("sentry.mcp", "tools/call sentry-rej", I,
     {"mcp.method.name": "tools/call", "mcp.tool.name": "rej", "sentry.op": "mcp.server",
      "mcp.request_id": "7", "mcp.session_id": "s1", "mcp.transport": "http", "error.type": "-32602"}, True,
     "rejected"),
    ("toolhive", "mcp.tools/call", S,
     {"mcp.method": "tools/call", "mcp.tool.name": "rej", "http.request.method": "POST",
      "http.response.status_code": 200, "error.type": "-32602"}, True, "rejected"),
    ("toolhive", "mcp.server", S, {"http.request.method": "POST"}, False, None),
]

if __name__ == "__main__":
    out = HERE / "edge_spans.jsonl"
    out.unlink(missing_ok=True)
    provider = TracerProvider(resource=Resource.create({"service.name": "edge-svc"}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(str(out))))
    for scope, name, kind, attrs, err, _ in SPANS:
        with provider.get_tracer(scope).start_as_current_span(name, kind=kind, attributes=attrs) as span:
            if err:
                span.set_status(Status(StatusCode.ERROR, "failed"))
    provider.shutdown()
    expected = {name: outcome for _, name, _, _, _, outcome in SPANS}
    (HERE / "edge_spans.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
