"""The argument sections on a chDB ``otel_traces`` table filled as the Collector's exporter fills it: each
tool call's arguments (and result) checked in Python against the schemas its server's tools/list answers
advertised, as from the files: the same rows in every section, the same notes, the same alert verdicts.

The data are tests/data/arguments' recordings of real servers (make_arguments.py, make_http.py,
make_redacted.py): invalid arguments and results, no arguments sent, redacted values, 2025 sessions and
2026-07-28 calls without one, stdio and Streamable HTTP.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("chdb")

from conftest import Exported
from test_parity import Both, assert_same, assert_same_verdicts

from mcpobs.analysis import Query, analyze
from mcpobs.analysis.model import Analysis
from mcpobs.analysis.queries import ARGUMENT_VIEWS
from mcpobs.clickhouse import ClickHouseTraces, parse
from mcpobs.ingest import load
from mcpobs.store import Store

DATA = Path(__file__).resolve().parents[1] / "data" / "arguments"
# each recording alone (a file of its own, as the table is one), and the directory: the schema a call is
# checked against is its session's, else its file's; on ClickHouse the table is the one "file"
SETS: dict[str, list[Path]] = {
    **{p.name.removesuffix(".log.jsonl"): [p] for p in sorted(DATA.glob("*.log.jsonl"))},
    "all": [DATA],
}
QUERIES = {
    "by tool": Query(views=ARGUMENT_VIEWS),
    "by server": Query(by=("server",), views=ARGUMENT_VIEWS),
    "by session": Query(by=("session",), views=ARGUMENT_VIEWS),
    "client side, top 2": Query(views=ARGUMENT_VIEWS, side="client", top=2),
}


@pytest.fixture(scope="module")
def pairs(chdb_dir: Path, exported: Exported) -> Iterator[Callable[[str], Both]]:
    built: dict[str, Both] = {}
    with contextlib.ExitStack() as stack:

        def pair(name: str) -> Both:
            if name not in built:
                table = exported(f"arguments_{name}", SETS[name])
                store = stack.enter_context(Store())
                load(store, [str(p) for p in SETS[name]])
                built[name] = Both(store, stack.enter_context(ClickHouseTraces(parse(f"chdb:{chdb_dir}", table))))
            return built[name]

        yield pair


def _notes(analysis: Analysis) -> list[str]:
    # a note on a list answer names where it was read: the file, or the table
    return [re.sub(r"^\S+( \S+)?: a ", "a ", note) for note in analysis.notes]


@pytest.mark.parametrize("data", sorted(SETS))
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_every_argument_section_is_the_same_on_clickhouse(pairs: Callable[[str], Both], data: str, name: str) -> None:
    both = pairs(data)
    duck, click = analyze(both.store, QUERIES[name]), analyze(both.clickhouse, QUERIES[name])
    assert_same(duck, click)
    assert _notes(duck) == _notes(click)


def test_the_sets_hold_every_kind_of_verdict(pairs: Callable[[str], Both]) -> None:
    # the comparisons above are of something: checked calls, invalid arguments and results, redacted
    # values, calls without arguments, on ClickHouse
    seen: dict[str, int] = {}
    notes: list[str] = []
    for data in SETS:
        analysis = analyze(pairs(data).clickhouse, Query(views=ARGUMENT_VIEWS))
        notes += analysis.notes
        for row in analysis.table("arguments").records():
            for key in ("arguments_checked", "invalid_arguments", "results_checked", "invalid_results"):
                seen[key] = seen.get(key, 0) + (row[key] or 0)
        shapes = analysis.table("argument_shapes").records()
        seen["none sent"] = seen.get("none sent", 0) + sum(r["calls"] for r in shapes if r["shape"] == "(none sent)")
    assert len(seen) == 5, seen
    assert all(seen.values()), seen
    assert any("redacted" in note for note in notes), notes


ARGUMENT_RULES = """
alerts:
  - name: invalid arguments
    condition: "invalid_argument_rate > 0.1"
    scope: tool
  - name: invalid results
    condition: "invalid_results > 0"
    scope: server
  - name: recorded
    condition: "arguments_recorded < 1 or invalid_result_rate > 0.5"
"""


@pytest.mark.parametrize("data", sorted(SETS))
def test_argument_alert_verdicts_are_the_same(pairs: Callable[[str], Both], data: str, tmp_path: Path) -> None:
    assert_same_verdicts(pairs(data), ARGUMENT_RULES, tmp_path)


def test_verdicts_sent_in_several_chunks_are_the_same(
    pairs: Callable[[str], Both], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a server reads query parameters from the URL, up to 1 MiB: many calls' verdicts go in chunks
    from mcpobs.clickhouse import arguments

    made: list[str] = []
    temporary = ClickHouseTraces.temporary

    def spied(self: ClickHouseTraces, name: str, sql: str, params: dict[str, object] | None = None) -> None:
        made.append(name)
        temporary(self, name, sql, params)

    monkeypatch.setattr(arguments, "CHUNK_CHARACTERS", 500)
    monkeypatch.setattr(ClickHouseTraces, "temporary", spied)
    both = pairs("all")
    query = QUERIES["by tool"]
    assert_same(analyze(both.store, query), analyze(both.clickhouse, query))
    chunks = [name for name in made if name.startswith("argument_checks_")]
    assert len(chunks) > 10
    assert not set(chunks) & set(both.clickhouse.temporary_tables)


def test_more_tool_calls_than_a_result_may_have_rows_are_read_in_pages(
    pairs: Callable[[str], Both], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the checks read each tool call's own values, no aggregate: a window of more calls than
    # max_result_rows is read a page at a time (it was refused: Limit for result exceeded)
    import mcpobs.clickhouse

    both = pairs("all")
    ((calls,),) = both.clickhouse.run(f"{both.clickhouse.calls_cte} SELECT count() FROM mcp_calls", {})
    assert calls > 3 * 20  # the section's rows (a tool each) are fewer than 20
    monkeypatch.setitem(mcpobs.clickhouse.SETTINGS, "max_result_rows", 20)
    query = Query(views=("arguments",))
    with ClickHouseTraces(both.clickhouse.location) as paged:
        duck, click = analyze(both.store, query), analyze(paged, query)
    assert_same(duck, click)
    assert _notes(duck) == _notes(click)
