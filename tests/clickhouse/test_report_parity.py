"""`mcpobs report` and `mcpobs analyze --view dashboard` on a chDB ``otel_traces`` table filled as the
Collector's exporter fills it: the report's data (every table, waterfall and chart the page embeds) and
the dashboard the same as from the files, the Arguments section included.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")

from conftest import Exported
from lxml import html as lxml_html
from test_parity import assert_same_table
from typer.testing import CliRunner

from mcpobs.alerts import check_alerts, load_rules
from mcpobs.analysis import Query
from mcpobs.analysis.metrics import Figures
from mcpobs.analysis.model import Table
from mcpobs.analysis.sql import parse_where
from mcpobs.analysis.waterfall import TraceView
from mcpobs.cli import app
from mcpobs.clickhouse import ClickHouseTraces, parse
from mcpobs.cost import CostOptions, load_prices
from mcpobs.ingest import load
from mcpobs.render.charts import charts
from mcpobs.render.html import render_html
from mcpobs.report import Limits, Report, build_report
from mcpobs.store import Store
from tests import test_report_browser
from tests.conftest import request, span, write_lines

# headless Chromium, as the page's own browser tests open it (skipped where it is missing)
browser = test_report_browser.browser

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_traces"
PRICES = SAMPLES / "prices.yaml"
RULES = SAMPLES / "alerts.yaml"
# every bundled sample, and test data with failures in deep traces, HTTP statuses and wrappers
SETS = {
    "agent_cost_session": [SAMPLES / "agent_cost_session.jsonl"],
    "mcp_agent_session": [SAMPLES / "mcp_agent_session.jsonl"],
    "notes_proxy": [SAMPLES / "notes_proxy.jsonl"],
    "notes_session": [SAMPLES / "notes_session.jsonl"],
    "dialects": [ROOT / "tests" / "data" / "dialects"],
    # real servers' calls with invalid arguments and results (the Arguments section)
    "arguments": [ROOT / "tests" / "data" / "arguments"],
}


def _close(a: Any, b: Any) -> bool:
    """Equal, floats within a quantile's rounding (the two engines sum in a different order)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _same_views(duck: tuple[TraceView, ...], click: tuple[TraceView, ...]) -> None:
    assert [v.trace_id for v in duck] == [v.trace_id for v in click]
    for d, c in zip(duck, click, strict=True):
        assert (d.start, d.span_count) == (c.start, c.span_count)
        assert _close(d.duration_ms, c.duration_ms)
        assert_same_table(d.spans, c.spans)
        assert_same_table(d.cascade, c.cascade)


ARGUMENT_FIELDS = ("arguments", "invalid_arguments", "invalid_results", "argument_notes", "argument_totals")
# Sets of several files whose calls find a tools/list answer of their server in another file, not their
# own session: the store checks a call against its own file's answers only, the table (which does not
# record the file) against the table's. Their Arguments sections are not compared (test_arguments_parity
# compares those of files whose sessions hold their answers, alone and together).
ACROSS_FILES = ("dialects",)


def _charts(report: Report, data: str) -> list[Any]:
    return [c for c in charts(report) if data not in ACROSS_FILES or c.id != "arguments_by_tool"]


