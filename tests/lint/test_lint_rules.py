"""Each lint rule fires on a real file that shows its fault (tests/data/lint and the instrumentations'
files in tests/data, each beside the script that made it), and stays quiet on real recordings and
spans without that fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpobs.lint import RULES, Finding, lint
from mcpobs.lint.eventlog import decode_header
from tests.conftest import DATA, ROOT

LINT = DATA / "lint"


def _findings(*paths: Path, ignore: tuple[str, ...] = ()) -> list[Finding]:
    return list(lint([str(p) for p in paths], ignore=ignore).findings)


def _at(findings: list[Finding], rule: str) -> list[tuple[str, int | None, str]]:
    return [(Path(f.file or "").name, f.line, f.message) for f in findings if f.check == rule]


# rule, the real file, the line of the record that breaks it, a part of the message
EVENT_LOG_CASES = [
    ("stdout-noise", "stray-stdout.log.jsonl", 4, "'misbehaving server 1.0.0 ready'"),
    ("invalid-frame", "protocol-2025.log.jsonl", 7, "not JSON: 'this is not JSON'"),
    ("invalid-frame", "protocol-2025.log.jsonl", 8, '"jsonrpc" must be "2.0"'),
    ("notification-with-id", "protocol-2025.log.jsonl", 9, "notifications/initialized sent with id 3"),
    ("duplicate-id", "protocol-2025.log.jsonl", 11, "id 7, still in flight for tools/call (line 10)"),
    ("unmatched-response", "protocol-2025.log.jsonl", 15, "answered id 99"),
    ("undeclared-capability", "protocol-2025.log.jsonl", 16, "resources/subscribe needs the server capability"),
    ("undeclared-capability", "protocol-2025.log.jsonl", 18, "logging/setLevel needs the server capability logging"),
    ("undeclared-capability", "protocol-2025.log.jsonl", 20, "completion/complete needs the server capability"),
    ("unanswered-request", "protocol-2025.log.jsonl", 22, "tools/call (id 11) got no answer"),
    # the mcp SDK 2.3 server elicits from a client that declared no elicitation capability
    ("undeclared-capability", "elicit-undeclared-2025.log.jsonl", 8, "the client capability elicitation"),
    ("cancelled-initialize", "cancelled-initialize.log.jsonl", 4, "names the initialize request (id 1)"),
    ("removed-method", "protocol-2026.log.jsonl", 8, "ping: protocol revision 2026-07-28 removed it"),
    ("removed-method", "protocol-2026.log.jsonl", 10, "logging/setLevel: protocol revision 2026-07-28 removed"),
    ("request-meta", "protocol-2026.log.jsonl", 12, "lacks _meta io.modelcontextprotocol/clientCapabilities"),
    ("deprecated-method", "protocol-2026.log.jsonl", 21, "notifications/message: protocol revision 2026-07-28"),
    ("routing-header", "headers-2026.log.jsonl", 6, "without an Mcp-Method header"),
    ("routing-header", "headers-2026.log.jsonl", 6, "without an Mcp-Name header"),
    ("routing-header", "headers-2026.log.jsonl", 10, "Mcp-Name '=?base64?bm9pc3k=?=' (decoded 'noisy')"),
    ("routing-header", "headers-2026.log.jsonl", 12, "Mcp-Method 'tools/list', but the body's method is"),
    ("protocol-version-header", "headers-2026.log.jsonl", 14, "'2025-11-25', but _meta says '2026-07-28'"),
    ("protocol-version-header", "headers-2026.log.jsonl", 16, "without an MCP-Protocol-Version header"),
]


@pytest.mark.parametrize(("rule", "name", "line", "text"), EVENT_LOG_CASES)
def test_each_event_log_rule_fires_on_the_recording_that_shows_its_fault(
    rule: str, name: str, line: int, text: str
) -> None:
    found = _at(_findings(LINT / name), rule)
    assert any(where == line and text in message for _, where, message in found), found


def test_the_recordings_hold_no_finding_beyond_those_they_were_made_for() -> None:
    made_for = {(rule, name, line) for rule, name, line, _ in EVENT_LOG_CASES}
    findings = _findings(*(LINT / n for n in sorted({n for _, n, _, _ in EVENT_LOG_CASES})))
    extra = {(f.check, Path(f.file or "").name, f.line) for f in findings} - made_for
    # the 2026-07-28 logging/setLevel is both removed and, by the server's discover result, undeclared
    assert extra == {("undeclared-capability", "protocol-2026.log.jsonl", 10)}


def test_a_base64_sentinel_that_decodes_to_the_body_is_no_mismatch() -> None:
    # headers-2026 line 8: Mcp-Name =?base64?ZWNobw==?= for the tool echo
    assert not [f for f in _findings(LINT / "headers-2026.log.jsonl") if f.line == 8]
    assert decode_header("=?base64?ZWNobw==?=") == "echo"
    assert decode_header("=?base64?SGVsbG8sIOS4lueVjA==?=") == "Hello, 世界"
    assert decode_header("=?base64?not base64?=") is None
    assert decode_header("plain") == "plain"


# rule, the real file, the span (by name), a part of the message; each file's generator is beside it
SPAN_CASES = [
    # OpenLLMetry: INTERNAL `{tool}.tool` / `{method}.mcp` spans with traceloop.* attributes only
    ("span-method-name", DATA / "dialects" / "openllmetry.jsonl", "add.tool", "no mcp.method.name"),
    ("span-kind", DATA / "dialects" / "openllmetry.jsonl", "add.tool", "of kind INTERNAL"),
    ("span-request-id", DATA / "dialects" / "openllmetry.jsonl", "add.tool", "without jsonrpc.request.id"),
    # the mcp SDK 2.3's client spans: `MCP send tools/call echo`, no gen_ai.tool.name
    (
        "span-name",
        LINT / "sdk-invalid-params.client-spans.jsonl",
        "MCP send tools/call echo",
        "should be 'tools/call echo'",
    ),
    ("span-tool-name", LINT / "sdk-invalid-params.client-spans.jsonl", "MCP send tools/call echo", "without gen_ai"),
    # the mcp SDK 2.3's server span of a -32602 refusal: error.type and status ERROR
    ("span-error-type", LINT / "sdk-invalid-params.server-spans.jsonl", "tools/call query", "error.type -32602 on"),
    ("span-status", LINT / "sdk-invalid-params.server-spans.jsonl", "tools/call query", "caller's error -32602"),
    # Sentry's MCP integration: a failed tool call with status ERROR and no error.type; old names
    ("span-error-type", DATA / "dialects" / "sentry.jsonl", "tools/call fail", "status ERROR without error.type"),
    ("span-deprecated-attribute", DATA / "dialects" / "sentry.jsonl", "tools/call add", "mcp.tool.name (now"),
    # OpenLLMetry's error.type: the exception's class, not the JSON-RPC code (-32601 here) or tool_error
    ("span-error-type-value", DATA / "dialects" / "openllmetry.jsonl", "logging/setLevel.mcp", "'McpError' names"),
    ("span-error-type-value", DATA / "dialects" / "openllmetry_fastmcp.jsonl", "fail.tool", "'ToolError' names"),
    # Logfire: rpc.jsonrpc.version
    (
        "span-deprecated-attribute",
        DATA / "dialects" / "logfire.jsonl",
        "MCP request: tools/list",
        "rpc.jsonrpc.version",
    ),
]


@pytest.mark.parametrize(("rule", "path", "span_name", "text"), SPAN_CASES)
def test_each_span_rule_fires_on_the_instrumentation_that_breaks_it(
    rule: str, path: Path, span_name: str, text: str
) -> None:
    found = [f.message for f in _findings(path) if f.check == rule]
    assert any(m.startswith(f"{span_name!r}: ") and text in m for m in found), found


def test_a_server_span_is_held_to_the_client_span_that_called_it() -> None:
    # the client's propagators off: no traceparent in params._meta, the server's spans start their own traces
    found = _findings(*LINT.glob("sdk-no-propagation.*"))
    parents = [f.message for f in found if f.check == "span-parent"]
    assert len(parents) == 3, parents
    assert any(m.startswith("'tools/call echo': no parent, not the client span") for m in parents)
    # propagating, the same client and server: every server span is its caller's child
    assert not [f for f in _findings(*LINT.glob("sdk-invalid-params.*")) if f.check == "span-parent"]


def test_real_recordings_without_faults_are_quiet() -> None:
    # the mcp SDK client and server, 2025-11-25 and 2026-07-28, stdio and HTTP, several clients at once
    clean = [
        DATA / "mrtr" / "stdio-2025.log.jsonl",
        DATA / "mrtr" / "stdio-2026.log.jsonl",
        DATA / "mrtr" / "http-2025.log.jsonl",
        DATA / "mrtr" / "http-2026.log.jsonl",
        DATA / "mrtr" / "concurrent-2026.log.jsonl",
        DATA / "mrtr" / "tasks-2025.log.jsonl",
        DATA / "replay" / "time-http-concurrent-2026.jsonl",
        *sorted((DATA / "peers").glob("mcp-*")),
    ]
    assert _findings(*clean) == []


def test_the_bundled_recordings_are_quiet_and_the_bundled_spans_break_only_what_the_mcp_sdk_does() -> None:
    # sample_traces' spans are the mcp SDK 2.3's own: its CLIENT spans are `MCP send …` without
    # gen_ai.tool.name, a failed one has no error.type, and its SERVER span of a -32602 refusal sets
    # error.type and status ERROR (the conventions since semantic-conventions-genai #404: the caller's error)
    findings = _findings(ROOT / "sample_traces")
    assert {f.check for f in findings} == {"span-name", "span-tool-name", "span-error-type", "span-status"}
    assert all(f.severity == "warning" for f in findings)
    assert not [f for f in findings if (f.file or "").endswith(("notes_session.jsonl", "notes_proxy.jsonl"))]


def test_every_rule_has_a_real_file_or_is_said_to_have_none() -> None:
    covered = {r for r, *_ in EVENT_LOG_CASES} | {r for r, *_ in SPAN_CASES} | {"span-parent"}
    # span-status-code: no producer we can run writes a JSON-RPC code in error.type without
    # rpc.response.status_code. The mcp SDK 2.3 (server middleware and client dispatcher), the C# SDK's
    # McpSessionHandler and Sentry's JavaScript integration set rpc.response.status_code whenever
    # error.type is a code; OpenLLMetry
    # writes exception class names, Logfire and Sentry's Python integration no error.type at all
    without_real_file = {"span-status-code"}
    assert covered | without_real_file == {r.id for r in RULES}


def test_ignored_rules_are_neither_checked_nor_reported() -> None:
    result = lint([str(LINT / "protocol-2025.log.jsonl")], ignore=("invalid-frame", "undeclared-capability"))
    assert {f.check for f in result.findings} == {
        "notification-with-id",
        "duplicate-id",
        "unmatched-response",
        "unanswered-request",
    }
    assert "invalid-frame" not in {r.id for r in result.rules}


def test_each_client_of_an_http_recording_is_held_to_its_own_revision() -> None:
    # a 2026-07-28 client, then a 2025-11-25 one (initialize, Mcp-Session-Id), both right: the second
    # was held to the first's revision (initialize "removed", its requests without _meta or Mcp-Method)
    assert _findings(LINT / "mixed-revisions-http.log.jsonl") == []


def test_a_request_its_own_sender_cancelled_is_not_unanswered() -> None:
    # the mcp SDK server gives up on its elicitation and cancels it; the client rightly never answers.
    # Only the client's cancellations were read: a false unanswered-request
    assert _findings(LINT / "server-cancels-elicitation.log.jsonl") == []


def test_the_span_name_hint_offers_a_target_only_where_the_method_has_one() -> None:
    # "should be 'tools/list' or 'tools/list {target}'": tools/list has no target; the conventions
    # want the method alone, and the resource's URI only as an opt-in target
    hints = {m for _, _, m in _at(_findings(ROOT / "sample_traces" / "mcp_agent_session.jsonl"), "span-name")}
    assert "the name should be 'tools/list'" in {h.split(": ", 1)[1] for h in hints}
    assert not [h for h in hints if "tools/list {target}" in h or "server/discover {target}" in h]
    assert any(
        h.endswith("the name should be 'resources/read' (or 'resources/read {mcp.resource.uri}', opt-in)")
        for h in hints
    )


def test_refusals_recorded_as_the_2026_conventions_say_are_quiet() -> None:
    # semantic-conventions-genai #404: the receiving end (an mcp.server span, kind SERVER, whichever MCP
    # end it is) records -32602 in rpc.response.status_code only; the client's SERVER span of the
    # server's elicitation/create it refused was held to the sender's rule: "failed without error.type"
    assert _findings(LINT / "semconv-2026-refusals.spans.jsonl") == []


def test_the_pre_404_reference_spans_draw_only_the_caller_fault_findings() -> None:
    # dialects/semconv.jsonl follows the conventions before #404 (July 2026): its SERVER spans of the
    # -32602 and -32601 refusals set error.type and status ERROR. Since #404 these codes "SHOULD NOT be
    # considered errors" on the receiving end (model/mcp/common.yaml): two findings each, nothing else
    found = {(f.check, f.message.split(":")[0]) for f in _findings(DATA / "dialects" / "semconv.jsonl")}
    assert found == {
        ("span-error-type", "'tools/call get-weather'"),
        ("span-status", "'tools/call get-weather'"),
        ("span-error-type", "'resources/subscribe'"),
        ("span-status", "'resources/subscribe'"),
    }
