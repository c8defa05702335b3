"""The cost ledger: every LLM call priced, and its cost shared out to the MCP tool calls around it.

:func:`build` writes these temporary tables on the store's connection, which the
cost sections of :mod:`mcpobs.analysis` read:

``cost_llm``
    one row per span with token usage (an LLM call, or a total a producer put on
    an agent span: status ``aggregate``, never priced, so nothing counts twice),
    with its price in pico-dollars or why it has none;
``cost_requests``, ``cost_call_ids``
    the tool-call ids LLM calls' outputs name, and each tool call's id, where recorded;
``cost_scopes``
    the spans above each tool call, where its LLM calls are looked for by time;
``cost_links``
    which tool calls each LLM call is linked to, and how the link was made;
``cost_shares``
    each link's share of the LLM call's cost and tokens;
``cost_calls``
    every MCP tool call with its fixed cost, its inference share and its value.

The attribution rule (also in the README and ``mcpobs cost --help``): the LLM
call that *asked for* a tool call is the one whose output names the call's
tool-call id, where the producer records both (``gen_ai.tool.call.id`` on the
tool call's span or the ``execute_tool`` span around it; the ``tool_call`` parts
of ``gen_ai.output.messages`` on the LLM call's span or its events); else the
last LLM call that ended before the tool call started, among the children of the
tool call's parent span, else of its grandparent, and so on up (an agent's own
LLM calls before another's, when sub-agents run at once in one trace), else
anywhere in the trace. The LLM call that *read the result* is the first that
started after the tool call ended, looked for the same way. This one link is
what every cost figure, the decisions section and the report's waterfall read.
An LLM call's cost is split equally among the tool calls linked to it, to the
pico-dollar, remainders going to the first calls by span id, so the shares add
up to the LLM call's cost exactly.
An LLM call linked to no tool call is *unattributed*. Client and server spans
of the same calls are attributed separately, each side adding up on its own.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mcpobs.cost.prices import PriceBook, Tokens, provider_id, to_pico
from mcpobs.ingest.dialects import LLM_CALL_PARAMETERS, llm_call, value_text
from mcpobs.sqlengine import DUCKDB, Engine

if TYPE_CHECKING:
    from mcpobs.analysis.sql import Calls
    from mcpobs.store import Store

# what tells two spans of one LLM call apart from two calls (NUMBERED_CANDIDATES)
RESPONSE_ID_KEY = "gen_ai.response.id"
_TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "reasoning_tokens")


@dataclass(frozen=True)
class CostOptions:
    """How to cost an analysis: the prices, and the span attribute that holds a value, if any."""

    prices: PriceBook = field(default_factory=PriceBook)
    value_attr: str | None = None


@dataclass
class Ledger:
    """What building the ledger found wrong with the data: one line each, for stderr."""

    notes: list[str] = field(default_factory=list)


def build(store: Calls, options: CostOptions) -> Ledger:
    """Price every LLM call in ``store`` and attribute the costs (see the module's docstring).

    On DuckDB the ledger is temporary tables on the store's connection; on ClickHouse, which mcpobs
    never writes to, it is the head of every cost section's query (:mod:`mcpobs.clickhouse.ledger`).
    """
    from mcpobs.store import Store

    if not isinstance(store, Store):
        from mcpobs.clickhouse import ClickHouseTraces
        from mcpobs.clickhouse.ledger import build_in_clickhouse

        assert isinstance(store, ClickHouseTraces)
        return build_in_clickhouse(store, options)
    con = store.con
    ledger = Ledger([f"{p} (left out)" for p in options.prices.problems])
    con.execute(f"CREATE OR REPLACE TEMP TABLE cost_candidates AS {candidates_sql(DUCKDB)}", LLM_CALL_PARAMETERS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE cost_ancestors AS {ANCESTORS}")
    _price(store, options.prices, ledger)
    _tool_call_ids(store)
    con.execute(f"CREATE OR REPLACE TEMP TABLE cost_scopes AS {SCOPES}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE cost_links AS {LINKS}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE cost_shares AS {shares_sql(DUCKDB)}")
    _fixed_prices(store, options.prices)
    _values(store, options.value_attr)
    con.execute(f"CREATE OR REPLACE TEMP TABLE cost_calls AS {CALLS}")
    return ledger


def candidates_sql(engine: Engine) -> str:
    """Spans with token usage, or a model and a model-call operation; with their bad token values
    (parameters: LLM_CALL_PARAMETERS)."""
    return f"""
        SELECT s.trace_id, s.span_id, s.parent_span_id, s.source_id, s.start_ns, s.end_ns,
            s.gen_ai_provider AS provider,
            coalesce(s.gen_ai_response_model, s.gen_ai_request_model) AS model,
            s.gen_ai_response_model AS response_model, s.gen_ai_request_model AS request_model,
            s.{", s.".join(_TOKEN_COLUMNS)},
            {engine.attribute_of("s.attributes", f"'{RESPONSE_ID_KEY}'")} AS response_id,
            -- a token count that is no whole number of tokens, or is negative: the key and the value as written
            {engine.invalid_counts("s.attributes", "llm_token_keys")} AS bad_tokens
        FROM spans s
        WHERE {llm_call(engine)}
        """


# A span whose descendants have usage of their own holds a total (an agent run's): never priced.
# Its ancestors, over cost_candidates and spans.
ANCESTORS = """
    WITH RECURSIVE multi AS (
        SELECT trace_id FROM cost_candidates GROUP BY trace_id HAVING count(*) > 1
    ), tree AS (
        SELECT trace_id, span_id, parent_span_id FROM spans WHERE trace_id IN (SELECT trace_id FROM multi)
    ), up(trace_id, ancestor, depth) AS (
        SELECT c.trace_id, c.parent_span_id, 1 FROM cost_candidates c
        WHERE c.trace_id IN (SELECT trace_id FROM multi) AND c.parent_span_id IS NOT NULL
        UNION ALL
        SELECT up.trace_id, t.parent_span_id, up.depth + 1
        FROM up JOIN tree t ON t.trace_id = up.trace_id AND t.span_id = up.ancestor
        WHERE t.parent_span_id IS NOT NULL AND up.depth < 100
    )
    SELECT DISTINCT trace_id, ancestor AS span_id FROM up
"""

# One LLM call traced twice: two instrumentations each with a span of it (OpenLLMetry's `anthropic.chat`
# beside the anthropic SDK's own `anthropic.messages.create`, siblings with the same usage), told by the
# same `gen_ai.response.id` in one trace. Each candidate, whether it holds a total over others (is in
# cost_ancestors), and its number among the copies of its call that hold none: all but the first (by
# start, then span id) are duplicates; a span around the call with the same id is its total, not a copy.
NUMBERED_CANDIDATES = """(
    SELECT c.*, a.span_id IS NOT NULL AS holds_total,
        row_number() OVER (PARTITION BY c.trace_id, c.response_id, a.span_id IS NOT NULL
            ORDER BY c.start_ns, c.span_id) AS copy
    FROM cost_candidates c LEFT JOIN cost_ancestors a ON a.trace_id = c.trace_id AND a.span_id = c.span_id
)"""

# Why a candidate has no price whatever the price data (NULL: it is priced, if its model has a price),
# over NUMBERED_CANDIDATES c, its bad_tokens counted as ``bad``.
STATE = """CASE WHEN c.holds_total THEN 'aggregate'
    WHEN c.response_id IS NOT NULL AND c.copy > 1 THEN 'duplicate'
    WHEN length(c.bad_tokens) > 0 THEN 'invalid tokens'
    WHEN c.input_tokens IS NULL AND c.output_tokens IS NULL THEN 'no usage' END"""

# Over cost_llm: a row that is an LLM call of its own, not a total over others nor a second span of one.
LLM_CALL_ROW = "status NOT IN ('aggregate', 'duplicate')"


def priced_tokens(engine: Engine) -> dict[str, str]:
    """SQL of a candidate ``c``'s usage as the conventions count it, the counts genai-prices is given.

    A producer that counts input without the cache (as Anthropic's API reports it) shows cache reads
    and writes beyond its input: they are added. Reasoning beyond the output is no reasoning count.
    """
    n = {col: f"coalesce(c.{col}, 0)" for col in _TOKEN_COLUMNS}
    cached = f"{n['cache_read_tokens']} + {n['cache_creation_tokens']}"
    return {
        "input": f"CASE WHEN {cached} > {n['input_tokens']} THEN {n['input_tokens']} + {cached} "
        f"ELSE {n['input_tokens']} END",
        "output": n["output_tokens"],
        "cache_read": n["cache_read_tokens"],
        "cache_write": n["cache_creation_tokens"],
        "reasoning": f"CASE WHEN {n['reasoning_tokens']} <= {n['output_tokens']} "
        f"THEN {n['reasoning_tokens']} ELSE 0 END",
    }


def flagged_sql(engine: Engine) -> str:
    """Each candidate, its usage as priced (``priced_*``), its :data:`STATE` as ``state``, and its first
    bad token count (key, text) as ``bad_key``, ``bad_text``."""
    tokens = ", ".join(f"{sql} AS priced_{kind}" for kind, sql in priced_tokens(engine).items())
    return f"""
        SELECT c.*, {STATE} AS state, {tokens},
            c.bad_tokens[1][1] AS bad_key, c.bad_tokens[1][2] AS bad_text
        FROM {NUMBERED_CANDIDATES} c
        """


@dataclass
class PricingNotes:
    """What pricing the LLM calls found wrong, counted as they are priced, then said once."""

    book: PriceBook
    unknown_providers: Counter[str] = field(default_factory=Counter)
    unpriced: Counter[tuple[str, str]] = field(default_factory=Counter)
    known: dict[str, bool] = field(default_factory=dict)
    duplicates: int = 0

    def count(self, provider: str | None, model: str, status: str, priced_as: str | None, calls: int = 1) -> None:
        """``calls`` LLM calls to ``model`` of ``provider`` had ``status`` (priced, no price)."""
        if status == "no price":
            self.unpriced[(provider or "", model)] += calls
        if provider and priced_as != "price file":
            if provider not in self.known:
                self.known[provider] = self.book.known_provider(provider)
            if not self.known[provider]:
                self.unknown_providers[provider] += calls

    def lines(self, bad: list[str], bad_count: int) -> list[str]:
        """The notes, with the first of the ``bad_count`` spans whose token counts are invalid, ``bad``."""
        out = [
            f"provider {provider!r} ({n} LLM call{'s' if n != 1 else ''}) is unknown to genai-prices "
            f"(as {provider_id(provider)!r}): its models are looked up by name alone"
            for provider, n in sorted(self.unknown_providers.items())
        ]
        out += [
            f"no price for model {model!r}{f' of {provider!r}' if provider else ''} "
            f"({n} LLM call{'s' if n != 1 else ''}): not counted in costs; give it a price with --prices"
            for (provider, model), n in sorted(self.unpriced.items())
        ]
        if self.duplicates:
            n = self.duplicates
            out.append(
                f"{n} LLM call{'s were' if n != 1 else ' was'} traced twice (two spans with the same "
                "gen_ai.response.id in a trace, as from two instrumentations): each is counted once"
            )
        out.extend(bad[:BAD_LISTED])
        if bad_count > BAD_LISTED:
            out.append(f"… and {bad_count - BAD_LISTED} more spans with invalid token counts")
        return out


# The spans with invalid token counts named one by one in the notes
BAD_LISTED = 10


def bad_note(where: str, span_id: str, key: str, text: str) -> str:
    return f"{where}: span {span_id}: {key} = {text!r} is not a token count; the call is left unpriced"


def _price(store: Store, book: PriceBook, ledger: Ledger) -> None:
    """Price each candidate in Python (genai-prices is a Python library); write the prices back."""
    con = store.con
    rows = con.execute(
        f"""
        SELECT c.trace_id, c.span_id, c.start_ns, c.provider, c.response_model, c.request_model, c.state,
            c.priced_input, c.priced_output, c.priced_cache_read, c.priced_cache_write, c.priced_reasoning,
            c.bad_key, c.bad_text, src.path
        FROM ({flagged_sql(DUCKDB)}) c LEFT JOIN sources src USING (source_id)
        """
    ).fetchall()
    out: dict[str, list[Any]] = {k: [] for k in ("trace_id", "span_id", "status", "cost_pico", "priced_as")}
    cache: dict[tuple[Any, ...], tuple[str, int | None, str | None]] = {}
    notes = PricingNotes(book)
    bad: list[str] = []
    for trace_id, span_id, start_ns, provider, response, request, state, *counts, bad_key, bad_text, path in rows:
        if state is not None:
            result: tuple[str, int | None, str | None] = (state, None, None)
            if state == "invalid tokens":
                bad.append(bad_note(path, span_id, bad_key, bad_text))
            elif state == "duplicate":
                notes.duplicates += 1
        else:
            tokens = Tokens(*counts)
            minute = start_ns // 60_000_000_000
            cache_key = (provider, response, request, tokens, minute)
            if cache_key not in cache:
                at = datetime.fromtimestamp(start_ns / 1e9, tz=UTC)
                price = book.price(provider, (response, request), tokens, at)
                if price is None:
                    cache[cache_key] = ("no price", None, None)
                else:
                    priced_as = price.model if price.source == "genai-prices" else "price file"
                    cache[cache_key] = ("priced", to_pico(price.usd), priced_as)
            result = cache[cache_key]
            notes.count(provider, response or request or "", result[0], result[2])
        out["trace_id"].append(trace_id)
        out["span_id"].append(span_id)
        out["status"].append(result[0])
        out["cost_pico"].append(result[1])
        out["priced_as"].append(result[2])
    ledger.notes.extend(notes.lines(bad, len(bad)))
    # the prices go back as lists bound to the statement: DuckDB imports pandas (about 200 ms of CPU)
    # before it scans any Python object, an Arrow table too
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE cost_llm AS
        WITH p AS (
            SELECT unnest(CAST($trace_id AS VARCHAR[])) AS trace_id, unnest(CAST($span_id AS VARCHAR[])) AS span_id,
                unnest(CAST($status AS VARCHAR[])) AS status, unnest(CAST($cost_pico AS BIGINT[])) AS cost_pico,
                unnest(CAST($priced_as AS VARCHAR[])) AS priced_as
        )
        SELECT {LLM_COLUMNS}, p.status, CAST(p.cost_pico AS HUGEINT) AS cost_pico, p.priced_as
        FROM cost_candidates c JOIN p USING (trace_id, span_id)
        """,
        out,
    )
    con.execute("DROP TABLE cost_candidates")
    con.execute("DROP TABLE cost_ancestors")


# cost_llm's columns from the candidate ``c``, before its status, price and what it was priced as
_LLM_KEYS = ("trace_id", "span_id", "parent_span_id", "source_id", "start_ns", "end_ns", "provider", "model")
LLM_COLUMNS = ", ".join(f"c.{col} AS {col}" for col in (*_LLM_KEYS, *_TOKEN_COLUMNS))


# The key of a tool call's id, on the tool call's span or a span around it (an execute_tool span),
# and of the messages an LLM call answered with, on its span or its events (GenAI conventions).
TOOL_CALL_ID_KEY = "gen_ai.tool.call.id"
OUTPUT_MESSAGES_KEY = "gen_ai.output.messages"
# How far up from a tool call's span its id is looked for: an agent's execute_tool span is its parent
# or grandparent; the server's span is one level further (its parent is the client's span).
_ID_DEPTH = 4


def _tool_call_ids(store: Store) -> None:
    """Write ``cost_requests`` and ``cost_call_ids`` (:func:`requests_sql`, :func:`call_ids_sql`)."""
    con = store.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE cost_requests AS {requests_sql(DUCKDB)}", REQUESTS_PARAMETERS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE cost_call_ids AS {call_ids_sql(DUCKDB)}", CALL_IDS_PARAMETERS)


