"""Each tool call's arguments: their shape, and whether they validate against the inputSchema its server
advertised; and each successful call's result against the tool's outputSchema.

A call's arguments are its span's ``gen_ai.tool.call.arguments`` (or ``mcp.tool.arguments``), else the
request Logfire (``request``) or OpenLLMetry (``traceloop.entity.input``) hold whole: every recording
has them (a recorded request that sent none is checked as ``{}``, as a server reads it), traces only
where the instrumentation records them. A call without them is *not recorded*: neither shaped nor
checked, never counted valid. Its result is its ``structuredContent``: a recording's own attribute
(:data:`mcpobs.eventlog.otlp.STRUCTURED_KEY`), else the whole result Logfire (``response``) or the
conventions' ``gen_ai.tool.call.result`` hold.

Its schemas are the ``inputSchema`` and ``outputSchema`` of the tool of that name in a ``tools/list``
result of the same server (:func:`mcpobs.catalog.definitions.advertised`: recordings always hold the
results, spans where the instrumentation records them): in the same session, the last one answered
before the call started, else the first after it; else the same in the same file. A call with no such
schema is not checked. Schemas are JSON Schema 2020-12 unless their ``$schema`` names another draft
(2020-12 is MCP's default dialect; 2026-07-28 allows its whole vocabulary, and structured content of
any JSON type); a ``$ref`` resolves within the schema only, nothing is fetched.

:func:`build` writes one row per tool call to the temporary table ``argument_checks``, which the
argument sections (:mod:`mcpobs.analysis.arguments`) join to the calls.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import jsonschema
import referencing.exceptions
from jsonschema.exceptions import best_match

from mcpobs.catalog.definitions import Advertised, Definition, advertised, canonical
from mcpobs.eventlog.otlp import SCOPE as EVENT_LOG_SCOPE
from mcpobs.eventlog.otlp import STRUCTURED_KEY
from mcpobs.eventlog.redact import REDACTED
from mcpobs.ingest.dialects import ATTRIBUTE_KEYS

if TYPE_CHECKING:
    from mcpobs.analysis.sql import Calls
    from mcpobs.store import Store

TABLE = "argument_checks"
# the shape of a recorded call that sent no arguments, and what the invalid listing shows as its arguments
NO_ARGUMENTS = "(none sent)"
SHOWN = 200  # characters of an invalid call's arguments the listing keeps
_SCHEMAS = ("inputSchema", "outputSchema")

_CALLS = """
SELECT c.trace_id, c.span_id, c.source_id, c.session, c.server, c.tool, c.start_ns,
    list_filter(s.attributes, lambda a: list_contains($arguments, a.key))[1].value.stringValue,
    list_filter(s.attributes, lambda a: list_contains($requests, a.key))[1].value.stringValue,
    coalesce(s.scope_name = $recording, false),
    c.succeeded,
    list_filter(s.attributes, lambda a: a.key = $structured)[1].value.stringValue,
    list_filter(s.attributes, lambda a: list_contains($results, a.key))[1].value.stringValue
FROM mcp_calls c
JOIN spans s ON s.source_id = c.source_id AND s.trace_id = c.trace_id AND s.span_id = c.span_id
WHERE c.method = 'tools/call' AND NOT c.is_notification
"""
# Span attributes holding a call's whole request as JSON: Logfire's (``{"method", "params"}``) and
# OpenLLMetry's (that, or ``{"tool_name", "arguments"}`` on its tool spans).
_REQUEST_KEYS = (*ATTRIBUTE_KEYS["logfire_request"], *ATTRIBUTE_KEYS["traceloop_input"])
# Span attributes holding a call's whole result as JSON: Logfire's, and the conventions' opt-in one.
_RESULT_KEYS = (*ATTRIBUTE_KEYS["logfire_response"], "gen_ai.tool.call.result")


class _NoneSent:
    """The arguments of a recorded request that sent none."""


NONE_SENT = _NoneSent()


def recorded_arguments(attribute: str | None, request: str | None, recording: bool) -> Any:
    """A call's arguments, parsed, from its span: the arguments attribute, else the request a Logfire
    or OpenLLMetry span holds whole; :data:`NONE_SENT` where the request (a recording's, or one held
    whole) sent none; None where they are not recorded. Raises ValueError for text not whole JSON."""
    if attribute is not None:
        sent = json.loads(attribute)
        # null arguments were sent (a recording writes the attribute only where the request has the
        # key); a server reads them as none, as the whole-request path below does
        return NONE_SENT if sent is None else sent
    if request is not None:
        held = json.loads(request)
        if isinstance(held, dict) and isinstance(held.get("params"), dict):
            held = held["params"]
        elif not (isinstance(held, dict) and "tool_name" in held):
            return None
        arguments = held.get("arguments")
        return NONE_SENT if arguments is None else arguments
    return NONE_SENT if recording else None


def json_type(value: Any) -> str:
    """The JSON Schema type of a parsed JSON value (an integral number is an integer)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape_of(arguments: Any) -> str:
    """The keys of an arguments object with their JSON types, sorted: ``city: string, days: integer``;
    ``{}`` for an empty object, and the type for what is no object."""
    if not isinstance(arguments, dict):
        return f"({json_type(arguments)}, not an object)"
    if not arguments:
        return "{}"
    return ", ".join(
        f"{key}: {'redacted' if isinstance(value, str) and _redacted(value) else json_type(value)}"
        for key, value in sorted(arguments.items())
    )


