"""A new user following the README's "Traces in ClickHouse": the mistakes a first try makes, each one
short line naming the source (never the model's SQL, never a hang), with its exit status."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import Exported
from typer.testing import CliRunner

pytest.importorskip("chdb")

from mcpobs import clickhouse
from mcpobs.cli import app
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def sample(chdb_dir: Path, exported: Exported) -> str:
    """The sample session in the run's chDB directory: its ``--table``."""
    return exported("sample", [SAMPLE])


@pytest.fixture(scope="module")
def typed(chdb_dir: Path, sample: str) -> Callable[[str, str], str]:
    """``typed(KIND, EVENTS)``: a table with the exporter's columns whose span attributes are of type KIND
    and its events' of type EVENTS (the exporter's JSON variant: JSON both), not Maps."""
    from chdb import session
    from otel_traces_exporter import DDL

    def make(kind: str, events: str) -> str:
        name = f"typed_{kind.lower()}"
        ddl = (
            DDL.format(database="newuser", table=name)
            .replace("SpanAttributes Map(LowCardinality(String), String)", f"SpanAttributes {kind}")
            .replace(
                "        Attributes Map(LowCardinality(String), String)\n    ) CODEC(ZSTD(1)),\n    Links",
                f"        Attributes {events}\n    ) CODEC(ZSTD(1)),\n    Links",
                1,
            )
        )
        # the indexes and alias over the span attributes' map
        ddl = "\n".join(line for line in ddl.splitlines() if "(SpanAttributes" not in line)
        s = session.Session(str(chdb_dir))
        try:
            s.query("CREATE DATABASE IF NOT EXISTS newuser")
            s.query(ddl)
        finally:
            s.close()
        return f"newuser.{name}"

    return make


@pytest.mark.parametrize(
    ("table", "named"),
    [("{db}.otel_trace", "{db}.otel_trace"), ("{db}", "otel.{db}"), ("nosuchdb.otel_traces", "nosuchdb.otel_traces")],
)
def test_a_table_that_is_not_there_is_one_short_line_naming_the_exporters_tables(
    runner: CliRunner, chdb_dir: Path, sample: str, typed: Callable[[str, str], str], table: str, named: str
) -> None:
    """A mistyped --table (or none, where the Collector wrote another database): ClickHouse's own word
    quoted the call model's whole SQL (5 KB on one line); the tables that are there are what helps."""
    db = sample.split(".")[0]
    typed("String", "Map(LowCardinality(String), String)")
    result = runner.invoke(app, ["analyze", f"chdb:{chdb_dir}", "--table", table.format(db=db)])
    assert result.exit_code == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    expected = f"mcpobs: error: chdb:{chdb_dir}: no table {named.format(db=db)} (the exporter's tables there: "
    assert line.startswith(expected)
    # the run's other data sets are there too (at most 5 named, the closest first)
    assert ".otel_traces" in line
    if table == "{db}.otel_trace":
        assert line.startswith(expected + sample)
    assert "typed_" not in line  # the exporter's columns, not of its types
    assert "SELECT" not in line
    assert len(line) < 400


def test_the_default_table_when_there_is_none_names_the_others(runner: CliRunner, chdb_dir: Path, sample: str) -> None:
    result = runner.invoke(app, ["check-alerts", "--rules", str(SAMPLE.parent / "alerts.yaml"), f"chdb:{chdb_dir}"])
    assert result.exit_code == 3, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"mcpobs: error: chdb:{chdb_dir}: no table otel.otel_traces (")
    assert ".otel_traces" in line


@pytest.mark.parametrize(("kind", "events"), [("String", "Map(LowCardinality(String), String)"), ("JSON", "JSON")])
def test_attributes_that_are_no_map_are_named_with_their_type(
    runner: CliRunner, chdb_dir: Path, typed: Callable[[str, str], str], kind: str, events: str
) -> None:
    """A table of the exporter's JSON variant (or of strings) failed in the call model's SQL: ClickHouse's
    word on mapKeys, quoting the model's 5 KB of SQL."""
    table = typed(kind, events)
    result = runner.invoke(app, ["analyze", f"chdb:{chdb_dir}", "--table", table])
    assert result.exit_code == 3, result.stderr
    wrong = f"SpanAttributes is {kind}" + (", Events.Attributes is Array(JSON)" if events == "JSON" else "")
    assert result.stderr.strip() == (
        f"mcpobs: error: chdb:{chdb_dir}: {table} is not the OpenTelemetry Collector exporter's otel_traces: "
        f"its {wrong}, not the exporter's Map(LowCardinality(String), String) (its JSON variant is not read)"
    )


