"""Render analyses: rich tables for people, JSON/CSV/Markdown for programs and documents."""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from mcpobs.analysis.model import Analysis, Column, Table, Unit

MISSING = "—"


def format_value(value: Any, unit: Unit) -> str:
    """A value as a person reads it: ``12.3`` ms, ``4.0%``, ``1,204`` calls."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if unit is Unit.RATE:
        return f"{value * 100:.1f}%"
    if unit is Unit.MS:
        return f"{value:,.1f}"
    if unit in (Unit.COUNT, Unit.BYTES):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if unit is Unit.FLAG:
        return "yes" if value else "no"
    if unit is Unit.MONEY:
        return format_money(value)
    if unit is Unit.NUMBER:
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if unit is Unit.TIME and isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


# What a terminal would act on rather than show, shown instead: a line break as ⏎, other C0
# controls and DEL as their Control Pictures (␛ for ESC), C1 controls and the bidirectional
# embeddings, overrides and isolates (which reorder the text around them) as U+FFFD, a tab as a space.
BIDI_CONTROLS = (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
_STAND_INS = {
    **{c: chr(0x2400 + c) for c in range(0x20)},
    **dict.fromkeys((*range(0x80, 0xA0), *BIDI_CONTROLS), "\ufffd"),
    0x7F: "\u2421",
    0x09: " ",
    **dict.fromkeys((0x0A, 0x0D, 0x2028, 0x2029), "⏎"),
}


def visible(text: str) -> str:
    """``text`` from the input as one line a terminal shows as it is: no control character reaches it."""
    return text.replace("\r\n", "\n").translate(_STAND_INS)


def format_money(usd: Decimal) -> str:
    """Dollars to the cent from $100, else to four significant digits: $1,234.50, $0.04512, $0.000003."""
    if abs(usd) >= 100:
        return f"${usd:,.2f}"
    if usd == 0:
        return "$0"
    digits = max(2, 4 - usd.adjusted() - 1)
    text = f"{usd:,.{digits}f}"
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents[:2]}{cents[2:].rstrip('0')}"


def _shown(table: Table) -> list[int]:
    """The columns worth a person's screen: all but those with no value in any row."""
    if not table.rows:
        return list(range(len(table.columns)))
    return [i for i in range(len(table.columns)) if any(row[i] is not None for row in table.rows)]


def turned(table: Table) -> Table:
    """A table with a row per column: the first column's values head the new columns."""
    if not table.rows:
        return table
    key = table.columns[0]
    heads = [format_value(row[0], key.unit) if row[0] is not None else "all" for row in table.rows]
    columns = (Column("figure", Unit.TEXT), *(Column(h, Unit.TEXT) for h in heads))
    # turned, there is room for each figure's full name: the one JSON, CSV and alert rules use
    rows = tuple(
        (column.name, *(format_value(row[i], column.unit) for row in table.rows))
        for i, column in enumerate(table.columns[1:], 1)
        if any(row[i] is not None for row in table.rows)
    )
    return Table(table.name, table.title, columns, rows)


def render_table(analysis: Analysis, console: Console) -> None:
    """Every section as rich tables on ``console``, columns with no value left out.

    A section wider than the console keeps its label columns (side, tool …) whole in every block and
    puts the figures that do not fit into further blocks below, each saying so: rich would otherwise
    squeeze the table, folding names and dropping columns without a word.
    """
    for table in analysis.tables:
        render_section(table, console)


def render_section(table: Table, console: Console) -> None:
    """One table as :func:`render_table` prints each: as many blocks as the console's width needs."""
    for block in _blocks(table, console.width):
        console.print(block)


ELIDED_FLOOR = 12  # a name cut to fit keeps at least this many characters
PROSE_FLOOR = 20  # words beside the labels wrap no narrower than this


