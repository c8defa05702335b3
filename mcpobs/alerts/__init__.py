"""Alert rules: conditions over the analysis figures, checked per group, to gate CI on."""

from mcpobs.alerts.check import Outcome, Status, Verdict, check_alerts
from mcpobs.alerts.rules import SEVERITIES, STARTER, Rule, RulesError, RuleSet, load_rules, parse_rules

__all__ = [
    "SEVERITIES",
    "STARTER",
    "Outcome",
    "Rule",
    "RuleSet",
    "RulesError",
    "Status",
    "Verdict",
    "check_alerts",
    "load_rules",
    "parse_rules",
]
