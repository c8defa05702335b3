"""The cost layer: prices for LLM calls and MCP tool calls, and who each dollar belongs to.

:mod:`mcpobs.cost.prices` prices a call (genai-prices' bundled data, a price file's
overrides); :mod:`mcpobs.cost.ledger` prices every LLM call in a store and shares
its cost out to the tool calls around it. The cost sections of
:mod:`mcpobs.analysis` report from the ledger.
"""

from mcpobs.cost.ledger import CostOptions, Ledger, build
from mcpobs.cost.prices import PriceBook, PriceProblem, Tokens, from_pico, load_prices, to_pico

__all__ = [
    "CostOptions",
    "Ledger",
    "PriceBook",
    "PriceProblem",
    "Tokens",
    "build",
    "from_pico",
    "load_prices",
    "to_pico",
]