@dataclass(frozen=True)
class Verdict:
    """What became of one call's arguments."""

    recorded: bool
    shape: str | None = None
    checked: bool = False
    error: str | None = None  # why they do not validate: the first error, at its JSON path
    redacted: bool = False  # not checked: the verdict rests on values the recorder redacted


class Schemas:
    """The tools' input schemas as advertised, found for a call by server, tool, session and file."""

    def __init__(self, advertised: Iterable[Advertised]) -> None:
        by_session: dict[tuple[str, str, str], list[tuple[int, Definition]]] = defaultdict(list)
        by_file: dict[tuple[str, str, int], list[tuple[int, Definition]]] = defaultdict(list)
        advertised = list(advertised)
        # one list answer naming a tool more than once, differently: which one the server uses is
        # unknown, so none is checked against (its schemas left out); (server, tool) -> how many times
        answers: dict[tuple[str, str, str, int, int], list[Definition]] = defaultdict(list)
        for a in advertised:
            answers[(a.definition.server, a.definition.name, a.session, a.source_id, a.end_ns)].append(a.definition)
        self.ambiguous: dict[tuple[str, str], int] = {}
        self._ambiguous: set[int] = set()  # ids of the definitions without their schemas
        stripped: dict[tuple[str, str, str, int, int], Definition] = {}
        for key, listed in answers.items():
            if len({canonical(d.body) for d in listed}) > 1:
                server, name = key[:2]
                self.ambiguous[(server, name)] = max(self.ambiguous.get((server, name), 0), len(listed))
                d = listed[-1]
                stripped[key] = replace(d, body={k: v for k, v in d.body.items() if k not in _SCHEMAS})
                self._ambiguous.add(id(stripped[key]))
        for a in advertised:
            d = stripped.get((a.definition.server, a.definition.name, a.session, a.source_id, a.end_ns), a.definition)
            by_session[(d.server, d.name, a.session)].append((a.end_ns, d))
            by_file[(d.server, d.name, a.source_id)].append((a.end_ns, d))
        # each list's answer times, sorted, and the definitions in that order
        self._by_session = {key: _sorted(answers) for key, answers in by_session.items()}
        self._by_file = {key: _sorted(answers) for key, answers in by_file.items()}
        self._listed = {(server, where) for server, _, where in (*by_session, *by_file)}

    def is_ambiguous(self, definition: Definition) -> bool:
        """Whether ``definition`` stands for a tool its list answer advertised more than once, differently."""
        return id(definition) in self._ambiguous

    def listed(self, server: str, session: str, source_id: int) -> bool:
        """Whether a tools/list result of ``server`` is in the session or the file (of any tool)."""
        return (server, session) in self._listed or (server, source_id) in self._listed

    def find(self, server: str, tool: str, session: str, source_id: int, start_ns: int) -> Definition | None:
        """The definition in force when the call started (see the module's docstring)."""
        for found in (self._by_session.get((server, tool, session)), self._by_file.get((server, tool, source_id))):
            if found:
                times, definitions = found
                before = bisect.bisect_right(times, start_ns)
                return definitions[before - 1] if before else definitions[0]
        return None


