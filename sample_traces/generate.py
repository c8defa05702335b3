#!/usr/bin/env python
"""Regenerate the bundled sample: ``sample_traces/mcp_agent_session.jsonl`` + ``expected.json``.

Nothing here is hand-typed telemetry. The script

* defines a small real MCP server (mcp SDK 2.3 ``MCPServer``) and runs it as a **stdio
  subprocess** of itself (``generate.py --serve SPANFILE``) with its own OpenTelemetry SDK
  (``service.name=toolbox-server``) writing OTLP JSON lines via ``FileSpanExporter``;
* drives it with the real ``mcp.Client`` (``service.name=weather-agent``), one server process
  and one root span ``invoke_agent weather-agent`` per agent session (a trace = a session);
* merges the client file and the server files into one OTLP JSON lines file (what a Collector
  receiving from both processes would write), lines ordered by their earliest span start;
* writes ``expected.json`` from its own bookkeeping of what it did (not from the output file),
  then re-reads the output with a tiny independent parser and fails if the two disagree.

The MCP spans are the SDK's own (tracer ``mcp-python-sdk``). The only spans/events added by this
script are the session root spans and ``notifications/progress`` span events (see
``_ProgressSpanCapture`` and ``summarize_repo``).

Run: ``python sample_traces/generate.py`` (about 10 s).
"""

from __future__ import annotations

import argparse
import contextvars
import itertools
import json
import logging
import random
import sys
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, MCPError, StdioServerParameters
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp_types import INVALID_PARAMS
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "data"))  # what the generators share
from _gen_common import merge

HERE = Path(__file__).resolve().parent
OUT = HERE / "mcp_agent_session.jsonl"
EXPECTED = HERE / "expected.json"

SEED = 20261123
CLIENT_SERVICE = "weather-agent"
SERVER_SERVICE = "toolbox-server"
MCP_TRACER = "mcp-python-sdk"  # the scope name the mcp SDK's spans carry
REQUEST_TIMEOUT = -32001  # mcp SDK: MCPError code raised on a client-side read timeout
SLOW_REPORT_SECONDS = 1.2  # generate_report runtime; the first attempt uses a 0.4 s timeout
SLOW_MS = 250  # search_docs calls at or above this on the server are "slow" by construction

# --------------------------------------------------------------------------------------------
# shared by server and client (the client uses these to know which calls are slow)
# --------------------------------------------------------------------------------------------

FILES = {
    "README.md": "# toolbox\nA demo repository.\n",
    "notes/itinerary.md": "Fri: train to Lyon\nSat: museum\nSun: back home\n",
    "src/app.py": "def main():\n    print('hello')\n",
    "docs/setup.md": "pip install toolbox\n",
}
TABLES = {"orders": 1284, "customers": 311, "events": 90210}


def search_delay_ms(query: str) -> int:
    """Deterministic server-side latency of search_docs: about one query in three is slow."""
    h = zlib.crc32(query.encode())
    return 300 + h % 150 if h % 3 == 0 else 15 + h % 30


# --------------------------------------------------------------------------------------------
# server (runs in the subprocess)
# --------------------------------------------------------------------------------------------


