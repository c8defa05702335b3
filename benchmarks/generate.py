"""Write a large synthetic OTLP JSON lines file of MCP tool-call traces.

The shape follows what the OpenTelemetry Collector's file exporter writes: one
``ExportTraceServiceRequest`` per line, each a batch of spans from one resource.
Every trace is an agent session: a root span, then MCP calls seen from the
client (``MCP send tools/call …``, as the mcp SDK names them) and from the
server (``tools/call …`` per the semantic conventions), with lognormal latencies
and a few errors of each class.

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
) -> str:
    status = '{"code":2,"message":"failed"}' if error else "{}"
    return (
        f'{{"traceId":"{trace_id}","spanId":"{span_id}","parentSpanId":"{parent}",'
        f'"flags":257,"name":"{name}","kind":{kind},'
        f'"startTimeUnixNano":"{start}","endTimeUnixNano":"{end}",'
        f'"attributes":[{",".join(attrs)}],"status":{status}}}'
    )


def _resource(service: str) -> str:
    attrs = [
        _attr("service.name", service),
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
                _attr("mcp.session.id", session_id),
                _attr("mcp.protocol.version", "2025-06-18"),
                _attr("network.transport", "tcp"),
            ]
            if error:
                client_attrs.append(_attr("error.type", error))
                server_attrs.append(_attr("error.type", error))
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
