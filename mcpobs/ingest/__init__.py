"""Loading input files into the store.

:func:`load` takes file arguments as a user gives them (files, directories,
globs, ``-``), tells each file's format by its content, and loads it in one
transaction: a file either loads whole or not at all, and what was loaded
before stays. A file already in the store (the same content: its SHA-256) is
skipped; a span already in the store (same trace and span id) is not added again,
but an event log's call and the client's own span of it become one span. Which copy of a
span stays does not depend on the order of the files.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from mcpobs import interrupt
from mcpobs.errors import InputError, StoreError
from mcpobs.eventlog.otlp import SCOPE as EVENT_LOG_SCOPE
from mcpobs.ingest import otlp_json, rounds, validate
from mcpobs.ingest.dialects import content_hash, keys, peer_services_sql, richness, wraps_sql
from mcpobs.ingest.sources import Compression, ContentHash, Format, Source, expand, spool_dir

if TYPE_CHECKING:
    import duckdb

    from mcpobs.store import Store

# progress(source, fraction done of that source, or None when unknown)
Progress = Callable[[Source, float | None], None]
R = TypeVar("R")


@dataclass
class SourceReport:
    """What loading one file did."""

    name: str
    format: str
    spans: int = 0
    duplicate_spans: int = 0
    skipped_lines: list[validate.Problem] = field(default_factory=list)
    already_loaded: bool = False
    same_as: str | None = None  # when already loaded: the file loaded before with the same content
    backwards_spans: int = 0  # spans that end before they start: loaded, but left out of latency figures
    # spans another file loaded before gave with other content (same trace and span id): how many, and one
    # of them ("span S of trace T, also in F"); which copy stays does not depend on the order of the files
    conflicting_spans: int = 0
    conflict_example: str | None = None


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

    @property
    def backwards_spans(self) -> int:
        return sum(s.backwards_spans for s in self.sources)

    @property
    def already_loaded(self) -> list[SourceReport]:
        return [s for s in self.sources if s.already_loaded]


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
        forget = interrupt.on_signal(None, spool)  # removed even when a stop runs out of time
        try:
            for source in expand(arguments, spool):
                report.sources.append(_load_source(store, source, spool, skip_invalid, progress))
        finally:
            forget()
    return report


def _load_source(
    store: Store, source: Source, spool: Path, skip_invalid: bool, progress: Progress | None
) -> SourceReport:
    result = SourceReport(source.name, source.format.value)
    content = ContentHash(source)
    try:
        # a file the size of one loaded before may be that file: its hash decides before anything is
        # loaded (one read, no load); any other is new, and hashed while it loads
        if store.con.execute("SELECT 1 FROM sources WHERE size_bytes = ?", [source.size]).fetchone():
            earlier = store.con.execute(
                "SELECT path FROM sources WHERE fingerprint = ? ORDER BY source_id LIMIT 1", [content.result()]
            ).fetchone()
            if earlier:
                result.already_loaded, result.same_as = True, str(earlier[0])
                return result
        _load_new_source(store, source, content, spool, skip_invalid, progress, result)
    finally:
        content.cancel()
    return result


def _load_new_source(
    store: Store,
    source: Source,
    content: ContentHash,
    spool: Path,
    skip_invalid: bool,
    progress: Progress | None,
    result: SourceReport,
) -> None:
    import duckdb

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
        _insert(store, source, json_source, content, result, progress)
    except duckdb.InterruptException:
        raise  # a signal stopped the load: not a problem of the file's
    except duckdb.OutOfMemoryException as e:
        raise StoreError(f"{source.name}: out of memory loading it: {_describe(e)}; raise --memory-limit") from None
    except (duckdb.Error, _InvalidRows, UnicodeDecodeError) as failure:
        # (DuckDB's message about a bad line can quote it cut inside a character: then its error is this)
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
            _insert(store, source, _json_lines(source.name, cleaned), content, result, progress)
        except duckdb.InterruptException:
            raise
        except (duckdb.Error, _InvalidRows, UnicodeDecodeError) as e:
            raise InputError(source.name, f"cannot load: {_describe(e)}") from None


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
    content: ContentHash,
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
        steps = _Steps(con, source, progress)
        insert = otlp_json.insert_sql(json_format)
        # the bytes read: DuckDB's of the JSON, and the hash's of the file where it still reads beside the load
        reads = json_source.size + (source.size if content.reading else 0)
        steps.run(lambda: con.execute(insert, parameters), 0.0, _INSERTED, reads=reads)
        row = con.execute(
            "SELECT count(*), count(*) FILTER (kind IS NULL OR status_code IS NULL) FROM spans WHERE source_id = ?",
            [source_id],
        ).fetchone()
        assert row is not None
        loaded, invalid = int(row[0]), int(row[1])
        if invalid:
            raise _InvalidRows(f"{invalid} spans with an unknown kind or status code")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_LOG_SOURCES} (trace_id VARCHAR, span_id VARCHAR, source_id INTEGER)"
        )
        duplicates = steps.run(lambda: _drop_duplicates(con, source_id, result, content), _INSERTED, _DEDUPLICATED)
        steps.run(lambda: _link(con, source_id), _DEDUPLICATED, _LINKED)
        backwards = con.execute(
            "SELECT count(*) FROM spans WHERE source_id = ? AND end_ns < start_ns", [source_id]
        ).fetchone()
        _give_back_log_sources(con, source_id)
        result.backwards_spans = int(backwards[0]) if backwards else 0
        result.spans = loaded - duplicates
        result.duplicate_spans = duplicates
        con.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source_id,
                source.name,
                source.format.value,
                source.size,
                content.result(),
                datetime.now(UTC),
                result.spans,
                duplicates,
                len(result.skipped_lines),
            ],
        )
    steps.show(1.0)


def _drop_duplicates(con: duckdb.DuckDBPyConnection, source_id: int, result: SourceReport, content: ContentHash) -> int:
    """Delete this source's spans that the store already had, or that the source repeats.

    Both checks look before they delete: in the common case there is nothing to
    delete, and a grouping costs less than a window over every new span. The look
    counts distinct hashes of the two ids: spans with the same ids have the same
    hash, so no repeated hash means no repeated span (a hash collision only sends
    the load through the exact delete below), at half the cost of grouping the text.

    A span the store had that is an event log's call and the client's own span for it (the request
    carried its traceparent) is one span, whichever was loaded first: see :func:`_merge_log_twins`.
    Of a span the store had, one copy stays, the same whichever file was loaded first; one with other
    content is counted in ``result``: see :func:`_resolve_conflicts`.
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
            SELECT rowid FROM spans WHERE source_id = $id
            QUALIFY row_number() OVER (PARTITION BY trace_id, span_id ORDER BY rowid) > 1
        )
        """,
        {"id": source_id},
    ).fetchone()
    repeats = int(row[0]) if row else 0
    merged = _merge_log_twins(con, source_id)
    merged += _resolve_conflicts(con, source_id, result, content.result())
    row = con.execute(
        """
        DELETE FROM spans AS n WHERE n.source_id = $id AND EXISTS (
            SELECT 1 FROM spans AS o
            WHERE o.source_id < $id AND o.trace_id = n.trace_id AND o.span_id = n.span_id)
        """,
        {"id": source_id},
    ).fetchone()
    return repeats + merged + (int(row[0]) if row else 0)


# The columns of a merged span that come from the client's own instrumentation: where the span sits in
# its trace, which only the client knows (an event log's call has no parent). Every other column is the
# event log's, but the resource record, kept on the first span of its block.
_TRACE_COLUMNS = ("parent_span_id", "trace_state", "flags")
_KEPT_COLUMNS = ("source_id", "resource")


def _merge_log_twins(con: duckdb.DuckDBPyConnection, source_id: int) -> int:
    """Make each of this source's spans that is an event log's call and the client's own span for it
    (or the reverse) one span, the same whichever was loaded first; how many there were.

    The log saw the request and its answer on the wire: its span says the call's outcome (an
    ``isError`` result, ``input_required``), target, session, protocol, client and server, and is timed
    as every call of several rounds is (that span is the log's). The client's span adds its place in
    the trace. The merged span is this source's (the older one goes), so the steps after this load
    link it as new.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE log_twins AS
        SELECT n.trace_id, n.span_id, coalesce(n.scope_name = $log, false) AS new_is_log
        FROM spans AS n JOIN spans AS o ON o.trace_id = n.trace_id AND o.span_id = n.span_id
        WHERE n.source_id = $id AND o.source_id < $id
            AND coalesce(n.scope_name = $log, false) != coalesce(o.scope_name = $log, false)
        """,
        {"id": source_id, "log": EVENT_LOG_SCOPE},
    )
    try:
        found = con.execute("SELECT count(*) FROM log_twins").fetchone()
        twins = int(found[0]) if found else 0
        if not twins:
            return 0
        columns = [str(c[0]) for c in con.execute("DESCRIBE spans").fetchall() if str(c[0]) not in _KEPT_COLUMNS]

        def merged(column: str) -> str:
            if column in _TRACE_COLUMNS:  # the client's, where it has one
                return (
                    f"CASE WHEN t.new_is_log THEN coalesce(o.{column}, n.{column}) "
                    f"ELSE coalesce(n.{column}, o.{column}) END"
                )
            return f"CASE WHEN t.new_is_log THEN n.{column} ELSE o.{column} END"

        assignments = ", ".join(f"{column} = {merged(column)}" for column in columns)
        con.execute(
            f"""
            UPDATE spans AS n SET {assignments}
            FROM spans AS o, log_twins AS t
            WHERE n.source_id = $id AND o.source_id < $id AND n.trace_id = t.trace_id AND n.span_id = t.span_id
                AND o.trace_id = t.trace_id AND o.span_id = t.span_id
            """,
            {"id": source_id},
        )
        con.execute(
            f"""
            INSERT INTO {_LOG_SOURCES} SELECT o.trace_id, o.span_id, o.source_id FROM spans AS o, log_twins AS t
            WHERE NOT t.new_is_log AND o.source_id < $id AND o.trace_id = t.trace_id AND o.span_id = t.span_id
            """,
            {"id": source_id},
        )
        con.execute(
            """
            DELETE FROM spans AS o WHERE o.source_id < $id
                AND EXISTS (SELECT 1 FROM log_twins AS t WHERE t.trace_id = o.trace_id AND t.span_id = o.span_id)
            """,
            {"id": source_id},
        )
        return twins
    finally:
        con.execute("DROP TABLE IF EXISTS log_twins")


# The event log files whose calls this load merged with the client's own spans (see _merge_log_twins)
_LOG_SOURCES = "log_twin_sources"


def _give_back_log_sources(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Give each span merged from an event log loaded before and this source's client span the log's
    file again, once linked: the merged call is the log's (its content), and a figure that matches calls
    by file (a tools/list answer's inputSchema) finds the same whichever file was loaded first."""
    con.execute(
        f"""
        UPDATE spans AS s SET source_id = t.source_id FROM {_LOG_SOURCES} AS t
        WHERE s.source_id = $id AND s.trace_id = t.trace_id AND s.span_id = t.span_id
        """,
        {"id": source_id},
    )
    con.execute(f"DROP TABLE {_LOG_SOURCES}")


def _content(span: str) -> str:
    s = span
    return content_hash(
        name=f"{s}.name",
        kind=f"{s}.kind",
        start=f"{s}.start_ns",
        end=f"{s}.end_ns",
        status=f"{s}.status_code",
        status_message=f"{s}.status_message",
        attributes=f"{s}.attributes",
        events=f"{s}.events",
        service=f"{s}.service_name",
        scope=f"{s}.scope_name",
    )


def _richness(span: str) -> str:
    return richness(f"{span}.attributes", f"{span}.events")


def _resolve_conflicts(con: duckdb.DuckDBPyConnection, source_id: int, result: SourceReport, fingerprint: str) -> int:
    """Of each span of this source (its file's SHA-256: ``fingerprint``) that one loaded before gave too,
    keep one copy, the same whichever file was loaded first; how many older copies went.

    Of two copies with other content the one with more attributes and events stays (an exporter or a
    conversion that drops some, such as a recording's tools/list result, gives the poorer copy), else
    the one of the smaller content fingerprint; these are counted in ``result``, to be told on stderr
    (two different spans with the same ids, from hand-made ids or a generator's clash, lose one). Of
    two alike, the one of the file of the smaller SHA-256: the file a span is in is a figure's too (a
    tools/list answer's inputSchema applies to the calls of its file). When this source's copy stays,
    it keeps the older copy's place in the trace where it has none (a merged event log call's parent).
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE span_conflicts AS
        SELECT n.trace_id, n.span_id, any_value(src.path) AS other,
            bool_or({_content("n")} != {_content("o")}) AS differs,
            bool_or(CASE WHEN {_content("n")} = {_content("o")} THEN $fingerprint < coalesce(src.fingerprint, '')
                ELSE {_richness("n")} > {_richness("o")}
                    OR ({_richness("n")} = {_richness("o")} AND {_content("n")} < {_content("o")}) END) AS new_stays
        FROM spans AS n JOIN spans AS o ON o.trace_id = n.trace_id AND o.span_id = n.span_id
            LEFT JOIN sources AS src ON src.source_id = o.source_id
        WHERE n.source_id = $id AND o.source_id < $id
        GROUP BY ALL
        """,
        {"id": source_id, "fingerprint": fingerprint},
    )
    try:
        found = con.execute(
            """SELECT count(*) FILTER (WHERE differs),
                min(span_id || ' of trace ' || trace_id || ', also in ' || other) FILTER (WHERE differs)
            FROM span_conflicts"""
        ).fetchone()
        if found and found[0]:
            result.conflicting_spans, result.conflict_example = int(found[0]), f"span {found[1]}"
        kept = ", ".join(f"{c} = coalesce(n.{c}, o.{c})" for c in _TRACE_COLUMNS)
        con.execute(
            f"""
            UPDATE spans AS n SET {kept}
            FROM spans AS o, span_conflicts AS t
            WHERE t.new_stays AND n.source_id = $id AND o.source_id < $id
                AND n.trace_id = t.trace_id AND n.span_id = t.span_id
                AND o.trace_id = t.trace_id AND o.span_id = t.span_id
            """,
            {"id": source_id},
        )
        row = con.execute(
            """
            DELETE FROM spans AS o WHERE o.source_id < $id AND EXISTS (
                SELECT 1 FROM span_conflicts AS t WHERE t.new_stays AND t.trace_id = o.trace_id
                    AND t.span_id = o.span_id)
            """,
            {"id": source_id},
        ).fetchone()
        return int(row[0]) if row else 0
    finally:
        con.execute("DROP TABLE IF EXISTS span_conflicts")


