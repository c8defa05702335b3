"""The cost ledger on ClickHouse: the DuckDB ledger's tables, as temporary tables of the session.

mcpobs never writes to a ClickHouse table; :func:`mcpobs.cost.build`'s tables are temporary tables of
the session here too (gone when it closes, as the call model's :data:`mcpobs.clickhouse.SPANS_TABLE`),
from the same SQL (:mod:`mcpobs.cost.ledger`), written once per command. Pricing is the one step that
runs in Python: one aggregate query brings back each model's LLM calls by minute (what a price depends
on besides the tokens), genai-prices gives each its price, and :mod:`mcpobs.cost.linear` turns that
price into integer arithmetic on the tokens, which goes back as a query parameter. ClickHouse then prices every
call itself, to the pico-dollar genai-prices' own figure rounds to, and shares the costs out; only
the sections' aggregates leave it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mcpobs.cost.ledger import (
    BAD_LISTED,
    CALL_IDS_PARAMETERS,
    CALLS,
    LINKS,
    LLM_COLUMNS,
    REQUESTS_PARAMETERS,
    SCOPE_DEPTH,
    CostOptions,
    Ledger,
    PricingNotes,
    bad_note,
    call_ids_sql,
    candidates_sql,
    flagged_sql,
    requests_sql,
    shares_sql,
)
from mcpobs.cost.linear import KINDS, Formula, NotLinear, formula
from mcpobs.cost.prices import to_pico
from mcpobs.errors import UsageError
from mcpobs.ingest.dialects import LLM_CALL_PARAMETERS
from mcpobs.sqlengine import CLICKHOUSE

if TYPE_CHECKING:
    from genai_prices.types import ModelPrice

    from mcpobs.clickhouse import ClickHouseTraces

_E = CLICKHOUSE
_MINUTE_NS = 60_000_000_000
# what a call's price depends on besides its tokens: the model asked and answering, and the time
_PRICE_KEY = _E.hash("provider", "response_model", "request_model", _E.int_div("start_ns", str(_MINUTE_NS)))
_PRICE_TYPE = (
    "Array(Tuple(key UInt64, status String, priced_as Nullable(String), denominator String, "
    "tiers Array(Tuple(above Int64, constant String, rates Array(String)))))"
)
# mcpobs.cost.ledger.ANCESTORS, each trace's walk up from its candidates' parents as one fold over the
# trace's parents: a recursive CTE is planned again at each step, and read again at each reference
_MULTI = "SELECT trace_id FROM cost_candidates GROUP BY trace_id HAVING count(*) > 1"
_ANCESTORS = f"""
    SELECT trace_id, arrayJoin(arrayDistinct(arrayFlatten(arrayMap(start -> arrayFold(
        (walk, step) -> if(walk.1 IS NULL, walk,
            (parents[assumeNotNull(walk.1)], arrayPushBack(walk.2, assumeNotNull(walk.1)))),
        range(100), CAST((start, []), 'Tuple(Nullable(String), Array(String))')).2, starts)))) AS span_id
    FROM (
        SELECT trace_id, groupArrayIf(parent_span_id, parent_span_id IS NOT NULL) AS starts FROM cost_candidates
        WHERE trace_id IN ({_MULTI}) GROUP BY trace_id
    ) AS c JOIN (
        SELECT trace_id, mapFromArrays(arrayMap(s -> s.1, tree), arrayMap(s -> s.2, tree)) AS parents FROM (
            SELECT trace_id, groupArray((span_id, parent_span_id)) AS tree FROM spans
            WHERE trace_id IN ({_MULTI}) GROUP BY trace_id)
    ) AS t USING (trace_id)
"""
_FIXED_TYPE = "Array(Tuple(kind String, name String, pico String))"
# mcpobs.cost.ledger.SCOPES, each tool call's walk up from its parent as one fold over its trace's parents
_LLM_TRACES = "SELECT trace_id FROM cost_llm"
_SCOPES = f"""
    SELECT side, trace_id, call, scope, depth FROM (
        SELECT c.side AS side, c.trace_id AS trace_id, c.span_id AS call, arrayFold(
            (walk, step) -> if(walk.1 IS NULL, walk,
                (t.parents[assumeNotNull(walk.1)], arrayPushBack(walk.2, assumeNotNull(walk.1)))),
            range({SCOPE_DEPTH}), CAST((c.parent_span_id, []), 'Tuple(Nullable(String), Array(String))')).2 AS path
        FROM (
            SELECT side, trace_id, span_id, parent_span_id FROM mcp_calls
            WHERE method = 'tools/call' AND parent_span_id IS NOT NULL AND trace_id IN ({_LLM_TRACES})
        ) AS c JOIN (
            SELECT trace_id, mapFromArrays(arrayMap(s -> s.1, tree), arrayMap(s -> s.2, tree)) AS parents FROM (
                SELECT trace_id, groupArray((span_id, parent_span_id)) AS tree FROM spans
                WHERE trace_id IN ({_LLM_TRACES}) GROUP BY trace_id)
        ) AS t USING (trace_id)
    ) ARRAY JOIN path AS scope, arrayEnumerate(path) AS depth
"""


# cost_llm from cost_flagged c, each call's price tier and formula as cost_prices (a parameter) gives it
def _llm() -> str:
    tier = "arrayLast(t -> c.priced_input > t.above, p.tiers)"
    rated = " + ".join(
        f"toInt128OrZero(tupleElement({tier}, 'rates')[{i}]) * c.priced_{kind}" for i, kind in enumerate(KINDS, start=1)
    )
    return f"""WITH cost_price_table AS (SELECT p.key AS key, p.status AS status, p.priced_as AS priced_as,
    toInt128(p.denominator) AS denominator, p.tiers AS tiers
    FROM (SELECT arrayJoin(JSONExtract($cost_prices, '{_PRICE_TYPE}')) AS p)),