def serve(span_file: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": SERVER_SERVICE, "service.version": "0.3.1"}))
    provider.add_span_processor(BatchSpanProcessor(FileSpanExporter(span_file)))
    trace.set_tracer_provider(provider)

    srv = MCPServer("toolbox", version="0.3.1", log_level="WARNING")

    @srv.tool()
    async def search_docs(query: str, top_k: int = 3) -> list[str]:
        """Full-text search over the documentation (sometimes slow)."""
        await anyio.sleep(search_delay_ms(query) / 1000)
        return [f"docs/{query.split()[0].lower()}-{i}.md" for i in range(top_k)]

    @srv.tool()
    async def get_weather(city: str) -> dict[str, Any]:
        """Current weather for a city."""
        await anyio.sleep(0.005 + (zlib.crc32(city.encode()) % 20) / 1000)
        h = zlib.crc32(city.encode())
        return {"city": city, "temp_c": h % 30 - 2, "conditions": ["sunny", "cloudy", "rain"][h % 3]}

    @srv.tool()
    async def read_file(path: str) -> str:
        """Read a file from the workspace."""
        await anyio.sleep(0.002)
        if path not in FILES:
            raise ToolError(f"file not found: {path}")
        return FILES[path]

    @srv.tool()
    async def run_query(sql: str) -> dict[str, Any]:
        """Run a read-only SQL query against the analytics warehouse."""
        if not sql.lstrip().upper().startswith("SELECT"):
            # a protocol-level rejection: JSON-RPC error -32602, not an isError result
            raise MCPError(code=INVALID_PARAMS, message="run_query accepts SELECT statements only")
        await anyio.sleep(0.03)
        table = next((t for t in TABLES if t in sql), "orders")
        return {"table": table, "rows": TABLES[table]}

    @srv.tool()
    async def summarize_repo(repo: str, ctx: Context) -> str:
        """Summarise a repository, reporting progress while it works."""
        steps = ["cloning", "indexing", "reading", "summarising"]
        for i, step in enumerate(steps, 1):
            await ctx.report_progress(i, len(steps), step)
            # The server span is the current span inside a tool: record the progress there too.
            trace.get_current_span().add_event(
                "notifications/progress", {"progress": float(i), "total": float(len(steps)), "message": step}
            )
            await anyio.sleep(0.06)
        return f"{repo}: a small demo repository with {len(FILES)} files"

    @srv.tool()
    async def generate_report(quarter: str) -> str:
        """Build the quarterly report (slow)."""
        await anyio.sleep(SLOW_REPORT_SECONDS)
        return f"report for {quarter}: revenue up"

    @srv.prompt()
    def trip_brief(city: str) -> str:
        """Brief for planning a trip."""
        return f"Plan a weekend in {city}. Check the weather first."

    @srv.prompt()
    def code_review(language: str = "python") -> str:
        """Review instructions."""
        return f"Review the following {language} change for bugs and style."

    @srv.resource("docs://handbook/{section}")
    def handbook(section: str) -> str:
        """A section of the team handbook."""
        if section.startswith("archived"):
            raise ResourceError(f"handbook section {section!r} is archived")  # -> JSON-RPC -32603
        return f"Handbook section {section}: be kind, write tests."

    try:
        srv.run("stdio")
    finally:
        provider.shutdown()


# --------------------------------------------------------------------------------------------
# client (the "agent")
# --------------------------------------------------------------------------------------------

# Progress on the client: the SDK calls the progress callback in the context of the transport's
# reader task, where the current span is the session root span, not the `MCP send tools/call …`
# CLIENT span. So the span is captured when the SDK starts it: the caller sets a holder in a
# contextvar, and this processor (running synchronously in the calling task inside start_span)
# puts the first mcp-python-sdk CLIENT span started under it into the holder.
_capture_holder: contextvars.ContextVar[list[Span] | None] = contextvars.ContextVar("capture_holder", default=None)


class _ProgressSpanCapture(SpanProcessor):
    def on_start(self, span: Span, parent_context: Any = None) -> None:
        holder = _capture_holder.get()
        if (
            holder is not None
            and not holder
            and span.kind is SpanKind.CLIENT
            and span.instrumentation_scope is not None
            and span.instrumentation_scope.name == MCP_TRACER
        ):
            holder.append(span)

    def on_end(self, span: ReadableSpan) -> None:
        pass


@dataclass
class Call:
    session: int
    method: str
    target: str | None  # what the SDK puts after the method in the span name
    outcome: str | None  # None = success; "-32602", "tool_error", "timeout", ...
    arguments: dict[str, Any] | None = None
    implicit: bool = False  # sent by the SDK on its own (the output-schema tools/list)
    slow: bool = False
    progress_events: int = 0


@dataclass
class AgentSession:
    client: Any
    number: int
    mode: str
    calls: list[Call] = field(default_factory=list)
    tools_listed: bool = False

    def _add(self, method: str, target: str | None, outcome: str | None, **kw: Any) -> Call:
        call = Call(self.number, method, target, outcome, **kw)
        self.calls.append(call)
        return call

    async def list_tools(self) -> None:
        await self.client.list_tools()
        self.tools_listed = True
        self._add("tools/list", None, None)

    async def list_prompts(self) -> None:
        await self.client.list_prompts()
        self._add("prompts/list", None, None)

    async def tool(
        self, name: str, arguments: dict[str, Any], *, timeout: float | None = None, progress: bool = False
    ) -> str | None:
        holder: list[Span] = []
        events = 0

        async def on_progress(p: float, total: float | None, message: str | None) -> None:
            nonlocal events
            attrs: dict[str, Any] = {"progress": p}
            if total is not None:
                attrs["total"] = total
            if message is not None:
                attrs["message"] = message
            if holder and holder[0].is_recording():
                holder[0].add_event("notifications/progress", attrs)
                events += 1

        token = _capture_holder.set(holder)
        try:
            result = await self.client.call_tool(
                name,
                arguments,
                read_timeout_seconds=timeout,
                progress_callback=on_progress if progress else None,
            )
        except MCPError as exc:
            outcome: str | None = "timeout" if exc.code == REQUEST_TIMEOUT else str(exc.code)
        else:
            outcome = "tool_error" if result.is_error else None
        finally:
            _capture_holder.reset(token)
        slow = name == "generate_report" or (name == "search_docs" and search_delay_ms(arguments["query"]) >= SLOW_MS)
        self._add("tools/call", name, outcome, arguments=arguments, slow=slow, progress_events=events)
        # mcp 2.3: a successful (non-isError) call_tool validates the result against the tool's
        # output schema and, if the tool is not in the session's cache yet, sends tools/list first.
        if outcome is None and not self.tools_listed:
            self.tools_listed = True
            self._add("tools/list", None, None, implicit=True)
        return outcome

    async def prompt(self, name: str, arguments: dict[str, str]) -> None:
        await self.client.get_prompt(name, arguments)
        self._add("prompts/get", name, None, arguments=arguments)

    async def resource(self, uri: str) -> str | None:
        try:
            await self.client.read_resource(uri)
            outcome = None
        except MCPError as exc:
            outcome = str(exc.code)
        # The SDK's resources/read spans carry no target and no mcp.resource.uri.
        self._add("resources/read", None, outcome, arguments={"uri": uri})
        return outcome


CITIES = ["Lyon", "Oslo", "Lisbon", "Kyoto", "Denver", "Nairobi", "Porto", "Tallinn"]
QUERIES = [
    "rate limits for the weather api",
    "how to rotate api keys",
    "retry policy for tool calls",
    "architecture overview",
    "deploying the toolbox server",
    "timeout configuration",
    "schema of the orders table",
    "oauth setup for connectors",
    "pagination in tools/list",
    "changelog 0.3",
]


async def session_1(s: AgentSession, rng: random.Random) -> None:
    """Weekend trip planning. No explicit tools/list: the SDK sends one after the first success."""
    city = rng.choice(CITIES)
    await s.prompt("trip_brief", {"city": city})
    for c in [city, *rng.sample([x for x in CITIES if x != city], 2)]:
        await s.tool("get_weather", {"city": c})
    for q in rng.sample(QUERIES, 3):
        await s.tool("search_docs", {"query": q})
    await s.resource("docs://handbook/travel-policy")
    await s.tool("read_file", {"path": "notes/itinerary.md"})
    await s.tool("book_hotel", {"city": city, "nights": 2})  # not a tool of this server
    await s.tool("get_weather", {"city": city})


async def session_2(s: AgentSession, rng: random.Random) -> None:
    """Analytics question: protocol errors, a tool error and a progress-reporting tool."""
    await s.list_tools()
    await s.tool("run_query", {"sql": "SELECT count(*) FROM orders"})
    await s.tool("run_query", {"sql": "SELECT region, sum(total) FROM orders GROUP BY 1"})
    await s.tool("run_query", {"sql": "DELETE FROM events WHERE ts < now() - interval 90 day"})  # -32602
    await s.tool("run_query", {"sql": "SELECT count(*) FROM events"})
    for q in rng.sample(QUERIES, 2):
        await s.tool("search_docs", {"query": q})
    await s.tool("read_file", {"path": "src/config.yaml"})  # tool_error
    await s.tool("read_file", {"path": "src/app.py"})
    await s.tool("summarize_repo", {"repo": "acme/toolbox"}, progress=True)
    await s.resource("docs://handbook/archived-2019")  # ResourceError -> -32603
    await s.resource("docs://handbook/on-call")
    await s.tool("search_docs", {"query": rng.choice(QUERIES), "top_k": 5})


async def session_3(s: AgentSession, rng: random.Random) -> None:
    """Quarterly report over the 2025 handshake (mode="legacy"): a client-side timeout, then a retry."""
    await s.list_prompts()
    await s.prompt("code_review", {"language": "sql"})
    await s.list_tools()
    await s.tool("generate_report", {"quarter": "Q3"}, timeout=0.4)  # times out on the client
    await s.tool("generate_report", {"quarter": "Q3"}, timeout=5.0)  # same arguments: recovers
    for c in rng.sample(CITIES, 2):
        await s.tool("get_weather", {"city": c})
    for q in rng.sample(QUERIES, 2):
        await s.tool("search_docs", {"query": q})
    await s.tool("read_file", {"path": "docs/setup.md"})
    await s.tool("read_file", {"path": "docs/install.md"})  # tool_error


async def session_4(s: AgentSession, rng: random.Random) -> None:
    """Research session: lots of searches, a hallucinated tool, a retry that fails again."""
    await s.list_tools()
    for q in rng.sample(QUERIES, 4):
        await s.tool("search_docs", {"query": q})
    for c in rng.sample(CITIES, 3):
        await s.tool("get_weather", {"city": c})
    await s.tool("summarize_repo", {"repo": "acme/weather-agent"}, progress=True)
    await s.tool("run_query", {"sql": "UPDATE customers SET tier = 'gold'"})  # -32602
    await s.tool("read_file", {"path": "notes/todo.txt"})  # tool_error
    await s.tool("read_file", {"path": "notes/todo.txt"})  # same arguments, fails again
    await s.tool("get_forecast", {"city": "Oslo", "days": 3})  # not a tool of this server
    await s.tool("read_file", {"path": "README.md"})
    await s.prompt("trip_brief", {"city": rng.choice(CITIES)})


SESSIONS = [(session_1, "auto"), (session_2, "auto"), (session_3, "legacy"), (session_4, "auto")]


async def run_agent(tmp: Path) -> list[AgentSession]:
    tracer = trace.get_tracer("weather-agent")
    rng = random.Random(SEED)
    done: list[AgentSession] = []
    for number, (body, mode) in enumerate(SESSIONS, 1):
        params = StdioServerParameters(
            command=sys.executable,
            args=[str(Path(__file__).resolve()), "--serve", str(tmp / f"server-{number}.jsonl")],
        )
        attrs = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": CLIENT_SERVICE,
            "gen_ai.conversation.id": f"conv-{SEED}-{number}",
        }
        with tracer.start_as_current_span(f"invoke_agent {CLIENT_SERVICE}", kind=SpanKind.INTERNAL, attributes=attrs):
            async with Client(params, mode=mode) as client:
                s = AgentSession(client, number, mode)
                # server/discover (mode auto, 2026-07-28) or initialize (legacy, 2025-11-25)
                s._add("server/discover" if mode == "auto" else "initialize", None, None)
                await body(s, rng)
                s.protocol_version = client.protocol_version  # type: ignore[attr-defined]
        done.append(s)
    return done


