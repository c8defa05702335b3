"""Measure mcpobs ingest and analysis against DuckDB's own floor and a naive parser.

    python benchmarks/bench_ingest.py            # full run: 1M spans, scaling to 3M, analyze 10M
    python benchmarks/bench_ingest.py --quick    # the same at small sizes, under two minutes

Every measurement runs in a fresh subprocess, so its peak RSS (the child's
``ru_maxrss`` from ``wait4``) is its own. Input files come from
``benchmarks/generate.py`` and are cached in ``--workdir`` by span count and
generator version. See ``benchmarks/README.md`` for what each figure means.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from common import Target

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "generate.py"

ANALYZE_MAX_S = 2.0  # warm analyze on the big store

# The same connection settings mcpobs.store.Store uses, for the DuckDB-only floor.
FLOOR_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "memory_limit": "1GB",
    "preserve_insertion_order": False,
}


# --------------------------------------------------------------------------- workers
# Each runs in its own process (``bench_ingest.py _worker KIND JSON``) and prints one JSON
# line with its results; the parent adds the process's peak RSS.


class _Timer:
    """Wall and CPU seconds (user + system, every thread of this process) of a block."""

    def __enter__(self) -> _Timer:
        self._wall, self._cpu = time.perf_counter(), _cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu = _cpu_seconds() - self._cpu


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _floor(path: str) -> dict[str, Any]:
    """DuckDB's read_json alone: the mcpobs schema, unnested to spans, every span touched."""
    import duckdb

    from mcpobs.ingest.otlp_json import COLUMNS

    con = duckdb.connect(":memory:", config=FLOOR_CONFIG)
    sql = f"""
    WITH rs AS (
        SELECT unnest(resourceSpans) AS rs
        FROM read_json($path, format = 'newline_delimited', records = true, columns = {COLUMNS})
    ), ss AS (SELECT unnest(rs.scopeSpans) AS ss FROM rs
    ), s AS (SELECT unnest(ss.spans) AS s FROM ss)
    SELECT count(*), max(s.spanId), sum(len(s.attributes)), sum(len(s.events)) FROM s
    """
    with _Timer() as t:
        spans, _, _, _ = con.execute(sql, {"path": path}).fetchone()  # type: ignore[misc]
    return {"seconds": t.seconds, "cpu": t.cpu, "spans": spans}


def _mcpobs(path: str, db: str | None = None) -> dict[str, Any]:
    """The real code path: ``mcpobs.ingest.load`` into an in-memory store (or a new ``db`` file), default options."""
    from mcpobs.ingest import load
    from mcpobs.store import Store, StoreOptions

    with Store(StoreOptions(path=Path(db) if db else None)) as store:
        with _Timer() as t:
            report = load(store, [path])
        assert report.skipped_lines == 0, report
        assert report.duplicate_spans == 0, report
        return {"seconds": t.seconds, "cpu": t.cpu, "spans": report.spans}


def _insert_only(path: str) -> dict[str, Any]:
    """Just mcpobs's INSERT statement, without the checks, de-duplication and bookkeeping around it."""
    from mcpobs.ingest.otlp_json import insert_sql
    from mcpobs.store import Store, StoreOptions

    with Store(StoreOptions()) as store:
        with _Timer() as t:
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
    with _Timer() as t:
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


def _build(path: str, db: str, copies: int) -> dict[str, Any]:
    """A persistent store of ``copies`` times the file: load it once, then copy its rows with new ids."""
    from mcpobs.ingest import load
    from mcpobs.store import Store, StoreOptions

    start = time.perf_counter()
    with Store(StoreOptions(path=Path(db))) as store:
        load(store, [path])
        con = store.con
        columns = {row[0] for row in con.execute("DESCRIBE spans").fetchall()}
        # new trace and session ids keep every copy's traces, sessions and peers apart
        renamed = [f"{c} || '-' || $n AS {c}" for c in ("trace_id", "mcp_session_id") if c in columns]
        # and so must the hashes that sessions and retries group on
        renamed += [f"hash({c}, $n) AS {c}" for c in ("session_key", "call_key") if c in columns]
        for n in range(2, copies + 1):
            with store.transaction():
                con.execute(
                    f"INSERT INTO spans SELECT * REPLACE ($n AS source_id, {', '.join(renamed)}) "
                    "FROM spans WHERE source_id = 1",
                    {"n": n},
                )
                con.execute(
                    """
                    INSERT INTO sources SELECT * REPLACE (
                        $n AS source_id, path || '#copy' || $n AS path, fingerprint || '#' || $n AS fingerprint)
                    FROM sources WHERE source_id = 1
                    """,
                    {"n": n},
                )
        con.execute("CHECKPOINT")
        spans = store.counts()[0]
    return {"seconds": time.perf_counter() - start, "spans": spans, "bytes": Path(db).stat().st_size}


