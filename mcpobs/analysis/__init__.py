"""Metrics as SQL over the store's ``mcp_calls`` view, returned as plain tables.

Every figure is computed per side (client or server): when one call is traced
by both, each side counts it once and the two are never mixed in one figure.
Percentiles interpolate linearly between the two nearest ranks (DuckDB's
``quantile_cont``, the same as ``statistics.quantiles(method="inclusive")``).
"""

from mcpobs.analysis.model import Analysis, Column, Query, Table
from mcpobs.analysis.queries import CALL_VIEWS, COST_VIEWS, SORTABLE, VIEWS, analyze, check
from mcpobs.analysis.sql import GROUPINGS

__all__ = [
    "CALL_VIEWS",
    "COST_VIEWS",
    "GROUPINGS",
    "SORTABLE",
    "VIEWS",
    "Analysis",
    "Column",
    "Query",
    "Table",
    "analyze",
    "check",
]
