"""Render lint findings: a line each with a summary, JSON, JUnit XML and GitHub Actions annotations."""

from __future__ import annotations

from collections import Counter

from rich.console import Console

from mcpobs.findings import Finding
from mcpobs.lint import SEVERITIES, LintResult, Rule
from mcpobs.lint.run import order
from mcpobs.render import findings as common


def summary_line(result: LintResult) -> str:
    """One line: how many findings of each severity, and whether the run fails."""
    counts = Counter(f.severity for f in result.findings)
    files = len(result.files)
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}" for s in reversed(SEVERITIES)]
    failing = sum(result.failing(f) for f in result.findings)
    verdict = f"FAILED: {failing} at or above {result.fail_on}" if failing else f"passed (--fail-on {result.fail_on})"
    return f"{files} file{'s' if files != 1 else ''}, {len(result.rules)} rules: {', '.join(parts)}: {verdict}"


def render_text(result: LintResult, console: Console) -> None:
    """A line per finding (where, severity, rule, what), the rules that fired with their sections, the summary."""
    for f in sorted(result.findings, key=order):
        console.print(
            f"{f.subject}: {f.severity} {f.check}: {f.message}", markup=False, highlight=False, soft_wrap=True
        )
    fired = _fired(result.rules, result.findings)
    if fired:
        console.print()
        for rule in fired:
            console.print(f"{rule.id}: {rule.description} ({rule.doc})", markup=False, highlight=False, soft_wrap=True)
        console.print()
    console.print(summary_line(result), markup=False, highlight=False)


def _fired(rules: tuple[Rule, ...], findings: tuple[Finding, ...]) -> list[Rule]:
    ids = {f.check for f in findings}
    return [r for r in rules if r.id in ids]


def render_json(result: LintResult) -> str:
    """The run as every check's JSON: each finding with its rule (check), severity, status and section."""
    return common.render_json(result.report())


def render_junit(result: LintResult) -> str:
    """JUnit XML: a test suite per rule, a test case per finding (a rule without findings: one passing
    case); a finding at or above --fail-on is a failure, one below passes and says so in system-out."""
    return common.render_junit(result.report())


def render_github(result: LintResult) -> str:
    """A GitHub Actions annotation per finding, at its file and line (a span's: at its file), then the summary."""
    return common.render_github(result.report())


def rules_table(console: Console) -> None:
    """Every rule: its id, severity and evidence, what it finds, and (a line of its own, whole, so that
    a terminal can open it) the section of the specification or convention it enforces."""
    from mcpobs.lint import RULES

    for r in RULES:
        console.print(
            f"{r.id} ({r.severity}, {r.kind}): {r.description}", markup=False, highlight=False, soft_wrap=True
        )
        console.print(f"    {r.doc}", markup=False, highlight=False, soft_wrap=True)
