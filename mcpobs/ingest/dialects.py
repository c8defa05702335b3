"""Span dialects: how each MCP instrumentation names things, and the SQL that unifies them.

Every producer of MCP spans says the same things in its own words. The table
below maps each derived column of ``spans`` to the attribute keys that carry it,
first match wins; the expressions after it handle what only a span name or kind
says. Sources, checked by running each producer (see ``docs/dialects.md``):

- OpenTelemetry MCP semantic conventions: ``{mcp.method.name} {target}``,
  kind CLIENT/SERVER, ``error.type``.
- mcp Python SDK 2.x: SERVER spans as the conventions; CLIENT spans
  ``MCP send {method} {target}`` carrying only ``mcp.method.name`` and
  ``jsonrpc.request.id``.
- OpenLLMetry (traceloop): ``{tool}.tool`` and ``{method}.mcp`` spans with
  ``traceloop.*`` attributes.
  Every span is INTERNAL; the client's ``{method}.mcp`` and ``{tool}.tool``
  spans carry the request as JSON in ``traceloop.entity.input``; the server's
  (with the ``fastmcp`` package) have ``traceloop.workflow.name``.
- Pydantic Logfire: ``MCP request: {method} [{tool}]`` (client, ``rpc.method``)
  and ``MCP server handle request: {method}`` (server), all INTERNAL, with the
  request and response as JSON in ``request`` and ``response``; a failure may
  show only in the response (``code``, ``isError``).
- Sentry: server spans ``{method} {target}`` of op ``mcp.server`` with
  ``mcp.method.name``, ``mcp.tool.name``, ``mcp.request.id``, ``mcp.session.id``;
  older releases ``mcp.request_id``, ``mcp.session_id``, ``mcp.tool.result.is_error``.
- Proxies (ToolHive): span ``mcp.{method}`` with ``http.*`` attributes and the older
  ``mcp.method``, ``mcp.request.id``, ``mcp.resource.id``, ``mcp.tool.arguments``.
- mcpobs's own spans of an event log: the conventions' CLIENT spans; a 2026-07-28
  multi round-trip call is one span with ``mcpobs.rounds`` and a link to each
  round's own client span, which then counts as a round, not a call
  (:func:`mcpobs.ingest.link_rounds`).

A span is an MCP call only on MCP evidence (:func:`method_sql`): gRPC, HTTP and
database spans in the same traces are not calls, whatever their ``rpc.method``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mcpobs.sqlengine import DUCKDB, Engine
from mcpobs.sqlengine import quote as _quote
from mcpobs.store import TO_CLIENT_METHODS

# Derived column -> attribute keys, in order of preference.
ATTRIBUTE_KEYS: dict[str, tuple[str, ...]] = {
    "mcp_method": ("mcp.method.name", "mcp.method"),
    # every RPC system's method (gRPC's too): a call's method only on MCP evidence, see method_sql
    "rpc_method": ("rpc.method",),
    "tool": ("gen_ai.tool.name", "mcp.tool.name"),
    "prompt": ("gen_ai.prompt.name", "mcp.prompt.name"),
    "resource_uri": ("mcp.resource.uri", "mcp.resource.id"),
    "mcp_session_id": ("mcp.session.id", "mcp.session_id"),
    "arguments": ("gen_ai.tool.call.arguments", "mcp.tool.arguments"),
    "tool_result_is_error": ("mcp.tool.result.is_error",),
    "traceloop_input": ("traceloop.entity.input",),
    "traceloop_workflow": ("traceloop.workflow.name",),
    "sentry_op": ("sentry.op",),
    "logfire_request": ("request",),
    "logfire_response": ("response",),
    "jsonrpc_request_id": ("jsonrpc.request.id", "rpc.jsonrpc.request_id", "mcp.request.id", "mcp.request_id"),
    "mcp_protocol_version": ("mcp.protocol.version",),
    "network_transport": ("network.transport", "mcp.transport"),
    "server_address": ("server.address", "net.peer.name"),
    "server_port": ("server.port", "net.peer.port"),
    "error_type": ("error.type", "rpc.jsonrpc.error_code"),
    # the JSON-RPC error code, also where a server span that follows the conventions sets no error.type
    "rpc_status_code": ("rpc.response.status_code",),
    "gen_ai_operation": ("gen_ai.operation.name",),
    "gen_ai_provider": ("gen_ai.provider.name", "gen_ai.system"),
    "gen_ai_request_model": ("gen_ai.request.model", "llm.request.model"),
    "gen_ai_response_model": ("gen_ai.response.model", "llm.response.model", "llm.model_name"),
    # how many requests a 2026-07-28 multi round-trip call took (mcpobs's own spans of an event log)
    "rounds": ("mcpobs.rounds",),
    # OTel's HTTP conventions, and their names before 1.21
    "http_status": ("http.response.status_code", "http.status_code"),
}
# The challenge of a refused HTTP request: OTel's `http.response.header.<key>` is a string array.
CHALLENGE_KEY = "http.response.header.www-authenticate"

# One vocabulary for the transport, the conventions' `network.transport` (`pipe` for stdio, `tcp` for
# HTTP): Sentry's and ToolHive's `mcp.transport` names the MCP transport instead.
TRANSPORTS = {
    "stdio": "pipe",
    "http": "tcp",
    "https": "tcp",
    "streamable-http": "tcp",
    "streamable_http": "tcp",
    "streamablehttp": "tcp",
    "sse": "tcp",
}

# Token counts: the current GenAI conventions, then the older names producers still write.
TOKEN_KEYS: dict[str, tuple[str, ...]] = {
    "input_tokens": (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
    ),
    "output_tokens": (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    ),
    "cache_read_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read",
    ),
    "cache_creation_tokens": (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "gen_ai.usage.cache_write.input_tokens",  # the anthropic SDK's own spans (2.x)
        "llm.token_count.prompt_details.cache_write",
    ),
    "reasoning_tokens": (
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.usage.reasoning_tokens",
        "llm.token_count.completion_details.reasoning",
    ),
}

# Operations of a GenAI span that is one call to a model, priced or not.
MODEL_CALL_OPERATIONS = ("chat", "text_completion", "generate_content", "completion", "embeddings")


# An LLM call, over `spans AS s`: a span with token usage, or a model and a model-call operation
# (or a token attribute, even one that is no number). Parameters: LLM_CALL_PARAMETERS.
def llm_call(engine: Engine = DUCKDB) -> str:
    """SQL: whether span ``s`` is an LLM call, on ``engine``."""
    return f"""(coalesce(s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_creation_tokens,
        s.reasoning_tokens) IS NOT NULL
    OR (coalesce(s.gen_ai_response_model, s.gen_ai_request_model) IS NOT NULL
        AND ({engine.list_has("llm_operations", "s.gen_ai_operation")}
            OR {engine.has_key_in("s.attributes", "llm_token_keys")})))"""


LLM_CALL = llm_call()
LLM_CALL_PARAMETERS: dict[str, list[str]] = {
    "llm_token_keys": [key for names in TOKEN_KEYS.values() for key in names],
    "llm_operations": list(MODEL_CALL_OPERATIONS),
}

# Span events that mark the first part of an answer reaching the caller.
FIRST_RESPONSE_EVENTS = ("notifications/progress", "mcp.progress", "progress", "first_response")


def value_text(value: str) -> str:
    """SQL for an OTLP AnyValue (the SQL ``value``) as text: its string, integer, boolean or double."""
    return (
        # intValue through HUGEINT: text that is no integer fails the load, as validate says
        f"coalesce({value}.stringValue, CAST(CAST({value}.intValue AS HUGEINT) AS VARCHAR), "
        f"CAST({value}.boolValue AS VARCHAR), CAST({value}.doubleValue AS VARCHAR))"
    )


def attribute_values(attrs: str) -> str:
    """SQL for the list of a span's attribute values as text, parallel to its keys."""
    return f"list_transform({attrs}, lambda a: {value_text('a.value')})"


