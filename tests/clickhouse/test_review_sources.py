"""A new user's mistakes with a ClickHouse source, as they run mcpobs (its own process, as a shell runs it):
each one line on stderr with its exit status, no password in it, nothing written where it was pointed."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Exported
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import SAMPLE


def mcpobs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mcpobs", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]  # bound, not listening: a connection is refused


# a password whose characters a URL reserves, written as a user pastes it (not percent-encoded)
@pytest.mark.parametrize("mark", ["@", "/", "#", "?"])
def test_a_password_is_never_shown_whatever_its_characters(closed_port: int, mark: str) -> None:
    pytest.importorskip("clickhouse_connect")
    result = mcpobs("analyze", f"clickhouse://reader:Xa1{mark}Zb2@127.0.0.1:{closed_port}/otel")
    assert result.returncode in (2, 3), result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("mcpobs: error: clickhouse://reader@")
    assert "Xa1" not in line
    assert "Zb2" not in line


def test_an_unreachable_server_prints_only_mcpobs_line(closed_port: int) -> None:
    pytest.importorskip("clickhouse_connect")
    result = mcpobs("analyze", f"clickhouse://reader@127.0.0.1:{closed_port}/otel")
    assert result.returncode == 3
    # clickhouse-connect's own log record ("Unexpected Http Driver Exception") is not the user's to read
    # and the reason is the socket's, not the HTTP pool's retry report around it (with a query id)
    assert result.stderr.strip() == (
        f"mcpobs: error: clickhouse://reader@127.0.0.1:{closed_port}/otel: cannot connect to ClickHouse at "
        f"127.0.0.1:{closed_port}: Connection refused"
    )


def test_a_chdb_path_that_does_not_exist_is_refused_and_not_created(tmp_path: Path) -> None:
    pytest.importorskip("chdb")
    missing = tmp_path / "no-such-copy"
    result = mcpobs("analyze", f"chdb:{missing}")
    assert result.returncode == 3
    assert result.stderr.strip() == f"mcpobs: error: chdb:{missing}: no such chDB session directory"
    assert not missing.exists()


def test_a_directory_that_is_no_chdb_session_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    pytest.importorskip("chdb")
    (tmp_path / "notes.txt").write_text("mine")
    result = mcpobs("analyze", f"chdb:{tmp_path}")
    assert result.returncode == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"mcpobs: error: chdb:{tmp_path}: not a chDB session directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_file_given_as_chdb_path_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("chdb")
    path = tmp_path / "traces.jsonl"
    path.write_text("{}\n")
    result = mcpobs("analyze", f"chdb:{path}")
    assert result.returncode == 3
    assert (
        result.stderr.strip()
        == f"mcpobs: error: chdb:{path}: not a directory: chdb:PATH names a chDB session directory"
    )


@pytest.fixture(scope="module")
def other_tables(chdb_dir: Path, exported: Exported) -> str:
    """In the run's chDB directory: the exporter's table less a column, and a table of another schema."""
    exported("sample", [SAMPLE])  # the directory holds the run's data sets; this one first
    from chdb import session
    from otel_traces_exporter import DDL

    s = session.Session(str(chdb_dir))
    try:
        s.query("CREATE DATABASE IF NOT EXISTS review")
        s.query(DDL.format(database="review", table="old").replace("    StatusMessage String CODEC(ZSTD(1)),\n", ""))
        s.query("CREATE TABLE IF NOT EXISTS review.plain (a Int32) ENGINE = MergeTree ORDER BY a")
    finally:
        s.close()
    return f"chdb:{chdb_dir}"


@pytest.mark.parametrize(
    ("table", "missing"),
    [
        ("review.old", "StatusMessage"),
        (
            "review.plain",
            "Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName, ScopeName, SpanAttributes, "
            "Duration, StatusCode, StatusMessage, Events, Links",
        ),
    ],
)
def test_a_table_without_the_exporters_columns_says_which(
    runner: CliRunner, other_tables: str, table: str, missing: str
) -> None:
    result = runner.invoke(app, ["analyze", other_tables, "--table", table])
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        f"mcpobs: error: {other_tables}: {table} is not the OpenTelemetry Collector exporter's otel_traces: "
        f"it has no {missing}"
    )


def test_the_columns_checked_are_those_the_call_model_reads() -> None:
    from mcpobs.clickhouse import EXPORTER_COLUMNS
    from mcpobs.clickhouse.model import spans_select

    sql = spans_select("t", "true", "traces")
    read = {c for c in re.findall(r"\b[A-Z][A-Za-z]+\b", sql) if c in EXPORTER_COLUMNS or c in _ALL}
    assert read == set(EXPORTER_COLUMNS)


# every column of the exporter's DDL (tests/clickhouse/otel_traces_exporter.py)
_ALL = {
    "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind", "ServiceName",
    "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration", "StatusCode", "StatusMessage",
    "Events", "Links",
}  # fmt: skip


HOLD = """
import sys
from chdb import session
s = session.Session(sys.argv[1])
s.query("CREATE DATABASE IF NOT EXISTS otel")
print("open", flush=True)
sys.stdin.read()  # until the test closes it
s.close()
"""


def test_a_chdb_directory_another_process_has_open_is_one_line(tmp_path: Path) -> None:
    """chDB serves a directory to one process at a time: a notebook's session, or two commands at once."""
    pytest.importorskip("chdb")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "open\n"
        result = mcpobs("analyze", f"chdb:{tmp_path}")
    finally:
        holder.communicate("", timeout=60)
    assert result.returncode == 3
    assert result.stderr.strip() == (
        f"mcpobs: error: chdb:{tmp_path}: another process has this chDB directory open (chDB serves a directory "
        "to one process at a time): wait for it to end, or read a copy of the directory"
    )


