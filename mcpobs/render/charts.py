"""The charts of a report as Vega-Lite specifications: presentation only.

Each chart is its data (plain JSON rows made from the report's tables, what the golden
tests compare) and a specification that draws it. Times are UTC ISO strings, money is
a float for the axis and its exact text for the tooltip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from mcpobs.analysis.model import Table, Unit
from mcpobs.analysis.waterfall import ROLES, TraceView
from mcpobs.render.text import format_value
from mcpobs.report import Report

SIDES = ("client", "server")
SIDE_COLORS = ("#4c78a8", "#f58518")
ROLE_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#9d755d", "#bab0ac")
ERROR_RED = "#d62728"
WIDTH = 760
LABEL = 80  # longest name or message drawn in a chart (the tables show them whole)


@dataclass(frozen=True)
class Chart:
    """One chart: its id in the page, its heading, its data rows and its Vega-Lite spec."""

    id: str
    title: str
    data: list[dict[str, Any]]
    spec: dict[str, Any]
    caption: str = ""

    def full_spec(self) -> dict[str, Any]:
        """The specification with the data inlined, as the page embeds it."""
        return {"data": {"values": self.data}, **self.spec}


def charts(report: Report) -> list[Chart]:
    """Every chart of the report, in page order; a chart with no data is left out."""
    made = [
        _calls_over_time(report),
        _error_rate_by_tool(report),
        _latency_by_tool(report),
        _tool_errors_over_time(report),
        _errors_by_class_over_time(report),
        _cost_split(report),
        *(_cost_by(report, key) for key in ("tool", "server", "model", "session")),
        *(_waterfall(f"slow_trace_{i}", view) for i, view in enumerate(report.slowest, 1)),
        *(_waterfall(f"failing_trace_{i}", view) for i, view in enumerate(report.failing, 1)),
    ]
    return [chart for chart in made if chart.data]


# Names are ordered by a rank in the data, never by a list of them in the spec: Vega-Lite compiles
# such a list into an expression, which a name can break (U+2028 is a line break there).
BY_RANK = {"field": "rank", "op": "min"}


def _ranks(report: Report) -> dict[str, int]:
    """The charted tools' places, the most called first."""
    return {tool: i for i, tool in enumerate(report.tools)}


