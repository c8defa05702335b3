"""Measure mcpobs ingest against DuckDB's own floor and a naive parser.

    python benchmarks/bench_ingest.py            # full run: 1M spans, peak memory up to 3M
    python benchmarks/bench_ingest.py --quick    # the same at small sizes, a few minutes

(``analyze`` over a large store is ``bench_analyze.py``'s.)

Every measurement runs in a fresh subprocess, so its peak RSS (the child's
``ru_maxrss`` from ``wait4``) is its own. Input files come from
``benchmarks/generate.py`` and are cached in ``--workdir`` by span count and
generator version. See ``benchmarks/README.md`` for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import (
    Target,
    Timer,
    bare_parse,
    ensure_file,
    in_fresh_process,
    installed_env,
    load_average,
    machine,
    round_ratio,
    timed,
)

HERE = Path(__file__).resolve()


# --------------------------------------------------------------------------- workers
# Each runs in its own process (``bench_ingest.py _worker KIND JSON``) and prints one JSON
# line with its results; the parent adds the process's peak RSS.


def _mcpobs(path: str, db: str | None = None) -> dict[str, Any]:
    """The real code path: ``mcpobs.ingest.load`` into an in-memory store (or a new ``db`` file), default options."""
    from mcpobs.ingest import load
    from mcpobs.store import Store, StoreOptions

    with Store(StoreOptions(path=Path(db) if db else None)) as store:
        with Timer() as t:
            report = load(store, [path])
        assert report.skipped_lines == 0, report
        assert report.duplicate_spans == 0, report
        return {"seconds": t.seconds, "cpu": t.cpu, "spans": report.spans}


def _insert_only(path: str) -> dict[str, Any]:
    """Just mcpobs's INSERT statement, without the checks, de-duplication and bookkeeping around it."""
    from mcpobs.ingest.otlp_json import insert_sql
    from mcpobs.store import Store, StoreOptions

    with Store(StoreOptions()) as store:
        with Timer() as t:
            store.con.execute(insert_sql("newline_delimited"), {"path": path, "compression": "none", "source_id": 1})
        return {"seconds": t.seconds, "cpu": t.cpu, "spans": store.counts()[0]}


def _profile(path: str) -> dict[str, Any]:
    """The INSERT under DuckDB's profiler: CPU seconds per operator, summed over threads."""
    from mcpobs.ingest.otlp_json import insert_sql
    from mcpobs.store import Store, StoreOptions

    output = Path(path).with_name(f"profile-{os.getpid()}.json")
    with Store(StoreOptions()) as store:
        store.con.execute("PRAGMA enable_profiling = 'json'")
        store.con.execute(f"SET profiling_output = '{output}'")
        store.con.execute(insert_sql("newline_delimited"), {"path": path, "compression": "none", "source_id": 1})
        store.con.execute("PRAGMA disable_profiling")
    profile = json.loads(output.read_text())
    output.unlink()
    operators: list[dict[str, Any]] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        projections = node.get("extra_info", {}).get("Projections", [])
        if isinstance(projections, str):
            projections = [projections]
        named = [p for p in projections if not p.startswith("#")][:4]
        operators.append(
            {
                "depth": depth,
                "type": node.get("type", "?"),
                "seconds": node.get("timing", 0.0),
                "rows": node.get("intermediate_rows", node.get("rows_scanned")),
                "what": ", ".join(x if len(x) < 40 else x[:37] + "..." for x in named),
            }
        )
        for child in node.get("children", []):
            walk(child, depth + 1)

    for node in profile.get("operator", []):
        walk(node, 0)
    query = profile.get("query", {})
    return {"wall": query.get("total_time"), "cpu": query.get("cpu_time"), "operators": operators}


def _naive(path: str) -> dict[str, Any]:
    """What a straightforward implementation does: json.loads per line into Arrow columns, gc on."""
    with Timer() as t:
        table = _naive_table(path)
    return {"seconds": t.seconds, "cpu": t.cpu, "spans": table.num_rows}


