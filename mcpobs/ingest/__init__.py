"""Loading input files into the store.

:func:`load` takes file arguments as a user gives them (files, directories,
globs, ``-``), tells each file's format by its content, and loads it in one
transaction: a file either loads whole or not at all, and what was loaded
before stays. A file already in the store (same size and head) is skipped; a
span already in the store (same trace and span id) is not added again.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mcpobs.errors import InputError, StoreError
from mcpobs.ingest import otlp_json, validate
from mcpobs.ingest.sources import Compression, Format, Source, expand, spool_dir

if TYPE_CHECKING:
    import duckdb

    from mcpobs.store import Store

# progress(source, fraction done of that source, or None when unknown)
Progress = Callable[[Source, float | None], None]


@dataclass
class SourceReport:
    """What loading one file did."""

    name: str
    format: str
    spans: int = 0
    duplicate_spans: int = 0
    skipped_lines: list[validate.Problem] = field(default_factory=list)
    already_loaded: bool = False


@dataclass
class LoadReport:
    """What a whole :func:`load` did, file by file."""

    sources: list[SourceReport] = field(default_factory=list)

    @property
    def spans(self) -> int:
        return sum(s.spans for s in self.sources)

    @property
    def skipped_lines(self) -> int:
        return sum(len(s.skipped_lines) for s in self.sources)

    @property
    def duplicate_spans(self) -> int:
        return sum(s.duplicate_spans for s in self.sources)


def load(
    store: Store,
    arguments: Iterable[str],
    *,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Load every file named by ``arguments`` into ``store``.

    With ``skip_invalid`` a malformed line is left out and counted in the
    report; without it the first one stops the load with an :class:`InputError`
    naming its file and line (files loaded before it stay loaded).
    """
    report = LoadReport()
    with spool_dir() as tmp:
        spool = Path(tmp)
        for source in expand(arguments, spool):
            report.sources.append(_load_source(store, source, spool, skip_invalid, progress))
    return report


def _load_source(
    store: Store, source: Source, spool: Path, skip_invalid: bool, progress: Progress | None
) -> SourceReport:
    import duckdb

    result = SourceReport(source.name, source.format.value)
    fingerprint = source.fingerprint()
    known = store.con.execute("SELECT 1 FROM sources WHERE fingerprint = ?", [fingerprint]).fetchone()
    if known:
        result.already_loaded = True
        return result
    json_source = source
    if source.format not in (Format.OTLP_JSON_LINES, Format.OTLP_JSON):
        target = _spool_file(spool)
        # each converter is imported for its own format only (protobuf's generated classes, YAML)
        if source.format in (Format.OTLP_PROTO, Format.OTLP_PROTO_FRAMED):
            from mcpobs.ingest import otlp_proto

            otlp_proto.spool_as_json_lines(source, target)
        else:
            from mcpobs.ingest import eventlog

            eventlog.spool_as_json_lines(source, target)
        json_source = _json_lines(source.name, target)
    try:
        _insert(store, source, json_source, fingerprint, result, progress)
    except duckdb.OutOfMemoryException as e:
        raise StoreError(f"{source.name}: out of memory loading it: {_describe(e)}; raise --memory-limit") from None
    except (duckdb.Error, _InvalidRows) as failure:
        found = list(validate.problems(json_source))
        if not found:
            raise InputError(source.name, f"cannot load: {_describe(failure)}") from None
        if not skip_invalid or json_source.format is not Format.OTLP_JSON_LINES:
            first = found[0]
            raise InputError(source.name, first.message, first.line, unit=_unit(source)) from None
        result.skipped_lines = found
        cleaned = _spool_file(spool)
        _write_without(json_source, {p.line for p in found}, cleaned)
        try:
            _insert(store, source, _json_lines(source.name, cleaned), fingerprint, result, progress)
        except (duckdb.Error, _InvalidRows) as e:
            raise InputError(source.name, f"cannot load: {_describe(e)}") from None
    return result


def _spool_file(spool: Path) -> Path:
    return spool / f"spool-{len(list(spool.iterdir()))}.jsonl"


def _json_lines(name: str, path: Path) -> Source:
    """A spooled file of OTLP JSON lines, standing for the input called ``name``."""
    return Source(name, path, path.stat().st_size, Compression.NONE, Format.OTLP_JSON_LINES)


