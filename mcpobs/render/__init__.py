"""Presentation only: an :class:`~mcpobs.analysis.Analysis` as a table, JSON, CSV or Markdown.

This package's top holds only the commands' format choices, which the CLI declares at start-up;
the renderers (and rich) are imported from their modules by the commands that render.
"""

from __future__ import annotations

from enum import StrEnum


class OutputFormat(StrEnum):
    """The output formats of ``analyze``: all rendered from the same result object."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


class AlertFormat(StrEnum):
    """The output formats of ``check-alerts`` and ``lint``."""

    text = "text"
    json = "json"
    junit = "junit"
    github = "github"


__all__ = ["AlertFormat", "OutputFormat"]
