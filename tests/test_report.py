"""The report: the data behind each chart (golden files), the same numbers as analyze, caps,
and a page that holds anything the input holds without running it. The browser's view of
the page is in test_report_browser.py.

Regenerate the golden files after an intended change with
``MCPOBS_UPDATE_GOLDENS=1 pytest tests/test_report.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from mcpobs.alerts import check_alerts, load_rules
from mcpobs.analysis import Query, analyze
from mcpobs.analysis.metrics import Figures
from mcpobs.analysis.model import Unit
from mcpobs.cost import CostOptions, load_prices
from mcpobs.ingest import load
from mcpobs.render.charts import charts
from mcpobs.render.html import bundle_cache_path, json_script, render_html, vega_bundle
from mcpobs.render.text import format_value
from mcpobs.report import Limits, Report, build_report
from mcpobs.store import Store
from tests.conftest import ROOT, SAMPLE, llm_span, request, span, write_lines

GOLDEN = Path(__file__).parent / "golden"
AGENT = ROOT / "sample_traces" / "agent_cost_session.jsonl"
PRICES = ROOT / "sample_traces" / "prices.yaml"
RULES = ROOT / "sample_traces" / "alerts.yaml"
EVERY_CHART = {
    "calls_over_time",
    "error_rate_by_tool",
    "latency_by_tool",
    "tool_errors_over_time",
    "errors_by_class_over_time",
    "cost_split",
    "cost_by_tool",
    "cost_by_server",
    "cost_by_model",
    "cost_by_session",
    "arguments_by_tool",
    "latency_p95_ms_by_in_flight",
    "error_rate_by_in_flight",
}
ARGUMENTS = ROOT / "tests" / "data" / "arguments"


def agent_report(store: Store) -> Report:
    """The report of the bundled agent sample, priced and checked against its rules, as the README shows it."""
    load(store, [str(AGENT)])
    cost = CostOptions(load_prices(PRICES))
    outcome = check_alerts(load_rules(RULES), Figures(store, cost))
    return build_report(store, Query(), cost, outcome)


def _matches_golden(name: str, document: Any) -> None:
    path = GOLDEN / name
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("MCPOBS_UPDATE_GOLDENS"):
        path.write_text(text)
    assert text == path.read_text()


def test_the_data_behind_each_chart_of_the_agent_sample(store: Store) -> None:
    made = {chart.id: chart.data for chart in charts(agent_report(store))}
    assert EVERY_CHART | {"slow_trace_1", "failing_trace_1"} <= set(made)
    _matches_golden("report.agent_cost_session.json", made)


def test_the_data_behind_each_chart_of_the_quick_start_sample(store: Store) -> None:
    load(store, [str(SAMPLE)])
    made = {chart.id: chart.data for chart in charts(build_report(store, Query()))}
    # no LLM calls and no prices: no cost to draw, and the page says so instead
    assert not any(name.startswith("cost") for name in made)
    assert {"calls_over_time", "latency_by_tool", "errors_by_class_over_time", "failing_trace_1"} <= set(made)
    _matches_golden("report.mcp_agent_session.json", made)


def test_the_tables_are_analyze_s_sections(store: Store) -> None:
    report = agent_report(store)
    again = analyze(store, Query(views=("calls", "errors", "cost", "call_cost")), CostOptions(load_prices(PRICES)))
    for name in ("calls", "errors", "cost", "call_cost"):
        assert report.analysis.table(name) == again.table(name)
    overview = analyze(store, Query(by=(), views=("calls",))).table("calls")
    assert report.overview == overview
    # the error rate chart draws the numbers of analyze's rows
    rates = {(r["tool"], r["side"]): r["error_rate"] for r in again.table("calls").records()}
    drawn = next(c for c in charts(report) if c.id == "error_rate_by_tool").data
    assert {(d["tool"], d["side"]): d["error_rate"] for d in drawn} == rates


def test_the_argument_tables_are_analyze_s_sections(store: Store) -> None:
    """Recordings of a real client sending invalid arguments (tests/data/arguments): the report's argument
    figures are analyze's, per tool, and its listings analyze's first invalid calls."""
    load(store, [str(ARGUMENTS / "time.log.jsonl"), str(ARGUMENTS / "structured.log.jsonl")])
    report = build_report(store, Query(), limits=Limits(invalid=2))
    views = ("arguments", "invalid_arguments", "invalid_results")
    again = analyze(store, Query(views=views))
    assert report.arguments == again.table("arguments")
    every = again.table("invalid_arguments")
    assert len(every.rows) == 6
    assert report.invalid_arguments.rows == every.rows[:2]
    assert report.invalid_results == again.table("invalid_results")
    assert "The first 2 of 6 tool calls with invalid arguments are listed." in report.notes
    tree = lxml_html.fromstring(render_html(report))
    section = tree.xpath('//section[@id="arguments"]')[0]
    captions = [c.text_content() for c in section.xpath(".//caption")]
    assert "Tool calls with invalid arguments (the first 2 of 6)" in captions
    assert "Tool calls with invalid results (1)" in captions
    errors = section.xpath('.//table[@data-table="invalid_arguments"]/tbody/tr/td[6]')
    assert [e.text_content() for e in errors] == [
        "$.timezone: 5 is not of type 'string'",
        "$: 'timezone' is a required property",
    ]
    # the chart counts each tool's calls once, by what their arguments came to
    [chart] = [c for c in charts(report) if c.id == "arguments_by_tool"]
    drawn = {(d["tool"], d["arguments"]): d["calls"] for d in chart.data}
    assert drawn == {
        ("get_current_time", "invalid"): 3,
        ("get_current_time", "valid"): 3,
        ("convert_time", "invalid"): 2,
        ("convert_time", "valid"): 1,
        ("forecast", "invalid"): 1,
        ("forecast", "valid"): 1,
        ("forecast_legacy", "valid"): 1,
    }


def test_arguments_not_recorded_read_not_checked_never_zero_problems(store: Store) -> None:
    # the agent sample's traces hold no arguments: its tools' invalid figures are no 0 and no 0%
    report = agent_report(store)
    assert report.arguments.rows
    assert all(r["arguments_recorded"] == 0 for r in report.arguments.records())
    assert any("no arguments recorded" in note for note in report.argument_notes)
    tree = lxml_html.fromstring(render_html(report))
    section = tree.xpath('//section[@id="arguments"]')[0]
    table = section.xpath('.//table[@data-table="arguments"]')[0]
    heads = [h.text_content() for h in table.xpath(".//th")]
    for header in ("invalid", "invalid %", "res. invalid", "res. invalid %"):
        at = heads.index(header) + 1
        assert {c.text_content() for c in table.xpath(f"./tbody/tr/td[{at}]")} == {"not checked"}, header
    assert "no arguments recorded" in section.xpath('string(.//div[@data-notes="arguments"])')
    for listing, what in (("invalid_arguments", "arguments"), ("invalid_results", "results")):
        caption = section.xpath(f'string(.//table[@data-table="{listing}"]/caption)')
        assert caption == f"Tool calls with invalid {what} (none checked)"
        assert section.xpath(f'string(.//table[@data-table="{listing}"]//td)') == f"no {what} checked"
    [chart] = [c for c in charts(report) if c.id == "arguments_by_tool"]
    assert {d["arguments"] for d in chart.data} == {"not recorded"}


def test_the_decisions_per_model_are_cost_s(store: Store) -> None:
    """Traces of real instrumentation with tool-call ids (tests/data/decisions): the report's table of
    decisions per model is the decisions view of mcpobs cost, failed ones and their cost included."""
    load(store, [str(ROOT / "tests" / "data" / "decisions" / "decisions.jsonl")])
    report = build_report(store, Query(), CostOptions())
    again = analyze(store, Query(views=("decisions",)), CostOptions())
    assert report.analysis.table("decisions") == again.table("decisions")
    records = again.table("decisions").records()
    assert sum(r["tool_calls_requested"] for r in records) > 0
    assert sum(r["failed_tool_calls"] for r in records) > 0
    tree = lxml_html.fromstring(render_html(report))
    table = tree.xpath('//section[@id="cost"]//table[@data-table="decisions"]')[0]
    heads = [h.text_content() for h in table.xpath(".//th")]
    assert {"model", "requested", "failed", "failed $"} <= set(heads)
    assert len(table.xpath("./tbody/tr")) == len(records)


def test_the_cascade_of_the_sample_s_failing_trace(store: Store) -> None:
    report = agent_report(store)
    [failing] = [v for v in report.failing if v.trace_id == "7d2500dfdedbefb9a7db137bb7336528"]
    cascade = [(r["name"], r["relation"], r["follows"]) for r in failing.cascade.records()]
    assert cascade == [
        ("tools/call read_file", "first", None),
        ("execute_tool read_file", "caller of", 1),
        # the server rejected run_query's arguments: no failure of the server, so the client's span is first
        ("MCP send tools/call run_query", "first", None),
        ("execute_tool run_query", "caller of", 3),
    ]


def test_page_embeds_each_chart_with_its_data(store: Store) -> None:
    report = agent_report(store)
    page = render_html(report)
    tree = lxml_html.fromstring(page)
    embedded = {
        element.get("data-chart"): json.loads(element.text)
        for element in tree.xpath('//script[@type="application/json"]')
    }
    made = charts(report)
    assert set(embedded) == {c.id for c in made}
    for chart in made:
        assert embedded[chart.id]["data"]["values"] == chart.data
        assert tree.xpath(f'//div[@id="chart-{chart.id}"]')
    # fired alerts in the overview, as check-alerts words them
    # the server's error_rate is its own failures: its rejected -32602 no longer fires the 5% rule
    summary = "5 rules, 15 checks, 2 fired, 1 without a verdict: passed (--fail-on warning)"
    assert tree.xpath('string(//p[@class="summary"])') == summary
    # every group that fired or has no verdict is listed, with why, in check-alerts' order
    rows = [[cell.text_content() for cell in row] for row in tree.xpath('//table[@data-table="alerts"]/tbody/tr')]
    assert [row[0] for row in rows] == ["fired", "fired", "no verdict"]
    assert rows[2][2:] == [
        "Slow tools",
        "client · tool summarize_repo",
        "latency_p95_ms 245.096 ms",
        "1 call, fewer than min_calls 2",
    ]


def test_the_overview_shows_the_total_cost_once(store: Store) -> None:
    # the client and server cards each showing $0.03221 read as $0.06442 spent
    report = agent_report(store)
    tree = lxml_html.fromstring(render_html(report))
    totals = {r["side"]: r["total_cost"] for r in report.analysis.table("cost").records()}
    assert len(set(totals.values())) == 1
    cost = tree.xpath('//section[@id="overview"]//div[@class="kpi"][span="total cost"]/b/text()')
    assert cost == [format_value(totals["client"], Unit.MONEY)]
    assert not tree.xpath('//div[@data-side]//span[contains(., "cost")]')


def test_the_calls_table_shows_rounds_only_where_a_call_took_more_than_one() -> None:
    def headers(path: Path) -> list[str]:
        with Store() as store:
            load(store, [str(path)])
            page = render_html(build_report(store, Query(), None, None))
        return [h.text_content() for h in lxml_html.fromstring(page).xpath('//table[@data-table="calls"]//th')]

    # every call of the sample is one round: rounds would repeat calls
    assert "calls" in headers(SAMPLE)
    assert "rounds" not in headers(SAMPLE)
    # a 2026-07-28 call answered input_required and sent again is one call of several rounds
    assert "rounds" in headers(ROOT / "tests" / "data" / "mrtr" / "stdio-2026.log.jsonl")


def test_a_waterfall_of_one_span_says_1_span(store: Store) -> None:
    load(store, [str(ROOT / "tests" / "data" / "edge" / "edge_spans.jsonl")])
    captions = [c.caption for c in charts(build_report(store, Query())) if c.id.startswith("slow_trace")]
    assert captions
    assert all(caption.endswith(", 1 span") for caption in captions), captions


def test_a_waterfall_links_each_llm_call_to_the_tool_calls_it_asked_for(store: Store) -> None:
    """Traces of real instrumentation with tool-call ids (tests/data/decisions): a guardrail model's
    call sits between each decision and its call, and the link still starts at the decision."""
    load(store, [str(ROOT / "tests" / "data" / "decisions" / "decisions.jsonl")])
    report = build_report(store, Query())
    checked = past_a_guardrail = 0
    for view in report.slowest:
        spans = {r["span_id"]: r for r in view.spans.records()}
        for record in spans.values():
            if record["name"].startswith("MCP send tools/call"):
                asker = spans[record["asked_by"]]
                assert asker["role"] == "llm"
                assert asker["end_ms"] <= record["start_ms"]
                between = [
                    r
                    for r in spans.values()
                    if r["role"] == "llm" and asker["end_ms"] < r["end_ms"] <= record["start_ms"]
                ]
                past_a_guardrail += bool(between)
                checked += 1
            elif record["role"] != "server":
                assert record["asked_by"] is None
    assert checked == 9  # every tool call of the four tasks
    assert past_a_guardrail == 5  # the calls of the two tasks whose guardrail model checked each call
    waterfalls = [c for c in charts(report) if c.id.startswith("slow_trace")]
    linked = [c for c in waterfalls if any(d["asked_by"] for d in c.data)]
    assert len(linked) == len(waterfalls) == 4
    for chart in linked:
        (links,) = [layer for layer in chart.spec["layer"] if layer["mark"]["type"] == "rule"]
        assert links["encoding"]["y"]["field"] == "asked_by"
        labels = {d["label"] for d in chart.data}
        assert all(d["asked_by"] in labels for d in chart.data if d["asked_by"])


def test_a_page_with_nothing_to_cost_says_so_beside_its_0(store: Store) -> None:
    # the quick-start sample has no LLM call and no price file: "$0 total cost" alone read as free
    load(store, [str(SAMPLE)])
    tree = lxml_html.fromstring(render_html(build_report(store, Query())))
    card = tree.xpath('//div[@data-cost="total"]')[0]
    assert card.xpath("string(.//b)") == "$0"
    assert "nothing to cost" in card.xpath('string(.//p[@class="note"])')


def test_page_needs_no_network(store: Store) -> None:
    tree = lxml_html.fromstring(render_html(agent_report(store)))
    for element in tree.xpath("//*[@src or @href]"):
        assert (element.get("href") or "").startswith("#"), lxml_html.tostring(element)
        assert element.get("src") is None
    assert not tree.xpath("//link | //iframe | //img | //object")
    csp = tree.xpath('string(//meta[@http-equiv="Content-Security-Policy"]/@content)')
    assert "default-src 'none'" in csp


USAGE = {"input_tokens": 1000, "output_tokens": 200}
HOSTILE = '</script><script>alert("x")</script><!-- <u>under</u> &amp;'


def test_anything_from_the_input_is_escaped(store: Store, tmp_path: Path) -> None:
    spans = [
        {
            **span(span_id="0000000000000001", name=f"tools/call {HOSTILE}", error_type="tool_error"),
            "status": {"code": 2, "message": HOSTILE},
        },
        span(span_id="0000000000000002", name=f"tools/call {HOSTILE}", start=1_700_000_001_000_000_000),
    ]
    load(store, [str(write_lines(tmp_path / "t.jsonl", [request(spans, service=HOSTILE)]))])
    page = render_html(build_report(store, Query()), title=HOSTILE)
    tree = lxml_html.fromstring(page)
    # exactly the page's own scripts: the two inlined ones and one JSON block per chart
    scripts = tree.xpath("//script")
    assert [s.get("type") for s in scripts if s.get("type") != "application/json"] == [None, None]
    assert "alert(" not in "".join(s.text or "" for s in scripts if s.get("type") != "application/json")
    assert not tree.xpath("//u")
    # the text reads back as written: in the table, in the title, and in the charts' data
    tool_cells = tree.xpath('//table[@data-table="calls"]/tbody/tr/td[2]')
    assert {cell.text_content() for cell in tool_cells} == {HOSTILE}
    assert tree.xpath("string(//title)") == HOSTILE
    messages = tree.xpath('string(//table[@data-table="error_messages"]/tbody/tr/td[5])')
    assert messages == HOSTILE
    data = [json.loads(s.text) for s in scripts if s.get("type") == "application/json"]
    assert any(row.get("tool") == HOSTILE for d in data for row in d["data"]["values"])
    assert any(row.get("message", "").startswith("</script>") for d in data for row in d["data"]["values"])


def test_json_script_escapes_what_html_reads() -> None:
    text = json_script({"a": "</script><!--&\u2028"})
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text) == {"a": "</script><!--&\u2028"}


def test_caps_are_applied_and_said(store: Store, tmp_path: Path) -> None:
    spans = []
    for t in range(8):
        trace = f"{t + 1:032x}"
        spans.append(span(trace=trace, span_id=f"{t + 1:016x}", name=f"tools/call tool{t}", error_type="tool_error"))
        spans[-1]["status"] = {"code": 2, "message": f"message {t}"}
        for i in range(12):
            start = 1_700_000_000_000_000_000 + i
            spans.append(span(trace=trace, span_id=f"{t + 1:08x}{i + 1:08x}", name=f"tools/call tool{t}", start=start))
    load(store, [str(write_lines(tmp_path / "t.jsonl", [request(spans)]))])
    limits = Limits(traces=2, spans=5, tools=3, messages=4, buckets=10)
    report = build_report(store, Query(), limits=limits)
    assert len(report.slowest) == 2
    assert report.traces == 8
    assert len(report.failing) == 2
    assert report.failing_traces == 8
    assert all(len(v.spans.rows) == 5 and v.span_count == 13 for v in report.slowest + report.failing)
    assert len(report.tools) == 3
    assert {r[2] for r in report.tool_timeline.rows} <= set(report.tools)
    assert len(report.messages.rows) == 4
    assert report.message_kinds == 8
    assert len(report.timeline.rows) <= 10
    notes = " ".join(report.notes)
    assert "The charts per tool show the 3 most called of 8 tools." in notes
    assert "The 4 most frequent of 8 different error messages are shown." in notes
    assert "The 2 slowest of 8 traces are shown." in notes
    assert "2 of 8 failing traces are shown" in notes
    assert "5 of its 13 spans are shown" in notes
    page = lxml_html.fromstring(render_html(report))
    assert "The 2 slowest of 8 traces are shown." in page.xpath('string(//div[@class="notes"])')


def test_an_empty_selection_still_makes_a_page(store: Store) -> None:
    load(store, [str(SAMPLE)])
    report = build_report(store, Query(tools=("no-such-tool",)))
    assert charts(report) == []
    tree = lxml_html.fromstring(render_html(report))
    assert "No MCP calls match." in tree.text_content()
    assert not tree.xpath('//script[@type="application/json"]')


def _priced_calls(store: Store, tmp_path: Path, tools: int) -> CostOptions:
    """Each tool called once on each side, in its own session; tool i costs i + 1 cents a call."""
    spans = []
    for i in range(tools):
        trace, start = f"{i + 1:032x}", 1_700_000_000_000_000_000 + i * 10**9
        for kind, n in ((3, 1), (2, 2)):
            attributes = {"mcp.session.id": f"s{i:02d}"}
            spans.append(
                span(trace=trace, span_id=f"{i + 1:08x}{n:08x}", name=f"tools/call t{i:02d}", kind=kind, start=start)
            )
            spans[-1]["attributes"].append(
                {"key": "mcp.session.id", "value": {"stringValue": attributes["mcp.session.id"]}}
            )
    load(store, [str(write_lines(tmp_path / "t.jsonl", [request(spans)]))])
    prices = tmp_path / "prices.yaml"
    prices.write_text("tools:\n" + "".join(f"  t{i:02d}: {(i + 1) / 100}\n" for i in range(tools)))
    return CostOptions(load_prices(prices))


def test_cost_charts_keep_the_costliest_groups_whole_and_say_so(store: Store, tmp_path: Path) -> None:
    cost = _priced_calls(store, tmp_path, 12)
    report = build_report(store, Query(), cost, limits=Limits(tools=3, groups=10))
    # the 10 costliest sessions with both their sides, not the 10 costliest rows (5 sessions)
    sessions = [(r["session"], r["side"]) for r in report.cost_by["session"].records()]
    assert sessions == [(f"s{i:02d}", side) for i in range(11, 1, -1) for side in ("client", "server")]
    assert [r["tool"] for r in report.cost_by["tool"].records()] == ["t11", "t11", "t10", "t10", "t09", "t09"]
    assert report.cost_groups["session"] == report.cost_groups["tool"] == 12
    assert "The cost chart by session shows the 10 costliest of 12 sessions." in report.notes
    assert "The cost chart by tool shows the 3 costliest of 12 tools." in report.notes
    made = {chart.id: chart for chart in charts(report)}
    chart = made["cost_by_session"]
    assert [(row["group"], row["rank"]) for row in chart.data][:4] == [("s11", 0), ("s11", 0), ("s10", 1), ("s10", 1)]
    assert chart.caption.startswith("the 10 costliest of 12 sessions; ")
    assert made["cost_by_tool"].caption.startswith("the 3 costliest of 12 tools; ")
    # the page's table of tool cost still holds every tool
    page = lxml_html.fromstring(render_html(report))
    assert len(page.xpath('//table[@data-table="call_cost"]/tbody/tr')) == 24


def test_names_are_ordered_by_rank_never_listed_in_a_spec(store: Store, tmp_path: Path) -> None:
    # Vega-Lite compiles a sort given as a list of names into an expression, where U+2028 ends a line
    cost = _priced_calls(store, tmp_path, 3)
    report = build_report(store, Query(), cost)
    for chart in charts(report):
        for found in _sorts(chart.spec):
            assert found in ({"field": "rank", "op": "min"}, {"field": "row", "op": "min"}), (chart.id, found)
        for row in chart.data:
            if "tool" in row:  # the most called first
                assert row["rank"] == report.tools.index(row["tool"]), chart.id
            elif "group" in row:  # the costliest first, as the report holds them
                groups = list(dict.fromkeys(str(r[chart.id[8:]]) for r in report.cost_by[chart.id[8:]].records()))
                assert row["rank"] == groups.index(row["group"]), chart.id


def _sorts(spec: Any) -> list[Any]:
    if isinstance(spec, dict):
        return [v for k, v in spec.items() if k == "sort"] + [s for v in spec.values() for s in _sorts(v)]
    if isinstance(spec, list):
        return [s for v in spec for s in _sorts(v)]
    return []


def test_inference_cost_without_mcp_calls_is_drawn_as_all(store: Store, tmp_path: Path) -> None:
    llm = [
        llm_span(span_id=f"{i + 1:016x}", start=1_760_000_000_000_000_000 + i * 10**9, usage=USAGE) for i in range(3)
    ]
    load(store, [str(write_lines(tmp_path / "t.jsonl", [request(llm)]))])
    report = build_report(store, Query(), CostOptions())
    assert report.analysis.calls == 0
    [split] = [c for c in charts(report) if c.id == "cost_split"]
    assert {row["side"] for row in split.data} == {"all"}
    assert split.spec["encoding"]["y"]["scale"]["domain"] == ["all"]
    assert sum(row["cost"] for row in split.data) > 0


def test_control_characters_never_reach_the_page(store: Store, tmp_path: Path) -> None:
    name = "bell\x07esc\x1b[31mnul\x00del\x7fc1\x9bend\u202egnp.exe"
    spans = [
        {**span(span_id="0000000000000001", name=f"tools/call {name}", error_type="tool_error"),
         "status": {"code": 2, "message": "line one\nline two\x1b[0m\ttabbed"}},
    ]  # fmt: skip
    load(store, [str(write_lines(tmp_path / "t.jsonl", [request(spans, service=name)]))])
    page = render_html(build_report(store, Query()), title=name)
    outside = re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL)  # Vega's own code holds some
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", outside)
    tree = lxml_html.fromstring(page)
    assert tree.xpath('string(//table[@data-table="calls"]/tbody/tr/td[2])') == (
        "bell\ufffdesc\ufffd[31mnul\ufffddel\ufffdc1\ufffdend\ufffdgnp.exe"
    )
    message = tree.xpath('string(//table[@data-table="error_messages"]/tbody/tr/td[5])')
    assert message == "line one\nline two\ufffd[0m\ttabbed"
    # in the charts' data the names are as they were (the JSON escapes what it must)
    data = [json.loads(s.text) for s in tree.xpath('//script[@type="application/json"]')]
    assert any(row.get("tool") == name for d in data for row in d["data"]["values"])


def test_a_deep_span_says_its_depth_and_the_legend_is_clear_of_the_marks(store: Store, tmp_path: Path) -> None:
    spans = [
        span(span_id=f"{i + 1:016x}", parent=f"{i:016x}" if i else "", name="tools/call t", error_type="tool_error")
        for i in range(20)
    ]
    load(store, [str(write_lines(tmp_path / "t.jsonl", [request(spans)]))])
    [chart] = [c for c in charts(build_report(store, Query())) if c.id == "failing_trace_1"]
    labels = [row["label"] for row in chart.data]
    assert labels[2] == "  3 · · tools/call t"
    assert labels[12] == " 13 " + "· " * 12 + "tools/call t"
    assert labels[13] == " 14 [depth 13] tools/call t"
    bars = chart.spec["layer"][0]
    # the failures' marks run right of their spans, where a legend at the right would be drawn
    assert bars["encoding"]["color"]["legend"]["orient"] == "top"


def test_bidirectional_overrides_never_reach_a_terminal() -> None:
    from mcpobs.render.text import visible

    assert visible("invoice\u202egnp.exe\u2066x\u2069") == "invoice\ufffdgnp.exe\ufffdx\ufffd"


def test_time_axes_step_at_round_intervals() -> None:
    from mcpobs.render.charts import time_step

    second = 10**9
    assert time_step(4 * second) == ("milliseconds", 500)
    assert time_step(7 * second) == ("seconds", 1)
    assert time_step(40 * 60 * second) == ("minutes", 5)
    assert time_step(3 * 86_400 * second) == ("hours", 12)
    assert time_step(90 * 86_400 * second) == ("day", 14)


def test_the_vega_bundle_is_built_once_then_read_from_the_cache(tmp_path: Path, monkeypatch: Any) -> None:
    """vl-convert takes seconds to bundle Vega; the bundle is kept under XDG_CACHE_HOME and read back."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cached = bundle_cache_path()
    assert cached.is_relative_to(tmp_path / "mcpobs")
    vega_bundle.cache_clear()
    try:
        built = vega_bundle()
        assert "vegaEmbed" in built
        assert "</script" not in built.lower()
        assert cached.read_text(encoding="utf-8") == built
        # what the next process finds there is what it inlines: the file is read, not the bundle rebuilt
        cached.write_text("/* kept */", encoding="utf-8")
        vega_bundle.cache_clear()
        assert vega_bundle() == "/* kept */"
    finally:
        vega_bundle.cache_clear()