def _sorted(answers: list[tuple[int, Definition]]) -> tuple[list[int], list[Definition]]:
    answers.sort(key=lambda answer: answer[0])
    return [t for t, _ in answers], [d for _, d in answers]


class Validators:
    """One validator per distinct schema, and one verdict per distinct schema and instance."""

    def __init__(self) -> None:
        self._validators: dict[str, jsonschema.protocols.Validator | str] = {}
        self._errors: dict[tuple[str, str], str | None] = {}
        # (server, tool, inputSchema or outputSchema) -> why the schema is unusable
        self.invalid_schemas: dict[tuple[str, str, str], str] = {}

    def error(self, definition: Definition, schema: Any, instance: Any, which: str = "inputSchema") -> str | None:
        """Why ``instance`` does not validate against ``schema`` (None: it does); raises
        :class:`UnusableSchema` for a schema that is no JSON Schema."""
        text = canonical(schema)
        validator = self._validators.get(text)
        if validator is None:
            validator = self._validators[text] = _validator(schema)
        if isinstance(validator, str):
            self.invalid_schemas[(definition.server, definition.name, which)] = validator
            raise UnusableSchema(validator)
        cache = (text, canonical(instance))
        if cache not in self._errors:
            try:
                errors = list(validator.iter_errors(instance))
                found = best_match(e for e in errors if not _about_redacted(e))
            except referencing.exceptions.Unresolvable as e:
                # a $ref to another document (never fetched) or to nothing in this one
                why = f"a $ref that does not resolve within it: {e}"
                self._validators[text] = self.invalid_schemas[(definition.server, definition.name, which)] = why
                raise UnusableSchema(why) from None
            if found is None and errors:
                # every error judges a value the recorder redacted: what was sent is unknown
                self._errors[cache] = REDACTED_ONLY
            else:
                self._errors[cache] = None if found is None else f"{found.json_path}: {found.message}"
        error = self._errors[cache]
        if error is REDACTED_ONLY:
            raise Unjudged(error)
        return error


# what a recorder's redaction leaves of a value: REDACTED, or SESSION_DIGEST's "[REDACTED:sha256:…]"
_REDACTED_PREFIX = REDACTED.removesuffix("]")
# keywords that judge an object's or array's keys or size, which redaction leaves as they were sent
_STRUCTURE_KEYWORDS = frozenset(
    {
        "required",
        "additionalProperties",
        "unevaluatedProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "dependentRequired",
        "minItems",
        "maxItems",
    }
)


def _redacted(value: Any) -> bool:
    """Whether ``value`` is, or holds, what redaction put in place of a value."""
    if isinstance(value, str):
        return value.startswith(_REDACTED_PREFIX)
    if isinstance(value, dict):
        return any(_redacted(v) for v in value.values())
    if isinstance(value, list):
        return any(_redacted(v) for v in value)
    return False


def _about_redacted(error: jsonschema.ValidationError) -> bool:
    """Whether ``error`` judges a value the recorder redacted: the value sent is unknown, so is its verdict."""
    return error.validator not in _STRUCTURE_KEYWORDS and _redacted(error.instance)


REDACTED_ONLY = "its only errors are on values the recorder redacted"


class Unjudged(Exception):
    """Arguments (or a result) whose verdict rests on values the recorder redacted: not checked."""


class UnusableSchema(Exception):
    """A schema no validator can use (not JSON Schema, a reference that does not resolve)."""


def _validator(schema: Any) -> jsonschema.protocols.Validator | str:
    """A validator for ``schema`` in its dialect (2020-12 unless ``$schema`` says otherwise), or why none."""
    if not isinstance(schema, dict):
        return f"a JSON {json_type(schema)}, not an object"
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        return f"{e.json_path}: {e.message}"
    return cls(schema)


def recorded_result(structured: str | None, result: str | None, recording: bool) -> Any:
    """A call's ``structuredContent``, parsed, from its span: a recording's own attribute, else the whole
    result Logfire or the conventions hold; :data:`NONE_SENT` where the result is recorded and has none;
    None where it is not recorded. Raises ValueError for text not whole JSON."""
    if structured is not None:
        return json.loads(structured)
    if result is not None:
        held = json.loads(result)
        if isinstance(held, dict) and isinstance(held.get("result"), dict):
            held = held["result"]  # a whole JSON-RPC response
        if isinstance(held, dict) and ("content" in held or "structuredContent" in held):
            content = held.get("structuredContent")
            return NONE_SENT if content is None else content
        return None
    return NONE_SENT if recording else None