def attribute_text(values: str, keys: str, names: Sequence[str], engine: Engine = DUCKDB) -> str:
    """SQL for the first of ``names`` present among a span's attributes, as text.

    ``keys`` and ``values`` are the SQL of the span's attribute keys and their
    text (:func:`attribute_values`), computed once per span; on ClickHouse ``keys`` is the attribute map.
    """
    parts = [engine.attribute(values, keys, name) for name in names]
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


# The methods of the MCP specification (2024-11-05 to 2026-07-28), as mcp_types 2.3 lists them;
# every `notifications/…` method besides.
MCP_METHODS = (
    "initialize", "ping", "server/discover", "subscriptions/listen",
    "tools/list", "tools/call", "prompts/list", "prompts/get",
    "resources/list", "resources/templates/list", "resources/read", "resources/subscribe", "resources/unsubscribe",
    "completion/complete", "logging/setLevel", "sampling/createMessage", "elicitation/create", "roots/list",
    "tasks/get", "tasks/list", "tasks/result", "tasks/cancel",
)  # fmt: skip

# Instrumentation scopes that write MCP spans only, by their exact names in real producers' files
# (tests/data): the mcp SDK, FastMCP, Logfire's MCP, mcpobs's own spans of an event log. OpenLLMetry's
# MCP scopes all start with `opentelemetry.instrumentation.mcp`. A tracer named after its company's
# "mcp gateway" is no such scope: it may trace anything.
MCP_SCOPES = ("mcp-python-sdk", "fastmcp", "logfire.mcp", "mcpobs.eventlog")
_OPENLLMETRY_SCOPE = "opentelemetry.instrumentation.mcp"

