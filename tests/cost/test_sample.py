"""The bundled agent session, costed: every figure against one worked out by hand from the
generator's own record of what it did and the providers' published prices."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest

from mcpobs.analysis import COST_VIEWS, Query, analyze
from mcpobs.cost import CostOptions, load_prices
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT

SAMPLE = ROOT / "sample_traces" / "agent_cost_session.jsonl"
TRUTH = json.loads((ROOT / "sample_traces" / "agent_cost_expected.json").read_text())
PRICES = ROOT / "sample_traces" / "prices.yaml"

# USD per million tokens: input (uncached), output, cache read, cache write
PUBLISHED = {
    "claude-sonnet-4-5": (Decimal(3), Decimal(15), Decimal("0.30"), Decimal("3.75")),
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60"), Decimal("0.075"), Decimal(0)),
    "acme-local-7b": (Decimal("0.20"), Decimal("0.80"), Decimal(0), Decimal(0)),  # from prices.yaml
}
FIXED = {"search_docs": Decimal("0.002"), "summarize_repo": Decimal("0.01")}  # else the server's 0.0005


def hand_cost(step: dict[str, Any]) -> Decimal:
    fresh, out, read, write = PUBLISHED[step["model"]]
    uncached = step["input_tokens"] - step["cache_read_tokens"] - step["cache_write_tokens"]
    return (
        uncached * fresh
        + step["output_tokens"] * out
        + step["cache_read_tokens"] * read
        + step["cache_write_tokens"] * write
    ) / 1_000_000


@pytest.fixture(scope="module")
def costed() -> Any:
    with Store() as store:
        load(store, [str(SAMPLE)])
        yield analyze(store, Query(views=COST_VIEWS, side="client"), CostOptions(load_prices(PRICES), "task.value"))


def test_every_model_costs_what_its_price_list_says(costed: Any) -> None:
    want: dict[str, Decimal] = defaultdict(Decimal)
    for task in TRUTH["tasks"]:
        for step in task["steps"]:
            want[step["model"]] += hand_cost(step)
    got = {r["priced_as"]: r["token_cost"] for r in costed.table("models").records()}
    assert got == {
        "claude-sonnet-4-5": want["claude-sonnet-4-5"],
        "gpt-4o-mini": want["gpt-4o-mini"],
        "price file": want["acme-local-7b"],
    }
    # cache reads and writes really are in the sample
    assert any(s["cache_read_tokens"] and s["cache_write_tokens"] == 0 for t in TRUTH["tasks"] for s in t["steps"])
    assert any(s["cache_write_tokens"] for t in TRUTH["tasks"] for s in t["steps"])


def test_tool_costs_follow_the_attribution_rule(costed: Any) -> None:
    """Step i asked for its calls and step i+1 read them; each step's cost is split over its calls."""
    want: dict[str, Decimal] = defaultdict(Decimal)
    fixed: dict[str, Decimal] = defaultdict(Decimal)
    for task in TRUTH["tasks"]:
        steps = task["steps"]
        for i, step in enumerate(steps):
            linked = step["asked"] + (steps[i - 1]["asked"] if i else [])
            for call in linked:
                want[call["tool"]] += hand_cost(step) / len(linked)
            for call in step["asked"]:
                fixed[call["tool"]] += FIXED.get(call["tool"], Decimal("0.0005"))
    rows = {r["tool"]: r for r in costed.table("call_cost").records()}
    assert set(rows) == set(want)
    for tool, amount in want.items():
        # equal shares are rounded to the pico-dollar
        assert abs(rows[tool]["token_cost"] - amount) < Decimal("1e-11"), tool
        assert rows[tool]["tool_cost"] == fixed[tool]
        assert rows[tool]["total_cost"] == rows[tool]["token_cost"] + rows[tool]["tool_cost"]


def test_totals_reconcile_and_every_llm_call_is_attributed(costed: Any) -> None:
    (summary,) = costed.table("cost").records()
    everything = sum(hand_cost(s) for t in TRUTH["tasks"] for s in t["steps"])
    assert summary["token_cost"] == everything
    assert summary["attributed_cost"] + summary["unattributed_cost"] == summary["token_cost"]
    # every step in the sample asks for a call or reads one
    assert summary["unattributed_cost"] == 0
    assert summary["llm_calls"] == sum(len(t["steps"]) for t in TRUTH["tasks"])
    assert summary["unpriced_llm_calls"] == 0
    assert summary["value"] == pytest.approx(sum(t["value"] for t in TRUTH["tasks"]))


def test_costliest_sessions_are_the_tasks_in_order_of_cost(costed: Any) -> None:
    per_task = []
    for task in TRUTH["tasks"]:
        steps = task["steps"]
        attributed = sum(hand_cost(s) for i, s in enumerate(steps) if s["asked"] or (i and steps[i - 1]["asked"]))
        fees = sum(FIXED.get(c["tool"], Decimal("0.0005")) for s in steps for c in s["asked"])
        per_task.append((attributed + fees, task["value"]))
    rows = costed.table("costly_sessions").records()
    got = [(r["total_cost"], r["value"]) for r in rows]
    want = sorted(per_task, key=lambda t: -t[0])
    assert [v for _, v in got] == [v for _, v in want]
    for (g, _), (w, _) in zip(got, want, strict=True):
        assert abs(g - w) < Decimal("1e-10")


def test_success_means_the_same_in_calls_sessions_and_cost() -> None:
    """A call the server rejected is neither its failure nor a success: ``success_rate``, session
    success and cost's ``successes`` all count it so (the sample's server rejects one run_query)."""
    with Store() as store:
        load(store, [str(SAMPLE)])
        by_tool = analyze(store, Query(views=("calls",), side="server", by=("tool",))).table("calls").records()
        sessions = analyze(store, Query(views=("sessions",), side="server", by=("session",))).table("sessions")
        costed = analyze(store, Query(views=COST_VIEWS, side="server", by=("tool",)), CostOptions(load_prices(PRICES)))
    rejected = sum(r["rejected"] for r in by_tool)
    succeeded = sum(round(r["success_rate"] * r["calls"]) for r in by_tool)
    assert rejected == 1
    per_tool = costed.table("call_cost").records()
    assert (
        sum(r["successes"] for r in per_tool)
        == succeeded
        == sum(r["calls"] - r["errors"] - r["rejected"] for r in by_tool)
    )
    cost = costed.table("cost").records()[0]
    assert cost["cost_per_success"] == (cost["total_cost"] / succeeded).quantize(cost["cost_per_success"])
    # the session whose only run_query was rejected: its last call to that tool did not succeed
    outcome = {r["session"]: r["succeeded"] for r in sessions.records()}
    assert outcome["trace:7d2500dfdedbefb9a7db137bb7336528"] is False
    assert cost["successful_sessions"] == sum(outcome.values())
