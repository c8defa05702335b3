"""Findings (:mod:`mcpobs.findings`) as text, JSON, JUnit XML and GitHub Actions annotations, the
formats check-alerts writes."""

from __future__ import annotations

import json

from rich.console import Console

from mcpobs.findings import Finding, Findings, Status
from mcpobs.render.ci import Case, Failure, Suite, annotation, junit
from mcpobs.render.text import visible


def render_text(findings: Findings, console: Console) -> None:
    """A line for each finding that is not ok, its details indented below it, then the summary."""
    for f in findings.findings:
        if f.status is Status.OK:
            continue
        where = f"{f.file}:{f.line}: " if f.file and f.line else ""
        console.print(
            f"{f.status.value.upper():<5} {where}{visible(f.check)}: {visible(f.subject)}: {visible(f.message)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        for detail in f.details:
            console.print(f"        {visible(detail)}", markup=False, highlight=False, soft_wrap=True)
    console.print(findings.summary(), markup=False, highlight=False)


def render_json(findings: Findings) -> str:
    """Every finding, ok ones too, and the summary, as one JSON document."""
    document = {
        "command": findings.command,
        "failed": findings.failed,
        "summary": {"checked": len(findings.findings), **{s.value: findings.count(s) for s in Status}},
        "notes": list(findings.notes),
        "findings": [
            {
                "check": f.check,
                "subject": f.subject,
                "status": f.status.value,
                "message": f.message,
                "details": list(f.details),
                "file": f.file,
                "line": f.line,
                # a lint rule's finding: its severity and the section it enforces
                **({"severity": f.severity, "doc": f.doc} if f.severity is not None else {}),
            }
            for f in findings.findings
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_junit(findings: Findings) -> str:
    """JUnit XML: a test suite per check, a test case per subject; a failing finding is a failure, a
    skipped one skipped, a warning passes and says so in system-out."""
    checks: dict[str, list[Finding]] = {}
    for f in findings.findings:
        checks.setdefault(f.check, []).append(f)
    return junit(findings.command, [Suite(check, [_case(check, f) for f in mine]) for check, mine in checks.items()])


def _case(check: str, f: Finding) -> Case:
    # JUnit 10's schema has no file or line on a test case: they lead the failure's text
    where = f"{f.file}:{f.line}" if f.file and f.line else f.file
    more = (*f.details, f.doc) if f.doc else f.details
    if f.status is Status.FAIL:
        text = "\n".join((where, *more) if where else more)
        return Case(check, f.subject, failure=Failure(f.message, check, text))
    if f.status is Status.SKIP:
        return Case(check, f.subject, skipped=f.message)
    if f.status in (Status.WARN, Status.INFO):
        return Case(check, f.subject, output="\n".join((f.message, *more)))
    return Case(check, f.subject)


_GITHUB = {Status.FAIL: "error", Status.WARN: "warning", Status.INFO: "notice"}


def render_github(findings: Findings) -> str:
    """An annotation per failing finding (error), warning and piece of information (notice), on its
    file and line where it has them, then the summary."""
    lines = []
    for f in findings.findings:
        if f.status not in _GITHUB:
            continue
        level = _GITHUB[f.status]
        doc = f" ({f.doc})" if f.doc else ""
        about = _within(f)
        text = "\n".join((f"{about}: {f.message}{doc}" if about else f"{f.message}{doc}", *f.details))
        line = f.line if f.file and f.line else None
        lines.append(annotation(level, text, file=f.file or None, line=line, title=f.check))
    lines.append(findings.summary())
    return "\n".join(lines) + "\n"


def _within(f: Finding) -> str:
    """The subject less what the annotation's file and line already say (a lint finding's place is its
    file and line, or its file and a span)."""
    if f.file and f.subject in (f.file, f"{f.file}:{f.line}"):
        return ""
    if f.file and f.subject.startswith(f.file + " "):
        return f.subject[len(f.file) + 1 :]
    return f.subject
