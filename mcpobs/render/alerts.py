"""Render alert verdicts: a rich summary, JSON, JUnit XML and GitHub Actions annotations."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

from mcpobs.alerts.check import Outcome, Status, Verdict, rank
from mcpobs.alerts.rules import BASELINE
from mcpobs.analysis.metrics import BY_NAME, METRICS, Metric
from mcpobs.analysis.model import Column, Table, Unit
from mcpobs.render.ci import Case, Failure, Suite, annotation, junit
from mcpobs.render.text import MISSING, format_value, plain, render_section, titled_table
from mcpobs.yamldoc import Problem


def reading(verdict: Verdict) -> str:
    """What the condition read, as people read it: ``error_rate 33.3%, baseline.error_rate 5.0%``."""
    return ", ".join(f"{name} {_value(name, value)}" for name, value in verdict.values.items())


def _value(name: str, value: Any) -> str:
    """A value the condition read, precise enough to see why it fired (33.3333%, not 33.3%)."""
    metric = BY_NAME.get(name.removeprefix(BASELINE))
    unit = metric.unit if metric else Unit.NUMBER
    if value is None or unit is Unit.MONEY:
        return format_value(value, unit) if value is None else f"${plain(value)}"
    if unit is Unit.RATE:
        return f"{value * 100:.6g}%"
    if unit is Unit.MS:
        return f"{value:.6g} ms"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def result_word(outcome: Outcome, verdict: Verdict) -> str:
    """``FIRED`` (fails the run), ``fired``, ``no verdict`` or ``ok``."""
    if verdict.status is Status.FIRED:
        return "FIRED" if outcome.failing(verdict) else "fired"
    return str(verdict.status)


def summary_line(outcome: Outcome) -> str:
    """One line: how many rules fired, and whether the run fails."""
    fired = [v for v in outcome.verdicts if v.status is Status.FIRED]
    failing = [v for v in fired if outcome.failing(v)]
    rules = len(outcome.rules.rules)
    parts = [
        f"{rules} rule{'s' if rules != 1 else ''}",
        f"{len(outcome.verdicts)} checks",
        f"{len(fired)} fired",
        f"{outcome.count(Status.NO_VERDICT)} without a verdict",
    ]
    verdict = (
        f"FAILED: {len(failing)} at or above {outcome.fail_on}" if failing else f"passed (--fail-on {outcome.fail_on})"
    )
    return f"{', '.join(parts)}: {verdict}"


def render_text(outcome: Outcome, console: Console) -> None:
    """A table of the rules, one of the groups that fired or had no verdict, and the summary line."""
    columns = (
        Column("rule", Unit.TEXT),
        Column("severity", Unit.TEXT, prose=True),
        Column("scope", Unit.TEXT, prose=True),
        Column("condition", Unit.TEXT, prose=True),
        Column("checked", Unit.COUNT),
        Column("fired", Unit.COUNT),
        Column("no verdict", Unit.COUNT),
        Column("result", Unit.TEXT),
    )
    rows = []
    for rule in outcome.rules.rules:
        mine = [v for v in outcome.verdicts if v.rule is rule]
        fired = [v for v in mine if v.status is Status.FIRED]
        result = "FIRED" if any(outcome.failing(v) for v in fired) else "fired" if fired else "ok"
        if not fired and all(v.status is Status.NO_VERDICT for v in mine):
            result = "no verdict"
        condition = rule.condition_text + (f"  where {rule.where_text}" if rule.where_text else "")
        no_verdict = sum(v.status is Status.NO_VERDICT for v in mine)
        rows.append((rule.name, rule.severity, rule.scope, condition, len(mine), len(fired), no_verdict, result))
    # names and conditions as written (never read as markup); the rule's name is never folded
    render_section(Table("rules", "Alert rules", columns, tuple(rows)), console)
    shown = listed(outcome)
    if shown:
        # a line each, not a table: group names and values are as long as they are, and lines wrap well
        console.print("Fired, and without a verdict", style="bold", markup=False, highlight=False)
        console.print()
        for v in shown:
            why = f" ({v.reason})" if v.reason else ""
            line = f" {result_word(outcome, v):<10}  {v.rule.severity:<8}  {v.rule.name} [{v.label}]: {reading(v)}{why}"
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.print()
    console.print(summary_line(outcome), markup=False, highlight=False)


def listed(outcome: Outcome) -> list[Verdict]:
    """The verdicts people are shown: those that fired, most severe first, then those without a verdict."""
    shown = [v for v in outcome.verdicts if v.status is not Status.OK]
    return sorted(shown, key=lambda v: (v.status is not Status.FIRED, -rank(v.rule.severity), v.rule.line))


def render_json(outcome: Outcome) -> str:
    """The rules, every verdict and the summary as one JSON document (money as decimal text)."""
    document = {
        "rules_file": outcome.rules.path,
        "fail_on": outcome.fail_on,
        "failed": outcome.failed,
        "summary": {
            "rules": len(outcome.rules.rules),
            "checks": len(outcome.verdicts),
            "fired": outcome.count(Status.FIRED),
            "failing": sum(outcome.failing(v) for v in outcome.verdicts),
            "ok": outcome.count(Status.OK),
            "no_verdict": outcome.count(Status.NO_VERDICT),
        },
        "notes": list(outcome.notes),
        "rules": [
            {
                "name": r.name,
                "condition": r.condition_text,
                "scope": r.scope,
                "where": r.where_text or None,
                "severity": r.severity,
                "min_calls": r.min_calls,
                "description": r.description or None,
                "action": r.action or None,
                "line": r.line,
            }
            for r in outcome.rules.rules
        ],
        "verdicts": [
            {
                "rule": v.rule.name,
                "severity": v.rule.severity,
                "scope": v.rule.scope,
                "group": dict(v.group),
                "status": v.status.value,
                "failing": outcome.failing(v),
                "values": {name: plain(value) for name, value in v.values.items()},
                "reason": v.reason or None,
            }
            for v in outcome.verdicts
        ],
    }
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def render_junit(outcome: Outcome) -> str:
    """JUnit XML: a test suite per rule, a test case per group. A failing verdict is a failure, a
    missing verdict is skipped, a rule that fired below --fail-on passes and says so in system-out."""
    suites = []
    for rule in outcome.rules.rules:
        cases = []
        for v in (v for v in outcome.verdicts if v.rule is rule):
            message = f"{rule.condition_text}: {reading(v)}"
            failure = Failure(message, rule.severity, _details(v)) if outcome.failing(v) else None
            skipped = f"no verdict: {v.reason}" if v.status is Status.NO_VERDICT else None
            below = f"fired at severity {rule.severity}, below --fail-on {outcome.fail_on}: {message}"
            output = below if v.status is Status.FIRED and failure is None else None
            cases.append(Case(rule.name, v.label, failure, skipped, output))
        properties = (
            ("condition", rule.condition_text),
            ("scope", rule.scope),
            ("where", rule.where_text),
            ("severity", rule.severity),
            ("min_calls", str(rule.min_calls)),
            ("description", rule.description),
            ("action", rule.action),
        )
        suites.append(Suite(rule.name, cases, [(k, v) for k, v in properties if v], outcome.rules.path))
    return junit("mcpobs check-alerts", suites)


def _details(v: Verdict) -> str:
    lines = [f"rule: {v.rule.name} (line {v.rule.line})", f"condition: {v.rule.condition_text}"]
    if v.rule.where_text:
        lines.append(f"where: {v.rule.where_text}")
    lines.append(f"group: {v.label}")
    lines.extend(f"{name}: {_value(name, value)}" for name, value in v.values.items())
    if v.rule.description:
        lines.append(f"description: {v.rule.description}")
    return "\n".join(lines)


# A rule that fired below --fail-on, by severity -> the workflow command that shows it (a failing one is an error).
_GITHUB = {"critical": "warning", "warning": "warning", "info": "notice"}


def render_github(outcome: Outcome) -> str:
    """A GitHub Actions annotation per group that fired, on the rule's line in the rules file."""
    lines = []
    for v in outcome.verdicts:
        if v.status is not Status.FIRED:
            continue
        level = "error" if outcome.failing(v) else _GITHUB[v.rule.severity]
        text = f"{v.label}: {reading(v)} ({v.rule.condition_text})"
        lines.append(annotation(level, text, file=outcome.rules.path, line=v.rule.line, title=v.rule.name))
    lines.append(summary_line(outcome))
    return "\n".join(lines) + "\n"


def render_problems_github(problems: list[Problem]) -> str:
    """Each problem of a rules file as an error annotation at its line and column."""
    return "".join(
        annotation("error", p.message, file=p.path, line=p.line, col=p.column, title="invalid rules") + "\n"
        for p in problems
    )


def metrics_table(console: Console) -> None:
    """Every metric a rule can name: its unit, the scopes that measure it, and what it means."""
    table = titled_table("Metrics")
    for header in ("metric", "unit", "scopes", "meaning"):
        table.add_column(header, overflow="fold", no_wrap=header == "metric")
    for metric in METRICS:
        cells = (metric.name, metric.unit.value, ", ".join(metric.scopes), metric.description or MISSING)
        table.add_row(*(Text(c) for c in cells))
    console.print(table)


def metrics_json() -> str:
    return json.dumps([_metric(m) for m in METRICS], indent=2) + "\n"


def _metric(metric: Metric) -> dict[str, Any]:
    return {
        "name": metric.name,
        "unit": metric.unit.value,
        "scopes": list(metric.scopes),
        "description": metric.description,
    }