cost_rated AS (
    SELECT c.*, p.status AS price_status, p.priced_as AS price_as, p.denominator AS denominator,
        toInt128OrZero(tupleElement({tier}, 'constant')) + {rated} AS numerator
    FROM cost_flagged c LEFT JOIN cost_price_table p ON p.key = c.price_key
)
-- the price in whole pico-dollars, rounded half-even as mcpobs.cost.prices.to_pico rounds
SELECT {LLM_COLUMNS}, coalesce(c.state, c.price_status) AS status,
    CASE WHEN c.state IS NULL AND c.price_status = 'priced' THEN
        intDiv(c.numerator, c.denominator) + if(2 * (c.numerator % c.denominator) > c.denominator
            OR (2 * (c.numerator % c.denominator) = c.denominator AND intDiv(c.numerator, c.denominator) % 2 = 1),
            1, 0) END AS cost_pico,
    CASE WHEN c.state IS NULL THEN c.price_as END AS priced_as
FROM cost_rated c"""


def build_in_clickhouse(store: ClickHouseTraces, options: CostOptions) -> Ledger:
    """Price the LLM calls of ``store`` (a ClickHouse table) and write the ledger's tables, as
    :func:`mcpobs.cost.build` does on DuckDB: temporary tables of the session, which every cost
    section then reads (as CTEs at the head of each section's query, the whole ledger was planned and
    run again by every section)."""
    book = options.prices
    ledger = Ledger([f"{p} (left out)" for p in book.problems])
    store.temporary("cost_candidates", candidates_sql(_E), LLM_CALL_PARAMETERS)
    store.temporary("cost_ancestors", _ANCESTORS)
    store.temporary("cost_flagged", f"SELECT *, {_PRICE_KEY} AS price_key FROM ({flagged_sql(_E)})")
    keys = store.run(
        """SELECT price_key, provider, response_model, request_model, min(start_ns), count(*) FROM cost_flagged
        WHERE state IS NULL GROUP BY price_key, provider, response_model, request_model""",
        {},
    )
    notes = PricingNotes(book)
    formulas: dict[int, Formula] = {}
    table: list[list[Any]] = []
    for key, provider, response, request, first_ns, calls in keys:
        resolved = book.resolve(provider, (response, request), datetime.fromtimestamp(first_ns / 1e9, tz=UTC))
        if resolved is None:
            table.append([key, "no price", None, "1", []])
            notes.count(provider, response or request or "", "no price", None, calls)
            continue
        priced_as = resolved.model if resolved.source == "genai-prices" else "price file"
        found = formulas.get(id(resolved.prices)) or _formula(resolved.prices, resolved.model)
        formulas[id(resolved.prices)] = found
        tiers = [[t.above, str(t.constant), [str(r) for r in t.rates]] for t in found.tiers]
        table.append([key, "priced", priced_as, str(found.denominator), tiers])
        notes.count(provider, response or request or "", "priced", priced_as, calls)
    ((bad_count, bad),) = store.run(
        f"""SELECT count(*), arraySlice(arraySort(groupArray((span_id, bad_key, bad_text))), 1, {BAD_LISTED})
        FROM cost_flagged WHERE state = 'invalid tokens'""",
        {},
    )
    ((notes.duplicates,),) = store.run("SELECT count(*) FROM cost_flagged WHERE state = 'duplicate'", {})
    ledger.notes.extend(notes.lines([bad_note(store.sources[0], *span) for span in bad], bad_count))
    store.temporary("cost_llm", _llm(), {"cost_prices": json.dumps(table)})
    for name in ("cost_candidates", "cost_ancestors", "cost_flagged"):
        store.drop(name)
    store.temporary("cost_requests", requests_sql(_E), REQUESTS_PARAMETERS)
    store.temporary("cost_call_ids", call_ids_sql(_E), CALL_IDS_PARAMETERS)
    store.temporary("cost_scopes", _SCOPES)
    store.temporary("cost_links", LINKS)
    store.temporary("cost_shares", shares_sql(_E))
    fixed = [["tool", name, str(to_pico(usd))] for name, usd in book.tools.items()]
    fixed += [["server", name, str(to_pico(usd))] for name, usd in book.servers.items()]
    store.temporary(
        "cost_fixed",
        f"""SELECT f.kind AS kind, f.name AS name, toInt128(f.pico) AS pico
        FROM (SELECT arrayJoin(JSONExtract($cost_fixed, '{_FIXED_TYPE}')) AS f)""",
        {"cost_fixed": json.dumps(fixed)},
    )
    _values(store, options.value_attr)
    store.temporary("cost_calls", CALLS)
    return ledger


def _values(store: ClickHouseTraces, attribute: str | None) -> None:
    """The numeric value of ``attribute`` on each span that carries it, as :func:`mcpobs.cost.ledger._values`
    reads it: from the table's own spans (the call model keeps no attribute but the ledger's)."""
    if not attribute:
        store.temporary(
            "cost_values", "SELECT '' AS trace_id, '' AS span_id, CAST(NULL AS Nullable(Float64)) AS value WHERE false"
        )
        return
    columns = f"TraceId AS trace_id, SpanId AS span_id, {_E.try_double('SpanAttributes[$name]')} AS value"
    store.temporary("cost_values", store.scan(columns, "mapContains(SpanAttributes, $name)"), {"name": attribute})


def _formula(prices: ModelPrice, model: str) -> Formula:
    try:
        return formula(prices)
    except NotLinear as e:
        raise UsageError(f"not yet supported on {CLICKHOUSE.title}: the prices of {model!r}: {e}") from None
