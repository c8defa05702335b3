"""mcpobs lint through the CLI: exit statuses, --fail-on and --ignore, every output format (JUnit
against its schema), --list-rules, and bad input."""

from __future__ import annotations

import json
import re

import pytest
from lxml import etree
from typer.testing import CliRunner

from mcpobs.cli import app
from mcpobs.lint import RULES
from tests.conftest import DATA

SCHEMA = DATA / "junit" / "junit-10.xsd"
STRAY = "data/lint/stray-stdout.log.jsonl"  # relative: file names in the output are the same everywhere
HEADERS = "data/lint/headers-2026.log.jsonl"
SDK_SPANS = "data/lint/sdk-invalid-params.server-spans.jsonl"


pytestmark = pytest.mark.usefixtures("in_tests_dir")


def test_an_error_finding_fails_the_run_and_names_file_line_rule_and_section(runner: CliRunner) -> None:
    result = runner.invoke(app, ["lint", STRAY])
    assert result.exit_code == 1, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"{STRAY}:4: error stdout-noise: the server wrote a line that is not JSON to stdout: "
        "'misbehaving server 1.0.0 ready'"
    )
    assert (
        "stdout-noise: a stdio server wrote a line to stdout that is not an MCP message "
        "(https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#stdio)"
    ) in lines
    assert lines[-1] == "1 file, 24 rules: 1 error, 0 warnings, 0 info: FAILED: 1 at or above error"


def test_warnings_pass_by_default_and_fail_at_fail_on_warning(runner: CliRunner) -> None:
    passed = runner.invoke(app, ["lint", SDK_SPANS])
    assert passed.exit_code == 0, passed.stderr
    assert passed.stdout.splitlines()[-1] == "1 file, 24 rules: 0 errors, 2 warnings, 0 info: passed (--fail-on error)"
    failed = runner.invoke(app, ["lint", SDK_SPANS, "--fail-on", "warning"])
    assert failed.exit_code == 1
    assert failed.stdout.splitlines()[-1].endswith("FAILED: 2 at or above warning")


def test_ignore_leaves_a_rule_out(runner: CliRunner) -> None:
    result = runner.invoke(app, ["lint", STRAY, "--ignore", "stdout-noise"])
    assert result.exit_code == 0, result.stdout
    assert result.stdout == "1 file, 23 rules: 0 errors, 0 warnings, 0 info: passed (--fail-on error)\n"


def test_an_unknown_rule_to_ignore_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["lint", STRAY, "--ignore", "no-such-rule"])
    assert result.exit_code == 2
    assert result.stderr == (
        "mcpobs: error: --ignore 'no-such-rule': no such rule (mcpobs lint --list-rules lists them)\n"
    )


def test_no_files_is_a_usage_error_and_an_unreadable_one_an_input_error(runner: CliRunner) -> None:
    none = runner.invoke(app, ["lint"])
    assert none.exit_code == 2
    assert none.stderr == "mcpobs: error: name the recordings or trace files to lint\n"
    missing = runner.invoke(app, ["lint", "data/lint/nothing-here.jsonl"])
    assert missing.exit_code == 3
    assert missing.stderr.startswith("mcpobs: error: data/lint/nothing-here.jsonl")


