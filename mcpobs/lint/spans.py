"""The span rules: every MCP span of the loaded trace files checked against the OpenTelemetry MCP
semantic conventions (semantic-conventions-genai, docs/gen-ai/mcp.md)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcpobs.findings import Finding
from mcpobs.lint.rules import BY_ID, finding

if TYPE_CHECKING:
    from mcpobs.store import Store

SPAN_KIND_SERVER, SPAN_KIND_CLIENT = 2, 3
STATUS_ERROR = 2

# the methods that name a resource: its URI may be the span name's target, as an opt-in
_WITH_URI = ("resources/read", "resources/subscribe", "resources/unsubscribe", "notifications/resources/updated")
# The codes by which the caller was at fault: on the receiving end (an mcp.server span, kind SERVER:
# the MCP server's, or the client's for a request the server sent it) they "SHOULD NOT be considered
# errors", so no error.type and no status ERROR (semantic-conventions-genai #404, model/mcp/common.yaml).
# The 2026-07-28 codes -32020..-32022 are mcpobs's addition to the rejected calls, not the convention's:
# the lint holds to the convention.
CALLER_FAULT_CODES = ("-32700", "-32600", "-32601", "-32602", "-32002")

# Attribute names the conventions replaced, as producers still write them → the current name.
DEPRECATED_ATTRIBUTES = {
    "rpc.jsonrpc.request_id": "jsonrpc.request.id",
    "rpc.jsonrpc.error_code": "rpc.response.status_code",
    "rpc.jsonrpc.version": "jsonrpc.protocol.version",
    "mcp.request.id": "jsonrpc.request.id",
    "mcp.request_id": "jsonrpc.request.id",
    "mcp.session_id": "mcp.session.id",
    "mcp.method": "mcp.method.name",
    "mcp.tool.name": "gen_ai.tool.name",
    "mcp.prompt.name": "gen_ai.prompt.name",
    "mcp.transport": "network.transport",
    "mcp.tool.arguments": "gen_ai.tool.call.arguments",
    "mcp.tool.result.is_error": "error.type (tool_error)",
    "mcp.tool.result.content": "gen_ai.tool.call.result",
    "mcp.resource.protocol": "network.protocol.name",
    "gen_ai.system": "gen_ai.provider.name",
}

# Exception classes that carry a JSON-RPC error or a tool's isError result (the mcp SDKs', FastMCP's), which
# instrumentations (OpenLLMetry) write as error.type: the conventions want the code, or tool_error.
ERROR_CARRIERS = {
    "McpError": "the JSON-RPC error code it carries",
    "MCPError": "the JSON-RPC error code it carries",
    "ToolError": "tool_error",
}

_CODE = re.compile(r"-?\d+")
_LOW_CARDINALITY = re.compile(r"[A-Za-z0-9_.:$-]{1,64}")


@dataclass(frozen=True)
class Span:
    """An MCP span as the rules read it: its raw fields, its attributes, and what mcpobs derived."""

    path: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    status_code: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    method: str
    request_id: str | None
    target: str | None

    def text(self, key: str) -> str | None:
        value = self.attributes.get(key)
        return None if value is None else str(value)


_SPANS = """
SELECT src.path, s.trace_id, s.span_id, nullif(s.parent_span_id, ''), s.name, coalesce(s.kind, 0),
    coalesce(s.status_code, 0), s.start_ns, s.end_ns, s.attributes, s.mcp_method,
    s.jsonrpc_request_id, s.mcp_target
