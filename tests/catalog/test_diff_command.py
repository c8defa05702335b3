"""mcpobs diff on real recordings and real spans of one server in two releases (tests/data/toolsdiff):
definitions added, removed and changed, calls matched by tool and arguments whatever their order,
latency shifts past both thresholds, error classes that appeared, and --exit-code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import etree
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import DATA, SAMPLE

HERE = DATA / "toolsdiff"
V1, V2 = str(HERE / "inventory-v1.log.jsonl"), str(HERE / "inventory-v2.log.jsonl")
SPANS_V1, SPANS_V2 = str(HERE / "inventory-v1.server-spans.jsonl"), str(HERE / "inventory-v2.server-spans.jsonl")
SCHEMA = DATA / "junit" / "junit-10.xsd"


def _findings(runner: CliRunner, *args: str) -> dict[tuple[str, str], dict[str, Any]]:
    result = runner.invoke(app, ["diff", *args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    return {(f["check"], f["subject"]): f for f in json.loads(result.stdout)["findings"]}


def test_two_recordings_of_a_server_that_changed(runner: CliRunner) -> None:
    found = _findings(runner, V1, V2)
    status = {key: f["status"] for key, f in found.items()}
    assert status[("tool removed", "inventory tool legacy_report")] == "fail"
    assert status[("tool added", "inventory tool audit")] == "info"
    assert status[("tool changed", "inventory tool lookup")] == "warn"
    assert status[("tool changed", "inventory tool price")] == "warn"
    # v2 made the same calls in the reverse order: each is matched by tool and arguments
    call = "inventory client tools/call"
    assert status[("call worse", f'{call} reserve {{"qty": 10, "sku": "A1"}}')] == "fail"
    assert status[("call outcome", f'{call} reserve {{"qty": 1, "sku": "A1"}}')] == "ok"
    assert status[("call better", f'{call} price {{"sku": "Z9"}}')] == "info"
    assert status[("slower", f'{call} lookup {{"sku": "A1"}}')] == "fail"
    assert status[("slower", f'{call} lookup {{"sku": "B2"}}')] == "fail"
    assert status[("error class appeared", f"{call} reserve")] == "fail"
    assert status[("call new", f'{call} audit {{"since": "2026-12-01"}}')] == "info"
    assert status[("call gone", f"{call} legacy_report {{}}")] == "info"
    assert not any(check in ("slower", "faster") and "price" in subject for check, subject in found)


def test_exit_code_only_with_the_option_and_only_on_regressions(runner: CliRunner) -> None:
    assert runner.invoke(app, ["diff", V1, V2]).exit_code == 0
    regressed = runner.invoke(app, ["diff", V1, V2, "--exit-code"])
    assert regressed.exit_code == 1
    assert regressed.stdout.strip().endswith("REGRESSED")
    same = runner.invoke(app, ["diff", V1, V1, "--exit-code"])
    assert same.exit_code == 0, same.stdout
    assert same.stdout.strip().endswith("no regression")
    assert not [line for line in same.stdout.splitlines()[:-1] if line.strip()]


def test_the_bundled_sample_against_itself_is_quiet(runner: CliRunner) -> None:
    result = runner.invoke(app, ["diff", str(SAMPLE), str(SAMPLE), "--exit-code", "--format", "json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["findings"]
    assert {f["status"] for f in document["findings"]} == {"ok"}


@pytest.mark.parametrize("option", [["--duration-threshold", "400"], ["--duration-ratio", "100"]])
def test_a_shift_counts_only_past_both_thresholds(runner: CliRunner, option: list[str]) -> None:
    found = _findings(runner, V1, V2, *option)
    assert not [key for key in found if key[0] == "slower"]


def test_faster_is_information(runner: CliRunner) -> None:
    found = _findings(runner, V2, V1)
    faster = [f for (check, _), f in found.items() if check == "faster"]
    assert len(faster) == 2
    assert {f["status"] for f in faster} == {"info"}


def test_two_sets_of_server_spans(runner: CliRunner) -> None:
    # the mcp SDK's own server spans record no arguments: every call of a tool is one group
    found = _findings(runner, SPANS_V1, SPANS_V2)
    status = {key: f["status"] for key, f in found.items()}
    call = "inventory server tools/call"
    assert status[("slower", f"{call} lookup")] == "fail"
    assert status[("call worse", f"{call} reserve")] == "fail"
    assert found[("call worse", f"{call} reserve")]["message"] == "A: 2 ok; B: 1 ok, 1 tool_error"
    assert status[("call better", f"{call} price")] == "info"
    assert status[("error class appeared", f"{call} reserve")] == "fail"


def test_junit_and_github(runner: CliRunner) -> None:
    junit = runner.invoke(app, ["diff", V1, V2, "--format", "junit"])
    document = etree.fromstring(junit.stdout.encode())
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(document)
    assert document.get("failures") == "5"
    github = runner.invoke(app, ["diff", V1, V2, "--format", "github"]).stdout.splitlines()
    assert len([line for line in github if line.startswith("::error title=")]) == 5
    assert any(line.startswith("::notice title=call better::") for line in github)
    assert any(line.startswith("::warning title=tool changed::inventory tool lookup") for line in github)


def test_a_side_read_from_stdin(runner: CliRunner) -> None:
    with open(V1, "rb") as f:
        result = runner.invoke(app, ["diff", "-", V2, "--format", "json"], input=f.read())
    assert result.exit_code == 0, result.stderr
    checks = {f["check"] for f in json.loads(result.stdout)["findings"]}
    assert {"call worse", "slower", "tool removed"} <= checks


def test_a_server_that_did_not_start_in_b_is_a_regression(runner: CliRunner) -> None:
    # B is the same client in front of a release that exits before it answers: no definition, no
    # call; each "call gone" alone is information, so this passed --exit-code as "no regression"
    down = str(HERE / "inventory-down.log.jsonl")
    result = runner.invoke(app, ["diff", V1, down, "--exit-code", "--format", "json"])
    assert result.exit_code == 1, result.stdout
    found = {(f["check"], f["subject"]): f for f in json.loads(result.stdout)["findings"]}
    gone = found[("server gone", "inventory")]
    assert gone["status"] == "fail"
    assert "6 definitions and 7 calls" in gone["message"]
    # the other way round nothing is gone
    assert not [key for key in _findings(runner, down, V1) if key[0] == "server gone"]


def test_json_lists_the_unchanged_definitions_too(runner: CliRunner) -> None:
    # the README: json holds every comparison, unchanged ones too; the definitions were left out
    status = {key: f["status"] for key, f in _findings(runner, V1, V2).items()}
    assert status[("tool unchanged", "inventory tool reserve")] == "ok"
    assert status[("prompt unchanged", "inventory prompt restock")] == "ok"
    assert status[("resource unchanged", "inventory resource inventory://skus")] == "ok"
    assert not [key for key in status if key[0].endswith("unchanged") and "lookup" in key[1]]


def test_a_recording_against_itself_is_quiet_at_the_lowest_thresholds(runner: CliRunner) -> None:
    # --duration-threshold 0 --duration-ratio 1: an unchanged median "moved" by 0 ms and 1.0x, both
    # thresholds met, and every call was "slower": the file against itself REGRESSED, exit 1
    args = ["diff", V1, V1, "--duration-threshold", "0", "--duration-ratio", "1", "--exit-code", "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stdout
    assert {f["status"] for f in json.loads(result.stdout)["findings"]} == {"ok"}


def test_both_sides_from_stdin_is_a_usage_error(runner: CliRunner) -> None:
    # stdin reads once: B read it empty and the error blamed an "empty file"
    result = runner.invoke(app, ["diff", "-", "-"], input=(HERE / "inventory-v1.log.jsonl").read_text())
    assert result.exit_code == 2
    assert "stdin" in result.stderr
    assert "empty file" not in result.stderr


def test_a_schema_a_recorder_redacted_is_no_change_between_recorders(runner: CliRunner) -> None:
    # one session, recorded by mcp-recorder (login's api_key schema whole) and by mcp-cassette (a
    # "REDACTED" in its place): "tool changed: $.inputSchema.properties.api_key" between the two
    peers = DATA / "peers"
    found = _findings(runner, str(peers / "mcp-recorder-stdio.json"), str(peers / "mcp-cassette-stdio.cassette"))
    assert not [key for key in found if key[0] == "tool changed"]
    login = found[("tool partly compared", "record-toolbox tool login")]
    assert login["status"] == "info"
    assert login["message"].endswith("not compared: $.inputSchema.properties.api_key")
