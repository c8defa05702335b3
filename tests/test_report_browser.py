"""The report page in a real headless Chromium (Debian's ``chromium``, which .ci/run installs):
it loads with every request to the network refused, logs no error or warning, draws every
chart, sorts its tables, and a screenshot of it is taken.

Where chromium is missing the tests are skipped, except under CI (``CI`` set), where that fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcpobs.cli import app
from mcpobs.store import IN_FLIGHT_BUCKETS
from tests.conftest import ROOT, SAMPLE

CHROMIUM = Path(os.environ.get("MCPOBS_CHROMIUM", "/usr/bin/chromium"))
# Root needs --no-sandbox; the rest keep Chromium from reaching for a network there is none of.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AGENT = str(ROOT / "sample_traces" / "agent_cost_session.jsonl")
PRICES = str(ROOT / "sample_traces" / "prices.yaml")
RULES = str(ROOT / "sample_traces" / "alerts.yaml")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = "" if CHROMIUM.exists() else f"no chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install '.[test]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must test the report in a browser: {missing}")
        pytest.skip(missing)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _report(tmp_path: Path, *args: str) -> Path:
    target = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", *args, "--html", str(target)])
    assert result.exit_code == 0, result.stderr
    return target


class Opened:
    """A page opened from a file with the network refused, and what it logged and asked for."""

    def __init__(self, browser: Any, path: Path, width: int = 1280) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": 1400})
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.refused: list[str] = []
        self.page.on("console", lambda message: self.console.append((message.type, message.text)))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        url = path.resolve().as_uri()

        def route(handle: Any) -> None:
            if handle.request.url == url:
                handle.continue_()
            else:
                self.refused.append(handle.request.url)
                handle.abort()

        self.page.route("**/*", route)
        self.page.goto(url)
        # every chart says when it is drawn (or failed); bounded wait
        self.page.wait_for_function(
            "Array.from(document.querySelectorAll('.vega')).every((e) => e.dataset.rendered)", timeout=30_000
        )


def test_page_loads_offline_draws_every_chart_and_logs_nothing(browser: Any, tmp_path: Path) -> None:
    path = _report(tmp_path, AGENT, "--prices", PRICES, "--rules", RULES)
    opened = Opened(browser, path)
    page = opened.page
    try:
        assert opened.errors == []
        assert [m for m in opened.console if m[0] in ("error", "warning")] == []
        assert opened.refused == []
        charts = page.evaluate(
            """Array.from(document.querySelectorAll('.vega')).map((e) => {
                const svg = e.querySelector('svg');
                const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
                return {id: e.dataset.chart, rendered: e.dataset.rendered, width: box.width, height: box.height,
                        marks: e.querySelectorAll('g.role-mark path, g.role-mark text').length,
                        bars: e.querySelectorAll('g.mark-rect.role-mark path').length};
            })"""
        )
        specs = {
            s["chart"]: s["spec"]
            for s in page.evaluate(
                """Array.from(document.querySelectorAll('script[type="application/json"]'))
                   .map((s) => ({chart: s.dataset.chart, spec: JSON.parse(s.textContent)}))"""
            )
        }
        assert len(charts) == len(specs) >= 15
        for chart in charts:
            assert chart["rendered"] == "true", chart
            assert chart["width"] > 100, chart
            assert chart["height"] > 50, chart
            assert chart["marks"] > 0, chart
            if chart["id"].startswith(("slow_trace", "failing_trace")):
                # a bar per span of the waterfall, no more, no fewer
                assert chart["bars"] == len(specs[chart["id"]]["data"]["values"]), chart
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 50_000
    finally:
        page.close()


def test_tables_sort_by_any_column(browser: Any, tmp_path: Path) -> None:
    opened = Opened(browser, _report(tmp_path, str(SAMPLE)))
    page = opened.page
    try:
        table = 'table[data-table="calls"]'

        def column(n: int) -> list[str]:
            cells: list[str] = page.eval_on_selector_all(
                f"{table} tbody tr td:nth-child({n})", "(cells) => cells.map((c) => c.textContent)"
            )
            return cells

        headers = page.eval_on_selector_all(f"{table} th", "(th) => th.map((h) => h.textContent)")
        p95 = headers.index("p95 ms") + 1
        page.click(f"{table} th:nth-child({p95})")
        ascending = [float(v.replace(",", "")) for v in column(p95)]
        assert ascending == sorted(ascending)
        assert len(ascending) > 5
        page.click(f"{table} th:nth-child({p95})")
        descending = [float(v.replace(",", "")) for v in column(p95)]
        assert descending == sorted(ascending, reverse=True)
        page.click(f"{table} th:nth-child(2)")  # tool, as text
        tools = column(2)
        assert tools == sorted(tools)
        assert opened.errors == []
        assert opened.refused == []
    finally:
        page.close()


# the columns that name a row: what people look for in a table, so never broken inside a word
NAMES = ["side", "tool", "server", "session", "trace", "name", "model", "provider", "figure", "span_id", "error_class"]


# Each cell of a naming column in every table: its text, the lines it is laid out on, whether it is cut.
NAME_CELLS = """(names) => {
    const found = [];
    for (const table of document.querySelectorAll("table[data-table]")) {
        const heads = Array.from(table.tHead.rows[0].cells).map((h) => h.textContent);
        for (const row of table.tBodies[0].rows) {
            Array.from(row.cells).forEach((cell, i) => {
                if (!names.includes(heads[i])) return;
                // the lines the text is laid out on: one box per line
                const range = document.createRange();
                const text = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT).nextNode();
                range.selectNodeContents(text);
                const tops = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
                const box = cell.firstElementChild || cell;
                found.push({table: table.dataset.table, column: heads[i], text: cell.textContent,
                            lines: tops.size, cut: box.scrollWidth > box.clientWidth, title: cell.title});
            });
        }
    }
    return found;
}
"""


@pytest.mark.parametrize("width", [800, 1280])
def test_names_never_break_inside_a_word_and_tables_scroll_instead(browser: Any, tmp_path: Path, width: int) -> None:
    opened = Opened(browser, _report(tmp_path, AGENT, "--prices", PRICES, "--rules", RULES), width=width)
    page = opened.page
    try:
        cells = page.evaluate(NAME_CELLS, NAMES)
        assert {c["table"] for c in cells} >= {
            *("calls", "call_cost", "costly_sessions", "costly_traces", "cascade"),
            *("in_flight", "decisions", "arguments"),
        }
        for cell in cells:
            assert cell["lines"] == 1, cell
            if cell["cut"]:
                assert cell["title"] == cell["text"], cell
        # a table wider than its box scrolls sideways rather than crushing its columns
        wide = page.evaluate(
            """(() => { const box = document.querySelector('table[data-table="call_cost"]').parentElement;
                       return [box.scrollWidth, box.clientWidth]; })()"""
        )
        assert wide[0] > wide[1], wide
        # a figure's header wraps between its words (p50 over ms) before its table scrolls: at 1280 px the
        # calls table fits whole (its last column, ttfr p95, was out of sight)
        calls = page.evaluate(
            """(() => { const box = document.querySelector('table[data-table="calls"]').parentElement;
                       return box.scrollWidth <= box.clientWidth; })()"""
        )
        assert calls == (width >= 1280)
        # and so does a chart wider than its card (at 800 px the legends and the time axes' ends spilled off the page)
        spill = page.evaluate(
            """(() => { const out = [];
                       for (const card of document.querySelectorAll('section')) {
                           const edge = card.getBoundingClientRect().right;
                           for (const chart of card.querySelectorAll('figure.chart, div.scroll')) {
                               const right = chart.getBoundingClientRect().right;
                               if (right > edge) out.push([chart.innerHTML.slice(0, 80), right, edge]);
                           }
                       }
                       return [document.documentElement.scrollWidth, out]; })()"""
        )
        assert spill == [width, []], spill
        assert opened.errors == []
    finally:
        page.close()


def test_hostile_names_stay_text_in_the_browser(browser: Any, tmp_path: Path) -> None:
    hostile = '</script><img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
    # line and paragraph separators end a line in an expression Vega compiles: no name may reach one
    tools = [hostile, "line\u2028separated", "paragraph\u2029separated"]
    spans = []
    for t, tool in enumerate(tools):
        for i, error in enumerate(("tool_error", None)):
            spans.append(
                {
                    "traceId": f"{t + 1:032x}",
                    "spanId": f"{t + 1:08x}{i + 1:08x}",
                    "name": f"tools/call {tool}",
                    "kind": 2,
                    "startTimeUnixNano": str(1_700_000_000_000_000_000 + (2 * t + i) * 10**9),
                    "endTimeUnixNano": str(1_700_000_000_010_000_000 + (2 * t + i) * 10**9),
                    "attributes": [
                        {"key": "mcp.method.name", "value": {"stringValue": "tools/call"}},
                        {"key": "gen_ai.tool.name", "value": {"stringValue": tool}},
                        *([{"key": "error.type", "value": {"stringValue": error}}] if error else []),
                    ],
                    "status": {"code": 2, "message": hostile} if error else {},
                }
            )
    server = {"attributes": [{"key": "service.name", "value": {"stringValue": "server\u2028one"}}]}
    source = tmp_path / "hostile.jsonl"
    source.write_text(json.dumps({"resourceSpans": [{"resource": server, "scopeSpans": [{"spans": spans}]}]}) + "\n")
    prices = tmp_path / "prices.yaml"
    prices.write_text('servers:\n  "server\\u2028one": 0.5\ntools:\n  "line\\u2028separated": 0.25\n')
    opened = Opened(browser, _report(tmp_path, str(source), "--prices", str(prices)))
    page = opened.page
    try:
        assert page.evaluate("window.pwned") is None
        assert opened.errors == []
        assert [m for m in opened.console if m[0] in ("error", "warning")] == []
        assert opened.refused == []
        drawn = page.evaluate(
            """Object.fromEntries(Array.from(document.querySelectorAll('.vega'))
               .map((e) => [e.dataset.chart, e.dataset.rendered]))"""
        )
        expected = {"error_rate_by_tool", "latency_by_tool", "tool_errors_over_time", "cost_by_tool", "cost_by_server"}
        assert expected <= set(drawn)
        assert set(drawn.values()) == {"true"}, drawn
        cells = page.eval_on_selector_all(
            'table[data-table="calls"] tbody td:nth-child(2)', "(cells) => cells.map((c) => c.textContent)"
        )
        assert sorted(cells) == sorted(tools)
        assert page.evaluate("document.querySelectorAll('img').length") == 0
    finally:
        page.close()


def test_histograms_keep_the_sides_apart_and_axes_read_at_a_glance(browser: Any, tmp_path: Path) -> None:
    opened = Opened(browser, _report(tmp_path, AGENT, "--prices", PRICES))
    page = opened.page
    try:
        drawn = page.evaluate(
            """(() => {
                const box = (e) => { const r = e.getBoundingClientRect();
                                     return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
                const out = {};
                for (const chart of document.querySelectorAll(".vega")) {
                    const axes = Array.from(chart.querySelectorAll("g.role-axis")).map((axis) => ({
                        label: axis.getAttribute("aria-label") || "",
                        ticks: Array.from(axis.querySelectorAll("g.role-axis-label text"))
                            .map((t) => ({text: t.textContent, at: t.transform.baseVal.consolidate().matrix.e})),
                    }));
                    const rects = Array.from(chart.querySelectorAll("g.mark-rect.role-mark path"))
                        .map((p) => ({fill: p.getAttribute("fill"), ...box(p)}));
                    out[chart.dataset.chart] = {axes, rects};
                }
                return out;
            })()"""
        )
        # a client and a server bar of one tool never overlap: no colour the legend does not name
        rects = drawn["latency_by_tool"]["rects"]
        assert len({r["fill"] for r in rects}) == 2
        for a in rects:
            for b in rects:
                if a["fill"] != b["fill"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]:
                    assert min(a["right"], b["right"]) - max(a["left"], b["left"]) < 0.5, (a, b)
        for chart in ("latency_by_tool", "calls_over_time", "errors_by_class_over_time"):
            counts = [a for a in drawn[chart]["axes"] if a["label"].startswith("Y-axis")]
            assert counts, chart
            for axis in counts:
                # whole calls only, each once
                texts = [t["text"] for t in axis["ticks"]]
                assert all(text.isdigit() for text in texts), (chart, texts)
                assert len(set(texts)) == len(texts), (chart, texts)
        for chart in ("calls_over_time", "tool_errors_over_time", "errors_by_class_over_time"):
            [axis] = [a for a in drawn[chart]["axes"] if a["label"].startswith("X-axis")]
            # where each label's tick is (a label at an edge is flush with it, not centred on it)
            centres = [t["at"] for t in axis["ticks"]]
            gaps = [b - a for a, b in pairwise(centres)]
            # round steps, evenly spaced, at least three labels
            assert len(centres) >= 3, (chart, axis)
            assert max(gaps) - min(gaps) < 2, (chart, [t["text"] for t in axis["ticks"]], gaps)
        assert opened.errors == []
    finally:
        page.close()


EDGE = str(ROOT / "tests" / "data" / "edge" / "edge_spans.jsonl")
# recordings of a real client sending invalid arguments, and a server answering a result its outputSchema refuses
ARGUMENT_LOGS = [str(ROOT / "tests" / "data" / "arguments" / n) for n in ("time.log.jsonl", "structured.log.jsonl")]


@pytest.mark.parametrize("width", [800, 1280])
def test_the_arguments_section_draws_and_reads(browser: Any, tmp_path: Path, width: int) -> None:
    opened = Opened(browser, _report(tmp_path, *ARGUMENT_LOGS), width=width)
    page = opened.page
    try:
        assert opened.errors == []
        assert [m for m in opened.console if m[0] in ("error", "warning")] == []
        assert opened.refused == []
        listings = ("arguments", "invalid_arguments", "invalid_results")
        cells = [c for c in page.evaluate(NAME_CELLS, NAMES) if c["table"] in listings]
        assert {c["table"] for c in cells} == set(listings)
        for cell in cells:
            assert cell["lines"] == 1, cell
            if cell["cut"]:
                assert cell["title"] == cell["text"], cell
        chart = page.evaluate(
            """(() => {
                const chart = document.querySelector('.vega[data-chart="arguments_by_tool"]');
                const axes = Array.from(chart.querySelectorAll("g.role-axis")).map((axis) => ({
                    label: axis.getAttribute("aria-label") || "",
                    ticks: Array.from(axis.querySelectorAll("g.role-axis-label text")).map((t) => t.textContent),
                }));
                const legend = Array.from(chart.querySelectorAll("g.role-legend-label text")).map((t) => t.textContent);
                return {rendered: chart.dataset.rendered, axes, legend,
                        bars: chart.querySelectorAll("g.mark-rect.role-mark path").length};
            })()"""
        )
        assert chart["rendered"] == "true"
        # a bar per tool and what its calls' arguments came to (get_current_time: 3 invalid, 3 valid; ...)
        assert chart["bars"] == 7
        assert chart["legend"] == ["invalid", "valid", "recorded, not checked", "not recorded"]
        [count] = [a for a in chart["axes"] if a["label"].startswith("X-axis")]
        assert count["ticks"] == [str(n) for n in range(7)]  # whole calls, each once, to the most called tool's 6
        [tools] = [a for a in chart["axes"] if a["label"].startswith("Y-axis")]
        assert tools["ticks"] == ["get_current_time", "convert_time", "forecast", "forecast_legacy"]
        # the listings' errors and arguments wrap in their cells: nothing runs off the section
        spill = page.evaluate(
            """(() => { const section = document.querySelector('section#arguments');
                       const edge = section.getBoundingClientRect().right;
                       return Array.from(section.querySelectorAll('figure.chart, div.scroll'))
                           .filter((e) => e.getBoundingClientRect().right > edge).length; })()"""
        )
        assert spill == 0
    finally:
        page.close()


# a concurrent load against a real server: its calls reached every bucket of calls in flight
LOAD = [str(ROOT / "tests" / "data" / "concurrency" / n) for n in ("load.log.jsonl", "load.server-spans.jsonl")]


def test_the_in_flight_charts_read_along_the_buckets(browser: Any, tmp_path: Path) -> None:
    opened = Opened(browser, _report(tmp_path, *LOAD))
    page = opened.page
    try:
        assert opened.errors == []
        assert [m for m in opened.console if m[0] in ("error", "warning")] == []
        axes = page.evaluate(
            """(() => { const out = {};
                for (const id of ["latency_p95_ms_by_in_flight", "error_rate_by_in_flight"]) {
                    const chart = document.querySelector(`.vega[data-chart="${id}"]`);
                    out[id] = Array.from(chart.querySelectorAll("g.role-axis")).map((axis) => ({
                        label: axis.getAttribute("aria-label") || "",
                        ticks: Array.from(axis.querySelectorAll("g.role-axis-label text")).map((t) => t.textContent),
                    }));
                }
                return out; })()"""
        )
        buckets = [label for label, _ in IN_FLIGHT_BUCKETS]
        for chart, found in axes.items():
            xs = [a["ticks"] for a in found if a["label"].startswith("X-axis")]
            # a panel per side, each with every bucket in order, fewest calls in flight first
            assert xs == [buckets, buckets], (chart, xs)
        for axis in (a for a in axes["error_rate_by_in_flight"] if a["label"].startswith("Y-axis")):
            assert (axis["ticks"][0], axis["ticks"][-1]) == ("0%", "100%"), axis
            assert all(t.endswith("%") for t in axis["ticks"]), axis
        names = [c for c in page.evaluate(NAME_CELLS, NAMES) if c["table"] == "in_flight"]
        assert {c["column"] for c in names} == {"side", "server"}
        assert all(c["lines"] == 1 for c in names), names
    finally:
        page.close()


@pytest.mark.parametrize("source", [AGENT, EDGE, str(SAMPLE), ARGUMENT_LOGS[0], LOAD[0]])
def test_no_two_axis_labels_touch(browser: Any, tmp_path: Path, source: str) -> None:
    # spans of a few microseconds: the waterfall's axis read "0.0000.001", the histogram's "0.0040.005"
    opened = Opened(browser, _report(tmp_path, source), width=800)
    page = opened.page
    try:
        touching = page.evaluate(
            """(() => {
                const out = [];
                for (const chart of document.querySelectorAll(".vega")) {
                    for (const axis of chart.querySelectorAll("g.role-axis")) {
                        const labels = Array.from(axis.querySelectorAll("g.role-axis-label text"))
                            .filter((t) => t.textContent && t.getAttribute("opacity") !== "0")
                            .map((t) => ({text: t.textContent, box: t.getBoundingClientRect()}));
                        labels.forEach((a, i) => labels.slice(i + 1).forEach((b) => {
                            const gap = Math.max(b.box.left - a.box.right, a.box.left - b.box.right,
                                                 b.box.top - a.box.bottom, a.box.top - b.box.bottom);
                            if (gap < 2) out.push([chart.dataset.chart, a.text, b.text, Math.round(gap * 10) / 10]);
                        }));
                    }
                }
                return out;
            })()"""
        )
        assert touching == [], touching
    finally:
        page.close()