def assert_same_report(duck: Report, click: Report, arguments: bool = True) -> None:
    """Every figure of the two reports the same, the Arguments section's included (``arguments``)."""
    d, c = duck.analysis, click.analysis
    assert (d.spans, d.calls, d.first_start, d.last_end) == (c.spans, c.calls, c.first_start, c.last_end)
    assert [t.name for t in d.tables] == [t.name for t in c.tables]
    for table in c.tables:
        assert_same_table(d.table(table.name), table)
    assert _notes(d.notes) == _notes(c.notes)
    if arguments:
        # its notes name the file, or the table, where a list answer was unreadable
        assert _notes(duck.argument_notes) == _notes(click.argument_notes)
    for field in fields(Report):
        if field.name in ("analysis", "notes", "argument_notes"):
            continue
        if field.name in ARGUMENT_FIELDS and not arguments:
            continue
        x, y = getattr(duck, field.name), getattr(click, field.name)
        if isinstance(x, Table):
            assert_same_table(x, y)
        elif field.name in ("slowest", "failing"):
            _same_views(x, y)
        elif field.name == "cost_by":
            assert x.keys() == y.keys()
            for key in x:
                assert_same_table(x[key], y[key])
        elif field.name == "outcome":
            assert (x is None) == (y is None)
            if x is not None:
                assert [(v.rule.name, v.group, v.status, v.reason) for v in x.verdicts] == [
                    (v.rule.name, v.group, v.status, v.reason) for v in y.verdicts
                ]
        else:
            assert x == y, field.name
    # the reader is told what is missing: the trace sizes
    sizes = "Trace sizes in bytes are not available on ClickHouse."
    assert sizes in click.notes
    assert tuple(n for n in click.notes if n != sizes) == duck.notes


def _notes(notes: tuple[str, ...]) -> list[str]:
    # a note on a span names where it was read: the file, or the table
    return sorted(note.split(": span ", 1)[-1] for note in notes)


@pytest.fixture(scope="module")
def reports(chdb_dir: Path, exported: Exported) -> Iterator[dict[str, tuple[Report, Report]]]:
    """Each set's report from its files and from its chDB table: priced, and checked against the rules."""
    found: dict[str, tuple[Report, Report]] = {}
    cost = CostOptions(load_prices(PRICES))
    rules = load_rules(RULES)
    with contextlib.ExitStack() as stack:
        for name, files in SETS.items():
            table = exported(name, files)
            store = stack.enter_context(Store())
            load(store, [str(f) for f in files])
            clickhouse = stack.enter_context(ClickHouseTraces(parse(f"chdb:{chdb_dir}", table)))
            found[name] = (
                build_report(store, Query(), cost, check_alerts(rules, Figures(store, cost))),
                build_report(clickhouse, Query(), cost, check_alerts(rules, Figures(clickhouse, cost))),
            )
        yield found


@pytest.mark.parametrize("data", SETS)
def test_the_report_s_figures_are_the_same_on_clickhouse(reports: dict[str, tuple[Report, Report]], data: str) -> None:
    duck, click = reports[data]
    assert_same_report(duck, click, arguments=data not in ACROSS_FILES)
    assert click.analysis.calls > 0


@pytest.mark.parametrize("data", SETS)
def test_the_data_each_chart_embeds_is_the_same_on_clickhouse(
    reports: dict[str, tuple[Report, Report]], data: str
) -> None:
    duck, click = reports[data]
    duck_charts, click_charts = _charts(duck, data), _charts(click, data)
    assert [c.id for c in duck_charts] == [c.id for c in click_charts]
    for d, c in zip(duck_charts, click_charts, strict=True):
        assert _close(d.full_spec(), c.full_spec()), d.id
    # and as the page embeds it
    embedded = []
    for report in (duck, click):
        tree = lxml_html.fromstring(render_html(report))
        embedded.append(
            {e.get("data-chart"): json.loads(e.text) for e in tree.xpath('//script[@type="application/json"]')}
        )
    if data in ACROSS_FILES:
        for page in embedded:
            page.pop("arguments_by_tool", None)
    assert embedded[0].keys() == embedded[1].keys()
    assert _close(embedded[0], embedded[1])


