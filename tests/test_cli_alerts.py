"""mcpobs check-alerts: every exit status, every output format (golden files; JUnit against its schema),
--init and --list-metrics, on the bundled agent session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from mcpobs.alerts import STARTER, parse_rules
from mcpobs.analysis.metrics import METRICS
from mcpobs.cli import app
from tests.conftest import DATA, write_lines
from tests.test_cli_ok import _matches_golden

AGENT = "../sample_traces/agent_cost_session.jsonl"  # relative: file names in the output are the same everywhere
RULES = "data/alerts/ci.yaml"
LOADED = "mcpobs: loaded 70 spans from 1 file\n"
WARNINGS = (
    "mcpobs: warning: provider 'acme' (2 LLM calls) is unknown to genai-prices (as 'acme'): its models are "
    "looked up by name alone\n"
    "mcpobs: warning: no price for model 'acme-local-7b' of 'acme' (2 LLM calls): not counted in costs; give it "
    "a price with --prices\n"
)
SCHEMA = DATA / "junit" / "junit-10.xsd"


pytestmark = pytest.mark.usefixtures("in_tests_dir")


def _rules(tmp_path: Path, text: str) -> str:
    path = tmp_path / "alerts.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("output_format", "golden"),
    [
        ("text", "alerts.txt"),
        ("json", "alerts.json"),
        ("junit", "alerts.junit.xml"),
        ("github", "alerts.github.txt"),
    ],
)
def test_every_output_format(runner: CliRunner, output_format: str, golden: str) -> None:
    result = runner.invoke(app, ["check-alerts", "--rules", RULES, AGENT, "--format", output_format])
    assert result.exit_code == 1, result.stderr
    assert result.stderr == LOADED + WARNINGS
    _matches_golden(golden, result.stdout)


def test_junit_output_validates_against_the_junit_schema(runner: CliRunner) -> None:
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    for fail_on in ("info", "warning", "critical"):
        result = runner.invoke(app, ["check-alerts", "-r", RULES, AGENT, "-f", "junit", "--fail-on", fail_on])
        document = etree.fromstring(result.stdout.encode())
        assert schema.validate(document), schema.error_log
        cases = document.findall(".//testcase")
        # one test case per rule and group: 2 sides, 2 sides, 2 sides, 5 client tools, 3 models
        assert len(cases) == 14
        assert int(document.get("failures")) == len(document.findall(".//failure"))
    # below --fail-on critical only the critical rule fails; the warning that fired passes and says so
    failures = document.findall(".//failure")
    assert [(f.getparent().get("classname"), f.get("type")) for f in failures] == [("Slow tools", "critical")]
    assert any("below --fail-on critical" in (out.text or "") for out in document.iter("system-out"))


def test_json_names_every_verdict_with_its_group_and_values(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check-alerts", "-r", RULES, AGENT, "-f", "json"])
    document = json.loads(result.stdout)
    assert document["failed"] is True
    assert document["summary"] == {"rules": 5, "checks": 14, "fired": 3, "failing": 2, "ok": 9, "no_verdict": 2}
    fired = [(v["rule"], v["group"]) for v in document["verdicts"] if v["status"] == "fired"]
    assert fired == [
        ("MCP Tool Call Error Rate", {"side": "server"}),
        ("Slow tools", {"side": "client", "tool": "search_docs"}),
        ("Costly models", {"model": "claude-sonnet-4-5-20250929"}),
    ]
    cost = next(v for v in document["verdicts"] if v["rule"] == "Costly models" and v["status"] == "fired")
    assert cost["values"] == {"token_cost": "0.0128778", "llm_calls": 9}
    assert cost["failing"] is False  # info is below the default --fail-on warning


@pytest.mark.parametrize("fail_on", ["info", "warning", "critical"])
def test_fail_on_sets_the_lowest_severity_that_fails(runner: CliRunner, fail_on: str) -> None:
    result = runner.invoke(app, ["check-alerts", "-r", RULES, AGENT, "--fail-on", fail_on, "-f", "json"])
    assert result.exit_code == 1
    failing = {v["rule"] for v in json.loads(result.stdout)["verdicts"] if v["failing"]}
    expected = {
        "info": {"MCP Tool Call Error Rate", "Slow tools", "Costly models"},
        "warning": {"MCP Tool Call Error Rate", "Slow tools"},
        "critical": {"Slow tools"},
    }
    assert failing == expected[fail_on]


def test_exit_0_when_nothing_at_or_above_fail_on_fires(runner: CliRunner, tmp_path: Path) -> None:
    rules = _rules(tmp_path, 'alerts:\n  - name: "cheap"\n    condition: "token_cost > 100"\n')
    result = runner.invoke(app, ["check-alerts", "-r", rules, AGENT])
    assert result.exit_code == 0, result.stderr
    assert (
        result.stdout.splitlines()[-1] == "1 rule, 2 checks, 0 fired, 0 without a verdict: passed (--fail-on warning)"
    )
    info = _rules(tmp_path, 'alerts:\n  - name: "i"\n    condition: "error_rate > 0"\n    severity: info\n')
    assert runner.invoke(app, ["check-alerts", "-r", info, AGENT]).exit_code == 0
    assert runner.invoke(app, ["check-alerts", "-r", info, AGENT, "--fail-on", "info"]).exit_code == 1


def test_github_annotations_point_at_the_rule_and_escape_their_text(runner: CliRunner, tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        'alerts:\n  - name: "errors: 5%, or more"\n    condition: "error_rate >= 5%"\n    severity: critical\n',
    )
    result = runner.invoke(app, ["check-alerts", "-r", rules, AGENT, "-f", "github"])
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"::error file={rules},line=2,title=errors%3A 5%25%2C or more::client: error_rate 5%25 (error_rate >= 5%25)"
    )
    assert lines[1].startswith("::error ")
    assert lines[2].endswith("FAILED: 2 at or above warning")


def test_bad_rules_are_every_problem_at_once_before_loading(runner: CliRunner, tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        "alerts:\n"
        "  - name: a\n"
        "    condition: eror_rate > 0.05\n"
        "  - name: b\n"
        "    condition: latency_p95_ms > = 2s\n"
        "    severity: high\n"
        "  - condition: calls > 1\n",
    )
    result = runner.invoke(app, ["check-alerts", "-r", rules, "does-not-exist.jsonl"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith(
        f"mcpobs: error: {rules}:3:16: unknown metric 'eror_rate'; did you mean 'error_rate'? valid for scope global: "
        "calls, errors, error_rate,"
    )
    assert lines[1:] == [
        f"mcpobs: error: {rules}:5:33: unexpected '=' (use == to compare)",
        f"mcpobs: error: {rules}:6:15: severity 'high' is not one of info, warning, critical",
        f"mcpobs: error: {rules}:7:5: the rule has no name",
    ]
    assert "loaded" not in result.stderr  # nothing was read: the missing file would have been exit 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([AGENT], "mcpobs: error: name the rules file with --rules (mcpobs check-alerts --init writes a starter)\n"),
        (
            ["-r", "nope.yaml", AGENT],
            "mcpobs: error: nope.yaml: no such rules file (mcpobs check-alerts --init writes a starter)\n",
        ),
        (["-r", RULES], "mcpobs: error: name the trace files to check, or a --db that holds them\n"),
    ],
)
def test_usage_errors_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["check-alerts", *args])
    assert result.exit_code == 2
    assert result.stderr == message


def test_unknown_fail_on_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["check-alerts", "-r", RULES, AGENT, "--fail-on", "high"])
    assert result.exit_code == 2
    assert "'high' is not one of" in result.stderr


def test_baseline_rules_need_baseline_files(runner: CliRunner, tmp_path: Path) -> None:
    rules = _rules(tmp_path, "alerts:\n  - name: slower\n    condition: latency_p95_ms > baseline.latency_p95_ms\n")
    result = runner.invoke(app, ["check-alerts", "-r", rules, AGENT])
    assert result.exit_code == 2
    assert result.stderr == (
        f"mcpobs: error: {rules}: 'slower' compare with baseline.* metrics: give the baseline files with --baseline\n"
    )


@pytest.mark.parametrize("bad", ["trace", "baseline"])
def test_unreadable_input_exits_3(runner: CliRunner, tmp_path: Path, bad: str) -> None:
    broken = tmp_path / "broken.jsonl"
    write_lines(broken, ["this is not OTLP"])
    rules = _rules(tmp_path, "alerts:\n  - name: slower\n    condition: latency_p95_ms > baseline.latency_p95_ms\n")
    files = [str(broken), "--baseline", AGENT] if bad == "trace" else [AGENT, "--baseline", str(broken)]
    result = runner.invoke(app, ["check-alerts", "-r", rules, *files])
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1].startswith(f"mcpobs: error: {broken}:1: ")


def test_a_baseline_of_the_same_files_never_regresses(runner: CliRunner, tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        "alerts:\n"
        "  - name: p95 regression\n"
        "    condition: latency_p95_ms > baseline.latency_p95_ms * 1.2\n"
        "    scope: tool\n",
    )
    result = runner.invoke(app, ["check-alerts", "-r", rules, AGENT, "--baseline", AGENT, "-f", "json"])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == LOADED + "mcpobs: baseline: loaded 70 spans from 1 file\n"
    verdicts = json.loads(result.stdout)["verdicts"]
    assert len(verdicts) == 10
    assert {v["status"] for v in verdicts} == {"ok"}
    for v in verdicts:
        assert v["values"]["latency_p95_ms"] == v["values"]["baseline.latency_p95_ms"]


def test_init_writes_the_starter_and_never_overwrites(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "alerts.yaml"
    result = runner.invoke(app, ["check-alerts", "--init", "--rules", str(path)])
    assert result.exit_code == 0
    assert path.read_text() == STARTER
    rules = parse_rules(path.read_text()).rules
    assert [(r.name, r.condition_text, r.action) for r in rules] == [
        ("MCP Tool Call Error Rate", "error_rate > 0.05", "notify"),
        ("MCP Token Cost", "token_cost > 100", "notify"),
        ("MCP Session Recovery", "session_recovery > 3", "notify"),
    ]
    again = runner.invoke(app, ["check-alerts", "--init", "--rules", str(path)])
    assert again.exit_code == 2
    assert again.stderr == f"mcpobs: error: {path}: already exists; not overwritten\n"


def test_init_without_rules_writes_alerts_yaml_here(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["check-alerts", "--init"]).exit_code == 0
    assert (tmp_path / "alerts.yaml").read_text() == STARTER


def test_list_metrics(runner: CliRunner) -> None:
    text = runner.invoke(app, ["check-alerts", "--list-metrics"])
    assert text.exit_code == 0
    for metric in METRICS:
        assert f" {metric.name} " in text.stdout
    listed = json.loads(runner.invoke(app, ["check-alerts", "--list-metrics", "-f", "json"]).stdout)
    assert [m["name"] for m in listed] == [m.name for m in METRICS]
    by_name = {m["name"]: m for m in listed}
    assert by_name["session_recovery"]["scopes"] == ["global", "tool", "server", "session"]
    assert by_name["token_cost"]["scopes"] == ["global", "tool", "server", "session", "model"]
    assert by_name["error_rate"]["unit"] == "rate"
    assert by_name["invalid_argument_rate"]["scopes"] == ["global", "tool", "server", "session", "concurrency"]
    assert by_name["invalid_result_rate"]["unit"] == "rate"


def test_rules_read_a_database_made_by_load(runner: CliRunner, tmp_path: Path) -> None:
    db = tmp_path / "obs.duckdb"
    shutil.copy(DATA.parent.parent / "sample_traces" / "agent_cost_session.jsonl", tmp_path / "a.jsonl")
    assert runner.invoke(app, ["load", str(tmp_path / "a.jsonl"), "--db", str(db)]).exit_code == 0
    from_db = runner.invoke(app, ["check-alerts", "-r", RULES, "--db", str(db), "-f", "json"])
    from_file = runner.invoke(app, ["check-alerts", "-r", RULES, AGENT, "-f", "json"])
    assert from_db.exit_code == from_file.exit_code == 1
    assert json.loads(from_db.stdout)["verdicts"] == json.loads(from_file.stdout)["verdicts"]


def test_output_file(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "alerts.xml"
    result = runner.invoke(app, ["check-alerts", "-r", RULES, AGENT, "-f", "junit", "-o", str(out)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert out.read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')


def test_names_are_shown_as_written_and_junit_holds_any_character(runner: CliRunner, tmp_path: Path) -> None:
    rules = _rules(
        tmp_path,
        'alerts:\n  - name: "closing [/] tag [bold]x[/bold] \\x01 & ]]>"\n'
        "    condition: error_rate > 0.05\n"
        '    where: tool != "[link=http://evil]"\n',
    )
    text = runner.invoke(app, ["check-alerts", "-r", rules, AGENT])
    assert text.exit_code == 1, text.stderr
    assert "closing [/] tag [bold]x[/bold] \x01 & ]]>" in text.stdout
    assert 'tool != "[link=http://evil]"' in text.stdout
    junit = runner.invoke(app, ["check-alerts", "-r", rules, AGENT, "-f", "junit"])
    document = etree.fromstring(junit.stdout.encode())
    assert etree.XMLSchema(etree.parse(str(SCHEMA))).validate(document)
    assert document.find("testsuite").get("name") == "closing [/] tag [bold]x[/bold] \ufffd & ]]>"


def test_a_filter_that_selects_no_calls_has_no_verdict_even_for_cost(runner: CliRunner, tmp_path: Path) -> None:
    rules = _rules(
        tmp_path, 'alerts:\n  - name: budget\n    condition: token_cost > 0.001\n    where: tool == "nope"\n'
    )
    result = runner.invoke(app, ["check-alerts", "-r", rules, AGENT, "-f", "json"])
    assert result.exit_code == 0, result.stderr
    (verdict,) = json.loads(result.stdout)["verdicts"]
    assert (verdict["group"], verdict["status"], verdict["reason"]) == ({}, "no verdict", "no calls match")


def test_github_format_annotates_rules_file_problems(runner: CliRunner, tmp_path: Path) -> None:
    rules = _rules(tmp_path, "alerts:\n  - name: a\n    condition: eror_rate > 1\n    severity: high\n")
    result = runner.invoke(app, ["check-alerts", "-r", rules, AGENT, "-f", "github"])
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"::error file={rules},line=3,col=16,title=invalid rules::unknown metric 'eror_rate'")
    assert lines[1] == (
        f"::error file={rules},line=4,col=15,title=invalid rules::severity 'high' is not one of info, warning, critical"
    )
    assert len(result.stderr.splitlines()) == 2


def test_init_writes_the_file_it_names(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check-alerts", "--init", "gate.yaml"])
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "gate.yaml").read_text() == STARTER
    assert not (tmp_path / "alerts.yaml").exists()
    both = runner.invoke(app, ["check-alerts", "--init", "a.yaml", "b.yaml"])
    assert (both.exit_code, both.stderr) == (
        2,
        "mcpobs: error: --init writes one file: name it once (mcpobs check-alerts --init FILE)\n",
    )


@pytest.mark.parametrize("command", ["check-alerts", "analyze", "cost", "dashboard"])
def test_an_unwritable_output_is_refused_before_the_load(runner: CliRunner, tmp_path: Path, command: str) -> None:
    target = tmp_path / "no-such-dir" / "out.txt"
    args = {
        "check-alerts": ["check-alerts", "--rules", str(DATA / "alerts" / "ci.yaml")],
        "analyze": ["analyze"],
        "cost": ["cost"],
        "dashboard": ["analyze", "--view", "dashboard"],
    }[command]
    result = runner.invoke(
        app, [*args, str(DATA.parent.parent / "sample_traces" / "agent_cost_session.jsonl"), "--output", str(target)]
    )
    # refused first: nothing was loaded (no "loaded … spans" line)
    assert (result.exit_code, result.stderr) == (
        2,
        f"mcpobs: error: {target}: cannot write: No such file or directory\n",
    )


@pytest.mark.parametrize(
    "args",
    [
        ["check-alerts", "--rules", RULES, AGENT],
        ["lint", "data/lint/stray-stdout.log.jsonl"],
        ["tools", "data/toolsdiff/inventory-v1.log.jsonl"],
    ],
    ids=["check-alerts", "lint", "tools"],
)
def test_the_text_written_to_a_file_is_what_the_terminal_shows(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, args: list[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # the width of the text written to a file
    shown = runner.invoke(app, args)
    target = tmp_path / "out.txt"
    written = runner.invoke(app, [*args, "--output", str(target)])
    assert (written.exit_code, written.stdout) == (shown.exit_code, "")
    assert f"mcpobs: wrote {target}" in written.stderr
    assert shown.stdout.strip()
    assert target.read_text() == shown.stdout
