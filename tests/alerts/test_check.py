"""Checking rules on real files: each scope reads the figure analyze prints; baselines, filters,
min_calls and missing values."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mcpobs.alerts import Outcome, Status, check_alerts, parse_rules
from mcpobs.analysis import Query, analyze
from mcpobs.analysis.metrics import Figures
from mcpobs.cost import CostOptions
from mcpobs.errors import UsageError
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT, llm_span, request, span, span_ids, write_lines

AGENT = str(ROOT / "sample_traces" / "agent_cost_session.jsonl")


@pytest.fixture
def agent(store: Store) -> Store:
    load(store, [AGENT])
    return store


def _check(store: Store, rules: str, baseline: Store | None = None, fail_on: str = "warning") -> Outcome:
    base = Figures(baseline) if baseline is not None else None
    return check_alerts(parse_rules("alerts:\n" + rules), Figures(store), base, fail_on)


def _by_group(outcome: Outcome) -> dict[tuple[Any, ...], tuple[Status, dict[str, Any], str]]:
    return {
        tuple(v for _, v in verdict.group): (verdict.status, verdict.values, verdict.reason)
        for verdict in outcome.verdicts
    }


def test_tool_scope_reads_analyzes_rows(agent: Store) -> None:
    outcome = _check(agent, "  - name: r\n    condition: error_rate > 0.2 and latency_p95_ms > 0\n    scope: tool\n")
    rows = analyze(agent, Query(by=("tool",), views=("calls",))).table("calls").records()
    got = _by_group(outcome)
    assert set(got) == {(r["side"], r["tool"]) for r in rows}
    for row in rows:
        status, values, _ = got[(row["side"], row["tool"])]
        assert values == {"error_rate": row["error_rate"], "latency_p95_ms": row["latency_p95_ms"]}
        assert status is (Status.FIRED if row["error_rate"] > 0.2 else Status.OK)
    assert got[("client", "run_query")][0] is Status.FIRED  # 1 of 3 calls failed


def test_session_scope_reads_the_session_listing(agent: Store) -> None:
    outcome = _check(agent, "  - name: r\n    condition: session_recovery >= 1\n    scope: session\n")
    listing = analyze(agent, Query(by=("session",), views=("sessions",))).table("sessions").records()
    got = _by_group(outcome)
    assert {k: v[1]["session_recovery"] for k, v in got.items()} == {
        (r["side"], r["session"]): r["recoveries"] for r in listing
    }
    assert [k for k, v in got.items() if v[0] is Status.FIRED] == [
        (r["side"], r["session"]) for r in listing if r["recoveries"] >= 1
    ]


def test_global_scope_is_one_verdict_per_side(agent: Store) -> None:
    outcome = _check(agent, "  - name: r\n    condition: session_recovery > 3 or session_success_rate < 80%\n")
    summary = {r["side"]: r for r in analyze(agent, Query(views=("sessions",))).table("sessions").records()}
    for (side,), (status, values, _) in _by_group(outcome).items():
        assert values == {
            "session_recovery": summary[side]["session_recovery_max"],
            "session_success_rate": summary[side]["session_success_rate"],
        }
        # 3 of 4 sessions succeeded on either side: the one that ended in -32602 failed on the
        # client and was rejected on the server, and a rejected call is no success
        assert (status, values["session_success_rate"]) == (Status.FIRED, 0.75)


def test_model_scope_sums_the_models_llm_calls(agent: Store) -> None:
    outcome = _check(
        agent, "  - name: r\n    condition: token_cost > 0.01\n    scope: model\n    where: provider != 'openai'\n"
    )
    models = analyze(agent, Query(views=("models",)), CostOptions()).table("models").records()
    got = _by_group(outcome)
    assert set(got) == {(r["model"],) for r in models if r["provider"] != "openai"}
    claude = next(r for r in models if r["model"].startswith("claude"))
    assert got[(claude["model"],)][:2] == (Status.FIRED, {"token_cost": claude["token_cost"]})
    # a model without a price has no token_cost: no verdict, never a pass at $0
    status, values, reason = got[("acme-local-7b",)]
    assert (status, values, reason) == (Status.NO_VERDICT, {"token_cost": None}, "no value for token_cost")


def test_model_scope_sums_every_row_of_a_model(store: Store, tmp_path: Path) -> None:
    # one model through three providers: the models and decisions sections give it a row each (the
    # models section one per pricing status too), which the model scope sums into one group
    start, ms = 1_760_000_000_000_000_000, 1_000_000

    def chat(span_id: str, at: int, provider: str, ids: list[str], usage: bool = True) -> dict[str, Any]:
        parts = [{"type": "tool_call", "id": i, "name": "search", "arguments": {}} for i in ids]
        output = json.dumps([{"role": "assistant", "parts": parts}])
        return llm_span(
            span_id=span_id,
            model="gpt-4o",
            provider=provider,
            start=start + at * ms,
            duration_ns=10 * ms,
            usage={"input_tokens": 1000 * (at + 1), "output_tokens": 10} if usage else None,
            attributes={"gen_ai.output.messages": output},
        )

    def call(span_id: str, at: int, call_id: str, error: str | None = None) -> dict[str, Any]:
        attributes = {"gen_ai.tool.call.id": call_id}
        return span(
            span_id=span_id,
            name="tools/call search",
            kind=3,
            start=start + at * ms,
            attributes=attributes,
            error_type=error,
        )

    spans = [
        chat("00000000000000a1", 0, "openai", ["call_1"]),
        call("00000000000000c1", 20, "call_1"),
        chat("00000000000000a2", 40, "azure.ai.openai", ["call_2", "call_3"]),
        call("00000000000000c2", 60, "call_2", error="tool_error"),
        call("00000000000000c3", 70, "call_3"),
        chat("00000000000000a3", 90, "acme-cloud", [], usage=False),  # no usage: unpriced
    ]
    load(store, [str(write_lines(tmp_path / "t.jsonl", [request(spans, "agent")]))])
    models = analyze(store, Query(views=("models",)), CostOptions()).table("models").records()
    decisions = analyze(store, Query(views=("decisions",)), CostOptions()).table("decisions").records()
    assert (len(models), len(decisions)) == (3, 3)
    priced = [r for r in models if r["status"] == "priced"]
    assert len(priced) == 2
    names = ("llm_calls", "unpriced_llm_calls", "token_cost", "input_tokens", "tool_calls_requested")
    names += ("failed_tool_calls", "failed_call_rate", "decision_cost", "failed_decision_cost")
    got = Figures(store).measure("model", None, names)
    assert got == {
        (("model", "gpt-4o"),): {
            "llm_calls": 3,
            "unpriced_llm_calls": 1,
            "token_cost": sum(r["token_cost"] for r in priced),
            "input_tokens": 1000 + 41_000,
            "tool_calls_requested": 3,
            "failed_tool_calls": 1,
            "failed_call_rate": 1 / 3,
            "decision_cost": sum(r["decision_cost"] for r in decisions if r["decision_cost"] is not None),
            "failed_decision_cost": sum(r["failed_decision_cost"] for r in decisions if r["decision_cost"] is not None),
        }
    }
    # a filter on the provider sums only the rows it selects
    rule = "  - name: r\n    condition: tool_calls_requested > 1\n    scope: model\n    where: provider != 'openai'\n"
    assert _by_group(_check(store, rule)) == {("gpt-4o",): (Status.FIRED, {"tool_calls_requested": 2}, "")}


def test_cost_per_tool_is_the_tools_share(agent: Store) -> None:
    outcome = _check(
        agent, "  - name: r\n    condition: total_cost > 0.005\n    scope: tool\n    where: side == 'client'\n"
    )
    rows = analyze(agent, Query(views=("call_cost",), side="client"), CostOptions()).table("call_cost").records()
    got = _by_group(outcome)
    assert {k[1]: v[1]["total_cost"] for k, v in got.items()} == {r["tool"]: r["total_cost"] for r in rows}
    assert all(isinstance(v[1]["total_cost"], Decimal) for v in got.values())
    assert sorted(k[1] for k, v in got.items() if v[0] is Status.FIRED) == ["run_query"]


def test_min_calls_leaves_small_groups_without_a_verdict(agent: Store) -> None:
    outcome = _check(agent, "  - name: r\n    condition: error_rate > 0\n    scope: tool\n    min_calls: 3\n")
    for verdict in outcome.verdicts:
        calls = analyze(agent, Query(views=("calls",), where=verdict.rule.where, tools=(verdict.group[1][1],)))
        (row,) = [r for r in calls.table("calls").records() if r["side"] == verdict.group[0][1]]
        if row["calls"] < 3:
            assert verdict.status is Status.NO_VERDICT
            assert verdict.reason == f"{row['calls']} call{'s' if row['calls'] != 1 else ''}, fewer than min_calls 3"
        else:
            assert verdict.status is not Status.NO_VERDICT


def test_a_filter_that_selects_nothing_is_one_verdict_without_a_group(agent: Store) -> None:
    outcome = _check(agent, "  - name: r\n    condition: error_rate > 0\n    scope: tool\n    where: tool == 'nope'\n")
    (verdict,) = outcome.verdicts
    assert (verdict.group, verdict.status, verdict.reason, verdict.label) == (
        (),
        Status.NO_VERDICT,
        "no calls match",
        "all",
    )
    assert not outcome.failed


def test_three_valued_conditions(agent: Store) -> None:
    # ttfr is recorded on the server side only: `or` still fires on a true side, `and` has no verdict
    outcome = _check(
        agent,
        "  - name: or\n    condition: ttfr_p95_ms > 1h or calls > 1\n"
        "  - name: and\n    condition: ttfr_p95_ms < 1h and calls > 1\n"
        "  - name: zero\n    condition: calls / (errors - errors) > 1\n",
    )
    got = {(v.rule.name, v.group[0][1]): (v.status, v.reason) for v in outcome.verdicts}
    assert got == {
        ("or", "client"): (Status.FIRED, ""),
        ("or", "server"): (Status.FIRED, ""),
        ("and", "client"): (Status.NO_VERDICT, "no value for ttfr_p95_ms"),
        ("and", "server"): (Status.FIRED, ""),
        ("zero", "client"): (Status.NO_VERDICT, "the condition divides by zero or overflows"),
        ("zero", "server"): (Status.NO_VERDICT, "the condition divides by zero or overflows"),
    }


def _tool_calls(path: Path, durations: dict[str, list[int]]) -> Path:
    """Server-side tools/call spans, one trace, each tool's calls lasting the given milliseconds."""
    spans = []
    ids = iter(span_ids(sum(len(d) for d in durations.values())))
    start = 1_763_600_000_000_000_000
    for tool, ms in durations.items():
        for d in ms:
            spans.append(span(span_id=next(ids), name=f"tools/call {tool}", start=start, duration_ns=d * 1_000_000))
            start += 1_000_000_000
    return write_lines(path, [request(spans)])


