"""The cost ledger on ClickHouse links tool calls to LLM calls by the span tree as DuckDB's does: two
sub-agents at once in one trace (tests/data/decisions/make_subagents.py), no tool-call ids."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("chdb")

from conftest import Exported
from test_parity import assert_same

from mcpobs.analysis import Query, analyze
from mcpobs.analysis.queries import COST_VIEWS
from mcpobs.clickhouse import ClickHouseTraces, parse
from mcpobs.ingest import load
from mcpobs.store import Store

SUBAGENTS = Path(__file__).resolve().parents[1] / "data" / "decisions" / "subagents.jsonl"
# the sections every call's cost share feeds (decisions is DuckDB's alone yet)
VIEWS = tuple(v for v in COST_VIEWS if v != "decisions")


def test_sub_agents_tool_calls_cost_the_same_on_clickhouse(chdb_dir: Path, exported: Exported) -> None:
    table = exported("subagents", [SUBAGENTS])
    with Store() as store, ClickHouseTraces(parse(f"chdb:{chdb_dir}", table)) as click:
        load(store, [str(SUBAGENTS)])
        for query in (Query(views=VIEWS), Query(by=("tool",), views=("call_cost",))):
            duck, clicked = analyze(store, query), analyze(click, query)
            assert_same(duck, clicked)
        # planner's get_weather carries planner's gpt-4o calls, scout's read_file scout's gpt-4o-mini ones
        cost = {r["tool"]: r["token_cost"] for r in clicked.table("call_cost").records() if r["side"] == "client"}
        assert cost["get_weather"] > 10 * cost["read_file"] > 0