class _InvalidRows(Exception):
    """DuckDB loaded rows that the schema allows but OTLP does not (an unknown enum name)."""


def _insert(
    store: Store,
    source: Source,
    json_source: Source,
    fingerprint: str,
    result: SourceReport,
    progress: Progress | None,
) -> None:
    json_format = "newline_delimited" if json_source.format is Format.OTLP_JSON_LINES else "unstructured"
    with store.transaction() as con:
        next_id = con.execute("SELECT coalesce(max(source_id), 0) + 1 FROM sources").fetchone()
        assert next_id is not None
        source_id = int(next_id[0])
        parameters: dict[str, object] = {
            "path": str(json_source.path),
            "compression": json_source.compression.value,
            "source_id": source_id,
        }
        _run(con, otlp_json.insert_sql(json_format), parameters, source, progress)
        row = con.execute(
            "SELECT count(*), count(*) FILTER (kind IS NULL OR status_code IS NULL) FROM spans WHERE source_id = ?",
            [source_id],
        ).fetchone()
        assert row is not None
        loaded, invalid = int(row[0]), int(row[1])
        if invalid:
            raise _InvalidRows(f"{invalid} spans with an unknown kind or status code")
        duplicates = _drop_duplicates(con, source_id)
        _unwrap(con, source_id)
        _link_peers(con, source_id)
        link_rounds(con, source_id)
        result.spans = loaded - duplicates
        result.duplicate_spans = duplicates
        con.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source_id,
                source.name,
                source.format.value,
                source.size,
                fingerprint,
                datetime.now(UTC),
                result.spans,
                duplicates,
                len(result.skipped_lines),
            ],
        )


def _drop_duplicates(con: duckdb.DuckDBPyConnection, source_id: int) -> int:
    """Delete this source's spans that the store already had, or that the source repeats.

    Both checks look before they delete: in the common case there is nothing to
    delete, and a grouping costs less than a window over every new span. The look
    counts distinct hashes of the two ids: spans with the same ids have the same
    hash, so no repeated hash means no repeated span (a hash collision only sends
    the load through the exact delete below), at half the cost of grouping the text.
    """
    older = con.execute("SELECT count(*) FROM sources").fetchone()
    repeated = con.execute(
        "SELECT count(*) > count(DISTINCT hash(trace_id, span_id)) FROM spans WHERE source_id = $id",
        {"id": source_id},
    ).fetchone()
    if not (older and older[0]) and not (repeated and repeated[0]):
        return 0
    row = con.execute(
        """
        DELETE FROM spans WHERE source_id = $id AND rowid IN (
            SELECT n.rowid FROM spans AS n
            WHERE n.source_id = $id AND EXISTS (
                SELECT 1 FROM spans AS o
                WHERE o.source_id < $id AND o.trace_id = n.trace_id AND o.span_id = n.span_id)
            UNION ALL
            SELECT rowid FROM spans WHERE source_id = $id
            QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY rowid) > 1
        )
        """,
        {"id": source_id},
    ).fetchone()
    return int(row[0]) if row else 0


