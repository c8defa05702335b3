"""Render lint findings: a line each with a summary, JSON, JUnit XML and GitHub Actions annotations."""

from __future__ import annotations

import json
from collections import Counter

from rich.console import Console

from mcpobs.lint import SEVERITIES, Finding, LintResult, Rule
from mcpobs.render.ci import Case, Failure, Suite, annotation, junit


def _order(finding: Finding) -> tuple[str, int, str, str, str]:
    return (finding.path, finding.line or 0, finding.trace_id or "", finding.span_id or "", finding.rule.id)


def summary_line(result: LintResult) -> str:
    """One line: how many findings of each severity, and whether the run fails."""
    counts = Counter(f.rule.severity for f in result.findings)
    files = len(result.files)
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}" for s in reversed(SEVERITIES)]
    failing = sum(result.failing(f) for f in result.findings)
    verdict = f"FAILED: {failing} at or above {result.fail_on}" if failing else f"passed (--fail-on {result.fail_on})"
    return f"{files} file{'s' if files != 1 else ''}, {len(result.rules)} rules: {', '.join(parts)}: {verdict}"


def render_text(result: LintResult, console: Console) -> None:
    """A line per finding (where, severity, rule, what), the rules that fired with their sections, the summary."""
    findings = sorted(result.findings, key=_order)
    for f in findings:
        console.print(
            f"{f.where}: {f.rule.severity} {f.rule.id}: {f.message}", markup=False, highlight=False, soft_wrap=True
        )
    fired = _fired(result)
    if fired:
        console.print()
        for rule in fired:
            console.print(f"{rule.id}: {rule.description} ({rule.doc})", markup=False, highlight=False, soft_wrap=True)
        console.print()
    console.print(summary_line(result), markup=False, highlight=False)


def _fired(result: LintResult) -> list[Rule]:
    ids = {f.rule.id for f in result.findings}
    return [r for r in result.rules if r.id in ids]


def render_json(result: LintResult) -> str:
    """The run as one JSON document: every finding with its rule, severity and section, and the summary."""
    counts = Counter(f.rule.severity for f in result.findings)
    document = {
        "fail_on": result.fail_on,
        "failed": result.failed,
        "files": list(result.files),
        "summary": {
            "findings": len(result.findings),
            "failing": sum(result.failing(f) for f in result.findings),
            **{s: counts[s] for s in reversed(SEVERITIES)},
        },
        "findings": [
            {
                "rule": f.rule.id,
                "severity": f.rule.severity,
                "failing": result.failing(f),
                "path": f.path,
                "line": f.line,
                "trace_id": f.trace_id,
                "span_id": f.span_id,
                "message": f.message,
                "doc": f.rule.doc,
            }
            for f in sorted(result.findings, key=_order)
        ],
        "rules": [
            {"id": r.id, "severity": r.severity, "kind": r.kind, "description": r.description, "doc": r.doc}
            for r in result.rules
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def render_junit(result: LintResult) -> str:
    """JUnit XML: a test suite per rule, a test case per finding (a rule without findings: one passing
    case). A finding at or above --fail-on is a failure; one below passes and says so in system-out."""
    suites = []
    for rule in result.rules:
        mine = sorted((f for f in result.findings if f.rule is rule), key=_order)
        cases = [_case(result, f) for f in mine] or [Case(rule.id, "no findings")]
        properties = (("severity", rule.severity), ("description", rule.description), ("doc", rule.doc))
        suites.append(Suite(rule.id, cases, properties))
    return junit("mcpobs lint", suites)


def _case(result: LintResult, f: Finding) -> Case:
    if result.failing(f):
        return Case(f.rule.id, f.where, Failure(f.message, f.rule.severity, f"{f.where}: {f.message}\n{f.rule.doc}"))
    return Case(f.rule.id, f.where, output=f"{f.rule.severity}, below --fail-on {result.fail_on}: {f.message}")


# A finding below --fail-on, by severity -> the workflow command that shows it (a failing one is an error).
_GITHUB = {"error": "error", "warning": "warning", "info": "notice"}


def render_github(result: LintResult) -> str:
    """A GitHub Actions annotation per finding, at its file and line (a span's: at its file)."""
    lines = []
    for f in sorted(result.findings, key=_order):
        level = "error" if result.failing(f) else _GITHUB[f.rule.severity]
        where = f"trace {f.trace_id} span {f.span_id}: " if f.span_id else ""
        lines.append(annotation(level, f"{where}{f.message} ({f.rule.doc})", file=f.path, line=f.line, title=f.rule.id))
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def rules_table(console: Console) -> None:
    """Every rule: its id, severity and evidence, what it finds, and (a line of its own, whole, so that
    a terminal can open it) the section of the specification or convention it enforces."""
    from mcpobs.lint import RULES

    for r in RULES:
        console.print(
            f"{r.id} ({r.severity}, {r.kind}): {r.description}", markup=False, highlight=False, soft_wrap=True
        )
        console.print(f"    {r.doc}", markup=False, highlight=False, soft_wrap=True)
