"""A model's prices as integer arithmetic on token counts, for an engine that prices each call in SQL.

genai-prices charges per token kind (input, output, cache reads and writes, reasoning) and per request,
the rate chosen by the call's input tokens where a price is tiered. So between two tier thresholds a
call's price in USD is ``constant + sum(rate * tokens)``, exactly: :func:`formula` reads the constant and
rates off genai-prices itself (the price of a few token counts, differences of exact Decimals), never off
a second copy of its rules, and checks them on another count. Scaled to whole units of
``1 / denominator`` pico-dollars they are integers, and a call's price rounded half-even to the
pico-dollar is what :func:`mcpobs.cost.prices.to_pico` makes of genai-prices' own figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from mcpobs.cost.prices import PICO, Tokens

if TYPE_CHECKING:
    from genai_prices.types import ModelPrice

# The token counts of a call, in this order, as the ledger's priced_tokens columns give them.
KINDS = ("input", "output", "cache_read", "cache_write", "reasoning")


class NotLinear(ValueError):
    """A price that is no constant plus a rate per token between its tiers' thresholds."""


@dataclass(frozen=True)
class Tier:
    """The price of a call whose input tokens are above ``above``: (constant + rates · tokens) / denominator
    pico-dollars."""

    above: int
    constant: int
    rates: tuple[int, ...]  # per token of each of KINDS


@dataclass(frozen=True)
class Formula:
    """A call's price in pico-dollars: the last tier whose ``above`` its input tokens exceed, over
    ``denominator``, rounded half-even."""

    denominator: int
    tiers: tuple[Tier, ...]  # by ``above``, the first -1


def formula(prices: ModelPrice) -> Formula:
    """The integer formula of ``prices`` (:class:`NotLinear` where genai-prices' figures disagree with one)."""
    from genai_prices.types import TieredPrices

    thresholds = sorted(
        {t.start for v in vars(prices).values() if isinstance(v, TieredPrices) for t in v.tiers if t.start >= 0}
    )
    exact: list[tuple[int, Decimal, tuple[Decimal, ...]]] = []
    bounds = [-1, *thresholds]
    for i, above in enumerate(bounds):
        below = bounds[i + 1] if i + 1 < len(bounds) else None  # the tier holds input tokens up to this
        base = above + 1
        if below is not None and below - base < 8:
            raise NotLinear(f"tiers {above} and {below} too close to measure")
        start = _usd(prices, Tokens(input=base))
        # each rate: one more token of its kind, the counts staying valid (cache within input, reasoning
        # within output)
        rates = (
            _usd(prices, Tokens(input=base + 1)) - start,
            _usd(prices, Tokens(input=base, output=1)) - start,
            _usd(prices, Tokens(input=base + 1, cache_read=1)) - _usd(prices, Tokens(input=base + 1)),
            _usd(prices, Tokens(input=base + 1, cache_write=1)) - _usd(prices, Tokens(input=base + 1)),
            _usd(prices, Tokens(input=base, output=1, reasoning=1)) - _usd(prices, Tokens(input=base, output=1)),
        )
        constant = start - rates[0] * base
        check = Tokens(input=base + 7, output=5, cache_read=2, cache_write=3, reasoning=4)
        counts = (check.input, check.output, check.cache_read, check.cache_write, check.reasoning)
        if constant + sum(r * n for r, n in zip(rates, counts, strict=True)) != _usd(prices, check):
            raise NotLinear(f"the price of {check} is no constant plus a rate per token")
        exact.append((above, constant, rates))
    # the fewest decimal places that make every figure a whole number of pico-dollars
    places = max(0, *(-(v * PICO).normalize().as_tuple().exponent for _, c, r in exact for v in (c, *r)))  # type: ignore[operator]
    scale = PICO * 10**places
    return Formula(
        10**places,
        tuple(
            Tier(above, int(constant * scale), tuple(int(r * scale) for r in rates)) for above, constant, rates in exact
        ),
    )


def _usd(prices: ModelPrice, tokens: Tokens) -> Decimal:
    return prices.calc_price(tokens.usage())["total_price"]