# A method both MCP and the Language Server Protocol (also JSON-RPC) have: counted only with evidence
# beyond its name.
_SHARED_METHODS = ("initialize",)

# `mcp.*` keys a baggage span processor copies onto every span of a request, gRPC and HTTP spans too:
# no evidence that the span itself is MCP.
_COPIED_KEYS = ("mcp.session.id", "mcp.session_id")


def method_sql(
    method: str, rpc_method: str, rpc_system: str, keys: str, name: str, scope: str, engine: Engine = DUCKDB
) -> str:
    """SQL for a span's MCP method, NULL for a span that is no MCP call.

    A span is an MCP call only on MCP evidence: an MCP method attribute (``mcp.method.name``,
    ToolHive's older ``mcp.method``); else, on a span whose ``rpc.system`` is ``jsonrpc`` (or ``mcp``) or unset,
    an ``rpc.method`` that is a method of the MCP specification (``initialize``, LSP's too, only
    with other evidence: an MCP scope, or an ``mcp.*`` attribute not copied from baggage), or any
    ``rpc.method`` from a scope of :data:`MCP_SCOPES`; else a dialect's own span name (OpenLLMetry's
    ``{tool}.tool`` and ``{method}.mcp`` from its MCP scope, Logfire's
    ``MCP server handle request: {method}``, a proxy's ``mcp.{method}``). A gRPC ``GetFeature``,
    an HTTP ``GET``, a database ``SELECT`` or a language server's ``textDocument/hover`` is none of these.
    """
    e = engine
    notification = e.starts_with("{m}", "'notifications/'")
    listed = f"({{m}} IN ({', '.join(map(_quote, MCP_METHODS))}) OR {notification})"
    scopes = ", ".join(map(_quote, MCP_SCOPES))
    mcp_scope = f"({scope} IN ({scopes}) OR {e.starts_with(scope, _quote(_OPENLLMETRY_SCOPE))})"
    copied = ", ".join(map(_quote, _COPIED_KEYS))
    mcp_keys = e.any_key(keys, e.starts_with("k", "'mcp.'") + f" AND k NOT IN ({copied})")
    shared = f"{rpc_method} IN ({', '.join(map(_quote, _SHARED_METHODS))})"
    by_rpc = (
        f"CASE WHEN coalesce(lower({rpc_system}), 'jsonrpc') IN ('jsonrpc', 'mcp') AND ("
        f"({listed.format(m=rpc_method)} AND (NOT {shared} OR {mcp_scope} OR coalesce({mcp_keys}, false))) "
        f"OR {mcp_scope}) THEN {rpc_method} END"
    )
    after_prefix = e.substr(name, "5")
    mcp_prefix = "'mcp.'"
    return (
        f"coalesce({method}, {by_rpc}, "
        f"CASE WHEN {e.starts_with(scope, _quote(_OPENLLMETRY_SCOPE))} THEN CASE "
        f"WHEN {name} LIKE '%.tool' THEN 'tools/call' "
        f"WHEN {name} LIKE '%.mcp' AND {name} <> 'mcp.server' THEN {e.left(name, -4)} END END, "
        f"CASE WHEN {name} LIKE 'MCP server handle request: %' THEN {e.substr(name, '28')} "
        f"WHEN {e.starts_with(name, mcp_prefix)} AND {listed.format(m=after_prefix)} THEN {after_prefix} END)"
    )