def _analyze(db: str) -> dict[str, Any]:
    """Time each analysis twice on a persistent store: cold (first) and warm (second)."""
    from mcpobs.analysis import Query, analyze
    from mcpobs.store import Store, StoreOptions

    queries = {"all": Query(), "by_server_tool_calls": Query(by=("server", "tool"), views=("calls",))}
    result: dict[str, Any] = {}
    with Store(StoreOptions(path=Path(db))) as store:
        result["spans"] = store.counts()[0]
        for name, query in queries.items():
            times = []
            for _ in range(2):
                start = time.perf_counter()
                analysis = analyze(store, query)
                times.append(time.perf_counter() - start)
            result[name] = {"cold": times[0], "warm": times[1], "calls": analysis.calls}
        # where the time of the full analysis goes, section by section (warm)
        sections = {}
        for view in queries["all"].views:
            start = time.perf_counter()
            analyze(store, Query(views=(view,)))
            sections[view] = time.perf_counter() - start
        result["sections"] = sections
    return result


WORKERS: dict[str, Any] = {
    "floor": _floor,
    "mcpobs": _mcpobs,
    "insert_only": _insert_only,
    "naive": _naive,
    "profile": _profile,
    "build": _build,
    "analyze": _analyze,
}


def _worker_main(kind: str, arguments: str) -> None:
    result = WORKERS[kind](**json.loads(arguments))
    sys.stdout.write(json.dumps(result) + "\n")


def run(kind: str, **arguments: Any) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; its result plus ``peak_rss`` in bytes."""
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "_worker", kind, json.dumps(arguments)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    out = child.stdout.read()
    # wait4 gives this child's own resource usage, not the maximum over all children so far
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"bench: the {kind} worker failed with exit status {child.returncode}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_rss"] = usage.ru_maxrss * 1024  # KiB on Linux
    return result


# --------------------------------------------------------------------------- inputs


def _generator_version() -> str:
    return hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:8]


def ensure_file(workdir: Path, spans: int) -> tuple[Path, int]:
    """A generated file of about ``spans`` spans (cached), and how many spans it holds exactly."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"spans-{spans}-{_generator_version()}.jsonl"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return path, int(json.loads(meta.read_text())["spans"])
    print(f"  generating {spans:,} spans -> {path}", file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, str(GENERATOR), "--spans", str(spans), "--out", str(path)],
        check=True,
        stderr=subprocess.PIPE,
        text=True,
    )
    written = int(done.stderr.split()[1])  # "wrote N spans to …"
    meta.write_text(json.dumps({"spans": written, "bytes": path.stat().st_size}))
    return path, written


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


