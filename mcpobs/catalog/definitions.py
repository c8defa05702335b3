"""The definitions MCP servers advertised, read from the results of their list requests.

A recording (an event log, or a peer recorder's file) holds every ``tools/list``,
``prompts/list``, ``resources/list`` and ``resources/templates/list`` result whole.
Spans hold one only where the instrumentation records results: Logfire's
``response`` and OpenLLMetry's ``traceloop.entity.output`` attributes; the MCP
conventions and the mcp SDK record none.

Tokens are an estimate: the bytes of the compact JSON a client puts in an LLM
request for a definition (a tool's name, description and input schema) divided by
:data:`BYTES_PER_TOKEN`. No tokenizer is exact for every model, and the ones that
are (tiktoken) fetch their vocabulary from the network on first use.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mcpobs.errors import UsageError
from mcpobs.eventlog.otlp import LIST_RESULT_KEY, answered_requests
from mcpobs.eventlog.peers import as_event_log
from mcpobs.eventlog.reader import EventLog
from mcpobs.eventlog.redact import Redactor
from mcpobs.eventlog.writer import agreed_protocol
from mcpobs.ingest.sources import Format, expand

if TYPE_CHECKING:
    from mcpobs.analysis.sql import Calls
    from mcpobs.cost import PriceBook
    from mcpobs.store import Store

# list method -> (the kind of definition it lists, the key of the result's list)
LISTS: dict[str, tuple[str, str]] = {
    "tools/list": ("tool", "tools"),
    "prompts/list": ("prompt", "prompts"),
    "resources/list": ("resource", "resources"),
    "resources/templates/list": ("resource template", "resourceTemplates"),
}
KINDS = tuple(kind for kind, _ in LISTS.values())
# What names a definition within its server and kind.
_KEY = {"tool": "name", "prompt": "name", "resource": "uri", "resource template": "uriTemplate"}
# The fields a lock file accepts: everything a client shows the model or a user, or acts on.
LOCKED: dict[str, tuple[str, ...]] = {
    "tool": ("name", "title", "description", "inputSchema", "outputSchema", "annotations"),
    "prompt": ("name", "title", "description", "arguments"),
    "resource": ("uri", "name", "title", "description", "mimeType", "annotations"),
    "resource template": ("uriTemplate", "name", "title", "description", "mimeType", "annotations"),
}
# The fields a client puts in an LLM request for a definition (a tool as a function: name,
# description, parameters); what the token estimate counts.
PROMPTED: dict[str, tuple[str, ...]] = {
    "tool": ("name", "description", "inputSchema"),
    "prompt": ("name", "description", "arguments"),
    "resource": ("uri", "name", "description", "mimeType"),
    "resource template": ("uriTemplate", "name", "description", "mimeType"),
}
# About four bytes of English or JSON a token, in the BPE tokenizers of the large providers.
BYTES_PER_TOKEN = 4
# Span attributes that hold a call's result as JSON: Logfire's, OpenLLMetry's, and mcpobs's own spans of
# a recording's list results (so that a store holds what a loaded recording advertised).
RESULT_KEYS = ("response", "traceloop.entity.output", LIST_RESULT_KEY)
UNKNOWN = "unknown"
_REDACTOR = Redactor()
_RECORDINGS = (Format.EVENT_LOG, Format.MCP_RECORDER, Format.MCP_CASSETTE, Format.MCP_VCR_NDJSON, Format.MCP_VCR_YAML)


def canonical(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same definition is always the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(locked: dict[str, Any]) -> str:
    """``sha256:`` and the hash of a definition's locked fields' canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical(locked).encode()).hexdigest()


@dataclass(frozen=True)
class Definition:
    """One tool, prompt, resource or resource template as a server advertised it."""

    server: str
    protocol: str  # the session's protocol revision, or "unknown"
    kind: str  # tool, prompt, resource, resource template
    name: str  # a tool's or prompt's name, a resource's URI, a template's URI template
    body: dict[str, Any]  # as advertised, fields that were null left out
    source: str  # the file it was read from

    @property
    def locked(self) -> dict[str, Any]:
        """The fields a lock file accepts (:data:`LOCKED`)."""
        return {k: self.body[k] for k in LOCKED[self.kind] if k in self.body}

    @property
    def digest(self) -> str:
        """``sha256:`` and the hash of the locked fields' canonical JSON."""
        return digest_of(self.locked)

    @property
    def tokens(self) -> int:
        """About how many tokens the definition adds to each LLM request that carries it."""
        prompted = {k: self.body[k] for k in PROMPTED[self.kind] if k in self.body}
        return math.ceil(len(canonical(prompted).encode()) / BYTES_PER_TOKEN)


@dataclass
class Inputs:
    """Files to read definitions from: recordings, read whole, and trace files, to load into a store."""

    recordings: list[EventLog] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # every file, as read (stdin where it was spooled)


def split_inputs(arguments: Iterable[str], spool: Path) -> Inputs:
    """Each file the arguments name (files, directories, globs, ``-``), told apart by its content."""
    inputs = Inputs()
    for source in expand(arguments, spool):
        inputs.paths.append(str(source.path))
        if source.format in _RECORDINGS:
            with source.open_binary() as f:
                data = f.read()
            inputs.recordings.append(as_event_log(source.name, data, source.format.value))
        else:
            inputs.traces.append(str(source.path))
    return inputs


def from_recording(log: EventLog) -> list[Definition]:
    """The definitions in a recording's list results, in the order they were answered."""
    protocol = agreed_protocol(log.records) or UNKNOWN
    found: list[Definition] = []
    for answer in answered_requests(log):
        method = answer.request.get("method")
        if method in LISTS:
            found += _listed(method, answer.result, answer.server or UNKNOWN, protocol, log.path)
    return found