REQUESTS_PARAMETERS = {"messages_key": OUTPUT_MESSAGES_KEY}
CALL_IDS_PARAMETERS = {"id_key": TOOL_CALL_ID_KEY}


def requests_sql(engine: Engine) -> str:
    """``cost_requests``: each tool-call id an LLM call's output names (the ``tool_call`` parts of its
    messages), over ``cost_llm`` and ``spans``; empty where the producer records none (parameters:
    :data:`REQUESTS_PARAMETERS`)."""
    return f"""
        WITH llm AS (
            SELECT trace_id, span_id, start_ns,
                {engine.attribute_texts("attributes", "events", "$messages_key")} AS texts
            FROM spans
            WHERE (trace_id, span_id) IN (SELECT trace_id, span_id FROM cost_llm WHERE {LLM_CALL_ROW})
        ), texts AS (
            SELECT trace_id, span_id, start_ns, {engine.unnest("texts")} AS text FROM llm
        ), parts AS (
            SELECT trace_id, span_id, start_ns, {engine.unnest(engine.json_message_parts("text"))} AS part
            FROM texts WHERE {engine.json_is_array("text")}
        )
        SELECT DISTINCT trace_id, span_id AS llm, start_ns, {engine.json_text("part", "id")} AS tool_call_id
        FROM parts
        WHERE {engine.json_text("part", "type")} = 'tool_call' AND {engine.json_text("part", "id")} IS NOT NULL
        """


