"""The report's cost charts by server, model and session rank their groups in SQL: only the charted
groups' rows leave ClickHouse (one row per session of millions exceeded max_result_rows), and they are
the groups the files' report charts.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("chdb")

from conftest import Exported
from test_parity import assert_same_table

import mcpobs.clickhouse
from mcpobs.analysis import Query, analyze
from mcpobs.analysis.cost import call_cost, costliest_groups
from mcpobs.analysis.sql import Calls, filters
from mcpobs.clickhouse import ClickHouseTraces, parse
from mcpobs.cost import CostOptions, load_prices
from mcpobs.ingest import load
from mcpobs.report import COST_BY, Limits, _costliest, build_report
from mcpobs.store import Store

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_traces"
COST = CostOptions(load_prices(SAMPLES / "prices.yaml"))
# the sample with LLM calls (costs by model), and one with many sessions (benchmarks/generate.py)
SESSIONS_SPANS = 12_000


@pytest.fixture(scope="module")
def many_sessions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sessions") / "sessions.jsonl"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--spans", str(SESSIONS_SPANS), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def sources(
    chdb_dir: Path, exported: Exported, many_sessions: Path
) -> Iterator[dict[str, tuple[Store, ClickHouseTraces]]]:
    """Each set in DuckDB and in chDB, its cost ledger built (as analyze builds it for the report)."""
    sets = {"agent_cost_session": SAMPLES / "agent_cost_session.jsonl", "many_sessions": many_sessions}
    found = {}
    with contextlib.ExitStack() as stack:
        for name, path in sets.items():
            table = exported(name, [path])
            store = stack.enter_context(Store())
            load(store, [str(path)])
            clickhouse = stack.enter_context(ClickHouseTraces(parse(f"chdb:{chdb_dir}", table)))
            for calls in (store, clickhouse):
                analyze(calls, Query(views=("call_cost",)), COST)
            found[name] = (store, clickhouse)
        yield found


def _by(calls: Calls, key: str, limit: int) -> tuple[object, int]:
    query = Query(by=(key,))
    return costliest_groups(calls, query, *filters(query, calls.engine), key, limit)


@pytest.mark.parametrize("data", ["agent_cost_session", "many_sessions"])
@pytest.mark.parametrize("key", COST_BY)
@pytest.mark.parametrize("limit", [1, 3, 10, 100_000])
def test_the_costliest_groups_are_those_of_every_group_ranked(
    sources: dict[str, tuple[Store, ClickHouseTraces]], data: str, key: str, limit: int
) -> None:
    store, clickhouse = sources[data]
    query = Query(by=(key,))
    every = call_cost(store, query, *filters(query, store.engine))
    expected, groups = _costliest(every, key, limit)
    assert groups > 0
    duck, duck_groups = _by(store, key, limit)
    click, click_groups = _by(clickhouse, key, limit)
    assert duck_groups == click_groups == groups
    assert duck == expected
    assert_same_table(expected, click)  # type: ignore[arg-type]


def test_the_session_chart_reads_only_its_sessions_from_clickhouse(
    chdb_dir: Path, exported: Exported, many_sessions: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With fewer result rows allowed than there are sessions, the report by session is the files'."""
    limits = Limits(groups=5)
    with Store() as store:
        load(store, [str(many_sessions)])
        duck = build_report(store, Query(), COST, limits=limits)
    sessions = duck.cost_groups["session"]
    assert sessions > 600  # two rows each (a side each) were read: more than allowed below
    monkeypatch.setitem(mcpobs.clickhouse.SETTINGS, "max_result_rows", sessions)
    table = exported("many_sessions", [many_sessions])
    with ClickHouseTraces(parse(f"chdb:{chdb_dir}", table)) as clickhouse:
        click = build_report(clickhouse, Query(), COST, limits=limits)
    assert click.cost_groups == duck.cost_groups
    for key in ("tool", *COST_BY):
        assert_same_table(duck.cost_by[key], click.cost_by[key])
    assert len(click.cost_by["session"].rows) <= 2 * limits.groups
    assert replace(click.cost_by["session"], rows=()) == replace(duck.cost_by["session"], rows=())
