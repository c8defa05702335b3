"""Prices of single LLM calls against figures worked out by hand from the providers' price lists,
and the price file's overrides and problems."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from mcpobs.cost import PriceBook, Tokens, from_pico, load_prices, to_pico
from mcpobs.errors import InputError

AT = datetime(2026, 6, 1, tzinfo=UTC)
M = Decimal(1_000_000)


def usd(provider: str | None, model: str, tokens: Tokens, at: datetime = AT, book: PriceBook | None = None) -> Decimal:
    price = (book or PriceBook()).price(provider, [model], tokens, at)
    assert price is not None, f"no price for {model}"
    return price.usd


def test_claude_sonnet_with_cache_reads_and_writes() -> None:
    # $3 input, $15 output, $0.30 cache read, $3.75 cache write per million tokens;
    # input 10,000 of which 6,000 read from the cache and 1,000 written to it
    tokens = Tokens(input=10_000, output=500, cache_read=6_000, cache_write=1_000)
    hand = (3_000 * Decimal(3) + 6_000 * Decimal("0.30") + 1_000 * Decimal("3.75") + 500 * Decimal(15)) / M
    assert usd("anthropic", "claude-sonnet-4-5", tokens) == hand == Decimal("0.02205")


def test_gpt_4o_mini_with_cache_reads_and_a_dated_response_model() -> None:
    # $0.15 input, $0.075 cached input, $0.60 output
    tokens = Tokens(input=20_000, output=1_000, cache_read=8_000)
    hand = (12_000 * Decimal("0.15") + 8_000 * Decimal("0.075") + 1_000 * Decimal("0.60")) / M
    assert usd("openai", "gpt-4o-mini-2024-07-18", tokens) == hand == Decimal("0.003")


def test_reasoning_tokens_are_output_tokens() -> None:
    # o3-mini: $1.10 input, $4.40 output; the reasoning is part of the 2,000 output tokens
    with_reasoning = usd("openai", "o3-mini", Tokens(input=1_000, output=2_000, reasoning=1_500))
    assert with_reasoning == usd("openai", "o3-mini", Tokens(input=1_000, output=2_000))
    assert with_reasoning == (1_000 * Decimal("1.10") + 2_000 * Decimal("4.40")) / M


def test_the_price_at_the_calls_own_time_applies() -> None:
    # claude-sonnet-4-6 charged $6/$22.50 for prompts over 200k tokens until 2026-03-13, $3/$15 after
    tokens = Tokens(input=300_000, output=1_000)
    before = usd("anthropic", "claude-sonnet-4-6", tokens, datetime(2026, 2, 1, tzinfo=UTC))
    after = usd("anthropic", "claude-sonnet-4-6", tokens, datetime(2026, 4, 1, tzinfo=UTC))
    assert before == (300_000 * Decimal(6) + 1_000 * Decimal("22.5")) / M
    assert after == (300_000 * Decimal(3) + 1_000 * Decimal(15)) / M


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("aws.bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
        ("gcp.vertex_ai", "gemini-2.5-flash"),
        ("mistral_ai", "mistral-large-latest"),
        ("x_ai", "grok-3"),
        (None, "gpt-4o"),
    ],
)
def test_conventions_provider_names_map_to_genai_prices(provider: str | None, model: str) -> None:
    assert usd(provider, model, Tokens(input=1_000, output=100)) > 0


def test_an_unknown_model_has_no_price_rather_than_zero() -> None:
    assert PriceBook().price("openai", ["my-finetune"], Tokens(input=10, output=1), AT) is None


def test_the_response_model_first_then_the_request_model() -> None:
    price = PriceBook().price("openai", ["gpt-4o-mini-custom-deploy", "gpt-4o"], Tokens(input=1_000_000), AT)
    assert price is not None
    assert price.model == "gpt-4o"
    assert price.usd == Decimal("2.5")


def test_pico_dollars_round_trip_exactly() -> None:
    for amount in (Decimal("0.000000000001"), Decimal("0.02205"), Decimal("1234.567890123456")):
        assert from_pico(to_pico(amount)) == amount.quantize(Decimal("1e-12"))


PRICE_FILE = """\
models:
  acme-7b:
    provider: acme
    input_mtok: 0.20
    output_mtok: 0.80
    cache_read_mtok: 0.05
  gpt-4o-mini:
    input_mtok: 1
    output_mtok: 2
tools:
  search_docs: 0.002
servers:
  toolbox: 0.0005
"""


def test_price_file_prices_custom_models_and_overrides_bundled_ones(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(PRICE_FILE)
    book = load_prices(path)
    assert book.problems == []
    tokens = Tokens(input=1_000_000, output=1_000_000, cache_read=400_000)
    assert usd("acme", "acme-7b", tokens, book=book) == Decimal("0.12") + Decimal("0.02") + Decimal("0.80")
    assert usd("openai", "GPT-4o-mini", Tokens(input=1_000_000, output=1_000_000), book=book) == Decimal(3)
    # the override is for the acme provider only
    assert book.price("other", ["acme-7b"], tokens, AT) is None


def test_price_file_fixed_costs_a_tools_own_price_wins(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(PRICE_FILE)
    book = load_prices(path)
    assert book.call_cost("search_docs", "toolbox") == Decimal("0.002")
    assert book.call_cost("read_file", "toolbox") == Decimal("0.0005")
    assert book.call_cost("read_file", "elsewhere") is None


def test_price_file_amounts_are_exact_decimals(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("tools:\n  t: 0.1\n  u: 1e-7\n")
    book = load_prices(path)
    assert book.tools == {"t": Decimal("0.1"), "u": Decimal("1E-7")}


BROKEN = """\
models:
  acme-7b:
    input_mtok: cheap
    output_mtok: 0.8
  beta-1:
    input_mtok: 1
  gamma-2:
    input_mtok: 1
    output_mtok: 2
    colour: blue
  ok-model:
    input_mtok: 1
    output_mtok: 2
tools:
  search: -1
  fetch: 0.01
budgets: {}
"""


def test_price_file_problems_name_line_and_column_and_the_rest_loads(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(BROKEN)
    book = load_prices(path)
    assert [str(p) for p in book.problems] == [
        f"{path}:3:17: input_mtok of model 'acme-7b' must be a number, got 'cheap'",
        f"{path}:5:3: model 'beta-1' needs input_mtok and output_mtok",
        f"{path}:10:5: unknown key 'colour' for model 'gamma-2': expected provider or input_mtok, output_mtok, "
        "cache_read_mtok, cache_write_mtok, output_reasoning_mtok",
        f"{path}:15:11: the cost per call of tool 'search' must not be negative, got -1",
        f"{path}:17:1: unknown section 'budgets': expected models, tools or servers",
    ]
    assert set(book.models) == {("ok-model", None)}
    assert book.tools == {"fetch": Decimal("0.01")}


def test_price_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  a: [1, 2\n")
    book = load_prices(path)
    assert len(book.problems) == 1
    assert str(book.problems[0]).startswith(f"{path}:3:1: not valid YAML: ")


def test_missing_price_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such price file"):
        load_prices(tmp_path / "nope.yaml")