def ancestors_sql(starts: str, columns: tuple[str, ...], tree: str, depth: int, engine: Engine) -> str:
    """Rows of ``starts`` (a query of ``columns``, ``trace_id`` and ``span_id`` among them), each with
    ``here`` and ``depth``: the span itself at depth 0, then its parent, its parent's parent… up to
    ``depth``, in ``tree`` (``trace_id``, ``span_id``, ``parent_span_id``). What a recursive walk finds,
    as one join a level, in SQL both engines run (ClickHouse has no recursive CTE that joins)."""
    joins = " ".join(
        f"LEFT JOIN {tree} t{i} ON t{i}.trace_id = s.trace_id AND t{i}.span_id = "
        + ("s.span_id" if i == 1 else f"t{i - 1}.parent_span_id")
        for i in range(1, depth + 1)
    )
    parents = ", ".join(f"t{i}.parent_span_id AS p{i}" for i in range(1, depth + 1))
    here = "CASE depth WHEN 0 THEN span_id " + " ".join(f"WHEN {i} THEN p{i}" for i in range(1, depth + 1)) + " END"
    levels = engine.unnest(f"[{', '.join(str(i) for i in range(depth + 1))}]")
    return f"""SELECT * FROM (
        SELECT *, {here} AS here FROM (
            SELECT {", ".join(f"s.{c} AS {c}" for c in columns)}, {parents}, {levels} AS depth FROM ({starts}) s {joins}
        ) AS chain
    ) AS walked WHERE here IS NOT NULL"""


