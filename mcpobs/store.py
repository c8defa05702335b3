"""The DuckDB store: its schema, and the only place that opens connections.

Everything read from a file lands in ``spans``, one row a span, raw fields kept
as they came (every attribute, event and link) beside the columns mcpobs
derives from them. ``mcp_calls`` is a view that gives one model of an MCP call
whatever instrumentation produced the span (see :mod:`mcpobs.ingest.dialects`).
"""

from __future__ import annotations

import contextlib
import hashlib
import stat
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mcpobs import interrupt
from mcpobs.errors import StoreError
from mcpobs.sqlengine import DUCKDB, Engine
from mcpobs.tempdirs import TempDir

if TYPE_CHECKING:
    import duckdb

SCHEMA_VERSION = 3

# An OTLP AnyValue as DuckDB reads it from JSON. intValue is text because OTLP
# writes 64-bit integers as strings; arrays and key-value lists stay JSON.
ANY_VALUE = (
    "STRUCT(stringValue VARCHAR, boolValue BOOLEAN, intValue VARCHAR, doubleValue DOUBLE, "
    "arrayValue JSON, kvlistValue JSON, bytesValue VARCHAR)"
)
ATTRIBUTES = f"STRUCT(key VARCHAR, value {ANY_VALUE})[]"
EVENTS = f"STRUCT(timeUnixNano VARCHAR, name VARCHAR, attributes {ATTRIBUTES}, droppedAttributesCount UBIGINT)[]"
RESOURCE = f"STRUCT(attributes {ATTRIBUTES}, droppedAttributesCount UBIGINT)"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS mcpobs_meta (key VARCHAR PRIMARY KEY, value VARCHAR);

