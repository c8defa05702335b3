"""Time what a user waits for when mcpobs starts, against bare imports of its libraries.

    python benchmarks/bench_startup.py              # 7 rounds, about 40 s
    python benchmarks/bench_startup.py --quick      # 3 rounds
    python benchmarks/bench_startup.py --rounds 15

Every run is a fresh process of the installed ``mcpobs`` command (or of ``python -c``), with its
bytecode compiled as an installed package has it, and the rounds are interleaved (see ``common.py``).
Each figure is the median over the rounds; a target is the median of each round's ratio to its
reference in that round, never an absolute time (see ``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from common import Target, installed_env, interleaved, load_average, machine, round_ratio, timed

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample_traces" / "mcp_agent_session.jsonl"  # 116 spans
COST_SAMPLE = HERE.parent / "sample_traces" / "agent_cost_session.jsonl"  # 70 spans
MCPOBS = str(Path(sys.executable).parent / "mcpobs")

TYPER_FLOOR = "python -c 'import typer, rich'"
DUCKDB_FLOOR = "python -c 'import duckdb, typer, rich'"
HELP = "mcpobs --help"
VERSION = "mcpobs --version"
ANALYZE = f"mcpobs analyze {SAMPLE.name}"
ANALYZE_DB = f"mcpobs analyze {SAMPLE.name} --db (loaded)"
ANALYZE_70 = f"mcpobs analyze {COST_SAMPLE.name}"
REPORT_70 = f"mcpobs report {COST_SAMPLE.name} --html"

# (the row, the case, its reference, the largest ratio allowed)
TARGETS = (
    ("`mcpobs --help`", HELP, TYPER_FLOOR, 1.5),
    ("`mcpobs --version`", VERSION, TYPER_FLOOR, 1.5),
    ("`mcpobs analyze` of a 116-span file", ANALYZE, DUCKDB_FLOOR, 1.5),
    ("re-running `analyze --db` on a loaded file", ANALYZE_DB, DUCKDB_FLOOR, 1.2),
    ("`mcpobs report` of a 70-span file", REPORT_70, ANALYZE_70, 2.0),
)


def cases(tmp: Path) -> dict[str, list[str]]:
    """Each case's command line."""
    return {
        TYPER_FLOOR: [sys.executable, "-c", "import typer, rich"],
        HELP: [MCPOBS, "--help"],
        VERSION: [MCPOBS, "--version"],
        DUCKDB_FLOOR: [sys.executable, "-c", "import duckdb, typer, rich"],
        ANALYZE: [MCPOBS, "analyze", str(SAMPLE)],
        ANALYZE_DB: [MCPOBS, "analyze", str(SAMPLE), "--db", str(tmp / "obs.duckdb")],
        ANALYZE_70: [MCPOBS, "analyze", str(COST_SAMPLE)],
        REPORT_70: [MCPOBS, "report", str(COST_SAMPLE), "--html", str(tmp / "report.html")],
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="fresh runs of every case, interleaved (7; --quick 3)")
    parser.add_argument("--quick", action="store_true", help="3 rounds")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    return parser


def measure(rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds of every case in every round."""
    env = installed_env()
    with tempfile.TemporaryDirectory(prefix="mcpobs-bench-") as name:
        tmp = Path(name)
        subprocess.run([MCPOBS, "load", str(SAMPLE), "--db", str(tmp / "obs.duckdb")], check=True, capture_output=True)
        argvs = cases(tmp)
        # a first run of each warms the page cache, and the report's Vega bundle in the user's cache
        for argv in argvs.values():
            timed(argv, env)
        runs = interleaved({name: lambda argv=argv: timed(argv, env) for name, argv in argvs.items()}, rounds)
    walls = {name: [t.wall for t in times] for name, times in runs.items()}
    cpus = {name: [t.cpu for t in times] for name, times in runs.items()}
    return walls, cpus


def _targets(walls: dict[str, list[float]], cpus: dict[str, list[float]]) -> list[Target]:
    rounds = len(next(iter(walls.values())))
    found = []
    for row, name, reference, limit in TARGETS:
        case, floor = statistics.median(walls[name]) * 1000, statistics.median(walls[reference]) * 1000
        cpu = round_ratio(cpus[name], cpus[reference])
        detail = f"median of {rounds} rounds: {case:.0f} ms against {floor:.0f} ms wall; CPU {cpu:.2f}x"
        found.append(
            Target(row, f"{name} / {reference}", round_ratio(walls[name], walls[reference]), limit, detail=detail)
        )
    return found


def targets(argv: list[str]) -> list[Target]:
    """The start-up and report rows of issue 15, measured now (for ``run.py``)."""
    args = _parser().parse_args(argv)
    walls, cpus = measure(args.rounds or (3 if args.quick else 7))
    return _targets(walls, cpus)


def main() -> int:
    parser = _parser()
    args = parser.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    if rounds < 3:
        parser.error("--rounds: at least 3")
    for line in machine():
        print(line)
    walls, cpus = measure(rounds)
    print(f"\nmedian of {rounds} interleaved rounds, fresh processes")
    print(f"{'case':<52} {'wall ms':>8} {'cpu ms':>8}  every wall ms")
    for name in walls:
        every = " ".join(f"{w * 1000:.0f}" for w in walls[name])
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(f"{name:<52} {wall * 1000:>8.0f} {cpu * 1000:>8.0f}  {every}")
    print("\ntargets (median over the rounds of wall time / the reference's in the same round)")
    found = _targets(walls, cpus)
    for target in found:
        print(f"{target.line()}  [{target.detail}]")
    print(load_average())
    return 1 if args.strict and not all(t.passed for t in found) else 0


if __name__ == "__main__":
    sys.exit(main())
