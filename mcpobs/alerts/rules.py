"""The rules file: the observability model's ``alerts:`` list, with mcpobs' extensions.

::

    alerts:
      - name: "MCP Tool Call Error Rate"      # the model's three fields
        condition: "error_rate > 0.05"
        action: "notify"
        scope: tool                           # global (default), tool, server, session, concurrency, model
        where: 'server == "toolbox"'          # only these calls
        severity: critical                    # info, warning (default), critical
        min_calls: 20                         # no verdict for a smaller group
        description: "Tools that fail too often"

The whole file is checked before any data is loaded, and every problem in it is
reported at once, each as ``path:LINE:COL: message``.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import yaml

from mcpobs.analysis.metrics import BY_NAME, MODEL_FIELDS, SCOPES
from mcpobs.analysis.sql import FIELD_KINDS
from mcpobs.expr import ExprError, Kind, Node, check, name_nodes, parse
from mcpobs.yamldoc import Problem, ProblemsError, Reader, is_null, read_text

SEVERITIES = ("info", "warning", "critical")
DEFAULT_SEVERITY = "warning"
BASELINE = "baseline."
KEYS = ("name", "condition", "action", "scope", "where", "severity", "min_calls", "description")


@dataclass(frozen=True)
class Rule:
    """One alert rule, checked: its condition and filter are parsed syntax trees."""

    name: str
    condition: Node
    condition_text: str
    scope: str = "global"
    where: Node | None = None
    where_text: str = ""
    severity: str = DEFAULT_SEVERITY
    min_calls: int = 0
    description: str = ""
    action: str = ""
    line: int = 0  # where the rule starts in its file

    @property
    def metrics(self) -> set[str]:
        """The metrics the condition reads from the files checked."""
        return {n.name for n in name_nodes(self.condition) if not n.name.startswith(BASELINE)}

    @property
    def baseline_metrics(self) -> set[str]:
        """The metrics the condition reads from the baseline."""
        return {n.name.removeprefix(BASELINE) for n in name_nodes(self.condition) if n.name.startswith(BASELINE)}


@dataclass(frozen=True)
class RuleSet:
    path: str
    rules: tuple[Rule, ...]

    @property
    def needs_baseline(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.baseline_metrics)


class RulesError(ProblemsError):
    """A rules file with problems: all of them, each a line of its own."""


STARTER = """\
# Alert rules for `mcpobs check-alerts --rules alerts.yaml FILES...`: it exits 1 when a rule fires.
#
# The first three rules are the observability model's own. Besides name, condition and action, a rule may set:
#   scope:       global (the default: one verdict per side), tool, server, session, concurrency
#                (per server and calls in flight: 1, 2, 3-4, 5-8, 9+) or model:
#                the rule is checked for each group and names the ones that fire
#   where:       only these calls, e.g. 'tool == "search" and side == "server"'
#   severity:    info, warning (the default) or critical; --fail-on sets the lowest that fails the run
#   min_calls:   no verdict for a group with fewer calls than this
#   description: what the rule is for
# Conditions: metrics (`mcpobs check-alerts --list-metrics`), numbers, durations (150ms, 2s),
# percents (5%), + - * /, comparisons, and/or/not, and baseline.<metric> with --baseline FILES.
alerts:
  - name: "MCP Tool Call Error Rate"
    condition: "error_rate > 0.05"
    action: "notify"
  - name: "MCP Token Cost"
    condition: "token_cost > 100"
    action: "notify"
  - name: "MCP Session Recovery"
    condition: "session_recovery > 3"
    action: "notify"
# More to adapt:
#  - name: "Slow search"
#    condition: "latency_p95_ms > 2s"
#    scope: tool
#    where: 'tool == "search"'
#    severity: critical
#    min_calls: 20
#  - name: "Slow under load"
#    condition: "latency_p95_ms > 1s"
#    scope: concurrency
#  - name: "p95 latency regression against main"
#    condition: "latency_p95_ms > baseline.latency_p95_ms * 1.2"
#    scope: tool
"""


def load_rules(path: Path) -> RuleSet:
    """Read and check a rules file; :class:`RulesError` lists every problem in it."""
    text = read_text(path, "rules file", " (mcpobs check-alerts --init writes a starter)")
    return parse_rules(text, str(path))


def parse_rules(text: str, path: str = "alerts.yaml") -> RuleSet:
    """Check the text of a rules file; :class:`RulesError` lists every problem in it."""
    problems: list[Problem] = []
    reader = Reader(path, problems)
    root = reader.compose(text)
    rules: list[Rule] = []
    if root is not None:
        items: list[yaml.Node] = []
        found = False
        for key, value in reader.mapping(root, "the rules file"):
            if key.value == "alerts":
                found = True
                items += reader.sequence(value, "alerts")
            else:
                reader.problem(key, f"unknown key {key.value!r}: a rules file holds one list, alerts")
        if not found and not problems:
            reader.problem(root, "no alerts: the file must hold a list of rules under alerts:")
        elif found and not items and not problems:
            # a gate with no rules would pass whatever the data says
            reader.problem(root, "alerts is empty: the file must hold at least one rule")
        seen: dict[str, int] = {}
        for item in items:
            name = _name_of(item)
            if name is not None and name in seen:
                reader.problem(item, f"a rule named {name!r} is already defined at line {seen[name]}")
            elif name is not None:
                seen[name] = item.start_mark.line + 1
            rule = _rule(reader, item)
            if rule is not None:
                rules.append(rule)
    elif not problems:
        problems.append(Problem(path, 1, 1, "the rules file is empty: it must hold a list of rules under alerts:"))
    if problems:
        raise RulesError(sorted(problems, key=lambda p: (p.line, p.column)))
    return RuleSet(path, tuple(rules))


def _name_of(item: yaml.Node) -> str | None:
    """A rule's name as written, if it has one, whatever else is wrong with it."""
    if isinstance(item, yaml.MappingNode):
        for key, value in item.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "name" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None