def result_error(result: Any, definition: Definition | None, checks: Validators) -> tuple[bool, str | None]:
    """Whether a successful call's result (:func:`recorded_result`) was checked against its tool's
    ``outputSchema``, and why it does not validate (None: it does). A tool that advertises one must
    answer structured content that conforms to it."""
    schema = definition.body.get("outputSchema") if definition is not None else None
    if definition is None or schema is None or result is None:
        return False, None
    if result is NONE_SENT:
        return True, "no structuredContent, though the tool advertises an outputSchema"
    try:
        return True, checks.error(definition, schema, result, "outputSchema")
    except (UnusableSchema, Unjudged):
        return False, None


def verdict(arguments: Any, definition: Definition | None, checks: Validators) -> Verdict:
    """The verdict on one call's arguments (:func:`recorded_arguments`: None where not recorded) against
    ``definition``'s inputSchema. A request that sent no arguments is checked as ``{}``, as a server reads it."""
    if arguments is None:
        return Verdict(recorded=False)
    instance = {} if arguments is NONE_SENT else arguments
    shape = NO_ARGUMENTS if arguments is NONE_SENT else shape_of(instance)
    schema = definition.body.get("inputSchema") if definition is not None else None
    if definition is None or schema is None:
        return Verdict(recorded=True, shape=shape)
    try:
        error = checks.error(definition, schema, instance)
    except UnusableSchema:
        return Verdict(recorded=True, shape=shape)
    except Unjudged:
        return Verdict(recorded=True, shape=shape, redacted=True)
    return Verdict(recorded=True, shape=shape, checked=True, error=error)


def build(store: Calls, advertised: Iterable[Advertised]) -> list[str]:
    """Check every tool call's arguments in ``store`` against the schemas ``advertised``, into the
    temporary table ``argument_checks``; the notes on what could not be checked, and why. On DuckDB or
    ClickHouse alike: only the reading of the calls and the writing of the table differ
    (:mod:`mcpobs.clickhouse.arguments` on ClickHouse)."""
    from mcpobs.store import Store

    schemas = Schemas(advertised)
    checks = Validators()
    params = {
        "arguments": list(ATTRIBUTE_KEYS["arguments"]),
        "requests": list(_REQUEST_KEYS),
        "structured": STRUCTURED_KEY,
        "results": list(_RESULT_KEYS),
        "recording": EVENT_LOG_SCOPE,
    }
    rows: Sequence[tuple[Any, ...]]
    if isinstance(store, Store):
        rows = store.con.execute(_CALLS, params).fetchall()
    else:
        from mcpobs.clickhouse import ClickHouseTraces
        from mcpobs.clickhouse.arguments import tool_calls

        assert isinstance(store, ClickHouseTraces)
        rows = tool_calls(store, params)
    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            *("trace_id", "span_id", "source_id", "recorded", "shape", "checked", "error", "arguments"),
            *("result_checked", "result_error", "result"),
        )
    }
    unrecorded = unreadable = unchecked = unlisted = unrecorded_results = redacted = 0
    for row in rows:
        trace_id, span_id, source_id, session, server, tool, start_ns, attribute, request, recording = row[:10]
        succeeded, structured, whole_result = row[10:]
        try:
            arguments = recorded_arguments(attribute, request, recording)
        except ValueError:
            unreadable += 1
            arguments = None
        else:
            unrecorded += arguments is None
        definition = schemas.find(server, tool, session, source_id, start_ns) if tool is not None else None
        v = verdict(arguments, definition, checks)
        redacted += v.redacted
        if v.recorded and definition is None and schemas.listed(server, session, source_id):
            unlisted += 1
        elif v.recorded and (definition is None or "inputSchema" not in definition.body):
            unchecked += definition is None or not schemas.is_ambiguous(definition)  # that one has its own note
        shown = None
        if v.error is not None:
            # a request that sent no arguments says so: an empty cell reads as arguments not recorded
            shown = (
                NO_ARGUMENTS
                if arguments is NONE_SENT
                else _cut(json.dumps(arguments, sort_keys=True, ensure_ascii=False))
            )
        result_checked, why, result = False, None, None
        if succeeded:
            try:
                result = recorded_result(structured, whole_result, recording)
            except ValueError:
                result = None  # cut short by the exporter: not recorded
            result_checked, why = result_error(result, definition, checks)
            unrecorded_results += result is None and definition is not None and "outputSchema" in definition.body
        shown_result = None
        if why is not None and result is not NONE_SENT:  # none: its error says "no structuredContent"
            shown_result = _cut(json.dumps(result, sort_keys=True, ensure_ascii=False))
        for name, value in (
            ("trace_id", trace_id),
            ("span_id", span_id),
            ("source_id", source_id),
            ("recorded", v.recorded),
            ("shape", v.shape),
            ("checked", v.checked),
            ("error", v.error),
            ("arguments", shown),
            ("result_checked", result_checked),
            ("result_error", why),
            ("result", shown_result),
        ):
            columns[name].append(value)
    if isinstance(store, Store):
        _write(store, columns)
    else:
        from mcpobs.clickhouse.arguments import write_checks

        write_checks(store, TABLE, columns)
    notes = _notes(len(rows), unrecorded, unreadable, unchecked, unlisted, checks.invalid_schemas)
    for (server, tool), times in sorted(schemas.ambiguous.items()):
        notes.append(
            f"{server} tool {tool}: advertised {times} times in one tools/list answer, with different definitions: "
            "its calls not checked (which one the server uses is unknown)"
        )
    if redacted:
        notes.append(
            f"{redacted} tool calls' arguments hold values the recorder redacted where the inputSchema judges "
            "them: not checked (record with --no-redact to check them)"
        )
    if unrecorded_results:
        notes.append(
            f"{unrecorded_results} successful calls to tools with an outputSchema have no result recorded: "
            "their results not checked"
        )
    return notes


