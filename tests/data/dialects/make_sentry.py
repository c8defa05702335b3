#!/usr/bin/env python3
"""Regenerate sentry.jsonl / sentry.expected.json by RUNNING Sentry's MCP integration
(sentry_sdk.integrations.mcp.MCPIntegration) in a real mcp 1.x FastMCP server, called by a real
(uninstrumented) mcp 1.x client over Streamable HTTP on 127.0.0.1.

Needs (own venv):
    python3 -m venv /work/venv-dialects
    /work/venv-dialects/bin/pip install 'mcp==1.30.0' 'sentry-sdk==2.75.0' \
        'opentelemetry-sdk==1.45.2' 'opentelemetry-exporter-otlp-json-file==0.66b1'
Run:
    /work/venv-dialects/bin/python tests/data/dialects/make_sentry.py

Sentry does not speak OTLP: its MCP spans go to Sentry as "transaction" envelope items (and
its instrumenter="otel" mode turns Sentry's own spans off, so it cannot help). This script runs
Sentry in its default (transaction) mode with a custom Transport that keeps every envelope, then
converts each transaction faithfully into OpenTelemetry ReadableSpans written by the SDK's
FileSpanExporter (spec OTLP JSON lines, one line per transaction):
  - the transaction itself -> a span named event["transaction"], ids from contexts.trace;
    each entry of event["spans"] -> a span named its "description" (Sentry's span name);
  - trace_id / span_id / parent_span_id copied as they are (Sentry ids are the same hex widths);
  - start/end from start_timestamp/timestamp (Sentry keeps microseconds);
  - attributes = the span's "data" dict as is (non-scalar values JSON-encoded), plus
    sentry.op, sentry.origin, sentry.status (raw Sentry status), and on transactions
    sentry.transaction.source and the event's request interface as http.request.method,
    url.full, http.request.header.<name> (string arrays); span "tags" as sentry.tag.<key>;
  - status: Sentry "ok" -> OK, absent -> UNSET, anything else (e.g. "internal_error") -> ERROR
    with the Sentry status as message;
  - kind INTERNAL for all (Sentry spans have no kind; the OTel SDK cannot encode UNSPECIFIED);
  - resource: service.name, service.version (release), deployment.environment,
    telemetry.sdk.name/version of sentry; scope name "sentry_sdk".
Error events (Sentry "event" items from _capture_exception) are not spans: they are summarised in
sentry.expected.json ("sentry_error_events", by exception type), not converted. The raw envelopes
are kept next to the file as sentry.raw-envelopes.jsonl for auditing the conversion.

The client is NOT instrumented: Sentry's MCP integration only patches the server (mcp.py
setup_once: _patch_lowlevel_server, _patch_handle_request, _patch_fastmcp).
The expected file is written from the scenario table, not from reading the spans; see
`recorded_by_dialect` for what sentry_sdk/integrations/mcp.py (2.75.0) records.
"""
from __future__ import annotations

import json
from pathlib import Path

import demo

NAME = "sentry"
# the packages whose versions the expected file states
PACKAGES = ("mcp", "sentry-sdk", "starlette", "opentelemetry-sdk",
            "opentelemetry-exporter-otlp-json-file")

# --------------------------------------------------------------------------------------------
# Telemetry setup (library specific)
# --------------------------------------------------------------------------------------------


def setup_telemetry(service_name: str, out_path: str, side: str = "server"):
    if side == "client":
        return lambda: None  # Sentry's MCP integration has no client side
    import sentry_sdk
    from sentry_sdk.integrations.mcp import MCPIntegration
    from sentry_sdk.transport import Transport

    captured: list[dict] = []

    class CaptureTransport(Transport):
        def capture_envelope(self, envelope):
            for item in envelope.items:
                payload = item.payload.json
                if payload is None:
                    payload = json.loads(item.payload.get_bytes() or b"null")
                captured.append({"envelope_headers": envelope.headers, "type": item.type,
                                 "payload": payload})

        def flush(self, timeout, callback=None):
            return None

    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",  # never contacted: the transport above keeps everything
        transport=CaptureTransport,
        traces_sample_rate=1.0,
        send_default_pii=True,  # lets the integration record tool results / prompt content
        integrations=[MCPIntegration()],
        environment="dialect-test",
        release="dialect-demo@1.0.0",
        server_name="dialect-host",
    )

    def shutdown():
        sentry_sdk.flush()
        write_otlp(captured, out_path, service_name)
        raw = Path(out_path).with_suffix(".raw.jsonl")
        raw.write_text("".join(json.dumps(c, sort_keys=True) + "\n" for c in captured))

    return shutdown


def _ns(ts) -> int:
    """Sentry timestamps: RFC 3339 strings (format_timestamp) or float seconds."""
    from datetime import datetime

    if isinstance(ts, (int, float)):
        return int(round(ts * 1e6)) * 1000
    dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return (int(dt.timestamp()) * 1_000_000 + dt.microsecond) * 1000


def _attr(v):
    if isinstance(v, (bool, int, float, str)) or (isinstance(v, tuple) and all(isinstance(x, str) for x in v)):
        return v
    return json.dumps(v, sort_keys=True, default=str)