CREATE TABLE IF NOT EXISTS sources (
    source_id INTEGER PRIMARY KEY,
    path VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    size_bytes BIGINT,
    fingerprint VARCHAR,
    loaded_at TIMESTAMPTZ NOT NULL,
    spans BIGINT NOT NULL,
    duplicate_spans BIGINT NOT NULL,
    skipped_lines BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS spans (
    source_id INTEGER NOT NULL,
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_span_id VARCHAR,
    trace_state VARCHAR,
    flags UBIGINT,
    name VARCHAR,
    kind UTINYINT,
    start_ns BIGINT NOT NULL,
    end_ns BIGINT NOT NULL,
    status_code UTINYINT,
    status_message VARCHAR,
    attributes {ATTRIBUTES},
    events {EVENTS},
    links JSON,
    dropped_attributes_count UBIGINT,
    dropped_events_count UBIGINT,
    dropped_links_count UBIGINT,
    service_name VARCHAR,
    resource_hash UBIGINT,
    -- the whole resource is kept once per resource block, on its first span
    resource {RESOURCE},
    resource_schema_url VARCHAR,
    scope_name VARCHAR,
    scope_version VARCHAR,
    scope_attributes {ATTRIBUTES},
    -- derived: one model of an MCP call, whatever the dialect
    mcp_method VARCHAR,
    mcp_target VARCHAR,
    mcp_side VARCHAR,
    mcp_session_id VARCHAR,
    jsonrpc_request_id VARCHAR,
    mcp_protocol_version VARCHAR,
    network_transport VARCHAR,
    server_address VARCHAR,
    error_type VARCHAR,
    arguments_hash UBIGINT,
    mcp_failed BOOLEAN,
    session_key UBIGINT,
    call_key UBIGINT,
    error_class VARCHAR,
    -- a client call's server, from the server span answering it (filled in after each load)
    peer_service VARCHAR,
    first_response_ns BIGINT,
    -- requests a call took (2026-07-28 input_required rounds); on a span that is only a round
    -- of another span's call, that span's id; on the span that carries a call of several rounds
    -- for its server, the first round's start (the last two filled in after each load)
    rounds INTEGER,
    round_of VARCHAR,
    call_start_ns BIGINT,
    -- the HTTP answer: its status, and a 401's or 403's WWW-Authenticate challenge; on an MCP span
    -- with none of its own, its transport parent's (filled in after each load)
    http_status INTEGER,
    auth_challenge VARCHAR,
    approx_bytes BIGINT,
    -- derived: GenAI usage, for the cost layer
    gen_ai_operation VARCHAR,
    gen_ai_provider VARCHAR,
    gen_ai_request_model VARCHAR,
    gen_ai_response_model VARCHAR,
    input_tokens BIGINT,
    output_tokens BIGINT,
    cache_read_tokens BIGINT,
    cache_creation_tokens BIGINT,
    reasoning_tokens BIGINT
);
"""

# JSON-RPC codes by which a server says the request was at fault: the five the MCP conventions say a
# SERVER span should not mark as an error (-32002 is resource-not-found before 2026-07-28), and the
# 2026-07-28 header mismatch, missing client capability and unsupported protocol version. On the
# server side such a call is `rejected`, not `failed`; a client's call failed all the same.
REJECTED_CODES = ("-32700", "-32600", "-32601", "-32602", "-32002", "-32020", "-32021", "-32022")

# The requests an MCP server sends its client (`ping` goes either way): their server side (the
# sender's span) is not the answering end, so an error answer is no rejection there.
TO_CLIENT_METHODS = ("elicitation/create", "sampling/createMessage", "roots/list")


def rejected_sql(side: str, error_type: str, method: str) -> str:
    """SQL: whether a call (its side, error type and method columns) is rejected, as the mcp_calls view says."""
    codes = ", ".join(f"'{code}'" for code in REJECTED_CODES)
    to_client = ", ".join(f"'{m}'" for m in TO_CLIENT_METHODS)
    return f"coalesce({side} = 'server' AND {method} NOT IN ({to_client}) AND {error_type} IN ({codes}), false)"


# The buckets of calls in flight that --by concurrency groups calls into: each label, and the most
# calls in flight it holds (the last, every number above).
IN_FLIGHT_BUCKETS: tuple[tuple[str, int | None], ...] = (("1", 1), ("2", 2), ("3-4", 4), ("5-8", 8), ("9+", None))


def in_flight_bucket_sql(column: str) -> str:
    """SQL: the label of the bucket of :data:`IN_FLIGHT_BUCKETS` holding the count in ``column``."""
    cases = " ".join(f"WHEN {column} <= {most} THEN '{label}'" for label, most in IN_FLIGHT_BUCKETS if most)
    return f"CASE {cases} ELSE '{IN_FLIGHT_BUCKETS[-1][0]}' END"


def in_flight_rank_sql(column: str) -> str:
    """SQL: the place in :data:`IN_FLIGHT_BUCKETS` of the bucket labelled in ``column``, to order buckets by."""
    cases = " ".join(f"WHEN '{label}' THEN {i}" for i, (label, _) in enumerate(IN_FLIGHT_BUCKETS))
    return f"CASE {column} {cases} END"


# Every figure in mcpobs.analysis reads this view, never the raw columns: on DuckDB a view over the
# store's spans, on ClickHouse the same SELECT over the call model of otel_traces (mcpobs.clickhouse).
_CALLS_SELECT = """
SELECT
    trace_id, span_id, parent_span_id, source_id,
    name AS span_name,
    mcp_method AS method,
    mcp_target AS target,
    CASE WHEN mcp_method = 'tools/call' THEN mcp_target END AS tool,
    mcp_side AS side,
    -- The server is the service that answered: itself on the server side; on the
    -- client side the peer's service when its span is loaded too, else the address
    -- the client called.
    CASE WHEN mcp_side = 'server' THEN service_name
         ELSE coalesce(peer_service, server_address, 'unknown') END AS server,
    CASE WHEN mcp_side = 'server' THEN NULL ELSE service_name END AS client,
    mcp_session_id AS session_id,
    coalesce(mcp_session_id, 'trace:' || trace_id) AS session,
    session_key,
    call_key,
    jsonrpc_request_id AS request_id,
    mcp_protocol_version AS protocol_version,
    network_transport AS transport,
    coalesce(call_start_ns, start_ns) AS start_ns, end_ns,
    -- a span that ends before it starts (a clock stepped back) has no duration: it is left out of latency
    CASE WHEN end_ns >= coalesce(call_start_ns, start_ns)
        THEN (end_ns - coalesce(call_start_ns, start_ns)) / 1e6 END AS duration_ms,
    (first_response_ns - coalesce(call_start_ns, start_ns)) / 1e6 AS ttfr_ms,
    status_code,
    status_message,
    error_type,
    CAST({rejected} AS BOOLEAN) AS rejected,
    CAST(mcp_failed AND NOT rejected AS BOOLEAN) AS failed,
    -- the one definition of success, for every figure: the call neither failed nor was rejected
    CAST(NOT coalesce(mcp_failed, false) AS BOOLEAN) AS succeeded,
    error_class,
    http_status,
    auth_challenge,
    arguments_hash,
    rounds,
    {notification} AS is_notification
FROM spans
WHERE mcp_method IS NOT NULL AND round_of IS NULL
"""

_IN_FLIGHT_VIEW = """
-- Each call with the calls to the same server and side in flight when it started, itself included:
-- one sort of the calls' starts and ends per server and side, no self-join; read only where a
-- figure groups by it. At one instant an end comes first (a call that ended as another began was
-- not in flight with it), then the starts (calls that start together count each other), then the
-- ends of calls of no duration (each counts itself).
CREATE OR REPLACE VIEW mcp_calls_in_flight AS
{select};
"""


def in_flight_select(engine: Engine = DUCKDB) -> str:
    """The SELECT of the view ``mcp_calls_in_flight`` (above) over ``mcp_calls``, for ``engine``."""
    return f"""SELECT * {engine.star_except} (instant, step, delta), {in_flight_bucket_sql("in_flight")} AS concurrency
FROM (
    SELECT *, sum(delta) OVER (PARTITION BY server, side ORDER BY instant, step) AS in_flight
    FROM (
        SELECT *, start_ns AS instant, 1 AS step, 1 AS delta FROM mcp_calls WHERE NOT is_notification
        {engine.union_by_name("server, side")} greatest(end_ns, start_ns) AS instant,
            CASE WHEN end_ns > start_ns THEN 0 ELSE 2 END AS step, -1 AS delta
        FROM mcp_calls WHERE NOT is_notification
    )
)
WHERE delta = 1"""


def calls_select(engine: Engine = DUCKDB) -> str:
    """The SELECT of the ``mcp_calls`` view over ``spans`` (the store's, or a ClickHouse query's), for ``engine``."""
    return _CALLS_SELECT.format(
        rejected=rejected_sql("mcp_side", "error_type", "mcp_method"),
        notification=engine.starts_with("mcp_method", "'notifications/'"),
    )


# Past about this much input JSON an in-memory store runs out of memory_limit (DuckDB
# cannot evict all of an in-memory table's blocks): such loads go to a temporary file.
IN_MEMORY_INPUT_LIMIT = 2_500_000_000


@dataclass(frozen=True)
class StoreOptions:
    """How to open the store: a file to persist to and its limits.

    With no ``path`` the store lives in memory and is gone when closed; when
    ``expected_input_bytes`` is more than memory holds, it lives in a temporary
    file instead, gone all the same.
    """

    path: Path | None = None
    # DuckDB's share: the process around it (interpreter, JSON reader buffers, a load's pending
    # updates) adds 130-200 MB, so a load peaks well under 800 MB at any size (benchmarks/README.md)
    memory_limit: str = "512MB"
    threads: int | None = None
    expected_input_bytes: int = 0


class Store:
    """An open DuckDB store. Use as a context manager, or call :meth:`close`."""

    def __init__(self, options: StoreOptions | None = None) -> None:
        self.options = options or StoreOptions()
        path = self.options.path
        existing = path is not None and _check_database_file(path)
        tmp = TempDir("store")
        target = str(path) if path else ":memory:"
        if path is None and self.options.expected_input_bytes > IN_MEMORY_INPUT_LIMIT:
            target = str(tmp.path / "store.duckdb")
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": self.options.memory_limit,
            # an in-memory store spills here instead of growing past memory_limit
            "temp_directory": str(tmp.path),
            "preserve_insertion_order": False,
        }
        if self.options.threads:
            config["threads"] = self.options.threads
        # a tenth of a second: paid by the commands that open a store, not at start-up
        interrupt.held_back(_import_duckdb)
        import duckdb

        try:
            self.con = duckdb.connect(target, config=config)
        except duckdb.Error as e:
            tmp.remove()
            raise StoreError(f"{path or 'in-memory store'}: cannot open the database: {_first_line(e)}") from None
        # Ctrl-C stops a running query at once (see mcpobs.interrupt); its transaction rolls back
        forget_interrupt = interrupt.on_signal(self.con.interrupt, tmp.path)
        # a store never closed is closed, and its directory removed, when it is collected or at exit
        self._release = weakref.finalize(self, _release, self.con, tmp, forget_interrupt)
        try:
            if existing:
                assert path is not None
                # on this connection, before the schema writes anything: a read-only one first cost
                # 12 ms of a 41 ms open (README, Performance: re-running analyze --db)
                _check_tables(self.con, path)
            self._migrate()
        except BaseException:
            self.close()
            raise

    def _migrate(self) -> None:
        import duckdb

        try:
            # DuckDB tracks progress for mcpobs to show, on stderr and only to a terminal; it draws none itself
            self.con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
            self._create_or_check_schema()
        except duckdb.Error as e:
            where = self.options.path or "in-memory store"
            raise StoreError(f"{where}: cannot set up the database: {_first_line(e)}") from None

    def _create_or_check_schema(self) -> None:
        con = self.con
        con.execute(_SCHEMA)
        meta = dict(
            con.execute("SELECT key, value FROM mcpobs_meta WHERE key IN ('schema_version', 'views')").fetchall()
        )
        views = f"CREATE OR REPLACE VIEW mcp_calls AS {calls_select()};\n" + _IN_FLIGHT_VIEW.format(
            select=in_flight_select()
        )
        # the views are created only when this mcpobs defines them otherwise than the database holds them:
        # created at every open, a database only read was written to, and its close paid for a checkpoint
        digest = hashlib.sha256(views.encode()).hexdigest()
        if "schema_version" not in meta:
            con.execute(views)
            con.execute(
                "INSERT INTO mcpobs_meta VALUES ('schema_version', ?), ('views', ?)", [str(SCHEMA_VERSION), digest]
            )
            return
        if str(meta["schema_version"]) != str(SCHEMA_VERSION):
            raise StoreError(
                f"{self.options.path}: database schema version {meta['schema_version']}, this mcpobs reads version "
                f"{SCHEMA_VERSION}; load the files into a new database"
            )
        if meta.get("views") != digest:
            con.execute(views)
            con.execute("INSERT OR REPLACE INTO mcpobs_meta VALUES ('views', ?)", [digest])

    engine = DUCKDB
    # the head of every analysis query: the calls as mcp_calls gives them (mcpobs.analysis.sql.calls_cte)
    calls_cte = "WITH calls AS (SELECT * FROM mcp_calls)"

    def run(self, sql: str, params: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
        """Every row of a query, on a cursor of its own."""
        cursor = self.con.cursor()
        try:
            return tuple(tuple(r) for r in cursor.execute(sql, params).fetchall())
        finally:
            cursor.close()

    @property
    def sources(self) -> tuple[str, ...]:
        """The files loaded, in the order they were."""
        return tuple(str(r[0]) for r in self.run("SELECT path FROM sources ORDER BY source_id", {}))

    def close(self) -> None:
        """Close the connection and remove the spill directory."""
        self._release()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run a block atomically: on any error nothing of it stays."""
        import duckdb

        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            # A ROLLBACK that a second signal stops (or on a closed connection) changes nothing:
            # DuckDB never writes an uncommitted transaction, and drops it when the connection closes.
            with contextlib.suppress(duckdb.Error, RuntimeError):
                self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def counts(self) -> tuple[int, int]:
        """How many spans and sources the store holds."""
        row = self.con.execute("SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM sources)").fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def export_parquet(self, directory: Path) -> list[Path]:
        """Write every table and the ``mcp_calls`` view as Parquet files into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name in ("spans", "sources", "mcp_calls"):
            target = directory / f"{name}.parquet"
            # COPY takes no bound parameters; the path is quoted as an SQL string literal.
            literal = "'" + str(target).replace("'", "''") + "'"
            self.con.execute(f"COPY (SELECT * FROM {name}) TO {literal} (FORMAT parquet, COMPRESSION zstd)")
            written.append(target)
        return written


def _release(con: duckdb.DuckDBPyConnection, tmp: TempDir, forget_interrupt: Callable[[], None]) -> None:
    con.close()
    tmp.remove()
    forget_interrupt()  # last: a stop that runs out of time meanwhile still removes the directory


# A DuckDB database file has these bytes at this offset (its main header), whatever its version.
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_OFFSET = 8


def _check_database_file(path: Path) -> bool:
    """Refuse a ``path`` that exists and is not a DuckDB database, before anything writes to it; whether
    it exists (a path that does not is a new database).

    DuckDB opens a JSON file (the traces named as ``--db`` by mistake) as something else, loads into
    nowhere and says it loaded, and reaches for the network to read a SQLite file; a FIFO blocks the
    read of its first bytes for ever. A path that does not exist is a new database; a symlink to
    nothing is refused: the database would be made wherever the link points (a stale link, a typo in
    it), out of the user's sight. A DuckDB database is then looked into by :func:`_check_tables`.
    """
    try:
        mode = path.stat().st_mode  # follows a symlink: one to a regular file is that file
    except FileNotFoundError:
        if path.is_symlink():
            raise StoreError(
                f"{path}: a symlink to {path.readlink()}, which does not exist; "
                "name the database file itself, or remove the link"
            ) from None
        return False
    except OSError as e:
        raise StoreError(f"{path}: cannot read the database: {e.strerror or e}") from None
    if not stat.S_ISREG(mode):
        raise StoreError(f"{path}: not a regular file; --db names a DuckDB database file")
    try:
        with path.open("rb") as f:
            head = f.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
    except OSError as e:
        raise StoreError(f"{path}: cannot read the database: {e.strerror or e}") from None
    if not head:
        raise StoreError(f"{path}: an empty file, not a DuckDB database; remove it or name a new file")
    if head[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC:
        raise StoreError(f"{path}: not a DuckDB database; left as it is (--db names the database, not the traces)")
    if path.with_name(path.name + ".wal").exists():
        # opened to write, DuckDB would replay this log into the file at once: look read-only first
        interrupt.held_back(_import_duckdb)
        import duckdb

        try:
            with duckdb.connect(str(path), read_only=True) as con:
                _check_tables(con, path)
        except duckdb.Error as e:
            raise StoreError(f"{path}: cannot open the database: {_first_line(e)}") from None
    return True


def _check_tables(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Refuse a DuckDB database that holds tables of someone else's, on a connection that has written
    nothing yet (opening a database with no WAL beside it writes nothing either): a user's own database
    would get mcpobs's tables added (or, with a ``spans`` of its own, fail half-way through adding them).
    A DuckDB database with no tables at all holds nothing of anyone's and is adopted."""
    import duckdb

    try:
        tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    except duckdb.Error as e:
        raise StoreError(f"{path}: cannot open the database: {_first_line(e)}") from None
    if tables and "mcpobs_meta" not in tables:
        raise StoreError(f"{path}: a DuckDB database not made by mcpobs (it has no mcpobs_meta table); left as it is")


def _import_duckdb() -> None:
    """DuckDB's first import, which a signal must not cut in the middle (see interrupt.held_back)."""
    import duckdb  # noqa: F401


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