def _write(store: Store, columns: dict[str, list[Any]]) -> None:
    """The verdicts as the DuckDB store's temporary table ``argument_checks``."""
    import pyarrow as pa

    types = {"source_id": pa.int32(), "recorded": pa.bool_(), "checked": pa.bool_(), "result_checked": pa.bool_()}
    table = pa.table({name: pa.array(values, types.get(name, pa.string())) for name, values in columns.items()})
    store.con.register("argument_checks_arrow", table)
    try:
        store.con.execute(f"CREATE OR REPLACE TEMP TABLE {TABLE} AS SELECT * FROM argument_checks_arrow")
    finally:
        store.con.unregister("argument_checks_arrow")


def _cut(arguments: str) -> str:
    return arguments if len(arguments) <= SHOWN else arguments[: SHOWN - 1] + "…"


def _notes(
    calls: int,
    unrecorded: int,
    unreadable: int,
    unchecked: int,
    unlisted: int,
    invalid: dict[tuple[str, str, str], str],
) -> list[str]:
    notes = []
    if unrecorded:
        notes.append(
            f"{unrecorded} of {calls} tool calls have no arguments recorded (traces hold them only where the "
            "instrumentation records the opt-in gen_ai.tool.call.arguments): not recorded, not checked"
        )
    if unreadable:
        notes.append(f"{unreadable} tool calls' arguments are not whole JSON (cut short by the exporter?): not checked")
    if unchecked:
        notes.append(
            f"{unchecked} tool calls' arguments were not checked: no inputSchema of their tool in a tools/list result "
            "of their session or file (the client listed the tools before, or cached the list, as 2026-07-28's ttlMs "
            "allows; spans hold results only where the instrumentation records them)"
        )
    if unlisted:
        notes.append(
            f"{unlisted} tool calls name a tool their server's tools/list results in their session or file did "
            "not advertise (an invented tool, or one on a page the client did not list): not checked"
        )
    for (server, tool, which), why in sorted(invalid.items()):
        notes.append(f"{server} tool {tool}: its {which} is no valid JSON Schema ({why}): not checked against it")
    return notes


def check_store(store: Calls) -> list[str]:
    """Check every tool call's arguments in ``store`` against the tools its list results advertised
    (:func:`build`); the notes on what could not be read or checked."""
    found, notes = advertised(store, ("tool",))
    return notes + build(store, found)
