"""Time each call section on ClickHouse (chDB) against a plain count() of the same rows, same filter.

The spans are generated inside ClickHouse with numbers(), in the Collector exporter's otel_traces
schema (the DDL of tests/clickhouse/otel_traces_exporter.py): traces of 10 spans, each an agent's
root span, four MCP client calls (`MCP send tools/call …`, kind Client) each answered by a server
span (`tools/call …`, kind Server, child of the client's), and a plain HTTP span; one call in 50
fails, sessions by `mcp.session.id`, spread over three days.

    python benchmarks/bench_clickhouse.py --quick      # 1M spans
    python benchmarks/bench_clickhouse.py              # 10M spans (--spans N for another size)

Target (issue 17): each section within 5x of the count().
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from common import Target

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "clickhouse"))

from otel_traces_exporter import DDL  # noqa: E402

from mcpobs.analysis import Query, analyze  # noqa: E402
from mcpobs.clickhouse import ClickHouseTraces, parse  # noqa: E402

SECTIONS = ("calls", "errors", "sessions", "traces")
LIMIT = 5.0

GENERATE = """
INSERT INTO otel.otel_traces
SELECT
    fromUnixTimestamp64Nano(toInt64(1764000000000000000 + intDiv(number, 10) * 30000000 + (number % 10) * 1000000))
        AS Timestamp,
    lower(hex(cityHash64(intDiv(number, 10)))) || lower(hex(cityHash64(intDiv(number, 10), 1))) AS TraceId,
    lower(hex(cityHash64(number))) AS SpanId,
    multiIf(k = 0, '', k IN (1, 3, 5, 7), lower(hex(cityHash64(number - k))), k IN (2, 4, 6, 8),
        lower(hex(cityHash64(number - 1))), lower(hex(cityHash64(number - k)))) AS ParentSpanId,
    '' AS TraceState,
    multiIf(k = 0, 'agent run', k IN (1, 3, 5, 7), 'MCP send tools/call ' || tool, k IN (2, 4, 6, 8),
        'tools/call ' || tool, 'GET /health') AS SpanName,
    multiIf(k = 0, 'Internal', k IN (1, 3, 5, 7), 'Client', k IN (2, 4, 6, 8), 'Server', 'Client') AS SpanKind,
    if(k IN (2, 4, 6, 8), 'toolbox-server', 'agent') AS ServiceName,
    map('service.name', if(k IN (2, 4, 6, 8), 'toolbox-server', 'agent')) AS ResourceAttributes,
    if(k IN (1, 3, 5, 7), 'mcp-python-sdk', 'bench') AS ScopeName,
    '1.0' AS ScopeVersion,
    multiIf(
        k IN (1, 3, 5, 7), map('mcp.method.name', 'tools/call', 'jsonrpc.request.id', toString(number)),
        k IN (2, 4, 6, 8), map('mcp.method.name', 'tools/call', 'gen_ai.tool.name', tool,
            'mcp.session.id', 's' || toString(intDiv(number, 100)), 'network.transport', 'tcp',
            'jsonrpc.request.id', toString(number))
            || if(failed, map('error.type', 'tool_error'), map()),
        map('http.request.method', 'GET')) AS SpanAttributes,
    toUInt64(1000000 + cityHash64(number, 2) % 50000000) AS Duration,
    if(failed, 'Error', 'Unset') AS StatusCode,
    '' AS StatusMessage,
    [] AS `Events.Timestamp`, [] AS `Events.Name`, [] AS `Events.Attributes`,
    [] AS `Links.TraceId`, [] AS `Links.SpanId`, [] AS `Links.TraceState`, [] AS `Links.Attributes`
FROM (
    SELECT number, number % 10 AS k, 'tool' || toString(intDiv(number, 10) % 20) AS tool,
        (number % 10 IN (1, 2) AND intDiv(number, 10) % 25 = 0) AS failed
    FROM numbers({spans})
)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M spans")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mcpobs-bench-clickhouse"))
    args = parser.parse_args()
    spans = 1_000_000 if args.quick else args.spans
    from chdb import session

    directory = args.workdir / f"chdb-{spans}"
    if not (directory / "ready").exists():
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        s = session.Session(str(directory))
        started = time.perf_counter()
        s.query("CREATE DATABASE IF NOT EXISTS otel")
        s.query(DDL.format(database="otel", table="otel_traces"))
        s.query(GENERATE.format(spans=spans))
        s.query("OPTIMIZE TABLE otel.otel_traces FINAL")
        s.close()
        (directory / "ready").touch()
        print(f"generated {spans:,} spans in {time.perf_counter() - started:.1f} s", flush=True)
    targets = []
    with ClickHouseTraces(parse(f"chdb:{directory}")) as traces:
        count_started = time.perf_counter()
        (n,) = traces.run("SELECT count() FROM otel.otel_traces WHERE true", {})[0]
        count_s = time.perf_counter() - count_started
        print(f"count(): {n:,} spans in {count_s:.3f} s", flush=True)
        for section in SECTIONS:
            started = time.perf_counter()
            analyze(traces, Query(views=(section,)))
            took = time.perf_counter() - started
            targets.append(
                Target(
                    f"{section} on {spans:,} spans",
                    "analyze --view SECTION on chDB / SELECT count() with the same filter",
                    took / count_s,
                    LIMIT,
                    detail=f"{took:.2f} s vs {count_s:.3f} s",
                )
            )
            print(targets[-1].line(), f"({targets[-1].detail})", flush=True)


if __name__ == "__main__":
    main()
