#!/usr/bin/env python
"""Emit ``semconv-2026-refusals.spans.jsonl``: refused MCP requests recorded exactly as the OpenTelemetry
MCP conventions say since semantic-conventions-genai #404 (merged 2026-07-28; model/mcp/common.yaml).

The conventions, as they stand:

* ``error.type`` is Conditionally Required "if and only if the operation fails";
* on the receiving end (an ``mcp.server`` span, kind SERVER) the codes -32700, -32600, -32601, -32602
  and -32002 "indicate that the caller sent a request the receiver could not serve and SHOULD NOT be
  considered errors": ``rpc.response.status_code`` records the code, ``error.type`` and status ERROR do not;
* on the sending end (``mcp.client``, kind CLIENT) "all JSON-RPC error codes SHOULD be considered errors";
* an ``mcp.server`` span is "reported by the MCP server when client initiates the request ... or by the
  MCP client when server initiates the operation": the client that refuses a server's
  ``elicitation/create`` records a SERVER span, held to the same rule.

Two refusals, each recorded by both ends (the OpenTelemetry SDK, trace context through ``params._meta``):

1. the client calls ``tools/call query``; the server refuses it with -32602 (invalid params);
2. inside the client's ``tools/call ask``, the server sends ``elicitation/create``; the client refuses
   it with -32602 (its requested schema is not one the client can render); the tool answers all the same.

Ids are seeded and times fixed, so reruns are byte-identical. Run from the repository root:
``.venv/bin/python tests/data/lint/make_semconv_2026.py`` (opentelemetry-sdk 1.45,
opentelemetry-exporter-otlp-json-file).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/data: what the generators share
from _gen_common import SeededIds  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "semconv-2026-refusals.spans.jsonl"
MS = 1_000_000
BASE_NS = 1_796_198_400_000 * MS  # 2026-12-02T08:00:00Z
SCOPE = "mcp.instrumentation.reference"
PROTOCOL = "2025-11-25"
SESSION = "5b0f2c6a9d3e4f718a2b3c4d5e6f7a8b"
INVALID_PARAMS = "-32602"


def _attributes(method: str, request_id: int, tool: str | None = None) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "mcp.method.name": method,
        "jsonrpc.request.id": str(request_id),
        "mcp.protocol.version": PROTOCOL,
        "mcp.session.id": SESSION,
        "network.transport": "pipe",
    }
    if tool is not None:
        attributes |= {"gen_ai.tool.name": tool, "gen_ai.operation.name": "execute_tool"}
    return attributes


def _refused(span: Span, *, receiver: bool, message: str) -> None:
    """A -32602 answer, recorded as the end that holds ``span`` should record it."""
    span.set_attribute("rpc.response.status_code", INVALID_PARAMS)
    if not receiver:  # the sender's request failed; the receiver served a bad request, no failure of its own
        span.set_attribute("error.type", INVALID_PARAMS)
        span.set_status(Status(StatusCode.ERROR, message))


def main() -> None:
    OUT.unlink(missing_ok=True)
    exporter = FileSpanExporter(str(OUT))
    ids = SeededIds(2026)
    tracers = {}
    for side, service in (("client", "refusing-agent"), ("server", "refusing-mcp-server")):
        resource = Resource.create({"service.name": service, "service.instance.id": f"{service}-1"})
        provider = TracerProvider(resource=resource, id_generator=ids, shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracers[side] = provider.get_tracer(SCOPE, "0.1.0")
    propagator = TraceContextTextMapPropagator()

    def remote(parent: Span) -> Any:
        meta: dict[str, str] = {}  # params._meta, as the request carries it
        propagator.inject(meta, context=trace.set_span_in_context(parent))
        return propagator.extract(meta)

    t = BASE_NS
    # 1. the server refuses the client's tools/call
    call = tracers["client"].start_span(
        "tools/call query", kind=SpanKind.CLIENT, start_time=t, attributes=_attributes("tools/call", 1, "query")
    )
    served = tracers["server"].start_span(
        "tools/call query",
        context=remote(call),
        kind=SpanKind.SERVER,
        start_time=t + 1 * MS,
        attributes=_attributes("tools/call", 1, "query"),
    )
    _refused(served, receiver=True, message="Invalid request parameters")
    served.end(end_time=t + 4 * MS)
    _refused(call, receiver=False, message="Invalid request parameters")
    call.end(end_time=t + 5 * MS)

    # 2. the client refuses the server's elicitation/create, sent while it serves tools/call ask
    t += 20 * MS
    ask = tracers["client"].start_span(
        "tools/call ask", kind=SpanKind.CLIENT, start_time=t, attributes=_attributes("tools/call", 2, "ask")
    )
    asked = tracers["server"].start_span(
        "tools/call ask",
        context=remote(ask),
        kind=SpanKind.SERVER,
        start_time=t + 1 * MS,
        attributes=_attributes("tools/call", 2, "ask"),
    )
    elicit = tracers["server"].start_span(
        "elicitation/create",
        context=trace.set_span_in_context(asked),
        kind=SpanKind.CLIENT,
        start_time=t + 2 * MS,
        attributes=_attributes("elicitation/create", 0),
    )
    answered = tracers["client"].start_span(
        "elicitation/create",
        context=remote(elicit),
        kind=SpanKind.SERVER,
        start_time=t + 3 * MS,
        attributes=_attributes("elicitation/create", 0),
    )
    _refused(answered, receiver=True, message="Unsupported requested schema")
    answered.end(end_time=t + 4 * MS)
    _refused(elicit, receiver=False, message="Unsupported requested schema")
    elicit.end(end_time=t + 5 * MS)
    asked.end(end_time=t + 7 * MS)
    ask.end(end_time=t + 8 * MS)
    exporter.shutdown()


if __name__ == "__main__":
    main()
