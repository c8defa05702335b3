"""What the argument checks (:mod:`mcpobs.arguments.check`) read and write, on ClickHouse.

The checks run in Python, with jsonschema, on either engine: what they need is read here, and their
verdicts go back as a temporary table of the session, which the argument sections
(:mod:`mcpobs.analysis.arguments`) read as they read DuckDB's. The call model keeps none of the
attributes they read (a call's arguments, its result, a tools/list answer): those are read from the
table's own spans, for the tool calls and list calls alone (:meth:`ClickHouseTraces.scan`). A value is
the exporter's text (``AsString()``): a JSON attribute's as written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcpobs.clickhouse import ClickHouseTraces

# Each chunk of verdicts a query parameter carries: a server takes its parameters in the URL, which
# it reads up to http_max_uri_size (1 MiB by default), and encoding may double the JSON's size.
CHUNK_CHARACTERS = 256 * 1024
# The verdicts' columns as the DuckDB table has them (mcpobs.arguments.check.build)
_TYPES = {
    "trace_id": "String",
    "span_id": "String",
    "source_id": "Int32",
    "recorded": "Bool",
    "shape": "Nullable(String)",
    "checked": "Bool",
    "error": "Nullable(String)",
    "arguments": "Nullable(String)",
    "result_checked": "Bool",
    "result_error": "Nullable(String)",
    "result": "Nullable(String)",
}


def _first(parameter: str) -> str:
    """The value of a span's first attribute, in its own order, whose key is in the list bound to
    ``parameter``; NULL where it has none (as DuckDB's ``list_filter(attributes, …)[1]``)."""
    found = f"arrayFirstIndex(k -> has(${parameter}, k), mapKeys(SpanAttributes))"
    return f"if({found} = 0, NULL, mapValues(SpanAttributes)[{found}])"


def _held(store: ClickHouseTraces, selected: str, columns: str) -> str:
    """The query of ``columns`` of the table's spans that the CTE ``selected`` names (trace_id, span_id)."""
    return store.scan(
        f"TraceId AS trace_id, SpanId AS span_id, {columns}",
        f"(TraceId, SpanId) IN (SELECT trace_id, span_id FROM {selected})",
    )


def _paged(store: ClickHouseTraces, sql: str, params: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
    """Every row of ``sql`` (ordered by a whole key), read ``max_result_rows`` at a time: the checks need
    each tool call's own values, the one part of the analysis that is no aggregate, and a window may hold
    more calls than one result may have rows."""
    from mcpobs.clickhouse import SETTINGS

    size = int(SETTINGS["max_result_rows"])
    rows: list[tuple[Any, ...]] = []
    while True:
        page = store.run(f"{sql} LIMIT {size} OFFSET {len(rows)}", params)
        rows += page
        if len(page) < size:
            return tuple(rows)


def list_results(store: ClickHouseTraces, keys: Sequence[str], methods: Sequence[str]) -> tuple[tuple[Any, ...], ...]:
    """The rows :func:`mcpobs.catalog.definitions.advertised` reads on DuckDB: each succeeded list call
    of ``methods`` with the first of its attributes ``keys`` (the answer), in the order they started."""
    sql = f"""{store.calls_cte}
    , listed AS (
        SELECT trace_id, span_id, method, server, protocol_version, source_id, session,
            coalesce(side, 'unknown') AS side, start_ns, end_ns
        FROM mcp_calls WHERE {store.engine.list_has("methods", "method")} AND succeeded
    ), held AS ({_held(store, "listed", f"{_first('keys')} AS result")})
    SELECT l.method, l.server, l.protocol_version, $path, h.result, l.source_id, l.session, l.side, l.end_ns
    FROM listed l LEFT JOIN held h ON h.trace_id = l.trace_id AND h.span_id = l.span_id
    ORDER BY l.start_ns, l.span_id, l.trace_id
    """
    return _paged(store, sql, {"keys": list(keys), "methods": list(methods), "path": store.sources[0]})


def tool_calls(store: ClickHouseTraces, params: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
    """The rows :func:`mcpobs.arguments.check.build` reads on DuckDB (its ``_CALLS``, whose parameters
    ``params`` binds): each tool call with its arguments' and result's attributes."""
    structured = "if(mapContains(SpanAttributes, $structured), SpanAttributes[$structured], NULL)"
    held = ", ".join(
        (
            f"{_first('arguments')} AS arguments",
            f"{_first('requests')} AS request",
            "ScopeName = $recording AS recording",
            f"{structured} AS structured",
            f"{_first('results')} AS result",
        )
    )
    sql = f"""{store.calls_cte}
    , selected AS (
        SELECT trace_id, span_id, source_id, session, server, tool, start_ns, succeeded
        FROM mcp_calls WHERE method = 'tools/call' AND NOT is_notification
    ), held AS ({_held(store, "selected", held)})
    SELECT c.trace_id, c.span_id, c.source_id, c.session, c.server, c.tool, c.start_ns,
        h.arguments, h.request, coalesce(h.recording, false), c.succeeded, h.structured, h.result
    FROM selected c LEFT JOIN held h ON h.trace_id = c.trace_id AND h.span_id = c.span_id
    ORDER BY c.start_ns, c.span_id, c.trace_id
    """
    return _paged(store, sql, params)


def write_checks(store: ClickHouseTraces, table: str, columns: dict[str, list[Any]]) -> None:
    """The verdicts ``columns`` (each column's values, in :data:`_TYPES`' order) as the session's temporary
    table ``table``: each chunk of them a query parameter (JSON), the chunks' tables then put together."""
    assert tuple(columns) == tuple(_TYPES)
    kind = "Array(Tuple(" + ", ".join(f"{name} {t}" for name, t in _TYPES.items()) + "))"
    select = ", ".join(f"c.{name} AS {name}" for name in _TYPES)
    chunks: list[str] = []
    texts: list[str] = []
    size = 0

    def flush() -> None:
        name = f"{table}_{len(chunks)}"
        store.temporary(
            name,
            f"SELECT {select} FROM (SELECT arrayJoin(JSONExtract($checks, '{kind}')) AS c)",
            {"checks": "[" + ",".join(texts) + "]"},
        )
        chunks.append(name)
        texts.clear()

    for row in zip(*columns.values(), strict=True):
        text = json.dumps(row, ensure_ascii=False)
        if texts and size + len(text) > CHUNK_CHARACTERS:
            flush()
            size = 0
        texts.append(text)
        size += len(text) + 1
    if texts or not chunks:
        flush()
    store.temporary(table, " UNION ALL ".join(f"SELECT * FROM {name}" for name in chunks))
    for name in chunks:
        store.drop(name)
