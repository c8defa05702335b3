#!/usr/bin/env python
"""Regenerate ``spellings.jsonl``: MCP spans in the older and vendor spellings still found in files,
made by the OpenTelemetry SDK (``FileSpanExporter``) with fixed times and ids. No producer of these
runs here (ToolHive is a Go proxy; Sentry's Python SDK 2.75 writes no OTLP and no longer the
underscored names), so the attributes are taken from their sources:

- Sentry-style server spans (``sentry.op = mcp.server``) in the older names: ``mcp.request_id`` and
  ``mcp.session_id`` as the project's field notes list them (sentry-sdk 2.75.0 itself writes
  ``mcp.request.id`` / ``mcp.session.id``, see tests/data/dialects/make_sentry.py; hand-rolled MCP
  instrumentations in public code write the underscored pair too), ``mcp.tool.name``,
  ``mcp.transport`` and ``mcp.tool.result.is_error`` (defined in ``sentry_sdk/consts.py`` 2.75.0 as
  ``MCP_TOOL_RESULT_IS_ERROR``, set by Sentry's JavaScript SDK; ``true``, and ``false`` on success).
- ToolHive before its rename (stacklok/toolhive ``docs/telemetry-migration.md``): span
  ``mcp.tools/call`` / ``mcp.tools/list`` with ``http.*`` attributes, ``mcp.method``,
  ``mcp.request.id``, ``mcp.tool.name``, ``rpc.system=jsonrpc``.
- The MCP conventions on a SERVER span answering -32602: status UNSET, no ``error.type``, only
  ``rpc.response.status_code``.
- A GenAI chat span with ``gen_ai.usage.reasoning_tokens`` (the spelling some SDKs write; the
  conventions say ``gen_ai.usage.reasoning.output_tokens``).

Package versions: opentelemetry-sdk 1.45.1, opentelemetry-exporter-otlp-json-file 0.66b1.
Run: ``python tests/data/spellings/make_spellings.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/data: what the generators share
from _gen_common import SeededIds  # noqa: E402

OUT = Path(__file__).resolve().parent / "spellings.jsonl"
MS = 1_000_000
BASE = 1_795_165_200_000 * MS  # 2026-11-20T09:00:00Z


def main() -> None:
    OUT.unlink(missing_ok=True)
    for seed, (service, emit) in enumerate((("sentry-old-server", _sentry), ("toolhive-proxy", _toolhive), ("conventions-server", _conventions), ("chat-agent", _chat))):
        provider = TracerProvider(resource=Resource.create({"service.name": service}), id_generator=SeededIds(seed))
        provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(str(OUT))))  # appends
        emit(provider)
        provider.force_flush()


def _span(provider: TracerProvider, scope: str, name: str, at: int, ms: int, attrs: dict, kind: SpanKind, error: bool = False) -> None:
    span = provider.get_tracer(scope).start_span(name, kind=kind, attributes=attrs, start_time=BASE + at * MS)
    if error:
        span.set_status(Status(StatusCode.ERROR, "internal_error"))
    span.end(end_time=BASE + (at + ms) * MS)


def _sentry(p: TracerProvider) -> None:
    common = {"sentry.op": "mcp.server", "mcp.method.name": "tools/call", "mcp.session_id": "sess-old-1", "mcp.transport": "http"}
    _span(p, "sentry_sdk", "tools/call lookup", 0, 12, {**common, "mcp.tool.name": "lookup", "mcp.request_id": "1", "mcp.tool.result.is_error": False}, SpanKind.INTERNAL)
    _span(p, "sentry_sdk", "tools/call lookup", 20, 8, {**common, "mcp.tool.name": "lookup", "mcp.request_id": "2", "mcp.tool.result.is_error": True}, SpanKind.INTERNAL, error=True)


def _toolhive(p: TracerProvider) -> None:
    http = {"http.method": "POST", "http.url": "http://127.0.0.1:8080/mcp", "http.status_code": 200, "rpc.system": "jsonrpc", "mcp.transport": "streamable-http"}
    _span(p, "github.com/stacklok/toolhive/pkg/telemetry", "mcp.tools/list", 100, 5, {**http, "mcp.method": "tools/list", "mcp.request.id": "1"}, SpanKind.SERVER)
    _span(p, "github.com/stacklok/toolhive/pkg/telemetry", "mcp.tools/call", 110, 40, {**http, "mcp.method": "tools/call", "mcp.request.id": "2", "mcp.tool.name": "github_search"}, SpanKind.SERVER)
    # the proxy's plain HTTP span of a health check is no call
    _span(p, "github.com/stacklok/toolhive/pkg/telemetry", "GET /health", 150, 1, {"http.method": "GET", "http.status_code": 200}, SpanKind.SERVER)


def _conventions(p: TracerProvider) -> None:
    base = {"mcp.method.name": "resources/read", "mcp.protocol.version": "2026-07-28", "mcp.resource.uri": "notes://missing"}
    _span(p, "mcp.instrumentation.reference", "resources/read notes://missing", 200, 2, {**base, "jsonrpc.request.id": "7", "rpc.response.status_code": "-32602"}, SpanKind.SERVER)
    _span(p, "mcp.instrumentation.reference", "resources/read notes://missing", 199, 4, {**base, "jsonrpc.request.id": "7", "rpc.response.status_code": "-32602", "error.type": "-32602"}, SpanKind.CLIENT, error=True)


def _chat(p: TracerProvider) -> None:
    attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "o3-mini", "gen_ai.response.model": "o3-mini-2025-01-31",
             "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.output_tokens": 900, "gen_ai.usage.reasoning_tokens": 640}
    _span(p, "openai.agents", "chat o3-mini", 300, 900, attrs, SpanKind.CLIENT)


if __name__ == "__main__":
    main()
