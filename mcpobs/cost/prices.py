"""What a model's tokens and a tool's call cost: genai-prices' bundled data, and the user's overrides.

Money is :class:`~decimal.Decimal` in US dollars from the price data to the
report; in SQL it travels as whole pico-dollars (10⁻¹² USD, ``HUGEINT``), which
holds every price genai-prices and a price file can state exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from mcpobs.errors import InputError
from mcpobs.yamldoc import Problem, Reader

if TYPE_CHECKING:
    # genai-prices takes a fifth of a second to import: only a command that prices a call pays for it
    import genai_prices
    from genai_prices.types import ModelInfo, ModelPrice

PICO = Decimal(10) ** 12

# gen_ai.provider.name (and the older gen_ai.system, OpenInference's llm.provider / llm.system)
# -> genai-prices' provider id, where the two differ.
PROVIDER_IDS: dict[str, str] = {
    "aws.bedrock": "aws",
    "bedrock": "aws",
    "az.ai.inference": "azure",
    "az.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "azure.ai.openai": "azure",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "google",
    "vertexai": "google",
    "vertex_ai": "google",
    "gemini": "google",
    "mistral_ai": "mistral",
    "mistralai": "mistral",
    "x_ai": "x-ai",
    "xai": "x-ai",
    "moonshot": "moonshotai",
}

# The price keys a price file may set for a model: USD per million tokens.
MODEL_PRICE_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "output_reasoning_mtok")


def to_pico(amount: Decimal) -> int:
    """USD as whole pico-dollars (rounded half-even below that)."""
    return int((amount * PICO).to_integral_value())


def from_pico(pico: int | None) -> Decimal | None:
    """Whole pico-dollars as USD."""
    return None if pico is None else Decimal(int(pico)).scaleb(-12)


@dataclass(frozen=True)
class Tokens:
    """One LLM call's usage as the GenAI conventions count it: input includes cached tokens."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0

    def usage(self) -> genai_prices.Usage:
        """The usage as genai-prices reads it (cached tokens are part of ``input_tokens`` there too)."""
        values = {"input_tokens": self.input, "output_tokens": self.output}
        if self.cache_read:
            values["cache_read_tokens"] = self.cache_read
        if self.cache_write:
            values["cache_write_tokens"] = self.cache_write
        if self.reasoning and self.reasoning <= self.output:
            values["output_reasoning_tokens"] = self.reasoning
        from genai_prices import Usage

        return Usage(**values)


@dataclass(frozen=True)
class Price:
    """The price of one LLM call, and where it came from."""

    usd: Decimal
    model: str  # the model id the price is for
    provider: str  # the provider id the price is for
    source: str  # "genai-prices" or the price file's path


@dataclass(frozen=True)
class Resolved:
    """The prices one model charges at one time, whatever the tokens: :meth:`PriceBook.resolve`."""

    prices: ModelPrice
    model: str
    provider: str
    source: str


# Something in a price file that could not be used: where, and what.
PriceProblem = Problem


@dataclass
class PriceBook:
    """Prices for LLM calls and MCP tool calls.

    Models are looked up in the price file first, then in genai-prices' bundled
    data at the call's own time (so historic prices apply). Tools and servers
    have a fixed cost per call only where the price file gives one.
    """

    models: dict[tuple[str, str | None], ModelPrice] = field(default_factory=dict)
    tools: dict[str, Decimal] = field(default_factory=dict)
    servers: dict[str, Decimal] = field(default_factory=dict)
    source: str = "genai-prices"
    problems: list[PriceProblem] = field(default_factory=list)
    _found: dict[tuple[str | None, str], tuple[str, str, ModelInfo] | None] = field(default_factory=dict)

    def price(self, provider: str | None, models: Iterable[str], tokens: Tokens, at: datetime) -> Price | None:
        """The price of a call to the first of ``models`` (response model, then request model) that
        has one, or None when none has."""
        found = self.resolve(provider, models, at)
        if found is None:
            return None
        usd = found.prices.calc_price(tokens.usage())["total_price"]
        return Price(usd, found.model, found.provider, found.source)

    def resolve(self, provider: str | None, models: Iterable[str], at: datetime) -> Resolved | None:
        """The prices a call at ``at`` to the first of ``models`` that has one pays, whatever its tokens."""
        for model in models:
            if not model:
                continue
            override = self._override(provider, model)
            if override is not None:
                return Resolved(override, model, provider or "", self.source)
            found = self._lookup(provider, model)
            if found is not None:
                provider_id, model_id, info = found
                return Resolved(info.get_prices(at), model_id, provider_id, "genai-prices")
        return None

    def known_provider(self, provider: str | None) -> bool:
        """Whether genai-prices knows ``provider`` (no provider at all counts as known)."""
        return not provider or _known(provider_id(provider))

    def call_cost(self, tool: str | None, server: str | None) -> Decimal | None:
        """The fixed cost of one MCP tool call: the tool's price, else its server's, else none."""
        if tool is not None and tool in self.tools:
            return self.tools[tool]
        if server is not None and server in self.servers:
            return self.servers[server]
        return None

    def _override(self, provider: str | None, model: str) -> ModelPrice | None:
        name = model.lower()
        if provider:
            exact = self.models.get((name, provider.lower()))
            if exact is not None:
                return exact
        return self.models.get((name, None))

    def _lookup(self, provider: str | None, model: str) -> tuple[str, str, ModelInfo] | None:
        key = (provider, model)
        if key not in self._found:
            self._found[key] = _find(provider, model)
        return self._found[key]