def call_ids_sql(engine: Engine) -> str:
    """``cost_call_ids``: each MCP tool call's tool-call id, its own or its nearest ancestor's (an agent's
    ``execute_tool`` span), in the traces of ``cost_requests`` (parameters: :data:`CALL_IDS_PARAMETERS`).
    The LLM calls are few; the tool calls are looked at only in their traces."""
    calls = (
        "SELECT side, trace_id, span_id FROM mcp_calls "
        "WHERE method = 'tools/call' AND trace_id IN (SELECT trace_id FROM ids)"
    )
    up = ancestors_sql(calls, ("side", "trace_id", "span_id"), "tree", _ID_DEPTH, engine)
    return f"""
        WITH traces AS {engine.materialized}(
            SELECT DISTINCT trace_id FROM cost_requests
        ), tree AS {engine.materialized}(
            SELECT trace_id, span_id, parent_span_id FROM spans WHERE trace_id IN (SELECT trace_id FROM traces)
        ), ids AS {engine.materialized}(
            SELECT trace_id, span_id, {engine.attribute_of("attributes", "$id_key")} AS id
            FROM spans
            WHERE trace_id IN (SELECT trace_id FROM traces) AND {engine.has_attribute("attributes", "$id_key")}
        ), up AS ({up})
        -- the nearest: the call's own id, else its nearest ancestor's
        SELECT up.side AS side, up.trace_id AS trace_id, up.span_id AS call,
            {engine.arg_min("ids.id", "up.depth")} AS tool_call_id
        FROM up JOIN ids ON ids.trace_id = up.trace_id AND ids.span_id = up.here
        GROUP BY up.side, up.trace_id, up.span_id
        """


