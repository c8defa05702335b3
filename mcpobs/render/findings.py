"""Findings (:mod:`mcpobs.findings`) as text, JSON, JUnit XML and GitHub Actions annotations, the
formats check-alerts writes."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from rich.console import Console

from mcpobs.findings import Finding, Findings, Status
from mcpobs.render.alerts import github_data, github_property, xml_text
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
            }
            for f in findings.findings
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_junit(findings: Findings) -> str:
    """JUnit XML: a test suite per check, a test case per subject; a failing finding is a failure, a
    skipped one skipped, a warning passes and says so in system-out."""
    root = ET.Element(
        "testsuites",
        {
            "name": findings.command,
            "tests": str(len(findings.findings)),
            "failures": str(findings.count(Status.FAIL)),
            "errors": "0",
            "time": "0",
        },
    )
    checks: dict[str, list[Finding]] = {}
    for f in findings.findings:
        checks.setdefault(f.check, []).append(f)
    for check, mine in checks.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            {
                "name": check,
                "tests": str(len(mine)),
                "failures": str(sum(f.status is Status.FAIL for f in mine)),
                "errors": "0",
                "skipped": str(sum(f.status is Status.SKIP for f in mine)),
                "time": "0",
            },
        )
        for f in mine:
            case = ET.SubElement(suite, "testcase", {"classname": check, "name": f.subject, "time": "0"})
            # JUnit 10's schema has no file or line on a test case: they lead the failure's text
            where = f"{f.file}:{f.line}" if f.file and f.line else f.file
            if f.status is Status.FAIL:
                failure = ET.SubElement(case, "failure", {"message": f.message, "type": check})
                failure.text = "\n".join((where, *f.details) if where else f.details) or None
            elif f.status is Status.SKIP:
                ET.SubElement(case, "skipped", {"message": f.message})
            elif f.status in (Status.WARN, Status.INFO):
                out = ET.SubElement(case, "system-out")
                out.text = "\n".join((f.message, *f.details))
    ET.indent(root)
    return xml_text('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")


_GITHUB = {Status.FAIL: "error", Status.WARN: "warning", Status.INFO: "notice"}


def render_github(findings: Findings) -> str:
    """An annotation per failing finding (error), warning and piece of information (notice), on its
    file and line where it has them, then the summary."""
    lines = []
    for f in findings.findings:
        if f.status not in _GITHUB:
            continue
        level = _GITHUB[f.status]
        props = [f"file={github_property(f.file)}"] if f.file else []
        if f.file and f.line:
            props.append(f"line={f.line}")
        props.append(f"title={github_property(f.check)}")
        text = "\n".join((f"{f.subject}: {f.message}", *f.details))
        lines.append(f"::{level} {','.join(props)}::{github_data(text)}")
    lines.append(findings.summary())
    return "\n".join(lines) + "\n"