def method_evidence_sql(keys: str, name: str, scope: str, engine: Engine = DUCKDB) -> str:
    """SQL: whether a span has what :func:`method_sql` needs to find a method at all (a method or RPC
    method attribute, OpenLLMetry's MCP scope, Logfire's or a proxy's span name): true wherever that method
    is not NULL, and cheap, so that a scan can pass over the spans with none before working the method out.
    ``keys`` is the SQL of the span's attribute keys (on ClickHouse the attribute map)."""
    e = engine
    names = ", ".join(map(_quote, (*ATTRIBUTE_KEYS["mcp_method"], *ATTRIBUTE_KEYS["rpc_method"])))
    return (
        f"({e.any_key(keys, f'k IN ({names})')} OR {e.starts_with(scope, _quote(_OPENLLMETRY_SCOPE))} "
        f"OR {e.starts_with(name, _quote('MCP server handle request: '))} OR {e.starts_with(name, _quote('mcp.'))})"
    )


def base_columns(values: str, keys: str, name: str, scope: str, engine: Engine = DUCKDB) -> dict[str, str]:
    """First stage: the attributes every later column reads, and the method.

    ``scope`` is the SQL of the instrumentation scope's name.
    """
    a = {col: attribute_text(values, keys, names, engine) for col, names in ATTRIBUTE_KEYS.items()}
    # Logfire's generic keys mean the request and response only on its MCP spans.
    for col in ("logfire_request", "logfire_response"):
        a[col] = f"CASE WHEN {scope} = 'logfire.mcp' THEN {a[col]} END"
    rpc_system = attribute_text(values, keys, ("rpc.system.name", "rpc.system"), engine)
    a["mcp_method"] = method_sql(a["mcp_method"], a["rpc_method"], rpc_system, keys, name, scope, engine)
    for col, names in TOKEN_KEYS.items():
        a[col] = engine.try_bigint(attribute_text(values, keys, names, engine))
    return a


