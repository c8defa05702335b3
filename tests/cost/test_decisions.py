"""The decision behind each tool call: the LLM call that asked for it, by tool-call id where the
producer records one, and per model what choosing the calls that failed cost.

The data is real instrumentation's (tests/data/decisions/make_decisions.py): openai-v2 chat spans
with gen_ai.output.messages, util-genai execute_tool spans with gen_ai.tool.call.id, the mcp
SDK's client and server spans; the truth is the generator's own record of what it did.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcpobs.alerts import check_alerts, load_rules
from mcpobs.analysis import Query, analyze
from mcpobs.analysis.metrics import Figures
from mcpobs.cli import app
from mcpobs.cost import CostOptions, build
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT, llm_span, request, span, write_lines

DATA = ROOT / "tests" / "data" / "decisions"
TRACES = DATA / "decisions.jsonl"
TRUTH = json.loads((DATA / "decisions.expected.json").read_text())["llm_calls"]
TASKS = ["trip-weather", "config-check", "cleanup", "legacy-path"]  # the generator's order: one trace each
RESPONSE_MODEL = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
# OpenAI's published prices, USD per million tokens: input, output
PUBLISHED = {"gpt-4o": (Decimal("2.50"), Decimal(10)), "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60"))}


def hand_pico(call: dict[str, Any]) -> int:
    fresh, out = PUBLISHED[call["model"]]
    usd = (call["input_tokens"] * fresh + call["output_tokens"] * out) / 1_000_000
    pico = usd * 10**12
    assert pico == int(pico)
    return int(pico)


@pytest.fixture(scope="module")
def store() -> Any:
    with Store() as s:
        load(s, [str(TRACES)])
        build(s, CostOptions())
        yield s


def test_each_tool_call_is_linked_to_the_llm_call_that_asked_for_it(store: Store) -> None:
    """An agent that asks a guardrail model about each call between the decision and the call: the
    time rule alone would credit the guardrail with the decision; the tool-call id does not."""
    rows = store.con.execute(
        """
        SELECT k.side, c.trace_id, c.tool, l.model
        FROM cost_links k
        JOIN mcp_calls c ON c.side = k.side AND c.trace_id = k.trace_id AND c.span_id = k.call
        JOIN cost_llm l ON l.trace_id = k.trace_id AND l.span_id = k.llm
        WHERE k.link = 'asked'
        ORDER BY c.start_ns
        """
    ).fetchall()
    first_starts = "SELECT trace_id FROM spans GROUP BY 1 ORDER BY min(start_ns)"
    traces = [t for (t,) in store.con.execute(first_starts).fetchall()]
    expected = [
        (TASKS.index(c["task"]), asked["name"], RESPONSE_MODEL[c["model"]]) for c in TRUTH for asked in c["requested"]
    ]
    for side in ("client", "server"):
        seen = [(traces.index(trace), tool, model) for s, trace, tool, model in rows if s == side]
        assert seen == expected, side


def test_links_say_how_they_were_made(store: Store) -> None:
    by = dict(
        store.con.execute(
            "SELECT linked_by, count(*) FROM cost_links WHERE link = 'asked' AND side = 'client' GROUP BY 1"
        ).fetchall()
    )
    requested = [r for c in TRUTH for r in c["requested"]]
    assert by == {
        "tool call id": sum(r["execute_tool_span"] for r in requested),
        "time": sum(not r["execute_tool_span"] for r in requested),
    }


def test_per_model_requested_failed_and_what_choosing_the_failures_cost(store: Store) -> None:
    table = analyze(store, Query(views=("decisions",)), CostOptions()).table("decisions")
    got = {r["model"]: r for r in table.records()}
    want: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"llm_calls": 0, "decisions": 0, "requested": 0, "failed": 0, "by_id": 0, "pico": 0, "failed_pico": 0}
    )
    slack: dict[str, int] = defaultdict(int)  # a share of a cost split n ways is exact to within a pico-dollar
    for call in TRUTH:
        w = want[RESPONSE_MODEL[call["model"]]]
        w["llm_calls"] += 1
        asked = call["requested"]
        if not asked:
            continue
        cost = hand_pico(call)
        w["decisions"] += 1
        w["requested"] += len(asked)
        w["pico"] += cost
        failed = [a for a in asked if a["outcome"] is not None]
        w["failed"] += len(failed)
        w["failed_pico"] += cost * len(failed) // len(asked)
        w["by_id"] += sum(a["execute_tool_span"] for a in asked)
        if 0 < len(failed) < len(asked):
            slack[RESPONSE_MODEL[call["model"]]] += 1
    assert set(got) == set(want)
    for model, w in want.items():
        row = got[model]
        assert row["provider"] == "openai"
        assert row["llm_calls"] == w["llm_calls"]
        assert row["decisions"] == w["decisions"]
        assert row["tool_calls_requested"] == w["requested"]
        assert row["failed_tool_calls"] == w["failed"]
        assert row["failed_call_rate"] == w["failed"] / w["requested"]
        assert row["linked_by_id"] == w["by_id"]
        assert row["decision_cost"] == Decimal(w["pico"]) / 10**12
        assert abs(row["failed_decision_cost"] * 10**12 - w["failed_pico"]) <= slack[model]
    # the costliest failures first
    assert [r["model"] for r in table.records()] == sorted(got, key=lambda m: -got[m]["failed_decision_cost"])


def test_a_side_filter_counts_what_that_side_recorded(store: Store) -> None:
    """The mcp SDK's client span does not record an isError result: only its -32602 is a failure there."""
    table = analyze(store, Query(views=("decisions",), side="client"), CostOptions()).table("decisions")
    failed = {r["model"]: r["failed_tool_calls"] for r in table.records()}
    assert failed == {"gpt-4o-2024-08-06": 0, "gpt-4o-mini-2024-07-18": 1}


