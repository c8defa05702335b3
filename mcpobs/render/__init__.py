"""Presentation only: an :class:`~mcpobs.analysis.Analysis` as a table, JSON, CSV or Markdown."""

from __future__ import annotations

from enum import StrEnum

from mcpobs.render.text import render_csv, render_json, render_markdown, render_table


class OutputFormat(StrEnum):
    """The output formats of ``analyze``: all rendered from the same result object."""

    table = "table"
    json = "json"
    csv = "csv"
    markdown = "markdown"


__all__ = ["OutputFormat", "render_csv", "render_json", "render_markdown", "render_table"]