def _naive_table(path: str) -> Any:
    import pyarrow as pa

    attribute = pa.struct([("key", pa.string()), ("value", pa.string())])
    schema = pa.schema(
        [
            ("trace_id", pa.string()),
            ("span_id", pa.string()),
            ("parent_span_id", pa.string()),
            ("name", pa.string()),
            ("kind", pa.int8()),
            ("start_ns", pa.int64()),
            ("end_ns", pa.int64()),
            ("status_code", pa.int8()),
            ("service_name", pa.string()),
            ("attributes", pa.list_(attribute)),
        ]
    )
    batches = []
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}

    def flush() -> None:
        batches.append(pa.record_batch([columns[n] for n in schema.names], schema=schema))
        for values in columns.values():
            values.clear()

    with open(path, "rb") as f:
        for line in f:
            document = json.loads(line)
            for rs in document.get("resourceSpans", ()):
                service = None
                for a in rs.get("resource", {}).get("attributes", ()):
                    if a["key"] == "service.name":
                        service = a["value"].get("stringValue")
                for ss in rs.get("scopeSpans", ()):
                    for s in ss.get("spans", ()):
                        columns["trace_id"].append(s["traceId"])
                        columns["span_id"].append(s["spanId"])
                        columns["parent_span_id"].append(s.get("parentSpanId") or None)
                        columns["name"].append(s.get("name"))
                        columns["kind"].append(int(s.get("kind", 0)))
                        columns["start_ns"].append(int(s["startTimeUnixNano"]))
                        columns["end_ns"].append(int(s["endTimeUnixNano"]))
                        columns["status_code"].append(int(s.get("status", {}).get("code", 0)))
                        columns["service_name"].append(service)
                        columns["attributes"].append(
                            [
                                {"key": a["key"], "value": str(next(iter(a["value"].values()), ""))}
                                for a in s.get("attributes", ())
                            ]
                        )
            if len(columns["span_id"]) >= 65536:
                flush()
    flush()
    return pa.Table.from_batches(batches, schema=schema)


WORKERS: dict[str, Any] = {
    "floor": bare_parse,
    "mcpobs": _mcpobs,
    "insert_only": _insert_only,
    "naive": _naive,
    "profile": _profile,
}


def _worker_main(kind: str, arguments: str) -> None:
    sys.stdout.write(json.dumps(WORKERS[kind](**json.loads(arguments))) + "\n")


def run(kind: str, **arguments: Any) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; its result plus ``peak_rss`` in bytes."""
    return in_fresh_process(HERE, kind, arguments)


# --------------------------------------------------------------------------- inputs


def ensure_proto(json_lines: Path) -> Path:
    """The same spans as the Collector's protobuf file exporter writes them (cached beside the JSON):
    each line one ``ExportTraceServiceRequest``, framed by its 4-byte big-endian length."""
    import base64

    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    path = json_lines.with_suffix(".collector.pb")
    if path.exists():
        return path
    print(f"  writing {json_lines.name} as protobuf -> {path}", file=sys.stderr, flush=True)

    def ids(item: dict[str, Any]) -> None:
        # ParseDict reads ids as base64 (protobuf's JSON mapping), OTLP/JSON writes hex
        for key in ("traceId", "spanId", "parentSpanId"):
            if item.get(key):
                item[key] = base64.b64encode(bytes.fromhex(item[key])).decode()

    partial = path.with_suffix(".partial")
    with json_lines.open("rb") as f, partial.open("wb") as out:
        for line in f:
            document = json.loads(line)
            for rs in document["resourceSpans"]:
                for ss in rs["scopeSpans"]:
                    for span in ss["spans"]:
                        ids(span)
                        for link in span.get("links", ()):
                            ids(link)
            record = ParseDict(document, ExportTraceServiceRequest()).SerializeToString()
            out.write(len(record).to_bytes(4, "big") + record)
    partial.rename(path)
    return path


# --------------------------------------------------------------------------- output


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f}"


# --------------------------------------------------------------------------- the targets of issue 15
# Every approach runs once per round, in a fresh process, and the rounds are interleaved (every approach,
# then the next round): a change in the machine's load hits all alike. A ratio is each round's own, then
# the median over the rounds.

MCPOBS = str(Path(sys.executable).parent / "mcpobs")
LOAD_MEMORY_MAX = 2.0  # mcpobs load into the in-memory store / DuckDB's bare parse
LOAD_FILE_MAX = 2.2  # mcpobs load into a --db file / the bare parse
COMMAND_SPEEDUP_MIN = 10.0  # json.loads loop / the whole `mcpobs load --db` command
PEAK_MEMORY_MAX = 800e6  # bytes: the in-memory load's peak RSS, at every size
PROTO_SPEED_MIN = 1.0  # protobuf spans/s / JSON spans/s, both into the in-memory store

# the approaches of one round, in the order they run
FLOOR, MEMORY, FILE, COMMAND, NAIVE, PROTO = (
    "DuckDB read_json (bare parse)",
    "mcpobs load, in-memory store",
    "mcpobs load, --db file",
    "`mcpobs load --db` command",
    "json.loads loop",
    "mcpobs load of protobuf, in-memory",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, help="size of the side-by-side comparison (default 1000000)")
    parser.add_argument("--scaling", help="comma-separated sizes for peak memory (100000,1000000,3000000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every approach (3, at least 3)")
    parser.add_argument("--profile", action="store_true", help="also show DuckDB's per-operator profile of the INSERT")
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole run in a few minutes")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mcpobs-bench"), help="where inputs are cached")
    parser.add_argument("--clean", action="store_true", help="delete the generated files afterwards")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    return parser


@dataclass
class Measured:
    """Every round's result of every approach on one file, and the peak RSS of in-memory loads by size."""

    path: Path  # the JSON lines file of the rounds
    spans: int
    bytes: int
    rounds: dict[str, list[dict[str, Any]]]
    peaks: dict[int, int]  # spans -> peak RSS of the in-memory load

    def seconds(self, approach: str) -> list[float]:
        return [r["seconds"] for r in self.rounds[approach]]

    def ratio(self, approach: str, reference: str) -> float:
        """The median over the rounds of the approach's time / the reference's in the same round."""
        return round_ratio(self.seconds(approach), self.seconds(reference))


