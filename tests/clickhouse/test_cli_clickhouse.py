"""`analyze` and `check-alerts` on a ClickHouse source: the same output as on the files, and every way it
can go wrong one line with its exit status."""

from __future__ import annotations

import json
import math
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("chdb")

from conftest import Exported

from mcpobs.cli import app
from mcpobs.clickhouse import ClickHouseTraces, _text, bind, parse
from mcpobs.errors import InputError, UsageError
from tests.conftest import SAMPLE

RULES = """
alerts:
  - name: errors
    condition: "error_rate + rejected_rate > 0.05"
  - name: slow tools
    condition: "latency_p95_ms > 100ms and latency_p95_ms > baseline.latency_p95_ms * 1.5"
    scope: tool
    severity: critical
"""


@pytest.fixture(scope="module")
def source(chdb_dir: Path, exported: Exported) -> list[str]:
    """The sample session in a chDB table as the Collector's exporter writes it: the source arguments."""
    return [f"chdb:{chdb_dir}", "--table", exported("sample", [SAMPLE])]


def _close(a: object, b: object) -> bool:
    """Equal, floats within a quantile's rounding (the two engines sum in a different order)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _without_sources(text: str) -> dict[str, object]:
    document = json.loads(text)
    document["summary"].pop("sources")
    for row in document.get("traces", []):
        for size in ("size_p50_bytes", "size_p95_bytes", "size_max_bytes"):
            row.pop(size)
    return dict(document)


def test_analyze_reads_a_chdb_table_as_it_reads_the_files(runner: CliRunner, source: list[str]) -> None:
    args = ["--format", "json", "--by", "server,tool"]
    files = runner.invoke(app, ["analyze", str(SAMPLE), *args])
    table = runner.invoke(app, ["analyze", *source, *args])
    assert table.exit_code == 0, table.stderr
    assert _close(_without_sources(table.stdout), _without_sources(files.stdout))
    assert json.loads(table.stdout)["summary"]["sources"] == [f"{source[0]} {source[2]}"]


def test_analyze_reads_calls_of_several_rounds_and_abandoned_calls(
    runner: CliRunner, chdb_dir: Path, exported: Exported
) -> None:
    # refused before (exit 2): 2026-07-28 calls of several rounds, calls abandoned after input_required
    data = Path(__file__).resolve().parents[1] / "data" / "mrtr"
    args = ["--format", "json", "--by", "server,tool"]
    files = runner.invoke(app, ["analyze", str(data), *args])
    table = runner.invoke(app, ["analyze", f"chdb:{chdb_dir}", "--table", exported("mrtr", [data]), *args])
    assert table.exit_code == files.exit_code == 0, table.stderr
    assert _close(_without_sources(table.stdout), _without_sources(files.stdout))
    assert any(row["rounds"] > row["calls"] for row in json.loads(table.stdout)["calls"])


def test_check_alerts_on_chdb_with_a_chdb_baseline_is_the_files_verdict(
    runner: CliRunner, source: list[str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    files = runner.invoke(app, ["check-alerts", "--rules", str(rules), str(SAMPLE), "--baseline", str(SAMPLE)])
    table = runner.invoke(app, ["check-alerts", "--rules", str(rules), *source, "--baseline", source[0], "-f", "json"])
    files_json = runner.invoke(
        app, ["check-alerts", "--rules", str(rules), str(SAMPLE), "--baseline", str(SAMPLE), "-f", "json"]
    )
    assert table.exit_code == files.exit_code == 1, table.stderr
    assert _close(json.loads(table.stdout), json.loads(files_json.stdout))


def test_cost_on_chdb_is_the_files_cost(runner: CliRunner, source: list[str]) -> None:
    # the models section alone: every cost section is compared in test_parity
    args = ["--format", "json", "--view", "models"]
    files = runner.invoke(app, ["cost", str(SAMPLE), *args])
    table = runner.invoke(app, ["cost", *source, *args])
    assert table.exit_code == files.exit_code == 0, table.stderr
    assert _without_sources(table.stdout) == _without_sources(files.stdout)
    # the notes on what could not be priced, after the lines saying what was loaded or read
    assert table.stderr.splitlines()[1:] == files.stderr.splitlines()[1:]


def test_a_value_attribute_on_chdb_is_the_files(runner: CliRunner, source: list[str], exported: Exported) -> None:
    # the sample with the task.value of its agent runs: each cost section's value and value per dollar
    agent = Path(__file__).resolve().parents[2] / "sample_traces" / "agent_cost_session.jsonl"
    args = ["--format", "json", "--value-attr", "task.value"]
    files = runner.invoke(app, ["cost", str(agent), *args])
    table = runner.invoke(app, ["cost", source[0], "--table", exported("agent_cost_session", [agent]), *args])
    assert table.exit_code == files.exit_code == 0, table.stderr
    assert _without_sources(table.stdout) == _without_sources(files.stdout)
    assert json.loads(table.stdout)["cost"][0]["value"] == 1.7


def test_calls_in_flight_on_chdb_are_the_files(runner: CliRunner, source: list[str]) -> None:
    args = ["--format", "json", "--by", "server,concurrency", "--view", "calls"]
    files = runner.invoke(app, ["analyze", str(SAMPLE), *args])
    table = runner.invoke(app, ["analyze", *source, *args])
    assert table.exit_code == files.exit_code == 0, table.stderr
    assert _close(_without_sources(table.stdout), _without_sources(files.stdout))


def test_another_table_is_named_with_table(runner: CliRunner, source: list[str]) -> None:
    database = source[2].split(".")[0]
    result = runner.invoke(app, ["analyze", source[0], "--table", f"{database}.no_such_table"])
    assert result.exit_code == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"mcpobs: error: {source[0]}: no table {database}.no_such_table (")


def test_queries_are_read_only(source: list[str]) -> None:
    with ClickHouseTraces(parse(source[0], source[2])) as traces, pytest.raises(InputError, match="readonly"):
        traces.run("CREATE TABLE otel.written (a Int8) ENGINE = Memory", {})


@pytest.mark.parametrize(
    "command",
    [
        ["load", "--db", "obs.duckdb"],
        ["export", "--parquet", "x"],
        ["tools"],
        ["diff", str(SAMPLE)],
        ["lint"],
        ["serve"],
        ["replay"],
        ["convert", "--to", "otlp"],
    ],
)
def test_commands_not_yet_on_clickhouse_refuse_it(runner: CliRunner, command: list[str]) -> None:
    # before anything is read (the host is not even looked up): one line, exit 2, never the password
    # (serve, replay and convert said "clickhouse:/reader:secret@…: cannot read", exit 3)
    result = runner.invoke(app, [*command, "clickhouse://reader:secret@ch.example/otel"])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.strip() == f"mcpobs: error: not yet supported on ClickHouse: mcpobs {command[0]}"


@pytest.mark.parametrize("command", [["check-alerts"], ["report", "--html", "page.html"]])
@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        (["clickhouse://:secret@/db"], "no host"),
        (["chdb:/x", str(SAMPLE)], "a ClickHouse source is read alone"),
    ],
)
def test_a_mistaken_baseline_is_told_before_the_calls_are_read(
    runner: CliRunner, source: list[str], tmp_path: Path, command: list[str], baseline: list[str], message: str
) -> None:
    # it was told once the calls' model was built ("mcpobs: read 116 spans …" first)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    given = [arg for b in baseline for arg in ("--baseline", b)]
    result = runner.invoke(app, [command[0], "--rules", str(rules), *source, *given, *command[1:]])
    assert result.exit_code == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("mcpobs: error: ")
    assert message in line


def test_the_report_checks_files_against_a_clickhouse_baseline_in_a_named_table(
    runner: CliRunner, source: list[str], tmp_path: Path
) -> None:
    # as check-alerts does: --table is the baseline's (it was refused: "--table names a ClickHouse table")
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    args = ["report", "--rules", str(rules), str(SAMPLE), "--html", str(tmp_path / "page.html"), "--baseline"]
    files = runner.invoke(app, [*args, str(SAMPLE)])
    table = runner.invoke(app, [*args, *source])
    assert table.exit_code == files.exit_code == 0, table.stderr
    assert table.stderr.splitlines()[1] == f"mcpobs: baseline: read 116 spans of {source[2]} (the whole table)"
    # the alerts fired, as against the files
    assert table.stderr.splitlines()[-1] == files.stderr.splitlines()[-1]


# real servers' calls, recorded (tests/data/arguments/make_*.py): invalid arguments and results among them
ARGUMENTS = Path(__file__).resolve().parents[1] / "data" / "arguments"


@pytest.mark.parametrize("view", ["arguments", "argument_shapes", "invalid_arguments", "invalid_results"])
def test_the_argument_sections_on_chdb_are_the_files(
    runner: CliRunner, source: list[str], exported: Exported, view: str
) -> None:
    # each call's arguments checked in Python (jsonschema) against the schemas its tools/list answer
    # advertised, as from the files
    table = ["--table", exported("arguments", [ARGUMENTS])]
    args = ["--view", view, "--format", "json"]
    files = runner.invoke(app, ["analyze", str(ARGUMENTS), *args])
    chdb = runner.invoke(app, ["analyze", source[0], *table, *args])
    assert chdb.exit_code == files.exit_code == 0, chdb.stderr
    assert _without_sources(chdb.stdout) == _without_sources(files.stdout)
    assert json.loads(chdb.stdout)[view]
    # the notes on what was not checked, after the line saying what was loaded or read
    assert chdb.stderr.splitlines()[1:] == files.stderr.splitlines()[1:]


def test_argument_metrics_in_rules_on_chdb_are_the_files(
    runner: CliRunner, source: list[str], exported: Exported, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text('alerts:\n  - name: a\n    condition: "invalid_argument_rate > 0.2"\n    scope: tool\n')
    table = ["--table", exported("arguments", [ARGUMENTS])]
    files = runner.invoke(app, ["check-alerts", "--rules", str(rules), str(ARGUMENTS), "-f", "json"])
    chdb = runner.invoke(app, ["check-alerts", "--rules", str(rules), source[0], *table, "-f", "json"])
    assert chdb.exit_code == files.exit_code == 1, chdb.stderr
    assert _close(json.loads(chdb.stdout), json.loads(files.stdout))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["traces.jsonl", "--table", "t"], "--table names a ClickHouse table"),
        (["chdb:/x", "clickhouse://h/db"], "a ClickHouse source is read alone"),
        (["chdb:/x", str(SAMPLE)], "a ClickHouse source is read alone"),
        (["chdb:/x", "--db", "obs.duckdb"], "a ClickHouse source is read where it is, leave out --db"),
        (["chdb:/x", "--table", "a.b.c"], "--table 'a.b.c': name a table as TABLE or DATABASE.TABLE"),
        (["clickhouse://:secret@/db"], "no host"),
    ],
)
def test_usage_mistakes_are_one_line_with_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["analyze", *args])
    assert result.exit_code == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert message in line
    assert "secret" not in line


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]  # bound, not listening: a connection is refused


def test_an_unreachable_server_is_one_line_with_exit_3(runner: CliRunner, closed_port: int) -> None:
    url = f"clickhouse://reader:hunter2@127.0.0.1:{closed_port}/otel"
    result = runner.invoke(app, ["analyze", url])
    assert result.exit_code == 3
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"mcpobs: error: clickhouse://reader@127.0.0.1:{closed_port}/otel: cannot connect")
    assert "hunter2" not in line


def test_a_missing_extra_is_named(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "clickhouse_connect", None)  # as when the extra is not installed
    result = runner.invoke(app, ["analyze", "clickhouse://h:8123/otel"])
    assert result.exit_code == 2
    assert "pip install 'mcpobs-cli[clickhouse]'" in result.stderr


def test_the_url_database_replaces_otel_and_the_password_may_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MCPOBS_CLICKHOUSE_PASSWORD", "from-env")
    location = parse("clickhouses://reader@ch.example:9440/traces")
    assert (location.database, location.table, location.password, location.secure, location.port) == (
        "traces",
        "otel_traces",
        "from-env",
        True,
        9440,
    )
    assert parse("clickhouse://u:p%40ss@h/db", "spans").password == "p@ss"
    assert parse("clickhouse://u:p@h/db", "spans").qualified == "`db`.`spans`"
    assert parse("clickhouse://u:p@h", "other.spans").qualified == "`other`.`spans`"
    assert parse("clickhouse://u:p@h").url == "clickhouse://u@h"


def test_each_querys_time_limit_may_be_raised_from_the_environment(
    source: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    location = parse(source[0], source[2])
    assert location.time_limit == 300
    with ClickHouseTraces(location) as traces:
        assert traces.run("SELECT getSetting('max_execution_time')", {}) == ((300.0,),)
    for given, limit in (("3600", 3600.0), ("0", 0.0)):
        monkeypatch.setenv("MCPOBS_CLICKHOUSE_TIME_LIMIT", given)
        with ClickHouseTraces(parse(source[0], source[2])) as traces:
            # every query of the command, the call model's temporary table too
            assert traces.run("SELECT getSetting('max_execution_time')", {}) == ((limit,),)
    assert parse("clickhouse://u@h/db").settings["max_execution_time"] == 0


@pytest.mark.parametrize("given", ["", "ten", "-5", "1.5", "1e3"])
def test_a_time_limit_that_is_no_whole_number_of_seconds_is_a_usage_error(
    runner: CliRunner, source: list[str], given: str
) -> None:
    result = runner.invoke(app, ["analyze", *source], env={"MCPOBS_CLICKHOUSE_TIME_LIMIT": given})
    assert result.exit_code == 2, result.stderr
    assert result.stderr.strip() == (
        f"mcpobs: error: MCPOBS_CLICKHOUSE_TIME_LIMIT={given!r}: give each query's time limit in whole seconds "
        "(0 for none)"
    )
    assert result.stdout == ""


def test_parameters_are_bound_in_clickhouse_text_form() -> None:
    sql, bound = bind("SELECT $a, $b, has($c, x), '$.params'", {"a": 5, "b": "it's\ttab", "c": ["x'y", "z"]})
    assert sql == "SELECT {a:Int64}, {b:String}, has({c:Array(String)}, x), '$.params'"
    # Python's values, which clickhouse-connect formats itself (test_server_parameters.py); chDB their text
    assert bound == {"a": 5, "b": "it's\ttab", "c": ["x'y", "z"]}
    assert {k: _text(v) for k, v in bound.items()} == {"a": "5", "b": "it's\\ttab", "c": "['x\\'y','z']"}


def test_errors_in_the_call_model_never_pass_silently(source: list[str]) -> None:
    with ClickHouseTraces(parse(source[0], source[2])) as traces, pytest.raises(InputError):
        traces.run("SELECT no_such_column FROM calls", {})
    with pytest.raises(UsageError, match="chdb: names a chDB session directory"):
        parse("chdb:")


@pytest.mark.skipif(not os.environ.get("MCPOBS_TEST_CLICKHOUSE_URL"), reason="set MCPOBS_TEST_CLICKHOUSE_URL")
def test_a_live_server(runner: CliRunner) -> None:
    """Against a real server holding the exporter's table: MCPOBS_TEST_CLICKHOUSE_URL=clickhouse://…
    (and MCPOBS_TEST_CLICKHOUSE_TABLE when it is not otel.otel_traces)."""
    table = os.environ.get("MCPOBS_TEST_CLICKHOUSE_TABLE")
    args = ["analyze", os.environ["MCPOBS_TEST_CLICKHOUSE_URL"], "--since", "2000-01-01", "--format", "json"]
    result = runner.invoke(app, [*args, *(["--table", table] if table else [])])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["summary"]["spans"] >= 0


def test_the_call_model_is_derived_once_per_command(source: list[str]) -> None:
    location = parse(source[0], source[2])
    with ClickHouseTraces(location) as traces:
        # every section reads the session's temporary table, never the raw spans again
        assert location.qualified not in traces.calls_cte
        assert "otel_traces" not in traces.calls_cte
        (spans,) = traces.run(f"{traces.calls_cte} SELECT count() FROM spans", {})[0]
        ((rows,),) = traces.run(f"SELECT count() FROM {location.qualified}", {})
        assert spans == rows > 0
    # the temporary tables are the session's own: a new session sees only its own ones
    with ClickHouseTraces(location) as traces:
        found = traces.run("SELECT name FROM system.tables WHERE is_temporary ORDER BY name", {})
        assert found == (("mcpobs_calls",), ("mcpobs_spans",))
