"""Findings: what a check of files found, each failing the run or not, for every output format
(text, JSON, JUnit, GitHub annotations: :mod:`mcpobs.render.findings`); ``mcpobs lint``, ``mcpobs tools
--baseline`` and ``mcpobs diff`` report them alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """What a finding does to the run."""

    FAIL = "fail"  # fails the run (exit 1)
    WARN = "warn"  # worth a look, does not fail
    INFO = "info"  # a change that is no problem (a call that got better), shown
    SKIP = "skip"  # could not be checked
    OK = "ok"  # checked and fine


@dataclass(frozen=True)
class Finding:
    """One thing checked: which check, about what, what it found, and where (a file and line) when
    something in a file says it."""

    check: str  # e.g. "tool changed", "call worse"
    subject: str  # e.g. "booking-desk tool book"
    message: str
    status: Status
    details: tuple[str, ...] = ()
    file: str | None = None
    line: int | None = None
    severity: str | None = None  # a lint rule's: error, warning, info (its status says what it does to the run)
    doc: str | None = None  # the section of the specification or convention the check enforces


@dataclass(frozen=True)
class Findings:
    """Every finding of one run of a check, and what it was run as (``mcpobs diff``, ``mcpobs lint``)."""

    command: str
    findings: list[Finding] = field(default_factory=list)
    notes: tuple[str, ...] = ()
    verdicts: tuple[str, str] = ("passed", "FAILED")  # what the summary says without and with a failure

    @property
    def failed(self) -> bool:
        return any(f.status is Status.FAIL for f in self.findings)

    def count(self, status: Status) -> int:
        return sum(f.status is status for f in self.findings)

    def summary(self) -> str:
        """One line: how many checks, how many of each status, and whether the run fails."""
        parts = [f"{len(self.findings)} checked"] + [
            f"{self.count(s)} {s.value}" for s in (Status.FAIL, Status.WARN, Status.INFO, Status.SKIP) if self.count(s)
        ]
        return f"{self.command}: {', '.join(parts)}: {self.verdicts[self.failed]}"