@pytest.mark.parametrize(
    ("text", "word"),
    [
        (
            "Code: 60. DB::Exception: Unknown table expression identifier 'a.b'. In scope SELECT x FROM a.b "
            "WHERE f(1) SETTINGS readonly = 2. (UNKNOWN_TABLE)",
            "Code: 60. DB::Exception: Unknown table expression identifier 'a.b' (UNKNOWN_TABLE)",
        ),
        (
            "Received ClickHouse exception, code: 43, server response: Code: 43. DB::Exception: Function mapKeys "
            "requires at least one argument of type Map: In scope SELECT (a) FROM t. (ILLEGAL_TYPE_OF_ARGUMENT) "
            "(version 25.8.1.1)",
            "Received ClickHouse exception, code: 43, server response: Code: 43. DB::Exception: Function mapKeys "
            "requires at least one argument of type Map (ILLEGAL_TYPE_OF_ARGUMENT)",
        ),
        (
            "Code: 241. DB::Exception: Memory limit (total) exceeded: would use 3.50 GiB. (MEMORY_LIMIT_EXCEEDED)",
            "Code: 241. DB::Exception: Memory limit (total) exceeded: would use 3.50 GiB. (MEMORY_LIMIT_EXCEEDED)",
        ),
    ],
)
def test_clickhouses_word_is_its_reason_and_its_name(text: str, word: str) -> None:
    assert clickhouse._word(text) == word


def test_a_port_out_of_range_is_told_as_such(runner: CliRunner) -> None:
    result = runner.invoke(app, ["analyze", "clickhouse://reader:secret@127.0.0.1:99999/otel"])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "mcpobs: error: clickhouse://reader@127.0.0.1:99999/otel: the port is not a port number (1 to 65535)"
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never answers (a proxy or a port of another service that waits)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)  # the kernel completes the handshakes; nothing reads or writes
        yield s.getsockname()[1]


def test_a_server_that_never_answers_is_given_up_on_quickly(
    runner: CliRunner, silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first exchange waited each query's time limit (310 s) for an answer that never came."""
    pytest.importorskip("clickhouse_connect")
    monkeypatch.setattr(clickhouse, "CONNECT_SECONDS", 1)
    url = f"clickhouse://reader:hunter2@127.0.0.1:{silent_port}/otel"
    started = time.monotonic()
    result = runner.invoke(app, ["analyze", url])
    assert time.monotonic() - started < 30
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        f"mcpobs: error: clickhouse://reader@127.0.0.1:{silent_port}/otel: cannot connect to ClickHouse at "
        f"127.0.0.1:{silent_port}: no answer within 1 s"
    )


def test_a_chdb_path_in_the_home_directory_may_start_with_a_tilde(
    runner: CliRunner, chdb_dir: Path, sample: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shell expands no ``~`` after ``chdb:``: mcpobs does, as it would in a path of its own."""
    monkeypatch.setenv("HOME", str(chdb_dir.parent))
    result = runner.invoke(app, ["analyze", f"chdb:~/{chdb_dir.name}", "--table", sample, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith(f"mcpobs: read 116 spans of {sample}")


@pytest.mark.parametrize("command", [["check-alerts"], ["report", "--html", "{tmp}/page.html"]])
def test_a_baseline_chdb_directory_that_is_not_there_is_told_before_the_calls_are_read(
    runner: CliRunner, chdb_dir: Path, sample: str, tmp_path: Path, command: list[str]
) -> None:
    """It was told once the calls' model was built, which on a production cluster may be minutes."""
    missing = tmp_path / "last-week"
    result = runner.invoke(
        app,
        [
            command[0],
            "--rules",
            str(SAMPLE.parent / "alerts.yaml"),
            f"chdb:{chdb_dir}",
            "--table",
            sample,
            "--baseline",
            f"chdb:{missing}",
            *(arg.format(tmp=tmp_path) for arg in command[1:]),
        ],
    )
    assert result.exit_code == 3, result.stderr
    assert result.stderr.strip() == f"mcpobs: error: chdb:{missing}: no such chDB session directory"
    assert not missing.exists()


def test_rules_needing_a_baseline_on_clickhouse_say_how_to_give_one(
    runner: CliRunner, chdb_dir: Path, sample: str, tmp_path: Path
) -> None:
    """'give the baseline files' pointed a ClickHouse user at files; the server's other hours are it."""
    rules = tmp_path / "rules.yaml"
    rules.write_text('alerts:\n  - name: slower\n    condition: "latency_p95_ms > baseline.latency_p95_ms"\n')
    result = runner.invoke(app, ["check-alerts", "--rules", str(rules), f"chdb:{chdb_dir}", "--table", sample])
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"mcpobs: error: {rules}: 'slower' compare with baseline.* metrics: give the baseline with --baseline "
        "(the same source with --baseline-since/--baseline-until)"
    )


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A chDB directory with a table in it that nothing may write in (a copy on a read-only mount, or another
    user's): mode 555, and where that does not stop the test's user (root), immutable."""
    import shutil
    import subprocess
    import sys

    path = tmp_path / "copy"
    made = subprocess.run(
        [sys.executable, "-c", HOLD_TABLE, str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert made.returncode == 0, made.stderr
    shutil.rmtree(path / "data" / "_temporary_and_external_tables", ignore_errors=True)
    held = [path, path / "data", path / "tmp"]
    for p in held:
        p.chmod(0o555)
    immutable = False
    try:
        (path / "probe").touch()
    except PermissionError:
        pass
    else:
        (path / "probe").unlink()
        immutable = subprocess.run(["chattr", "+i", *map(str, held)], capture_output=True, check=False).returncode == 0
        if not immutable:
            for p in held:
                p.chmod(0o755)
            pytest.skip("no way here to make a directory that this user may not write in")
    try:
        yield path
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", *map(str, held)], check=False)
        for p in held:
            p.chmod(0o755)


HOLD_TABLE = """
import sys
from chdb import session
s = session.Session(sys.argv[1])
s.query("CREATE DATABASE IF NOT EXISTS otel")
s.query("CREATE TABLE IF NOT EXISTS otel.otel_traces (a Int32) ENGINE = MergeTree ORDER BY a")
s.close()
"""


def test_a_chdb_directory_nothing_may_write_in_is_one_line_saying_so(unwritable: Path) -> None:
    """chDB keeps a lock file (``status``) and the command's temporary tables there: it said only "Error
    initializing EmbeddedServer"."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mcpobs", "analyze", f"chdb:{unwritable}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"mcpobs: error: chdb:{unwritable}: chDB cannot write in this directory (its lock file status: "
    )
    assert line.endswith(
        "): chDB keeps its lock and the command's temporary tables there (no table of it is changed): "
        "read a copy you may write in"
    )