def test_baseline_comparison_per_tool(tmp_path: Path) -> None:
    now = _tool_calls(tmp_path / "pr.jsonl", {"search": list(range(100, 300, 10)), "fetch": [10] * 10, "new": [5]})
    then = _tool_calls(tmp_path / "main.jsonl", {"search": list(range(50, 150, 5)), "fetch": [10] * 10, "gone": [5]})
    with Store() as current, Store() as baseline:
        load(current, [str(now)])
        load(baseline, [str(then)])
        outcome = _check(
            current,
            "  - name: regression\n    condition: latency_p95_ms > baseline.latency_p95_ms * 1.2\n    scope: tool\n",
            baseline,
        )
    got = _by_group(outcome)
    # p95 of 100..290 step 10 is 280.5; of 50..145 step 5 it is 140.25
    assert got[("server", "search")] == (
        Status.FIRED,
        {"latency_p95_ms": pytest.approx(280.5), "baseline.latency_p95_ms": pytest.approx(140.25)},
        "",
    )
    assert got[("server", "fetch")][0] is Status.OK
    assert got[("server", "new")] == (
        Status.NO_VERDICT,
        {"latency_p95_ms": pytest.approx(5.0), "baseline.latency_p95_ms": None},
        "no value for baseline.latency_p95_ms",
    )
    assert ("server", "gone") not in got  # a group only the baseline has is nothing to check
    assert outcome.failed