def test_a_server_window_given_only_its_end_is_the_24_hours_before_it() -> None:
    """`--until` alone on a server: the day before it, not the day before now (an empty window when --until
    is older than that, read as "no calls")."""
    from mcpobs.clickhouse import DEFAULT_WINDOW_NS, since_default

    day, now = DEFAULT_WINDOW_NS, 1_800_000_000 * 10**9
    assert since_default(server=True, since_ns=None, until_ns=None, now_ns=now) == now - day
    assert since_default(server=True, since_ns=None, until_ns=now - 30 * day, now_ns=now) == now - 31 * day
    assert since_default(server=True, since_ns=5, until_ns=now - 30 * day, now_ns=now) == 5
    assert since_default(server=False, since_ns=None, until_ns=now - 30 * day, now_ns=now) is None


@pytest.mark.parametrize(
    ("window", "said"),
    [
        ([], "the whole table"),
        (["--since", "2026-11-23T11:07:08Z"], "from 2026-11-23T11:07:08Z"),
        (["--since", "2026-11-24", "--until", "2026-11-25"], "from 2026-11-24T00:00:00Z to 2026-11-25T00:00:00Z"),
    ],
)
def test_what_was_read_is_said_as_files_say_what_they_loaded(
    runner: CliRunner, chdb_dir: Path, exported: Exported, window: list[str], said: str
) -> None:
    """A window that holds nothing (a server's last 24 hours of a table fed yesterday) reads as 'no calls',
    and a CI gate passes: how many spans of which table over which window is on stderr, as a file's load."""
    table = exported("sample", [SAMPLE])
    result = runner.invoke(app, ["analyze", f"chdb:{chdb_dir}", "--table", table, *window, "--view", "calls"])
    assert result.exit_code == 0, result.stderr
    spans = {"the whole table": 116, "from 2026-11-23T11:07:08Z": 66}.get(said, 0)
    assert result.stderr.splitlines() == [f"mcpobs: read {spans:,} spans of {table} ({said})"]