def _machine() -> list[str]:
    cpu = "unknown cpu"
    ram = "?"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal"))
        ram = f"{kib / 1024**2:.1f} GiB"
    except (OSError, StopIteration):
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        f"machine: {cores} cores ({cpu}), {ram} RAM, {platform.system()} {platform.release()}; {_load()}",
        f"python {platform.python_version()}, duckdb {version('duckdb')}, pyarrow {version('pyarrow')}; "
        f"mcpobs {_source_version()}",
    ]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def _source_version() -> str:
    """Which mcpobs code ran: the commit, and a hash of the package's files when they differ from it."""
    import mcpobs

    package = Path(mcpobs.__file__).parent
    digest = hashlib.sha256()
    for f in sorted(package.rglob("*.py")):
        digest.update(f.relative_to(package).as_posix().encode() + b"\0" + f.read_bytes())
    try:
        head = subprocess.run(
            ["git", "-C", str(package), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(package), "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"{package} (files {digest.hexdigest()[:8]})"
    return f"{head}" + (f" + uncommitted changes (files {digest.hexdigest()[:8]})" if dirty else "")


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f}"


def _check(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'FAIL'}  {text}"


# --------------------------------------------------------------------------- the benchmark


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
    parser.add_argument("--analyze-spans", type=int, help="spans in the store analyze runs on (10000000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of every approach (3, at least 3)")
    parser.add_argument("--profile", action="store_true", help="also show DuckDB's per-operator profile of the INSERT")
    parser.add_argument("--skip-analyze", action="store_true", help="leave out the analyze run on the big store")
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
        return statistics.median(a / b for a, b in zip(self.seconds(approach), self.seconds(reference), strict=True))


def _timed_command(argv: list[str]) -> dict[str, Any]:
    """Wall and CPU seconds and peak RSS of one fresh process; its output dropped."""
    began = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    err = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed: {err.decode(errors='replace').strip()}")
    return {"seconds": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_rss": usage.ru_maxrss * 1024}


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

        _timed_command([MCPOBS, "load", str(path), "--db", fresh()])  # warms the page cache and the .pyc files
        for n in range(args.rounds):
            print(f"  round {n + 1} of {args.rounds}", file=sys.stderr, flush=True)
            rounds[FLOOR].append(run("floor", path=str(path)))
            rounds[MEMORY].append(run("mcpobs", path=str(path)))
            rounds[FILE].append(run("mcpobs", path=str(path), db=fresh()))
            rounds[COMMAND].append(_timed_command([MCPOBS, "load", str(path), "--db", fresh()]))
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


def _median(values: list[float]) -> float:
    return statistics.median(values)


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
    print("\n".join(_machine()))
    print(f"{'quick' if args.quick else 'full'} run; inputs in {args.workdir}; every figure from a fresh process")
    print()
    m = measure(args)
    print(
        f"== Load: {m.spans:,} spans, {m.bytes / 1e6:,.0f} MB of OTLP JSON lines ({m.bytes / m.spans:,.0f} B/span); "
        f"{args.rounds} interleaved rounds, medians"
    )
    print(f"{'approach':<36} {'wall s':>7} {'spans/s':>10} {'cpu s':>7} {'peak RSS MB':>11}  wall s of each round")
    for approach, results in m.rounds.items():
        wall = _median([r["seconds"] for r in results])
        cpu = _median([r["cpu"] for r in results])
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
    path, spans = m.path, m.spans

    if args.profile:
        profiled = run("profile", path=str(path))
        print(
            f"== Profile of the INSERT ({spans:,} spans): {profiled['wall']:.2f} s wall, {profiled['cpu']:.2f} s cpu; "
            "operators taking 2% or more, cpu s summed over threads"
        )
        for op in profiled["operators"]:
            if op["seconds"] >= 0.02 * profiled["cpu"]:
                print(f"{op['seconds']:>7.2f}  {'  ' * op['depth']}{op['type']} ({op['rows']:,} rows) {op['what']}")
        print()
    if args.skip_analyze:
        print(f"total {time.perf_counter() - began:.0f} s; {failures} target(s) missed; {_load()}")
        return 1 if args.strict and failures else 0
    workdir: Path = args.workdir
    analyze_spans = args.analyze_spans or (1_000_000 if args.quick else 10_000_000)

    # 3. analyze ----------------------------------------------------------------------------
    copies = max(1, round(analyze_spans / spans))
    db = workdir / f"analyze-{copies}x{spans}.duckdb"
    wal = db.with_name(db.name + ".wal")
    for stale in (db, wal):
        stale.unlink(missing_ok=True)
    print(f"== Analyze: a persistent store of {copies} x {spans:,} spans (the file loaded, rows copied with new ids)")
    built = run("build", path=str(path), db=str(db), copies=copies)
    print(
        f"built {built['spans']:,} spans in {built['seconds']:.1f} s: {built['bytes'] / 1e6:,.0f} MB on disk, "
        f"peak RSS {_mb(built['peak_rss'])} MB"
    )
    timed = run("analyze", db=str(db))
    print(f"{'query':<52} {'cold s':>7} {'warm s':>7}")
    labels = {
        "all": "analyze(Query()): every section, by tool",
        "by_server_tool_calls": "Query(by=('server','tool'), views=('calls',))",
    }
    checks = []
    for key, label in labels.items():
        r = timed[key]
        print(f"{label:<52} {r['cold']:>7.2f} {r['warm']:>7.2f}")
        checks.append(_check(r["warm"] < ANALYZE_MAX_S, f"{label} warm < {ANALYZE_MAX_S:.0f} s: {r['warm']:.2f} s"))
    print(
        "each section alone, warm s: "
        + ", ".join(f"{view} {seconds:.2f}" for view, seconds in timed["sections"].items())
        + f"; peak RSS of the analyze process {_mb(timed['peak_rss'])} MB"
    )
    print("\n".join(checks))
    failures += sum(c.startswith("FAIL") for c in checks)
    for stale in (db, wal):
        stale.unlink(missing_ok=True)
    print()

    if args.clean:
        for f in workdir.glob("spans-*"):
            f.unlink()
    print(f"total {time.perf_counter() - began:.0f} s; {failures} target(s) missed; {_load()}")
    return 1 if args.strict and failures else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        _worker_main(sys.argv[2], sys.argv[3])
    else:
        sys.exit(main())
