"""Analyze over a large persistent store, against DuckDB's bare parse of a tenth as many spans.

    python benchmarks/bench_analyze.py              # a 1M-span file; a 10M-span store; 3 rounds
    python benchmarks/bench_analyze.py --quick      # a 100k-span file; a 1M-span store

The store is built once per run: the file loaded into a ``--db`` store, then its rows copied with new
trace, session and source ids until it holds ten times the file. Each round then runs, each in a
fresh process, DuckDB's bare parse of the file (``common.bare_parse``, the floor of the load targets)
and ``analyze`` of every section on the store, warm (the second run in its process). Target: the
analysis at most 0.4x the parse, the median of the rounds' ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import Target, bare_parse, ensure_file, in_fresh_process, load_average, machine, round_ratio

HERE = Path(__file__).resolve()
TARGET_RATIO = 0.4
COPIES = 10  # the store holds this many times the file's spans


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
    """Every section on the store, cold (first) and warm (second); then each section alone, warm."""
    from mcpobs.analysis import Query, analyze
    from mcpobs.store import Store, StoreOptions

    result: dict[str, Any] = {}
    with Store(StoreOptions(path=Path(db))) as store:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            analyze(store, Query())
            times.append(time.perf_counter() - start)
        result["cold"], result["seconds"] = times
        sections = {}
        for view in Query().views:
            start = time.perf_counter()
            analyze(store, Query(views=(view,)))
            sections[view] = time.perf_counter() - start
        result["sections"] = sections
    return result


WORKERS = {"floor": bare_parse, "build": _build, "analyze": _analyze}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, help="spans in the parsed file (1000000; --quick 100000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of parse and analysis, interleaved (3)")
    parser.add_argument("--quick", action="store_true", help="a 100k-span file and a 1M-span store")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mcpobs-bench"), help="where inputs are cached")
    return parser


def measure(argv: list[str]) -> tuple[Target, dict[str, Any]]:
    args = _parser().parse_args(argv)
    if args.rounds < 3:
        raise SystemExit("bench_analyze: --rounds at least 3")
    path, spans = ensure_file(args.workdir, args.spans or (100_000 if args.quick else 1_000_000))
    with tempfile.TemporaryDirectory(prefix="mcpobs-bench-", dir=args.workdir) as tmp:
        db = str(Path(tmp) / "store.duckdb")
        print(f"  building a store of {COPIES} x {spans:,} spans", file=sys.stderr, flush=True)
        built = in_fresh_process(HERE, "build", {"path": str(path), "db": db, "copies": COPIES})
        floors, analyses = [], []
        for _ in range(args.rounds):
            floors.append(in_fresh_process(HERE, "floor", {"path": str(path)}))
            analyses.append(in_fresh_process(HERE, "analyze", {"db": db}))
    floor_s = [float(f["seconds"]) for f in floors]  # type: ignore[arg-type]
    warm_s = [float(a["seconds"]) for a in analyses]  # type: ignore[arg-type]
    sections = {v: statistics.median(a["sections"][v] for a in analyses) for v in analyses[0]["sections"]}  # type: ignore[index]
    slowest = ", ".join(f"{v} {s:.2f} s" for v, s in sorted(sections.items(), key=lambda x: -x[1]))
    detail = (
        f"analyze warm {statistics.median(warm_s):.2f} s over {built['spans']:,} stored spans; parse of "
        f"{spans:,} spans {statistics.median(floor_s):.2f} s; sections alone: {slowest}; {args.rounds} rounds"
    )
    target = Target(
        f"analyze, every section over {round(int(built['spans']) / 1e6, 1):g}M stored spans",  # type: ignore[call-overload]
        f"warm analyze of the store / DuckDB bare parse of {round(spans / 1e6, 1):g}M spans",
        round_ratio(warm_s, floor_s),
        TARGET_RATIO,
        detail=detail,
    )
    return target, {"built": built, "floors": floors, "analyses": analyses}


def targets(argv: list[str]) -> list[Target]:
    """The analyze row of issue 15, measured now (for ``run.py``)."""
    return [measure(argv)[0]]


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        import json

        print(json.dumps(WORKERS[sys.argv[2]](**json.loads(sys.argv[3]))))
        return 0
    for line in machine():
        print(line)
    target, figures = measure(sys.argv[1:])
    built = figures["built"]
    print(f"store: {built['spans']:,} spans, {built['bytes'] / 1e6:,.0f} MB, built in {built['seconds']:.1f} s")
    for n, (f, a) in enumerate(zip(figures["floors"], figures["analyses"], strict=True), 1):
        print(f"round {n}: parse {f['seconds']:.2f} s; analyze cold {a['cold']:.2f} s, warm {a['seconds']:.2f} s")
    print(f"{target.line()}\n      {target.detail}")
    print(load_average())
    return 0 if target.passed else 1


if __name__ == "__main__":
    sys.exit(main())
