"""The tool layer's argument structure: shapes, and calls whose arguments do not validate against the
inputSchema their server advertised. On recordings of a real client sending invalid arguments to the
third-party mcp-server-time (tests/data/arguments), and on traces of real instrumentation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcpobs.alerts import Status, check_alerts, parse_rules
from mcpobs.analysis import Query, analyze
from mcpobs.analysis.metrics import Figures
from mcpobs.analysis.queries import ARGUMENT_VIEWS
from mcpobs.arguments.check import Validators, json_type, shape_of
from mcpobs.catalog.definitions import Definition, from_store
from mcpobs.cli import app
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import DATA, DIALECTS, SAMPLE

LOGS = {"2025-11-25": DATA / "arguments" / "time.log.jsonl", "2026-07-28": DATA / "arguments" / "time-2026.log.jsonl"}
# what make_arguments.py sent that mcp-server-time's inputSchema refuses, in order, with the first error
INVALID = [
    ("get_current_time", "$.timezone: 5 is not of type 'string'", '{"timezone": 5}'),
    ("get_current_time", "$: 'timezone' is a required property", '{"tz": "UTC"}'),
    # no arguments sent: said so, not an empty cell as for arguments not recorded
    ("get_current_time", "$: 'timezone' is a required property", "(none sent)"),
    (
        "convert_time",
        "$.time: 1200 is not of type 'string'",
        '{"source_timezone": "UTC", "target_timezone": "Asia/Tokyo", "time": 1200}',
    ),
    ("convert_time", "$: 'target_timezone' is a required property", '{"source_timezone": "UTC", "time": "12:00"}'),
]


def _analysis(store: Store, *files: Path | str, by: tuple[str, ...] = ("tool",)) -> Any:
    load(store, [str(f) for f in files])
    return analyze(store, Query(by=by, views=ARGUMENT_VIEWS))


@pytest.mark.parametrize("log", LOGS.values(), ids=LOGS.keys())
def test_each_invalid_call_to_mcp_server_time_is_listed_with_its_error(store: Store, log: Path) -> None:
    result = _analysis(store, log)
    invalid = result.table("invalid_arguments").records()
    assert [(r["tool"], r["error"], r["arguments"]) for r in invalid] == INVALID
    assert {r["server"] for r in invalid} == {"mcp-time"}
    figures = {r["tool"]: r for r in result.table("arguments").records()}
    got = {
        tool: (r["tool_calls"], r["arguments_recorded"], r["arguments_checked"], r["invalid_arguments"])
        for tool, r in figures.items()
    }
    assert got == {"get_current_time": (6, 6, 6, 3), "convert_time": (3, 3, 3, 2)}
    assert figures["get_current_time"]["invalid_argument_rate"] == pytest.approx(3 / 6)
    assert result.notes == ()


@pytest.mark.parametrize("log", LOGS.values(), ids=LOGS.keys())
def test_the_calls_found_invalid_are_the_ones_the_server_refused(store: Store, log: Path) -> None:
    # mcp-server-time checks arguments itself (pydantic) and answers an isError result: its verdict, not ours
    _analysis(store, log)
    rows = store.con.execute(
        """SELECT c.error_class, a.error IS NOT NULL FROM mcp_calls c
        JOIN argument_checks a USING (source_id, trace_id, span_id) WHERE c.method = 'tools/call'"""
    ).fetchall()
    assert len(rows) == 9
    assert [error_class for error_class, invalid in rows if invalid] == ["tool_error"] * 5
    assert [error_class for error_class, invalid in rows if not invalid] == [None] * 4


def test_shapes_count_each_set_of_keys_and_types(store: Store) -> None:
    result = _analysis(store, LOGS["2025-11-25"])
    shapes = {r["shape"]: r for r in result.table("argument_shapes").records() if r["tool"] == "get_current_time"}
    assert {s: (r["calls"], r["checked"], r["invalid"]) for s, r in shapes.items()} == {
        "timezone: string": (2, 2, 0),
        # an extra key the schema allows (no additionalProperties: false): a shape of its own, valid
        "format: string, timezone: string": (1, 1, 0),
        "timezone: integer": (1, 1, 1),
        "tz: string": (1, 1, 1),
        "(none sent)": (1, 1, 1),
    }
    assert sum(r["share"] for r in shapes.values()) == pytest.approx(1)
    assert shapes["timezone: string"]["share"] == pytest.approx(2 / 6)


def test_a_recording_without_its_tools_list_answer_checks_nothing_and_says_so(store: Store, tmp_path: Path) -> None:
    # as a client that listed the tools in an earlier session would record it
    lines = LOGS["2025-11-25"].read_text().splitlines()
    kept = [line for line in lines if '"tools":[' not in line.replace(" ", "")]
    assert len(kept) == len(lines) - 1
    log = tmp_path / "unlisted.log.jsonl"
    log.write_text("\n".join(kept) + "\n")
    result = _analysis(store, log)
    for row in result.table("arguments").records():
        assert row["arguments_recorded"] == row["tool_calls"]
        assert (row["arguments_checked"], row["invalid_arguments"], row["invalid_argument_rate"]) == (0, None, None)
    assert result.table("invalid_arguments").rows == ()
    assert len(result.table("argument_shapes").rows) == 8  # shapes need no schema
    [note] = result.notes
    assert note.startswith("9 tool calls' arguments were not checked: no inputSchema")


def test_traces_without_arguments_say_not_recorded_rather_than_valid(store: Store) -> None:
    result = _analysis(store, SAMPLE, by=())
    for row in result.table("arguments").records():
        assert row["arguments_recorded"] == row["arguments_checked"] == 0
        assert (row["invalid_arguments"], row["invalid_argument_rate"]) == (None, None)
    assert result.table("argument_shapes").rows == ()
    assert any("have no arguments recorded" in n and "gen_ai.tool.call.arguments" in n for n in result.notes)


def test_a_rule_on_invalid_arguments_fires_on_the_recording_and_has_no_verdict_where_none_were_recorded(
    store: Store, tmp_path: Path
) -> None:
    rules = parse_rules(
        """
