"""The result objects every output format is rendered from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcpobs.expr import Node


class Unit(Enum):
    """How a column's values read: renderers format by this, never by name."""

    TEXT = "text"
    COUNT = "count"
    RATE = "rate"  # a fraction 0..1
    MS = "ms"
    BYTES = "bytes"
    TIME = "time"
    FLAG = "flag"
    MONEY = "money"  # US dollars, a Decimal
    NUMBER = "number"  # a plain quantity, such as a user's value attribute


@dataclass(frozen=True)
class Column:
    """A column of a result table: its name in the output, its unit, what it means."""

    name: str
    unit: Unit
    description: str = ""
    label: str = ""  # a shorter header for tables read by people; the name where empty
    # words about the row rather than its name (a code's meaning, a list): tables for people may wrap it
    prose: bool = False
    # the column whose values this one repeats in most data: tables for people leave it out where it does in every row
    repeats: str = ""

    @property
    def header(self) -> str:
        """The header of the column in a table for people."""
        return self.label or self.name


@dataclass(frozen=True)
class Table:
    """One section of an analysis: a title, columns and rows of plain Python values."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    # a few wide rows (one per side): people read it turned, a figure per line
    vertical: bool = False
    # rows that are single calls, not groups: too wide for one block, people read each as a record
    listing: bool = False

    def records(self) -> list[dict[str, Any]]:
        """The rows as dictionaries keyed by column name."""
        names = [c.name for c in self.columns]
        return [dict(zip(names, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class Query:
    """What to analyze: grouping, filters, ordering, and which sections."""

    by: tuple[str, ...] = ("tool",)
    views: tuple[str, ...] = ("calls", "errors", "sessions", "traces")
    since: datetime | None = None
    until: datetime | None = None
    tools: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    side: str | None = None
    where: Node | None = None  # a filter over the calls' fields (mcpobs.analysis.sql.FIELDS)
    sort: str | None = None  # the calls section's order; None: by calls, or buckets in order by concurrency
    top: int | None = None


@dataclass(frozen=True)
class Analysis:
    """Everything one ``analyze`` found: the sections asked for and what they cover."""

    query: Query
    tables: tuple[Table, ...]
    spans: int
    calls: int
    first_start: datetime | None
    last_end: datetime | None
    sources: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())  # what the data got wrong, for stderr

    def table(self, name: str) -> Table:
        """The section called ``name``."""
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)