# How far up from a tool call its scopes are looked for (as far as ANCESTORS walks).
SCOPE_DEPTH = 100
# Each tool call's scopes: the spans above it, its parent first (``depth`` 1), in the traces of LLM calls.
SCOPES = f"""
WITH RECURSIVE tree AS MATERIALIZED (
    SELECT trace_id, span_id, parent_span_id FROM spans WHERE trace_id IN (SELECT trace_id FROM cost_llm)
), up(side, trace_id, call, scope, depth) AS (
    SELECT side, trace_id, span_id, parent_span_id, 1 FROM mcp_calls
    WHERE method = 'tools/call' AND parent_span_id IS NOT NULL AND trace_id IN (SELECT trace_id FROM cost_llm)
    UNION ALL
    SELECT up.side, up.trace_id, up.call, t.parent_span_id, up.depth + 1
    FROM up JOIN tree t ON t.trace_id = up.trace_id AND t.span_id = up.scope
    WHERE t.parent_span_id IS NOT NULL AND up.depth < {SCOPE_DEPTH}
)
SELECT side, trace_id, call, scope, depth FROM up
"""

# The link (see the module's docstring): `asked` by tool-call id where the call's id is named by an LLM
# call's output in the trace (the last such LLM call to start before the call did; the first after, where
# clocks disagree), else by time; `read` by time. By time, an LLM call is looked for among the children of
# the tool call's scopes (cost_scopes), its parent first, then its grandparent's …: the LLM calls of its
# own agent before another's (sub-agents running at once in one trace); else anywhere in the trace. An
# LLM call whose parent holds a total over it (OpenInference's span around the anthropic SDK's own, an
# agent run's usage) is a child of that parent's parent too, so that it is still its agent's.
LINKS = f"""
WITH llm_rows AS (
    SELECT trace_id, span_id, parent_span_id, start_ns, end_ns FROM cost_llm WHERE {LLM_CALL_ROW}
), steps AS (
    SELECT trace_id, span_id AS llm, parent_span_id AS scope, start_ns, end_ns FROM llm_rows
    UNION ALL
    SELECT l.trace_id AS trace_id, l.span_id AS llm, w.parent_span_id AS scope, l.start_ns AS start_ns,
        l.end_ns AS end_ns
    FROM llm_rows l JOIN cost_llm w ON w.trace_id = l.trace_id AND w.span_id = l.parent_span_id
    WHERE w.status = 'aggregate' AND w.parent_span_id IS NOT NULL
), tool_calls AS (
    SELECT side, trace_id, span_id AS call, start_ns, end_ns FROM mcp_calls WHERE method = 'tools/call'
), by_id AS (
    SELECT i.side AS side, i.trace_id AS trace_id, i.call AS call, r.llm AS llm
    FROM cost_call_ids i
    JOIN tool_calls c ON c.side = i.side AND c.trace_id = i.trace_id AND c.call = i.call
    JOIN cost_requests r ON r.trace_id = i.trace_id AND r.tool_call_id = i.tool_call_id
    QUALIFY row_number() OVER (
        PARTITION BY i.side, i.trace_id, i.call
        ORDER BY r.start_ns <= c.start_ns DESC,
            CASE WHEN r.start_ns <= c.start_ns THEN -r.start_ns ELSE r.start_ns END, r.llm
    ) = 1
), scoped AS (
    SELECT a.side AS side, a.trace_id AS trace_id, a.call AS call, a.scope AS scope, a.depth AS depth,
        c.start_ns AS start_ns, c.end_ns AS end_ns
    FROM cost_scopes a JOIN tool_calls c ON c.side = a.side AND c.trace_id = a.trace_id AND c.call = a.call
), asked_in_scope AS (
    SELECT a.side AS side, a.trace_id AS trace_id, a.call AS call, s.llm AS llm
    FROM scoped a ASOF JOIN steps s ON a.trace_id = s.trace_id AND a.scope = s.scope AND a.start_ns >= s.end_ns
    QUALIFY row_number() OVER (PARTITION BY a.side, a.trace_id, a.call ORDER BY a.depth) = 1
), read_in_scope AS (
    SELECT a.side AS side, a.trace_id AS trace_id, a.call AS call, s.llm AS llm
    FROM scoped a ASOF JOIN steps s ON a.trace_id = s.trace_id AND a.scope = s.scope AND a.end_ns <= s.start_ns
    QUALIFY row_number() OVER (PARTITION BY a.side, a.trace_id, a.call ORDER BY a.depth) = 1
), asked_in_trace AS (
    SELECT c.side AS side, c.trace_id AS trace_id, c.call AS call, s.llm AS llm
    FROM tool_calls c ASOF JOIN steps s ON c.trace_id = s.trace_id AND c.start_ns >= s.end_ns
), read_in_trace AS (
    SELECT c.side AS side, c.trace_id AS trace_id, c.call AS call, s.llm AS llm
    FROM tool_calls c ASOF JOIN steps s ON c.trace_id = s.trace_id AND c.end_ns <= s.start_ns
)
SELECT c.side AS side, c.trace_id AS trace_id, c.call AS call, coalesce(i.llm, p.llm, t.llm) AS llm,
    'asked' AS link, CASE WHEN i.llm IS NOT NULL THEN 'tool call id' ELSE 'time' END AS linked_by
FROM tool_calls c
LEFT JOIN by_id i USING (side, trace_id, call)
LEFT JOIN asked_in_scope p USING (side, trace_id, call)
LEFT JOIN asked_in_trace t USING (side, trace_id, call)
WHERE coalesce(i.llm, p.llm, t.llm) IS NOT NULL
UNION ALL
SELECT c.side AS side, c.trace_id AS trace_id, c.call AS call, coalesce(p.llm, t.llm) AS llm,
    'read' AS link, 'time' AS linked_by
FROM tool_calls c
LEFT JOIN read_in_scope p USING (side, trace_id, call)
LEFT JOIN read_in_trace t USING (side, trace_id, call)
WHERE coalesce(p.llm, t.llm) IS NOT NULL
"""


