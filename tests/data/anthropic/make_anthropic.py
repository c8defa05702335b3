#!/usr/bin/env python3
"""Regenerate anthropic.jsonl / anthropic.expected.json (and the ``anthropic-openinference.*`` pair): an
agent on a second provider (Anthropic's Messages API, prompt caching included) whose LLM calls are traced
by the anthropic SDK's own spans and OpenLLMetry's (or OpenInference's) instrumentation, around a real MCP
server over Streamable HTTP traced by the mcp SDK's own spans.

Needs its own venv (the instrumentation is not a dependency of mcpobs):
    python3 -m venv /tmp/venv-anthropic
    /tmp/venv-anthropic/bin/pip install 'mcp==2.3.0' 'anthropic==2.10.0' \
        'opentelemetry-instrumentation-anthropic==0.62.4' \
        'opentelemetry-sdk==1.45.2' 'opentelemetry-exporter-otlp-json-file==0.66b1' \
        'openinference-instrumentation-anthropic==3.1.0'
Run (about 5 s each):
    /tmp/venv-anthropic/bin/python tests/data/anthropic/make_anthropic.py                # OpenLLMetry's
    /tmp/venv-anthropic/bin/python tests/data/anthropic/make_anthropic.py openinference  # OpenInference's

What runs:

* a local Anthropic-compatible HTTP server on 127.0.0.1 (this script, stdlib ``http.server``) whose
  answers are scripted per task: ``messages`` with ``tool_use`` blocks, ``usage`` counted from the
  request's bytes (about four a token) and reported as Anthropic's API reports it: ``input_tokens``
  without the cache, ``cache_creation_input_tokens`` for the prefix (system prompt and tools) the
  first call of a task writes, ``cache_read_input_tokens`` for the prefix later calls read;
* the agent (``service.name=anthropic-agent``): the real ``anthropic`` client, whose own spans
  (``anthropic.messages.create``, scope ``com.anthropic.sdk.python``) are on by default, instrumented
  as well by ``opentelemetry-instrumentation-anthropic`` (OpenLLMetry: an ``anthropic.chat`` span beside
  the SDK's, not its parent) or ``openinference-instrumentation-anthropic`` (a ``Messages`` span around
  the SDK's); and the mcp SDK ``Client`` over Streamable HTTP with its own CLIENT spans. Each task's agent
  is an ``invoke_agent`` span. Two sub-agents run at once under one orchestrator span (one trace,
  one MCP session each); a third task runs alone in a trace of its own;
* the MCP server (mcp SDK 2.3 ``MCPServer``, this script with ``--serve``, a subprocess serving
  Streamable HTTP on 127.0.0.1 with its own OpenTelemetry SDK, ``service.name=issues-server``): SERVER
  spans, children of the client's through ``params._meta.traceparent``.

Calls fail two ways: an ``isError`` result (an issue that does not exist) and a JSON-RPC -32602
rejection (closing an issue without a reason).

``anthropic.expected.json`` is written from this script's own bookkeeping (every LLM call: its task,
model, usage as the API reported it, and the tool calls it asked for with their outcomes), not from
the spans.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/data: what the generators share
from _gen_common import merge

HERE = Path(__file__).resolve().parent
# the instrumentation beside the anthropic SDK's own spans: the files it writes
OUTPUTS = {
    "openllmetry": (HERE / "anthropic.jsonl", HERE / "anthropic.expected.json"),
    "openinference": (HERE / "anthropic-openinference.jsonl", HERE / "anthropic-openinference.expected.json"),
}
AGENT = "anthropic-agent"
SERVER = "issues-server"
ISSUES = {3: "Crash on start", 7: "Slow search", 12: "Typo in docs"}
# the model asked for, and the model the API answers with
MODELS = {"claude-sonnet-4-5": "claude-sonnet-4-5-20250929", "claude-haiku-4-5": "claude-haiku-4-5-20251001"}
SYSTEM = "You are a release manager's assistant. Use the tools to read the issue tracker. " * 8


# --------------------------------------------------------------------------------------------
# the MCP server (runs in the subprocess)
# --------------------------------------------------------------------------------------------


def serve(port: int, span_file: str) -> None:
    import anyio
    from mcp import MCPError
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import INVALID_PARAMS
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVER}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(span_file)))
    trace.set_tracer_provider(provider)
    srv = MCPServer("issues", version="1.0.0", log_level="WARNING")

    @srv.tool()
    async def search_issues(query: str) -> list[int]:
        """Issue numbers whose title mentions the query."""
        await anyio.sleep(0.02)
        return [n for n, title in ISSUES.items() if query.lower() in title.lower()]

    @srv.tool()
    async def get_issue(number: int) -> dict[str, Any]:
        """One issue."""
        await anyio.sleep(0.01)
        if number not in ISSUES:
            raise ToolError(f"no issue {number}")
        return {"number": number, "title": ISSUES[number], "state": "open"}

    @srv.tool()
    async def close_issue(number: int, reason: str = "") -> str:
        """Close an issue, with a reason."""
        if not reason:
            raise MCPError(code=INVALID_PARAMS, message="close_issue needs a reason")
        return "closed"

    try:
        srv.run("streamable-http", host="127.0.0.1", port=port)
    finally:
        provider.shutdown()


# --------------------------------------------------------------------------------------------
# the scripted model behind a local Anthropic-compatible HTTP server
# --------------------------------------------------------------------------------------------


@dataclass
class Ask:
    name: str
    input: dict[str, Any]


@dataclass
class Task:
    name: str
    model: str
    plan: list[list[Ask]]  # the calls each step asks for; the last step answers
    answer: str


TASKS = [
    Task(
        "triage",
        "claude-sonnet-4-5",
        [
            [Ask("search_issues", {"query": "slow"}), Ask("get_issue", {"number": 7})],
            [Ask("get_issue", {"number": 99})],
        ],
        "Issue 7 is the slow search; there is no issue 99.",
    ),
    Task("summarize", "claude-haiku-4-5", [[Ask("get_issue", {"number": 3})]], "Issue 3: a crash on start."),
    Task(
        "cleanup",
        "claude-sonnet-4-5",
        [[Ask("close_issue", {"number": 12})], [Ask("close_issue", {"number": 12, "reason": "fixed"})]],
        "Issue 12 is closed.",
    ),
]


def tokens(text: str) -> int:
    return max(1, (len(text.encode()) + 3) // 4)


def tool_use_id(task: str, step: int, index: int) -> str:
    return "toolu_" + hashlib.sha256(f"{task}/{step}/{index}".encode()).hexdigest()[:24]


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The scripted message for a request: the task is named in the first user message, the step is
    the number of assistant messages so far. Sonnet caches the prefix (system and tools): its first
    call of a task writes it, later ones read it; Haiku is asked without caching."""
    messages = request["messages"]
    model = request["model"]
    task = next(t for t in TASKS if messages[0]["content"] == f"task: {t.name}")
    step = sum(1 for m in messages if m["role"] == "assistant")
    content: list[dict[str, Any]]
    if step < len(task.plan):
        content = [
            {"type": "tool_use", "id": tool_use_id(task.name, step, i), "name": a.name, "input": a.input}
            for i, a in enumerate(task.plan[step])
        ]
        stop = "tool_use"
    else:
        content = [{"type": "text", "text": task.answer}]
        stop = "end_turn"
    prefix = tokens(json.dumps(request.get("system", ""))) + tokens(json.dumps(request.get("tools", [])))
    rest = tokens(json.dumps(messages))
    usage: dict[str, Any] = {"output_tokens": tokens(json.dumps(content))}
    if model == "claude-sonnet-4-5":
        usage["input_tokens"] = rest
        usage["cache_creation_input_tokens"] = prefix if step == 0 else 0
        usage["cache_read_input_tokens"] = 0 if step == 0 else prefix
    else:
        usage["input_tokens"] = prefix + rest
    return {
        "id": "msg_" + hashlib.sha256(json.dumps(request).encode()).hexdigest()[:20],
        "type": "message",
        "role": "assistant",
        "model": MODELS[model],
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage,
    }


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = json.dumps(answer(body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --------------------------------------------------------------------------------------------
# the agent
# --------------------------------------------------------------------------------------------


@dataclass
class Requested:
    id: str
    name: str
    input: dict[str, Any]
    outcome: str | None = None  # None: succeeded; "tool_error"; a JSON-RPC code


@dataclass
class LlmCall:
    task: str
    model: str
    response_model: str
    input_tokens: int  # as the API reports it: without the cache
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    output_tokens: int
    requested: list[Requested] = field(default_factory=list)


async def run_task(task: Task, url: str, base_url: str, log: list[LlmCall]) -> None:
    from anthropic import AsyncAnthropic
    from opentelemetry import trace

    llm = AsyncAnthropic(base_url=base_url, api_key="not-a-key", max_retries=0)
    # each task's agent in a span of its own, as agent frameworks draw one
    with trace.get_tracer("anthropic-agent").start_as_current_span(f"invoke_agent {task.name}"):
        await _session(task, url, llm, log)


async def _session(task: Task, url: str, llm: Any, log: list[LlmCall]) -> None:
    from mcp import Client, MCPError

    async with Client(url) as client:
        listed = await client.list_tools()
        tools = [
            {"name": t.name, "description": t.description or "", "input_schema": t.input_schema} for t in listed.tools
        ]
        messages: list[dict[str, Any]] = [{"role": "user", "content": f"task: {task.name}"}]
        while True:
            response = await llm.messages.create(
                model=task.model,
                max_tokens=512,
                system=SYSTEM,
                tools=tools,
                messages=messages,  # type: ignore[arg-type]
            )
            u = response.usage
            entry = LlmCall(
                task.name,
                task.model,
                response.model,
                u.input_tokens,
                u.cache_read_input_tokens or 0,
                u.cache_creation_input_tokens or 0,
                u.output_tokens,
            )
            log.append(entry)
            uses = [b for b in response.content if b.type == "tool_use"]
            if not uses:
                return
            messages.append({"role": "assistant", "content": [b.model_dump() for b in response.content]})
            results = []
            for b in uses:
                asked = Requested(b.id, b.name, dict(b.input))  # type: ignore[arg-type]
                entry.requested.append(asked)
                try:
                    result = await client.call_tool(b.name, dict(b.input))  # type: ignore[arg-type]
                except MCPError as exc:
                    asked.outcome = str(exc.code)
                    results.append({"type": "tool_result", "tool_use_id": b.id, "content": str(exc), "is_error": True})
                    continue
                asked.outcome = "tool_error" if result.is_error else None
                text = json.dumps([c.model_dump(mode="json") for c in result.content])
                results.append({"type": "tool_result", "tool_use_id": b.id, "content": text})
            messages.append({"role": "user", "content": results})


async def run(url: str, base_url: str) -> list[LlmCall]:
    import anyio
    from opentelemetry import trace

    tracer = trace.get_tracer("anthropic-agent")
    log: list[LlmCall] = []
    # two sub-agents at once, each with its own MCP session, in one trace
    with tracer.start_as_current_span("release-notes"):
        async with anyio.create_task_group() as tg:
            for task in TASKS[:2]:
                tg.start_soon(run_task, task, url, base_url, log)
    with tracer.start_as_current_span("cleanup"):
        await run_task(TASKS[2], url, base_url, log)
    return log


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the MCP server did not listen on 127.0.0.1:{port}")


def _instrument(instrumentation: str, provider: Any) -> None:
    if instrumentation == "openllmetry":
        from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

        AnthropicInstrumentor().instrument(tracer_provider=provider)
    else:
        from openinference.instrumentation.anthropic import AnthropicInstrumentor as OpenInferenceInstrumentor

        OpenInferenceInstrumentor().instrument(tracer_provider=provider)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3])
        return
    instrumentation = sys.argv[1] if len(sys.argv) > 1 else "openllmetry"
    out, expected = OUTPUTS[instrumentation]
    import anyio
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        server = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), str(tmp / "server.jsonl")],
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            _wait_for(port)
            provider = TracerProvider(resource=Resource.create({"service.name": AGENT}))
            provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(str(tmp / "agent.jsonl"))))
            trace.set_tracer_provider(provider)
            _instrument(instrumentation, provider)
            try:
                log = anyio.run(run, f"http://127.0.0.1:{port}/mcp", f"http://127.0.0.1:{httpd.server_address[1]}")
            finally:
                provider.shutdown()
                httpd.shutdown()
        finally:
            server.terminate()
            server.wait(timeout=20)
        merge(sorted(tmp.glob("*.jsonl")), out)
    expected.write_text(json.dumps({"llm_calls": [asdict(c) for c in log]}, indent=2) + "\n")
    print(f"wrote {out.name} ({sum(1 for _ in out.open())} lines) and {expected.name}")


if __name__ == "__main__":
    main()