def _rule(reader: Reader, item: yaml.Node) -> Rule | None:
    """One rule, or None when it has problems (all of them noted)."""
    before = len(reader.problems)
    pairs = reader.mapping(item, "a rule")
    if not pairs:
        if len(reader.problems) == before:
            reader.problem(item, "a rule must set at least name and condition")
        return None
    fields: dict[str, yaml.Node] = {}
    for key, value in pairs:
        if key.value not in KEYS:
            close = difflib.get_close_matches(key.value, KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            reader.problem(key, f"unknown key {key.value!r}: {hint}a rule has {', '.join(KEYS)}")
        elif not is_null(value) or key.value in ("name", "condition"):
            fields[key.value] = value
    for required in ("name", "condition"):
        if required not in fields:
            reader.problem(item, f"the rule has no {required}")
    name = reader.text(fields["name"], "name") if "name" in fields else None
    if name is not None and not name.strip():
        reader.problem(fields["name"], "name must not be empty: it titles the rule in every output")
        name = None
    scope = _choice(reader, fields, "scope", SCOPES, "global")
    severity = _choice(reader, fields, "severity", SEVERITIES, DEFAULT_SEVERITY)
    min_calls = reader.count(fields["min_calls"], "min_calls") if "min_calls" in fields else 0
    description = reader.text(fields["description"], "description") if "description" in fields else ""
    action = reader.text(fields["action"], "action") if "action" in fields else ""
    condition = where = None
    # a condition or filter is parsed even under an unknown scope: its names are checked only under a known one
    if "condition" in fields:
        condition = _condition(reader, fields["condition"], scope)
    if "where" in fields:
        where = _where(reader, fields["where"], scope)
    if len(reader.problems) > before or name is None or condition is None or severity is None:
        return None
    return Rule(
        name=name,
        condition=condition,
        condition_text=str(fields["condition"].value).strip(),
        scope=scope or "global",
        where=where,
        where_text=str(fields["where"].value).strip() if where is not None else "",
        severity=severity,
        min_calls=min_calls or 0,
        description=description or "",
        action=action or "",
        line=item.start_mark.line + 1,
    )


def _choice(
    reader: Reader, fields: dict[str, yaml.Node], key: str, choices: tuple[str, ...], default: str
) -> str | None:
    if key not in fields:
        return default
    value = reader.text(fields[key], key)
    if value is None:
        return None
    if value not in choices:
        reader.problem(fields[key], f"{key} {value!r} is not one of {', '.join(choices)}")
        return None
    return value


def _condition(reader: Reader, node: yaml.Node, scope: str | None) -> Node | None:
    text = reader.text(node, "condition")
    if text is None:
        return None
    try:
        tree = parse(text)
    except ExprError as e:
        _expr_problem(reader, node, e)
        return None
    if scope is None:
        return None
    bad = False
    for name in name_nodes(tree):
        message = _unknown(name.name, scope)
        if message:
            _expr_problem(reader, node, ExprError(message, name.column))
            bad = True
    if bad:
        return None
    kinds: dict[str, Kind] = {}
    for metric in BY_NAME.values():
        if scope in metric.sources:
            kinds[metric.name] = kinds[BASELINE + metric.name] = "number"
    try:
        check(tree, kinds)
    except ExprError as e:
        _expr_problem(reader, node, e)
        return None
    return tree


def _unknown(name: str, scope: str) -> str:
    """Why ``name`` is no metric of ``scope``, or "" when it is one."""
    base = name.removeprefix(BASELINE)
    prefix = name[: len(name) - len(base)]
    metric = BY_NAME.get(base)
    if metric is not None:
        if scope in metric.sources:
            return ""
        return f"metric {base!r} is not measured per {scope}, only for scope {', '.join(metric.scopes)}"
    valid = [m.name for m in BY_NAME.values() if scope in m.sources]
    close = difflib.get_close_matches(base, valid, n=3, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(prefix + c) for c in close)}? " if close else ""
    return f"unknown metric {name!r}; {hint}valid for scope {scope}: {', '.join(valid)}"


def _where(reader: Reader, node: yaml.Node, scope: str | None) -> Node | None:
    text = reader.text(node, "where")
    if text is None:
        return None
    fields: dict[str, Kind] = dict.fromkeys(MODEL_FIELDS, "string") if scope == "model" else FIELD_KINDS
    try:
        tree = parse(text)
        if scope is None:
            return None
        check(tree, fields, noun="field")
    except ExprError as e:
        _expr_problem(reader, node, e)
        return None
    return tree


def _expr_problem(reader: Reader, node: yaml.Node, error: ExprError) -> None:
    """A problem in an expression, at its own line and column in the file where that can be told
    (a one-line scalar, quoted or not), else at the scalar with the column in the expression named."""
    positions = reader.positions(node)
    if positions is not None and error.column <= len(positions):
        line, column = positions[error.column - 1]
        reader.problems.append(Problem(reader.path, line, column, error.message))
    else:
        reader.problem(node, f"column {error.column} of the expression: {error.message}")