def provider_id(provider: str) -> str:
    """genai-prices' id for a ``gen_ai.provider.name`` value."""
    name = provider.strip().lower()
    return PROVIDER_IDS.get(name, name)


def _known(pid: str) -> bool:
    from genai_prices.data_snapshot import get_snapshot

    try:
        get_snapshot().find_provider(None, pid, None)
    except LookupError:
        return False
    return True


def _find(provider: str | None, model: str) -> tuple[str, str, ModelInfo] | None:
    from genai_prices.data_snapshot import get_snapshot

    pid = provider_id(provider) if provider else None
    # a provider genai-prices does not know (a gateway, a self-hosted endpoint): then the model alone
    for candidate in (pid, None) if pid and not _known(pid) else (pid,):
        try:
            found_provider, info = get_snapshot().find_provider_model(model, None, candidate, None)
        except LookupError:
            continue
        return found_provider.id, info.id, info
    return None


def load_prices(path: Path) -> PriceBook:
    """Read a price file. Entries that cannot be used are left out and listed in ``problems``.

    The file::

        models:
          acme-7b:                 # a model name as spans carry it (case does not matter)
            provider: acme         # optional: only this provider's spans
            input_mtok: 0.20       # USD per million tokens: input_mtok, output_mtok,
            output_mtok: 0.80      # cache_read_mtok, cache_write_mtok, output_reasoning_mtok
        tools:
          search_docs: 0.002       # USD per call of this tool
        servers:
          toolbox-server: 0.0005   # USD per tool call to this server (a tool's own price wins)
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "no such price file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"cannot read the price file: {getattr(e, 'strerror', None) or e}") from None
    book = PriceBook(source=str(path))
    reader = Reader(str(path), book.problems)
    root = reader.compose(text)
    if root is None:
        return book
    for key, value in reader.mapping(root, "the price file"):
        if key.value == "models":
            for name, entry in reader.mapping(value, "models"):
                _read_model(reader, book, name, entry)
        elif key.value in ("tools", "servers"):
            table = book.tools if key.value == "tools" else book.servers
            for name, entry in reader.mapping(value, key.value):
                amount = reader.amount(entry, f"the cost per call of {key.value[:-1]} {name.value!r}")
                if amount is not None:
                    table[name.value] = amount
        elif key.value != "currency":
            reader.problem(key, f"unknown section {key.value!r}: expected models, tools or servers")
        elif value.value != "USD":
            reader.problem(value, "prices are in USD: currency must be USD")
    return book


def _read_model(reader: Reader, book: PriceBook, name: yaml.ScalarNode, entry: yaml.Node) -> None:
    prices: dict[str, Decimal] = {}
    provider: str | None = None
    for key, value in reader.mapping(entry, f"model {name.value!r}"):
        if key.value == "provider" and isinstance(value, yaml.ScalarNode) and value.value:
            provider = value.value.lower()
        elif key.value in MODEL_PRICE_KEYS:
            amount = reader.amount(value, f"{key.value} of model {name.value!r}")
            if amount is None:
                return
            prices[key.value] = amount
        else:
            reader.problem(
                key,
                f"unknown key {key.value!r} for model {name.value!r}: expected provider or "
                + ", ".join(MODEL_PRICE_KEYS),
            )
            return
    if "input_mtok" not in prices or "output_mtok" not in prices:
        reader.problem(name, f"model {name.value!r} needs input_mtok and output_mtok")
        return
    from genai_prices.types import ModelPrice

    book.models[(name.value.lower(), provider)] = ModelPrice(**prices)