def _unwrap(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Make a span that wraps an MCP span of the same call no call itself.

    FastMCP's client spans (`tools/call add`) each hold the mcp SDK's span of the request it sends
    (`MCP send tools/call add`): one call, two spans of the same side and method, parent and child.
    The child, the JSON-RPC request itself, is the call; the wrapper stays a span.
    """
    con.execute(
        """
        UPDATE spans AS w SET mcp_method = NULL, mcp_target = NULL, mcp_side = NULL,
            session_key = NULL, call_key = NULL
        FROM spans AS c
        WHERE c.trace_id = w.trace_id AND c.parent_span_id = w.span_id
            AND c.mcp_method = w.mcp_method AND c.mcp_side = w.mcp_side
            AND (c.mcp_target IS NULL OR w.mcp_target IS NULL OR c.mcp_target = w.mcp_target)
            AND (c.source_id = $id OR w.source_id = $id)
        """,
        {"id": source_id},
    )


def _link_peers(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Give client calls the service of the server span that answered them.

    Either side may come from this source: its client calls meet server spans
    loaded before, and its server spans answer client calls loaded before.
    """
    con.execute(
        """
        UPDATE spans AS c SET peer_service = p.service_name
        FROM (
            SELECT trace_id, parent_span_id, any_value(service_name) AS service_name, max(source_id) AS source_id
            FROM spans WHERE mcp_side = 'server' AND parent_span_id IS NOT NULL
            GROUP BY trace_id, parent_span_id
        ) AS p
        WHERE c.mcp_side = 'client' AND c.trace_id = p.trace_id AND c.span_id = p.parent_span_id
            AND (c.source_id = $id OR p.source_id = $id)
        """,
        {"id": source_id},
    )


def link_rounds(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Fold the spans that are rounds of one 2026-07-28 multi round-trip call into one call per side.

    mcpobs's span of such a call (``rounds`` > 1) links to each round's own client span: those are
    rounds of it, not calls. The server spans answering them (their children) are one call too: the
    last round's span carries it, with the first round's start and the rounds' count; the others are
    rounds of it. Either side may come from this source, as in :func:`_link_peers`.
    """
    linked = """
        SELECT span_id AS call, mcp_side AS side, source_id AS call_source,
            lower(link ->> 'traceId') AS trace_id, lower(link ->> 'spanId') AS span_id, i
        FROM (
            SELECT span_id, mcp_side, source_id, unnest(CAST(links AS JSON[])) AS link,
                generate_subscripts(CAST(links AS JSON[]), 1) AS i
            FROM spans WHERE rounds > 1 AND links IS NOT NULL
        )
    """
    con.execute(
        f"""
        UPDATE spans AS r SET round_of = l.call
        FROM ({linked}) AS l
        WHERE r.trace_id = l.trace_id AND r.span_id = l.span_id AND r.mcp_side = l.side AND r.rounds = 1
            AND (r.source_id = $id OR l.call_source = $id)
        """,
        {"id": source_id},
    )
    con.execute(
        f"""
        UPDATE spans AS s SET
            round_of = CASE WHEN s.span_id = g.last_span THEN NULL ELSE g.last_span END,
            rounds = CASE WHEN s.span_id = g.last_span THEN g.n ELSE 1 END,
            call_start_ns = CASE WHEN s.span_id = g.last_span THEN g.first_start END
        FROM (
            SELECT sv.*, g.last_span, g.first_start, g.n, g.touched FROM (
                SELECT l.call, s.trace_id, s.span_id, s.start_ns, s.source_id, l.call_source, l.i
                FROM ({linked}) AS l JOIN spans AS s
                    ON s.trace_id = l.trace_id AND s.parent_span_id = l.span_id
                WHERE s.mcp_side = 'server' AND l.side = 'client'
            ) AS sv JOIN (
                SELECT call, arg_max(span_id, i) AS last_span, min(start_ns) AS first_start, count(*) AS n,
                    bool_or(source_id = $id OR call_source = $id) AS touched
                FROM (
                    SELECT l.call, s.span_id, s.start_ns, s.source_id, l.call_source, l.i
                    FROM ({linked}) AS l JOIN spans AS s
                        ON s.trace_id = l.trace_id AND s.parent_span_id = l.span_id
                    WHERE s.mcp_side = 'server' AND l.side = 'client'
                ) GROUP BY call HAVING count(*) > 1
            ) AS g USING (call)
        ) AS g
        WHERE s.trace_id = g.trace_id AND s.span_id = g.span_id AND g.touched
        """,
        {"id": source_id},
    )


def _run(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    parameters: dict[str, object],
    source: Source,
    progress: Progress | None,
) -> None:
    """Execute ``sql``, reporting DuckDB's own progress while it runs."""
    if progress is None:
        con.execute(sql, parameters)
        return
    failure: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(sql, parameters)
        except BaseException as e:
            failure.append(e)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    progress(source, 0.0)
    while worker.is_alive():
        worker.join(0.1)
        done = con.query_progress()
        progress(source, done / 100 if done >= 0 else None)
    progress(source, 1.0)
    if failure:
        raise failure[0]


def _write_without(source: Source, lines: set[int], target: Path) -> None:
    with source.open_binary() as f, target.open("wb") as out:
        try:
            for number, raw in enumerate(f, start=1):
                if number not in lines:
                    out.write(raw)
        except (EOFError, OSError, zlib.error):
            pass  # a compressed stream cut short: its whole lines are written, the cut is a skipped line


def _unit(source: Source) -> str:
    return "record " if source.format is Format.OTLP_PROTO_FRAMED else ""


def _describe(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