def measure(args: argparse.Namespace) -> Measured:
    """Run the rounds on the main size, then the in-memory load at every scaling size for its peak RSS."""
    quick = args.quick
    if args.rounds < 3:
        raise SystemExit("bench: --rounds: at least 3")
    main_spans = args.spans or (200_000 if quick else 1_000_000)
    scaling = [
        int(x) for x in (args.scaling or ("50000,100000,200000" if quick else "100000,1000000,3000000")).split(",")
    ]
    workdir: Path = args.workdir
    path, spans = ensure_file(workdir, main_spans)
    proto = ensure_proto(path)
    rounds: dict[str, list[dict[str, Any]]] = {a: [] for a in (FLOOR, MEMORY, FILE, COMMAND, NAIVE, PROTO)}
    peaks: dict[int, int] = {}
    with tempfile.TemporaryDirectory(prefix="mcpobs-bench-", dir=workdir) as tmp:
        db = Path(tmp) / "load.duckdb"

        def fresh() -> str:
            for stale in (db, db.with_name(db.name + ".wal")):
                stale.unlink(missing_ok=True)
            return str(db)

        env = installed_env()  # the command runs with its bytecode, as installed
        timed([MCPOBS, "load", str(path), "--db", fresh()], env)  # warms the page cache
        for n in range(args.rounds):
            print(f"  round {n + 1} of {args.rounds}", file=sys.stderr, flush=True)
            rounds[FLOOR].append(run("floor", path=str(path)))
            rounds[MEMORY].append(run("mcpobs", path=str(path)))
            rounds[FILE].append(run("mcpobs", path=str(path), db=fresh()))
            command = timed([MCPOBS, "load", str(path), "--db", fresh()], env)
            rounds[COMMAND].append({"seconds": command.wall, "cpu": command.cpu, "peak_rss": command.peak_rss})
            rounds[NAIVE].append(run("naive", path=str(path)))
            rounds[PROTO].append(run("mcpobs", path=str(proto)))
        fresh()
    for approach, results in rounds.items():
        counted = {r.get("spans", spans) for r in results}
        if counted != {spans}:
            raise SystemExit(f"bench: {approach} counted {counted} spans, the file has {spans:,}")
    peaks[spans] = max(r["peak_rss"] for r in rounds[MEMORY])
    for n in scaling:
        p, got = ensure_file(workdir, n)
        if got not in peaks:
            peaks[got] = run("mcpobs", path=str(p))["peak_rss"]
    return Measured(path, spans, path.stat().st_size, rounds, dict(sorted(peaks.items())))