def derived_columns(
    name: str, kind: str, status: str, events: str, attributes: str, engine: Engine = DUCKDB
) -> dict[str, str]:
    """Second stage: the derived columns of ``spans``, from the first stage's columns.

    The arguments name the SQL of the span's name, kind (0..5), status code (0..2), events and attributes.
    """
    # The target an attribute names, else the span name after its method:
    # `tools/call add`, `MCP send tools/call add`, `MCP request: tools/call add`, `add.tool`.
    e = engine
    bare_name = e.replace_first(name, "^(MCP send |MCP request: )", "")
    request = "coalesce(traceloop_input, logfire_request)"
    method_and_space = "mcp_method || ' '"
    target = (
        "coalesce(tool, prompt, resource_uri, "
        f"{e.json_text(request, 'params', 'name')}, {e.json_text(request, 'params', 'uri')}, "
        f"CASE WHEN {name} LIKE '%.tool' THEN {e.left(name, -5)} "
        f"WHEN {e.starts_with(bare_name, method_and_space)} "
        f"THEN nullif({e.substr(bare_name, e.length('mcp_method') + ' + 2')}, '') END)"
    )
    # Kind says the side where the producer sets it; OpenLLMetry, Logfire and
    # Sentry write INTERNAL spans, so their names and attributes say it instead.
    # The side is the MCP end that recorded the span: a request the MCP server sends
    # its client is a CLIENT span of the server's, a SERVER span of the client's.
    to_client = ", ".join(map(_quote, TO_CLIENT_METHODS))
    side = (
        f"CASE {kind} WHEN 2 THEN CASE WHEN mcp_method IN ({to_client}) THEN 'client' ELSE 'server' END "
        f"WHEN 3 THEN CASE WHEN mcp_method IN ({to_client}) THEN 'server' ELSE 'client' END ELSE CASE "
        f"WHEN sentry_op = 'mcp.server' OR {name} LIKE 'MCP server handle request: %' "
        f"OR (traceloop_workflow IS NOT NULL AND {name} LIKE '%.tool') THEN 'server' "
        f"WHEN {name} LIKE 'MCP request: %' OR {name} LIKE '%.tool' OR {name} LIKE '%.mcp' THEN 'client' "
        "ELSE 'unknown' END END"
    )
    first_response = e.first_event_ns(events, FIRST_RESPONSE_EVENTS)
    # A failed span with no error attribute: the type of the exception it recorded,
    # as the mcp SDK's client spans do for a timeout (`TimeoutError`).
    exception_type = e.exception_type(events)
    error_or_empty = "coalesce(error_type, '')"
    transports = " ".join(f"WHEN {_quote(name)} THEN {_quote(network)}" for name, network in TRANSPORTS.items())
    return {
        "mcp_method": "mcp_method",
        "mcp_target": f"CASE WHEN mcp_method IS NOT NULL THEN {target} END",
        "mcp_side": f"CASE WHEN mcp_method IS NOT NULL THEN {side} END",
        "mcp_session_id": "mcp_session_id",
        "jsonrpc_request_id": "jsonrpc_request_id",
        "mcp_protocol_version": "mcp_protocol_version",
        "network_transport": f"CASE lower(network_transport) {transports} ELSE lower(network_transport) END",
        "server_address": (
            "CASE WHEN server_port IS NULL THEN server_address ELSE server_address || ':' || server_port END"
        ),
        "error_type": (
            # the JSON-RPC code before an exception's name (`McpError`) in error.type: it says what failed
            f"coalesce(CASE WHEN {e.full_match('rpc_status_code', '-[0-9]+')} "
            f"AND NOT {e.full_match(error_or_empty, '-?[0-9]+')} THEN rpc_status_code END, error_type, "
            "CASE WHEN lower(tool_result_is_error) = 'true' THEN 'tool_error' END, "
            f"{e.json_text('logfire_response', 'code')}, "
            f"CASE WHEN {e.json_raw('logfire_response', 'isError')} = 'true' THEN 'tool_error' END, "
            # a Logfire server span with a request and no response: the handler never answered
            f"CASE WHEN logfire_request IS NOT NULL AND logfire_response IS NULL "
            f"AND {name} LIKE 'MCP server handle request: %' THEN 'cancelled' END, "
            f"CASE WHEN {status} = 2 THEN {exception_type} END)"
        ),
        # opt-in arguments tell a retry (same arguments) from a new call to the same tool
        "arguments_hash": f"CASE WHEN arguments IS NOT NULL THEN {e.hash('arguments')} END",
        "first_response_ns": first_response,
        "rounds": f"CASE WHEN mcp_method IS NOT NULL THEN coalesce({e.try_integer('rounds')}, 1) END",
        "http_status": e.try_integer("http_status"),
        "auth_challenge": (
            f"CASE WHEN {e.try_integer('http_status')} IN (401, 403) THEN "
            f"{e.first_string_of_array(attributes, CHALLENGE_KEY)} END"
        ),
        **{
            col: col
            for col in (
                "gen_ai_operation",
                "gen_ai_provider",
                "gen_ai_request_model",
                "gen_ai_response_model",
                *TOKEN_KEYS,
            )
        },
    }