def _time(value: datetime) -> str:
    """A naive UTC time from the store (or an aware one) as ISO 8601 with Z, which browsers read as UTC."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def _short(text: str | None, limit: int = LABEL) -> str:
    if text is None:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _buckets(report: Report, table: Table) -> list[dict[str, Any]]:
    """Rows of a table over time, each with its bucket's end and a label for tooltips."""
    width = timedelta(microseconds=report.bucket_ns // 1000)
    out = []
    for record in table.records():
        start = record.pop("bucket_start")
        out.append(
            {
                "time": _time(start),
                "time_end": _time(start + width),
                "bucket": start.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC",
                **{k: _number(v) for k, v in record.items()},
            }
        )
    return out


def _side_color() -> dict[str, Any]:
    return {"field": "side", "type": "nominal", "title": "side", "scale": {"domain": SIDES, "range": SIDE_COLORS}}


def _time_x(report: Report) -> dict[str, Any]:
    """A time axis in UTC, its labels as precise as the buckets are narrow."""
    width = report.bucket_ns
    label = "%H:%M:%S.%L" if width < 10**9 else "%H:%M:%S" if width < 60 * 10**9 else "%m-%d %H:%M"
    if width >= 86_400 * 10**9:
        label = "%Y-%m-%d"
    return {
        "field": "time",
        "type": "temporal",
        "scale": {"type": "utc"},
        "title": "time (UTC)",
        "axis": {"format": label, "labelOverlap": True},
    }


def _rows_by_side(spec: dict[str, Any]) -> dict[str, Any]:
    return {"facet": {"row": {"field": "side", "type": "nominal", "title": None}}, "spec": spec}


def _calls_over_time(report: Report) -> Chart:
    data = _buckets(report, report.timeline)
    layer = {
        "width": WIDTH,
        "height": 90,
        "transform": [{"fold": ["calls", "errors"], "as": ["series", "count"]}, {"filter": "datum.count > 0"}],
        # rects, not bars: a bar spanning x to x2 would lie flat at its y
        "mark": {"type": "rect"},
        "encoding": {
            "x": _time_x(report),
            "x2": {"field": "time_end"},
            "y": {"field": "count", "type": "quantitative", "title": "calls"},
            "y2": {"datum": 0},
            "color": {
                "field": "series",
                "type": "nominal",
                "title": None,
                "scale": {"domain": ["calls", "errors"], "range": ["#4c78a8", ERROR_RED]},
            },
            "tooltip": [
                {"field": "bucket", "title": "from"},
                {"field": "side"},
                {"field": "calls", "type": "quantitative"},
                {"field": "errors", "type": "quantitative"},
            ],
        },
    }
    caption = f"calls by start time, in buckets of {duration_text(report.bucket_ns)}"
    return Chart("calls_over_time", "Calls and errors over time", data, _rows_by_side(layer), caption)


def duration_text(nanoseconds: int) -> str:
    """A bucket width as people say it: 200 ms, 5 s, 2 min, 6 h, 7 d."""
    for unit, size in (("d", 86_400_000_000_000), ("h", 3_600_000_000_000), ("min", 60_000_000_000), ("s", 10**9)):
        if nanoseconds >= size and nanoseconds % size == 0:
            return f"{nanoseconds // size} {unit}"
    return f"{nanoseconds / 1e6:g} ms"


def _error_rate_by_tool(report: Report) -> Chart:
    calls = report.analysis.table("calls")
    rank = _ranks(report)
    data = [
        {
            **{k: _number(record[k]) for k in ("tool", "side", "calls", "errors", "error_rate")},
            "rank": rank[record["tool"]],
        }
        for record in calls.records()
        if record["tool"] in rank
    ]
    spec = {
        "width": 560,
        "height": {"step": 14},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "tool", "type": "nominal", "sort": BY_RANK, "title": None},
            "yOffset": {"field": "side", "type": "nominal", "scale": {"domain": SIDES}},
            "x": {
                "field": "error_rate",
                "type": "quantitative",
                "title": "error rate",
                "axis": {"format": "%"},
                "scale": {"domain": [0, 1]},
            },
            "color": _side_color(),
            "tooltip": [
                {"field": "tool"},
                {"field": "side"},
                {"field": "calls", "type": "quantitative"},
                {"field": "errors", "type": "quantitative"},
                {"field": "error_rate", "type": "quantitative", "format": ".1%", "title": "error rate"},
            ],
        },
    }
    return Chart("error_rate_by_tool", "Error rate by tool", data, spec)


def _latency_by_tool(report: Report) -> Chart:
    rank = _ranks(report)
    data = [{**{k: _number(v) for k, v in r.items()}, "rank": rank[r["tool"]]} for r in report.latency.records()]
    spec = {
        "facet": {
            "row": {
                "field": "tool",
                "type": "nominal",
                "sort": BY_RANK,
                "title": None,
                "header": {"labelAngle": 0, "labelAlign": "left", "labelLimit": 160},
            }
        },
        "spec": {
            "width": 620,
            "height": 48,
            "mark": {"type": "rect", "opacity": 0.7},
            "encoding": {
                "x": {"field": "from_ms", "type": "quantitative", "scale": {"type": "log"}, "title": "ms (log scale)"},
                "x2": {"field": "to_ms"},
                "y": {"field": "calls", "type": "quantitative", "title": None},
                "y2": {"datum": 0},
                "color": _side_color(),
                "tooltip": [
                    {"field": "tool"},
                    {"field": "side"},
                    {"field": "from_ms", "title": "from ms", "type": "quantitative"},
                    {"field": "to_ms", "title": "to ms", "type": "quantitative"},
                    {"field": "calls", "type": "quantitative"},
                ],
            },
        },
        "resolve": {"scale": {"y": "independent"}},
    }
    return Chart("latency_by_tool", "Latency distribution by tool", data, spec, "calls per latency bin, both sides")