def _blocks(table: Table, width: int) -> list[RichTable]:
    """``table`` as rich tables no wider than ``width``: the labels in each, the other columns spread over them."""
    is_turned = table.vertical and bool(table.rows)
    table = turned(table) if is_turned else table
    shown = _shown(table)
    numeric = {
        i: table.columns[i].unit not in (Unit.TEXT, Unit.TIME, Unit.FLAG) or (is_turned and i > 0) for i in shown
    }
    # the columns that say what a row is: the names at its left, before the first figure
    labels: list[int] = []
    for i in shown:
        column = table.columns[i]
        if numeric[i] or column.unit is Unit.FLAG or column.prose:
            break
        labels.append(i)
    rest = [i for i in shown if i not in labels]
    cells = {i: [visible(format_value(row[i], table.columns[i].unit)) for row in table.rows] for i in shown}
    widths = {i: max([cell_len(table.columns[i].header), *(cell_len(c) for c in cells[i])]) for i in shown}

    def span(columns: list[int]) -> int:
        # what rich draws with SIMPLE_HEAD and no edge padding: a space of padding each side inside, one between
        return sum(widths[i] for i in columns) + 3 * len(columns) - 1 if columns else 0

    # names are cut (ending in …) only when they leave no room for the widest figure beside them
    room = width - max((widths[i] + 3 for i in rest if numeric[i]), default=0)
    elided = False
    while labels and span(labels) > room:
        widest = max(labels, key=lambda i: widths[i])
        floor = max(ELIDED_FLOOR, cell_len(table.columns[widest].header))
        if widths[widest] <= floor:
            break
        widths[widest] = max(floor, widths[widest] - (span(labels) - room))
        elided = True
    # words beside the labels wrap in the room left (at spaces; a figure never folds)
    for i in rest:
        if not numeric[i]:
            widths[i] = max(1, min(widths[i], width - span(labels) - 3))

    groups: list[list[int]] = []
    for i in rest:
        if groups and span(labels + groups[-1] + [i]) <= width:
            groups[-1].append(i)
            continue
        # words may wrap narrower to stay in this block, not below: down to their longest word, or 20
        left = width - span(labels + groups[-1]) - 3 if groups else 0
        words = max((cell_len(w) for c in cells[i] for w in c.split()), default=0)
        if groups and not numeric[i] and i not in labels and left >= max(PROSE_FLOOR, words):
            widths[i] = left
            groups[-1].append(i)
        else:
            groups.append([i])
    return [
        _block(
            table,
            labels=labels,
            group=group,
            widths=widths,
            numeric=numeric,
            cells=cells,
            part=n,
            elided=elided,
            more=sum(len(g) for g in groups[n + 1 :]),
            width=width,
        )
        for n, group in enumerate(groups or [[]])
    ]


def _block(
    table: Table,
    *,
    labels: list[int],
    group: list[int],
    widths: dict[int, int],
    numeric: dict[int, bool],
    cells: dict[int, list[str]],
    part: int,
    elided: bool,
    more: int,
    width: int,
) -> RichTable:
    title = table.title if part == 0 else f"{table.title} (continued)"
    rich_table = RichTable(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        min_width=min(cell_len(title), width),
    )
    columns = labels + group
    for i in columns:
        # a label never folds (cut to fit, it ends in …); words beside it wrap at spaces
        rich_table.add_column(
            table.columns[i].header,
            justify="right" if numeric[i] else "left",
            no_wrap=numeric[i] or i in labels,
            overflow="ellipsis" if i in labels else "fold",
            width=widths[i],
        )
    for r in range(len(table.rows)):
        # Text, not str: a tool or session name from the data is shown as it is, never read as markup
        rich_table.add_row(*(Text(cells[i][r]) for i in columns))
    notes = []
    if not table.rows:
        notes.append("no calls match")
    if elided:
        notes.append("names cut to fit end in …")
    if more:
        notes.append(f"{more} more column{'s' if more != 1 else ''} below")
    if notes:
        rich_table.caption = "; ".join(notes)
        rich_table.caption_justify = "left"
    return rich_table


def render_markdown(analysis: Analysis) -> str:
    """Every section as a GitHub-flavoured Markdown table under a heading."""
    parts = []
    for table in analysis.tables:
        table = turned(table) if table.vertical else table
        lines = [f"## {table.title}", ""]
        lines.append("| " + " | ".join(c.name for c in table.columns) + " |")
        lines.append("|" + "|".join("---" if c.unit is Unit.TEXT else "---:" for c in table.columns) + "|")
        for row in table.rows:
            cells = (format_value(v, c.unit).replace("|", "\\|") for v, c in zip(row, table.columns, strict=True))
            lines.append("| " + " | ".join(cells) + " |")
        if not table.rows:
            lines.append("")
            lines.append("_no calls match_")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


CSV_DIGITS = 10  # significant digits of a measured number in CSV: far more than measured, none of the float noise


def render_csv(table: Table) -> str:
    """One section as CSV with a header row; numbers unformatted, empty cells for missing values.

    A float is rounded to :data:`CSV_DIGITS` significant digits: a percentile interpolated in floating
    point (``95.49999999999999``) reads ``95.5``. Money stays exact; JSON keeps every float as computed.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(c.name for c in table.columns)
    for row in table.rows:
        writer.writerow(_csv_cell(v) for v in row)
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{CSV_DIGITS}g}")
    return plain(value)


def render_json(analysis: Analysis) -> str:
    """The whole analysis as one JSON document: the query, a summary, and each section's rows."""
    query = analysis.query
    document: dict[str, Any] = {
        "summary": {
            "spans": analysis.spans,
            "calls": analysis.calls,
            "first_start": plain(analysis.first_start),
            "last_end": plain(analysis.last_end),
            "sources": list(analysis.sources),
            "notes": list(analysis.notes),
        },
        "query": {
            "by": list(query.by),
            "since": plain(query.since),
            "until": plain(query.until),
            "tools": list(query.tools),
            "servers": list(query.servers),
            "side": query.side,
            "where": None if query.where is None else str(query.where),
            "sort": query.sort,
            "top": query.top,
        },
    }
    for table in analysis.tables:
        document[table.name] = [{k: plain(v) for k, v in record.items()} for record in table.records()]
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def plain(value: Any) -> Any:
    # money as exact decimal text: a JSON number would be read back as a float
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, datetime):
        # every time mcpobs computes is UTC; a naive one (a session's start from SQL) says so too
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