def equal_share(cost: str, n: str, rn: str, engine: Engine = DUCKDB) -> str:
    """SQL: the ``rn``-th (from 1) of ``n`` equal shares of ``cost`` pico-dollars, to the pico-dollar:
    the first (cost mod n) get one more, so the shares add up to the cost exactly."""
    return f"{engine.int_div(cost, n)} + CASE WHEN {rn} <= {cost} % {n} THEN 1 ELSE 0 END"


def shares_sql(engine: Engine) -> str:
    """Each link's equal share of its LLM call's cost and tokens (:func:`equal_share`)."""
    return f"""
SELECT k.side AS side, k.trace_id AS trace_id, k.call AS call, k.llm AS llm, k.link AS link,
    l.provider AS provider, l.model AS model, l.status AS status,
    {equal_share("l.cost_pico", "k.n", "k.rn", engine)} AS amount_pico,
    l.input_tokens / k.n AS input_tokens,
    l.output_tokens / k.n AS output_tokens,
    l.cache_read_tokens / k.n AS cache_read_tokens,
    l.cache_creation_tokens / k.n AS cache_creation_tokens
FROM (
    SELECT *, count(*) OVER (PARTITION BY side, trace_id, llm) AS n,
        row_number() OVER (PARTITION BY side, trace_id, llm ORDER BY call, link) AS rn
    FROM cost_links
) k
JOIN cost_llm l ON l.trace_id = k.trace_id AND l.span_id = k.llm
"""


