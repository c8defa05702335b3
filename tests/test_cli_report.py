"""mcpobs report and analyze --view dashboard through the CLI: what goes to stdout, stderr,
and the exit status; the dashboard fits 80 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from rich.console import Console
from typer.testing import CliRunner

from mcpobs.analysis import Query
from mcpobs.analysis.model import Unit
from mcpobs.cli import app
from mcpobs.cost import CostOptions, load_prices
from mcpobs.ingest import load
from mcpobs.render.dashboard import render_dashboard, sparkline
from mcpobs.render.text import format_value
from mcpobs.report import build_report
from mcpobs.store import Store
from tests.conftest import ROOT, SAMPLE, llm_span, request, span, write_lines

AGENT = str(ROOT / "sample_traces" / "agent_cost_session.jsonl")
PRICES = str(ROOT / "sample_traces" / "prices.yaml")
RULES = str(ROOT / "sample_traces" / "alerts.yaml")


def test_report_writes_the_page_and_says_so_on_stderr(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    args = ["report", AGENT, "--prices", PRICES, "--rules", RULES, "--html", str(target), "--title", "Agent <run>"]
    result = runner.invoke(app, args)
    # a rule fired, and the page shows it; gating is check-alerts' job, so the status is 0
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "mcpobs: loaded 70 spans from 1 file"
    size = target.stat().st_size / 1e6
    assert lines[-1] == f"mcpobs: wrote {target} ({size:.1f} MB): 40 calls, 5 trace waterfalls, 2 alerts fired"
    tree = lxml_html.fromstring(target.read_text())
    assert tree.xpath("string(//h1)") == "Agent <run>"
    assert "2 fired" in tree.xpath('string(//p[@class="summary"])')


def test_report_of_an_http_recording_lists_its_invalid_arguments(runner: CliRunner, tmp_path: Path) -> None:
    # a real client's invalid arguments to server-everything over Streamable HTTP (tests/data/arguments)
    log = ROOT / "tests" / "data" / "arguments" / "everything-http.log.jsonl"
    target = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(log), "--tool", "get-sum", "--html", str(target)])
    assert result.exit_code == 0, result.stderr
    section = lxml_html.fromstring(target.read_text()).xpath('//section[@id="arguments"]')[0]
    errors = section.xpath('.//table[@data-table="invalid_arguments"]/tbody/tr/td[6]')
    # --tool filters the arguments as it filters the calls
    assert [e.text_content() for e in errors] == [
        "$.a: '2' is not of type 'number'",
        "$: 'b' is a required property",
        "$: 'a' is a required property",
    ]
    assert section.xpath('string(.//table[@data-table="invalid_arguments"]/caption)').endswith("(3)")


def test_report_to_stdout(runner: CliRunner) -> None:
    result = runner.invoke(app, ["report", str(SAMPLE), "--html", "-"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert result.stderr.splitlines()[-1].startswith("mcpobs: wrote stdout (")
    assert "alerts fired" not in result.stderr


def test_report_filters_like_analyze(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "r.html"
    result = runner.invoke(
        app, ["report", str(SAMPLE), "--tool", "read_file", "--side", "server", "--html", str(target)]
    )
    assert result.exit_code == 0, result.stderr
    tree = lxml_html.fromstring(target.read_text())
    cells = tree.xpath('//table[@data-table="calls"]/tbody/tr/td[position() <= 3]/descendant-or-self::*/text()')
    assert cells == ["server", "read_file", "8"]


FILTERED_RULES = """
alerts:
  - name: errors
    condition: "error_rate > 0.05"
  - name: tool errors
    condition: "error_rate > 0.05"
    scope: tool
  - name: worse than before
    condition: "error_rate > baseline.error_rate + 0.1"
