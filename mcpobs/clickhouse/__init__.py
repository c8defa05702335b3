"""Traces where they already live: the OpenTelemetry Collector exporter's ``otel_traces`` in ClickHouse.

A source argument ``clickhouse://USER:PASSWORD@HOST:PORT/DATABASE`` (``clickhouses://`` over TLS) reads
a live server through clickhouse-connect; ``chdb:PATH`` a chDB session directory, the same engine
in-process. Nothing is loaded, and nothing written to a database: the call model of
:mod:`mcpobs.clickhouse.model` is derived once per command into temporary tables of the session
(gone when it closes), every section runs in ClickHouse over them, and only its aggregates come back.
Queries are read-only (``readonly=2``: no writes, settings and temporary tables allowed; a user whose
profile says ``readonly=1`` can change neither, and is refused), limited in time and in result rows;
an error or a timeout of the server is one line, exit 3.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

from mcpobs import interrupt
from mcpobs.errors import InputError, UsageError
from mcpobs.sqlengine import CLICKHOUSE, Engine

T = TypeVar("T")

SCHEMES = ("clickhouse://", "clickhouses://", "chdb:")
DEFAULT_DATABASE = "otel"
DEFAULT_TABLE = "otel_traces"
PASSWORD_VARIABLE = "MCPOBS_CLICKHOUSE_PASSWORD"
# each query's limits: a runaway query stops on the server, a mistaken one cannot flood the client;
# the time limit in whole seconds may be raised (0: none) with TIME_LIMIT_VARIABLE
MAX_EXECUTION_SECONDS = 300
TIME_LIMIT_VARIABLE = "MCPOBS_CLICKHOUSE_TIME_LIMIT"
MAX_RESULT_ROWS = 1_000_000
# the session's temporary table holding the call model's spans (mcpobs.clickhouse.model.spans_select);
# it and the cost ledger's are on disk, compressed (a seventh of the memory a Memory table takes), gone
# with the session
SPANS_TABLE = "mcpobs_spans"
# the ids of the traces the call model derives (mcpobs.clickhouse.model.modelled_traces), while it is built
TRACES_TABLE = "mcpobs_traces"
# the call model is built in parts of at most about this many spans of the window, each a share of the
# traces by their ids' hash (every step of the model is within a trace): the memory a build takes is a
# part's (chDB, 1M spans: 1.5 GiB over the session's where all are in MCP traces, 1.1 GiB where one trace
# in 20 is), whatever the table's size; each part past the first reads the table again
BUCKET_SPANS = 1_000_000
# the same with the rounds of calls of several rounds tied into one call (mcpobs.clickhouse.model.rounds_select):
# made, from the first, only where the table holds such calls or abandoned ones
LINKED_TABLE = "mcpobs_linked"
# the calls (mcpobs.store.calls_select, the store's mcp_calls) of those spans: derived once, read by every
# ledger step and section (a CTE is run again at each reference, 19 times in `mcpobs cost`, 57 in `report`)
CALLS_TABLE = "mcpobs_calls"
# the exporter's columns the call model (mcpobs.clickhouse.model) reads: a table without one is refused
# by name, before ClickHouse's word on the model's SQL would point at the model's own column names
EXPORTER_COLUMNS = (
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "SpanName", "SpanKind", "ServiceName", "ScopeName",
    "SpanAttributes", "Duration", "StatusCode", "StatusMessage", "Events", "Links",
)  # fmt: skip
# the exporter's attribute columns the call model reads as maps, and how system.columns begins their type
MAP_COLUMNS = {"SpanAttributes": "Map(", "Events.Attributes": "Array(Map(", "Links.Attributes": "Array(Map("}
SETTINGS: dict[str, Any] = {
    "readonly": 2,
    "max_execution_time": MAX_EXECUTION_SECONDS,
    "max_result_rows": MAX_RESULT_ROWS,
    "result_overflow_mode": "throw",
    # `count(*) FILTER (WHERE rejected) AS rejected` reads the column, as in DuckDB, not its own alias
    "prefer_column_name_to_alias": 1,
    # a LEFT JOIN's misses are NULL, as in DuckDB, not 0 or ''
    "join_use_nulls": 1,
    # min, max, sum and avg of no rows are NULL, as in DuckDB, not 0 or nan
    "aggregate_functions_null_for_empty": 1,
    # a GROUP BY or ORDER BY holding more spills to disk (the trace ids of a large table, a large trace)
    "max_bytes_before_external_group_by": 1 << 30,
    "max_bytes_before_external_sort": 1 << 30,
}


def is_clickhouse(argument: str) -> bool:
    """Whether a source argument names ClickHouse rather than files."""
    return argument.startswith(SCHEMES)


@dataclass(frozen=True)
class Location:
    """Where the traces are: a server or a chDB directory, and the table."""

    url: str  # as given, without its password: what mcpobs shows
    database: str
    table: str
    chdb_path: str | None = None
    host: str = ""
    port: int | None = None
    username: str = "default"
    password: str = field(default="", repr=False)
    secure: bool = False
    time_limit: int = MAX_EXECUTION_SECONDS  # each query's, in seconds (0: none)

    @property
    def settings(self) -> dict[str, Any]:
        """What every query runs with: :data:`SETTINGS`, and this location's time limit."""
        return {**SETTINGS, "max_execution_time": self.time_limit}

    @property
    def server(self) -> bool:
        return self.chdb_path is None

    @property
    def http_port(self) -> int:
        """The port given, else ClickHouse's HTTP one (HTTPS with clickhouses://)."""
        return self.port or (8443 if self.secure else 8123)

    @property
    def qualified(self) -> str:
        return f"{_identifier(self.database)}.{_identifier(self.table)}"