# The error classes outcome_columns names, in its order (first match wins; the JSON-RPC code itself
# comes before other), with what each means: the list the column docs are made from.
ERROR_CLASSES = {
    "tool_error": "an isError result",
    "timeout": "-32001, HTTP 408, or an error saying it timed out",
    "cancelled": "-32800, or an error saying it was cancelled",
    "abandoned": "the server asked for input and the client never sent the request again",
    "not_logged": "an event log's call whose answer the recorder passed on unlogged: outcome unknown",
    "auth": "HTTP 401 or 403",
    "transport": "-32000 connection closed, connection and stream errors",
    "other": "any other error",
}


def outcome_columns(error_type: str, status: str, status_message: str, engine: Engine = DUCKDB) -> dict[str, str]:
    """Third stage: whether the call failed, and its error class (:data:`ERROR_CLASSES`, or the
    JSON-RPC code itself), from the second stage's error type."""
    e = engine
    return {
        "mcp_failed": f"coalesce({status} = 2, false) OR {error_type} IS NOT NULL",
        "error_class": f"""CASE
            WHEN {error_type} IS NULL AND {status} IS DISTINCT FROM 2 THEN NULL
            WHEN {error_type} = 'tool_error' THEN 'tool_error'
            WHEN {error_type} IN ('-32001', '408') OR {e.matches(error_type, "(?i)time.?out")}
                OR {e.matches(status_message, "(?i)timed? ?out")} THEN 'timeout'
            WHEN {error_type} = '-32800' OR {e.matches(error_type, "(?i)cancel")} THEN 'cancelled'
            WHEN {error_type} = 'abandoned' THEN 'abandoned'
            WHEN {error_type} = 'not_logged' THEN 'not_logged'
            WHEN {e.full_match(error_type, "(?i)(http )?40[13]")} THEN 'auth'
            WHEN {error_type} = '-32000'
                OR {e.matches(error_type, "(?i)connect|broken|closedresource|transport|eof|reset|refused")}
                THEN 'transport'
            WHEN {e.full_match(error_type, "-?[0-9]+")} THEN {error_type}
            ELSE 'other'
        END""",
    }


def approximate_size(name: str, keys: str, values: str, events: str, engine: Engine = DUCKDB) -> str:
    """SQL for about how many bytes a span takes as OTLP JSON: its name, attribute keys and values,
    and a fixed share for the ids, times, status and each attribute's and event's framing."""
    return engine.approximate_size(name, keys, values, events)


def keys(
    trace_id: str, session_id: str, side: str, method: str, target: str, arguments_hash: str, engine: Engine = DUCKDB
) -> dict[str, str]:
    """Hashes that sessions and retries group on: 64-bit integers group far faster than text.

    A session is ``mcp.session.id``, else the trace. A retry is a call of the same side, session,
    method and target, with the same arguments where they are recorded.
    """
    session = f"coalesce({session_id}, {trace_id})"
    return {
        "session_key": f"CASE WHEN {method} IS NOT NULL THEN {engine.hash(session)} END",
        "call_key": (
            f"CASE WHEN {method} IS NOT NULL THEN {engine.hash(side, session, method, target, arguments_hash)} END"
        ),
    }


