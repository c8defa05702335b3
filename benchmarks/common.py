"""What every benchmark script shares: a target as a ratio measured within one run, and its verdict.

Each ``bench_*.py`` that checks issue targets exposes ``targets(argv: list[str]) -> list[Target]``
(measuring side by side, rounds interleaved) besides its own ``main``; ``run.py`` collects them.
"""

from __future__ import annotations

from dataclasses import dataclass


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
