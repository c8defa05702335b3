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
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GENERATOR = HERE / "generate.py"

# Targets the checks compare against.
FLOOR_RATIO_MAX = 1.3  # mcpobs load time / DuckDB read_json time
NAIVE_SPEEDUP_MIN = 10.0  # json.loads loop time / mcpobs load time
PEAK_RSS_MAX = 1e9  # bytes, for the mcpobs load process
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


def _mcpobs(path: str) -> dict[str, Any]:
    """The real code path: ``mcpobs.ingest.load`` into an in-memory store, default options."""
    from mcpobs.ingest import load
    from mcpobs.store import Store, StoreOptions

    with Store(StoreOptions()) as store:
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


def best_of(repeat: int, kind: str, **arguments: Any) -> dict[str, Any]:
    """The fastest of ``repeat`` fresh runs, with every run's time and the highest peak RSS."""
    runs = [run(kind, **arguments) for _ in range(repeat)]
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["runs"] = [r["seconds"] for r in runs]
    best["peak_rss"] = max(r["peak_rss"] for r in runs)
    return best


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, help="size of the side-by-side comparison (default 1000000)")
    parser.add_argument("--scaling", help="comma-separated sizes for the scaling run (100000,1000000,3000000)")
    parser.add_argument("--analyze-spans", type=int, help="spans in the store analyze runs on (10000000)")
    parser.add_argument("--naive-spans", type=int, help="time the json.loads loop on this many spans, scale linearly")
    parser.add_argument("--skip-naive", action="store_true", help="leave out the json.loads loop")
    parser.add_argument("--repeat", type=int, default=3, help="fresh runs per ingest figure, fastest kept (3)")
    parser.add_argument("--profile", action="store_true", help="also show DuckDB's per-operator profile of the INSERT")
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole run in under two minutes")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mcpobs-bench"), help="where inputs are cached")
    parser.add_argument("--clean", action="store_true", help="delete the generated files afterwards")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args()
    quick = args.quick
    main_spans = args.spans or (200_000 if quick else 1_000_000)
    scaling_sizes = args.scaling or ("50000,100000,200000" if quick else "100000,1000000,3000000")
    scaling = [int(x) for x in scaling_sizes.split(",")]
    analyze_spans = args.analyze_spans or (1_000_000 if quick else 10_000_000)
    naive_spans = args.naive_spans or (100_000 if quick else main_spans)
    repeat = max(1, args.repeat)
    workdir: Path = args.workdir
    began = time.perf_counter()

    print("\n".join(_machine()))
    print(f"{'quick' if quick else 'full'} run; inputs in {workdir}; every figure from a fresh process")
    print()
    failures = 0

    # 1. side by side on the main size ---------------------------------------------------
    path, spans = ensure_file(workdir, main_spans)
    size = path.stat().st_size
    print(f"== Ingest: {spans:,} spans, {size / 1e6:,.0f} MB of OTLP JSON lines ({size / spans:,.0f} B/span)")
    rows: list[tuple[str, dict[str, Any]]] = []
    notes = []
    floor = best_of(repeat, "floor", path=str(path))
    rows.append(("DuckDB read_json (floor)", floor))
    ours = best_of(repeat, "mcpobs", path=str(path))
    rows.append(("mcpobs load", ours))
    rows.append(("  its INSERT statement alone", best_of(repeat, "insert_only", path=str(path))))
    naive: dict[str, Any] | None = None
    if not args.skip_naive:
        if naive_spans == main_spans:
            naive = run("naive", path=str(path))
            rows.append(("json.loads loop", naive))
        else:
            sample, sample_spans = ensure_file(workdir, naive_spans)
            measured = run("naive", path=str(sample))
            scale = spans / sample_spans
            naive = dict(measured, seconds=measured["seconds"] * scale, cpu=measured["cpu"] * scale, spans=spans)
            rows.append(("json.loads loop *", naive))
            notes.append(
                f"* extrapolated: timed on {sample_spans:,} spans and scaled x{scale:.2f}; its RSS is the sample's"
            )
    for label, r in rows:
        if r["spans"] != spans:
            print(f"WARNING: {label.strip()} counted {r['spans']:,} spans, the file has {spans:,}")
    print(
        f"{'approach':<30} {'wall s':>7} {'spans/s':>10} {'cpu s':>7} {'peak RSS MB':>11} "
        f"{'x floor':>7} {'cpu x floor':>11}  wall s of each run"
    )
    for label, r in rows:
        each = " ".join(f"{x:.2f}" for x in r.get("runs", [r["seconds"]]))
        print(
            f"{label:<30} {r['seconds']:>7.2f} {spans / r['seconds']:>10,.0f} {r['cpu']:>7.2f} "
            f"{_mb(r['peak_rss']):>11} {r['seconds'] / floor['seconds']:>7.2f} "
            f"{r['cpu'] / floor['cpu']:>11.2f}  {each}"
        )
    print("\n".join(notes))
    print(
        f"wall s: the operation alone, fastest of {repeat} (json.loads loop: 1 run); cpu s: user+system, all threads; "
        "peak RSS: the whole process"
    )
    ratio = ours["seconds"] / floor["seconds"]
    checks = [_check(ratio <= FLOOR_RATIO_MAX, f"mcpobs <= {FLOOR_RATIO_MAX}x floor: {ratio:.2f}x")]
    if naive is None:
        checks.append(f"SKIP  mcpobs >= {NAIVE_SPEEDUP_MIN:.0f}x faster than json.loads: not measured")
    else:
        speedup = naive["seconds"] / ours["seconds"]
        checks.append(
            _check(
                speedup >= NAIVE_SPEEDUP_MIN,
                f"mcpobs >= {NAIVE_SPEEDUP_MIN:.0f}x faster than json.loads: {speedup:.1f}x",
            )
        )
    checks.append(_check(ours["peak_rss"] < PEAK_RSS_MAX, f"mcpobs peak RSS < 1 GB: {_mb(ours['peak_rss'])} MB"))
    print("\n".join(checks))
    failures += sum(c.startswith("FAIL") for c in checks)
    print()

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

    # 2. scaling ----------------------------------------------------------------------------
    print(f"== Scaling: mcpobs load, fastest of {repeat} fresh runs per size")
    print(f"{'spans':>12} {'MB':>7} {'wall s':>7} {'s per 1M spans':>15} {'cpu s per 1M':>13} {'peak RSS MB':>11}")
    costs, cpu_costs = [], []
    for n in scaling:
        p, got = ensure_file(workdir, n)
        r = best_of(repeat, "mcpobs", path=str(p))
        costs.append(r["seconds"] / got * 1e6)
        cpu_costs.append(r["cpu"] / got * 1e6)
        print(
            f"{got:>12,} {p.stat().st_size / 1e6:>7,.0f} {r['seconds']:>7.2f} {costs[-1]:>15.2f} "
            f"{cpu_costs[-1]:>13.2f} {_mb(r['peak_rss']):>11}"
        )
    print(
        f"per-span cost, largest size / smallest (1.00 = linear): wall {costs[-1] / costs[0]:.2f}, "
        f"cpu {cpu_costs[-1] / cpu_costs[0]:.2f}; highest / lowest over all sizes: wall {max(costs) / min(costs):.2f}, "
        f"cpu {max(cpu_costs) / min(cpu_costs):.2f}"
    )
    print()

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