def parse(argument: str, table: str | None = None) -> Location:
    """The location a ``clickhouse://``, ``clickhouses://`` or ``chdb:`` argument names, with ``--table``
    (``[DATABASE.]TABLE``; default ``otel.otel_traces``, the URL's database replacing ``otel``)."""
    database, name = DEFAULT_DATABASE, DEFAULT_TABLE
    limit = time_limit()
    if argument.startswith("chdb:"):
        path = argument.removeprefix("chdb:")
        if not path:
            raise UsageError("chdb: names a chDB session directory: chdb:PATH")
        database, name = _table(table, database, name)
        # the shell expands no ~ after chdb:
        return Location(argument, database, name, chdb_path=str(Path(path).expanduser()), time_limit=limit)
    parts = urlsplit(argument)
    if argument.rfind("@") > argument.find("//") + 2 + len(parts.netloc):
        # a password's raw / ? or # ended the URL's authority early: its host would be a piece of it
        raise UsageError(
            f"{_shown(argument)}: the password holds a character a URL reserves (/ ? #): percent-encode it "
            f"(%2F %3F %23) or give it in {PASSWORD_VARIABLE}"
        )
    if not parts.hostname:
        raise UsageError(f"{_shown(argument)}: no host: clickhouse://USER:PASSWORD@HOST:PORT/DATABASE")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"{_shown(argument)}: the port is not a port number (1 to 65535)") from None
    if parts.path.strip("/"):
        database = unquote(parts.path.strip("/"))
    database, name = _table(table, database, name)
    password = unquote(parts.password) if parts.password is not None else os.environ.get(PASSWORD_VARIABLE, "")
    return Location(
        _shown(argument),
        database,
        name,
        host=parts.hostname,
        port=port,
        username=unquote(parts.username) if parts.username else "default",
        password=password,
        secure=parts.scheme == "clickhouses",
        time_limit=limit,
    )


def time_limit() -> int:
    """Each query's time limit in seconds: :data:`TIME_LIMIT_VARIABLE` if set (0 for none), else
    :data:`MAX_EXECUTION_SECONDS`."""
    text = os.environ.get(TIME_LIMIT_VARIABLE)
    if text is None:
        return MAX_EXECUTION_SECONDS
    if not text.strip().isdigit():
        raise UsageError(f"{TIME_LIMIT_VARIABLE}={text!r}: give each query's time limit in whole seconds (0 for none)")
    return int(text)


def _table(table: str | None, database: str, name: str) -> tuple[str, str]:
    if table is None:
        return database, name
    pieces = table.split(".")
    if len(pieces) > 2 or not all(pieces):
        raise UsageError(f"--table {table!r}: name a table as TABLE or DATABASE.TABLE")
    return (pieces[0], pieces[1]) if len(pieces) == 2 else (database, pieces[0])


