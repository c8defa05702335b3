"""What a lint rule is, what it finds, and every rule mcpobs has: one table, read by the checks and
the renderers alike."""

from __future__ import annotations

from dataclasses import dataclass

from mcpobs.findings import Finding, Status

SEVERITIES = ("info", "warning", "error")

SEMCONV = "https://github.com/open-telemetry/semantic-conventions-genai/blob/main/docs/gen-ai/mcp.md"
SPEC_2025 = "https://modelcontextprotocol.io/specification/2025-11-25"
SPEC_2026 = "https://modelcontextprotocol.io/specification/2026-07-28"


@dataclass(frozen=True)
class Rule:
    """One check: its id (what ``--ignore`` names), severity, one line on what it finds, and the section
    of the specification or convention it enforces."""

    id: str
    severity: str
    description: str
    doc: str
    kind: str  # "eventlog" or "span": the evidence it reads


# A rule's severity -> the status of its findings when --fail-on is not above it (error: always).
STATUS_OF = {"error": Status.FAIL, "warning": Status.WARN, "info": Status.INFO}


def finding(
    rule: Rule,
    path: str,
    message: str,
    line: int | None = None,
    trace_id: str | None = None,
    span_id: str | None = None,
) -> Finding:
    """One breach of ``rule`` as every check reports one: the check is the rule's id, the subject where it
    is as people read a place (``file:line``, ``file``, or ``file trace T span S``), the status its
    severity's (:func:`mcpobs.lint.lint` holds it to ``--fail-on``)."""
    if span_id is not None:
        where = f"{path} trace {trace_id} span {span_id}"
    else:
        where = path if line is None else f"{path}:{line}"
    return Finding(
        rule.id, where, message, STATUS_OF[rule.severity], file=path, line=line, severity=rule.severity, doc=rule.doc
    )


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def status_at(severity: str, fail_on: str) -> Status:
    """What a finding of ``severity`` does to a run that fails at ``fail_on``."""
    return Status.FAIL if rank(severity) >= rank(fail_on) else STATUS_OF[severity]


_EVENTLOG_RULES = (
    Rule(
        "invalid-frame",
        "error",
        "a message that is not a JSON-RPC 2.0 request, notification or response",
        f"{SPEC_2025}/basic#messages",
        "eventlog",
    ),
    Rule(
        "stdout-noise",
        "error",
        "a stdio server wrote a line to stdout that is not an MCP message",
        f"{SPEC_2025}/basic/transports#stdio",
        "eventlog",
    ),
    Rule(
        "unmatched-response",
        "error",
        "a response whose id no open request of the other side has",
        f"{SPEC_2025}/basic#responses",
        "eventlog",
    ),
    Rule(
        "unanswered-request",
        "warning",
        "a request neither answered nor cancelled by the end of the recording",
        f"{SPEC_2025}/basic/lifecycle#timeouts",
        "eventlog",
    ),
    Rule(
        "duplicate-id",
        "error",
        "a request id the same side already has in flight",
        f"{SPEC_2025}/basic#requests",
        "eventlog",
    ),
    Rule(
        "notification-with-id",
        "error",
        "a notification method sent with an id",
        f"{SPEC_2025}/basic#notifications",
        "eventlog",
    ),
    Rule(
        "removed-method",
        "error",
        "a method the session's protocol revision does not have",
        f"{SPEC_2026}/changelog#major-changes",
        "eventlog",
    ),
    Rule(
        "deprecated-method",
        "warning",
        "a method the session's protocol revision deprecates",
        f"{SPEC_2026}/deprecated",
        "eventlog",
    ),
    Rule(
        "routing-header",
        "error",
        "a 2026-07-28 HTTP request whose Mcp-Method or Mcp-Name header is missing or differs from the body",
        f"{SPEC_2026}/basic/transports/streamable-http#standard-request-headers",
        "eventlog",
    ),
    Rule(
        "request-meta",
        "error",
        "a 2026-07-28 request without the required _meta keys (protocolVersion, clientCapabilities)",
        f"{SPEC_2026}/basic#_meta",
        "eventlog",
    ),
    Rule(
        "protocol-version-header",
        "error",
        "an HTTP request whose MCP-Protocol-Version header is missing or differs from the revision in use",
        f"{SPEC_2026}/basic/transports/streamable-http#protocol-version-header",
        "eventlog",
    ),
    Rule(
        "cancelled-initialize",
        "error",
        "a client cancelled its initialize request",
        f"{SPEC_2025}/basic/utilities/cancellation#behavior-requirements",
        "eventlog",
    ),
    Rule(
        "undeclared-capability",
        "error",
        "a request that needs a capability its receiver did not declare",
        f"{SPEC_2025}/basic/lifecycle#operation",
        "eventlog",
    ),
)

_SPAN_RULES = (
    Rule(
        "span-method-name",
        "error",
        "an MCP span without mcp.method.name (Required)",
        f"{SEMCONV}#client",
        "span",
    ),
    Rule(
        "span-tool-name",
        "warning",
        "a tools/call span without gen_ai.tool.name (Conditionally Required)",
        f"{SEMCONV}#client",
        "span",
    ),
    Rule(
        "span-request-id",
        "warning",
        "an MCP request span without jsonrpc.request.id (Conditionally Required)",
        f"{SEMCONV}#client",
        "span",
    ),
    Rule(
        "span-error-type",
        "warning",
        "a failed MCP span without error.type, or error.type on one that did not fail",
        f"{SEMCONV}#server",
        "span",
    ),
    Rule(
        "span-status-code",
        "warning",
        "a span whose JSON-RPC error code is not in rpc.response.status_code (Conditionally Required)",
        f"{SEMCONV}#server",
        "span",
    ),
    Rule(
        "span-name",
        "warning",
        "an MCP span not named {mcp.method.name} {target}",
        f"{SEMCONV}#client",
        "span",
    ),
    Rule(
        "span-kind",
        "warning",
        "an MCP span whose kind is not CLIENT or SERVER",
        f"{SEMCONV}#server",
        "span",
    ),
    Rule(
        "span-error-type-value",
        "warning",
        "an error.type naming the exception that carries the error (McpError, ToolError), or no low-cardinality class",
        f"{SEMCONV}#client",
        "span",
    ),
    Rule(
        "span-status",
        "warning",
        "span status ERROR not set exactly when error.type is (server spans: not for the caller's errors)",
        f"{SEMCONV}#server",
        "span",
    ),
    Rule(
        "span-parent",
        "warning",
        "a server span not parented on the client span that called it (params._meta.traceparent)",
        f"{SEMCONV}#context-propagation",
        "span",
    ),
    Rule(
        "span-deprecated-attribute",
        "warning",
        "an attribute name the conventions replaced (rpc.jsonrpc.*, mcp.request_id, mcp.tool.name, …)",
        f"{SEMCONV}#server",
        "span",
    ),
)

RULES: tuple[Rule, ...] = _EVENTLOG_RULES + _SPAN_RULES
BY_ID: dict[str, Rule] = {r.id: r for r in RULES}
