"""A second provider, with prompt caching, traced twice over: the anthropic SDK's own spans and
OpenLLMetry's (or OpenInference's) anthropic instrumentation, around the mcp SDK over Streamable HTTP.

The data is real instrumentation's (tests/data/anthropic/make_anthropic.py); the truth is the
generator's own record of what the API answered. From the review of the trace-analysis commands
(December 2026): with OpenLLMetry each LLM call was counted and priced twice (two sibling spans with
the same usage and ``gen_ai.response.id``); the SDK's ``gen_ai.usage.cache_write.input_tokens`` was
not read, so its cache writes were priced as plain input; with OpenInference (its span around the
SDK's) the time rule looked for a sub-agent's LLM calls among its agent span's children, found none,
and credited the other sub-agent's model with its decisions.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from mcpobs.analysis import Query, analyze
from mcpobs.cli import app
from mcpobs.cost import CostOptions, build
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT, llm_span, request, write_lines

DATA = ROOT / "tests" / "data" / "anthropic"
TRACES = DATA / "anthropic.jsonl"
TRUTH = json.loads((DATA / "anthropic.expected.json").read_text())["llm_calls"]
# each instrumentation's span of an API call, beside (OpenLLMetry) or around (OpenInference) the SDK's own
SETS = {"anthropic": "anthropic.chat", "anthropic-openinference": "messages.create"}
# Anthropic's published prices, USD per million tokens: input, output, cache write (5 min), cache read
PUBLISHED = {
    "claude-sonnet-4-5": (Decimal(3), Decimal(15), Decimal("3.75"), Decimal("0.30")),
    "claude-haiku-4-5": (Decimal(1), Decimal(5), Decimal("1.25"), Decimal("0.10")),
}


def hand_pico(call: dict[str, Any]) -> int:
    fresh, out, write, read = PUBLISHED[call["model"]]
    usd = (
        call["input_tokens"] * fresh
        + call["output_tokens"] * out
        + call["cache_creation_input_tokens"] * write
        + call["cache_read_input_tokens"] * read
    ) / 1_000_000
    pico = usd * 10**12
    assert pico == int(pico)
    return int(pico)


@pytest.fixture(scope="module", params=sorted(SETS))
def store(request: pytest.FixtureRequest) -> Any:
    with Store() as s:
        load(s, [str(DATA / f"{request.param}.jsonl")])
        s.truth = json.loads((DATA / f"{request.param}.expected.json").read_text())["llm_calls"]  # type: ignore[attr-defined]
        s.instrumentation_span = SETS[request.param]  # type: ignore[attr-defined]
        yield s


def test_both_instrumentations_spans_are_in_the_file(store: Any) -> None:
    """What makes the case: each API call is two spans, the instrumentation's and the SDK's own."""
    names = Counter(name for (name,) in store.con.execute("SELECT name FROM spans WHERE name LIKE '%.%'").fetchall())
    assert names == {store.instrumentation_span: len(store.truth), "anthropic.messages.create": len(store.truth)}


def test_each_llm_call_is_counted_and_priced_once(store: Any) -> None:
    truth = store.truth
    ledger = build(store, CostOptions())
    table = analyze(store, Query(views=("models",)), CostOptions()).table("models")
    got = {r["model"]: r for r in table.records()}
    want: dict[str, Counter[str]] = defaultdict(Counter)
    for call in truth:
        w = want[call["response_model"]]
        w["llm_calls"] += 1
        w["input_tokens"] += (
            call["input_tokens"] + call["cache_read_input_tokens"] + call["cache_creation_input_tokens"]
        )
        w["output_tokens"] += call["output_tokens"]
        w["cache_read_tokens"] += call["cache_read_input_tokens"]
        w["cache_write_tokens"] += call["cache_creation_input_tokens"]
        w["pico"] += hand_pico(call)
    assert set(got) == set(want)
    for model, w in want.items():
        row = got[model]
        assert (row["provider"], row["status"]) == ("anthropic", "priced"), model
        for key in ("llm_calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
            assert (row[key] or 0) == w[key], (model, key)  # no cache attribute at all where none was used
        assert row["token_cost"] == Decimal(w["pico"]) / 10**12, model
    # OpenInference's span around the SDK's holds a total over it (never priced), OpenLLMetry's is a copy
    twice = any("8 LLM calls were traced twice" in note for note in ledger.notes)
    assert twice == (store.instrumentation_span == "anthropic.chat")


def test_the_total_and_the_decisions_per_model(store: Any) -> None:
    """Two sub-agents at once in one trace, each under its own invoke_agent span: each model is credited
    with the tool calls it asked for, the SDK's span inside OpenInference's as well."""
    truth = store.truth
    build(store, CostOptions())
    result = analyze(store, Query(views=("cost", "decisions"), side="client"), CostOptions())
    (cost,) = result.table("cost").records()
    assert cost["llm_calls"] == len(truth)
    assert cost["token_cost"] == Decimal(sum(hand_pico(c) for c in truth)) / 10**12
    got = {r["model"]: (r["llm_calls"], r["tool_calls_requested"]) for r in result.table("decisions").records()}
    want: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for call in truth:
        want[call["response_model"]][0] += 1
        want[call["response_model"]][1] += len(call["requested"])
    assert got == {model: tuple(w) for model, w in want.items()}


def test_cost_command_says_so_on_stderr() -> None:
    out = CliRunner().invoke(app, ["cost", str(TRACES), "--view", "cost", "--format", "json"])
    assert out.exit_code == 0, out.stderr
    assert "8 LLM calls were traced twice" in out.stderr
    (row,) = [r for r in json.loads(out.stdout)["cost"] if r["side"] == "client"]
    assert row["llm_calls"] == len(TRUTH)


def test_the_sdk_s_own_spans_alone_price_cache_writes_as_such(tmp_path: Any) -> None:
    """The anthropic SDK's own spans name cache writes ``gen_ai.usage.cache_write.input_tokens``: they
    were read as no cache write, so priced as plain input (3 USD per million where it is 3.75)."""
    only_sdk = tmp_path / "sdk-spans.jsonl"
    lines = []
    for line in TRACES.read_text().splitlines():
        doc = json.loads(line)
        for rs in doc["resourceSpans"]:
            rs["scopeSpans"] = [
                ss for ss in rs["scopeSpans"] if ss["scope"]["name"] != "opentelemetry.instrumentation.anthropic"
            ]
        lines.append(json.dumps(doc))
    only_sdk.write_text("\n".join(lines) + "\n")
    with Store() as s:
        load(s, [str(only_sdk)])
        ledger = build(s, CostOptions())
        table = analyze(s, Query(views=("models",)), CostOptions()).table("models")
    assert not any("traced twice" in note for note in ledger.notes)
    for row in table.records():
        calls = [c for c in TRUTH if c["response_model"] == row["model"]]
        assert row["llm_calls"] == len(calls)
        assert (row["cache_write_tokens"] or 0) == sum(c["cache_creation_input_tokens"] for c in calls)
        assert row["token_cost"] == Decimal(sum(hand_pico(c) for c in calls)) / 10**12


def test_a_wrapper_with_the_same_response_id_leaves_the_call_inside_it_priced(tmp_path: Any) -> None:
    """A span around the LLM call that repeats its usage and response id (OpenInference's, where the
    instrumentation records the id) holds a total: the call inside is the one priced, not a copy of it."""
    usage = {"input_tokens": 1000, "output_tokens": 100}
    same = {"gen_ai.response.id": "msg_01", "gen_ai.response.model": "claude-sonnet-4-5-20250929"}
    spans = [
        llm_span(span_id="a000000000000001", model="claude-sonnet-4-5", provider="anthropic", usage=usage,
                 attributes=same, duration_ns=200_000_000),
        llm_span(span_id="a000000000000002", parent="a000000000000001", model="claude-sonnet-4-5",
                 provider="anthropic", usage=usage, attributes=same, start=1_760_000_000_050_000_000),
    ]  # fmt: skip
    path = write_lines(tmp_path / "wrapped.jsonl", [request(spans)])
    with Store() as s:
        load(s, [str(path)])
        build(s, CostOptions())
        rows = s.con.execute("SELECT span_id, status FROM cost_llm ORDER BY span_id").fetchall()
    assert rows == [("a000000000000001", "aggregate"), ("a000000000000002", "priced")]
