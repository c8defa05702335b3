#!/usr/bin/env python
"""Emit ``semconv.jsonl`` (+ ``semconv.expected.json``): MCP spans exactly as the OpenTelemetry
MCP semantic conventions describe them (semantic-conventions-genai, docs/gen-ai/mcp.md).

The spans are made by the OpenTelemetry SDK (TracerProvider, one per service resource) with
explicit start/end timestamps, so every duration is exact, and with seeded ids, so reruns are
byte-identical. The server spans get their parent the way a real server would: the client
injects W3C trace context into a ``params._meta`` dict and the server extracts it (remote parent).

Two sessions, protocol 2025-06-18 (so ``mcp.session.id`` exists), each one trace under an
``invoke_agent weather-forecast-agent`` root span:

* session A, stdio (``network.transport=pipe``): initialize, notifications/initialized,
  tools/list, get-weather x5 (the 30 ms one is an ``isError`` result = ``tool_error``, then the
  same call with the same arguments succeeds = a recovery), prompts/get, resources/read,
  search-flights with two ``notifications/progress`` span events;
* session B, Streamable HTTP (``network.transport=tcp``, server.address/port): initialize,
  notifications/initialized, tools/list, get-weather x5 (the 70 ms one is JSON-RPC -32602; the
  next call has different arguments, so it is *not* a recovery), resources/subscribe -32601,
  search-flights timing out on the client (``error.type=timeout``; the server span has no
  error) followed by notifications/cancelled.

get-weather client durations are 10, 20, ..., 100 ms in call order; every server span starts
1 ms after its client span and ends 1 ms before it (notifications: 0.5 ms), except the
timed-out call whose server span ends 2 ms after the client gave up.

``make_protobuf.py`` reuses ``emit_spans()`` for the protobuf variants.

Run: ``python tests/data/dialects/make_semconv.py``
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/data: what the generators share
from _gen_common import SeededIds  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Sequence

HERE = Path(__file__).resolve().parent
JSONL = HERE / "semconv.jsonl"
EXPECTED = HERE / "semconv.expected.json"

MS = 1_000_000  # ns
BASE_NS = 1_795_165_200_000 * MS  # 2026-11-20T09:00:00Z
PROTOCOL = "2025-06-18"
CLIENT_SERVICE = "weather-forecast-agent"
SERVER_SERVICE = "weather-mcp-server"
SCOPE = "mcp.instrumentation.reference"
SCOPE_VERSION = "0.1.0"
SEED = 7


@dataclass
class Op:
    """One MCP request or notification as both sides record it."""

    method: str
    client_ms: float  # client span duration
    target: str | None = None  # tool or prompt name (span name suffix)
    arguments: dict[str, Any] | None = None  # tools/call arguments (opt-in attribute)
    uri: str | None = None  # mcp.resource.uri
    error: str | None = None  # error.type
    message: str | None = None  # status description (JSONRPCError.message)
    client_only_error: bool = False  # timeout: the server span records no error
    progress_ms: Sequence[float] = ()  # client-span offsets of notifications/progress events
    gap_ms: float = 4.0  # idle time before the call (agent thinking)

    @property
    def is_notification(self) -> bool:
        return self.method.startswith("notifications/")


@dataclass
class Session:
    key: str
    session_id: str
    transport: str  # "pipe" | "tcp"
    ops: list[Op]
    server_address: str | None = None
    server_port: int | None = None
    client_address: str | None = None
    client_port: int | None = None
    conversation_id: str = ""
    trace_id: str = ""
    spans: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {"client": [], "server": []})


def _weather(city: str) -> dict[str, Any]:
    return {"location": city, "date": "2026-11-21"}


def plan() -> list[Session]:
    a = Session(
        key="A",
        session_id="8267461134f24305af708e66b8eda71a",
        transport="pipe",
        conversation_id="conv-stdio-0001",
        ops=[
            Op("initialize", 40),
            Op("notifications/initialized", 2, gap_ms=0.5),
            Op("tools/list", 5),
            Op("tools/call", 10, "get-weather", _weather("Paris")),
            Op("tools/call", 20, "get-weather", _weather("Lyon")),
            Op("tools/call", 30, "get-weather", _weather("Atlantis"), error="tool_error"),
            Op("tools/call", 40, "get-weather", _weather("Atlantis")),  # same call again: recovers
            Op("prompts/get", 8, "analyze-code"),
            Op("tools/call", 50, "get-weather", _weather("Nice")),
            Op("resources/read", 12, uri="file:///home/user/trips/notes.md"),
            Op("tools/call", 300, "search-flights", {"from": "PAR", "to": "LIS"}, progress_ms=(100, 200)),
        ],
    )
    b = Session(
        key="B",
        session_id="191c4850af6c49e08843a3f6c80e5046",
        transport="tcp",
        server_address="weather.example.com",
        server_port=443,
        client_address="10.1.2.80",
        client_port=51234,
        conversation_id="conv-http-0002",
        ops=[
            Op("initialize", 25),
            Op("notifications/initialized", 2, gap_ms=0.5),
            Op("tools/list", 5),
            Op("tools/call", 60, "get-weather", _weather("Oslo")),
            Op(
                "tools/call",
                70,
                "get-weather",
                {"date": "2026-11-21"},
                error="-32602",
                message="Invalid params: 'location' is required",
            ),
            Op("tools/call", 80, "get-weather", _weather("Bergen")),  # different arguments: not a retry
            Op("tools/call", 90, "get-weather", _weather("Tromso")),
            Op(
                "resources/subscribe",
                6,
                uri="weather://alerts/oslo",
                error="-32601",
                message="Method not found",
            ),
            Op("tools/call", 100, "get-weather", _weather("Bodo")),
            Op(
                "tools/call",
                500,
                "search-flights",
                {"from": "OSL", "to": "LIS"},
                error="timeout",
                message="Request timed out after 0.5 s",
                client_only_error=True,
            ),
            Op("notifications/cancelled", 2, gap_ms=0.0),
        ],
    )
    return [a, b]


def _resource(service: str, instance: str, version: str) -> Resource:
    return Resource(
        {
            "service.name": service,
            "service.version": version,
            "service.instance.id": instance,
            "telemetry.sdk.language": "python",
            "telemetry.sdk.name": "opentelemetry",
            "telemetry.sdk.version": "1.45.2",
        }
    )


def _attrs(s: Session, op: Op, side: str, request_id: int | None) -> dict[str, Any]:
    a: dict[str, Any] = {
        "mcp.method.name": op.method,
        "mcp.session.id": s.session_id,
        "mcp.protocol.version": PROTOCOL,
        "network.transport": s.transport,
    }
    if request_id is not None:
        a["jsonrpc.request.id"] = str(request_id)
    if op.method == "tools/call":
        a["gen_ai.operation.name"] = "execute_tool"
        a["gen_ai.tool.name"] = op.target
        a["gen_ai.tool.call.arguments"] = json.dumps(op.arguments, separators=(",", ":"), sort_keys=True)
    elif op.method == "prompts/get":
        a["gen_ai.prompt.name"] = op.target
    if op.uri is not None:
        a["mcp.resource.uri"] = op.uri
    if s.transport == "tcp":
        a["network.protocol.name"] = "http"
        a["network.protocol.version"] = "1.1"
        if side == "client":
            a["server.address"] = s.server_address
            a["server.port"] = s.server_port
        else:
            a["client.address"] = s.client_address
            a["client.port"] = s.client_port
    error = op.error if (side == "client" or not op.client_only_error) else None
    if error is not None:
        a["error.type"] = error
        if error.lstrip("-").isdigit():  # a JSON-RPC error code came back in the response
            a["rpc.response.status_code"] = error
    return a


def emit_spans() -> tuple[list[ReadableSpan], list[Session]]:
    """Emit every span through the OTel SDK and return (finished spans, sessions with ground truth)."""
    exporter = InMemorySpanExporter()
    ids = SeededIds(SEED)
    client_provider = TracerProvider(resource=_resource(CLIENT_SERVICE, "agent-1", "2.0.0"), id_generator=ids)
    client_provider.add_span_processor(SimpleSpanProcessor(exporter))
    server_providers: dict[str, TracerProvider] = {}
    for key, instance in (("A", "weather-mcp-stdio-1"), ("B", "weather-mcp-http-1")):
        p = TracerProvider(resource=_resource(SERVER_SERVICE, instance, "1.3.0"), id_generator=ids)
        p.add_span_processor(SimpleSpanProcessor(exporter))
        server_providers[key] = p

    agent_tracer = client_provider.get_tracer(CLIENT_SERVICE, "2.0.0")
    client_tracer = client_provider.get_tracer(SCOPE, SCOPE_VERSION)
    propagator = TraceContextTextMapPropagator()

    sessions = plan()
    t = BASE_NS
    for s in sessions:
        server_tracer = server_providers[s.key].get_tracer(SCOPE, SCOPE_VERSION)
        root_start = t
        root = agent_tracer.start_span(
            f"invoke_agent {CLIENT_SERVICE}",
            kind=SpanKind.INTERNAL,
            start_time=root_start,
            attributes={
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": CLIENT_SERVICE,
                "gen_ai.conversation.id": s.conversation_id,
            },
        )
        s.trace_id = format(root.get_span_context().trace_id, "032x")
        root_ctx = trace.set_span_in_context(root)
        cursor = root_start + 2 * MS
        request_id = 0
        for op in s.ops:
            cursor += int(op.gap_ms * MS)
            rid = None
            if not op.is_notification:
                request_id += 1
                rid = request_id
            name = f"{op.method} {op.target}" if op.target else op.method
            c_start = cursor
            c_end = c_start + int(op.client_ms * MS)
            c_attrs = _attrs(s, op, "client", rid)
            cspan = client_tracer.start_span(
                name, context=root_ctx, kind=SpanKind.CLIENT, start_time=c_start, attributes=c_attrs
            )
            # The client injects the context into params._meta; the server extracts it.
            meta: dict[str, str] = {}
            propagator.inject(meta, context=trace.set_span_in_context(cspan))
            inset = int((0.5 if op.is_notification else 1.0) * MS)
            s_start = c_start + inset
            s_end = c_end + 2 * MS if op.client_only_error else c_end - inset
            s_attrs = _attrs(s, op, "server", rid)
            sspan = server_tracer.start_span(
                name,
                context=propagator.extract(meta),
                kind=SpanKind.SERVER,
                start_time=s_start,
                attributes=s_attrs,
            )
            event_times: dict[str, list[int]] = {"client": [], "server": []}
            for i, off in enumerate(op.progress_ms, 1):
                ev: dict[str, Any] = {
                    "progress": float(i),
                    "total": float(len(op.progress_ms) + 1),
                    "message": f"step {i}",
                }
                event_times["client"].append(c_start + int(off * MS))
                event_times["server"].append(c_start + int((off - 1) * MS))
                cspan.add_event("notifications/progress", ev, timestamp=event_times["client"][-1])
                # the server sent it 1 ms before the client got it
                sspan.add_event("notifications/progress", ev, timestamp=event_times["server"][-1])
            for span, attrs in ((cspan, c_attrs), (sspan, s_attrs)):
                if "error.type" in attrs:
                    span.set_status(Status(StatusCode.ERROR, op.message))
            sspan.end(end_time=s_end)
            cspan.end(end_time=c_end)
            for side, span, start, end, attrs in (
                ("client", cspan, c_start, c_end, c_attrs),
                ("server", sspan, s_start, s_end, s_attrs),
            ):
                s.spans[side].append(
                    {
                        "name": name,
                        "method": op.method,
                        "target": op.target,
                        "span_id": format(span.get_span_context().span_id, "016x"),
                        "request_id": rid,
                        "duration_ms": (end - start) / MS,
                        "error": attrs.get("error.type"),
                        "arguments": op.arguments,
                        "progress_offsets_ms": [(ts - start) / MS for ts in event_times[side]],
                    }
                )
            cursor = c_end
        root.end(end_time=cursor + 3 * MS)
        t = cursor + 3 * MS + 60_000 * MS  # next session a minute later

    for p in (client_provider, *server_providers.values()):
        p.shutdown()
    return list(exporter.get_finished_spans()), sessions


def line_groups(spans: list[ReadableSpan]) -> list[list[ReadableSpan]]:
    """How the spans are split into OTLP requests (lines / records): per session and side.

    The order is deliberately not chronological (server lines first), as Collector files are not.
    """
    groups: dict[tuple[int, str], list[ReadableSpan]] = {}
    trace_order: list[int] = []
    for sp in spans:
        tid = sp.context.trace_id
        if tid not in trace_order:
            trace_order.append(tid)
        side = "server" if sp.resource.attributes["service.name"] == SERVER_SERVICE else "client"
        groups.setdefault((tid, side), []).append(sp)
    out = []
    for tid in trace_order:
        out.append(groups[(tid, "server")])
        out.append(groups[(tid, "client")])
    return out


def write_jsonl(spans: list[ReadableSpan], path: Path) -> None:
    path.unlink(missing_ok=True)
    exporter = FileSpanExporter(path)
    for group in line_groups(spans):
        exporter.export(group)
    exporter.shutdown()


def expected(sessions: list[Session], spans: list[ReadableSpan]) -> dict[str, Any]:
    sides: dict[str, dict[str, dict[str, Any]]] = {"client": {}, "server": {}}
    for s in sessions:
        for side in ("client", "server"):
            for rec in s.spans[side]:
                row = sides[side].setdefault(
                    rec["name"],
                    {
                        "method": rec["method"],
                        "target": rec["target"],
                        "calls": 0,
                        "errors": {},
                        "durations_ms": [],
                    },
                )
                row["calls"] += 1
                row["durations_ms"].append(rec["duration_ms"])
                if rec["error"]:
                    row["errors"][rec["error"]] = row["errors"].get(rec["error"], 0) + 1

    for table in sides.values():
        for row in table.values():
            row["quantiles_ms_linear"] = {
                f"p{q}": _quantile(row["durations_ms"], q / 100) for q in (50, 95, 99)
            }

    recoveries: list[dict[str, Any]] = []
    not_recoveries: list[dict[str, Any]] = []
    for s in sessions:
        calls = [r for r in s.spans["client"] if r["method"] == "tools/call"]
        for prev, nxt in itertools.pairwise(calls):
            if prev["error"] and nxt["target"] == prev["target"]:
                row = {
                    "session": s.session_id,
                    "tool": nxt["target"],
                    "error": prev["error"],
                    "failed_client_span": prev["span_id"],
                    "retry_client_span": nxt["span_id"],
                    "retry_ok": nxt["error"] is None,
                    "same_arguments": prev["arguments"] == nxt["arguments"],
                }
                (recoveries if row["same_arguments"] and row["retry_ok"] else not_recoveries).append(row)

    progress = []
    for s in sessions:
        for side in ("client", "server"):
            for rec in s.spans[side]:
                if rec["progress_offsets_ms"]:
                    progress.append(
                        {
                            "session": s.session_id,
                            "side": side,
                            "span": rec["name"],
                            "span_id": rec["span_id"],
                            "event": "notifications/progress",
                            "offsets_ms": rec["progress_offsets_ms"],
                        }
                    )

    n_client = sum(len(s.spans["client"]) for s in sessions)
    n_server = sum(len(s.spans["server"]) for s in sessions)
    return {
        "about": "Ground truth for semconv.jsonl / semconv.binpb / semconv.collector.pb / "
        "semconv.protojson.jsonl (all the same spans), written by make_semconv.py from its plan. "
        "Durations are exact (ms). "
        "'errors' are error.type values; status is ERROR exactly when error.type is set.",
        "protocol_version": PROTOCOL,
        "services": {"client": CLIENT_SERVICE, "server": SERVER_SERVICE},
        "span_counts": {
            "total": len(spans),
            "client_mcp": n_client,
            "server_mcp": n_server,
            "root": len(sessions),
        },
        "traces": len(sessions),
        "lines": len(line_groups(spans)),
        "sessions": [
            {
                "mcp.session.id": s.session_id,
                "trace_id": s.trace_id,
                "network.transport": s.transport,
                "server.address": s.server_address,
                "server.port": s.server_port,
                "requests": sum(1 for o in s.ops if not o.is_notification),
                "notifications": sum(1 for o in s.ops if o.is_notification),
                "calls": {"client": len(s.spans["client"]), "server": len(s.spans["server"])},
                "tool_calls": sum(1 for o in s.ops if o.method == "tools/call"),
                "errors": {
                    side: sum(1 for r in s.spans[side] if r["error"]) for side in ("client", "server")
                },
            }
            for s in sessions
        ],
        "client": sides["client"],
        "server": sides["server"],
        "recoveries": recoveries,
        "not_recoveries": not_recoveries,
        "progress_events": progress,
        "notes": [
            "server spans start 1 ms after and end 1 ms before their client span (notifications: 0.5 ms), "
            "except the timed-out search-flights call whose server span ends 2 ms after the client's",
            "the timed-out call: client error.type=timeout (no rpc.response.status_code); "
            "its server span has no error",
            "gen_ai.tool.call.arguments (opt-in) is set on tools/call spans as a JSON string",
            "every server span's parent is the matching client span (remote parent via params._meta)",
        ],
    }


def _quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy default, DuckDB quantile_cont)."""
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo), 6)


def main() -> None:
    spans, sessions = emit_spans()
    write_jsonl(spans, JSONL)
    EXPECTED.write_text(json.dumps(expected(sessions, spans), indent=2) + "\n")
    print(f"wrote {JSONL.name}: {len(spans)} spans, {JSONL.stat().st_size} bytes; {EXPECTED.name}")


if __name__ == "__main__":
    main()
