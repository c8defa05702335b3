"""Write a large synthetic OTLP JSON lines file of MCP tool-call traces.

The shape follows what the OpenTelemetry Collector's file exporter writes: one
``ExportTraceServiceRequest`` per line, each a batch of spans from one resource.
Every trace is an agent session: a root span, then MCP calls seen from the
client (``MCP send tools/call …``, as the mcp SDK names them) and from the
server (``tools/call …`` per the semantic conventions), with lognormal latencies
and a few errors of each class.

Spans carry what real exports carry, so that 1M spans is about 1 GB like a
Collector file of the same count: server spans have the network attributes
(``server.address``, ``server.port``, ``client.address``, ``network.protocol.*``),
``gen_ai.tool.call.id``, ``mcp.session.id`` and, on some, the opt-in
``gen_ai.tool.call.arguments``; long-running tools report
``notifications/progress`` events on both sides, and failed calls record an
``exception`` event (a timeout on the client with its stack trace, a tool error
on the server).

    python benchmarks/generate.py --spans 1000000 --out /tmp/spans.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

TOOLS = ["search_docs", "get_weather", "read_file", "run_query", "send_email", "list_issues"]
SERVERS = ["toolbox-server", "github-server", "db-server"]
ERRORS = ["tool_error", "-32602", "-32603", "-32001"]
# Where each server listens; clients call it over Streamable HTTP.
ADDRESSES = {
    "toolbox-server": ("toolbox.tools.svc.cluster.local", 8080),
    "github-server": ("github-mcp.tools.svc.cluster.local", 8443),
    "db-server": ("db-mcp.data.svc.cluster.local", 9000),
}
# Tools slow enough to report progress, and the messages they report.
PROGRESS = {"search_docs": ("searching", "ranking", "fetching"), "run_query": ("planning", "scanning", "sorting")}
ARGUMENT_SHARE = 0.5  # server spans that record the opt-in gen_ai.tool.call.arguments
CITIES = ["Lisbon", "Porto", "Berlin", "Oslo", "Kyoto", "Lima", "Austin", "Nairobi"]
WORDS = ["rotate", "api", "keys", "deploy", "rollback", "quota", "billing", "latency", "webhook", "schema", "index"]
_TIMEOUT_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/agent/.venv/lib/python3.12/site-packages/mcp/shared/jsonrpc_dispatcher.py", line 416, '
    "in send_raw_request\n    outcome = await receive.receive()\n"
    '  File "/srv/agent/.venv/lib/python3.12/site-packages/anyio/streams/memory.py", line 131, in receive\n'
    "    await receive_event.wait()\nasyncio.exceptions.CancelledError\n\n"
    "During handling of the above exception, another exception occurred:\n\n"
    "Traceback (most recent call last):\n"
    '  File "/srv/agent/.venv/lib/python3.12/site-packages/mcp/client/session.py", line 288, in call_tool\n'
    "    result = await self.send_request(request, CallToolResult)\nTimeoutError"
)
_TOOL_TRACE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/tools/.venv/lib/python3.12/site-packages/mcp/server/mcpserver/tools/base.py", line 97, in run\n'
    "    return await self.fn_metadata.call_fn_with_arg_validation(self.fn, self.is_async, arguments)\n"
    '  File "/srv/tools/app/handlers.py", line 54, in handle\n    raise ToolError(message)\n'
    "mcp.server.mcpserver.exceptions.ToolError"
)


def _attr(key: str, value: str | int | bool) -> str:
    if isinstance(value, bool):
        return f'{{"key":"{key}","value":{{"boolValue":{"true" if value else "false"}}}}}'
    if isinstance(value, int):
        return f'{{"key":"{key}","value":{{"intValue":"{value}"}}}}'
    return f'{{"key":"{key}","value":{{"stringValue":{json.dumps(value)}}}}}'


def _span(
    trace_id: str,
    span_id: str,
    parent: str,
    name: str,
    kind: int,
    start: int,
    end: int,
    attrs: list[str],
    error: bool,
    events: list[str] | None = None,
) -> str:
    status = '{"code":2,"message":"failed"}' if error else "{}"
    events_json = f'"events":[{",".join(events)}],' if events else ""
    return (
        f'{{"traceId":"{trace_id}","spanId":"{span_id}","parentSpanId":"{parent}",'
        f'"flags":257,"name":"{name}","kind":{kind},'
        f'"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}",'
        f'"attributes":[{",".join(attrs)}],{events_json}"status":{status}}}'
    )


def _event(name: str, time: int, attrs: list[str]) -> str:
    return f'{{"timeUnixNano":"{time}","name":"{name}","attributes":[{",".join(attrs)}]}}'


def _progress(start: int, latency: int, messages: tuple[str, ...], offset: int) -> list[str]:
    """``notifications/progress`` events spread over a call, the first early on."""
    total = len(messages)
    step = latency // (total + 1)
    return [
        _event(
            "notifications/progress",
            start + offset + (i + 1) * step,
            [
                f'{{"key":"progress","value":{{"doubleValue":{i + 1}.0}}}}',
                f'{{"key":"total","value":{{"doubleValue":{total}.0}}}}',
                _attr("message", m),
            ],
        )
        for i, m in enumerate(messages)
    ]


def _exception(time: int, kind: str, message: str, trace: str) -> str:
    return _event(
        "exception",
        time,
        [
            _attr("exception.type", kind),
            _attr("exception.message", message),
            _attr("exception.stacktrace", trace),
            _attr("exception.escaped", False),
        ],
    )


def _arguments(rng: random.Random, tool: str) -> str:
    """A tool call's arguments as the JSON text ``gen_ai.tool.call.arguments`` holds."""
    if tool == "search_docs":
        args: dict[str, object] = {"query": " ".join(rng.sample(WORDS, 3)), "limit": rng.choice((5, 10, 20))}
    elif tool == "get_weather":
        args = {"city": rng.choice(CITIES), "units": "metric", "days": rng.randint(1, 7)}
    elif tool == "read_file":
        args = {"path": f"/srv/repo/src/{rng.choice(WORDS)}/module_{rng.randrange(500)}.py", "max_bytes": 65536}
    elif tool == "run_query":
        args = {"sql": f"SELECT id, status, total FROM orders WHERE customer_id = {rng.randrange(10**6)} LIMIT 100"}
    elif tool == "send_email":
        args = {"to": f"user{rng.randrange(10**4)}@example.com", "subject": f"Weekly {rng.choice(WORDS)} report"}
    else:
        args = {"repo": f"acme/{rng.choice(WORDS)}", "state": "open", "labels": ["bug"], "per_page": 50}
    return json.dumps(args, separators=(",", ":"))