def _unwrap(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Make a span that wraps an MCP span of the same call no call itself.

    FastMCP's client spans (`tools/call add`) each hold the mcp SDK's span of the request it sends
    (`MCP send tools/call add`): one call, two spans of the same side and method, parent and child.
    The child, the JSON-RPC request itself, is the call; the wrapper stays a span.
    """
    con.execute(
        f"""
        UPDATE spans AS w SET mcp_method = NULL, mcp_target = NULL, mcp_side = NULL,
            session_key = NULL, call_key = NULL
        FROM spans AS c
        WHERE {wraps_sql("w", "c")}
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
        f"""
        UPDATE spans AS c SET peer_service = p.service_name
        FROM ({peer_services_sql("spans")}) AS p
        WHERE c.mcp_side = 'client' AND c.trace_id = p.trace_id AND c.span_id = p.parent_span_id
            AND (c.source_id = $id OR p.source_id = $id)
        """,
        {"id": source_id},
    )
    # A call no server span answered (the server died in it, say) went to the same server as the calls
    # to the same address in its trace that one did: a recording names the server by its serverInfo,
    # its spans by their service, and one server must not show as two. Only where the address names
    # one service in the trace.
    con.execute(
        """
        UPDATE spans AS c SET peer_service = m.service
        FROM (
            SELECT trace_id, server_address, min(peer_service) AS service FROM spans
            WHERE mcp_side = 'client' AND peer_service IS NOT NULL AND server_address IS NOT NULL
                AND trace_id IN (SELECT trace_id FROM spans WHERE source_id = $id AND mcp_method IS NOT NULL)
            GROUP BY trace_id, server_address HAVING count(DISTINCT peer_service) = 1
        ) AS m
        WHERE c.mcp_side = 'client' AND c.peer_service IS NULL AND c.trace_id = m.trace_id
            AND c.server_address = m.server_address
        """,
        {"id": source_id},
    )