"""


@pytest.mark.parametrize(
    ("filters", "fired"),
    [
        # the sample's errors: client run_query and generate_report; server read_file, book_hotel, get_forecast
        ([], 7),
        (["--tool", "search_docs"], 0),
        (["--where", 'tool == "read_file"'], 2),
        (["--tool", "read_file,run_query", "--side", "client"], 2),
        (["--server", "toolbox-server", "--side", "server"], 4),
        (["--server", "another-server"], 0),
    ],
)
def test_report_checks_its_rules_over_the_calls_its_filters_select_as_check_alerts_does(
    runner: CliRunner, tmp_path: Path, filters: list[str], fired: int
) -> None:
    # a page of one tool without errors said the rules over every tool fired
    rules = tmp_path / "rules.yaml"
    rules.write_text(FILTERED_RULES)
    given = [str(SAMPLE), "--rules", str(rules), "--baseline", str(SAMPLE), *filters]
    page = tmp_path / "report.html"
    report = runner.invoke(app, ["report", *given, "--html", str(page)])
    assert report.exit_code == 0, report.stderr
    assert report.stderr.strip().endswith(f" {fired} alert{'s' if fired != 1 else ''} fired"), report.stderr
    check = runner.invoke(app, ["check-alerts", *given, "--format", "json"])
    assert check.exit_code == (1 if fired else 0), check.stderr
    verdicts = json.loads(check.stdout)["verdicts"]
    # the baseline's calls are narrowed as the run's: the sample against itself is never worse
    assert [v["rule"] for v in verdicts if v["status"] == "fired"].count("worse than before") == 0
    assert sum(v["status"] == "fired" for v in verdicts) == fired
    shown = lxml_html.fromstring(page.read_text()).xpath('string(//p[@class="summary"])')
    assert f"{fired} fired" in shown


def test_check_alerts_refuses_a_filter_it_cannot_apply(runner: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(FILTERED_RULES)
    for args, message in (
        (["--where", "tol == 'x'"], "--where: column 1: unknown field 'tol'"),
        (["--side", "both"], "side 'both' is neither client nor server"),
    ):
        result = runner.invoke(app, ["check-alerts", AGENT, "--rules", str(rules), "--baseline", AGENT, *args])
        assert result.exit_code == 2
        assert result.stderr.startswith(f"mcpobs: error: {message}"), result.stderr
        assert "loaded" not in result.stderr


def test_broken_rules_are_reported_as_check_alerts_reports_them(runner: CliRunner, tmp_path: Path) -> None:
    rules = tmp_path / "alerts.yaml"
    rules.write_text("alerts:\n  - name: a\n    condition: eror_rate > 1\n    severity: high\n")
    target = tmp_path / "r.html"
    report = runner.invoke(app, ["report", AGENT, "--rules", str(rules), "--html", str(target)])
    check = runner.invoke(app, ["check-alerts", AGENT, "--rules", str(rules)])
    assert report.exit_code == check.exit_code == 2
    assert report.stderr == check.stderr
    assert "eror_rate" in report.stderr
    assert "loaded" not in report.stderr
    assert not target.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([AGENT], "name the page to write with --html PATH"),
        (["--html", "x.html"], "name the trace files to report on"),
        ([AGENT, "--html", "x.html", "--baseline", AGENT], "--baseline is for the rules' baseline.* metrics"),
        ([AGENT, "--html", "x.html", "--where", "tol == 'x'"], "--where: column 1: unknown field 'tol'"),
    ],
)
def test_report_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["report", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mcpobs: error: {message}")


def test_report_unreadable_input_exits_3(runner: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text("{not json\n")
    result = runner.invoke(app, ["report", str(broken), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 3
    assert result.stderr.startswith(f"mcpobs: error: {broken}:1:")


@pytest.mark.parametrize(
    ("name", "problem"), [("no-such-dir/r.html", "No such file or directory"), (".", "Is a directory")]
)
def test_report_unwritable_page_exits_2_before_loading(
    runner: CliRunner, tmp_path: Path, name: str, problem: str
) -> None:
    target = tmp_path / name
    result = runner.invoke(app, ["report", str(SAMPLE), "--html", str(target)])
    assert result.exit_code == 2
    # said at once, not after loading and analysing every file
    assert result.stderr == f"mcpobs: error: {target}: cannot write: {problem}\n"


def _lines_fit(text: str, width: int) -> None:
    long = [line for line in text.splitlines() if len(line) > width]
    assert not long, "\n".join(long)


@pytest.mark.parametrize("sample", [AGENT, str(SAMPLE)])
def test_dashboard_fits_80_columns(store: Store, sample: str) -> None:
    load(store, [sample])
    report = build_report(store, Query(), CostOptions(load_prices(Path(PRICES))))
    console = Console(width=80, force_terminal=False)
    with console.capture() as captured:
        render_dashboard(report, console)
    text = captured.get()
    _lines_fit(text, 80)
    headings = ("Per side", "Calls and errors over time", "Tools, most called first", "Errors by class")
    for heading in (*headings, "Tool call arguments, most invalid first"):
        assert heading in text
    # the same figures analyze prints, e.g. the client's error rate per tool
    for record in report.analysis.table("calls").records():
        if record["side"] == "client" and record["tool"] in report.tools[:8]:
            assert f"{record['error_rate'] * 100:.1f}%" in text


def test_the_dashboard_shows_the_checked_arguments_and_never_zero_where_none_were(store: Store) -> None:
    arguments = ROOT / "tests" / "data" / "arguments"
    load(store, [str(arguments / "everything-http.log.jsonl"), str(arguments / "time.log.jsonl")])
    console = Console(width=80, force_terminal=False)
    with console.capture() as captured:
        render_dashboard(build_report(store, Query()), console)
    text = captured.get()
    _lines_fit(text, 80)
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("Tool call arguments")))
    rows = {line.split()[0]: line.split()[2:] for line in lines[start + 4 : start + 10]}
    # analyze's figures: calls, checked, invalid, and invalid results, "not checked" without an outputSchema
    assert rows == {
        "get-sum": ["4", "4", "3", "not", "checked"],
        "get_current_time": ["6", "6", "3", "0"],
        "convert_time": ["3", "3", "2", "0"],
        "echo": ["3", "3", "2", "not", "checked"],
        "get-resource-links": ["1", "1", "1", "not", "checked"],
        "get-structured-cont…": ["2", "2", "1", "0"],
    }


def test_the_dashboard_says_why_no_arguments_were_checked(store: Store) -> None:
    load(store, [AGENT])
    report = build_report(store, Query())
    console = Console(width=80, force_terminal=False)
    with console.capture() as captured:
        render_dashboard(report, console)
    section = captured.get().split("Tool call arguments, most invalid first")[1].split("Errors by class")[0]
    # no row of zeros: the tools' calls had no arguments recorded, and the dashboard says so
    assert len(report.tools) == 5
    assert not [line for line in section.splitlines() if line.split()[:1] and line.split()[0] in report.tools]
    said = " ".join(section.split())
    assert "10 tools (per side) not checked; 24 of 24 tool calls have no arguments recorded" in said


def test_the_dashboard_per_side_shows_the_requests_a_server_rejected(store: Store) -> None:
    load(store, [AGENT])
    report = build_report(store, Query(), CostOptions(load_prices(Path(PRICES))))
    console = Console(width=80, force_terminal=False)
    with console.capture() as captured:
        render_dashboard(report, console)
    lines = captured.get().splitlines()
    header = next(line for line in lines if line.split()[:2] == ["side", "calls"])
    server = next(line for line in lines if line.split()[:1] == ["server"]).split()
    rejected = {r["side"]: r["rejected"] for r in report.overview.records()}
    assert rejected["server"] == 1
    assert header.split()[5] == "rejected"
    assert server[4] == "1"


def test_dashboard_through_analyze(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    result = runner.invoke(app, ["analyze", AGENT, "--view", "dashboard", "--prices", PRICES])
    assert result.exit_code == 0, result.stderr
    _lines_fit(result.stdout, 80)
    assert result.stdout.startswith("MCP dashboard\n2026-11-23 12:57:21 to 12:57:25 UTC · 70 spans · 1 source\n")
    lines = result.stdout.splitlines()
    client = next(line for line in lines if line.startswith(" client calls"))
    assert client.split()[2] == "20"
    # the server's -32602 is a rejected request: one error left, and the class table says rejected
    errors = next(line for line in lines if line.startswith(" server errors"))
    assert errors.split()[2] == "1"
    assert any(line.split()[:4] == ["server", "run_query", "-32602", "rejected"] for line in lines)
    assert "█" in errors
    costly = next(line for line in lines if line.startswith(" summarize_repo") and "$" in line)
    assert "$0.01379" in costly
    assert "████" in costly
    assert result.stderr == "mcpobs: loaded 70 spans from 1 file\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--view", "dashboard,calls"], "--view dashboard is shown alone"),
        (["--view", "dashboard", "--by", "server"], "--view dashboard shows tools"),
        (["--view", "dashboard", "--format", "json"], "--view dashboard is drawn for a terminal"),
        # observed: exit 0, the options ignored
        (["--view", "dashboard", "--sort", "errors"], "--sort does not apply to --view dashboard"),
        (["--view", "dashboard", "--top", "3"], "--top does not apply to --view dashboard"),
    ],
)
def test_dashboard_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["analyze", AGENT, *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mcpobs: error: {message}")
    assert "loaded" not in result.stderr


def test_dashboard_output_file(runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "dash.txt"
    result = runner.invoke(app, ["analyze", str(SAMPLE), "--view", "dashboard", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    _lines_fit(target.read_text(), 80)
    assert "Most frequent error messages" in target.read_text()


def test_sparkline() -> None:
    assert sparkline([0, 1, 2, 4]) == " ▂▄█"
    assert sparkline([0, 0]) == "  "
    assert sparkline([]) == ""
    # 10 values into 4 characters: 3 a character, summed
    assert sparkline([1, 1, 1, 0, 0, 0, 0, 0, 0, 3], width=4) == "█  █"


def test_analyze_table_output_file_holds_the_table(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the table format written with --output: the text a 160-column pipe shows, not an empty file
    target = tmp_path / "calls.txt"
    result = runner.invoke(app, ["analyze", str(SAMPLE), "--view", "calls", "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    monkeypatch.setenv("COLUMNS", "160")
    shown = runner.invoke(app, ["analyze", str(SAMPLE), "--view", "calls"]).stdout
    assert target.read_text().split() == shown.split()
    assert "search_docs" in target.read_text()


def _dashboard(store: Store, tmp_path: Path, spans: list[dict[str, Any]], width: int = 80) -> str:
    load(store, [str(write_lines(tmp_path / "t.jsonl", [request(spans)]))])
    console = Console(width=width, force_terminal=False)
    with console.capture() as captured:
        render_dashboard(build_report(store, Query()), console)
    return captured.get()


def test_dashboard_is_80_columns_on_a_wider_terminal(store: Store, tmp_path: Path) -> None:
    long = "x" * 120
    spans = [
        {**span(span_id=f"{i + 1:016x}", name=f"tools/call {long}{i}", error_type="-32603"),
         "status": {"code": 2, "message": f"{long} {i}"}}
        for i in range(3)
    ]  # fmt: skip
    text = _dashboard(store, tmp_path, spans, width=200)
    _lines_fit(text, 80)
    assert "Most frequent error messages" in text
    assert max(len(line) for line in text.splitlines()) > 70  # the long names are there, cut to fit


def test_dashboard_through_analyze_piped_is_80_columns(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # stdout is not a terminal: rich's width is COLUMNS
    result = runner.invoke(app, ["analyze", AGENT, "--view", "dashboard", "--prices", PRICES])
    assert result.exit_code == 0, result.stderr
    _lines_fit(result.stdout, 80)
    assert "Costliest tools" in result.stdout


def test_dashboard_counts_every_tool_left_out(store: Store, tmp_path: Path) -> None:
    # more tools than the report's charts hold (20): the count is of every tool, not of those
    spans = [span(span_id=f"{i + 1:016x}", name=f"tools/call t{i:02d}") for i in range(25)]
    text = _dashboard(store, tmp_path, spans)
    assert "and 17 more tools: mcpobs analyze lists them" in text


def test_dashboard_shows_inference_cost_without_mcp_calls(store: Store, tmp_path: Path) -> None:
    usage = {"input_tokens": 1000, "output_tokens": 200}
    spans = [llm_span(span_id=f"{i + 1:016x}", start=1_760_000_000_000_000_000 + i, usage=usage) for i in range(3)]
    text = _dashboard(store, tmp_path, spans)
    total = build_report(store, Query()).analysis.table("cost").records()[0]["total_cost"]
    assert total > 0
    money = format_value(total, Unit.MONEY)
    row = next(line for line in text.splitlines() if line.startswith(" all "))
    assert row.split() == ["all", "—", "—", "—", "—", "—", "—", money, "3"]
    assert f"no tool calls match; the 3 LLM calls cost {money}" in text
    assert "no cost" not in text


def test_dashboard_shows_control_characters_and_keeps_each_row_one_line(store: Store, tmp_path: Path) -> None:
    spans = [
        {**span(span_id="0000000000000001", name="tools/call two\nlines\x1b[31m", error_type="-32603"),
         "status": {"code": 2, "message": "first\r\nsecond\x07"}},
    ]  # fmt: skip
    text = _dashboard(store, tmp_path, spans)
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f]", text)
    assert " two⏎lines␛[31m " in text
    assert "two⏎lines␛[31m: first⏎second␇" in text
    tools = text.split("Tools, most called first")[1].splitlines()
    assert tools[4].split()[:3] == ["two⏎lines␛[31m", "server", "1"]


def test_dashboard_time_range_across_midnight_says_both_dates(store: Store, tmp_path: Path) -> None:
    midnight = 1_800_057_600_000_000_000  # 2027-01-16 00:00:00 UTC
    spans = [
        span(span_id="0000000000000001", start=midnight - 2 * 10**9),
        span(span_id="0000000000000002", start=midnight + 10**9),
    ]
    text = _dashboard(store, tmp_path, spans)
    assert text.splitlines()[1].startswith("2027-01-15 23:59:58 to 2027-01-16 00:00:01 UTC · 2 spans")


def test_report_to_a_pipe_closed_early_does_not_say_it_wrote(tmp_path: Path) -> None:
    """mcpobs report --html - | head -c 100: the page does not all get written, so no "wrote stdout"."""
    import subprocess
    import sys

    pipeline = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m mcpobs report "{SAMPLE}" --html - | head -c 100 > /dev/null'],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "wrote stdout" not in pipeline.stderr
    assert "Traceback" not in pipeline.stderr
