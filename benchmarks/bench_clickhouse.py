"""Time each call section on ClickHouse (chDB) against a plain count() of the same rows, same filter.

The spans are generated inside ClickHouse with numbers(), in the Collector exporter's otel_traces
schema (the DDL of tests/clickhouse/otel_traces_exporter.py): traces of 10 spans, each an agent's
root span, four MCP client calls (`MCP send tools/call …`, kind Client) each answered by a server
span (`tools/call …`, kind Server, child of the client's), and a plain HTTP span; one call in 50
fails, sessions by `mcp.session.id`, spread over three days.

    python benchmarks/bench_clickhouse.py --quick      # 1M spans
    python benchmarks/bench_clickhouse.py --quick --mix 20   # 1M spans, one trace in 20 MCP, the rest HTTP/DB
    python benchmarks/bench_clickhouse.py              # 10M spans (--spans N for another size)
    python benchmarks/run.py --only clickhouse         # the same rows among the runner's

Target (issue 17): each section within 5x of the count(). A command pays the call model once (its
spans derived into the session's temporary table), then each section reads that: both are rows.
With ``--mix N`` only one trace in N holds MCP calls, the others a shop's HTTP, database and queue
spans, as in a production table: the model derives the MCP traces only. The memory a build takes is
the peak RSS of a fresh process that builds it once, beside one that only opens the session.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

from common import MIN_ROUNDS, Stopwatch, Target, in_fresh_process, load_average, machine, round_ratio, timed_rounds

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "clickhouse"))

from otel_traces_exporter import DDL  # noqa: E402

from mcpobs.analysis import Query, analyze  # noqa: E402
from mcpobs.clickhouse import TIME_LIMIT_VARIABLE, ClickHouseTraces, parse  # noqa: E402

# each query's time limit lifted, as a user may: on a loaded machine the model of 10M spans nears the
# 300 s a query is allowed by default, and a benchmark that stops there measures nothing
os.environ[TIME_LIMIT_VARIABLE] = "0"

SECTIONS = ("calls", "errors", "sessions", "traces")
LIMIT = 5.0

GENERATE = """
INSERT INTO otel.otel_traces
SELECT
    fromUnixTimestamp64Nano(toInt64(1764000000000000000 + intDiv(number, 10) * 30000000
        + if(llm_call, 100000, (number % 10) * 1000000))) AS Timestamp,
    lower(hex(cityHash64(intDiv(number, 10)))) || lower(hex(cityHash64(intDiv(number, 10), 1))) AS TraceId,
    lower(hex(cityHash64(number))) AS SpanId,
    multiIf(k = 0, '', k IN (1, 3, 5, 7), lower(hex(cityHash64(number - k))), k IN (2, 4, 6, 8),
        lower(hex(cityHash64(number - 1))), lower(hex(cityHash64(number - k)))) AS ParentSpanId,
    '' AS TraceState,
    multiIf(NOT mcp, multiIf(k = 0, 'GET /checkout', k IN (1, 3, 5, 7), 'SELECT orders', k IN (2, 4, 6, 8), 'GET',
        'orders publish'), k = 0, 'agent run', k IN (1, 3, 5, 7), 'MCP send tools/call ' || tool, k IN (2, 4, 6, 8),
        'tools/call ' || tool, llm_call, 'chat gpt-4o', 'GET /health') AS SpanName,
    multiIf(NOT mcp, multiIf(k = 0, 'Server', k = 9, 'Producer', 'Client'), k = 0, 'Internal',
        k IN (1, 3, 5, 7), 'Client', k IN (2, 4, 6, 8), 'Server', 'Client') AS SpanKind,
    multiIf(NOT mcp, 'shop-frontend', k IN (2, 4, 6, 8), 'toolbox-server', 'agent') AS ServiceName,
    map('service.name', multiIf(NOT mcp, 'shop-frontend', k IN (2, 4, 6, 8), 'toolbox-server', 'agent'))
        AS ResourceAttributes,
    multiIf(NOT mcp, 'io.opentelemetry.http', k IN (1, 3, 5, 7), 'mcp-python-sdk', 'bench') AS ScopeName,
    '1.0' AS ScopeVersion,
    multiIf(
        -- a trace of no MCP or GenAI span: an HTTP request to a shop, its database queries, HTTP calls and a
        -- queue message, with the attributes their instrumentations write
        NOT mcp AND k = 0, map('http.request.method', 'GET', 'http.route', '/checkout', 'url.scheme', 'https',
            'http.response.status_code', if(failed, '500', '200'), 'server.address', 'shop.example',
            'network.protocol.version', '1.1', 'user_agent.original', 'Mozilla/5.0'),
        NOT mcp AND k IN (1, 3, 5, 7), map('db.system.name', 'postgresql', 'db.namespace', 'shop',
            'db.query.text', 'SELECT * FROM orders WHERE id = $1', 'db.operation.name', 'SELECT',
            'server.address', 'db.internal', 'server.port', '5432'),
        NOT mcp AND k IN (2, 4, 6, 8), map('http.request.method', 'GET',
            'url.full', 'http://inventory.internal:8080/items/' || toString(number),
            'http.response.status_code', if(failed, '503', '200'), 'server.address', 'inventory.internal',
            'server.port', '8080', 'network.transport', 'tcp', 'network.protocol.version', '1.1'),
        NOT mcp, map('messaging.system', 'kafka', 'messaging.destination.name', 'orders',
            'messaging.operation.type', 'send', 'messaging.message.id', toString(number),
            'server.address', 'kafka.internal'),
        k IN (1, 3, 5, 7), map('mcp.method.name', 'tools/call', 'jsonrpc.request.id', toString(number)),
        k IN (2, 4, 6, 8), map('mcp.method.name', 'tools/call', 'gen_ai.tool.name', tool,
            'mcp.session.id', 's' || toString(intDiv(number, 100)), 'network.transport', 'tcp',
            'jsonrpc.request.id', toString(number))
            || if(failed, map('error.type', 'tool_error'), map()),
        llm_call, map('gen_ai.operation.name', 'chat', 'gen_ai.provider.name', 'openai',
            'gen_ai.request.model', 'gpt-4o', 'gen_ai.usage.input_tokens', toString(100 + number % 900),
            'gen_ai.usage.output_tokens', toString(10 + number % 90)),
        map('http.request.method', 'GET')) AS SpanAttributes,
    if(llm_call, toUInt64(500000), toUInt64(1000000 + cityHash64(number, 2) % 50000000)) AS Duration,
    if(failed, 'Error', 'Unset') AS StatusCode,
    '' AS StatusMessage,
    [] AS `Events.Timestamp`, [] AS `Events.Name`, [] AS `Events.Attributes`,
    [] AS `Links.TraceId`, [] AS `Links.SpanId`, [] AS `Links.TraceState`, [] AS `Links.Attributes`
