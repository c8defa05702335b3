"""``mcpobs lint``: protocol checks on recordings and convention checks on spans.

Each rule (:data:`RULES`) has an id, a severity, a one-line description and the section of the MCP
specification or the OpenTelemetry MCP conventions it enforces; :func:`lint` runs them all.
"""

from mcpobs.findings import Finding
from mcpobs.lint.rules import BY_ID, RULES, SEVERITIES, Rule
from mcpobs.lint.run import LintResult, lint

__all__ = ["BY_ID", "RULES", "SEVERITIES", "Finding", "LintResult", "Rule", "lint"]
