"""What people see at any width: stderr lines whole when piped, tables that keep every column."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from mcpobs.analysis import CALL_VIEWS, COST_VIEWS, Query, analyze
from mcpobs.analysis.model import Table, Unit
from mcpobs.cli import app
from mcpobs.cost import CostOptions, load_prices
from mcpobs.render.text import format_value, render_table, turned, visible
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
        (AGENT, Query(views=COST_VIEWS), CostOptions(load_prices(PRICES), "task.value")),
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


def _parse(text: str, labelled: bool = True) -> list[tuple[str, str, list[str], str]]:
    """The blocks of one printed section: title, header line, the lines that start a row, caption."""
    lines = text.splitlines()
    blocks = []
    for n, line in enumerate(lines):
        if line.strip() and set(line.strip()) == {"─"}:
            body = lines[n + 1 :]
            end = next((k for k, row in enumerate(body) if not row.strip()), len(body))
            after = [row.strip() for row in body[end:] if row.strip()]
            caption = after[0] if after and after[0] and not after[0].startswith(lines[n - 3].strip()) else ""
            # a row starts where its first label does; a line of words wrapped beside the labels does not
            starts = [row for row in body[:end] if (row[:2] if labelled else row).strip()]
            blocks.append((lines[n - 3].strip(), lines[n - 1], starts, caption))
    return blocks


@pytest.mark.parametrize("width", [80, 120, 160])
def test_every_section_keeps_its_labels_and_every_column_at_any_width(width: int) -> None:
    sections = _sections(width)
    assert {table.name for table, _ in sections} >= {*CALL_VIEWS, *COST_VIEWS}
    for table, text in sections:
        assert max(cell_len(line) for line in text.splitlines()) <= width, (table.name, text)
        shown = turned(table) if table.vertical and table.rows else table
        columns = [c for i, c in enumerate(shown.columns) if any(row[i] is not None for row in shown.rows)]
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