FROM (
    SELECT number, number % 10 AS k, 'tool' || toString(intDiv(number, 10) % 20) AS tool,
        (number % 10 IN (1, 2) AND intDiv(number, 10) % 25 = 0) AS failed,
        -- with --cost, the tenth span is an LLM call that ends before the trace's tool calls start
        (number % 10 = 9 AND {llm} AND mcp) AS llm_call,
        -- with --mix N, one trace in N holds MCP calls, the others none
        (intDiv(number, 10) % {every} = 0) AS mcp
    FROM numbers({spans})
)
"""


# The same spans as OTLP JSON lines (one line per trace, a resource per span), for the DuckDB store: the
# inverse of the exporter's mapping for what GENERATE writes (string attributes, no events or links); hex()
# leaves out an id's leading zero bytes, which OTLP's fixed-length ids need back
OTLP = """
SELECT '{{"resourceSpans":[' || arrayStringConcat(groupArray(span), ',') || ']}}'
FROM (
    SELECT TraceId,
        '{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"' || ServiceName
        || '"}}}}]}},"scopeSpans":[{{"scope":{{"name":"' || ScopeName || '"}},"spans":[{{"traceId":"'
        || leftPad(TraceId, 32, '0') || '","spanId":"' || leftPad(SpanId, 16, '0') || '"'
        || if(ParentSpanId = '', '', ',"parentSpanId":"' || leftPad(ParentSpanId, 16, '0') || '"')
        || ',"name":"' || SpanName || '","kind":' || multiIf(SpanKind = 'Server', '2', SpanKind = 'Client', '3', '1')
        || ',"startTimeUnixNano":"' || toString(toUnixTimestamp64Nano(Timestamp))
        || '","endTimeUnixNano":"' || toString(toUnixTimestamp64Nano(Timestamp) + Duration)
        || '","attributes":[' || arrayStringConcat(arrayMap((k, v) -> '{{"key":"' || k || '","value":{{"stringValue":"'
            || v || '"}}}}', mapKeys(SpanAttributes), mapValues(SpanAttributes)), ',') || ']'
        || if(StatusCode = 'Error', ',"status":{{"code":2}}', '') || '}}]}}]}}' AS span
    FROM otel.otel_traces
)
GROUP BY TraceId
INTO OUTFILE '{path}' FORMAT TSVRaw
"""


def generated(spans: int, workdir: Path, llm: bool = False, every: int = 1) -> Path:
    """The chDB directory holding ``spans`` generated spans, made on the first run of that size
    (``llm``: each trace's tenth span an LLM call rather than an HTTP request; ``every``: one trace in
    ``every`` holds MCP calls, the others a shop's HTTP, database and queue spans)."""
    from chdb import session

    mix = f"mix{every}-" if every > 1 else ""
    directory = workdir / f"chdb-{'llm-' if llm else ''}{mix}{spans}"
    if not (directory / "ready").exists():
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        s = session.Session(str(directory))
        started = time.perf_counter()
        s.query("CREATE DATABASE IF NOT EXISTS otel")
        s.query(DDL.format(database="otel", table="otel_traces"))
        s.query(GENERATE.format(spans=spans, llm=str(llm).lower(), every=every))
        s.query("OPTIMIZE TABLE otel.otel_traces FINAL")
        s.close()
        (directory / "ready").touch()
        print(f"generated {spans:,} spans in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return directory


def measure(spans: int, workdir: Path, rounds: int, every: int = 1) -> list[Target]:
    """Per round: the count(), the call model built (what opening the table costs, once per command),
    then each section over it; the ratios are the medians of each round's own (``every``: one trace in
    ``every`` holds MCP calls). Then the peak memory of a build, in a fresh process."""
    directory = generated(spans, workdir, every=every)
    location = parse(f"chdb:{directory}")
    # the window every command reads a server over: a condition on Timestamp in the scan, here all of it
    since, until = 1_764_000_000 * 10**9, 1_764_000_000 * 10**9 + 366 * 86_400 * 10**9

    def one_round(clock: Stopwatch) -> None:
        with clock("model"):
            traces = ClickHouseTraces(location, since, until)
        with traces:
            with clock("count()"):
                (found,) = traces.run(
                    "SELECT count() FROM otel.otel_traces WHERE Timestamp >= fromUnixTimestamp64Nano(toInt64($since)) "
                    "AND Timestamp < fromUnixTimestamp64Nano(toInt64($until))",
                    {"since": since, "until": until},
                )[0]
            assert found == spans, (found, spans)
            # count() is answered from the parts' metadata: a scan that reads every column shows what
            # reading the rows at all costs (ignore(*) reads each and keeps none)
            with clock("scan"):
                traces.run(
                    "SELECT count() FROM otel.otel_traces WHERE Timestamp >= fromUnixTimestamp64Nano(toInt64($since)) "
                    "AND Timestamp < fromUnixTimestamp64Nano(toInt64($until)) AND NOT ignore(*)",
                    {"since": since, "until": until},
                )
            for section in SECTIONS:
                with clock(section):
                    analyze(traces, Query(views=(section,)))

    times = timed_rounds(one_round, rounds)
    counts, scans, builds = times["count()"], times["scan"], times["model"]
    sections = {section: times[section] for section in SECTIONS}
    count = statistics.median(counts)
    scan = statistics.median(scans)
    build = statistics.median(builds)
    script = Path(__file__)
    opened = in_fresh_process(script, "open", {"directory": str(directory)})
    built = in_fresh_process(script, "build", {"directory": str(directory), "since": since, "until": until})
    memory = (
        f"peak RSS of a build {int(built['peak']) / 2**20:,.0f} MiB in {built['buckets']} part(s), "
        f"of a session opened alone {int(opened['peak']) / 2**20:,.0f} MiB"
    )
    print(memory, file=sys.stderr, flush=True)
    compared = "SELECT count() with the same Timestamp window, chDB"
    mix = f", one trace in {every} MCP" if every > 1 else ""
    found = [
        Target(
            f"call model of {spans:,} spans{mix} (once per command)",
            f"opening the table (the model into the session's temporary table) / {compared}",
            round_ratio(builds, counts),
            LIMIT,
            detail=f"median of {rounds} rounds: {build:.1f} s against {count:.3f} s; "
            f"a scan reading every column {scan:.2f} s ({round_ratio(builds, scans):.0f}x); {memory}",
        )
    ]
    for section, times in sections.items():
        took = statistics.median(times)
        found.append(
            Target(
                f"{section} on {spans:,} spans{mix}",
                f"analyze --view {section} over the built model / {compared}",
                round_ratio(times, counts),
                LIMIT,
                detail=f"median of {rounds} rounds: {took:.2f} s against {count:.3f} s; "
                f"{round_ratio(times, scans):.1f}x a scan reading every column; "
                f"a command of this section alone: {build + took:.1f} s",
            )
        )
    return found


def measure_cost(spans: int, workdir: Path, rounds: int) -> list[Target]:
    """Per round, over spans whose traces each hold an LLM call: the call model built, then every cost
    section but decisions (the ledger built once, as ``mcpobs cost`` does), against the count()."""
    from mcpobs.analysis.cost import COST_VIEWS
    from mcpobs.cost import CostOptions

    directory = generated(spans, workdir, llm=True)
    location = parse(f"chdb:{directory}")
    views = tuple(v for v in COST_VIEWS if v != "decisions")

    def one_round(clock: Stopwatch) -> None:
        with ClickHouseTraces(location) as traces:
            with clock("count()"):
                (found,) = traces.run("SELECT count() FROM otel.otel_traces", {})[0]
            assert found == spans, (found, spans)
            with clock("cost sections"):
                analysis = analyze(traces, Query(views=views), CostOptions())
        assert analysis.tables[0].records()[0]["llm_calls"] == spans // 10

    times = timed_rounds(one_round, rounds)
    counts, costs = times["count()"], times["cost sections"]
    took, count = statistics.median(costs), statistics.median(counts)
    return [
        Target(
            f"cost sections on {spans:,} spans ({spans // 10:,} LLM calls)",
            "mcpobs cost's sections (the ledger, then each section) over the built model / SELECT count(), chDB",
            round_ratio(costs, counts),
            LIMIT,
            detail=f"median of {rounds} rounds: {took:.2f} s against {count:.3f} s",
        )
    ]


def duckdb_store(spans: int, workdir: Path, rounds: int) -> list[Target]:
    """The same figures from the DuckDB store (issue 17 asks for both): a tenth of the spans generated
    as above, written as OTLP JSON lines and loaded into a ``--db`` store, then copied with new trace
    and session ids until it holds ``spans`` (as ``bench_analyze.py`` builds its store); per round,
    ``count(*)`` of the stored spans and each section, warm (the store's model is built at load)."""
    from bench_analyze import COPIES, _build
    from chdb import session

    from mcpobs.store import Store, StoreOptions

    part = spans // COPIES
    path = workdir / f"otlp-{part}.jsonl"
    if not path.exists():
        s = session.Session(str(generated(part, workdir)))
        s.query(OTLP.format(path=f"{path}.partial"))
        s.close()
        Path(f"{path}.partial").rename(path)
    db = workdir / f"store-{spans}.duckdb"
    if not db.exists():
        built = _build(str(path), f"{db}.partial", COPIES)
        Path(f"{db}.partial").rename(db)
        print(f"DuckDB store of {built['spans']:,} spans built in {built['seconds']:.1f} s", file=sys.stderr)
    with Store(StoreOptions(path=db)) as store:
        for view in SECTIONS:  # warm: the second run of each in this process is measured
            analyze(store, Query(views=(view,)))

        def one_round(clock: Stopwatch) -> None:
            with clock("count(*)"):
                (found,) = store.con.execute("SELECT count(*) FROM spans").fetchone() or (0,)
            assert found == spans, (found, spans)
            for view in SECTIONS:
                with clock(view):
                    analyze(store, Query(views=(view,)))

        times = timed_rounds(one_round, rounds, "DuckDB ")
    counts = times["count(*)"]
    sections = {section: times[section] for section in SECTIONS}
    count = statistics.median(counts)
    return [
        Target(
            f"{section} on {spans:,} spans, DuckDB store",
            "analyze --view SECTION --db (the model built at load) / SELECT count(*) FROM spans, DuckDB",
            round_ratio(times, counts),
            LIMIT,
            detail=f"median of {rounds} rounds: {statistics.median(times):.2f} s against {count:.3f} s",
        )
        for section, times in sections.items()
    ]


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spans", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M spans")
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument("--cost", action="store_true", help="time the cost sections (traces with an LLM call)")
    parser.add_argument(
        "--mix", type=int, default=1, metavar="N", help="one trace in N holds MCP calls, the others HTTP, DB, queue"
    )
    parser.add_argument("--duckdb", action="store_true", help="also the DuckDB store's figures on the same spans")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mcpobs-bench-clickhouse"))
    return parser.parse_args(argv)


def targets(argv: list[str]) -> list[Target]:
    """Issue 17's rows, measured now (for ``run.py``): none without chDB (an optional extra)."""
    try:
        import chdb  # noqa: F401
    except ImportError:
        print("bench_clickhouse: chdb is not installed (pip install 'mcpobs-cli[chdb]'); skipped", file=sys.stderr)
        return []
    args = _arguments(argv)
    spans = 1_000_000 if args.quick else args.spans
    if args.cost:
        return measure_cost(spans, args.workdir, args.rounds)
    found = measure(spans, args.workdir, args.rounds, args.mix)
    return found + duckdb_store(spans, args.workdir, args.rounds) if args.duckdb else found


def _worker(kind: str, arguments: str) -> None:
    """In a fresh process, its peak RSS (``peak``, bytes): ``open`` the chDB session and count the rows;
    ``build`` the call model over the window (what a command does first)."""
    given = json.loads(arguments)
    found: dict[str, object] = {}
    if kind == "open":
        from chdb import session

        s = session.Session(given["directory"])
        s.query("SELECT count() FROM otel.otel_traces")
        s.close()
    else:
        with ClickHouseTraces(parse(f"chdb:{given['directory']}"), given["since"], given["until"]) as traces:
            found["buckets"] = traces.buckets
    print(json.dumps(found | {"peak": _peak_rss()}))


def _peak_rss() -> int:
    """This process's peak RSS in bytes: its own since it started, which the ``ru_maxrss`` its parent reads
    is not (a child's starts at its parent's RSS when forked)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise SystemExit("bench_clickhouse: no VmHWM in /proc/self/status (Linux only)")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        _worker(sys.argv[2], sys.argv[3])
        return 0
    for line in machine():
        print(line)
    found = targets(sys.argv[1:])
    for target in found:
        print(target.line(), f"({target.detail})", flush=True)
    print(load_average())
    return 0 if all(t.passed for t in found) else 1


if __name__ == "__main__":
    sys.exit(main())