def test_alert_rules_read_the_decision_figures_per_model(store: Store, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "alerts:\n"
        "  - name: Costly failed decisions\n"
        "    scope: model\n"
        "    condition: failed_decision_cost > 0.001\n"
        "  - name: Failing choices\n"
        "    scope: model\n"
        "    condition: failed_call_rate > 0.5 and tool_calls_requested >= 3\n"
    )
    outcome = check_alerts(load_rules(rules), Figures(store))
    verdicts = {(v.rule.name, dict(v.group)["model"]): (v.status.value, v.values) for v in outcome.verdicts}
    costly = verdicts[("Costly failed decisions", "gpt-4o-2024-08-06")]
    assert costly[0] == "fired"
    assert verdicts[("Costly failed decisions", "gpt-4o-mini-2024-07-18")][0] == "ok"
    assert verdicts[("Failing choices", "gpt-4o-mini-2024-07-18")] == (
        "fired",
        {"failed_call_rate": 2 / 3, "tool_calls_requested": 3},
    )
    assert verdicts[("Failing choices", "gpt-4o-2024-08-06")][0] == "ok"


def test_cost_view_decisions_as_json() -> None:
    result = CliRunner().invoke(app, ["cost", str(TRACES), "--view", "decisions", "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["decisions"]
    by_model = {r["model"]: r for r in rows}
    assert by_model["gpt-4o-mini-2024-07-18"]["failed_tool_calls"] == 2
    assert by_model["gpt-4o-2024-08-06"]["tool_calls_requested"] == 6


# --- the rule on made-up spans: what the real producer above does not show ---

T = "cd" * 16
MS = 1_000_000
START = 1_760_000_000_000_000_000


def _chat(span_id: str, start_ms: int, ids: list[str] | None = None, **attrs: Any) -> dict[str, Any]:
    if ids is not None:
        parts = [{"type": "tool_call", "id": i, "name": "search", "arguments": {}} for i in ids]
        attrs["gen_ai.output.messages"] = json.dumps([{"role": "assistant", "parts": parts}])
    return llm_span(
        trace=T,
        span_id=span_id,
        model="gpt-4o",
        start=START + start_ms * MS,
        duration_ns=10 * MS,
        usage={"input_tokens": 1000, "output_tokens": 10},
        attributes=attrs,
    )


def _call(span_id: str, start_ms: int, call_id: str | None, **kw: Any) -> dict[str, Any]:
    attributes = {"gen_ai.tool.call.id": call_id} if call_id else {}
    return span(
        trace=T,
        span_id=span_id,
        name="tools/call search",
        kind=3,
        start=START + start_ms * MS,
        attributes=attributes,
        **kw,
    )


def id_cases() -> dict[str, list[dict[str, Any]]]:
    """Cases of links by id, here and in tests/clickhouse/test_parity.py: an id reused in a later answer (and
    one no answer names), an id on the execute_tool span around the call with the output messages in an
    event, messages that are no JSON array."""
    messages = json.dumps([{"role": "assistant", "parts": [{"type": "tool_call", "id": "call_9", "name": "search"}]}])
    chat = _chat("00000000000000a1", 0)
    chat["events"] = [
        {
            "timeUnixNano": str(START + 9 * MS),
            "name": "gen_ai.client.inference.operation.details",
            "attributes": [{"key": "gen_ai.output.messages", "value": {"stringValue": messages}}],
        }
    ]
    tool = llm_span(trace=T, span_id="00000000000000e1", model="x", start=START + 20 * MS, duration_ns=50 * MS)
    tool["name"] = "execute_tool search"
    tool["attributes"] = [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
        {"key": "gen_ai.tool.call.id", "value": {"stringValue": "call_9"}},
    ]
    return {
        "reused": [
            _chat("00000000000000a1", 0, ["call_0"]),
            _call("00000000000000c1", 20, "call_0"),
            _chat("00000000000000a2", 40, ["call_0"]),
            _chat("00000000000000a3", 60, []),
            _call("00000000000000c2", 80, "call_0"),
            _call("00000000000000c3", 90, "call_unknown"),
        ],
        "event": [
            chat,
            _chat("00000000000000a2", 10, []),
            tool,
            _call("00000000000000c1", 30, None, parent="00000000000000e1"),
        ],
        "not_json": [
            _chat("00000000000000a1", 0, **{"gen_ai.output.messages": "not json ["}),
            _chat("00000000000000a2", 10, **{"gen_ai.output.messages": '{"role": "assistant"}'}),
            _call("00000000000000c1", 30, "call_1"),
        ],
    }


def _asked(tmp: Path, spans: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    path = write_lines(tmp / "t.jsonl", [request(spans, "agent")])
    with Store() as s:
        load(s, [str(path)])
        build(s, CostOptions())
        rows = s.con.execute("SELECT call, llm, linked_by FROM cost_links WHERE link = 'asked'").fetchall()
    return {call: (llm, how) for call, llm, how in rows}


def test_an_id_no_llm_output_names_falls_back_to_time(tmp_path: Path) -> None:
    spans = [
        _chat("00000000000000a1", 0, ["call_1"]),
        _chat("00000000000000a2", 20, []),  # asks for nothing
        _call("00000000000000c1", 40, "call_1"),
        _call("00000000000000c2", 50, "call_unknown"),
        _call("00000000000000c3", 60, None),
    ]
    assert _asked(tmp_path, spans) == {
        "00000000000000c1": ("00000000000000a1", "tool call id"),
        "00000000000000c2": ("00000000000000a2", "time"),
        "00000000000000c3": ("00000000000000a2", "time"),
    }


def test_a_reused_id_is_the_last_llm_call_before_the_tool_call(tmp_path: Path) -> None:
    """Some local models number their tool calls (call_0, call_1, …) afresh in every answer."""
    assert _asked(tmp_path, id_cases()["reused"]) == {
        "00000000000000c1": ("00000000000000a1", "tool call id"),
        "00000000000000c2": ("00000000000000a2", "tool call id"),
        "00000000000000c3": ("00000000000000a3", "time"),
    }


def test_the_id_on_an_execute_tool_span_around_the_call_and_output_messages_in_an_event(tmp_path: Path) -> None:
    assert _asked(tmp_path, id_cases()["event"]) == {"00000000000000c1": ("00000000000000a1", "tool call id")}


def test_output_messages_that_are_no_json_array_are_passed_over(tmp_path: Path) -> None:
    assert _asked(tmp_path, id_cases()["not_json"]) == {"00000000000000c1": ("00000000000000a2", "time")}


def test_a_call_seen_on_both_sides_through_http_spans_counts_once(tmp_path: Path) -> None:
    """Streamable HTTP with HTTP instrumentation: the server's span is a grandchild of the client's."""
    client = _call("00000000000000c1", 40, "call_1")
    http = span(
        trace=T, span_id="00000000000000b1", parent="00000000000000c1", name="POST", kind=3, start=START + 41 * MS
    )
    http["attributes"] = [{"key": "http.request.method", "value": {"stringValue": "POST"}}]
    server = span(
        trace=T,
        span_id="00000000000000d1",
        parent="00000000000000b1",
        name="tools/call search",
        kind=2,
        start=START + 42 * MS,
        duration_ns=5 * MS,
        error_type="tool_error",
    )
    spans = [_chat("00000000000000a1", 0, ["call_1"]), client, http, server]
    path = write_lines(tmp_path / "t.jsonl", [request(spans, "agent")])
    with Store() as s:
        load(s, [str(path)])
        (row,) = analyze(s, Query(views=("decisions",)), CostOptions()).table("decisions").records()
    assert (row["tool_calls_requested"], row["failed_tool_calls"]) == (1, 1)


# Two sub-agents at once in one trace, each under its own span, without tool-call ids
# (tests/data/decisions/make_subagents.py): the truth is the generator's record of each step.
SUBAGENTS = DATA / "subagents.jsonl"
SUBAGENTS_TRUTH = json.loads((DATA / "subagents.expected.json").read_text())


def test_parallel_sub_agents_are_linked_to_their_own_llm_calls() -> None:
    """The last LLM call of the trace to end before planner's tool call, and the first to start after
    it, are scout's: by time across the trace, scout's model was credited with planner's decision."""
    with Store() as s:
        load(s, [str(SUBAGENTS)])
        build(s, CostOptions())
        llm = [span_id for (span_id,) in s.con.execute("SELECT span_id FROM cost_llm ORDER BY start_ns").fetchall()]
        links = s.con.execute(
            """
            SELECT k.side, c.tool, k.link, k.llm, k.linked_by FROM cost_links k
            JOIN mcp_calls c ON c.side = k.side AND c.trace_id = k.trace_id AND c.span_id = k.call
            """
        ).fetchall()
        decisions = analyze(s, Query(views=("decisions",)), CostOptions()).table("decisions").records()
    assert len(llm) == len(SUBAGENTS_TRUTH["llm_calls"])
    want = set()
    for call in SUBAGENTS_TRUTH["tool_calls"]:
        for side in ("client", "server"):
            want.add((side, call["name"], "asked", llm[call["asked_by"]], "time"))
            want.add((side, call["name"], "read", llm[call["read_by"]], "time"))
    assert set(links) == want
    got = {r["model"]: (r["decisions"], r["tool_calls_requested"], r["failed_tool_calls"]) for r in decisions}
    assert got == {"gpt-4o-2024-08-06": (1, 1, 0), "gpt-4o-mini-2024-07-18": (1, 1, 1)}
