"""What every benchmark script shares: a target as a ratio measured within one run, its verdict, and
the timing that makes such a ratio fair.

Each ``bench_*.py`` that checks issue targets exposes ``targets(argv: list[str]) -> list[Target]``
(measuring side by side, rounds interleaved) besides its own ``main``; ``run.py`` collects them.
Interleaving: one run of every case, then the next round, so a change in the machine's load hits all
cases alike; a target is the median over the rounds of each round's own ratio, never an absolute time.
"""

from __future__ import annotations

import hashlib
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

T = TypeVar("T")

MIN_ROUNDS = 3  # every approach runs at least this often


@dataclass(frozen=True)
class Target:
    """One row of the targets: ``ratio`` of the measured case to its reference, against ``limit``."""

    row: str  # what a user waits for, as the table names it
    measured: str  # what was compared with what, e.g. "mcpobs load of 1M spans / DuckDB read_json"
    ratio: float
    limit: float
    at_least: bool = False  # True when the ratio must reach the limit (a speed-up), not stay under it
    detail: str = ""  # the figures behind the ratio (medians, p99, rounds), for the README

    @property
    def passed(self) -> bool:
        return self.ratio >= self.limit if self.at_least else self.ratio <= self.limit

    def line(self) -> str:
        bound = "≥" if self.at_least else "≤"
        verdict = "PASS" if self.passed else "FAIL"
        return f"{verdict}  {self.row}: {self.ratio:.2f}x ({bound} {self.limit:g}x) {self.measured}"


def interleaved(cases: Mapping[str, Callable[[], T]], rounds: int) -> dict[str, list[T]]:
    """Each case's result in every round: one run of every case per round, in order, ``rounds`` times."""
    if rounds < MIN_ROUNDS:
        raise ValueError(f"at least {MIN_ROUNDS} rounds, not {rounds}")
    results: dict[str, list[T]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            results[name].append(run())
    return results


@dataclass
class Stopwatch:
    """The wall seconds of each named step of one round, in the order they ran."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[step] = time.perf_counter() - started


def timed_rounds(one_round: Callable[[Stopwatch], None], rounds: int, label: str = "") -> dict[str, list[float]]:
    """Each step's seconds in every round: ``one_round`` runs every step once, timing each with the
    stopwatch it is given, ``rounds`` times (see ``interleaved``); a line per round on stderr."""

    def run() -> dict[str, float]:
        clock = Stopwatch()
        one_round(clock)
        done = ", ".join(f"{step} {took:.3f} s" for step, took in clock.seconds.items())
        print(f"{label}round {next(numbers)}: {done}", file=sys.stderr, flush=True)
        return clock.seconds

    numbers = iter(range(1, rounds + 1))
    (per_round,) = interleaved({"round": run}, rounds).values()
    return {step: [seconds[step] for seconds in per_round] for step in per_round[0]}


def round_ratio(case: Sequence[float], reference: Sequence[float]) -> float:
    """The median of the rounds' ratios: each round's case against the same round's reference."""
    return statistics.median(c / r for c, r in zip(case, reference, strict=True))


def percentile(values: Sequence[float], p: int) -> float:
    """The ``p``-th percentile (1-99), interpolated between the two nearest ranks."""
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


class Timed(NamedTuple):
    """What one fresh process took: wall and CPU seconds (user + system, all threads), peak RSS in bytes."""

    wall: float
    cpu: float
    peak_rss: int


def timed(argv: list[str], env: Mapping[str, str] | None = None) -> Timed:
    """Run one fresh process, its stdout dropped; what it took (its stderr is shown only if it fails)."""
    began = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert child.stderr is not None
    err = child.stderr.read()
    # wait4: this child's own usage, not that of every child so far
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(
            f"bench: {' '.join(argv)} failed with exit status {os.waitstatus_to_exitcode(status)}: "
            + err.decode(errors="replace").strip()
        )
    return Timed(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024)  # ru_maxrss: KiB on Linux


def installed_env() -> dict[str, str]:
    """The environment for timing fresh mcpobs processes as an installed package runs: bytecode
    written and read (a PYTHONDONTWRITEBYTECODE=1 left in a shell recompiles mcpobs on every start,
    about 150 ms), after compiling the package once."""
    import compileall

    import mcpobs

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    compileall.compile_dir(Path(mcpobs.__file__).parent, quiet=1)
    return env


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def machine() -> list[str]:
    """Two lines on what ran: the machine and its load, the versions and which mcpobs code."""
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
    versions = ", ".join(f"{name} {_version(name)}" for name in ("duckdb", "typer", "rich", "mcp"))
    return [
        f"machine: {cores} cores ({cpu}), {ram} RAM, {platform.system()} {platform.release()}; {load_average()}",
        f"python {platform.python_version()}, {versions}; mcpobs {source_version()}",
    ]


def _version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


def source_version() -> str:
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


GENERATOR = Path(__file__).resolve().parent / "generate.py"


def ensure_file(workdir: Path, spans: int) -> tuple[Path, int]:
    """A generated OTLP JSON lines file of about ``spans`` spans, cached in ``workdir`` under its size
    and a hash of ``generate.py``; and how many spans it holds exactly."""
    import json
    import sys

    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"spans-{spans}-{hashlib.sha256(GENERATOR.read_bytes()).hexdigest()[:8]}.jsonl"
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


def in_fresh_process(script: Path, kind: str, arguments: dict[str, object]) -> dict[str, object]:
    """Run ``script _worker KIND JSON`` (the script's worker ``kind``) in a fresh interpreter: the JSON
    object it printed last, with its ``peak_rss`` in bytes."""
    import json
    import sys

    child = subprocess.Popen(
        [sys.executable, str(script), "_worker", kind, json.dumps(arguments)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    out = child.stdout.read()
    # wait4: this child's own resource usage, not the maximum over all children so far
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench: the {kind} worker failed with exit status {os.waitstatus_to_exitcode(status)}")
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    result["peak_rss"] = usage.ru_maxrss * 1024  # KiB on Linux
    return result


class Timer:
    """Wall and CPU seconds (user + system, every thread of this process) of a block."""

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), _cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu = _cpu_seconds() - self._cpu


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# The same connection settings mcpobs.store.Store uses, for the DuckDB-only floor.
FLOOR_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "memory_limit": "1GB",
    "preserve_insertion_order": False,
}


def bare_parse(path: str) -> dict[str, Any]:
    """The floor the load and analyze targets are measured against: DuckDB's read_json alone, with the
    mcpobs schema, unnested to spans, every span touched. Its wall and CPU seconds and the spans counted."""
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
    with Timer() as t:
        row = con.execute(sql, {"path": path}).fetchone()
    assert row is not None
    return {"seconds": t.seconds, "cpu": t.cpu, "spans": row[0]}