def test_a_baseline_rule_without_a_baseline_is_a_usage_error(agent: Store) -> None:
    with pytest.raises(UsageError, match="give the baseline files with --baseline"):
        _check(agent, "  - name: r\n    condition: calls > baseline.calls\n")


def test_fail_on_ranks_severities(agent: Store) -> None:
    rules = "  - name: r\n    condition: calls > 0\n    severity: warning\n"
    assert _check(agent, rules, fail_on="info").failed
    assert _check(agent, rules, fail_on="warning").failed
    assert not _check(agent, rules, fail_on="critical").failed


def test_baseline_on_the_bundled_samples(agent: Store) -> None:
    """The first sample checked against the agent sample as its baseline: the same server's tools, timed apart."""
    with Store() as current:
        load(current, [str(ROOT / "sample_traces" / "mcp_agent_session.jsonl")])
        outcome = _check(
            current,
            "  - name: r\n    condition: latency_p95_ms > baseline.latency_p95_ms * 1.2\n"
            "    scope: tool\n    where: side == 'server'\n",
            agent,
        )
        now = analyze(current, Query(views=("calls",), side="server")).table("calls").records()
    then = analyze(agent, Query(views=("calls",), side="server")).table("calls").records()
    p95_now = {r["tool"]: r["latency_p95_ms"] for r in now}
    p95_then = {r["tool"]: r["latency_p95_ms"] for r in then}
    got = {v.group[1][1]: v for v in outcome.verdicts}
    assert set(got) == set(p95_now)
    for tool, verdict in got.items():
        assert verdict.values == {"latency_p95_ms": p95_now[tool], "baseline.latency_p95_ms": p95_then.get(tool)}
        if tool not in p95_then:
            assert verdict.status is Status.NO_VERDICT
        else:
            assert verdict.status is (Status.FIRED if p95_now[tool] > p95_then[tool] * 1.2 else Status.OK)
    assert sorted(t for t, v in got.items() if v.status is Status.FIRED) == ["get_weather"]
    assert sorted(t for t, v in got.items() if v.status is Status.NO_VERDICT) == [
        "book_hotel",
        "generate_report",
        "get_forecast",
    ]