def from_store(store: Store) -> tuple[list[Definition], list[str]]:
    """The definitions in the list results spans recorded (:data:`RESULT_KEYS`), and a note for each
    result that could not be read."""
    found, notes = advertised(store)
    return [a.definition for a in found], notes


@dataclass(frozen=True)
class Advertised:
    """A definition as a list result in a store advertised it: where and when (the answer's end)."""

    definition: Definition
    source_id: int
    session: str  # the list call's session (mcp_calls.session)
    side: str
    end_ns: int


def advertised(store: Calls, kinds: tuple[str, ...] = KINDS) -> tuple[list[Advertised], list[str]]:
    """The definitions of ``kinds`` in the list results spans recorded (:data:`RESULT_KEYS`), in the
    order they were answered, each with its file, session, side and time; and a note for each result
    that could not be read. In a DuckDB store or a ClickHouse table alike (which reads those results
    from the table's own spans: its call model keeps no such attribute)."""
    from mcpobs.store import Store

    methods = [method for method, (kind, _) in LISTS.items() if kind in kinds]
    rows: Sequence[tuple[Any, ...]]
    if isinstance(store, Store):
        rows = store.con.execute(
            """
            SELECT c.method, c.server, c.protocol_version, src.path,
                list_filter(s.attributes, lambda a: list_contains($keys, a.key))[1].value.stringValue AS result,
                c.source_id, c.session, coalesce(c.side, 'unknown'), c.end_ns
            FROM mcp_calls c
            JOIN spans s ON s.source_id = c.source_id AND s.trace_id = c.trace_id AND s.span_id = c.span_id
            JOIN sources src ON src.source_id = c.source_id
            WHERE list_contains($methods, c.method) AND c.succeeded
            ORDER BY c.start_ns, c.span_id
            """,
            {"keys": list(RESULT_KEYS), "methods": methods},
        ).fetchall()
    else:
        from mcpobs.clickhouse import ClickHouseTraces
        from mcpobs.clickhouse.arguments import list_results

        assert isinstance(store, ClickHouseTraces)
        rows = list_results(store, RESULT_KEYS, methods)
    found: list[Advertised] = []
    notes: list[str] = []
    for method, server, protocol, path, text, source_id, session, side, end_ns in rows:
        if text is None:
            continue
        try:
            result = json.loads(text)
        except ValueError:
            notes.append(f"{path}: a {method} result that is not whole JSON (cut short by the exporter?): left out")
            continue
        if isinstance(result, dict) and isinstance(result.get("result"), dict):
            result = result["result"]  # a whole JSON-RPC response
        if isinstance(result, dict):
            found += [
                Advertised(d, source_id, session, side, end_ns)
                for d in _listed(method, result, server or UNKNOWN, protocol or UNKNOWN, path)
            ]
    return found, notes


def _listed(method: str, result: dict[str, Any], server: str, protocol: str, source: str) -> list[Definition]:
    kind, key = LISTS[method]
    items = result.get(key)
    found = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get(_KEY[kind]), str):
            continue
        # redacted as mcpobs record redacts (a second time changes nothing): recorders without redaction
        # and spans hold credentials as advertised, which the listing and a committed lock must not show,
        # and the same server recorded either way is the same definition
        redacted, _ = _REDACTOR.message({k: v for k, v in item.items() if v is not None})
        found.append(Definition(server, protocol, kind, redacted[_KEY[kind]], redacted, source))
    return found


def distinct(definitions: Iterable[Definition]) -> list[Definition]:
    """Each version of each definition once (the first place it was seen), by server, revision, kind
    and name: a definition that changed between (or within) inputs is there in each version."""
    seen: dict[tuple[str, str, str, str, str], Definition] = {}
    for d in definitions:
        seen.setdefault((d.server, d.protocol, d.kind, d.name, d.digest), d)
    return sorted(seen.values(), key=lambda d: (d.server, d.protocol, KINDS.index(d.kind), d.name))


@dataclass(frozen=True)
class Tax:
    """What one server's tools add to every LLM request of a client connected to it."""

    server: str
    protocol: str
    tools: int
    tokens: int
    per_llm_call: Decimal | None = None  # USD, with a model's price
    per_session: Decimal | None = None  # USD, with the LLM calls a session makes


@dataclass(frozen=True)
class Pricing:
    """How to price the token tax: a model (priced by the price file, else genai-prices) and how many
    LLM calls a session makes."""

    book: PriceBook
    model: str
    llm_calls: int | None = None

    def input_cost(self, tokens: int) -> Decimal:
        """The price of ``tokens`` more input tokens in one call to the model."""
        from mcpobs.cost import Tokens

        price = self.book.price(None, [self.model], Tokens(input=tokens), datetime.now(UTC))
        if price is None:
            raise UsageError(f"--model {self.model}: no price for it in genai-prices or the price file")
        return price.usd


def token_tax(definitions: Iterable[Definition], pricing: Pricing | None = None) -> list[Tax]:
    """Per server and revision: its tools, and the tokens (and with ``pricing`` the cost) they add to
    every LLM request. A tool seen in several versions counts in its last."""
    last: dict[tuple[str, str], dict[str, Definition]] = {}
    for d in definitions:
        tools = last.setdefault((d.server, d.protocol), {})
        if d.kind == "tool":
            tools[d.name] = d
    taxes = []
    for (server, protocol), tools in sorted(last.items()):
        tokens = sum(d.tokens for d in tools.values())
        per_call = pricing.input_cost(tokens) if pricing is not None else None
        calls = pricing.llm_calls if pricing is not None else None
        per_session = per_call * calls if per_call is not None and calls is not None else None
        taxes.append(Tax(server, protocol, len(tools), tokens, per_call, per_session))
    return taxes