def _fixed_prices(store: Store, book: PriceBook) -> None:
    con = store.con
    con.execute("CREATE OR REPLACE TEMP TABLE cost_fixed (kind VARCHAR, name VARCHAR, pico HUGEINT)")
    rows = [("tool", name, to_pico(usd)) for name, usd in book.tools.items()]
    rows += [("server", name, to_pico(usd)) for name, usd in book.servers.items()]
    if rows:
        con.executemany("INSERT INTO cost_fixed VALUES (?, ?, ?)", rows)


def _values(store: Store, attribute: str | None) -> None:
    """The numeric value of ``attribute`` on each span that carries it."""
    con = store.con
    con.execute("CREATE OR REPLACE TEMP TABLE cost_values (trace_id VARCHAR, span_id VARCHAR, value DOUBLE)")
    if attribute:
        con.execute(
            f"""
            INSERT INTO cost_values
            SELECT trace_id, span_id, {DUCKDB.try_double(value_text("v"))} AS value
            FROM (SELECT trace_id, span_id, list_filter(attributes, lambda a: a.key = $name)[1].value AS v FROM spans)
            WHERE v IS NOT NULL
            """,
            {"name": attribute},
        )


# A tool call's columns in cost_calls, as in mcp_calls
_CALL_KEYS = (
    "side", "trace_id", "span_id", "parent_span_id", "tool", "server", "client", "session", "session_key", "method",
    "target", "transport", "protocol_version", "start_ns", "failed", "succeeded",
)  # fmt: skip
CALLS = f"""
WITH shares AS (
    SELECT side, trace_id, call AS span_id, sum(amount_pico) AS inference_pico,
        sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
        sum(cache_read_tokens) AS cache_read_tokens, sum(cache_creation_tokens) AS cache_creation_tokens
    FROM cost_shares GROUP BY ALL
)
SELECT {", ".join(f"c.{column} AS {column}" for column in _CALL_KEYS)}, false AS is_notification,
    coalesce(t.pico, s.pico, 0) AS fixed_pico,
    coalesce(sh.inference_pico, 0) AS inference_pico,
    coalesce(t.pico, s.pico, 0) + coalesce(sh.inference_pico, 0) AS total_pico,
    coalesce(sh.input_tokens, 0) AS input_tokens, coalesce(sh.output_tokens, 0) AS output_tokens,
    coalesce(sh.cache_read_tokens, 0) AS cache_read_tokens,
    coalesce(sh.cache_creation_tokens, 0) AS cache_creation_tokens,
    v.value
FROM mcp_calls c
LEFT JOIN shares sh USING (side, trace_id, span_id)
LEFT JOIN cost_fixed t ON t.kind = 'tool' AND t.name = c.tool
LEFT JOIN cost_fixed s ON s.kind = 'server' AND s.name = c.server
LEFT JOIN cost_values v USING (trace_id, span_id)
WHERE c.method = 'tools/call'
"""