@pytest.mark.parametrize(
    "query",
    [
        # nothing selected: the page is still made, every chart empty alike
        Query(tools=("no such tool",)),
        Query(side="client", where=parse_where('method == "tools/call"')),
    ],
    ids=["empty", "filtered"],
)
def test_a_filtered_report_is_the_same_on_clickhouse(chdb_dir: Path, exported: Exported, query: Query) -> None:
    files = SETS["mcp_agent_session"]
    with Store() as store, ClickHouseTraces(parse(f"chdb:{chdb_dir}", exported("mcp_agent_session", files))) as click:
        load(store, [str(f) for f in files])
        duck_report, click_report = build_report(store, query), build_report(click, query)
    assert_same_report(duck_report, click_report)
    assert _close([c.full_spec() for c in charts(duck_report)], [c.full_spec() for c in charts(click_report)])


def test_the_waterfalls_and_messages_are_drawn_from_clickhouse(reports: dict[str, tuple[Report, Report]]) -> None:
    _, click = reports["agent_cost_session"]
    assert click.slowest
    assert click.failing
    assert click.latency.rows
    assert click.timeline.rows
    [failing] = [v for v in click.failing if v.trace_id == "7d2500dfdedbefb9a7db137bb7336528"]
    assert [(r["relation"], r["message"]) for r in failing.cascade.records()][:2] == [
        ("first", None),
        ("caller of", "Error executing tool read_file: file not found: src/config.yaml"),
    ]
    # the waterfall links each tool call to the LLM call that asked for it, as the cost ledger does
    assert any(r["asked_by"] for view in click.slowest for r in view.spans.records())
    # a status message without its trailing ": ", as the files' report shows it
    assert "TimeoutError" in {r["message"] for r in reports["mcp_agent_session"][1].messages.records()}


START = 1_700_000_000_000_000_000


def _exception(attributes: dict[str, str], name: str = "exception") -> dict[str, Any]:
    return {
        "name": name,
        "timeUnixNano": "1700000000005000000",
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attributes.items()],
    }


def test_messages_recorded_as_exception_events_are_read_from_the_table(
    chdb_dir: Path, exported: Exported, tmp_path: Path
) -> None:
    # the call model keeps no events: a failed span's message that only its exception event records
    # is read from the table's Events, for the failed spans alone
    events = {
        "1": [_exception({"exception.type": "ValueError", "exception.message": "bad input"})],
        "2": [_exception({"exception.type": "TimeoutError", "exception.message": ""})],
        "3": [_exception({"exception.message": "no type"})],
        "4": [_exception({"note": "x"}, "retry"), _exception({"exception.type": "KeyError"})],
        "5": [],
    }
    spans = [
        span(
            span_id=f"{i:0>16}", name="tools/call fail", error_type="tool_error", start=START + int(i), events=e or None
        )
        for i, e in events.items()
    ]
    path = write_lines(tmp_path / "exceptions.jsonl", [request(spans)])
    with Store() as store, ClickHouseTraces(parse(f"chdb:{chdb_dir}", exported("exceptions", [path]))) as click:
        load(store, [str(path)])
        duck_report, click_report = build_report(store, Query()), build_report(click, Query())
    assert_same_table(duck_report.messages, click_report.messages)
    assert {r["message"] for r in click_report.messages.records()} == {
        "ValueError: bad input",
        "TimeoutError",
        "no type",
        "KeyError",
        None,
    }
    _same_views(duck_report.failing, click_report.failing)


def test_a_trace_too_large_to_read_is_not_drawn_and_said(chdb_dir: Path, exported: Exported) -> None:
    table = exported("agent_cost_session", SETS["agent_cost_session"])
    with ClickHouseTraces(parse(f"chdb:{chdb_dir}", table)) as clickhouse:
        whole = build_report(clickhouse, Query())
        capped = build_report(clickhouse, Query(), limits=Limits(trace_spans=10))
    largest = max(whole.slowest, key=lambda v: v.span_count)
    assert largest.span_count > 10
    assert largest.trace_id not in [v.trace_id for v in (*capped.slowest, *capped.failing)]
    assert any(n.startswith(f"Trace {largest.trace_id} is not drawn: its ") for n in capped.notes)


