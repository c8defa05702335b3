"""Render analyses: rich tables for people, JSON/CSV/Markdown for programs and documents."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table as RichTable
from rich.text import Text

from mcpobs.analysis.model import Analysis, Column, Table, Unit

MISSING = "—"


def titled_table(title: str, caption: str = "", **options: Any) -> RichTable:
    """A rich table as every one is drawn here: title and caption on the left, the title bold, a rule
    under the head and no padding at the edges; ``options`` for the rest (a width)."""
    return RichTable(
        title=title,
        title_justify="left",
        title_style="bold",
        caption=caption or None,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        **options,
    )


def format_value(value: Any, unit: Unit) -> str:
    """A value as a person reads it: ``12.3`` ms, ``4.0%``, ``1,204`` calls."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if unit is Unit.RATE:
        text = f"{value * 100:.1f}%"
        # one failure in thousands is not none, nor all but one of thousands all
        if text == "0.0%" and value > 0:
            return "<0.1%"
        if text == "100.0%" and value < 1:
            return ">99.9%"
        return text
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


def fewer_decimals(value: Any, unit: Unit) -> str:
    """``value`` as :func:`format_value` shows it, with fewer decimals where that leaves its sense whole:
    ``1,168`` ms not ``1,168.2``, ``33%`` not ``33.3%`` (but ``7.3%``, and ``99.9%`` never ``100%``),
    money to three significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if unit is Unit.RATE:
        percent = value * 100
        whole = f"{percent:.0f}"
        # a rate rounded to 0 or 100 would read as none or all
        if (percent >= 10 or float(whole) == percent) and (whole not in ("0", "100") or float(whole) == percent):
            return f"{whole}%"
    elif unit in (Unit.MS, Unit.COUNT, Unit.BYTES) and abs(value) >= 100:
        return f"{value:,.0f}"
    elif unit is Unit.MONEY:
        return format_money(value, 3)
    return format_value(value, unit)


def format_money(usd: Decimal, significant: int = 4) -> str:
    """Dollars to the cent from $100, else to four significant digits: $1,234.50, $0.04512, $0.000003."""
    if abs(usd) >= 100:
        return f"${usd:,.2f}"
    if usd == 0:
        return "$0"
    digits = max(2, significant - usd.adjusted() - 1)
    text = f"{usd:,.{digits}f}"
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents[:2]}{cents[2:].rstrip('0')}"


def shown_columns(table: Table) -> list[int]:
    """The columns worth a person's screen: all but those with no value in any row, and those that
    repeat another column in every row (``rounds`` where no call took more than one round)."""
    if not table.rows:
        return list(range(len(table.columns)))
    index = {c.name: i for i, c in enumerate(table.columns)}

    def worth(i: int) -> bool:
        if all(row[i] is None for row in table.rows):
            return False
        other = index.get(table.columns[i].repeats)
        return other is None or any(row[i] != row[other] for row in table.rows)

    return [i for i in range(len(table.columns)) if worth(i)]


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
    """One table as :func:`render_table` prints each: as many blocks as the console's width needs; a
    listing of calls that needs more than one, as records (:func:`_records`)."""
    blocks = _blocks(table, console.width)
    if table.listing and len(blocks) > 1:
        _records(table, console)
        return
    for block in blocks:
        console.print(block)


def _records(table: Table, console: Console) -> None:
    """Each row as a record: its labels (side, tool …) on one line, every other column on a line of its
    own below, named; the words wrap to the width, a name or an id never does where it fits.
    Rows matched across blocks by their order alone are hard to read when the rows are single calls."""
    shown = shown_columns(table)
    labels = _label_columns(table, shown, {i: _is_figure(table.columns[i]) for i in shown})
    console.print(Text(table.title, style="bold"))
    for row in table.rows:
        console.print()
        console.print(Text(" " + "   ".join(visible(format_value(row[i], table.columns[i].unit)) for i in labels)))
        fields = RichTable.grid(padding=(0, 3), pad_edge=False)
        fields.add_column(no_wrap=True)
        fields.add_column(overflow="fold")
        for i in shown:
            if i not in labels:
                column = table.columns[i]
                fields.add_row(Text(column.header), Text(visible(format_value(row[i], column.unit))))
        console.print(Padding(fields, (0, 0, 0, 3)))
    console.print()


def _is_figure(column: Column) -> bool:
    return column.unit not in (Unit.TEXT, Unit.TIME, Unit.FLAG)


def _label_columns(table: Table, shown: list[int], numeric: dict[int, bool]) -> list[int]:
    """The columns that say what a row is: the names at its left, before the first figure or words."""
    labels: list[int] = []
    for i in shown:
        column = table.columns[i]
        if numeric[i] or column.unit is Unit.FLAG or column.prose:
            break
        labels.append(i)
    return labels


ELIDED_FLOOR = 12  # a name cut to fit keeps at least this many characters
PROSE_FLOOR = 20  # words beside the labels wrap no narrower than this


@dataclass
class _Layout:
    """Where each column of a section goes: the labels in every block, the other columns in groups."""

    labels: list[int]
    groups: list[list[int]]
    headers: dict[int, str]
    widths: dict[int, int]
    cells: dict[int, list[str]]
    elided: bool  # a name was cut to fit
    rounded: bool  # a figure lost decimals to fit


def _blocks(table: Table, width: int) -> list[RichTable]:
    """``table`` as rich tables no wider than ``width``: the labels in each, the other columns spread over them.

    Before a column goes to a further block, the layout that needs the fewest blocks is taken, the first of:
    the columns as they are; the words about a row (a code's meaning) after its figures rather than
    before; figure headers on two lines; figures with fewer decimals (said under the table).
    """
    is_turned = table.vertical and bool(table.rows)
    table = turned(table) if is_turned else table
    shown = shown_columns(table)
    numeric = {i: _is_figure(table.columns[i]) or (is_turned and i > 0) for i in shown}
    labels = _label_columns(table, shown, numeric)
    rest = [i for i in shown if i not in labels]
    words_last = [i for i in rest if not table.columns[i].prose] + [i for i in rest if table.columns[i].prose]
    orders = [rest] if words_last == rest else [rest, words_last]
    best: _Layout | None = None
    for compact in range(3):
        for order in orders:
            layout = _layout(table, labels, order, numeric, width, compact)
            if best is None or len(layout.groups) < len(best.groups):
                best = layout
    assert best is not None
    return [
        _block(
            table,
            layout=best,
            group=group,
            numeric=numeric,
            part=n,
            more=sum(len(g) for g in best.groups[n + 1 :]),
            width=width,
        )
        for n, group in enumerate(best.groups or [[]])
    ]


def _two_lines(header: str) -> str:
    """``header`` broken at the space that leaves its longer line shortest (``p50 ms`` → ``p50`` over ``ms``)."""
    splits = [i for i, c in enumerate(header) if c == " "]
    if not splits:
        return header
    at = min(splits, key=lambda i: max(cell_len(header[:i]), cell_len(header[i + 1 :])))
    return f"{header[:at]}\n{header[at + 1 :]}"


def _layout(
    table: Table, labels: list[int], rest: list[int], numeric: dict[int, bool], width: int, compact: int
) -> _Layout:
    """The columns laid out in blocks of ``width``; ``compact`` 1 puts headers beside the labels on two
    lines, 2 also gives figures fewer decimals."""
    shown = labels + rest
    headers = {
        i: _two_lines(table.columns[i].header) if compact and i not in labels else table.columns[i].header
        for i in shown
    }
    cells = {i: [visible(format_value(row[i], table.columns[i].unit)) for row in table.rows] for i in shown}
    rounded = False
    if compact == 2:
        for i in rest:
            if numeric[i]:
                fewer = [visible(fewer_decimals(row[i], table.columns[i].unit)) for row in table.rows]
                rounded = rounded or fewer != cells[i]
                cells[i] = fewer
    widths = {
        i: max([*(cell_len(line) for line in headers[i].split("\n")), *(cell_len(c) for c in cells[i])]) for i in shown
    }

    def span(columns: list[int]) -> int:
        # what rich draws with SIMPLE_HEAD and no edge padding: a space of padding each side inside, one between
        return sum(widths[i] for i in columns) + 3 * len(columns) - 1 if columns else 0

    # names are cut (ending in …) only when they leave no room for the widest figure beside them
    room = width - max((widths[i] + 3 for i in rest if numeric[i]), default=0)
    elided = False
    while labels and span(labels) > room:
        widest = max(labels, key=lambda i: widths[i])
        floor = max(ELIDED_FLOOR, cell_len(headers[widest]))
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
        if groups and not numeric[i] and left >= max(PROSE_FLOOR, words):
            widths[i] = left
            groups[-1].append(i)
        else:
            groups.append([i])
    return _Layout(labels, groups, headers, widths, cells, elided, rounded)


def _block(
    table: Table,
    *,
    layout: _Layout,
    group: list[int],
    numeric: dict[int, bool],
    part: int,
    more: int,
    width: int,
) -> RichTable:
    title = table.title if part == 0 else f"{table.title} (continued)"
    notes = []
    if not table.rows:
        notes.append("no calls match")
    if layout.elided:
        notes.append("names cut to fit end in …")
    if layout.rounded:
        notes.append("figures rounded to fit")
    if more:
        notes.append(f"{more} more column{'s' if more != 1 else ''} below")
    caption = "; ".join(notes)
    rich_table = titled_table(
        title,
        caption,
        # a narrow block is as wide as its title and caption, so that neither wraps
        min_width=min(max(cell_len(title), cell_len(caption)), width),
    )
    labels = layout.labels
    columns = labels + group
    for i in columns:
        # a label never folds (cut to fit, it ends in …); words beside it wrap at spaces
        rich_table.add_column(
            Text(layout.headers[i]),
            justify="right" if numeric[i] else "left",
            no_wrap=numeric[i] or i in labels,
            overflow="ellipsis" if i in labels else "fold",
            width=layout.widths[i],
        )
    for r in range(len(table.rows)):
        # Text, not str: a tool or session name from the data is shown as it is, never read as markup
        rich_table.add_row(*(Text(layout.cells[i][r]) for i in columns))
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
