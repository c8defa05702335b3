"""Time what a user waits for when mcpobs starts, against bare imports of its libraries.

    python benchmarks/bench_startup.py              # 7 rounds, about 30 s
    python benchmarks/bench_startup.py --rounds 15

Every run is a fresh process of the installed ``mcpobs`` command (or of ``python -c``), and the
rounds are interleaved: one run of every case, then the next round, so a change in the machine's
load hits all cases alike. Each figure is the median over the rounds; a target is the median of
each round's ratio to its floor in that round, never an absolute time (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_ingest import _check, _load, _machine

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample_traces" / "mcp_agent_session.jsonl"
MCPOBS = str(Path(sys.executable).parent / "mcpobs")

TYPER_FLOOR = "python -c 'import typer, rich'"
DUCKDB_FLOOR = "python -c 'import duckdb, typer, rich'"
HELP = "mcpobs --help"
VERSION = "mcpobs --version"
ANALYZE = f"mcpobs analyze {SAMPLE.name}"
ANALYZE_DB = f"mcpobs analyze {SAMPLE.name} --db (loaded)"

# (case, its floor, the largest ratio of medians allowed)
TARGETS = (
    (HELP, TYPER_FLOOR, 1.5),
    (VERSION, TYPER_FLOOR, 1.5),
    (ANALYZE, DUCKDB_FLOOR, 1.5),
    (ANALYZE_DB, DUCKDB_FLOOR, 1.2),
)


def cases(db: Path) -> dict[str, list[str]]:
    """Each case's command line."""
    return {
        TYPER_FLOOR: [sys.executable, "-c", "import typer, rich"],
        HELP: [MCPOBS, "--help"],
        VERSION: [MCPOBS, "--version"],
        DUCKDB_FLOOR: [sys.executable, "-c", "import duckdb, typer, rich"],
        ANALYZE: [MCPOBS, "analyze", str(SAMPLE)],
        ANALYZE_DB: [MCPOBS, "analyze", str(SAMPLE), "--db", str(db)],
    }


def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, all threads) of one fresh process; stdout and stderr dropped."""
    began = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait4: this child's own usage, not that of every child so far
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed with exit status {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="fresh runs of every case, interleaved (7)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds: at least 5")
    for line in _machine():
        print(line)
    with tempfile.TemporaryDirectory(prefix="mcpobs-bench-") as tmp:
        db = Path(tmp) / "obs.duckdb"
        subprocess.run([MCPOBS, "load", str(SAMPLE), "--db", str(db)], check=True, capture_output=True)
        argvs = cases(db)
        for argv in argvs.values():  # a first run of each warms the page cache and the .pyc files
            timed(argv)
        walls: dict[str, list[float]] = {name: [] for name in argvs}
        cpus: dict[str, list[float]] = {name: [] for name in argvs}
        for _ in range(args.rounds):
            for name, argv in argvs.items():
                wall, cpu = timed(argv)
                walls[name].append(wall)
                cpus[name].append(cpu)
    wall = {name: statistics.median(runs) for name, runs in walls.items()}
    cpu = {name: statistics.median(runs) for name, runs in cpus.items()}

    def ratio(times: dict[str, list[float]], name: str, floor: str) -> float:
        """The median of the rounds' ratios: each round's case against the same round's floor."""
        return statistics.median(t / f for t, f in zip(times[name], times[floor], strict=True))

    print(f"\nmedian of {args.rounds} interleaved rounds, fresh processes")
    print(f"{'case':<48} {'wall ms':>8} {'cpu ms':>8}  every wall ms")
    for name in argvs:
        every = " ".join(f"{w * 1000:.0f}" for w in walls[name])
        print(f"{name:<48} {wall[name] * 1000:>8.0f} {cpu[name] * 1000:>8.0f}  {every}")
    print("\ntargets (median over the rounds of wall time / the floor's in the same round; cpu alongside)")
    ok = True
    for name, floor, limit in TARGETS:
        times = ratio(walls, name, floor)
        passed = times <= limit
        ok &= passed
        print(_check(passed, f"{name} <= {limit}x {floor}: {times:.2f}x (cpu {ratio(cpus, name, floor):.2f}x)"))
    print(_load())
    return 1 if args.strict and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