def targets_of(m: Measured) -> list[Target]:
    """The load rows of issue 15, each a ratio within the run."""
    n = f"{m.spans:,} spans"

    def times(approach: str) -> str:
        return f"{approach} " + "/".join(f"{s:.2f}" for s in m.seconds(approach)) + " s"

    memory_peak, at = max((peak, spans) for spans, peak in m.peaks.items())
    return [
        Target(
            "load, in-memory store",
            f"mcpobs load of {n} / DuckDB read_json parse only",
            m.ratio(MEMORY, FLOOR),
            LOAD_MEMORY_MAX,
            detail=f"{times(MEMORY)}; {times(FLOOR)}",
        ),
        Target(
            "load into `--db FILE`",
            f"mcpobs load of {n} into a new --db file / DuckDB read_json parse only",
            m.ratio(FILE, FLOOR),
            LOAD_FILE_MAX,
            detail=f"{times(FILE)}; {times(FLOOR)}; {m.ratio(FILE, MEMORY):.2f}x the in-memory load",
        ),
        Target(
            "load vs the json.loads loop",
            f"json.loads loop / the whole `mcpobs load {n} --db FILE` command",
            1 / m.ratio(COMMAND, NAIVE),
            COMMAND_SPEEDUP_MIN,
            at_least=True,
            detail=f"{times(NAIVE)}; {times(COMMAND)}",
        ),
        Target(
            "peak memory, in-memory store",
            f"highest peak RSS of an in-memory load ({memory_peak / 1e6:,.0f} MB at {at:,} spans) / 800 MB",
            memory_peak / PEAK_MEMORY_MAX,
            1.0,
            detail="; ".join(f"{spans:,} spans {peak / 1e6:,.0f} MB" for spans, peak in m.peaks.items()),
        ),
        Target(
            "OTLP protobuf load",
            f"protobuf spans/s / JSON spans/s, {n} into the in-memory store",
            1 / m.ratio(PROTO, MEMORY),
            PROTO_SPEED_MIN,
            at_least=True,
            detail=f"{times(PROTO)}; {times(MEMORY)}",
        ),
    ]


def targets(argv: list[str]) -> list[Target]:
    """The load rows of issue 15 (``run.py`` collects these): ``argv`` as for this script."""
    return targets_of(measure(_parser().parse_args(argv)))


def main() -> int:
    args = _parser().parse_args()
    began = time.perf_counter()
    print("\n".join(machine()))
    print(f"{'quick' if args.quick else 'full'} run; inputs in {args.workdir}; every figure from a fresh process")
    print()
    m = measure(args)
    print(
        f"== Load: {m.spans:,} spans, {m.bytes / 1e6:,.0f} MB of OTLP JSON lines ({m.bytes / m.spans:,.0f} B/span); "
        f"{args.rounds} interleaved rounds, medians"
    )
    print(f"{'approach':<36} {'wall s':>7} {'spans/s':>10} {'cpu s':>7} {'peak RSS MB':>11}  wall s of each round")
    for approach, results in m.rounds.items():
        wall = statistics.median([r["seconds"] for r in results])
        cpu = statistics.median([r["cpu"] for r in results])
        each = " ".join(f"{r['seconds']:.2f}" for r in results)
        peak = max(r["peak_rss"] for r in results)
        print(f"{approach:<36} {wall:>7.2f} {m.spans / wall:>10,.0f} {cpu:>7.2f} {_mb(peak):>11}  {each}")
    print(
        "peak RSS of the in-memory load by size: " + ", ".join(f"{s:,} spans {_mb(p)} MB" for s, p in m.peaks.items())
    )
    print()
    found = targets_of(m)
    for target in found:
        print(target.line())
    failures = sum(not t.passed for t in found)
    print()
    if args.profile:
        profiled = run("profile", path=str(m.path))
        print(
            f"== Profile of the INSERT ({m.spans:,} spans): {profiled['wall']:.2f} s wall, "
            f"{profiled['cpu']:.2f} s cpu; operators taking 2% or more, cpu s summed over threads"
        )
        for op in profiled["operators"]:
            if op["seconds"] >= 0.02 * profiled["cpu"]:
                print(f"{op['seconds']:>7.2f}  {'  ' * op['depth']}{op['type']} ({op['rows']:,} rows) {op['what']}")
        print()
    if args.clean:
        for f in args.workdir.glob("spans-*"):
            f.unlink()
    print(f"total {time.perf_counter() - began:.0f} s; {failures} target(s) missed; {load_average()}")
    return 1 if args.strict and failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        _worker_main(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