def last_columns(
    derived: Iterable[str], trace_id: str, status: str, status_message: str, engine: Engine = DUCKDB
) -> dict[str, str]:
    """Third stage: the columns of ``spans`` past the first, over the second stage's selected as
    ``d_<column>`` (``derived``: the names of :func:`derived_columns`): those under their own names,
    then the call's outcome (:func:`outcome_columns`) and the keys it groups on (:func:`keys`).
    ``trace_id``, ``status`` and ``status_message`` name the SQL of the span's own."""
    columns = {column: f"d_{column}" for column in derived}
    columns.update(
        outcome_columns(error_type="d_error_type", status=status, status_message=status_message, engine=engine)
    )
    columns.update(
        keys(
            trace_id=trace_id,
            session_id="d_mcp_session_id",
            side="d_mcp_side",
            method="d_mcp_method",
            target="d_mcp_target",
            arguments_hash="d_arguments_hash",
            engine=engine,
        )
    )
    return columns


def richness(attributes: str, events: str, engine: Engine = DUCKDB) -> str:
    """SQL: how many attributes and events a span holds.

    Of two copies of one span (the same trace and span id) that say other things, the one that holds
    more stays (an exporter or a conversion that drops some, such as a recording's tools/list result,
    gives the poorer copy), else the one of the smaller :func:`content_hash`: as the store keeps one
    (:func:`mcpobs.ingest._resolve_conflicts`) and the ClickHouse model reads one
    (:data:`mcpobs.clickhouse.model.ONE_COPY`), whatever the order they came in.
    """
    return engine.item_count(attributes, events)


def content_hash(
    *,
    name: str,
    kind: str,
    start: str,
    end: str,
    status: str,
    status_message: str,
    attributes: str,
    events: str,
    service: str,
    scope: str,
    engine: Engine = DUCKDB,
) -> str:
    """SQL: a fingerprint of what a span says (not where it sits in its trace, which an event log's copy
    of a client's span lacks, nor its links, whose ids a protobuf JSON mapping writes in base64); its
    attributes and events in any order. ``end`` may be the duration.

    Each engine hashes its own values (ClickHouse's attributes are the exporter's text) with its own
    function: of two copies that hold as much, each engine keeps the same one whatever their order,
    not necessarily the same one as the other engine.
    """
    attribute_set, event_set = engine.unordered(attributes, events)
    return engine.hash(name, kind, start, end, status, status_message, attribute_set, event_set, service, scope)


def wraps_sql(wrapper: str, child: str) -> str:
    """SQL: span ``wrapper`` wraps span ``child`` (table aliases), an MCP span of the same call: its
    child of the same side and method, and target where both name one (see :func:`mcpobs.ingest._unwrap`)."""
    w, c = wrapper, child
    return (
        f"{c}.trace_id = {w}.trace_id AND {c}.parent_span_id = {w}.span_id "
        f"AND {c}.mcp_method = {w}.mcp_method AND {c}.mcp_side = {w}.mcp_side "
        f"AND ({c}.mcp_target IS NULL OR {w}.mcp_target IS NULL OR {c}.mcp_target = {w}.mcp_target)"
    )


def answers_sql(span: str) -> str:
    """SQL: span ``span`` (an alias) answers its parent, the client's call: a server's span with a parent."""
    return f"{span}.mcp_side = 'server' AND {span}.parent_span_id IS NOT NULL"


def peer_services_sql(spans: str) -> str:
    """SQL: per trace and parent span, the service of the MCP server spans answering it (the parent is
    the client's call); with the newest ``source_id`` among them."""
    return (
        "SELECT trace_id, parent_span_id, any_value(service_name) AS service_name, "
        f"max(source_id) AS source_id FROM {spans} WHERE {answers_sql(spans)} GROUP BY trace_id, parent_span_id"
    )