def test_json_lists_every_finding_with_its_rule_severity_and_section(runner: CliRunner) -> None:
    # the findings JSON of tools --baseline and diff: a rule is a check, a finding's place its subject;
    # a rule that found nothing is one finding of status ok
    result = runner.invoke(app, ["lint", HEADERS, "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["command"] == "mcpobs lint"
    assert document["failed"] is True
    assert document["summary"] == {"checked": 6 + len(RULES) - 2, "fail": 6, "warn": 0, "info": 0, "skip": 0, "ok": 22}
    found = [f for f in document["findings"] if f["status"] != "ok"]
    assert found[0] == {
        "check": "routing-header",
        "subject": f"{HEADERS}:6",
        "status": "fail",
        "message": "tools/call without an Mcp-Method header",
        "details": [],
        "file": HEADERS,
        "line": 6,
        "severity": "error",
        "doc": "https://modelcontextprotocol.io/specification/2026-07-28/basic/transports/streamable-http"
        "#standard-request-headers",
    }
    # every rule, in the order --list-rules gives them
    assert list(dict.fromkeys(f["check"] for f in document["findings"])) == [r.id for r in RULES]
    quiet = next(f for f in document["findings"] if f["check"] == "stdout-noise")
    assert (quiet["subject"], quiet["status"], quiet["severity"]) == ("no findings", "ok", "error")


def test_json_says_a_finding_below_fail_on_is_a_warning_and_at_it_a_failure(runner: CliRunner) -> None:
    below = json.loads(runner.invoke(app, ["lint", SDK_SPANS, "--format", "json"]).stdout)
    at = json.loads(runner.invoke(app, ["lint", SDK_SPANS, "--format", "json", "--fail-on", "warning"]).stdout)
    status = {f["check"]: f["status"] for f in below["findings"] if f["status"] != "ok"}
    assert status == {"span-error-type": "warn", "span-status": "warn"}
    assert below["failed"] is False
    assert {f["check"]: f["status"] for f in at["findings"] if f["status"] != "ok"} == {
        "span-error-type": "fail",
        "span-status": "fail",
    }
    assert at["failed"] is True
    span = next(f for f in below["findings"] if f["check"] == "span-status")
    assert re.fullmatch(rf"{SDK_SPANS} trace [0-9a-f]{{32}} span [0-9a-f]{{16}}", span["subject"])
    assert (span["file"], span["line"], span["severity"]) == (SDK_SPANS, None, "warning")


def test_junit_has_a_suite_per_rule_and_validates_against_the_junit_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["lint", HEADERS, SDK_SPANS, "--format", "junit"])
    assert result.exit_code == 1
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    document = etree.fromstring(result.stdout.encode())
    schema.assertValid(document)
    assert document.get("failures") == "6"
    suites = {s.get("name"): s for s in document.iter("testsuite")}
    assert list(suites) == [r.id for r in RULES]
    assert suites["routing-header"].get("failures") == "4"
    status = suites["span-status"].find("testcase")
    assert status is not None
    assert status.find("system-out") is not None
    quiet = suites["cancelled-initialize"].find("testcase")
    assert quiet is not None
    assert quiet.get("name") == "no findings"


def test_github_annotates_each_finding_at_its_file_and_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["lint", STRAY, SDK_SPANS, "--format", "github"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(  # in the order of the rules
        "::error file=data/lint/stray-stdout.log.jsonl,line=4,title=stdout-noise::the server wrote a line"
    )
    span = [line for line in lines if "title=span-status" in line]
    assert len(span) == 1
    assert re.match(
        r"::warning file=data/lint/sdk-invalid-params\.server-spans\.jsonl,title=span-status::trace [0-9a-f]{32} "
        r"span [0-9a-f]{16}: 'tools/call query': status ERROR",
        span[0],
    )
    assert lines[-1] == f"mcpobs lint: {len(RULES)} checked, 1 fail, 2 warn: FAILED (--fail-on error)"


def test_list_rules_shows_every_rule(runner: CliRunner) -> None:
    result = runner.invoke(app, ["lint", "--list-rules"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    for rule in RULES:
        assert f"{rule.id} ({rule.severity}, {rule.kind}): {rule.description}" in lines
        assert f"    {rule.doc}" in lines  # whole on its line, whatever the width: a terminal can open it


def test_a_file_with_nothing_to_check_says_so(runner: CliRunner) -> None:
    # a JSON file that holds no span (here the sample's ground truth, not a trace) passed as
    # "1 file, 24 rules: 0 errors": a gate pointed at the wrong file, or at an export mcpobs does not
    # read as MCP, passed without a word
    result = runner.invoke(app, ["lint", "../sample_traces/expected.json", STRAY])
    assert result.exit_code == 1  # the stray-stdout recording still fails the run
    assert "../sample_traces/expected.json: no MCP message or span to check" in result.stderr
    assert STRAY not in result.stderr