def _resource(service: str) -> str:
    attrs = [
        _attr("service.name", service),
        _attr("service.version", "1.4.0"),
        _attr("service.instance.id", f"{service}-7d9f8c6b5-x2k4q"),
        _attr("deployment.environment.name", "production"),
        _attr("host.name", f"{service}-7d9f8c6b5-x2k4q"),
        _attr("telemetry.sdk.language", "python"),
        _attr("telemetry.sdk.name", "opentelemetry"),
        _attr("telemetry.sdk.version", "1.45.2"),
    ]
    return f'{{"attributes":[{",".join(attrs)}]}}'


def generate(out, spans: int, per_line: int, seed: int) -> int:  # type: ignore[no-untyped-def]
    """Write about ``spans`` spans to ``out``; return how many were written."""
    rng = random.Random(seed)
    written = 0
    batch: dict[str, list[str]] = {}
    scope = '{"name":"mcp-python-sdk"}'
    clock = 1_763_000_000_000_000_000
    session = 0

    def flush() -> None:
        parts = []
        for service, items in batch.items():
            parts.append(
                f'{{"resource":{_resource(service)},"scopeSpans":[{{"scope":{scope},"spans":[{",".join(items)}]}}]}}'
            )
        out.write(f'{{"resourceSpans":[{",".join(parts)}]}}\n')
        batch.clear()

    pending = 0
    while written < spans:
        session += 1
        trace_id = f"{rng.getrandbits(128):032x}"
        root_id = f"{rng.getrandbits(64):016x}"
        session_id = f"{rng.getrandbits(64):016x}"
        server = rng.choice(SERVERS)
        host, port = ADDRESSES[server]
        network = [
            _attr("server.address", host),
            _attr("server.port", port),
            _attr("network.protocol.name", "http"),
            _attr("network.protocol.version", "1.1"),
            _attr("client.address", f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"),
            _attr("client.port", rng.randrange(32768, 61000)),
            _attr("network.peer.address", f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"),
        ]
        t = clock + session * 10_000_000_000
        calls = rng.randint(3, 12)
        root_start = t
        for request_id in range(1, calls + 1):
            tool = rng.choice(TOOLS)
            latency = int(rng.lognormvariate(4.0, 0.8) * 1_000_000)  # ~55 ms median
            error = ERRORS[rng.randrange(len(ERRORS))] if rng.random() < 0.04 else None
            common = [
                _attr("mcp.method.name", "tools/call"),
                _attr("jsonrpc.request.id", str(request_id)),
            ]
            client_id = f"{rng.getrandbits(64):016x}"
            client_attrs = list(common)
            server_attrs = [
                *common,
                _attr("gen_ai.tool.name", tool),
                _attr("gen_ai.operation.name", "execute_tool"),
                _attr("gen_ai.tool.type", "function"),
                _attr("gen_ai.tool.call.id", f"call_{rng.getrandbits(96):024x}"),
                _attr("mcp.session.id", session_id),
                _attr("mcp.protocol.version", "2025-06-18"),
                _attr("network.transport", "tcp"),
                *network,
            ]
            if rng.random() < ARGUMENT_SHARE:
                server_attrs.append(_attr("gen_ai.tool.call.arguments", _arguments(rng, tool)))
            client_events: list[str] = []
            server_events: list[str] = []
            messages = PROGRESS.get(tool)
            if messages and rng.random() < 0.5:
                client_events = _progress(t, latency, messages, 1_500_000)
                server_events = _progress(t, latency, messages, 1_200_000)
            if error:
                client_attrs.append(_attr("error.type", error))
                server_attrs.append(_attr("error.type", error))
                if error.startswith("-"):
                    client_attrs.append(_attr("rpc.response.status_code", error))
                    server_attrs.append(_attr("rpc.response.status_code", error))
                if error == "-32001":
                    client_events.append(_exception(t + latency + 1_900_000, "TimeoutError", "", _TIMEOUT_TRACE))
                elif error in ("tool_error", "-32603"):
                    kind = "ToolError" if error == "tool_error" else "RuntimeError"
                    server_events.append(_exception(t + latency + 900_000, kind, f"{tool} failed", _TOOL_TRACE))
            batch.setdefault("weather-agent", []).append(
                _span(
                    trace_id,
                    client_id,
                    root_id,
                    f"MCP send tools/call {tool}",
                    3,
                    t,
                    t + latency + 2_000_000,
                    client_attrs,
                    error is not None,
                    client_events,
                )
            )
            batch.setdefault(server, []).append(
                _span(
                    trace_id,
                    f"{rng.getrandbits(64):016x}",
                    client_id,
                    f"tools/call {tool}",
                    2,
                    t + 1_000_000,
                    t + latency + 1_000_000,
                    server_attrs,
                    error is not None,
                    server_events,
                )
            )
            t += latency + 5_000_000
            written += 2
            pending += 2
        batch.setdefault("weather-agent", []).append(
            _span(
                trace_id,
                root_id,
                "",
                "invoke_agent weather-agent",
                1,
                root_start,
                t,
                [_attr("gen_ai.operation.name", "invoke_agent"), _attr("mcp.session.id", session_id)],
                False,
            )
        )
        written += 1
        pending += 1
        if pending >= per_line:
            flush()
            pending = 0
    if batch:
        flush()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--per-line", type=int, default=512, help="spans per JSON line (batch size)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    with args.out.open("w") as out:
        n = generate(out, args.spans, args.per_line, args.seed)
    print(f"wrote {n} spans to {args.out} ({args.out.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
