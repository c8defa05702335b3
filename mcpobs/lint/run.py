"""Linting files: each told by its content, recordings walked by the event-log rules, trace files
loaded into an in-memory store for the span rules."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from mcpobs.errors import UsageError
from mcpobs.eventlog.peers import as_event_log
from mcpobs.findings import Finding, Findings, Status
from mcpobs.ingest.sources import Format, Source, expand, spool_dir
from mcpobs.lint.eventlog import lint_event_log
from mcpobs.lint.rules import BY_ID, SEVERITIES, Rule, status_at

RECORDINGS = (Format.EVENT_LOG, Format.MCP_RECORDER, Format.MCP_CASSETTE, Format.MCP_VCR_NDJSON, Format.MCP_VCR_YAML)


@dataclass(frozen=True)
class LintResult:
    """Every finding of a run (its status held to ``fail_on``), the files it read, the rules it checked,
    and the severity that fails it."""

    findings: tuple[Finding, ...]
    files: tuple[str, ...]
    rules: tuple[Rule, ...]
    fail_on: str = "error"
    notes: tuple[str, ...] = field(default=())

    def failing(self, finding: Finding) -> bool:
        """Whether ``finding`` fails the run: at --fail-on's severity or above."""
        return finding.status is Status.FAIL

    @property
    def failed(self) -> bool:
        return any(self.failing(f) for f in self.findings)

    def report(self) -> Findings:
        """The run as every check reports one: its findings in rule order, and a finding of status ok
        for each rule checked that found nothing."""
        found = {r.id: [f for f in self.findings if f.check == r.id] for r in self.rules}
        quiet = {r.id: Finding(r.id, "no findings", "", Status.OK, severity=r.severity, doc=r.doc) for r in self.rules}
        ordered = [f for r in self.rules for f in (sorted(found[r.id], key=order) or [quiet[r.id]])]
        verdicts = (f"passed (--fail-on {self.fail_on})", f"FAILED (--fail-on {self.fail_on})")
        return Findings("mcpobs lint", ordered, self.notes, verdicts)


def order(finding: Finding) -> tuple[str, int, str, str]:
    """Findings by file, line, place (a span) and rule."""
    return (finding.file or "", finding.line or 0, finding.subject, finding.check)


def lint(arguments: list[str], *, ignore: tuple[str, ...] = (), fail_on: str = "error") -> LintResult:
    """Check every file ``arguments`` name (files, directories, globs, ``-``) against every rule not ignored."""
    unknown = [name for name in ignore if name not in BY_ID]
    if unknown:
        raise UsageError(f"--ignore {unknown[0]!r}: no such rule (mcpobs lint --list-rules lists them)")
    if fail_on not in SEVERITIES:
        raise UsageError(f"--fail-on {fail_on!r}: one of {', '.join(SEVERITIES)}")
    findings: list[Finding] = []
    checked: set[str] = set()  # the files that held an MCP message or span
    with spool_dir() as tmp:
        sources = expand(arguments, Path(tmp))
        traces = [s for s in sources if s.format not in RECORDINGS]
        for source in sources:
            if source.format in RECORDINGS:
                findings.extend(_recording(source, checked))
        if traces:
            findings.extend(_traces(traces, checked))
    # a finding at --fail-on's severity or above fails the run; below, it says its severity
    kept = tuple(
        replace(f, status=status_at(f.severity or "error", fail_on)) for f in findings if f.check not in ignore
    )
    rules = tuple(r for r in BY_ID.values() if r.id not in ignore)
    # a file no rule could look at passes, so say it: a gate on the wrong file would pass in silence
    notes = tuple(f"{s.name}: no MCP message or span to check" for s in sources if s.name not in checked)
    return LintResult(kept, tuple(s.name for s in sources), rules, fail_on, notes)


def _recording(source: Source, checked: set[str]) -> list[Finding]:
    with source.open_binary() as f:
        data = f.read()
    log = as_event_log(source.name, data, source.format.value)
    if any(r.get("kind") in ("message", "invalid") for r in log.records):
        checked.add(source.name)
    return lint_event_log(log, stated_lines=source.format is Format.EVENT_LOG)


def _traces(sources: list[Source], checked: set[str]) -> list[Finding]:
    from mcpobs.ingest import load
    from mcpobs.lint.spans import lint_spans, mcp_spans
    from mcpobs.store import Store

    with Store() as store:
        names = {}
        for source in sources:
            report = load(store, [str(source.path)])
            names[str(source.path)] = source.name
            if any(r.already_loaded or r.duplicate_spans for r in report.sources):
                checked.add(source.name)  # its spans are another file's, checked (and reported) there
        # the store knows each file by the path it was loaded from; people by the name they gave
        found = lint_spans(store, names)
        checked.update(names.get(s.path, s.path) for s in mcp_spans(store))
    return found