FROM spans AS s JOIN sources AS src USING (source_id)
WHERE s.mcp_method IS NOT NULL
ORDER BY src.path, s.start_ns, s.span_id
"""


def mcp_spans(store: Store) -> list[Span]:
    """Every span of the store that mcpobs reads as an MCP call, in file and time order."""
    rows = store.con.execute(_SPANS).fetchall()
    return [
        Span(
            path=row[0],
            trace_id=row[1],
            span_id=row[2],
            parent_span_id=row[3],
            name=row[4] or "",
            kind=row[5],
            status_code=row[6],
            start_ns=row[7],
            end_ns=row[8],
            attributes=_attributes(row[9]),
            method=row[10],
            request_id=row[11],
            target=row[12],
        )
        for row in rows
    ]


def _attributes(raw: list[dict[str, Any]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in raw or []:
        value = item.get("value") or {}
        if value.get("stringValue") is not None:
            out[item["key"]] = value["stringValue"]
        elif value.get("intValue") is not None:
            out[item["key"]] = int(value["intValue"])
        elif value.get("boolValue") is not None:
            out[item["key"]] = bool(value["boolValue"])
        elif value.get("doubleValue") is not None:
            out[item["key"]] = float(value["doubleValue"])
        else:
            other = value.get("arrayValue") or value.get("kvlistValue") or value.get("bytesValue")
            out[item["key"]] = other if isinstance(other, str) or other is None else json.dumps(other)
    return out


class _Checker:
    def __init__(self, spans: list[Span], names: dict[str, str]) -> None:
        self.spans = spans
        self.names = names
        self.findings: list[Finding] = []

    def find(self, rule: str, span: Span, message: str) -> None:
        text = f"{span.name!r}: {message}"
        path = self.names.get(span.path, span.path)
        self.findings.append(finding(BY_ID[rule], path, text, trace_id=span.trace_id, span_id=span.span_id))

    def run(self) -> list[Finding]:
        clients: dict[tuple[str, str | None], list[Span]] = {}  # by method and request id: the candidates
        for s in self.spans:
            if s.kind == SPAN_KIND_CLIENT:
                clients.setdefault((s.method, s.request_id), []).append(s)
        for span in self.spans:
            self.attributes(span)
            self.name(span)
            self.kind(span)
            self.outcome(span)
            self.deprecated(span)
            if span.kind == SPAN_KIND_SERVER:
                self.parent(span, clients)
        return self.findings

    def attributes(self, span: Span) -> None:
        a = span.attributes
        if "mcp.method.name" not in a:
            self.find(
                "span-method-name",
                span,
                f"no mcp.method.name (its method {span.method} is read from other names)",
            )
        if span.method == "tools/call" and "gen_ai.tool.name" not in a:
            self.find("span-tool-name", span, "a tools/call span without gen_ai.tool.name")
        if not span.method.startswith("notifications/") and "jsonrpc.request.id" not in a:
            self.find("span-request-id", span, f"a {span.method} request span without jsonrpc.request.id")

    def name(self, span: Span) -> None:
        target = span.text("gen_ai.tool.name") or span.text("gen_ai.prompt.name") or span.text("mcp.tool.name")
        if target is None and span.method in ("tools/call", "prompts/get"):
            target = span.target  # the tool or prompt as mcpobs read it from the request or the name
        method = span.text("mcp.method.name") or span.method
        if target is not None:
            expected = f"{method} {target}"
            if span.name != expected:
                self.find("span-name", span, f"the name should be {expected!r}")
        elif span.name != method and not span.name.startswith(method + " "):
            # only a resource's URI may follow the method, and only as an opt-in (high cardinality)
            uri = f" (or '{method} {{mcp.resource.uri}}', opt-in)" if method in _WITH_URI else ""
            self.find("span-name", span, f"the name should be {method!r}{uri}")

    def kind(self, span: Span) -> None:
        if span.kind not in (SPAN_KIND_CLIENT, SPAN_KIND_SERVER):
            names = {0: "UNSPECIFIED", 1: "INTERNAL", 4: "PRODUCER", 5: "CONSUMER"}
            self.find("span-kind", span, f"of kind {names.get(span.kind, span.kind)}, not CLIENT or SERVER")

    def outcome(self, span: Span) -> None:
        error_type = span.attributes.get("error.type")
        code = span.text("rpc.response.status_code")
        # by span kind, not by MCP end: the receiver's rule whichever end received the request
        server = span.kind == SPAN_KIND_SERVER
        caller_fault = server and (code in CALLER_FAULT_CODES or str(error_type) in CALLER_FAULT_CODES)
        tool_error = span.attributes.get("mcp.tool.result.is_error") in (True, "true")
        error_status = span.status_code == STATUS_ERROR
        if error_type is None:
            if code is not None and _CODE.fullmatch(code) and not caller_fault:
                self.find(
                    "span-error-type", span, f"the call failed (rpc.response.status_code {code}) without error.type"
                )
            elif tool_error:
                self.find("span-error-type", span, "the tool call failed (isError) without error.type tool_error")
            elif error_status and not caller_fault:
                self.find("span-error-type", span, "status ERROR without error.type")
        else:
            self.error_type_value(span, error_type, tool_error)
            if caller_fault:
                self.find(
                    "span-error-type",
                    span,
                    f"error.type {error_type} on a SERVER span: the caller's error, not the server's failure",
                )
            elif not error_status:
                self.find(
                    "span-status",
                    span,
                    f"error.type {error_type} but status {'OK' if span.status_code == 1 else 'UNSET'}, not ERROR",
                )
            if _CODE.fullmatch(str(error_type)) and code is None:
                self.find("span-status-code", span, f"JSON-RPC error {error_type} without rpc.response.status_code")
        if caller_fault and error_status:
            self.find("span-status", span, f"status ERROR on a SERVER span for the caller's error {code or error_type}")

    def error_type_value(self, span: Span, error_type: Any, tool_error: bool) -> None:
        if not isinstance(error_type, str):
            self.find(
                "span-error-type-value",
                span,
                f"error.type {error_type!r} is a {type(error_type).__name__}, not a string",
            )
        elif not _LOW_CARDINALITY.fullmatch(error_type):
            self.find(
                "span-error-type-value",
                span,
                f"error.type {error_type!r} is not a low-cardinality class (a JSON-RPC code, tool_error, _OTHER)",
            )
        elif error_type in ERROR_CARRIERS:
            self.find(
                "span-error-type-value",
                span,
                f"error.type {error_type!r} names the exception, not the error: {ERROR_CARRIERS[error_type]}",
            )
        elif tool_error and error_type != "tool_error":
            self.find("span-error-type-value", span, f"error.type {error_type!r} for an isError result, not tool_error")

    def deprecated(self, span: Span) -> None:
        old = [f"{k} (now {DEPRECATED_ATTRIBUTES[k]})" for k in sorted(span.attributes) if k in DEPRECATED_ATTRIBUTES]
        if old:
            self.find("span-deprecated-attribute", span, f"uses {', '.join(old)}")

    def parent(self, span: Span, clients: dict[tuple[str, str | None], list[Span]]) -> None:
        """A server span whose calling client span is in the files: it must be that span's child."""
        if span.request_id is None:
            return
        callers = [
            c
            for c in clients.get((span.method, span.request_id), [])
            if c.start_ns <= span.start_ns and span.end_ns <= c.end_ns and c.target == span.target
        ]
        if len(callers) != 1:
            return  # no caller in these files, or no telling which
        caller = callers[0]
        if (span.trace_id, span.parent_span_id) != (caller.trace_id, caller.span_id):
            parent = "no parent" if span.parent_span_id is None else f"parent {span.trace_id}/{span.parent_span_id}"
            self.find(
                "span-parent",
                span,
                f"{parent}, not the client span that called it ({caller.trace_id}/{caller.span_id})",
            )


def lint_spans(store: Store, names: dict[str, str] | None = None) -> list[Finding]:
    """Every finding of the span rules over the MCP spans in ``store``, each file named as ``names`` has
    its path (the name a user gave it) or by its path."""
    return _Checker(mcp_spans(store), names or {}).run()
