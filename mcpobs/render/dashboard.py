"""The report's overview in a terminal (``mcpobs analyze --view dashboard``): rich tables,
bars and sparklines, drawn to fit 80 columns (fewer on a narrower terminal)."""

from __future__ import annotations

import math
from typing import Any

from rich.bar import Bar
from rich.console import Console, Group
from rich.table import Table as RichTable
from rich.text import Text

from mcpobs.analysis.model import Unit
from mcpobs.render.charts import duration_text
from mcpobs.render.text import MISSING, format_value, titled_table, visible
from mcpobs.report import Report

SPARKS = "▁▂▃▄▅▆▇█"
WIDTH = 80  # columns of the dashboard, however wide the terminal is
SPARK_WIDTH = 56  # characters of a sparkline: 80 columns less its label
TOP_TOOLS = 8
TOP_ERRORS = 5


def sparkline(values: list[float], width: int = SPARK_WIDTH) -> str:
    """``values`` as block characters, summed into at most ``width`` of them; zero is a space."""
    if not values:
        return ""
    per = -(-len(values) // width)  # buckets per character, rounded up
    sums = [sum(values[i : i + per]) for i in range(0, len(values), per)]
    top = max(sums)
    if top <= 0:
        return " " * len(sums)
    # each block stands for an eighth of the highest sum, the lowest for anything above zero
    return "".join(" " if v <= 0 else SPARKS[max(0, math.ceil(v / top * len(SPARKS)) - 1)] for v in sums)


def render_dashboard(report: Report, console: Console) -> None:
    """The overview: figures per side, calls and errors over time, the tools, errors and cost;
    :data:`WIDTH` columns wide, or the console's width where that is narrower."""
    analysis = report.analysis
    first, last = analysis.first_start, analysis.last_end
    if first and last:
        end = f"{last:%H:%M:%S}" if last.date() == first.date() else f"{last:%Y-%m-%d %H:%M:%S}"
        span = f"{first:%Y-%m-%d %H:%M:%S} to {end} UTC"
    else:
        span = "no calls"
    sources = len(analysis.sources)
    width = min(WIDTH, console.width)
    console.print(Text("MCP dashboard", style="bold"), width=width)
    console.print(
        Text(f"{span} · {analysis.spans:,} spans · {sources} source{'s' if sources != 1 else ''}"),
        soft_wrap=False,
        width=width,
    )
    console.print(width=width)
    for part in (
        _sides(report),
        _over_time(report),
        _tools(report),
        _arguments(report),
        _errors(report),
        _cost(report),
    ):
        console.print(part, width=width)


def _sides(report: Report) -> RichTable:
    costs = {r["side"]: r for r in report.analysis.table("cost").records()}
    table = titled_table("Per side")
    for header in ("side", "calls", "errors", "err %", "rejected", "p50 ms", "p95 ms", "total $", "LLM"):
        table.add_column(header, justify="left" if header == "side" else "right", no_wrap=True)
    for record in report.overview.records():
        cost = costs.get(record["side"], {})
        table.add_row(
            Text(visible(str(record["side"]))),
            format_value(record["calls"], Unit.COUNT),
            format_value(record["errors"], Unit.COUNT),
            _rate(record["error_rate"]),
            format_value(record["rejected"], Unit.COUNT),
            format_value(record["latency_p50_ms"], Unit.MS),
            format_value(record["latency_p95_ms"], Unit.MS),
            format_value(cost.get("total_cost"), Unit.MONEY),
            format_value(cost.get("llm_calls"), Unit.COUNT),
        )
    if not report.overview.rows:
        table.caption = "no MCP calls match"
        # no side without MCP calls: what the LLM calls cost is all there is to show
        for cost in (c for side, c in costs.items() if side is None and c["llm_calls"]):
            table.add_row("all", *[MISSING] * 6, format_value(cost["total_cost"], Unit.MONEY), f"{cost['llm_calls']:,}")
    return table


def _rate(rate: Any) -> Text:
    text = format_value(rate, Unit.RATE)
    return Text(text, style="bold red" if rate else "")


def _over_time(report: Report) -> RichTable:
    series: dict[str, dict[str, list[float]]] = {}
    for record in report.timeline.records():
        values = series.setdefault(str(record["side"]), {"calls": [], "errors": []})
        values["calls"].append(record["calls"])
        values["errors"].append(record["errors"])
    buckets = max((len(s["calls"]) for s in series.values()), default=0)
    per = -(-buckets // SPARK_WIDTH) if buckets else 1
    caption = f"each character {duration_text(report.bucket_ns * per)}" if buckets else "no calls match"
    table = titled_table("Calls and errors over time", caption)
    table.add_column("", no_wrap=True)
    table.add_column("", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, max_width=SPARK_WIDTH)
    table.show_header = False
    for side, values in series.items():
        table.add_row(Text(f"{side} calls"), f"{int(sum(values['calls'])):,}", Text(sparkline(values["calls"]), "blue"))
        table.add_row(
            Text(f"{side} errors"), f"{int(sum(values['errors'])):,}", Text(sparkline(values["errors"]), "red")
        )
    return table


def _tools(report: Report) -> RichTable:
    calls = report.analysis.table("calls").records()
    tools = report.tools[:TOP_TOOLS]
    more = report.tool_count - len(tools)
    table = titled_table(
        "Tools, most called first", f"and {more} more tools: mcpobs analyze lists them" if more else ""
    )
    table.add_column("tool", no_wrap=True, overflow="ellipsis", max_width=22)
    table.add_column("side", no_wrap=True)
    table.add_column("calls", justify="right", no_wrap=True)
    table.add_column("error %", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, width=12)
    table.add_column("p95 ms", justify="right", no_wrap=True)
    for tool in tools:
        for record in (r for r in calls if r["tool"] == tool):
            rate = record["error_rate"] or 0.0
            table.add_row(
                Text(visible(tool)),
                Text(visible(str(record["side"]))),
                format_value(record["calls"], Unit.COUNT),
                _rate(record["error_rate"]),
                Bar(1.0, 0.0, rate, width=12, color="red", bgcolor="grey23") if rate else Text(""),
                format_value(record["latency_p95_ms"], Unit.MS),
            )
    if not tools:
        table.caption = "no tool calls match"
    return table


def _arguments(report: Report) -> RichTable:
    """The tools whose calls' arguments were checked, the most invalid first (analyze --view arguments);
    where none were checked, why, rather than a table of zeros. At most 20 + 6 + 5 + 7 + 7 + 12
    columns, 3 between each and 1 at each edge: 74."""
    records = report.arguments.records()
    checked = [r for r in records if r["arguments_checked"]]
    shown = checked[: TOP_TOOLS * 2]
    said = (
        [f"and {len(checked) - len(shown)} more: mcpobs analyze --view arguments"] if len(checked) > len(shown) else []
    )
    if not records:
        said.append("no tool calls match")
    elif len(checked) < len(records):
        # a tool left out for want of checks is said, with why: never taken for one without problems
        unchecked = len(records) - len(checked)
        said.append(f"{unchecked} tool{'s' if unchecked > 1 else ''} (per side) not checked")
        said.extend(report.argument_notes)
    table = titled_table("Tool call arguments, most invalid first", "; ".join(said))
    table.add_column("tool", no_wrap=True, overflow="ellipsis", max_width=20)
    table.add_column("side", no_wrap=True)
    for header in ("calls", "checked", "invalid", "res. invalid"):
        # a header whole: rich shrinks every column alike where the table is wide, "calls" to "cal…"
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for r in shown:
        table.add_row(
            Text(visible(str(r["tool"]))),
            Text(visible(str(r["side"]))),
            format_value(r["tool_calls"], Unit.COUNT),
            format_value(r["arguments_checked"], Unit.COUNT),
            _unchecked(r["invalid_arguments"], Unit.COUNT),
            _unchecked(r["invalid_results"], Unit.COUNT),
        )
    return table


def _unchecked(value: Any, unit: Unit) -> Text:
    """An invalid count: "not checked" where nothing was checked, never 0; red where above 0."""
    if value is None:
        return Text("not checked", style="dim")
    return Text(format_value(value, unit), style="bold red" if value else "")


def _errors(report: Report) -> Group:
    classes = sorted(report.analysis.table("errors").records(), key=lambda r: -r["errors"])[:TOP_ERRORS]
    by_class = titled_table("Errors by class")
    for header in ("side", "tool", "class", "errors", "error %"):
        numeric = header in ("errors", "error %")
        by_class.add_column(
            header, justify="right" if numeric else "left", no_wrap=True, overflow="ellipsis", max_width=22
        )
    for r in classes:
        by_class.add_row(
            Text(visible(str(r["side"]))),
            Text(visible(str(r["tool"]))),
            # a server's rejection of a bad request is listed, but is no error of the server
            Text(visible(str(r["error_class"])) + (" rejected" if r["rejected"] else "")),
            format_value(r["errors"], Unit.COUNT),
            format_value(r["error_rate"], Unit.RATE),
        )
    if not classes:
        by_class.caption = "no errors"
    messages = titled_table("Most frequent error messages")
    messages.add_column("errors", justify="right", no_wrap=True)
    messages.add_column("side", no_wrap=True)
    messages.add_column("class", no_wrap=True, max_width=10, overflow="ellipsis")
    # at most 6 + 6 + 10 + 48 columns and 2 between each: 76
    messages.add_column("message", no_wrap=True, overflow="ellipsis", max_width=48)
    for r in report.messages.records()[:TOP_ERRORS]:
        where = r["target"] or r["method"]
        message = r["message"] or "(no message recorded)"
        messages.add_row(
            format_value(r["errors"], Unit.COUNT),
            Text(visible(str(r["side"]))),
            Text(visible(str(r["error_class"]))),
            Text(visible(f"{where}: {message}")),
        )
    if not report.messages.rows:
        messages.caption = "no errors"
    return Group(by_class, messages)


def _cost(report: Report) -> RichTable:
    rows = [r for r in report.cost_by["tool"].records() if r["total_cost"]]
    top = max((r["total_cost"] for r in rows), default=0)
    table = titled_table("Costliest tools", "" if rows else _no_tool_cost(report))
    table.add_column("tool", no_wrap=True, overflow="ellipsis", max_width=22)
    table.add_column("side", no_wrap=True)
    table.add_column("total $", justify="right", no_wrap=True)
    table.add_column("", no_wrap=True, width=16)
    table.add_column("$/call", justify="right", no_wrap=True)
    for r in rows[: TOP_TOOLS * 2]:
        table.add_row(
            Text(visible(str(r["tool"]))),
            Text(visible(str(r["side"]))),
            format_value(r["total_cost"], Unit.MONEY),
            Bar(float(top), 0.0, float(r["total_cost"]), width=16, color="cyan", bgcolor="grey23"),
            format_value(r["cost_per_call"], Unit.MONEY) if r["cost_per_call"] is not None else MISSING,
        )
    return table


def _no_tool_cost(report: Report) -> str:
    """Why no tool has a cost, and what the LLM calls cost if anything did."""
    costs = report.analysis.table("cost").records()
    total = max((c["total_cost"] for c in costs if c["total_cost"]), default=None)
    if total is None:
        return "no LLM calls priced and no tool prices: no cost"
    llm_calls = max(c["llm_calls"] or 0 for c in costs)
    where = "no tool calls match" if not report.analysis.table("call_cost").rows else "no tool call has a cost"
    return f"{where}; the {llm_calls:,} LLM calls cost {format_value(total, Unit.MONEY)}"
