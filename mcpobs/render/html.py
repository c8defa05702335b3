"""A report as one self-contained HTML page: tables people can sort, and Vega-Lite charts
drawn by Vega's own scripts, inlined (no network is needed, or allowed, to open it).

Everything from the input files (tool names, messages, ids) is escaped: HTML text with
:func:`html.escape` and control characters replaced, the JSON of each chart with ``<``, ``>``
and ``&`` as ``\\u`` escapes, so no value can close a ``<script>`` element.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import json
import math
import os
import re
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import vl_convert

from mcpobs import __version__
from mcpobs.alerts import Outcome
from mcpobs.analysis.model import Table, Unit
from mcpobs.render.alerts import listed, reading, result_word, summary_line
from mcpobs.render.charts import Chart, charts
from mcpobs.render.text import BIDI_CONTROLS, MISSING, format_value, shown_columns, turned
from mcpobs.report import Report

_EMBED = "window.vegaEmbed = vegaEmbed;"


@functools.cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (from vl-convert, offline), safe to inline.

    vl-convert bundles the scripts anew on every call, which takes seconds; the same vl-convert
    always makes the same bundle, so the first report keeps it in the user's cache directory
    (``$XDG_CACHE_HOME/mcpobs``, else ``~/.cache/mcpobs``) under the versions that made it.
    """
    try:
        cached: Path | None = bundle_cache_path()
    except RuntimeError:  # no home directory to keep it in
        cached = None
    if cached is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return cached.read_text(encoding="utf-8")
    bundle = re.sub("</(script)", r"<\\/\1", vl_convert.javascript_bundle(_EMBED), flags=re.IGNORECASE)
    if cached is not None:
        _keep(bundle, cached)
    return bundle


def _keep(bundle: str, cached: Path) -> None:
    """Write the bundle whole under another name, then rename it: a report running alongside reads all of
    it or none. Where it cannot be kept (a read-only home, say) the next report only takes longer."""
    part = None
    try:
        cached.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=cached.parent, delete=False) as part:
            part.write(bundle)
        os.replace(part.name, cached)
    except OSError:
        if part is not None:
            with contextlib.suppress(OSError):
                os.unlink(part.name)


def bundle_cache_path() -> Path:
    """Where :func:`vega_bundle` keeps the bundle: one file per vl-convert, the Vega versions it bundles,
    and the embedding snippet."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    made_by = f"{getattr(vl_convert, '__version__', '')}\0{_versions()}\0{_EMBED}"
    return Path(base) / "mcpobs" / f"vega-bundle-{hashlib.sha256(made_by.encode()).hexdigest()[:16]}.js"


# Control characters but tab and newline (C0, DEL, C1) are errors in an HTML page (and U+0000 is
# dropped), and bidirectional overrides reorder what follows them: a name or message shows U+FFFD
# in their place.
_CONTROLS = dict.fromkeys((*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0), *BIDI_CONTROLS), "\ufffd")


def _escape(text: str) -> str:
    """Text from the input as HTML text or an attribute's value."""
    return html.escape(text).translate(_CONTROLS)


def json_script(value: Any) -> str:
    """JSON that can stand inside a ``<script>`` element whatever its strings hold."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # JSON leaves DEL, C1 and bidirectional controls raw: escaped, they are no errors in the page, do not
    # reorder its source, and read back the same
    return re.sub("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]", lambda m: f"\\u{ord(m.group()):04x}", text)


def render_html(report: Report, title: str = "mcpobs report") -> str:
    """The whole page."""
    made = {chart.id: chart for chart in charts(report)}
    analysis = report.analysis
    sections = [
        _overview(report, made),
        _tools(report, made),
        _arguments(report, made),
        _traces(report, made),
        _cost(report, made),
        _errors(report, made),
    ]
    when = f"{_when(analysis.first_start)} to {_when(analysis.last_end)}" if analysis.first_start else "no calls"
    sources = ", ".join(analysis.sources) or "a database"
    vega = _versions()
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="generator" content="mcpobs {_escape(__version__)}">
<title>{_escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{_escape(title)}</h1>
<p class="meta">{_escape(when)} · {_escape(sources)}</p>
<nav><a href="#overview">Overview</a><a href="#tools">Tool calls</a><a href="#arguments">Arguments</a>\
<a href="#traces">Traces</a><a href="#cost">Cost</a><a href="#errors">Errors</a></nav>
</header>
<main>
{"".join(sections)}
</main>
<footer>
<p>Made by mcpobs {_escape(__version__)}. Every number is the one <code>mcpobs analyze --cost</code>
and <code>mcpobs check-alerts</code> print for the same files. Times are UTC.</p>
<p>Charts drawn by Vega {vega} (BSD-3-Clause, Copyright University of Washington Interactive Data Lab),
bundled by vl-convert.</p>
</footer>
<script>{vega_bundle()}</script>
<script>{_JS}</script>
</body>
</html>
"""


