"""What people see at any width: stderr lines whole when piped, tables that keep every column."""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from mcpobs.analysis import CALL_VIEWS, COST_VIEWS, Query, analyze
from mcpobs.analysis.model import Table, Unit
from mcpobs.analysis.queries import ARGUMENT_VIEWS
from mcpobs.cli import app
from mcpobs.cost import CostOptions, load_prices
from mcpobs.render.text import fewer_decimals, format_value, render_table, shown_columns, turned, visible
from mcpobs.store import Store
from tests.conftest import ROOT, SAMPLE, request, span, write_lines

AGENT = ROOT / "sample_traces" / "agent_cost_session.jsonl"
PRICES = ROOT / "sample_traces" / "prices.yaml"


def test_stderr_lines_are_never_wrapped_when_not_a_terminal(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a file name longer than the width rich would wrap at, piped: one line each, the name whole
    monkeypatch.setenv("COLUMNS", "80")
    deep = tmp_path / ("a-directory-with-a-long-name-" * 3) / "traces"
    deep.mkdir(parents=True)
    bad = write_lines(deep / "bad.jsonl", [request([span()]), "[1, 2]"])
    result = runner.invoke(app, ["analyze", str(bad), "--skip-invalid", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"mcpobs: skipped {bad}:2: expected a JSON object, got a list",
        "mcpobs: loaded 1 spans from 1 file, 1 invalid lines skipped",
    ]


def _sections(width: int) -> list[tuple[Table, str]]:
    """Every section of analyze and cost on the bundled sessions, and what render_table prints at ``width``."""
    from mcpobs.ingest import load

    found = []
    runs = [
        (SAMPLE, Query(views=CALL_VIEWS), None),
        (SAMPLE, Query(by=("session",), views=("sessions",)), None),
        (SAMPLE, Query(by=("server", "method"), views=("errors",)), None),
        # long session ids beside an error code's meaning: five blocks at 80 columns
        (ROOT / "tests" / "data" / "edge" / "edge_spans.jsonl", Query(by=("session",), views=("errors",)), None),
        (AGENT, Query(views=COST_VIEWS), CostOptions(load_prices(PRICES), "task.value")),
        # errors and arguments as prose beside session ids: a shape, a JSON path, the arguments
        (ROOT / "tests" / "data" / "arguments" / "structured.log.jsonl", Query(views=ARGUMENT_VIEWS), None),
    ]
    for path, query, cost in runs:
        with Store() as store:
            load(store, [str(path)])
            result = analyze(store, query, cost)
        for table in result.tables:
            console = Console(file=io.StringIO(), width=width, force_terminal=False, no_color=True)
            render_table(replace(result, tables=(table,)), console)
            found.append((table, console.file.getvalue()))  # type: ignore[attr-defined]
    return found


def _headers(lines: list[str]) -> str:
    """A block's header lines as one line: a header set on two lines (``p50`` over ``ms``) read as one."""
    cells = [[(m.start(), m.end(), m.group()) for m in re.finditer(r"\S+(?: \S+)*", line)] for line in lines]
    joined = []
    for start, end, text in cells[-1]:
        above = [t for line in cells[:-1] for a, b, t in line if a < end and start < b]
        joined.append(" ".join([*above, text]))
    return "   ".join(joined)


def _parse(text: str, labelled: bool = True) -> list[tuple[str, str, list[str], str]]:
    """The blocks of one printed section: title, header (its lines joined), the lines that start a row, caption."""
    lines = text.splitlines()
    blocks = []
    for n, line in enumerate(lines):
        if line.strip() and set(line.strip()) == {"─"}:
            top = n - 1
            while lines[top - 1].strip():
                top -= 1
            title = lines[top - 2].strip()
            body = lines[n + 1 :]
            end = next((k for k, row in enumerate(body) if not row.strip()), len(body))
            after = [row.strip() for row in body[end:] if row.strip()]
            caption = after[0] if after and after[0] and not after[0].startswith(title) else ""
            # a row starts where its first label does; a line of words wrapped beside the labels does not
            starts = [row for row in body[:end] if (row[:2] if labelled else row).strip()]
            blocks.append((title, _headers(lines[top:n]), starts, caption))
    return blocks


def _records(text: str) -> tuple[str, list[tuple[list[str], dict[str, str]]]]:
    """A listing printed as records: its title, and each record's labels and named fields (a field's
    wrapped lines joined by a space)."""
    lines = [line.rstrip() for line in text.splitlines()]
    records: list[tuple[list[str], dict[str, str]]] = []
    name = ""
    for line in lines[1:]:
        if not line:
            continue
        if not line.startswith("   "):
            records.append((line.strip().split("   "), {}))
        elif line.startswith("   ") and not line[3].isspace():
            name, _, value = line[3:].partition("   ")
            records[-1][1][name] = value.strip()
        else:
            records[-1][1][name] += " " + line.strip()
    return lines[0].strip(), records


def assert_records(table: Table, text: str) -> None:
    """Every row of a listing as a record: its labels whole on one line, every other shown column named below."""
    title, records = _records(text)
    assert title == table.title
    assert len(records) == len(table.rows), text
    shown = [table.columns[i] for i in shown_columns(table)]
    labels = []
    for column in shown:
        if column.unit not in (Unit.TEXT, Unit.TIME) or column.prose:
            break
        labels.append(column)
    for row, (heading, fields) in zip(table.records(), records, strict=True):
        assert heading == [visible(format_value(row[c.name], c.unit)) for c in labels], text
        assert fields == {c.header: visible(format_value(row[c.name], c.unit)) for c in shown if c not in labels}, text


@pytest.mark.parametrize("width", [80, 120, 160])
def test_every_section_keeps_its_labels_and_every_column_at_any_width(width: int) -> None:
    sections = _sections(width)
    assert {table.name for table, _ in sections} >= {*CALL_VIEWS, *ARGUMENT_VIEWS, *COST_VIEWS}
    for table, text in sections:
        assert max(cell_len(line) for line in text.splitlines()) <= width, (table.name, text)
        if table.listing and "─" not in text:
            # a list of calls too wide for one block: a record per call
            assert_records(table, text)
            continue
        shown = turned(table) if table.vertical and table.rows else table
        columns = [shown.columns[i] for i in shown_columns(shown)]
        labels = []
        for column in columns:
            if column.unit not in (Unit.TEXT, Unit.TIME) or column.prose or (shown is not table and labels):
                break
            labels.append(column)
        blocks = _parse(text, labelled=bool(labels))
        assert blocks, text
        assert blocks[0][0] == table.title
        assert all(title == f"{table.title} (continued)" for title, *_ in blocks[1:]), text
        for n, (_, _, starts, caption) in enumerate(blocks):
            assert len(starts) == len(shown.rows), text
            for row, line in zip(shown.rows, starts, strict=True):
                # every label of the row, in order, whole, or cut with … where the caption says so
                cells = [visible(format_value(row[shown.columns.index(c)], c.unit)) for c in labels]
                pattern = r"\s+".join(
                    re.escape(cell)
                    if "names cut" not in caption
                    else f"(?:{re.escape(cell)}|{re.escape(cell[:8])}\\S*…)"
                    for cell in cells
                )
                assert re.match(r"\s*" + pattern + r"(\s|$)", line), (table.name, line, cells)
            assert ("more column" in caption) == (n < len(blocks) - 1), text
            # the caption on one line, however narrow the block
            assert caption.endswith("below") == (n < len(blocks) - 1), text
        headers = " ".join(header for _, header, _, _ in blocks)
        for column in columns if shown is table else columns[:1]:
            assert f" {column.header} " in f" {headers} ", (table.name, column.header, text)


def test_call_cost_written_to_a_file_keeps_side_and_tool(runner: CliRunner, tmp_path: Path) -> None:
    # the report that found it: 160 columns, the side and tool columns gone, rows without a name
    target = tmp_path / "cost.txt"
    args = ["cost", str(AGENT), "--prices", str(PRICES), "--view", "call_cost", "--output", str(target)]
    assert runner.invoke(app, args).exit_code == 0
    text = target.read_text()
    blocks = _parse(text)
    for _, header, starts, _ in blocks:
        assert header.split()[:2] == ["side", "tool"], text
        assert all(line.split()[0] in ("client", "server") for line in starts), text
    assert {"calls", "$/call", "tok/call"} <= set(" ".join(h for _, h, _, _ in blocks).split())


def test_the_alert_rules_table_keeps_each_rule_name_whole_at_80_columns(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    rules = ROOT / "sample_traces" / "alerts.yaml"
    result = runner.invoke(app, ["check-alerts", str(AGENT), "--rules", str(rules), "--prices", str(PRICES)])
    table = result.stdout.split("Fired, and without a verdict")[0]
    assert max(cell_len(line) for line in table.splitlines()) <= 80, table
    names = ["MCP Tool Call Error Rate", "MCP Token Cost", "MCP Session Recovery", "Slow tools", "Costly sessions"]
    blocks = _parse(table)
    for _, _, starts, _ in blocks:
        assert [line[1:].split("   ")[0] for line in starts] == names, table
    headers = " ".join(header for _, header, _, _ in blocks)
    for header in ("rule", "severity", "scope", "condition", "checked", "fired", "no verdict", "result"):
        assert f" {header} " in f" {headers} ", table


def _printed(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, width: int, *args: str) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_figures_get_shorter_headers_and_fewer_decimals_before_a_further_block(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sample's calls at 80 columns took three blocks: with headers on two lines and figures
    # rounded (1,168 for 1,168.2 ms, 50% for 50.0%) they take two, and the caption says so
    text = _printed(runner, monkeypatch, 80, "analyze", str(SAMPLE), "--view", "calls")
    blocks = _parse(text)
    assert len(blocks) == 2, text
    assert all("figures rounded to fit" in caption for *_, caption in blocks), text
    rows = [line.split() for _, _, starts, _ in blocks for line in starts]
    assert ["client", "generate_report", "2", "1", "50%", "0", "0%", "50%"] in rows, text
    assert ["client", "generate_report", "806", "1,128", "1,168", "1,200", "1,208", "—", "—"] in rows, text
    # with room, every figure keeps its decimal and its header one line
    wide = _printed(runner, monkeypatch, 160, "analyze", str(SAMPLE), "--view", "calls")
    assert len(_parse(wide)) == 1, wide
    assert "rounded" not in wide
    assert " 1,168.2 " in wide
    assert " p95 ms " in wide


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.995, Unit.RATE, "99.5%"),  # not 100%: a call failed
        (0.004, Unit.RATE, "0.4%"),  # not 0%: a call failed
        (0.073, Unit.RATE, "7.3%"),
        (0.05, Unit.RATE, "5%"),
        (0.333, Unit.RATE, "33%"),
        (1.0, Unit.RATE, "100%"),
        (1168.17, Unit.MS, "1,168"),
        (37.46, Unit.MS, "37.5"),
        (3849.5, Unit.COUNT, "3,850"),
    ],
)
def test_fewer_decimals_keep_the_sense_of_a_figure(value: float, unit: Unit, shown: str) -> None:
    assert fewer_decimals(value, unit) == shown


@pytest.mark.parametrize(
    ("rate", "shown"), [(0.0, "0.0%"), (0.0004, "<0.1%"), (0.0006, "0.1%"), (0.9996, ">99.9%"), (1.0, "100.0%")]
)
def test_a_rate_near_none_or_all_never_reads_as_none_or_all(rate: float, shown: str) -> None:
    # 1 failed call in 2,500 printed 0.0%, as if none had failed
    assert format_value(rate, Unit.RATE) == shown
    assert fewer_decimals(rate, Unit.RATE) in (shown, shown.replace(".0%", "%"))


def test_the_meaning_of_an_error_code_goes_after_the_figures_when_that_saves_a_block(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # it came first and wrapped in four lines, pushing the figures into two more blocks
    text = _printed(runner, monkeypatch, 80, "analyze", str(SAMPLE), "--view", "errors")
    blocks = _parse(text)
    assert len(blocks) == 2, text
    assert blocks[0][1].split("   ")[3:] == ["rejected", "errors", "error %"], text
    assert "meaning" in blocks[1][1], text


def test_rounds_is_shown_only_where_a_call_took_more_than_one_round(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # in the sample every call is one round: the column would only repeat calls
    text = _printed(runner, monkeypatch, 200, "analyze", str(SAMPLE), "--view", "calls")
    assert "calls" in text
    assert "rounds" not in text
    # programs get the same columns whatever the data
    csv_head = _printed(runner, monkeypatch, 200, "analyze", str(SAMPLE), "--format", "csv").splitlines()[0]
    assert "rounds" in csv_head.split(",")
    document = json.loads(_printed(runner, monkeypatch, 200, "analyze", str(SAMPLE), "--format", "json"))
    assert all(row["rounds"] == row["calls"] for row in document["calls"])
    # a 2026-07-28 call the server answered input_required took several: shown, for every row
    mrtr = ROOT / "tests" / "data" / "mrtr" / "stdio-2026.log.jsonl"
    text = _printed(runner, monkeypatch, 200, "analyze", str(mrtr), "--view", "calls")
    header, *_ = (h for _, h, _, _ in _parse(text))
    columns = header.split("   ")
    rows = {line.split()[1]: line.split() for _, _, starts, _ in _parse(text) for line in starts}
    at = columns.index("rounds")
    assert rows["book"][columns.index("calls")] == "2"
    assert rows["book"][at] == "4"
    assert rows["echo"][at] == "1"


def test_invalid_arguments_at_80_columns_read_as_a_record_per_call(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # observed: four blocks of the same five rows (the sessions alone, then the times, the errors,
    # the arguments), each call matched across them by its place alone
    time_log = ROOT / "tests" / "data" / "arguments" / "time.log.jsonl"
    text = _printed(runner, monkeypatch, 80, "analyze", str(time_log), "--view", "invalid_arguments")
    with Store() as store:
        from mcpobs.ingest import load

        load(store, [str(time_log)])
        table = analyze(store, Query(views=("invalid_arguments",))).table("invalid_arguments")
    assert len(table.rows) == 5
    assert max(cell_len(line) for line in text.splitlines()) <= 80, text
    assert_records(table, text)
    # with room for one block, the table as it was
    wide = _printed(runner, monkeypatch, 240, "analyze", str(time_log), "--view", "invalid_arguments")
    ((title, header, starts, _),) = _parse(wide)
    assert (title, len(starts)) == (table.title, 5)
    assert header.split()[:4] == ["side", "server", "tool", "session"]