# --------------------------------------------------------------------------------------------
# ground truth
# --------------------------------------------------------------------------------------------


def client_visible(outcome: str | None) -> str | None:
    """Error class a CLIENT span of mcp 2.3 shows for an outcome."""
    if outcome == "tool_error":
        return None  # client spans do not look at isError results: status UNSET, no error.type
    return outcome  # JSON-RPC code as error.type; timeout = status ERROR + exception event TimeoutError


def server_visible(outcome: str | None) -> str | None:
    """Error class a SERVER span of mcp 2.3 shows for an outcome."""
    if outcome == "timeout":
        return None  # the handler is cancelled by notifications/cancelled: span ends, status UNSET
    return outcome


def op_key(method: str, target: str | None) -> str:
    return f"{method} {target}" if target else method


def build_expected(sessions: list[AgentSession]) -> dict[str, Any]:
    client: dict[str, dict[str, Any]] = {}
    server: dict[str, dict[str, Any]] = {}
    outcomes: dict[str, dict[str, Any]] = {}

    def bump(table: dict[str, dict[str, Any]], c: Call, err: str | None) -> None:
        row = table.setdefault(
            op_key(c.method, c.target), {"method": c.method, "target": c.target, "calls": 0, "errors": {}}
        )
        row["calls"] += 1
        if err is not None:
            row["errors"][err] = row["errors"].get(err, 0) + 1

    calls = [c for s in sessions for c in s.calls]
    for c in calls:
        bump(client, c, client_visible(c.outcome))
        bump(server, c, server_visible(c.outcome))
        bump(outcomes, c, c.outcome)

    legacy = sum(1 for s in sessions if s.mode == "legacy")
    timeouts = sum(1 for c in calls if c.outcome == "timeout")
    orphans = {"notifications/initialized": legacy, "notifications/cancelled": timeouts}
    for method, n in orphans.items():
        if n:
            server[method] = {
                "method": method,
                "target": None,
                "calls": n,
                "errors": {},
                "orphan_root_spans": True,
            }

    def tools_only(table: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {
            r["target"]: {"calls": r["calls"], "errors": r["errors"]}
            for r in table.values()
            if r["method"] == "tools/call"
        }

    session_rows = []
    for s in sessions:
        session_rows.append(
            {
                "session": s.number,
                "root_span": f"invoke_agent {CLIENT_SERVICE}",
                "gen_ai.conversation.id": f"conv-{SEED}-{s.number}",
                "mode": s.mode,
                "protocol_version": s.protocol_version,  # type: ignore[attr-defined]
                "requests": len(s.calls),
                "tool_calls": sum(1 for c in s.calls if c.method == "tools/call"),
                # spans in this session's trace: root + one CLIENT and one SERVER span per request
                "spans_in_trace": 1 + 2 * len(s.calls),
                # server notification spans with no parent (each its own trace), caused by this session
                "orphan_server_spans": {
                    k: v
                    for k, v in {
                        "notifications/initialized": int(s.mode == "legacy"),
                        "notifications/cancelled": sum(1 for c in s.calls if c.outcome == "timeout"),
                    }.items()
                    if v
                },
                "outcome_errors": dict(Counter(c.outcome for c in s.calls if c.outcome)),
                "retries": _retries(s),
            }
        )

    n_client_requests = len(calls)
    n_server = n_client_requests + legacy + timeouts
    return {
        "about": (
            "Ground truth for mcp_agent_session.jsonl, from generate.py's own bookkeeping. "
            "'client'/'server': per operation (key = method + SDK target), the calls and the error classes "
            "that side's spans show. 'outcomes': what the client really got back. They differ because "
            "mcp 2.3 client spans ignore isError results (tool_error invisible client-side) and a server "
            "handler cancelled after a client timeout ends with status UNSET (invisible server-side)."
        ),
        "generator": {
            "mcp": _version("mcp"),
            "opentelemetry-sdk": _version("opentelemetry-sdk"),
            "seed": SEED,
        },
        "services": {"client": CLIENT_SERVICE, "server": SERVER_SERVICE},
        "error_classes": {
            "tool_error": "server span error.type=tool_error (isError result); client span: nothing",
            "-32602": "error.type and rpc.response.status_code '-32602' on both spans, status ERROR",
            "-32603": "error.type and rpc.response.status_code '-32603' on both spans, status ERROR",
            "timeout": "client span status ERROR 'TimeoutError: ' + exception event, no error.type; "
            "the SDK raises MCPError -32001 after the span has ended",
        },
        "span_counts": {
            "total": n_client_requests + len(sessions) + n_server,
            "client_mcp": n_client_requests,
            "client_root": len(sessions),
            "server": n_server,
        },
        "traces": len(sessions) + legacy + timeouts,
        "traces_note": "one per session, plus one single-span trace per orphan server notification span",
        "sessions": session_rows,
        "client": client,
        "server": server,
        "outcomes": outcomes,
        "tools": {
            "client": tools_only(client),
            "server": tools_only(server),
            "outcomes": tools_only(outcomes),
        },
        "implicit_tools_list": sum(1 for c in calls if c.implicit),
        "slow_calls": {
            "threshold_ms": SLOW_MS,
            "by_tool": dict(Counter(c.target for c in calls if c.slow)),
            "note": "search_docs with a slow query (300-450 ms server-side) and generate_report (1.2 s; "
            "the timed-out attempt ends after ~0.4 s on the client)",
        },
        "progress_events": {
            "name": "notifications/progress",
            "client": sum(c.progress_events for c in calls),
            "server": sum(4 for c in calls if c.target == "summarize_repo"),
            "spans": sum(1 for c in calls if c.target == "summarize_repo"),
            "on": "tools/call summarize_repo (4 events per call on each side)",
        },
    }


def _retries(s: AgentSession) -> list[dict[str, Any]]:
    """Calls of the same tool with the same arguments right after an error in that session."""
    out = []
    tool_calls = [c for c in s.calls if c.method == "tools/call"]
    for prev, nxt in itertools.pairwise(tool_calls):
        if prev.outcome and nxt.target == prev.target and nxt.arguments == prev.arguments:
            out.append({"tool": nxt.target, "after": prev.outcome, "recovered": nxt.outcome is None})
    return out


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


# --------------------------------------------------------------------------------------------
# self-check
# --------------------------------------------------------------------------------------------


def self_check(out: Path, expected: dict[str, Any]) -> None:
    """Re-read the output naively and compare with the bookkeeping; raise if the SDK surprised us."""
    counts: dict[str, Counter[str]] = {"client": Counter(), "server": Counter()}
    errors: dict[str, Counter[tuple[str, str]]] = {"client": Counter(), "server": Counter()}
    traces: set[str] = set()
    total = 0
    progress: Counter[str] = Counter()
    per_trace: Counter[str] = Counter()
    by_id: dict[str, tuple[str, dict[str, Any]]] = {}
    for line in out.read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            svc = next(a["value"]["stringValue"] for a in rs["resource"]["attributes"] if a["key"] == "service.name")
            side = "client" if svc == CLIENT_SERVICE else "server"
            for ss in rs["scopeSpans"]:
                for sp in ss["spans"]:
                    total += 1
                    traces.add(sp["traceId"])
                    per_trace[sp["traceId"]] += 1
                    by_id[sp["spanId"]] = (side, sp)
                    progress[side] += sum(1 for e in sp.get("events", []) if e["name"] == "notifications/progress")
                    if ss["scope"]["name"] != MCP_TRACER:
                        continue
                    name = sp["name"].removeprefix("MCP send ")
                    counts[side][name] += 1
                    attrs = {a["key"]: a["value"] for a in sp.get("attributes", [])}
                    err = attrs.get("error.type", {}).get("stringValue")
                    if err is None and sp.get("status", {}).get("code") == 2:
                        exc = [e for e in sp.get("events", []) if e["name"] == "exception"]
                        types_ = {
                            a["value"]["stringValue"]
                            for e in exc
                            for a in e["attributes"]
                            if a["key"] == "exception.type"
                        }
                        err = "timeout" if "TimeoutError" in types_ else "unknown"
                    if err is not None:
                        errors[side][(name, err)] += 1
    problems = []
    for side in ("client", "server"):
        want = {k: r["calls"] for k, r in expected[side].items()}
        if dict(counts[side]) != want:
            problems.append(f"{side} counts: got {dict(counts[side])}, want {want}")
        want_err = Counter({(k, e): n for k, r in expected[side].items() for e, n in r["errors"].items()})
        if errors[side] != want_err:
            problems.append(f"{side} errors: got {dict(errors[side])}, want {dict(want_err)}")
        if progress[side] != expected["progress_events"][side]:
            problems.append(f"{side} progress events: got {progress[side]}")
    if total != expected["span_counts"]["total"]:
        problems.append(f"total spans {total} != {expected['span_counts']['total']}")
    if len(traces) != expected["traces"]:
        problems.append(f"traces {len(traces)} != {expected['traces']}")
    roots = sorted(
        (sp for _, sp in by_id.values() if sp["name"].startswith("invoke_agent")),
        key=lambda s: int(s["startTimeUnixNano"]),
    )
    got_sizes = [per_trace[r["traceId"]] for r in roots]
    want_sizes = [row["spans_in_trace"] for row in expected["sessions"]]
    if got_sizes != want_sizes:
        problems.append(f"spans per session trace {got_sizes} != {want_sizes}")
    for side, sp in by_id.values():
        parent = sp.get("parentSpanId")
        if side == "server" and parent:  # a server span's parent must be the matching client span
            pside, psp = by_id.get(parent, (None, {}))
            if pside != "client" or psp.get("name") != f"MCP send {sp['name']}" or psp.get("kind") != 3:
                problems.append(f"server span {sp['name']} {sp['spanId']} has parent {psp.get('name')!r}")
        elif side == "server" and not sp["name"].startswith("notifications/"):
            problems.append(f"server span {sp['name']} {sp['spanId']} has no parent")
    if problems:
        raise SystemExit("self-check failed:\n  " + "\n  ".join(problems))
    print(f"self-check ok: {total} spans, {len(traces)} traces, {out.stat().st_size} bytes")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="mcpobs-sample-") as d:
        tmp = Path(d)
        provider = TracerProvider(
            resource=Resource.create({"service.name": CLIENT_SERVICE, "service.version": "1.4.0"})
        )
        provider.add_span_processor(_ProgressSpanCapture())
        provider.add_span_processor(BatchSpanProcessor(FileSpanExporter(tmp / "client.jsonl")))
        trace.set_tracer_provider(provider)
        sessions = anyio.run(run_agent, tmp)
        provider.shutdown()
        merge(sorted(tmp.glob("*.jsonl")), OUT)
    expected = build_expected(sessions)
    EXPECTED.write_text(json.dumps(expected, indent=2) + "\n")
    self_check(OUT, expected)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", metavar="SPANFILE", help="internal: run the toolbox MCP server on stdio")
    args = ap.parse_args()
    if args.serve:
        logging.basicConfig(level=logging.WARNING)
        serve(args.serve)
    else:
        main()