# No network at all: inline scripts and styles, data: images; Vega compiles its expressions with Function.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:"
)


def _versions() -> str:
    lite = vl_convert.get_vegalite_versions()[-1]
    return (
        f"{vl_convert.get_vega_version()}, Vega-Lite {lite}, Vega-Embed {vl_convert.get_vega_embed_version()}"
    )  # fmt: skip


def _when(moment: datetime | None) -> str:
    return MISSING if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _section(anchor: str, heading: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{_escape(heading)}</h2>\n{body}\n</section>\n'


def _chart(made: dict[str, Chart], chart_id: str, title: str = "") -> str:
    chart = made.get(chart_id)
    if chart is None:
        return f'<p class="empty">{_escape(title or chart_id)}: nothing to draw.</p>\n'
    caption = f' <span class="caption">{_escape(chart.caption)}</span>' if chart.caption else ""
    return (
        f'<figure class="chart"><figcaption>{_escape(chart.title)}{caption}</figcaption>'
        f'<div class="vega" id="chart-{chart.id}" data-chart="{chart.id}"></div>'
        f'<script type="application/json" id="spec-{chart.id}" data-chart="{chart.id}">'
        f"{json_script(chart.full_spec())}</script></figure>\n"
    )


def _sort_key(value: Any, unit: Unit) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal | int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def table_html(
    table: Table,
    title: str = "",
    *,
    vertical: bool | None = None,
    empty: str = "no calls match",
    missing: dict[str, str] | None = None,
) -> str:
    """A table of a section, its values formatted as the terminal shows them; sortable by any
    column (click a header) unless it is turned, a figure per row. ``missing`` names columns whose
    empty cells say what they mean (``not checked``): those are shown, empty or not."""
    is_turned = (table.vertical if vertical is None else vertical) and bool(table.rows)
    shown_table = turned(table) if is_turned else table
    columns = shown_table.columns
    said = {} if is_turned or missing is None else missing
    keep = [i for i, c in enumerate(columns) if c.name in said or i in shown_columns(shown_table)]
    head = "".join(
        f'<th data-type="{"text" if columns[i].unit in (Unit.TEXT, Unit.TIME) or is_turned else "number"}"'
        f' title="{_escape(columns[i].description or columns[i].name)}" tabindex="0">'
        f"{_escape(columns[i].header)}</th>"
        for i in keep
    )
    body = []
    for row in shown_table.rows:
        cells = []
        for i in keep:
            column, value = columns[i], row[i]
            numeric = column.unit not in (Unit.TEXT, Unit.TIME, Unit.FLAG) or (is_turned and i > 0)
            shown = said[column.name] if value is None and column.name in said else format_value(value, column.unit)
            text = _escape(shown)
            key = f'data-v="{_escape(_sort_key(value, column.unit))}"'
            if numeric:
                cells.append(f'<td class="num" {key}>{text}</td>')
            elif column.prose:
                cells.append(f'<td class="prose" {key}>{text}</td>')
            else:
                # a name never breaks inside a word: a long one is cut with …, the whole of it in the tooltip
                cells.append(f'<td class="name" {key} title="{text}"><span>{text}</span></td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{_escape(title)}</caption>" if title else ""
    if not shown_table.rows:
        body.append(f'<tr><td colspan="{len(keep)}" class="empty">{_escape(empty)}</td></tr>')
    kind = "turned" if is_turned else "sortable"
    return (
        f'<div class="scroll"><table class="{kind}" data-table="{_escape(table.name)}">{caption}'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>\n"
    )


def _overview(report: Report, made: dict[str, Chart]) -> str:
    analysis = report.analysis
    costs = {r["side"]: r for r in analysis.table("cost").records()}
    cards = []
    for record in report.overview.records():
        side = record["side"]
        figures = (
            ("calls", format_value(record["calls"], Unit.COUNT)),
            ("error rate", format_value(record["error_rate"], Unit.RATE)),
            ("p95 latency", format_value(record["latency_p95_ms"], Unit.MS) + " ms"),
        )
        cards.append(
            f'<div class="card" data-side="{_escape(str(side))}"><h3>{_escape(str(side))}</h3>{_kpis(figures)}</div>'
        )
    if cards:
        cards.append(_cost_card(report))
    else:
        cards.append('<p class="empty">No MCP calls match.</p>')
    traces = analysis.table("traces").records()
    llm = next(iter(costs.values()), {}).get("llm_calls", 0) if costs else 0
    facts = [
        ("time range", f"{_when(analysis.first_start)} to {_when(analysis.last_end)}"),
        ("spans", format_value(analysis.spans, Unit.COUNT)),
        ("MCP calls", format_value(analysis.calls, Unit.COUNT) + " (client and server sides counted apart)"),
        ("traces", format_value(traces[0]["traces"] if traces else 0, Unit.COUNT)),
        ("LLM calls", format_value(llm, Unit.COUNT)),
        ("sources", ", ".join(analysis.sources) or "—"),
    ]
    fact_list = "".join(f"<dt>{_escape(k)}</dt><dd>{_escape(v)}</dd>" for k, v in facts)
    body = [
        "<p>Per side of the calls: every MCP request (tool calls, lists, reads, …). The cost, once for the page, "
        "is the LLM calls' and the fixed tool costs, as <code>mcpobs cost</code> reports them.</p>",
        f'<div class="cards">{"".join(cards)}</div>',
        f'<dl class="facts">{fact_list}</dl>',
    ]
    if report.outcome is not None:
        body.append(_alerts(report.outcome))
    if report.notes or analysis.notes:
        notes = "".join(f"<li>{_escape(n)}</li>" for n in (*report.notes, *analysis.notes))
        body.append(f'<div class="notes"><h3>Left out, or not priced</h3><ul>{notes}</ul></div>')
    body.append(_chart(made, "calls_over_time", "Calls and errors over time"))
    return _section("overview", "Overview", "\n".join(body))


def _kpis(figures: tuple[tuple[str, str], ...]) -> str:
    return "".join(f'<div class="kpi"><b>{_escape(v)}</b><span>{_escape(k)}</span></div>' for k, v in figures)


def _cost_card(report: Report) -> str:
    """The money once for the page: each side's total is the same LLM calls, seen from that side."""
    records = report.analysis.table("cost").records()
    totals = {str(r["side"]): r["total_cost"] for r in records}
    if not any(r["llm_calls"] for r in records) and not any(totals.values()):
        # $0 alone would read as free: there was nothing to price
        figures: tuple[tuple[str, str], ...] = (("total cost", format_value(0, Unit.MONEY)),)
        note = "no LLM call in these traces and no tool priced (--prices): nothing to cost"
    elif len(set(totals.values())) <= 1:
        figures = (("total cost", format_value(next(iter(totals.values()), None), Unit.MONEY)),)
        note = "the LLM calls and the fixed tool costs, once: each side's calls share out the same money"
    else:
        # only the fixed costs of the tool calls differ: one side's calls were not all traced
        figures = tuple((f"total cost seen from the {side}", format_value(t, Unit.MONEY)) for side, t in totals.items())
        note = "the same LLM calls seen from each side, with the fixed costs of that side's tool calls: not a sum"
    return f'<div class="card" data-cost="total"><h3>cost</h3>{_kpis(figures)}<p class="note">{_escape(note)}</p></div>'


def _alerts(outcome: Outcome) -> str:
    # every group that fired or has no verdict, with why, as check-alerts lists them
    shown = listed(outcome)
    css = "failed" if outcome.failed else "passed"
    rows = "".join(
        "<tr>"
        f'<td class="{"bad" if outcome.failing(v) else ""}">{_escape(result_word(outcome, v))}</td>'
        f"<td>{_escape(v.rule.severity)}</td><td>{_escape(v.rule.name)}</td>"
        f"<td>{_escape(v.label)}</td><td>{_escape(reading(v))}</td><td>{_escape(v.reason)}</td></tr>"
        for v in shown
    )
    table = (
        f'<div class="scroll"><table class="alerts" data-table="alerts"><thead><tr><th>result</th><th>severity</th>'
        f"<th>rule</th><th>group</th><th>values</th><th>why</th></tr></thead><tbody>{rows}</tbody></table></div>"
        if shown
        else "<p>No rule fired.</p>"
    )
    return (
        f'<div class="alerts-box {css}"><h3>Alerts: {_escape(outcome.rules.path)}</h3>'
        f'<p class="summary">{_escape(summary_line(outcome))}</p>{table}</div>'
    )


def _tools(report: Report, made: dict[str, Chart]) -> str:
    analysis = report.analysis
    body = [
        table_html(analysis.table("calls"), "Per tool and side (the same rows as mcpobs analyze)"),
        _chart(made, "error_rate_by_tool", "Error rate by tool"),
        _chart(made, "latency_by_tool", "Latency distribution by tool"),
        table_html(analysis.table("sessions"), "Sessions, counted on each tool's calls"),
        _chart(made, "latency_p95_ms_by_in_flight", "p95 latency by calls in flight"),
        _chart(made, "error_rate_by_in_flight", "Error rate by calls in flight"),
        table_html(report.concurrency, "Per server, side and calls in flight (mcpobs analyze --by server,concurrency)"),
    ]
    return _section("tools", "Tool calls", "\n".join(body))


# What an argument figure with no value means: none of the tool's calls were checked.
_UNCHECKED = {
    name: "not checked"
    for name in ("invalid_arguments", "invalid_argument_rate", "invalid_results", "invalid_result_rate")
}


def _arguments(report: Report, made: dict[str, Chart]) -> str:
    body = [
        "<p>Each tool call's arguments checked against the <code>inputSchema</code> its server advertised in the "
        "same session (else the same file), and each successful call's <code>structuredContent</code> against the "
        "tool's <code>outputSchema</code>, as <code>mcpobs analyze --view arguments</code> reports them. A call "
        "whose arguments were not recorded, or whose tool advertised no schema, is <em>not checked</em>: never "
        "counted valid.</p>"
    ]
    if report.argument_notes:
        notes = "".join(f"<li>{_escape(n)}</li>" for n in report.argument_notes)
        body.append(f'<div class="notes" data-notes="arguments"><ul>{notes}</ul></div>')
    body.append(_chart(made, "arguments_by_tool", "Tool call arguments by tool"))
    body.append(table_html(report.arguments, "Per tool and side (mcpobs analyze --view arguments)", missing=_UNCHECKED))
    for table, what in ((report.invalid_arguments, "arguments"), (report.invalid_results, "results")):
        count, checked = report.argument_totals[f"invalid_{what}"], report.argument_totals[f"{what}_checked"]
        shown = f"the first {len(table.rows)} of {count}" if count > len(table.rows) else f"{count}"
        # none invalid of none checked is no finding: say that nothing was checked
        if not checked:
            shown = "none checked"
        empty = f"no invalid {what}" if checked else f"no {what} checked"
        body.append(table_html(table, f"Tool calls with invalid {what} ({shown})", vertical=False, empty=empty))
    return _section("arguments", "Arguments", "\n".join(body))


def _traces(report: Report, made: dict[str, Chart]) -> str:
    body = [table_html(report.analysis.table("traces"), "Traces holding the calls")]
    body.append(
        "<p>Each bar is a span on the trace's time axis: the client's and the server's side of each MCP call, "
        "LLM calls, the agent's steps. Failed spans have a red outline and their number in the cascade.</p>"
    )
    body.append(f"<h3>Slowest traces ({len(report.slowest)} of {report.traces})</h3>")
    for i in range(1, len(report.slowest) + 1):
        body.append(_chart(made, f"slow_trace_{i}"))
    body.append(f"<h3>Failing traces ({len(report.failing)} of {report.failing_traces})</h3>")
    if not report.failing:
        body.append('<p class="empty">No call failed.</p>')
    for i, view in enumerate(report.failing, 1):
        body.append(_chart(made, f"failing_trace_{i}"))
        body.append(
            table_html(
                view.cascade,
                "The cascade: failures in the order they happened, and which earlier failure each followed from",
                vertical=False,
            )
        )
    return _section("traces", "Traces", "\n".join(body))


def _cost(report: Report, made: dict[str, Chart]) -> str:
    analysis = report.analysis
    body = [
        table_html(analysis.table("cost"), "Cost per side (as mcpobs cost prints it)"),
        _chart(made, "cost_split", "Inference and tool cost"),
    ]
    for key in ("tool", "server", "model", "session"):
        body.append(_chart(made, f"cost_by_{key}", f"Tool call cost by {key}"))
    body.append(table_html(analysis.table("call_cost"), "Tool call cost by tool", empty="no tool calls"))
    body.append(table_html(analysis.table("models"), "LLM calls by model", empty="no LLM calls"))
    body.append(
        table_html(analysis.table("decisions"), "Tool calls by the model that asked for them", empty="no LLM calls")
    )
    body.append(table_html(analysis.table("costly_sessions"), "Top sessions by cost", empty="no tool calls"))
    body.append(table_html(analysis.table("costly_traces"), "Top traces by cost", empty="no cost"))
    return _section("cost", "Cost", "\n".join(body))


def _errors(report: Report, made: dict[str, Chart]) -> str:
    shown = len(report.messages.rows)
    body = [
        _chart(made, "tool_errors_over_time", "Error rate per tool over time"),
        _chart(made, "errors_by_class_over_time", "Errors over time by class"),
        table_html(report.analysis.table("errors"), "Errors by class per tool", empty="no errors"),
        table_html(
            report.messages,
            f"Most frequent error messages ({shown} of {report.message_kinds})",
            empty="no errors",
        ),
    ]
    return _section("errors", "Errors", "\n".join(body))


_CSS = """
:root { --fg: #1d2330; --muted: #5b6472; --line: #dde1e7; --bg: #f6f7f9; --bad: #d62728; --ok: #2ca02c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); }
header { background: #1d2330; color: #fff; padding: 16px 24px 0; position: sticky; top: 0; z-index: 2; }
header h1 { margin: 0; font-size: 20px; }
header .meta { margin: 4px 0 8px; color: #c8cdd6; font-size: 13px; }
nav a { color: #fff; text-decoration: none; display: inline-block; padding: 6px 14px 8px 0; font-weight: 600; }
nav a:hover { text-decoration: underline; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 24px 24px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 8px 20px 16px;
  margin: 16px 0; scroll-margin-top: 100px; }
h2 { font-size: 18px; margin: 8px 0 12px; }
h3 { font-size: 15px; margin: 16px 0 8px; }
.cards { display: flex; gap: 16px; flex-wrap: wrap; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 16px 12px; min-width: 300px; flex: 1; }
.card h3 { margin: 4px 0 8px; text-transform: uppercase; font-size: 12px; color: var(--muted); letter-spacing: .05em; }
.kpi { display: inline-block; margin-right: 24px; }
.kpi b { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
.kpi span { color: var(--muted); font-size: 12px; }
.card .note { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 16px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.alerts-box { border-left: 4px solid var(--ok); padding: 4px 12px; margin: 12px 0; background: #f7fbf7; }
table.alerts td:first-child { white-space: nowrap; }
.alerts-box.failed { border-color: var(--bad); background: #fdf6f6; }
.notes { color: var(--muted); font-size: 13px; }
.scroll { overflow-x: auto; margin: 12px 0; }
table { border-collapse: collapse; font-size: 13px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { white-space: nowrap; }
td.name > span { display: inline-block; max-width: 30em; overflow: hidden; text-overflow: ellipsis;
  vertical-align: top; }
td.prose { min-width: 14em; max-width: 520px; overflow-wrap: break-word; }
th { background: #eef0f4; white-space: nowrap; position: relative; }
/* a figure's header wraps between its words before its table scrolls */
th[data-type="number"] { white-space: normal; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[data-order="asc"]::after { content: " ▲"; font-size: 10px; }
table.sortable th[data-order="desc"]::after { content: " ▼"; font-size: 10px; }
td.bad { color: var(--bad); font-weight: 700; }
.empty { color: var(--muted); font-style: italic; }
figure.chart { margin: 16px 0; overflow-x: auto; }
figcaption { font-weight: 600; margin-bottom: 4px; }
figcaption .caption { font-weight: 400; color: var(--muted); margin-left: 8px; }
.vega { min-height: 40px; }
.chart-error { color: var(--bad); }
footer { max-width: 1180px; margin: 0 auto; padding: 0 24px 24px; color: var(--muted); font-size: 12px; }
"""

# Sort a table by a header (again: the other way); draw every chart, marking it done or failed.
_JS = """
"use strict";
for (const table of document.querySelectorAll("table.sortable")) {
  const heads = Array.from(table.tHead.rows[0].cells);
  heads.forEach((th, column) => {
    const sort = () => {
      const ascending = th.dataset.order !== "asc";
      heads.forEach((h) => delete h.dataset.order);
      th.dataset.order = ascending ? "asc" : "desc";
      const numeric = th.dataset.type === "number";
      const body = table.tBodies[0];
      const key = (row) => (row.cells[column] ? row.cells[column].dataset.v ?? "" : "");
      const rows = Array.from(body.rows).filter((row) => row.cells.length === heads.length);
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        if (x === "" || y === "") return (x === "") - (y === "");
        const order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
        return ascending ? order : -order;
      });
      body.append(...rows);
    };
    th.addEventListener("click", sort);
    th.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") sort(); });
  });
}
for (const source of document.querySelectorAll('script[type="application/json"][data-chart]')) {
  const target = document.getElementById("chart-" + source.dataset.chart);
  vegaEmbed(target, JSON.parse(source.textContent), { actions: false, renderer: "svg", mode: "vega-lite" })
    .then(() => { target.dataset.rendered = "true"; })
    .catch((error) => {
      target.dataset.rendered = "failed";
      target.className += " chart-error";
      target.textContent = "This chart could not be drawn: " + error;
      console.error(error);
    });
}
"""