def _link_sessions(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Give a server's MCP span that records no session the session of the client's call it answers.

    The mcp SDK's spans record no ``mcp.session.id`` on either side; a recording knows the session of
    each of its calls. Loaded together, the server's side of a call is in the client's session, not in a
    session of its own trace; so is a request the server sends inside it (an ``elicitation/create``
    under its ``tools/call``). Either side may come from this source.
    """
    session = keys(
        trace_id="s.trace_id",
        session_id="coalesce(p.mcp_session_id, g.mcp_session_id)",
        side="s.mcp_side",
        method="s.mcp_method",
        target="s.mcp_target",
        arguments_hash="s.arguments_hash",
    )
    con.execute(
        f"""
        UPDATE spans AS s SET mcp_session_id = coalesce(p.mcp_session_id, g.mcp_session_id),
            session_key = {session["session_key"]}, call_key = {session["call_key"]}
        FROM spans AS p LEFT JOIN spans AS g ON g.trace_id = p.trace_id AND g.span_id = p.parent_span_id
            AND g.mcp_side = 'client' AND p.mcp_side = 'server'
        WHERE s.mcp_side = 'server' AND s.mcp_session_id IS NULL AND s.mcp_method IS NOT NULL
            AND p.trace_id = s.trace_id AND p.span_id = s.parent_span_id AND p.mcp_method IS NOT NULL
            AND coalesce(p.mcp_session_id, g.mcp_session_id) IS NOT NULL
            AND (s.source_id = $id OR p.source_id = $id OR g.source_id = $id)
        """,
        {"id": source_id},
    )


def _link_http(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Give an MCP span with no HTTP status of its own its transport parent's: the HTTP span that
    carried the request (an ASGI or proxy server span, say) and its challenge. Either may come from
    this source, as in :func:`_link_peers`."""
    con.execute(
        """
        UPDATE spans AS c SET http_status = p.http_status, auth_challenge = p.auth_challenge
        FROM spans AS p
        WHERE c.mcp_method IS NOT NULL AND c.http_status IS NULL AND p.mcp_method IS NULL
            AND p.http_status IS NOT NULL AND c.trace_id = p.trace_id AND c.parent_span_id = p.span_id
            AND (c.source_id = $id OR p.source_id = $id)
        """,
        {"id": source_id},
    )


def _link(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """The steps after the insert that tie spans together: wrappers unwrapped, peers, HTTP parents and
    rounds linked."""
    _unwrap(con, source_id)
    _link_peers(con, source_id)
    _link_sessions(con, source_id)
    _link_http(con, source_id)
    link_rounds(con, source_id)
    _abandon_answers(con, source_id)


# The spans each call of several rounds links to (its rounds' own spans), as mcpobs.ingest.rounds reads
# them. Link ids are read as span ids are: hex, else base64 (protobuf's JSON mapping writes links' ids so too).
_ROUND_LINKS = f"""(
    SELECT span_id AS call, mcp_side AS side, source_id AS call_source, error_class AS call_error_class,
        {otlp_json.hex_id("(link ->> 'traceId')", 16)} AS trace_id,
        {otlp_json.hex_id("(link ->> 'spanId')", 8)} AS span_id, i
    FROM (
        SELECT span_id, mcp_side, source_id, error_class, unnest(CAST(links AS JSON[])) AS link,
            generate_subscripts(CAST(links AS JSON[]), 1) AS i
        FROM spans WHERE rounds > 1 AND links IS NOT NULL
    )
)"""


def link_rounds(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Fold the spans that are rounds of one 2026-07-28 multi round-trip call into one call per side
    (:mod:`mcpobs.ingest.rounds`). Either side may come from this source, as in :func:`_link_peers`."""
    con.execute(
        f"""
        UPDATE spans AS s SET round_of = r.round_of
        FROM ({rounds.client_rounds_sql(_ROUND_LINKS, "spans")}) AS r
        WHERE s.trace_id = r.trace_id AND s.span_id = r.span_id AND (r.source_id = $id OR r.call_source = $id)
        """,
        {"id": source_id},
    )
    touched = "source_id = $id OR call_source = $id"
    con.execute(
        f"""
        UPDATE spans AS s SET round_of = r.round_of, rounds = r.rounds, call_start_ns = r.call_start_ns
        FROM ({rounds.server_rounds_sql(_ROUND_LINKS, "spans", touched=touched)}) AS r
        WHERE s.trace_id = r.trace_id AND s.span_id = r.span_id
        """,
        {"id": source_id},
    )


def _abandon_answers(con: duckdb.DuckDBPyConnection, source_id: int) -> None:
    """Make the server's side of a call the client abandoned ``abandoned`` too.

    The server's span of a round it answered ``input_required`` (or of a task still working) ends
    without an error, but the call never completed: ``input_required`` is neither an error nor a
    success on its own, and the client's side says what became of it. The server's call answers the
    client's: its span is a child of the client's call span, or, for a call of several rounds, of the
    round span it carries (the last). Either side may come from this source, as in :func:`_link_peers`.
    """
    con.execute(
        f"""
        UPDATE spans AS s SET error_type = 'abandoned', error_class = 'abandoned', mcp_failed = true
        FROM ({rounds.abandoned_answers_sql(_ROUND_LINKS, "spans")}) AS a
        WHERE {rounds.abandons_sql("s")} AND s.trace_id = a.trace_id AND s.parent_span_id = a.answered
            AND (s.source_id = $id OR a.call_source = $id)
        """,
        {"id": source_id},
    )


# A file's progress: reading and inserting its spans (by the bytes read), then the steps after it;
# 1.0 once committed.
_INSERTED, _DEDUPLICATED, _LINKED = 0.85, 0.9, 0.95


class _Steps:
    """Runs a load's steps, each in a worker thread while its progress is reported (by the bytes the
    process has read, or DuckDB's own estimate), when there is a ``progress`` to report to."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source, progress: Progress | None) -> None:
        self.con = con
        self.source = source
        self.progress = progress
        self.shown = 0.0

    def show(self, done: float) -> None:
        if self.progress is not None:
            self.shown = max(self.shown, done)  # never backwards: the two measures differ
            self.progress(self.source, self.shown)

    def run(self, step: Callable[[], R], start: float, end: float, reads: int = 0) -> R:
        """``step``'s result, the progress going from ``start`` to ``end`` as it runs; ``reads``: the bytes
        of input it reads, when its progress is told by them."""
        if self.progress is None:
            return step()
        outcome: list[R] = []
        failure: list[BaseException] = []

        def work() -> None:
            try:
                outcome.append(step())
            except BaseException as e:
                failure.append(e)

        before = _bytes_read()
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        try:
            self.show(start)
            while worker.is_alive():
                worker.join(0.1)
                self.show(start + (end - start) * self._fraction(before, reads))
        except BaseException:
            # Ctrl-C: the query stops before its transaction rolls back on the same connection
            self.con.interrupt()
            worker.join()
            raise
        if failure:
            raise failure[0]
        self.show(end)
        return outcome[0]

    def _fraction(self, before: int | None, reads: int) -> float:
        known = [0.0]
        now = _bytes_read()
        if reads and before is not None and now is not None:
            known.append((now - before) / reads)
        # DuckDB's estimate stays at its first value for seconds on a large file: the bytes lead
        estimate = self.con.query_progress()
        if estimate >= 0:
            known.append(estimate / 100)
        return min(max(known), 1.0)


def _bytes_read() -> int | None:
    """The bytes this process has read so far (its threads', DuckDB's included), where the system
    tells (Linux); else None."""
    try:
        with open("/proc/self/io", "rb") as f:
            for line in f:
                if line.startswith(b"rchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


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
