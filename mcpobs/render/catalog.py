"""``mcpobs tools``: the definitions servers advertised, and their token tax, as tables or JSON."""

from __future__ import annotations

import json

from rich.console import Console

from mcpobs.analysis.model import Column, Table, Unit
from mcpobs.catalog.definitions import BYTES_PER_TOKEN, Definition, Tax
from mcpobs.render.text import plain, render_section, visible

DEFINITION_COLUMNS = (
    Column("server", Unit.TEXT),
    Column("protocol", Unit.TEXT),
    Column("kind", Unit.TEXT),
    Column("name", Unit.TEXT),
    Column("tokens", Unit.COUNT, f"about bytes of the JSON an LLM request carries / {BYTES_PER_TOKEN}"),
    Column("sha256", Unit.TEXT, "hash of the fields a lock file accepts"),
    Column("description", Unit.TEXT, prose=True),
)
TAX_COLUMNS = (
    Column("server", Unit.TEXT),
    Column("protocol", Unit.TEXT),
    Column("tools", Unit.COUNT),
    Column("tokens_per_llm_call", Unit.COUNT, "tokens the server's tools add to every LLM request", "tokens/call"),
    Column("usd_per_llm_call", Unit.MONEY, "what those tokens cost as input, each LLM call", "$/call"),
    Column("usd_per_session", Unit.MONEY, "the same over the LLM calls of a session", "$/session"),
)


def definitions_table(definitions: list[Definition]) -> Table:
    """One row a definition, its description's first line (the whole definition is in the JSON)."""
    rows = tuple(
        (
            d.server,
            d.protocol,
            d.kind,
            d.name,
            d.tokens,
            d.digest.removeprefix("sha256:")[:12],
            _first_line(d.body.get("description")),
        )
        for d in definitions
    )
    return Table("definitions", "Definitions advertised", DEFINITION_COLUMNS, rows)


def tax_table(taxes: list[Tax]) -> Table:
    """One row a server and revision: its tools, their tokens, and what they cost where priced."""
    rows = tuple((t.server, t.protocol, t.tools, t.tokens, t.per_llm_call, t.per_session) for t in taxes)
    return Table("token_tax", "Token tax: what each server's tools add to every LLM request", TAX_COLUMNS, rows)


def _first_line(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    first = text.strip().split("\n", 1)[0]
    return visible(first if len(first) <= 80 else first[:79] + "…")


def render_text(definitions: list[Definition], taxes: list[Tax], console: Console) -> None:
    """The definitions, then the token tax per server; nothing when there are none (stderr says why)."""
    if not definitions:
        return
    render_section(definitions_table(definitions), console)
    render_section(tax_table(taxes), console)


def render_json(definitions: list[Definition], taxes: list[Tax], notes: list[str]) -> str:
    """Every definition whole (as advertised), with its tokens and hash, and the token tax."""
    document = {
        "bytes_per_token": BYTES_PER_TOKEN,
        "notes": notes,
        "definitions": [
            {
                "server": d.server,
                "protocol": d.protocol,
                "kind": d.kind,
                "name": d.name,
                "tokens": d.tokens,
                "sha256": d.digest.removeprefix("sha256:"),
                "source": d.source,
                "definition": d.body,
            }
            for d in definitions
        ],
        "token_tax": [{k: plain(v) for k, v in record.items()} for record in tax_table(taxes).records()],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
