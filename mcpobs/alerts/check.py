"""Checking rules against loaded files: a verdict per rule and group."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from mcpobs.alerts.rules import BASELINE, SEVERITIES, Rule, RuleSet
from mcpobs.analysis.metrics import Figures, Group, sample_size
from mcpobs.errors import UsageError
from mcpobs.expr import evaluate, name_nodes


class Status(StrEnum):
    FIRED = "fired"
    OK = "ok"
    NO_VERDICT = "no verdict"  # too few calls, or a value the condition needs is missing


@dataclass(frozen=True)
class Verdict:
    """One rule checked on one group: what it read, and what came of it."""

    rule: Rule
    group: Group
    status: Status
    values: dict[str, Any]  # each name the condition reads -> its value (None: no value)
    reason: str = ""  # why there is no verdict

    @property
    def label(self) -> str:
        """The group as people read it: ``client · tool search`` (``all`` when the rule matched nothing)."""
        return group_label(self.group)


@dataclass(frozen=True)
class Outcome:
    """Every verdict of a rules file, and whether the run fails."""

    rules: RuleSet
    verdicts: tuple[Verdict, ...]
    fail_on: str
    notes: tuple[str, ...] = field(default=())

    def failing(self, verdict: Verdict) -> bool:
        """Whether ``verdict`` fails the run: it fired, at --fail-on's severity or above."""
        return verdict.status is Status.FIRED and rank(verdict.rule.severity) >= rank(self.fail_on)

    @property
    def failed(self) -> bool:
        return any(self.failing(v) for v in self.verdicts)

    def count(self, status: Status) -> int:
        return sum(v.status is status for v in self.verdicts)


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def group_label(group: Group) -> str:
    if not group:
        return "all"
    return " · ".join(str(value) if key == "side" else f"{key} {value}" for key, value in group)


def check_alerts(
    rules: RuleSet, current: Figures, baseline: Figures | None = None, fail_on: str = "warning"
) -> Outcome:
    """Check each rule on each group of its scope among the calls its filter selects.

    A group has no verdict when it has fewer calls than the rule's ``min_calls``,
    or when a value the condition needs is missing (no calls of that kind, no
    baseline for the group): such a rule neither fires nor passes. A rule whose
    filter selects nothing gets one verdict, for no group.
    """
    if fail_on not in SEVERITIES:
        raise ValueError(f"fail_on {fail_on!r} is not one of {', '.join(SEVERITIES)}")
    verdicts: list[Verdict] = []
    for rule in rules.rules:
        size = sample_size(rule.scope)
        measured = current.measure(rule.scope, rule.where, rule.metrics | {size})
        base: dict[Group, dict[str, Any]] = {}
        if rule.baseline_metrics:
            if baseline is None:
                raise UsageError(
                    f"rule {rule.name!r} compares with baseline.* metrics: give the baseline files with --baseline"
                )
            base = baseline.measure(rule.scope, rule.where, rule.baseline_metrics)
        if not measured:
            values = dict.fromkeys(_names(rule))
            verdicts.append(Verdict(rule, (), Status.NO_VERDICT, values, "no calls match"))
        for group in sorted(measured, key=_order):
            verdicts.append(_verdict(rule, group, measured[group], base.get(group, {}), size))
    notes = [*current.notes, *(f"baseline: {n}" for n in (baseline.notes if baseline else ()))]
    return Outcome(rules, tuple(verdicts), fail_on, tuple(notes))


def _verdict(rule: Rule, group: Group, now: dict[str, Any], then: dict[str, Any], size: str) -> Verdict:
    values = {
        name: then.get(name.removeprefix(BASELINE)) if name.startswith(BASELINE) else now.get(name)
        for name in _names(rule)
    }
    calls = now.get(size) or 0
    if calls < rule.min_calls:
        noun = ("LLM call" if size == "llm_calls" else "call") + ("" if calls == 1 else "s")
        return Verdict(rule, group, Status.NO_VERDICT, values, f"{calls} {noun}, fewer than min_calls {rule.min_calls}")
    result = evaluate(rule.condition, {name: _number(v) for name, v in values.items()})
    if result is None:
        missing = [name for name, value in values.items() if value is None]
        reason = f"no value for {', '.join(missing)}" if missing else "the condition divides by zero or overflows"
        return Verdict(rule, group, Status.NO_VERDICT, values, reason)
    return Verdict(rule, group, Status.FIRED if result else Status.OK, values)


def _names(rule: Rule) -> list[str]:
    """The names the condition reads, each once, in the order written."""
    return list(dict.fromkeys(n.name for n in name_nodes(rule.condition)))


def _number(value: Any) -> float | None:
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal | bool | int) else value


def _order(group: Group) -> tuple[tuple[int, str], ...]:
    # None (no side, no name) first; then by text, so the order is the same on every run
    return tuple((0, "") if value is None else (1, str(value)) for _, value in group)
