"""The integer formula ClickHouse prices LLM calls with is genai-prices' own price, rounded as to_pico rounds."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpobs.cost import Tokens, to_pico
from mcpobs.cost.linear import Formula, NotLinear, formula


def _pico(found: Formula, tokens: Tokens) -> int:
    """What mcpobs.clickhouse.ledger's SQL computes, in Python."""
    counts = (tokens.input, tokens.output, tokens.cache_read, tokens.cache_write, tokens.reasoning)
    tier = [t for t in found.tiers if tokens.input > t.above][-1]
    numerator = tier.constant + sum(r * n for r, n in zip(tier.rates, counts, strict=True))
    whole, rest = divmod(numerator, found.denominator)
    return whole + (2 * rest > found.denominator or (2 * rest == found.denominator and whole % 2 == 1))


def _usage(rng: random.Random) -> Tokens:
    # input up to past the 200k tiers; cache within input, reasoning within output, as the ledger gives them
    input_ = rng.choice((0, 1, 199_999, 200_000, 200_001, rng.randint(0, 400_000)))
    cache_read = rng.randint(0, input_ // 2)
    output = rng.randint(0, 20_000)
    return Tokens(input_, output, cache_read, rng.randint(0, input_ - cache_read), rng.randint(0, output))


def test_every_genai_prices_model_is_priced_exactly_by_its_formula() -> None:
    from genai_prices.data_snapshot import get_snapshot

    rng = random.Random(17)
    at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    checked = 0
    for provider in get_snapshot().providers:
        for model in provider.models:
            prices = model.get_prices(at)
            found = formula(prices)
            for _ in range(20):
                tokens = _usage(rng)
                assert _pico(found, tokens) == to_pico(prices.calc_price(tokens.usage())["total_price"]), (
                    provider.id,
                    model.id,
                    tokens,
                )
            checked += 1
    assert checked > 1000


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=0, max_value=1000, places=9),
    st.decimals(min_value=0, max_value=1000, places=9),
    st.integers(0, 10**9),
    st.integers(0, 10**7),
)
def test_a_price_file_model_to_a_fraction_of_a_pico_dollar(
    input_mtok: Decimal, output_mtok: Decimal, input_: int, output: int
) -> None:
    from genai_prices.types import ModelPrice

    # a price per million tokens with 9 places: a token costs a fraction of a pico-dollar, rounded per call
    prices = ModelPrice(input_mtok=input_mtok, output_mtok=output_mtok)
    tokens = Tokens(input_, output)
    assert _pico(formula(prices), tokens) == to_pico(prices.calc_price(tokens.usage())["total_price"])


def test_tiers_too_close_to_measure_are_refused() -> None:
    from genai_prices.types import ModelPrice, Tier, TieredPrices

    close = TieredPrices(Decimal(1), [Tier(100, Decimal(2)), Tier(103, Decimal(3))])
    with pytest.raises(NotLinear, match="too close"):
        formula(ModelPrice(input_mtok=close, output_mtok=Decimal(1)))