alerts:
  - name: invented arguments
    condition: "invalid_argument_rate > 10%"
    scope: tool
  - name: any invalid
    condition: "invalid_arguments > 0"
"""
    )
    load(store, [str(LOGS["2025-11-25"])])
    outcome = check_alerts(rules, Figures(store))
    fired = {(v.rule.name, v.label): v.values for v in outcome.verdicts if v.status is Status.FIRED}
    assert fired == {
        ("invented arguments", "client · tool convert_time"): {"invalid_argument_rate": pytest.approx(2 / 3)},
        ("invented arguments", "client · tool get_current_time"): {"invalid_argument_rate": 0.5},
        ("any invalid", "client"): {"invalid_arguments": 5},
    }
    with Store() as traces:
        load(traces, [str(SAMPLE)])
        outcome = check_alerts(rules, Figures(traces))
    assert {v.status for v in outcome.verdicts} == {Status.NO_VERDICT}
    assert {v.reason for v in outcome.verdicts} == {
        "no value for invalid_argument_rate",
        "no value for invalid_arguments",
    }
    assert any("have no arguments recorded" in n for n in outcome.notes)


def test_logfire_requests_are_checked_against_the_tools_list_results_it_recorded(store: Store) -> None:
    # Logfire records each request and response whole: the arguments, and the tools/list results
    result = _analysis(store, DIALECTS / "logfire.jsonl")
    figures = {(r["side"], r["tool"]): r for r in result.table("arguments").records()}
    assert figures[("client", "add")]["arguments_checked"] == 3
    assert figures[("server", "add")]["invalid_arguments"] == 0
    # the tool no list advertised (the server answered "Unknown tool: nope"): not checked, and said so
    assert figures[("client", "nope")]["arguments_checked"] == 0
    assert any(n.startswith("2 tool calls name a tool their server's tools/list results") for n in result.notes)


def test_semconv_arguments_are_shaped_and_not_checked_without_a_recorded_list(store: Store) -> None:
    # the conventions record arguments (opt-in) but no results: shapes, and a note that nothing was checked
    result = _analysis(store, DIALECTS / "semconv.jsonl")
    shapes = {(r["side"], r["tool"], r["shape"]): r["calls"] for r in result.table("argument_shapes").records()}
    assert shapes[("client", "get-weather", "date: string")] == 1
    assert shapes[("client", "get-weather", "date: string, location: string")] == 9
    assert all(r["arguments_checked"] == 0 for r in result.table("arguments").records())
    assert any("24 tool calls' arguments were not checked" in n for n in result.notes)


def test_a_loaded_recording_keeps_what_its_server_advertised(store: Store) -> None:
    load(store, [str(LOGS["2026-07-28"])])
    found, notes = from_store(store)
    assert notes == []
    tools = {d.name: d for d in found if d.kind == "tool"}
    assert set(tools) == {"get_current_time", "convert_time"}
    assert tools["get_current_time"].body["inputSchema"]["required"] == ["timezone"]


def _definition(schema: dict[str, Any]) -> Definition:
    return Definition("s", "unknown", "tool", "t", {"name": "t", "inputSchema": schema}, "f")


def test_schemas_are_2020_12_unless_they_name_their_draft() -> None:
    checks = Validators()
    # prefixItems exists in 2020-12 only: draft-07 ignores it
    items = {"type": "object", "properties": {"p": {"type": "array", "prefixItems": [{"type": "string"}]}}}
    assert checks.error(_definition(items), items, {"p": [1]}) == "$.p[0]: 1 is not of type 'string'"
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", **items}
    assert checks.error(_definition(draft7), draft7, {"p": [1]}) is None


def test_a_schema_whose_reference_does_not_resolve_is_no_schema_and_nothing_is_fetched() -> None:
    from mcpobs.arguments.check import UnusableSchema

    checks = Validators()
    schema = {"type": "object", "properties": {"a": {"$ref": "https://example.invalid/a.json"}}}
    with pytest.raises(UnusableSchema):
        checks.error(_definition(schema), schema, {"a": 1})
    assert ("s", "t", "inputSchema") in checks.invalid_schemas


@pytest.mark.parametrize(
    ("arguments", "shape"),
    [
        (
            {"b": 1.5, "a": [1], "c": {"x": None}, "d": True, "e": 2.0},
            "a: array, b: number, c: object, d: boolean, e: integer",
        ),
        ({}, "{}"),
        ([1, 2], "(array, not an object)"),
    ],
)
def test_shape_of_names_each_key_with_its_json_type(arguments: Any, shape: str) -> None:
    assert shape_of(arguments) == shape
    assert json_type(json.loads("3")) == "integer"


def test_analyze_shows_the_argument_sections_in_json_and_warns_where_none_are_recorded(
    runner: CliRunner, tmp_path: Path
) -> None:
    log = str(LOGS["2025-11-25"])
    shown = runner.invoke(app, ["analyze", log, "--view", "arguments,invalid_arguments", "-f", "json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.stdout)
    assert [r["invalid_arguments"] for r in document["arguments"]] == [3, 2]
    assert [(r["tool"], r["error"], r["arguments"]) for r in document["invalid_arguments"]] == INVALID
    assert "warning" not in shown.stderr
    # a database made by load keeps what the recording's server advertised: checked the same without the file
    db = str(tmp_path / "obs.duckdb")
    assert runner.invoke(app, ["load", log, "--db", db]).exit_code == 0
    again = runner.invoke(app, ["analyze", "--db", db, "--view", "arguments,invalid_arguments", "-f", "json"])
    assert json.loads(again.stdout)["invalid_arguments"] == document["invalid_arguments"]
    unrecorded = runner.invoke(app, ["analyze", str(SAMPLE), "--view", "arguments"])
    assert unrecorded.exit_code == 0
    assert "mcpobs: warning: 80 of 80 tool calls have no arguments recorded" in unrecorded.stderr


STRUCTURED = DATA / "arguments" / "structured.log.jsonl"


def test_a_result_that_does_not_conform_to_the_advertised_output_schema_is_listed(store: Store) -> None:
    # structured_server.py's forecast_legacy drifted from its outputSchema (the mcp SDK client raised on it)
    result = _analysis(store, STRUCTURED)
    [bad] = result.table("invalid_results").records()
    assert (bad["tool"], bad["result_error"]) == ("forecast_legacy", "$.celsius: '21.5' is not of type 'number'")
    assert json.loads(bad["result"]) == {"city": "Oslo", "celsius": "21.5"}
    figures = {r["tool"]: r for r in result.table("arguments").records()}
    assert (figures["forecast"]["results_checked"], figures["forecast"]["invalid_results"]) == (2, 0)
    assert figures["forecast_legacy"]["invalid_result_rate"] == 1
    # and the key its inputSchema forbids (additionalProperties: false), though the server answered it
    [extra] = result.table("invalid_arguments").records()
    assert extra["error"] == "$: Additional properties are not allowed ('days' was unexpected)"


def test_a_tool_with_an_output_schema_must_answer_structured_content(store: Store, tmp_path: Path) -> None:
    # the same recording, with the first forecast's answer stripped of its structuredContent
    records = [json.loads(line) for line in STRUCTURED.read_text().splitlines()]
    answers = [r for r in records if "structuredContent" in r.get("message", {}).get("result", {})]
    del answers[0]["message"]["result"]["structuredContent"]
    log = tmp_path / "unstructured.log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = _analysis(store, log)
    errors = [(r["tool"], r["result_error"], r["result"]) for r in result.table("invalid_results").records()]
    assert errors[0] == ("forecast", "no structuredContent, though the tool advertises an outputSchema", None)
    assert [tool for tool, _, _ in errors] == ["forecast", "forecast_legacy"]


def test_logfire_results_are_checked_against_the_output_schema_it_recorded(store: Store) -> None:
    result = _analysis(store, DIALECTS / "logfire.jsonl")
    figures = {(r["side"], r["tool"]): r for r in result.table("arguments").records()}
    for side in ("client", "server"):
        assert (figures[(side, "add")]["results_checked"], figures[(side, "add")]["invalid_results"]) == (3, 0)
    # an isError answer is no result to check
    assert figures[("client", "fail")]["results_checked"] == 0


def test_openllmetry_inputs_are_checked_and_its_results_said_not_recorded(store: Store) -> None:
    # OpenLLMetry holds the request (the tool span's {"tool_name", "arguments"}) and the tools/list result,
    # but its output is not the structured content
    result = _analysis(store, DIALECTS / "openllmetry.jsonl")
    figures = {r["tool"]: r for r in result.table("arguments").records()}
    assert (figures["add"]["arguments_checked"], figures["add"]["invalid_arguments"]) == (3, 0)
    assert figures["add"]["results_checked"] == 0
    assert any(n.endswith("have no result recorded: their results not checked") for n in result.notes)


def test_the_schema_in_force_is_the_sessions_last_before_the_call_else_the_files() -> None:
    from mcpobs.arguments.check import Schemas
    from mcpobs.catalog.definitions import Advertised

    def listed(version: int, session: str, source: int, at: int) -> Advertised:
        body = {"name": "t", "inputSchema": {"type": "object", "version": version}}
        return Advertised(Definition("s", "unknown", "tool", "t", body, "f"), source, session, "client", at)

    schemas = Schemas([listed(1, "a", 1, 10), listed(2, "a", 1, 20), listed(3, "b", 1, 30), listed(4, "c", 2, 5)])

    def version(session: str, source: int, start: int) -> Any:
        found = schemas.find("s", "t", session, source, start)
        return found.body["inputSchema"]["version"] if found else None

    assert version("a", 1, 15) == 1  # the session's last before the call
    assert version("a", 1, 25) == 2
    assert version("a", 1, 5) == 1  # none before: the session's first after
    assert version("b", 1, 15) == 3  # its own session's, though the file's other session listed before
    assert version("d", 1, 25) == 2  # no list in its session: the file's last before the call
    assert version("d", 3, 25) is None  # nor in its file
    assert schemas.find("other", "t", "a", 1, 15) is None