def _shown(argument: str) -> str:
    """The argument with its password left out: it goes into messages and outputs. The password ends
    at the last ``@``, whatever it holds (a raw ``@``, ``/``, ``#`` or ``?`` too)."""
    return re.sub(r"^([a-z]+://[^:/@]*):.*@", r"\1@", argument, flags=re.DOTALL)


def _identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


# how long connecting to a server, and its first answers, may take
CONNECT_SECONDS = 10
# how long a stop waits for the session's end before mcpobs.interrupt may end the process: its temporary
# tables are dropped then (a chDB directory would keep their files)
CLOSE_WAIT_S = 5.0


class _Connection(Protocol):
    temporary: list[str]  # the session's temporary tables, in the order made
    cancelled: bool  # a signal stopped its query (mcpobs.interrupt): its error is that stop, not the server's

    def query(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]: ...

    def command(self, sql: str, params: dict[str, Any]) -> None:
        """Run a statement that returns no rows (a temporary table of the session)."""
        ...

    def close(self) -> None: ...


class ClickHouseTraces:
    """The calls of an ``otel_traces`` table, for the analysis sections (:class:`mcpobs.analysis.sql.Calls`).

    ``since_ns``/``until_ns`` bound ``Timestamp`` in the scan itself, so ClickHouse reads only the
    partitions (days) they cover. The call model is derived from those spans once, when opened, into
    the session's temporary table :data:`SPANS_TABLE`: each section reads that, not the raw spans
    again (inlined, the model's ~30k characters of SQL were planned and run again by every query,
    two to four times in some). Where it holds 2026-07-28 calls of several rounds or abandoned calls,
    their rounds are linked as the store links them after a load, into a second temporary table
    :data:`LINKED_TABLE` that the sections read instead (a copy only then: otherwise it would be the same).
    The calls of those spans (``mcp_calls``) are a third, :data:`CALLS_TABLE`, made once too.

    Only the traces holding an MCP or a GenAI span are derived (:func:`mcpobs.clickhouse.model.modelled_traces`,
    a first scan of a few columns); the spans of the others, most of a production table, are kept as they
    are, to be counted. A window of more than ``bucket_spans`` spans is built in :attr:`buckets` parts, each
    a share of the traces, so that the memory a build takes is bounded whatever the table's size.
    """

    buckets: int  # the parts the call model was built in (BUCKET_SPANS)

    engine: Engine = CLICKHOUSE

    def __init__(
        self,
        location: Location,
        since_ns: int | None = None,
        until_ns: int | None = None,
        bucket_spans: int = BUCKET_SPANS,
    ) -> None:
        from mcpobs.clickhouse.model import calls_cte, modelled_traces, rounds_needed_sql, rounds_select, spans_select

        self.location = location
        self.since_ns, self.until_ns = since_ns, until_ns
        window = ["true"]
        if since_ns is not None:
            window.append(f"Timestamp >= fromUnixTimestamp64Nano(toInt64({int(since_ns)}))")
        if until_ns is not None:
            window.append(f"Timestamp < fromUnixTimestamp64Nano(toInt64({int(until_ns)}))")
        self._window = " AND ".join(window)
        self._connection = _chdb(location) if location.chdb_path is not None else _server(location)
        table = SPANS_TABLE
        try:
            self._check_columns()
            self._create(TRACES_TABLE, modelled_traces(location.qualified, self._window), {})
            ((spans,),) = self.run(f"SELECT count() FROM {location.qualified} WHERE {self._window}", {})
            self.buckets = max(1, -(-int(spans) // bucket_spans))
            for i in range(self.buckets):
                share = f"cityHash64(TraceId) % {self.buckets} = {i}" if self.buckets > 1 else "true"
                traces = f"(SELECT TraceId FROM {_identifier(TRACES_TABLE)} WHERE {share})"
                sql = spans_select(location.qualified, f"{self._window} AND {share}", traces)
                if i:
                    self._insert(SPANS_TABLE, sql)
                else:
                    self._create(SPANS_TABLE, sql, {})
            self.drop(TRACES_TABLE)
            if self.run(rounds_needed_sql(SPANS_TABLE), {})[0][0]:
                self._create(LINKED_TABLE, rounds_select(SPANS_TABLE), {})
                self.drop(SPANS_TABLE)
                table = LINKED_TABLE
            self._create(CALLS_TABLE, f"{calls_cte(table)}SELECT * FROM mcp_calls", {})
        except BaseException:
            self.close()
            raise
        self._spans_table = table
        self._cte = calls_cte(table, calls=CALLS_TABLE)
        self._in_flight_cte = calls_cte(table, in_flight=True, calls=CALLS_TABLE)

    def _check_columns(self) -> None:
        """Refuse a table that lacks a column the call model reads, or has one of another type, naming them,
        and a table that is not there, naming the exporter's tables that are (:meth:`_no_table`)."""
        try:
            listed = self.run(
                "SELECT name, type FROM system.columns WHERE database = $database AND table = $table",
                {"database": self.location.database, "table": self.location.table},
            )
        except InputError:  # a server that grants no system tables: the model's query speaks instead
            return
        # a Nested column's fields, Events.Name…, as flatten_nested lists them
        found = {name.split(".")[0] for name, _ in listed}
        if not found:
            # no such table (or database) that this user may see: ClickHouse's word would quote the model's SQL
            raise InputError(self.location.url, self._no_table())
        missing = [c for c in EXPORTER_COLUMNS if c not in found]
        qualified = f"{self.location.database}.{self.location.table}"
        if missing:
            raise InputError(
                self.location.url,
                f"{qualified} is not the OpenTelemetry Collector exporter's otel_traces: "
                f"it has no {', '.join(missing)}",
            )
        # the attributes the model reads as maps (mapKeys, m['k']): the exporter's JSON variant, or a
        # table of strings, would fail in the model's SQL with a word about a function
        types = dict(listed)
        wrong = [
            f"{name} is {types[name]}"
            for name, kind in MAP_COLUMNS.items()
            if name in types and not types[name].startswith(kind)
        ]
        if wrong:
            raise InputError(
                self.location.url,
                f"{qualified} is not the OpenTelemetry Collector exporter's otel_traces: its {', '.join(wrong)}, "
                "not the exporter's Map(LowCardinality(String), String) (its JSON variant is not read)",
            )

    def _no_table(self) -> str:
        """Why the table named is not read: it is not there, and which of the exporter's tables are (the
        closest names first), for the ``--table`` meant."""
        wanted = f"{self.location.database}.{self.location.table}"
        try:
            tables = [
                f"{database}.{table}"
                for database, table in self.run(
                    "SELECT database, table FROM system.columns "
                    "WHERE database NOT IN ('system', 'INFORMATION_SCHEMA', 'information_schema') "
                    "GROUP BY database, table HAVING hasAll(groupUniqArray(splitByChar('.', name)[1]), $columns) "
                    "AND startsWith(anyIf(type, name = 'SpanAttributes'), 'Map(')",
                    {"columns": list(EXPORTER_COLUMNS)},
                )
            ]
        except InputError:
            tables = []
        if not tables:
            return f"no table {wanted}, and no table with the OpenTelemetry Collector exporter's columns there"
        import difflib

        tables.sort(key=lambda t: (-difflib.SequenceMatcher(None, wanted, t).ratio(), t))
        shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        return f"no table {wanted} (the exporter's tables there: {shown}): name one with --table"

    @property
    def calls_cte(self) -> str:
        return self._cte

    @property
    def in_flight_cte(self) -> str:
        """:attr:`calls_cte` with each call's calls in flight (``concurrency``)."""
        return self._in_flight_cte

    @property
    def sources(self) -> tuple[str, ...]:
        return (f"{self.location.url} {self.location.database}.{self.location.table}",)

    def scan(self, columns: str, where: str) -> str:
        """A query of ``columns`` of the table's own spans in the window, those ``where`` selects (SQL over
        the table's columns, or the names ``columns`` gives), each span once: what the call model does not
        keep (a span's events), read for the few spans that need it; of a span twice, the copy the model reads."""
        from mcpobs.clickhouse.model import ONE_COPY

        return f"SELECT {columns} FROM {self.location.qualified} WHERE {self._window} AND ({where}) {ONE_COPY}"

    def run(self, sql: str, params: dict[str, Any]) -> tuple[tuple[Any, ...], ...]:
        """Every row of a query whose parameters are written ``$name`` (as for DuckDB)."""
        text, bound = bind(sql, params)
        found = self._server_call(self._connection.query, text, bound)
        return tuple(tuple(_plain(v) for v in row) for row in found)

    def temporary(self, name: str, sql: str, params: dict[str, Any] | None = None) -> None:
        """The session's temporary table ``name`` (replacing one of that name), filled by the query
        ``sql`` over :attr:`calls_cte` (``spans``, ``mcp_calls``, ``calls``) and earlier such tables:
        as the DuckDB store's ``CREATE OR REPLACE TEMP TABLE``, written once, read by every section."""
        self.drop(name)
        self._create(name, with_head(self._cte, sql), params or {})

    @property
    def temporary_tables(self) -> tuple[str, ...]:
        """The session's temporary tables, in the order made."""
        return tuple(self._connection.temporary)

    def drop(self, name: str) -> None:
        """Drop the session's temporary table ``name``, if there is one."""
        self._server_call(self._connection.command, f"DROP TEMPORARY TABLE IF EXISTS {_identifier(name)}", {})
        if name in self._connection.temporary:
            self._connection.temporary.remove(name)

    def _create(self, name: str, sql: str, params: dict[str, Any]) -> None:
        text, bound = bind(sql, params)
        self._server_call(
            self._connection.command,
            f"CREATE TEMPORARY TABLE {_identifier(name)} ENGINE = MergeTree ORDER BY tuple() AS {text}",
            bound,
        )
        self._connection.temporary.append(name)

    def _insert(self, name: str, sql: str) -> None:
        """Add the rows of ``sql`` to the session's temporary table ``name``."""
        self._server_call(self._connection.command, f"INSERT INTO {_identifier(name)} {sql}", {})

    def _server_call(self, call: Callable[..., T], *args: Any) -> T:
        try:
            return call(*args)
        except Exception as e:  # the drivers' errors have no common base: each is the server's word
            if self._connection.cancelled:
                raise KeyboardInterrupt from None
            raise InputError(self.location.url, f"ClickHouse: {_word(_first_line(e))}") from None

    def read(self) -> str:
        """What was read, for stderr: how many spans, of which table, over which window."""
        ((spans,),) = self.run(f"SELECT count() FROM {self._spans_table}", {})

        def moment(ns: int) -> str:
            return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        window = [f"from {moment(self.since_ns)}"] if self.since_ns is not None else []
        window += [f"to {moment(self.until_ns)}"] if self.until_ns is not None else []
        qualified = f"{self.location.database}.{self.location.table}"
        return f"read {spans:,} spans of {qualified} ({' '.join(window) or 'the whole table'})"

    def close(self) -> None:
        """Close the session, and with it its temporary table."""
        self._connection.close()

    def __enter__(self) -> ClickHouseTraces:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bind(sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``$name`` parameters as ClickHouse's ``{name:Type}``, and their values (a list as a list of text).

    The values stay Python's: clickhouse-connect formats them itself (formatted here first, they were
    escaped twice); chDB is given them in ClickHouse's text format (:func:`_text`).
    """
    bound: dict[str, Any] = {}

    def place(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            return match.group(0)
        value = params[name]
        bound[name] = [str(v) for v in value] if isinstance(value, list | tuple) else value
        return "{" + name + ":" + _type(value) + "}"

    return re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", place, sql), bound


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, int):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list | tuple):
        return "Array(String)"
    raise TypeError(f"no ClickHouse type for {value!r}")


def _text(value: Any) -> str:
    """A bound value in ClickHouse's text format, as a query parameter is read."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return _escaped(value)
    if isinstance(value, list):
        return "[" + ",".join("'" + _escaped(v).replace("'", "\\'") + "'" for v in value) + "]"
    return str(value)


def _escaped(text: str) -> str:
    # a parameter's value is read in the escaped text format: backslashes and control characters escaped
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _plain(value: Any) -> Any:
    """A value as DuckDB gives it: a timestamp naive in UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def with_head(head: str, sql: str) -> str:
    """The query ``sql`` after the CTEs ``head`` (``WITH …``), its own ``WITH`` continuing them."""
    body = sql.lstrip()
    if body.startswith("WITH "):
        return f"{head.rstrip()},\n{body[5:]}"
    return f"{head}{body}"


def _settings_clause(settings: dict[str, Any]) -> str:
    return " SETTINGS " + ", ".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in settings.items())


class _Stoppable:
    """A session whose running query a signal stops (:mod:`mcpobs.interrupt`): Ctrl-C reaches Python only
    once the query returns, which may be hours on a large table. From the signal thread :meth:`_kill`
    asks ClickHouse to cancel it (``KILL QUERY``; readonly users may, their own queries), the query's error
    becomes the KeyboardInterrupt (:attr:`cancelled`), and the stop waits for the session's end, which drops
    its temporary tables, before mcpobs.interrupt's deadline may end the process."""

    def _watch_signals(self) -> None:
        self.cancelled = False
        self._ended = threading.Event()
        # a kill and the session's end one at a time: no session opened for a kill once it has ended
        self._lock = threading.Lock()
        self._forget = interrupt.on_signal(self._stop)

    def _kill(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        with self._lock:
            if self._ended.is_set():
                return
            self.cancelled = True
            self._kill()
        self._ended.wait(CLOSE_WAIT_S)

    def _end(self, close: Callable[[], None]) -> None:
        with self._lock:
            try:
                close()
            finally:
                self._ended.set()
                self._forget()


class _Chdb(_Stoppable):
    def __init__(self, path: str, settings: dict[str, Any] = SETTINGS) -> None:
        from chdb import session

        self.path = path
        self.session: Any = session.Session(path)  # type: ignore[no-untyped-call]
        self.settings = _settings_clause(settings)
        self.temporary: list[str] = []
        # what each query of this session starts with: chDB takes no query id, KILL QUERY finds it so
        self.mark = f"/* mcpobs-{uuid.uuid4()} */ "
        self._watch_signals()

    def _kill(self) -> None:
        from chdb import session

        # a second session of the same directory is the same engine: its KILL reaches the running query
        killer: Any = session.Session(self.path)  # type: ignore[no-untyped-call]
        try:
            killer.query(f"KILL QUERY WHERE startsWith(query, '{self.mark}') ASYNC")
        finally:
            killer.close()

    def query(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        texts = {name: _text(value) for name, value in params.items()}
        table = self.session.query(self.mark + sql + self.settings, "ArrowTable", params=texts or None)
        # Arrow has no 128-bit integer: chDB sends an Int128 (the ledger's pico-dollars) as its 16 bytes.
        # No query of mcpobs returns a FixedString(16), the one other type sent so.
        wide = [i for i, f in enumerate(table.schema) if _is_int128(f.type)]
        rows = [tuple(row.values()) for row in table.to_pylist()]
        if wide:
            rows = [tuple(_int128(v) if i in wide else v for i, v in enumerate(row)) for row in rows]
        return rows

    def command(self, sql: str, params: dict[str, Any]) -> None:
        texts = {name: _text(value) for name, value in params.items()}
        self.session.query(self.mark + sql + self.settings, params=texts or None)

    def close(self) -> None:
        self._end(self.session.close)


def _is_int128(kind: Any) -> bool:
    import pyarrow as pa

    if pa.types.is_list(kind):
        return _is_int128(kind.value_type)
    return bool(pa.types.is_fixed_size_binary(kind) and kind.byte_width == 16)


def _int128(value: Any) -> Any:
    if isinstance(value, list):
        return [_int128(v) for v in value]
    return None if value is None else int.from_bytes(value, "little", signed=True)


class ReadonlyUser(Exception):
    """The server's user may change no setting (its profile says ``readonly=1``)."""


class _Server(_Stoppable):
    def __init__(self, location: Location) -> None:
        self.location = location
        self.temporary: list[str] = []
        # every query of the session has this id, by which a stop kills the one running
        self.query_id = f"mcpobs-{uuid.uuid4()}"
        # the settings go with each query: a client's own are checked against the user's profile
        # before anything could say why they are refused
        self.settings = {**location.settings, "query_id": self.query_id}
        # the first exchanges (clickhouse-connect's own, and the readonly check) answer at once from a
        # server: a port that takes the connection and never answers is given up on after CONNECT_SECONDS
        self.client = _client(
            location,
            # the temporary table lives in the HTTP session
            session_id=self.query_id,
            connect_timeout=CONNECT_SECONDS,
            send_receive_timeout=CONNECT_SECONDS,
        )
        # readonly=1 forbids every setting (the time limit, and join_use_nulls & co, without which the
        # figures differ from the files') and temporary tables; readonly=2 allows both, and no write
        if str(self.client.command("SELECT getSetting('readonly')")).strip() == "1":
            self.client.close()
            raise ReadonlyUser
        # then a query may run for its time limit
        from urllib3 import Timeout

        self.client.timeout = Timeout(
            connect=CONNECT_SECONDS, read=location.time_limit + 10 if location.time_limit else None
        )
        self._watch_signals()

    def _kill(self) -> None:
        # the session is busy with the query: the KILL goes outside it
        killer = _client(self.location, connect_timeout=5, send_receive_timeout=5)
        try:
            killer.command("KILL QUERY WHERE query_id = {id:String} ASYNC", parameters={"id": self.query_id})
        finally:
            killer.close()

    def query(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        result = self.client.query(sql, parameters=params, settings=self.settings)
        return [tuple(row) for row in result.result_rows]

    def command(self, sql: str, params: dict[str, Any]) -> None:
        self.client.command(sql, parameters=params or None, settings=self.settings)

    def close(self) -> None:
        self._end(self._close)

    def _close(self) -> None:
        # the server keeps an idle HTTP session (and its temporary tables) for session_timeout: dropped now
        # closing goes on if it fails: the session's end drops them all the same
        for name in self.temporary:
            with contextlib.suppress(Exception):
                self.client.command(f"DROP TEMPORARY TABLE IF EXISTS {_identifier(name)}")
        self.client.close()


def _client(location: Location, **options: Any) -> Any:
    """A clickhouse-connect client of the location's server and user."""
    import clickhouse_connect

    return clickhouse_connect.get_client(
        host=location.host,
        port=location.http_port,
        username=location.username,
        password=location.password,
        database=location.database,
        secure=location.secure,
        **options,
    )


def _chdb(location: Location) -> _Connection:
    try:
        import chdb  # noqa: F401
    except ImportError:
        raise UsageError("reading chdb: needs the chdb extra: pip install 'mcpobs-cli[chdb]'") from None
    assert location.chdb_path is not None
    _check_directory(location)
    # chDB writes why it cannot open to file descriptor 2 itself, and raises with no reason given: what
    # it writes is read here, and the user gets one line
    with tempfile.TemporaryFile() as said:
        sys.stderr.flush()
        stderr = os.dup(2)
        os.dup2(said.fileno(), 2)
        try:
            return _Chdb(location.chdb_path, location.settings)
        except Exception as e:
            os.dup2(stderr, 2)
            said.seek(0)
            text = said.read().decode(errors="replace")
            # its lock file, made when a session opens: a read-only mount, another user's directory
            unwritable = re.search(r"Cannot open file \S*/status: , errno: \d+, strerror: ([^.]+)\.", text)
            if unwritable:
                raise InputError(
                    location.url,
                    f"chDB cannot write in this directory (its lock file status: {unwritable.group(1)}): chDB keeps "
                    "its lock and the command's temporary tables there (no table of it is changed): read a copy "
                    "you may write in",
                ) from None
            if "Cannot lock file" in text:
                raise InputError(
                    location.url,
                    "another process has this chDB directory open (chDB serves a directory to one process at a "
                    "time): wait for it to end, or read a copy of the directory",
                ) from None
            raise InputError(location.url, f"cannot open the chDB session: {_first_line(e)}") from None
        finally:
            os.dup2(stderr, 2)
            os.close(stderr)


def _check_directory(location: Location) -> None:
    """Refuse a ``chdb:`` path that is not a chDB session directory: chDB creates a missing directory and
    writes its tmp/ into any, so a mistyped path is refused before it is opened."""
    assert location.chdb_path is not None
    path = Path(location.chdb_path)
    if not path.exists():
        raise InputError(location.url, "no such chDB session directory")
    if not path.is_dir():
        raise InputError(location.url, "not a directory: chdb:PATH names a chDB session directory")
    if not (path / "metadata").is_dir():
        raise InputError(
            location.url, "not a chDB session directory: it has no metadata/ (where chDB keeps its tables)"
        )


def _server(location: Location) -> _Connection:
    try:
        import clickhouse_connect  # noqa: F401
    except ImportError:
        raise UsageError(
            "reading clickhouse:// needs the clickhouse extra: pip install 'mcpobs-cli[clickhouse]'"
        ) from None
    # its log records (a warning with a traceback when a connection fails) are not the user's to read:
    # what went wrong is the one line below
    logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())
    try:
        return _Server(location)
    except ReadonlyUser:
        raise InputError(
            location.url,
            f"user {location.username} has readonly=1, which forbids the settings each query needs (its time "
            "limit, result limit, NULL semantics) and the session's temporary table: give the user readonly=2 "
            "(no writes; settings and temporary tables allowed)",
        ) from None
    except Exception as e:
        text = " ".join(str(e).split())
        # urllib3's retry report wraps the socket's reason ("[Errno 111] Connection refused") in a pool's
        # repr and a query id: the reason alone, where it is there
        reason = re.search(r"\[Errno -?\d+\] ([^'\"()]+)", text)
        # and its timeouts' ("Read timed out. (read timeout=10)") in the user's words
        waited = re.search(r"timed out\. \((connect|read) timeout=([\d.]+)\)", text)
        if waited:
            said = f"no {'connection' if waited.group(1) == 'connect' else 'answer'} within {waited.group(2)} s"
        else:
            said = reason.group(1).strip() if reason else _answer(text)
        where = f"{location.host}:{location.http_port}: {said}"
        message = f"cannot connect to ClickHouse at {where}"
        raise InputError(location.url, message) from None


def _answer(error: str) -> str:
    """What a server that is not ClickHouse's HTTP port answered (the error's text, its lines joined:
    ClickHouse's native port says on its second which port is HTTP's), a web page's markup left out."""
    # clickhouse-connect's "(for url …)" at its end: mcpobs names the host and port itself
    text = re.sub(r" \(for url [^)]*\)$", "", error)
    markup = text.find(" <")
    if markup > 0:
        text = text[:markup] + " a web page"
    return text if len(text) <= 300 else text[:299] + "…"


def now_ns() -> int:
    return int(datetime.now(UTC).timestamp() * 1_000_000_000)


def _word(text: str) -> str:
    """A ClickHouse error's reason and its name, without the query it quotes after ``In scope`` (the call
    model's SQL, kilobytes on the one line) or the server's version after the name."""
    quoted = re.search(r"[.:]? In scope ", text)
    if quoted is None:
        return text
    names = re.findall(r"\(([A-Z][A-Z0-9_]+)\)", text[quoted.end() :])
    return text[: quoted.start()] + (f" ({names[-1]})" if names else "")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def locate(arguments: list[str] | None, table: str | None) -> Location | None:
    """Where the ClickHouse table the source arguments name is, checked (a chDB directory's path too) but
    neither reached nor read; None when they name files."""
    named = [a for a in arguments or () if is_clickhouse(a)]
    if not named:
        if table is not None:
            raise UsageError("--table names a ClickHouse table: give a clickhouse://, clickhouses:// or chdb: source")
        return None
    if len(named) != len(arguments or ()) or len(named) > 1:
        raise UsageError("a ClickHouse source is read alone: name one clickhouse://, clickhouses:// or chdb: source")
    location = parse(named[0], table)
    if location.chdb_path is not None:
        _check_directory(location)
    return location


def open_source(
    arguments: list[str] | None, table: str | None, since_ns: int | None = None, until_ns: int | None = None
) -> ClickHouseTraces | None:
    """The ClickHouse table the source arguments name (:func:`locate`), opened; None when they name files.

    A live server is read over the 24 hours before ``until_ns`` (or now) unless ``since_ns`` says
    otherwise; a chDB directory (a copy of the table) whole.
    """
    location = locate(arguments, table)
    if location is None:
        return None
    since_ns = since_default(location.server, since_ns, until_ns, now_ns())
    return ClickHouseTraces(location, since_ns, until_ns)


def since_default(server: bool, since_ns: int | None, until_ns: int | None, now_ns: int) -> int | None:
    """Where a read starts: ``since_ns`` if given, else on a server the day before ``until_ns`` (or now);
    a chDB copy whole (None)."""
    if since_ns is not None or not server:
        return since_ns
    return (now_ns if until_ns is None else until_ns) - DEFAULT_WINDOW_NS


# what a live server is read over when --since does not say
DEFAULT_WINDOW_NS = 24 * 3600 * 1_000_000_000