def _tool_errors_over_time(report: Report) -> Chart:
    rank = _ranks(report)
    data = [{**row, "rank": rank[row["tool"]]} for row in _buckets(report, report.tool_timeline)]
    spec = {
        "width": WIDTH,
        "height": {"step": 14},
        "mark": {"type": "rect"},
        "encoding": {
            "x": _time_x(report),
            "x2": {"field": "time_end"},
            "y": {"field": "tool", "type": "nominal", "sort": BY_RANK, "title": None},
            "color": {
                "field": "error_rate",
                "type": "quantitative",
                "title": "error rate",
                "scale": {"domain": [0, 1], "scheme": "yelloworangered"},
                "legend": {"format": "%"},
            },
            "tooltip": [
                {"field": "bucket", "title": "from"},
                {"field": "tool"},
                {"field": "side"},
                {"field": "calls", "type": "quantitative"},
                {"field": "errors", "type": "quantitative"},
                {"field": "error_rate", "type": "quantitative", "format": ".1%", "title": "error rate"},
            ],
        },
    }
    return Chart("tool_errors_over_time", "Error rate per tool over time", data, _rows_by_side(spec))


def _errors_by_class_over_time(report: Report) -> Chart:
    data = _buckets(report, report.error_timeline)
    spec = {
        "width": WIDTH,
        "height": 90,
        # the classes stacked in each bucket, drawn as rects from the bottom of each to its top
        "transform": [
            {"stack": "errors", "groupby": ["time", "side"], "sort": [{"field": "error_class"}], "as": ["y0", "y1"]}
        ],
        "mark": {"type": "rect"},
        "encoding": {
            "x": _time_x(report),
            "x2": {"field": "time_end"},
            "y": {"field": "y1", "type": "quantitative", "title": "errors"},
            "y2": {"field": "y0"},
            "color": {"field": "error_class", "type": "nominal", "title": "error class", "scale": {"scheme": "set1"}},
            "tooltip": [
                {"field": "bucket", "title": "from"},
                {"field": "side"},
                {"field": "error_class", "title": "error class"},
                {"field": "errors", "type": "quantitative"},
            ],
        },
    }
    return Chart("errors_by_class_over_time", "Errors over time by class", data, _rows_by_side(spec))


_PARTS = ("inference", "tool")
_PART_COLORS = ("#72b7b2", "#eeca3b")


def _cost_rows(key: str, table: Table) -> list[dict[str, Any]]:
    data = []
    rank: dict[str, int] = {}
    for record in table.records():
        group = "(none)" if record[key] is None else str(record[key])
        rank.setdefault(group, len(rank))
        for part, column in zip(_PARTS, ("token_cost", "tool_cost"), strict=True):
            amount = record[column]
            if amount:
                data.append(
                    {
                        "group": group,
                        "rank": rank[group],
                        "side": record["side"],
                        "part": part,
                        "cost": float(amount),
                        "cost_text": format_value(amount, Unit.MONEY),
                        "total_cost_text": format_value(record["total_cost"], Unit.MONEY),
                    }
                )
    return data


def _cost_by(report: Report, key: str) -> Chart:
    data = _cost_rows(key, report.cost_by[key])
    spec = {
        "width": 560,
        "height": {"step": 16},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "group", "type": "nominal", "sort": BY_RANK, "title": None, "axis": {"labelLimit": 280}},
            "x": {"field": "cost", "type": "quantitative", "title": "USD", "axis": {"format": "$.2~g"}},
            "color": {
                "field": "part",
                "type": "nominal",
                "title": "cost",
                "scale": {"domain": _PARTS, "range": _PART_COLORS},
            },
            "tooltip": [
                {"field": "group", "title": key},
                {"field": "side"},
                {"field": "part", "title": "cost"},
                {"field": "cost_text", "title": "amount"},
                {"field": "total_cost_text", "title": f"{key} total"},
            ],
        },
    }
    shown, groups = len({row["group"] for row in data}), report.cost_groups[key]
    cut = f"the {shown} costliest of {groups} {key}s; " if shown < groups else ""
    caption = f"{cut}the costliest first; inference is the tool calls' share of the LLM calls around them"
    return Chart(f"cost_by_{key}", f"Tool call cost by {key}", data, _rows_by_side(spec), caption)


