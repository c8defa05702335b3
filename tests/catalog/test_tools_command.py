"""mcpobs tools: the definitions real servers advertised (recordings, peer recordings, spans that record
results), their tokens and token tax, and the lock file (tests/data/toolsdiff: a real server in two releases)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from typer.testing import CliRunner

from mcpobs.catalog.definitions import BYTES_PER_TOKEN
from mcpobs.cli import app
from tests.conftest import DATA, DIALECTS

V1 = str(DATA / "toolsdiff" / "inventory-v1.log.jsonl")
V2 = str(DATA / "toolsdiff" / "inventory-v2.log.jsonl")
SCHEMA = DATA / "junit" / "junit-10.xsd"


def _tools_list_result(path: str) -> list[dict[str, Any]]:
    """The tools of the recording's tools/list answer, read from the file without mcpobs."""
    lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
    asked = {r["message"]["id"] for r in lines if r.get("dir") == "c2s" and r["message"].get("method") == "tools/list"}
    answers = [r["message"] for r in lines if r.get("dir") == "s2c" and r["message"].get("id") in asked]
    return [tool for answer in answers for tool in answer["result"]["tools"]]


def _json(runner: CliRunner, *args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["tools", *args, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_lists_every_definition_a_recorded_server_advertised(runner: CliRunner) -> None:
    document = _json(runner, V1)
    found = {(d["server"], d["protocol"], d["kind"], d["name"]) for d in document["definitions"]}
    assert found == {
        ("inventory", "2026-07-28", "tool", "lookup"),
        ("inventory", "2026-07-28", "tool", "reserve"),
        ("inventory", "2026-07-28", "tool", "price"),
        ("inventory", "2026-07-28", "tool", "legacy_report"),
        ("inventory", "2026-07-28", "prompt", "restock"),
        ("inventory", "2026-07-28", "resource", "inventory://skus"),
    }
    lookup = next(d for d in document["definitions"] if d["name"] == "lookup")
    assert lookup["definition"]["description"] == "Look up how many of an item are in stock."


def test_tokens_are_the_bytes_of_what_an_llm_request_carries_over_four(runner: CliRunner) -> None:
    document = _json(runner, V1)
    tokens = {d["name"]: d["tokens"] for d in document["definitions"] if d["kind"] == "tool"}
    expected = {}
    for tool in _tools_list_result(V1):
        carried = {"name": tool["name"], "description": tool["description"], "inputSchema": tool["inputSchema"]}
        size = len(json.dumps(carried, sort_keys=True, separators=(",", ":")).encode())
        expected[tool["name"]] = math.ceil(size / BYTES_PER_TOKEN)
    assert tokens == expected
    [tax] = document["token_tax"]
    assert (tax["server"], tax["tools"], tax["tokens_per_llm_call"]) == ("inventory", 4, sum(expected.values()))


def test_token_tax_is_priced_per_llm_call_and_per_session(runner: CliRunner, tmp_path: Path) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("models:\n  house-model:\n    input_mtok: 3\n    output_mtok: 15\n")
    document = _json(runner, V1, "--prices", str(prices), "--model", "house-model", "--llm-calls", "12")
    [tax] = document["token_tax"]
    per_call = Decimal(tax["tokens_per_llm_call"]) * 3 / 1_000_000
    assert Decimal(tax["usd_per_llm_call"]) == per_call
    assert Decimal(tax["usd_per_session"]) == per_call * 12


def test_a_model_without_a_price_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tools", V1, "--model", "no-such-model-anywhere"])
    assert result.exit_code == 2
    assert "no price for it" in result.stderr


def test_peer_recordings_and_spans_that_record_results(runner: CliRunner) -> None:
    document = _json(runner, str(DATA / "peers" / "mcp-recorder-stdio.json"), str(DIALECTS / "logfire.jsonl"))
    servers = {(d["server"], d["name"]) for d in document["definitions"]}
    assert ("record-toolbox", "login") in servers
    assert {("dialect-demo-server", name) for name in ("add", "fail", "slow")} <= servers


def test_spans_without_results_say_so_and_list_nothing(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tools", str(DIALECTS / "semconv.jsonl"), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["definitions"] == []
    assert "no tools/list, prompts/list or resources/list results" in result.stderr


def test_the_lock_is_written_then_passes_on_the_same_server(runner: CliRunner, tmp_path: Path) -> None:
    lock = tmp_path / "tools.lock"
    written = runner.invoke(app, ["tools", V1, "--baseline", str(lock)])
    assert written.exit_code == 0, written.stderr
    assert "wrote" in written.stderr
    assert "6 definitions of 1 server" in written.stderr
    text = lock.read_text()
    assert "lookup:" in text
    assert "Look up how many of an item are in stock." in text
    again = runner.invoke(app, ["tools", V1, "--baseline", str(lock)])
    assert again.exit_code == 0, again.stdout
    assert again.stdout.strip().endswith("6 checked: passed")


def test_a_changed_description_or_schema_fails_and_says_what_changed(runner: CliRunner, tmp_path: Path) -> None:
    lock = tmp_path / "tools.lock"
    runner.invoke(app, ["tools", V1, "--baseline", str(lock)])
    result = runner.invoke(app, ["tools", V2, "--baseline", str(lock), "--format", "json"])
    assert result.exit_code == 1
    findings = {(f["check"], f["subject"]): f for f in json.loads(result.stdout)["findings"]}
    changed = findings[("tool changed", "inventory tool lookup")]
    assert changed["status"] == "fail"
    assert "description" in changed["message"]
    # the whole new description, not cut short: it is what a reviewer must read
    assert any("pass its content as the sku" in d for d in changed["details"])
    assert changed["line"] == lock.read_text().splitlines().index("      lookup:") + 1
    schema = findings[("tool changed", "inventory tool price")]
    assert "inputSchema" in schema["message"]
    assert "currency" in schema["details"][0]
    assert findings[("tool added", "inventory tool audit")]["status"] == "fail"
    assert findings[("tool removed", "inventory tool legacy_report")]["status"] == "warn"
    assert findings[("tool unchanged", "inventory tool reserve")]["status"] == "ok"
    assert findings[("prompt unchanged", "inventory prompt restock")]["status"] == "ok"


def test_update_accepts_the_change(runner: CliRunner, tmp_path: Path) -> None:
    lock = tmp_path / "tools.lock"
    runner.invoke(app, ["tools", V1, "--baseline", str(lock)])
    update = runner.invoke(app, ["tools", V2, "--baseline", str(lock), "--update"])
    assert update.exit_code == 0, update.stderr
    assert "updated" in update.stderr
    # what it accepted is shown as information, not as failures
    assert f"INFO  {lock}:25: tool changed: inventory tool lookup" in update.stdout
    assert "FAIL" not in update.stdout
    assert update.stdout.strip().endswith("accepted (--update)")
    assert "pass its content as the sku" in lock.read_text()
    assert "legacy_report" not in lock.read_text()
    after = runner.invoke(app, ["tools", V2, "--baseline", str(lock)])
    assert after.exit_code == 0, after.stdout


def test_github_annotations_point_at_the_lock_file(runner: CliRunner, tmp_path: Path) -> None:
    lock = tmp_path / "tools.lock"
    runner.invoke(app, ["tools", V1, "--baseline", str(lock)])
    result = runner.invoke(app, ["tools", V2, "--baseline", str(lock), "--format", "github"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == 3
    assert any(f"file={lock},line=" in e and "title=tool changed::inventory tool lookup" in e for e in errors)
    assert any(line.startswith("::warning ") and "legacy_report" in line for line in lines)
    assert lines[-1].endswith("FAILED")


def test_junit_validates_and_counts_failures(runner: CliRunner, tmp_path: Path) -> None:
    lock = tmp_path / "tools.lock"
    runner.invoke(app, ["tools", V1, "--baseline", str(lock)])
    result = runner.invoke(app, ["tools", V2, "--baseline", str(lock), "--format", "junit"])
    assert result.exit_code == 1
    document = etree.fromstring(result.stdout.encode())
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(document)
    assert document.get("failures") == "3"


@pytest.mark.parametrize("text", ["version: 7\n", "servers: [\n", "version: 1\nservers:\n  s:\n    widgets: {}\n"])
def test_a_broken_lock_file_is_a_usage_error(runner: CliRunner, tmp_path: Path, text: str) -> None:
    lock = tmp_path / "tools.lock"
    lock.write_text(text)
    result = runner.invoke(app, ["tools", V1, "--baseline", str(lock)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"mcpobs: error: {lock}")


def test_junit_without_a_baseline_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tools", V1, "--format", "junit"])
    assert result.exit_code == 2


def test_the_committed_lock_accepts_v1_and_not_v2(runner: CliRunner, tmp_path: Path) -> None:
    # tests/data/toolsdiff/tools.lock, as make_inventory.py --lock wrote it: the README's example checks it
    lock = tmp_path / "tools.lock"
    lock.write_bytes((DATA / "toolsdiff" / "tools.lock").read_bytes())
    assert runner.invoke(app, ["tools", V1, "--baseline", str(lock)]).exit_code == 0
    assert runner.invoke(app, ["tools", V2, "--baseline", str(lock)]).exit_code == 1
    assert lock.read_bytes() == (DATA / "toolsdiff" / "tools.lock").read_bytes()


def test_a_lock_whose_hash_is_not_its_definitions_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    # v2's lookup carries an instruction to the model; the lock below shows v1's description as
    # accepted but holds v2's hash: a review reads the description, the check read only the hash
    lock = tmp_path / "tools.lock"
    assert runner.invoke(app, ["tools", V2, "--baseline", str(lock)]).exit_code == 0
    v2_lines = lock.read_text().splitlines()
    v2_hash = v2_lines[v2_lines.index("      lookup:") + 1].split()[-1]
    lock.unlink()
    assert runner.invoke(app, ["tools", V1, "--baseline", str(lock)]).exit_code == 0
    text = lock.read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "lookup:")
    lines[at + 1] = lines[at + 1].split(":")[0] + ": " + v2_hash
    lock.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["tools", V2, "--baseline", str(lock)])
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith(f"mcpobs: error: {lock}:{at + 1}: tool 'lookup'")
    assert "not the hash of its definition" in result.stderr


@pytest.mark.parametrize(
    ("text", "line"),
    [("version: 1\nservers:\n  inventory: 5\n", 3), ("version: 1\nservers:\n  s:\n    tools: [a]\n", 4)],
)
def test_a_lock_entry_of_the_wrong_shape_is_refused_not_skipped(
    runner: CliRunner, tmp_path: Path, text: str, line: int
) -> None:
    # read as a lock without the server, every definition of it failed as "not accepted"
    lock = tmp_path / "tools.lock"
    lock.write_text(text)
    result = runner.invoke(app, ["tools", V1, "--baseline", str(lock)])
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith(f"mcpobs: error: {lock}:{line}: ")


def test_an_empty_lock_file_is_written_and_another_file_is_not_offered_to_update(
    runner: CliRunner, tmp_path: Path
) -> None:
    lock = tmp_path / "tools.lock"
    lock.write_text("")  # `touch tools.lock`: no lock yet
    result = runner.invoke(app, ["tools", V1, "--baseline", str(lock)])
    assert result.exit_code == 0, result.stderr
    assert "lookup:" in lock.read_text()
    # a file that is not a lock: --update refuses to overwrite it, so the error does not offer it
    other = tmp_path / "alerts.yaml"
    other.write_text("alerts:\n  - name: slow\n")
    for args in ([], ["--update"]):
        result = runner.invoke(app, ["tools", V1, "--baseline", str(other), *args])
        assert result.exit_code == 2
        assert "--update" not in result.stderr, result.stderr
    assert other.read_text() == "alerts:\n  - name: slow\n"


def test_a_github_annotation_carries_no_control_character_from_the_input() -> None:
    # a server named its tool "tab\tname\x1b[31m" (recorded from a real mcp SDK server in review): the
    # ESC reached the CI log raw, where it colours (or, with \x1b[8m, hides) what follows
    from mcpobs.render.ci import annotation

    line = annotation("error", "rev tool tab\tname\x1b[31m: changed\n$.description: a\x07", file="t.lock", line=3)
    assert not [c for c in line if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0], repr(line)
    assert line == "::error file=t.lock,line=3::rev tool tab name␛[31m: changed%0A$.description: a␇"


def test_spans_without_results_print_no_empty_tables_of_calls() -> None:
    # two empty tables, each captioned "no calls match" (these are definitions, not calls) and the
    # second with $/call and $/session columns nobody asked a price for
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mcpobs.cli", "tools", str(DIALECTS / "semconv.jsonl")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no calls match" not in result.stdout
    assert "$/call" not in result.stdout
    assert "no tools/list, prompts/list or resources/list results" in result.stderr


def test_a_check_that_sees_none_of_the_locked_servers_fails(runner: CliRunner, tmp_path: Path) -> None:
    # the release that does not start (inventory-down: no list result): every locked server unseen, the
    # check checked nothing and passed (exit 0), so a CI gate stayed green over a server it never saw
    lock = tmp_path / "tools.lock"
    lock.write_bytes((DATA / "toolsdiff" / "tools.lock").read_bytes())
    down = str(DATA / "toolsdiff" / "inventory-down.log.jsonl")
    result = runner.invoke(app, ["tools", down, "--baseline", str(lock), "--format", "json"])
    assert result.exit_code == 1, result.stdout
    document = json.loads(result.stdout)
    assert document["failed"] is True
    [finding] = document["findings"]
    assert (finding["check"], finding["subject"], finding["status"]) == ("server not seen", "inventory", "fail")
    assert "nothing was checked" in finding["message"]
    # one locked server seen is a check: the others unseen are skipped, as before
    both = runner.invoke(app, ["tools", V1, down, "--baseline", str(lock)])
    assert both.exit_code == 0, both.stdout


PEERS = DATA / "peers"
# the same session of the toolbox server, recorded by three other tools: mcp-cassette and mcp-vcr put a
# placeholder where the server advertised login's api_key parameter schema (its name looks like a secret)
REDACTING_PEERS = ["mcp-cassette-stdio.cassette", "mcp-vcr-stdio.ndjson", "mcp-vcr-stdio.yaml"]


@pytest.mark.parametrize("peer", REDACTING_PEERS)
def test_a_schema_a_recorder_redacted_is_not_a_change_of_the_tool(runner: CliRunner, tmp_path: Path, peer: str) -> None:
    # locked from mcp-recorder's recording (the schema whole), checked on another recorder's of the same
    # session: "tool changed: $.inputSchema.properties.api_key: {...} -> "REDACTED"", exit 1
    lock = tmp_path / "tools.lock"
    assert runner.invoke(app, ["tools", str(PEERS / "mcp-recorder-stdio.json"), "--baseline", str(lock)]).exit_code == 0
    result = runner.invoke(app, ["tools", str(PEERS / peer), "--baseline", str(lock), "--format", "json"])
    assert result.exit_code == 0, result.stdout
    findings = {f["subject"]: f for f in json.loads(result.stdout)["findings"]}
    login = findings["record-toolbox tool login"]
    assert (login["check"], login["status"]) == ("tool partly checked", "warn")
    assert login["message"].endswith("not checked: $.inputSchema.properties.api_key")
    assert {f["status"] for s, f in findings.items() if s != "record-toolbox tool login"} == {"ok"}


def test_a_lock_written_from_a_redacting_recorder_does_not_pass_what_it_never_saw(
    runner: CliRunner, tmp_path: Path
) -> None:
    # the lock holds "REDACTED" for api_key's schema, and so does every later recording by the same tool:
    # a changed schema there passed as "unchanged, as accepted"
    lock = tmp_path / "tools.lock"
    cassette = str(PEERS / "mcp-cassette-stdio.cassette")
    written = runner.invoke(app, ["tools", cassette, "--baseline", str(lock)])
    assert "put a placeholder where the server advertised a parameter's schema" in written.stderr
    result = runner.invoke(app, ["tools", cassette, "--baseline", str(lock), "--format", "json"])
    assert result.exit_code == 0
    login = next(f for f in json.loads(result.stdout)["findings"] if f["subject"] == "record-toolbox tool login")
    assert login["status"] == "warn"
    # and a recording that holds the schema whole checks against it the same way, not as a change
    whole = runner.invoke(app, ["tools", str(PEERS / "mcp-recorder-stdio.json"), "--baseline", str(lock)])
    assert whole.exit_code == 0, whole.stdout
    assert "tool partly checked: record-toolbox tool login" in whole.stdout


def test_the_listing_names_what_a_recorder_redacted(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tools", str(PEERS / "mcp-vcr-stdio.ndjson"), "--format", "json"])
    assert result.exit_code == 0
    [note] = json.loads(result.stdout)["notes"]
    assert "record-toolbox tool login" in note
    assert "($.inputSchema.properties.api_key)" in note
    # mcp-recorder keeps the schema: nothing to say
    whole = runner.invoke(app, ["tools", str(PEERS / "mcp-recorder-stdio.json"), "--format", "json"])
    assert json.loads(whole.stdout)["notes"] == []


SECRET = DATA / "toolsdiff"


def test_a_definitions_credentials_are_redacted_as_a_recording_of_mcpobs_has_them(
    runner: CliRunner, tmp_path: Path
) -> None:
    # report-desk's fetch_report has an API key and a URL password as defaults; recorded without
    # redaction (as mcp-recorder and spans that record results hold it) both reached the listing and the
    # lock file to be committed, and the same server recorded with redaction was "changed: its hash"
    unredacted = str(SECRET / "secret-unredacted.log.jsonl")
    listed = runner.invoke(app, ["tools", unredacted, "--format", "json"])
    assert listed.exit_code == 0
    for secret in ("hunter2-pass", "sk-live-4f9a"):
        assert secret not in listed.stdout
    [tool] = json.loads(listed.stdout)["definitions"]
    schema = tool["definition"]["inputSchema"]["properties"]
    # a parameter named like a secret keeps its schema; the secret value in it goes
    assert schema["api_key"] == {"default": "[REDACTED]", "title": "Api Key", "type": "string"}
    assert schema["source"]["default"] == "https://[REDACTED]@reports.example.com/v1"
    lock = tmp_path / "tools.lock"
    assert runner.invoke(app, ["tools", unredacted, "--baseline", str(lock)]).exit_code == 0
    assert "hunter2-pass" not in lock.read_text()
    assert "sk-live-4f9a" not in lock.read_text()
    # the same server recorded with redaction: as accepted
    redacted = runner.invoke(app, ["tools", str(SECRET / "secret-redacted.log.jsonl"), "--baseline", str(lock)])
    assert redacted.exit_code == 0, redacted.stdout
    assert redacted.stdout.strip().endswith("1 checked: passed")
