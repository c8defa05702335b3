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
from mcpobs.store import IN_FLIGHT_BUCKETS

SIDES = ("client", "server")
SIDE_COLORS = ("#4c78a8", "#f58518")
ROLE_COLORS = ("#4c78a8", "#f58518", "#54a24b", "#b279a2", "#9d755d", "#bab0ac")
ERROR_RED = "#d62728"
WIDTH = 760
TIME_HEIGHT = 90  # a chart over time, per side
LATENCY_HEIGHT = 48  # a tool's latency histogram
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
        # an axis label closer than 4 px to the one before is left out: "0.000" beside "0.001" read "0.0000.001"
        return {"data": {"values": self.data}, "config": {"axis": {"labelSeparation": 4}}, **self.spec}


def charts(report: Report) -> list[Chart]:
    """Every chart of the report, in page order; a chart with no data is left out."""
    made = [
        _calls_over_time(report),
        _error_rate_by_tool(report),
        _latency_by_tool(report),
        *(_against_in_flight(report, figure) for figure in IN_FLIGHT_FIGURES),
        _arguments_by_tool(report),
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


def _count_y(field: str, title: str | None, height: int, top: int | None = None) -> dict[str, Any]:
    """A y axis of counts ticked at whole numbers: no half-calls.

    Vega asks for ``ceil(height / 40)`` ticks and its ``tickMinStep`` still allows two on a domain of
    one (0, 0.5, 1): a domain of at least that many makes every step a whole number. Where ``top``,
    the largest count drawn, is known, the ticks are given instead (a stack's two ends share the scale,
    and a domain given to it is one Vega-Lite warns of).
    """
    ticks = -(-height // 40)
    axis: dict[str, Any] = {"tickMinStep": 1, "format": "d"}
    encoding: dict[str, Any] = {"field": field, "type": "quantitative", "title": title, "axis": axis}
    if top is None:
        encoding["scale"] = {"domain": {"unionWith": [0, ticks]}}
    else:
        step = next(n * 10**e for e in range(12) for n in (1, 2, 5) if top <= ticks * n * 10**e)
        axis["values"] = list(range(0, top + step, step))
    return encoding


def _side_color() -> dict[str, Any]:
    return {"field": "side", "type": "nominal", "title": "side", "scale": {"domain": SIDES, "range": SIDE_COLORS}}


# Round steps for a time axis, the finest first (Vega's names for the intervals): Vega's own pick,
# thinned to fit by dropping labels, left uneven gaps between them.
_TIME_STEPS = (
    *(("milliseconds", n) for n in (1, 2, 5, 10, 20, 50, 100, 200, 500)),
    *(("seconds", n) for n in (1, 2, 5, 10, 15, 30)),
    *(("minutes", n) for n in (1, 2, 5, 10, 15, 30)),
    *(("hours", n) for n in (1, 2, 3, 6, 12)),
    *(("day", n) for n in (1, 2, 7, 14)),
    ("month", 1),
    ("month", 3),
    ("year", 1),
)
_UNIT_NS = {
    "milliseconds": 10**6,
    "seconds": 10**9,
    "minutes": 60 * 10**9,
    "hours": 3_600 * 10**9,
    "day": 86_400 * 10**9,
    "month": 31 * 86_400 * 10**9,
    "year": 366 * 86_400 * 10**9,
}
TIME_TICKS = 8  # at most, over the chart's width: room for each label


def time_step(span_ns: int, ticks: int = TIME_TICKS) -> tuple[str, int]:
    """The finest round step (unit, count) that puts at most ``ticks`` ticks on ``span_ns``."""
    for unit, n in _TIME_STEPS:
        if span_ns <= ticks * n * _UNIT_NS[unit]:
            return unit, n
    return "year", max(1, -(-span_ns // (ticks * _UNIT_NS["year"])))


def _time_x(data: list[dict[str, Any]]) -> dict[str, Any]:
    """A time axis in UTC over the buckets of ``data``, ticked at round steps (every 500 ms, 5 s, 15 min …)
    and labelled as precisely as they need."""
    start = min((datetime.fromisoformat(row["time"]) for row in data), default=datetime.fromtimestamp(0, UTC))
    end = max((datetime.fromisoformat(row["time_end"]) for row in data), default=start)
    span = int((end - start).total_seconds() * 10**9)
    unit, n = time_step(span)
    if unit == "milliseconds":
        label = "%H:%M:%S.%L"
    elif unit == "seconds":
        label = "%H:%M:%S"
    elif unit in ("minutes", "hours"):
        label = "%H:%M" if span < _UNIT_NS["day"] else "%m-%d %H:%M"
    else:
        label = "%Y-%m-%d"
    axis: dict[str, Any] = {"format": label, "labelOverlap": True}
    if unit in ("month", "year"):
        axis["tickCount"] = {"interval": unit, "step": n}
    else:
        # the ticks themselves, at multiples of the step in UTC: Vega's own interval ticks skip steps under a second
        step = n * _UNIT_NS[unit] // 10**6
        first = -(-round(start.timestamp() * 1000) // step) * step
        ticks = range(first, round(end.timestamp() * 1000) + 1, step)
        axis["values"] = [_datetime(datetime.fromtimestamp(ms / 1000, UTC)) for ms in ticks]
    return {"field": "time", "type": "temporal", "scale": {"type": "utc"}, "title": "time (UTC)", "axis": axis}


def _datetime(moment: datetime) -> dict[str, Any]:
    """A moment as Vega-Lite's DateTime (a bare number in an axis's values is read as a year)."""
    return {
        "utc": True,
        "year": moment.year,
        "month": moment.month,
        "date": moment.day,
        "hours": moment.hour,
        "minutes": moment.minute,
        "seconds": moment.second,
        "milliseconds": moment.microsecond // 1000,
    }


def _rows_by_side(spec: dict[str, Any]) -> dict[str, Any]:
    return {"facet": {"row": {"field": "side", "type": "nominal", "title": None}}, "spec": spec}


def _calls_over_time(report: Report) -> Chart:
    data = _buckets(report, report.timeline)
    layer = {
        "width": WIDTH,
        "height": TIME_HEIGHT,
        "transform": [{"fold": ["calls", "errors"], "as": ["series", "count"]}, {"filter": "datum.count > 0"}],
        # rects, not bars: a bar spanning x to x2 would lie flat at its y
        "mark": {"type": "rect"},
        "encoding": {
            "x": _time_x(data),
            "x2": {"field": "time_end"},
            "y": _count_y("count", "calls", TIME_HEIGHT),
            "y2": {"value": "height"},  # the axis's 0: the domain starts there
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
            "height": LATENCY_HEIGHT,
            # each bin halved on the log scale: the client's calls in its left half, the server's in its right,
            # so the two sides never overlap into a colour no legend names
            "transform": [
                {"calculate": "sqrt(datum.from_ms * datum.to_ms)", "as": "mid_ms"},
                {"calculate": "datum.side === 'client' ? datum.from_ms : datum.mid_ms", "as": "left_ms"},
                {"calculate": "datum.side === 'client' ? datum.mid_ms : datum.to_ms", "as": "right_ms"},
            ],
            "mark": {"type": "rect"},
            "encoding": {
                "x": {"field": "left_ms", "type": "quantitative", "scale": {"type": "log"}, "title": "ms (log scale)"},
                "x2": {"field": "right_ms"},
                "y": _count_y("calls", None, LATENCY_HEIGHT),
                "y2": {"value": "height"},
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
    caption = "calls per latency bin: the client's in the left half of each bin, the server's in the right"
    return Chart("latency_by_tool", "Latency distribution by tool", data, spec, caption)


# The figures drawn against the calls in flight: (column, axis title, axis format, tooltip format).
IN_FLIGHT_FIGURES = {
    "latency_p95_ms": ("p95 latency, ms", "~s", ",.1f"),
    "error_rate": ("error rate", "%", ".1%"),
}


def _against_in_flight(report: Report, figure: str) -> Chart:
    """A figure of each server's calls, a line per server, by the calls in flight when they started."""
    title, axis_format, tip_format = IN_FLIGHT_FIGURES[figure]
    order = {label: i for i, (label, _) in enumerate(IN_FLIGHT_BUCKETS)}
    data = [
        {
            **{k: _number(record[k]) for k in ("server", "side", "concurrency", "calls", "errors", figure)},
            "rank": order[record["concurrency"]],
        }
        for record in report.concurrency.records()
    ]
    spec = {
        "width": 360,
        "height": 160,
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {
                "field": "concurrency",
                "type": "ordinal",
                "sort": BY_RANK,
                "title": "calls in flight when the call started",
                "axis": {"labelAngle": 0},
            },
            "y": {
                "field": figure,
                "type": "quantitative",
                "title": title,
                "axis": {"format": axis_format},
                **({"scale": {"domain": [0, 1]}} if figure == "error_rate" else {}),
            },
            "color": {"field": "server", "type": "nominal", "title": "server"},
            "tooltip": [
                {"field": "server"},
                {"field": "side"},
                {"field": "concurrency", "title": "in flight"},
                {"field": "calls", "type": "quantitative"},
                {"field": "errors", "type": "quantitative"},
                {"field": figure, "type": "quantitative", "format": tip_format, "title": title},
            ],
        },
    }
    caption = "per server and side: its calls by how many calls to it were in flight as each started, itself included"
    heading = "p95 latency by calls in flight" if figure == "latency_p95_ms" else "Error rate by calls in flight"
    return Chart(
        f"{figure}_by_in_flight",
        heading,
        data,
        {"facet": {"column": {"field": "side", "type": "nominal", "title": None}}, "spec": spec},
        caption,
    )


# What a tool call's arguments came to, in stacking order, with their colours: a call not checked is
# never drawn as a valid one.
ARGUMENT_OUTCOMES = {
    "invalid": ERROR_RED,
    "valid": "#54a24b",
    "recorded, not checked": "#bab0ac",
    "not recorded": "#e7e3e0",
}


def _arguments_by_tool(report: Report) -> Chart:
    """Per charted tool and side, its calls by what their arguments came to: invalid, valid, recorded
    but not checked (no inputSchema advertised), not recorded."""
    rank = _ranks(report)
    data = []
    for record in report.arguments.records():
        if record["tool"] not in rank:
            continue
        invalid = record["invalid_arguments"] or 0
        counts = {
            "invalid": invalid,
            "valid": record["arguments_checked"] - invalid,
            "recorded, not checked": record["arguments_recorded"] - record["arguments_checked"],
            "not recorded": record["tool_calls"] - record["arguments_recorded"],
        }
        for order, (outcome, calls) in enumerate(counts.items()):
            if calls:
                data.append(
                    {
                        "tool": record["tool"],
                        "side": record["side"],
                        "arguments": outcome,
                        "calls": calls,
                        "tool_calls": record["tool_calls"],
                        "order": order,
                        "rank": rank[record["tool"]],
                    }
                )
    top = max((d["tool_calls"] for d in data), default=0)
    spec = {
        "width": 560,
        "height": {"step": 14},
        "mark": {"type": "bar"},
        "encoding": {
            "y": {"field": "tool", "type": "nominal", "sort": BY_RANK, "title": None},
            "x": {**_count_y("calls", "tool calls", 560, top), "stack": "zero"},
            "color": {
                "field": "arguments",
                "type": "nominal",
                "title": "arguments",
                "scale": {"domain": list(ARGUMENT_OUTCOMES), "range": list(ARGUMENT_OUTCOMES.values())},
            },
            "order": {"field": "order", "type": "quantitative"},
            "tooltip": [
                {"field": "tool"},
                {"field": "side"},
                {"field": "arguments"},
                {"field": "calls", "type": "quantitative"},
                {"field": "tool_calls", "type": "quantitative", "title": "of the tool's calls"},
            ],
        },
    }
    caption = "each tool call's arguments against the inputSchema its server advertised in the same session or file"
    return Chart("arguments_by_tool", "Tool call arguments by tool", data, _rows_by_side(spec), caption)


def _tool_errors_over_time(report: Report) -> Chart:
    rank = _ranks(report)
    data = [{**row, "rank": rank[row["tool"]]} for row in _buckets(report, report.tool_timeline)]
    spec = {
        "width": WIDTH,
        "height": {"step": 14},
        "mark": {"type": "rect"},
        "encoding": {
            "x": _time_x(data),
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


def _stacked_top(data: list[dict[str, Any]]) -> int:
    """The highest stack of errors in one bucket of one side."""
    stacks: dict[tuple[str, str], int] = {}
    for row in data:
        key = (row["time"], row["side"])
        stacks[key] = stacks.get(key, 0) + int(row["errors"])
    return max(stacks.values(), default=0)


def _errors_by_class_over_time(report: Report) -> Chart:
    data = _buckets(report, report.error_timeline)
    spec = {
        "width": WIDTH,
        "height": TIME_HEIGHT,
        # the classes stacked in each bucket, drawn as rects from the bottom of each to its top
        "transform": [
            {"stack": "errors", "groupby": ["time", "side"], "sort": [{"field": "error_class"}], "as": ["y0", "y1"]}
        ],
        "mark": {"type": "rect"},
        "encoding": {
            "x": _time_x(data),
            "x2": {"field": "time_end"},
            "y": _count_y("y1", "errors", TIME_HEIGHT, top=_stacked_top(data)),
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
    records = view.spans.records()
    # where each LLM call's bar ends: its link to the tool calls it asked for starts there
    llm_ends = {
        r["span_id"]: (f"{r['row']:>3} " + _indent(r["depth"]) + _short(r["name"], 60), r["end_ms"]) for r in records
    }
    for record in records:
        failure = record["failure"]
        mark = f"✕ #{failure} {record['error_class']}" if failure else ""
        asker, asked_at = llm_ends.get(record["asked_by"], (None, None))
        data.append(
            {
                "row": record["row"],
                "label": llm_ends[record["span_id"]][0],
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
                "asked_by": asker,
                "asked_at_ms": None if asked_at is None else round(asked_at, 3),
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
    # from the end of each LLM call's bar to the start of each tool call it asked for
    links = {
        "transform": [{"filter": "datum.asked_by"}],
        "mark": {"type": "rule", "color": "#555555", "strokeDash": [3, 2], "strokeWidth": 1.5},
        "encoding": {
            "y": {**y, "field": "asked_by"},
            "y2": {"field": "label"},
            "x": {"field": "asked_at_ms", "type": "quantitative"},
            "x2": {"field": "start_ms"},
            "tooltip": [{"field": "name", "title": "tool call"}, {"field": "asked_by", "title": "asked for by"}],
        },
    }
    # a layer only where it has something to draw: a layer of nothing has no extent to draw on
    layers: list[dict[str, Any]] = [bars]
    if any(row["failed"] for row in data):
        layers.append(marks)
    if any(row["asked_by"] for row in data):
        layers.append(links)
    spec = {"width": 560, "height": {"step": 15}, "layer": layers}
    shown = len(view.spans.rows)
    spans = f"{view.span_count} span{'s' if view.span_count != 1 else ''}"
    caption = f"{format_value(view.duration_ms, Unit.MS)} ms, {spans}" + (
        f" ({shown} shown)" if shown < view.span_count else ""
    )
    return Chart(chart_id, f"Trace {view.trace_id}", data, spec, caption)