def write_otlp(captured: list[dict], out_path: str, service_name: str) -> None:
    import sentry_sdk
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.util.instrumentation import InstrumentationScope
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    scope = InstrumentationScope("sentry_sdk", sentry_sdk.VERSION)
    exporter = FileSpanExporter(out_path)

    def status_of(st):
        if st is None:
            return Status(StatusCode.UNSET)
        if st == "ok":
            return Status(StatusCode.OK)
        return Status(StatusCode.ERROR, st)

    for c in captured:
        if c["type"] != "transaction":
            continue
        ev = c["payload"]
        resource = Resource({
            "service.name": service_name,
            "service.version": ev.get("release", ""),
            "deployment.environment": ev.get("environment", ""),
            "telemetry.sdk.name": ev.get("sdk", {}).get("name", "sentry.python"),
            "telemetry.sdk.version": ev.get("sdk", {}).get("version", ""),
        })
        tc = ev["contexts"]["trace"]
        trace_id = int(tc["trace_id"], 16)

        def ctx(span_id_hex, remote=False):
            return SpanContext(trace_id, int(span_id_hex, 16), is_remote=remote,
                               trace_flags=TraceFlags(TraceFlags.SAMPLED))

        spans = []
        root_attrs = {"sentry.op": tc.get("op"), "sentry.origin": tc.get("origin"),
                      "sentry.status": tc.get("status"),
                      "sentry.transaction.source": (ev.get("transaction_info") or {}).get("source")}
        root_attrs.update(tc.get("data") or {})
        root_attrs.update({f"sentry.tag.{k}": v for k, v in (ev.get("tags") or {}).items()})
        req = ev.get("request") or {}  # the event's request interface (HTTP transactions)
        if req:
            root_attrs["http.request.method"] = req.get("method")
            root_attrs["url.full"] = req.get("url")
            for h, v in (req.get("headers") or {}).items():
                root_attrs[f"http.request.header.{h.lower()}"] = (v,)
        spans.append(ReadableSpan(
            name=ev["transaction"], context=ctx(tc["span_id"]),
            parent=ctx(tc["parent_span_id"], remote=True) if tc.get("parent_span_id") else None,
            resource=resource, attributes={k: _attr(v) for k, v in root_attrs.items() if v is not None},
            kind=SpanKind.INTERNAL, status=status_of(tc.get("status")),
            start_time=_ns(ev["start_timestamp"]), end_time=_ns(ev["timestamp"]),
            instrumentation_scope=scope))
        for sp in ev.get("spans") or []:
            attrs = {"sentry.op": sp.get("op"), "sentry.origin": sp.get("origin"),
                     "sentry.status": sp.get("status")}
            attrs.update(sp.get("data") or {})
            attrs.update({f"sentry.tag.{k}": v for k, v in (sp.get("tags") or {}).items()})
            spans.append(ReadableSpan(
                name=sp.get("description") or sp.get("op") or "",
                context=ctx(sp["span_id"]),
                parent=ctx(sp["parent_span_id"]) if sp.get("parent_span_id") else None,
                resource=resource, attributes={k: _attr(v) for k, v in attrs.items() if v is not None},
                kind=SpanKind.INTERNAL, status=status_of(sp.get("status")),
                start_time=_ns(sp["start_timestamp"]), end_time=_ns(sp["timestamp"]),
                instrumentation_scope=scope))
        exporter.export(spans)
    exporter.shutdown()


# --------------------------------------------------------------------------------------------
# What this dialect records (from the instrumentation's source, 0.62.4)
# --------------------------------------------------------------------------------------------


def recorded_by_dialect(side: str, call: dict) -> str | None | bool:
    """Return False if the call leaves no span on that side, else the error class a normaliser
    can recover from the span (None = success, 'error' = failed but the class is not recorded).

    client: nothing (the integration patches only the server).
    server, mcp 1.x path (_patch_lowlevel_server_v1, mcp.py:839-900): wraps the functions given
      to Server.call_tool / get_prompt / read_resource decorators, i.e. FastMCP.call_tool,
      FastMCP.get_prompt, FastMCP.read_resource. So only tools/call, prompts/get, resources/read
      get a span ('tools/call {tool}', 'prompts/get {prompt}', 'resources/read {uri}', op
      mcp.server). Everything else (initialize, tools/list, ping, logging/setLevel, foo/bar) has
      only the Starlette 'http.server' transaction '/mcp'.
      An exception escaping the wrapped handler marks the span internal_error (Sentry's
      Span.__exit__) -- for FastMCP that is every tool error (ToolError, later turned into an
      isError result by mcp), an unknown prompt (ValueError, later JSON-RPC code 0) and a
      cancellation (CancelledError). mcp.tool.result.is_error is defined in consts.py but never
      set, and no error code is recorded: the class is not recoverable -> 'error'.
    """
    if side == "client" or call["method"] not in ("tools/call", "prompts/get", "resources/read"):
        return False
    return None if call["server"] is None else "error"


NOTES = [
    "truth = what happened on the wire per side (error class: JSON-RPC code as string, tool_error, "
    "timeout, cancelled); recorded = what a correct normaliser can count from this file: calls that "
    "leave no span on that side are absent, 'error' = failed but the class is not in the spans.",
    "request ids are per session (0 = initialize); mcp.request.id is an int attribute. "
    "mcp.session.id = the Mcp-Session-Id header (Streamable HTTP only; absent on stdio).",
    "Every HTTP request to /mcp (POSTs of requests AND notifications, the GET SSE stream, the final "
    "DELETE) is a Sentry transaction named '/mcp' (op http.server, origin auto.http.starlette); "
    "the MCP span is its child. Do not count '/mcp' spans as calls.",
    "Sentry error events (not spans, not in the .jsonl, see sentry.raw-envelopes.jsonl): one per "
    "exception escaping a wrapped handler (_capture_exception, mechanism 'mcp'): ToolError for "
    "fail and nope, ValueError for the unknown prompt; the logging integration adds more "
    "(FastMCP's logger.exception for the unknown prompt, mcp's 'Error in standalone SSE writer').",
]

if __name__ == "__main__":
    demo.run(__file__, NAME, setup_telemetry, recorded_by_dialect, PACKAGES, NOTES)
