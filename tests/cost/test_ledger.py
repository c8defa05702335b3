"""The ledger: LLM calls priced in a real store, their cost shared out to tool calls, totals that add up."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mcpobs.analysis import Query, analyze
from mcpobs.cost import CostOptions, PriceBook, build, load_prices
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import llm_span, request, span, write_lines

T = "ab" * 16
MS = 1_000_000
START = 1_760_000_000_000_000_000

# A model priced at 7 pico-dollars an input token: shares of it leave remainders.
PRICES = """\
models:
  unit-model:
    input_mtok: 0.000007
    output_mtok: 0
tools:
  search: 0.001
"""


def book(tmp: Path) -> PriceBook:
    path = tmp / "prices.yaml"
    path.write_text(PRICES)
    return load_prices(path)


def at(ms: int) -> int:
    return START + ms * MS


def call(span_id: str, start_ms: int, duration_ms: int = 10, *, kind: int = 3, tool: str = "search") -> dict[str, Any]:
    return span(
        trace=T, span_id=span_id, name=f"tools/call {tool}", kind=kind, start=at(start_ms), duration_ns=duration_ms * MS
    )


def chat(span_id: str, start_ms: int, tokens: int, duration_ms: int = 10, **kw: Any) -> dict[str, Any]:
    kw.setdefault("model", "unit-model")
    kw.setdefault("provider", None)
    return llm_span(
        trace=T,
        span_id=span_id,
        start=at(start_ms),
        duration_ns=duration_ms * MS,
        usage={"input_tokens": tokens, "output_tokens": 0},
        **kw,
    )


def ledger_of(tmp: Path, spans: list[dict[str, Any]], prices: PriceBook | None = None) -> tuple[Store, list[str]]:
    path = write_lines(tmp / "t.jsonl", [request(spans, "agent")])
    store = Store()
    load(store, [str(path)])
    return store, build(store, CostOptions(prices or book(tmp))).notes


def shares(store: Store) -> dict[tuple[str, str], int]:
    rows = store.con.execute("SELECT call, llm, amount_pico FROM cost_shares WHERE side = 'client'").fetchall()
    return {(c, llm): int(a) for c, llm, a in rows}


def test_a_call_shares_the_step_that_asked_for_it_and_the_step_that_read_it(tmp_path: Path) -> None:
    spans = [
        chat("00000000000000a1", 0, 1_000),  # asks for c1 and c2: 7,000 pico
        call("00000000000000c1", 20),
        call("00000000000000c2", 25),
        chat("00000000000000a2", 50, 1_000),  # reads c1 and c2, asks for c3
        call("00000000000000c3", 70),
        chat("00000000000000a3", 100, 10),  # reads c3: 70 pico
        chat("00000000000000a4", 200, 100),  # linked to nothing: unattributed
    ]
    store, notes = ledger_of(tmp_path, spans)
    assert notes == []
    assert shares(store) == {
        ("00000000000000c1", "00000000000000a1"): 3_500,
        ("00000000000000c2", "00000000000000a1"): 3_500,
        # a2's 7,000 pico in three: one more for the first by span id
        ("00000000000000c1", "00000000000000a2"): 2_334,
        ("00000000000000c2", "00000000000000a2"): 2_333,
        ("00000000000000c3", "00000000000000a2"): 2_333,
        ("00000000000000c3", "00000000000000a3"): 70,
    }
    per_call = dict(store.con.execute("SELECT span_id, total_pico FROM cost_calls").fetchall())
    # fixed $0.001 a search call on top
    assert per_call == {
        "00000000000000c1": 3_500 + 2_334 + 10**9,
        "00000000000000c2": 3_500 + 2_333 + 10**9,
        "00000000000000c3": 2_333 + 70 + 10**9,
    }
    cost = analyze(store, Query(views=("cost",)), CostOptions(book(tmp_path))).table("cost").records()
    assert len(cost) == 1
    row = cost[0]
    assert row["token_cost"] == Decimal(7_000 + 7_000 + 70 + 700) / 10**12
    assert row["attributed_cost"] == Decimal(14_070) / 10**12
    assert row["unattributed_cost"] == Decimal(700) / 10**12
    assert row["tool_cost"] == Decimal("0.003")
    assert row["total_cost"] == row["token_cost"] + row["tool_cost"]
    assert row["cost_per_call"] == (Decimal(14_070) / 10**12 + Decimal("0.003")) / 3
    store.close()


def test_usage_totals_on_an_agent_span_are_not_counted_again(tmp_path: Path) -> None:
    root = llm_span(
        trace=T,
        span_id="0000000000000001",
        model="unit-model",
        provider=None,
        start=at(0),
        duration_ns=500 * MS,
        usage={"input_tokens": 2_000, "output_tokens": 0},
        attributes={"gen_ai.operation.name": "invoke_agent"},
    )
    spans = [
        root,
        chat("00000000000000a1", 1, 1_000, parent="0000000000000001"),
        chat("00000000000000a2", 50, 1_000, parent="0000000000000001"),
    ]
    store, _ = ledger_of(tmp_path, spans)
    statuses = dict(store.con.execute("SELECT span_id, status FROM cost_llm").fetchall())
    assert statuses == {"0000000000000001": "aggregate", "00000000000000a1": "priced", "00000000000000a2": "priced"}
    total = store.con.execute("SELECT sum(cost_pico) FROM cost_llm").fetchone()
    assert total == (14_000,)
    store.close()


def test_bad_token_counts_are_named_and_the_rest_is_priced(tmp_path: Path) -> None:
    spans = [
        chat("00000000000000a1", 0, 1_000),
        llm_span(
            trace=T,
            span_id="00000000000000a2",
            model="unit-model",
            provider=None,
            start=at(20),
            usage={"input_tokens": -5, "output_tokens": 3},
        ),
        llm_span(
            trace=T,
            span_id="00000000000000a3",
            model="unit-model",
            provider=None,
            start=at(40),
            usage={"input_tokens": "lots", "output_tokens": 3},
        ),
        llm_span(
            trace=T,
            span_id="00000000000000a4",
            model="unit-model",
            provider=None,
            start=at(60),
            usage={"input_tokens": 1.5, "output_tokens": 3},
        ),
    ]
    store, notes = ledger_of(tmp_path, spans)
    path = tmp_path / "t.jsonl"
    assert sorted(notes) == sorted(
        [
            f"{path}: span 00000000000000a2: gen_ai.usage.input_tokens = '-5' is not a token count; "
            "the call is left unpriced",
            f"{path}: span 00000000000000a3: gen_ai.usage.input_tokens = 'lots' is not a token count; "
            "the call is left unpriced",
            f"{path}: span 00000000000000a4: gen_ai.usage.input_tokens = '1.5' is not a token count; "
            "the call is left unpriced",
        ]
    )
    statuses = dict(store.con.execute("SELECT span_id, status FROM cost_llm").fetchall())
    assert statuses == {
        "00000000000000a1": "priced",
        "00000000000000a2": "invalid tokens",
        "00000000000000a3": "invalid tokens",
        "00000000000000a4": "invalid tokens",
    }
    store.close()


def test_unknown_models_and_providers_are_reported_never_priced_at_zero(tmp_path: Path) -> None:
    spans = [
        chat("00000000000000a1", 0, 1_000, model="mystery-9000", provider="mystery-cloud"),
        chat("00000000000000a2", 20, 1_000, model="gpt-4o-mini", provider="mystery-cloud"),
    ]
    store, notes = ledger_of(tmp_path, spans, PriceBook())
    assert notes == [
        "provider 'mystery-cloud' (2 LLM calls) is unknown to genai-prices (as 'mystery-cloud'): "
        "its models are looked up by name alone",
        "no price for model 'mystery-9000' of 'mystery-cloud' (1 LLM call): not counted in costs; "
        "give it a price with --prices",
    ]
    result = analyze(store, Query(views=("models",)), CostOptions())
    models = {r["model"]: r for r in result.table("models").records()}
    assert models["mystery-9000"]["status"] == "no price"
    assert models["mystery-9000"]["token_cost"] is None
    assert models["mystery-9000"]["input_tokens"] == 1_000
    assert models["gpt-4o-mini"]["status"] == "priced"
    store.close()


def test_anthropic_style_input_without_the_cache_is_counted_with_it(tmp_path: Path) -> None:
    # Anthropic's API reports input_tokens without cached ones: 100 fresh + 5,000 read from the cache
    spans = [
        llm_span(
            trace=T,
            span_id="00000000000000a1",
            model="claude-sonnet-4-5",
            provider="anthropic",
            start=at(0),
            usage={"input_tokens": 100, "output_tokens": 10, "cache_read.input_tokens": 5_000},
        )
    ]
    store, _ = ledger_of(tmp_path, spans, PriceBook())
    (pico,) = store.con.execute("SELECT cost_pico FROM cost_llm").fetchone() or (None,)
    hand = (100 * Decimal(3) + 5_000 * Decimal("0.3") + 10 * Decimal(15)) / 10**6
    assert Decimal(pico) / 10**12 == hand
    store.close()


def test_client_and_server_sides_are_attributed_apart(tmp_path: Path) -> None:
    spans = [
        chat("00000000000000a1", 0, 1_000),
        call("00000000000000c1", 20, 20),
        call("00000000000000d1", 22, 10, kind=2),  # the server's span of the same call
        chat("00000000000000a2", 50, 1_000),
    ]
    store, _ = ledger_of(tmp_path, spans)
    totals = dict(store.con.execute("SELECT side, sum(amount_pico) FROM cost_shares GROUP BY side").fetchall())
    assert totals == {"client": 14_000, "server": 14_000}
    store.close()


def test_cost_sections_by_model_split_a_calls_cost_by_the_model_that_spent_it(tmp_path: Path) -> None:
    spans = [
        chat("00000000000000a1", 0, 1_000),
        call("00000000000000c1", 20),
        llm_span(
            trace=T,
            span_id="00000000000000a2",
            model="gpt-4o-mini",
            provider="openai",
            start=at(50),
            duration_ns=10 * MS,
            usage={"input_tokens": 1_000_000, "output_tokens": 0},
        ),
    ]
    store, _ = ledger_of(tmp_path, spans)
    result = analyze(store, Query(views=("call_cost",), by=("model",)), CostOptions(book(tmp_path)))
    rows = {r["model"]: r for r in result.table("call_cost").records()}
    assert rows["gpt-4o-mini"]["token_cost"] == Decimal("0.15")
    assert rows["unit-model"]["token_cost"] == Decimal(7_000) / 10**12
    # the fixed cost of the call belongs to no model
    assert rows["(tool cost)"]["tool_cost"] == Decimal("0.001")
    store.close()


# Random traces: LLM calls and tool calls at distinct random times, random token counts.
@st.composite
def traces(draw: st.DrawFn) -> tuple[list[tuple[int, int, int]], list[tuple[int, int]]]:
    n_llm = draw(st.integers(0, 6))
    n_calls = draw(st.integers(0, 8))
    times = draw(
        st.lists(st.integers(0, 100_000), min_size=2 * (n_llm + n_calls), max_size=2 * (n_llm + n_calls), unique=True)
    )
    pairs = [tuple(sorted(times[i : i + 2])) for i in range(0, len(times), 2)]
    llms = [(s, e, draw(st.integers(0, 50_000))) for s, e in pairs[:n_llm]]
    calls = [(s, e) for s, e in pairs[n_llm:]]
    return llms, calls


@settings(max_examples=60, deadline=None)
@given(traces())
def test_attribution_of_random_traces_matches_the_rule_and_adds_up(
    trace: tuple[list[tuple[int, int, int]], list[tuple[int, int]]],
) -> None:
    llms, calls = trace
    llm_ids = [f"{i + 1:016x}" for i in range(len(llms))]
    call_ids = [f"{i + 1:015x}c" for i in range(len(calls))]
    spans = [
        llm_span(
            trace=T,
            span_id=i,
            model="unit-model",
            provider=None,
            start=START + s * 1000,
            duration_ns=(e - s) * 1000,
            usage={"input_tokens": tokens, "output_tokens": 0},
        )
        for i, (s, e, tokens) in zip(llm_ids, llms, strict=True)
    ] + [
        span(trace=T, span_id=i, name="tools/call search", kind=3, start=START + s * 1000, duration_ns=(e - s) * 1000)
        for i, (s, e) in zip(call_ids, calls, strict=True)
    ]
    # the rule, by brute force
    links: dict[str, list[str]] = defaultdict(list)
    for cid, (cs, ce) in zip(call_ids, calls, strict=True):
        before = [(e, i) for i, (s, e, _) in zip(llm_ids, llms, strict=True) if e <= cs]
        after = [(s, i) for i, (s, e, _) in zip(llm_ids, llms, strict=True) if s >= ce]
        if before:
            links[max(before)[1]].append(cid)
        if after:
            links[min(after)[1]].append(cid)
    cost = {i: tokens * 7 for i, (_, _, tokens) in zip(llm_ids, llms, strict=True)}
    with tempfile.TemporaryDirectory() as d:
        store, _ = ledger_of(Path(d), spans if spans else [chat("00000000000000a1", 0, 0)])
        if not spans:
            cost = {"00000000000000a1": 0}
        got = shares(store)
        for llm, linked in links.items():
            parts = [got[(c, llm)] for c in linked]
            assert sum(parts) == cost[llm]
            assert max(parts) - min(parts) <= 1
        assert {llm for _, llm in got} == set(links)
        summary = analyze(store, Query(views=("cost",)), CostOptions(book(Path(d)))).table("cost").records()
        unattributed = sum(c for llm, c in cost.items() if llm not in links)
        for row in summary:
            assert row["token_cost"] == Decimal(sum(cost.values())) / 10**12
            assert row["attributed_cost"] + row["unattributed_cost"] == row["token_cost"]
            assert row["unattributed_cost"] == Decimal(unattributed) / 10**12
        store.close()