@pytest.fixture(scope="module")
def source(chdb_dir: Path, exported: Exported) -> list[str]:
    """The agent sample's chDB table: the source arguments."""
    return [f"chdb:{chdb_dir}", "--table", exported("agent_cost_session", SETS["agent_cost_session"])]


def test_report_over_chdb_is_one_self_contained_page(runner: CliRunner, source: list[str], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    args = ["--prices", str(PRICES), "--rules", str(RULES), "--html", str(page)]
    result = runner.invoke(app, ["report", *source, *args])
    assert result.exit_code == 0, result.stderr
    assert "40 calls, 5 trace waterfalls, 2 alerts fired" in result.stderr
    tree = lxml_html.fromstring(page.read_text(encoding="utf-8"))
    for element in tree.xpath("//*[@src or @href]"):
        assert (element.get("href") or "").startswith("#"), lxml_html.tostring(element)
        assert element.get("src") is None
    assert not tree.xpath("//link | //iframe | //img | //object")
    assert "default-src 'none'" in tree.xpath('string(//meta[@http-equiv="Content-Security-Policy"]/@content)')
    assert tree.xpath('string(//p[@class="meta"])').endswith(f"{source[0]} {source[2]}")
    # the Arguments section is there as from the files
    assert tree.xpath('//section[@id="arguments"]//table')
    assert tree.xpath('//table[@data-table="decisions"]')
    assert "Trace sizes in bytes are not available on ClickHouse." in tree.xpath('string(//div[@class="notes"])')
    files = tmp_path / "files.html"
    runner.invoke(app, ["report", str(SETS["agent_cost_session"][0]), *args[:-1], str(files)])
    duck = lxml_html.fromstring(files.read_text(encoding="utf-8"))
    specs = [
        {e.get("data-chart"): json.loads(e.text) for e in t.xpath('//script[@type="application/json"]')}
        for t in (duck, tree)
    ]
    assert len(specs[1]) >= 15
    assert "arguments_by_tool" in specs[1]
    assert _close(specs[0], specs[1])


def test_report_over_chdb_opens_in_a_browser(browser: Any, source: list[str], tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = CliRunner().invoke(app, ["report", *source, "--prices", str(PRICES), "--html", str(page)])
    assert result.exit_code == 0, result.stderr
    opened = test_report_browser.Opened(browser, page)
    try:
        assert opened.errors == []
        assert [m for m in opened.console if m[0] in ("error", "warning")] == []
        assert opened.refused == []
        drawn = opened.page.evaluate("Array.from(document.querySelectorAll('.vega')).map((e) => e.dataset.rendered)")
        assert len(drawn) >= 15
        assert set(drawn) == {"true"}
    finally:
        opened.page.close()


def test_dashboard_over_chdb_is_the_files_dashboard(
    runner: CliRunner, source: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["--view", "dashboard", "--prices", str(PRICES)]
    files = runner.invoke(app, ["analyze", str(SETS["agent_cost_session"][0]), *args])
    table = runner.invoke(app, ["analyze", *source, *args])
    assert table.exit_code == 0, table.stderr
    # every line the files', the arguments table's included
    assert table.stdout == files.stdout
    assert "Costliest tools" in table.stdout
    assert "Most frequent error messages" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([str(SETS["notes_session"][0]), "--table", "t"], "--table names a ClickHouse table"),
        (["chdb:/x", "--db", "obs.duckdb"], "a ClickHouse source is read where it is, leave out --db"),
        (["chdb:/x", str(SETS["notes_session"][0])], "a ClickHouse source is read alone"),
    ],
)
@pytest.mark.parametrize("command", [["report", "--html", "page.html"], ["analyze", "--view", "dashboard"]])
def test_report_and_dashboard_usage_mistakes_are_one_line_with_exit_2(
    runner: CliRunner, command: list[str], args: list[str], message: str
) -> None:
    result = runner.invoke(app, [*command, *args])
    assert result.exit_code == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert message in line