# what ClickHouse's native port (9000, the Collector's endpoint in the README) answers an HTTP request with:
# TCPHandler::receiveHello in ClickHouse's src/Server/TCPHandler.cpp, byte for byte, then it closes
NATIVE_PORT_ANSWER = (
    b"HTTP/1.0 400 Bad Request\r\n\r\n"
    b"Port 9000 is for clickhouse-client program.\r\nYou must use port 8123 for HTTP.\r\n"
)


@pytest.fixture
def native_port() -> Iterator[int]:
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)

    def answer() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:  # closed: the test is over
                return
            with connection:
                connection.recv(65536)
                connection.sendall(NATIVE_PORT_ANSWER)

    threading.Thread(target=answer, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def test_the_native_port_copied_from_the_exporters_endpoint_says_which_port_is_http(
    runner: CliRunner, native_port: int
) -> None:
    """The port the Collector writes to (tcp://clickhouse:9000) is not the one mcpobs reads from; ClickHouse
    says which is, on the second line of its answer, which was left out."""
    pytest.importorskip("clickhouse_connect")
    result = runner.invoke(app, ["analyze", f"clickhouse://reader:hunter2@127.0.0.1:{native_port}/otel"])
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        f"mcpobs: error: clickhouse://reader@127.0.0.1:{native_port}/otel: cannot connect to ClickHouse at "
        f"127.0.0.1:{native_port}: HTTP driver received HTTP status 400, server response: Port 9000 is for "
        "clickhouse-client program. You must use port 8123 for HTTP."
    )


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["check-alerts", "--rules", str(SAMPLE.parent / "alerts.yaml")], "--since"),
        (["analyze"], "--since"),
        (["report", "--html", "{tmp}/page.html"], "--since"),
        (["check-alerts", "--rules", str(SAMPLE.parent / "alerts.yaml"), "--baseline", "{source}"], "--baseline-since"),
    ],
)
@pytest.mark.parametrize("on", ["chdb", "files"])
def test_a_window_starting_after_now_is_refused(
    runner: CliRunner, chdb_dir: Path, sample: str, tmp_path: Path, command: list[str], option: str, on: str
) -> None:
    """A mistyped year (2062 for 2026): nothing recorded is in the window, and the CI gate passed it with every
    rule without a verdict, exit 0, as analyze showed empty tables."""
    source = [f"chdb:{chdb_dir}", "--table", sample] if on == "chdb" else [str(SAMPLE)]
    given = [arg.format(source=source[0], tmp=tmp_path) for arg in command]
    result = runner.invoke(app, [*given, *source, option, "2062-12-01"])
    assert result.exit_code == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"mcpobs: error: {option} 2062-12-01 is after now (")
    assert line.endswith("): nothing recorded is in the window")
    assert not (tmp_path / "page.html").exists()