def _cost_split(report: Report) -> Chart:
    parts = (
        ("inference, attributed to tool calls", "attributed_cost"),
        ("inference, unattributed", "unattributed_cost"),
        ("tool calls (fixed)", "tool_cost"),
    )
    data = []
    for record in report.analysis.table("cost").records():
        for part, column in parts:
            if record[column]:
                data.append(
                    {
                        # no side: no MCP call is selected, and the LLM calls' cost is all there is
                        "side": record["side"] or "all",
                        "part": part,
                        "cost": float(record[column]),
                        "cost_text": format_value(record[column], Unit.MONEY),
                    }
                )
    sides = [side for side in (*SIDES, "all") if any(row["side"] == side for row in data)]
    spec = {
        "width": 560,
        "height": {"step": 26},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "side", "type": "nominal", "title": None, "scale": {"domain": sides}},
            "x": {"field": "cost", "type": "quantitative", "title": "USD", "axis": {"format": "$.2~g"}},
            "color": {
                "field": "part",
                "type": "nominal",
                "title": None,
                "scale": {"domain": [p for p, _ in parts], "range": ["#72b7b2", "#b7e0dd", "#eeca3b"]},
            },
            "order": {"field": "part"},
            "tooltip": [{"field": "side"}, {"field": "part"}, {"field": "cost_text", "title": "amount"}],
        },
    }
    return Chart("cost_split", "Inference and tool cost", data, spec)


INDENT = 12  # levels of a waterfall shown as indentation; deeper spans say their depth


def _indent(depth: int) -> str:
    return "· " * depth if depth <= INDENT else f"[depth {depth}] "


def _waterfall(chart_id: str, view: TraceView) -> Chart:
    data = []
    for record in view.spans.records():
        failure = record["failure"]
        mark = f"✕ #{failure} {record['error_class']}" if failure else ""
        data.append(
            {
                "row": record["row"],
                "label": f"{record['row']:>3} " + _indent(record["depth"]) + _short(record["name"], 60),
                "name": _short(record["name"]),
                "role": record["role"],
                "service": record["service"],
                "start_ms": round(record["start_ms"], 3),
                "end_ms": round(record["end_ms"], 3),
                "duration_ms": round(record["duration_ms"], 3),
                "failed": record["failed"],
                "error_class": record["error_class"],
                "message": _short(record["message"]),
                "mark": mark,
            }
        )
    y = {
        "field": "label",
        "type": "nominal",
        "sort": {"field": "row", "op": "min"},
        "title": None,
        "axis": {"labelLimit": 320, "labelFontSize": 10},
    }
    bars = {
        "mark": {"type": "bar", "cornerRadius": 1},
        "encoding": {
            "y": y,
            "x": {"field": "start_ms", "type": "quantitative", "title": "ms from the trace's start"},
            "x2": {"field": "end_ms"},
            "color": {
                "field": "role",
                "type": "nominal",
                "title": "span",
                "scale": {"domain": ROLES, "range": ROLE_COLORS},
                # above, not at the right, where the failures' marks run past the last span's end
                "legend": {"orient": "top", "direction": "horizontal"},
            },
            "stroke": {"condition": {"test": "datum.failed", "value": ERROR_RED}, "value": None},
            "strokeWidth": {"condition": {"test": "datum.failed", "value": 2}, "value": 0},
            "tooltip": [
                {"field": "name"},
                {"field": "role", "title": "span"},
                {"field": "service"},
                {"field": "start_ms", "type": "quantitative", "title": "start ms", "format": ",.1f"},
                {"field": "duration_ms", "type": "quantitative", "title": "duration ms", "format": ",.1f"},
                {"field": "error_class", "title": "error class"},
                {"field": "message"},
            ],
        },
    }
    marks = {
        "transform": [{"filter": "datum.failed"}],
        "mark": {"type": "text", "align": "left", "dx": 4, "color": ERROR_RED, "fontWeight": "bold"},
        "encoding": {"y": y, "x": {"field": "end_ms", "type": "quantitative"}, "text": {"field": "mark"}},
    }
    # the failures' numbers only where there are failures: a layer of nothing has no extent to draw on
    layers = [bars, marks] if any(row["failed"] for row in data) else [bars]
    spec = {"width": 560, "height": {"step": 15}, "layer": layers}
    shown = len(view.spans.rows)
    caption = f"{format_value(view.duration_ms, Unit.MS)} ms, {view.span_count} spans" + (
        f" ({shown} shown)" if shown < view.span_count else ""
    )
    return Chart(chart_id, f"Trace {view.trace_id}", data, spec, caption)
