#!/usr/bin/env python3
"""Regenerate decisions.jsonl / decisions.expected.json: an agent whose LLM calls and tool calls are
traced by real GenAI instrumentation that records tool-call ids, around a real MCP server.

Needs its own venv (the instrumentation is not a dependency of mcpobs):
    python3 -m venv /tmp/venv-decisions
    /tmp/venv-decisions/bin/pip install 'mcp==2.3.0' 'openai==3.57.0' \
        'opentelemetry-instrumentation-openai-v2==2.4b0' 'opentelemetry-util-genai==1.1b0' 'httpx==0.29.0' \
        'opentelemetry-sdk==1.45.2' 'opentelemetry-exporter-otlp-json-file==0.66b1'
Run:
    /tmp/venv-decisions/bin/python tests/data/decisions/make_decisions.py

What runs:

* a local OpenAI-compatible HTTP server on 127.0.0.1 (this script, stdlib ``http.server``) whose
  answers are scripted per task: ``chat.completions`` with ``tool_calls`` (each with its id),
  ``usage`` counted from the request's bytes (about four a token);
* the agent (``service.name=decisions-agent``): the real ``openai`` client instrumented by
  ``opentelemetry-instrumentation-openai-v2`` with ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=
  SPAN_ONLY``, so each ``chat {model}`` span carries ``gen_ai.output.messages`` with the
  ``tool_call`` parts and their ids; each tool the model asks for runs inside an ``execute_tool``
  span of ``opentelemetry-util-genai``'s handler (``handler.tool(name)``, ``gen_ai.tool.call.id``
  set), which wraps the mcp SDK's own CLIENT span of the ``tools/call``;
* the MCP server (mcp SDK 2.3 ``MCPServer``, this script with ``--serve``, a stdio subprocess with its
  own OpenTelemetry SDK, ``service.name=decisions-server``): SERVER spans, children of the client's
  through ``params._meta.traceparent``.

The tasks (one trace each) are chosen so that the time rule and the tool-call id disagree where
an agent asks a second model before running a call: ``config-check`` and ``cleanup`` check each
call with a guardrail model (``gpt-4o-mini``, asked for no tool) between the decision and the call.
``legacy-path`` runs its calls without the ``execute_tool`` span (no id anywhere): only the time
rule links them. Calls fail three ways: an ``isError`` result (a missing file), a JSON-RPC -32602
rejection (a DELETE), and a tool the server does not have (the mcp SDK answers ``isError``).

``decisions.expected.json`` is written from this script's own bookkeeping (every LLM call: its
model, usage, role, and the tool calls it asked for with their ids and outcomes), not from the
spans.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/data: what the generators share
from _gen_common import merge  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "decisions.jsonl"
EXPECTED = HERE / "decisions.expected.json"
AGENT = "decisions-agent"
SERVER = "decisions-server"
FILES = {"src/app.py": "def main():\n    print('hello')\n", "README.md": "# demo\n"}
# the model asked for, and the model the API answers with
MODELS = {"gpt-4o": "gpt-4o-2024-08-06", "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
GUARDRAIL = "gpt-4o-mini"
R = TypeVar("R")


# --------------------------------------------------------------------------------------------
# the MCP server (runs in the subprocess)
# --------------------------------------------------------------------------------------------


def serve(span_file: str) -> None:
    import anyio
    from mcp import MCPError
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp_types import INVALID_PARAMS
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVER}))
    provider.add_span_processor(BatchSpanProcessor(FileSpanExporter(span_file)))
    trace.set_tracer_provider(provider)
    srv = MCPServer("decisions", version="1.0.0", log_level="WARNING")

    @srv.tool()
    async def get_weather(city: str) -> dict[str, Any]:
        """Current weather for a city."""
        await anyio.sleep(0.01)
        return {"city": city, "temp_c": len(city) * 3, "conditions": "sunny"}

    @srv.tool()
    async def read_file(path: str) -> str:
        """Read a file from the workspace."""
        await anyio.sleep(0.005)
        if path not in FILES:
            raise ToolError(f"file not found: {path}")
        return FILES[path]

    @srv.tool()
    async def run_query(sql: str) -> dict[str, Any]:
        """Run a read-only SQL query."""
        if not sql.lstrip().upper().startswith("SELECT"):
            raise MCPError(code=INVALID_PARAMS, message="run_query accepts SELECT statements only")
        await anyio.sleep(0.01)
        return {"rows": 42}

    try:
        srv.run("stdio")
    finally:
        provider.shutdown()


# --------------------------------------------------------------------------------------------
# the scripted model behind a local OpenAI-compatible HTTP server
# --------------------------------------------------------------------------------------------


@dataclass
class Ask:
    name: str
    arguments: dict[str, Any]


@dataclass
class Task:
    name: str
    model: str
    guardrail: bool  # every call is checked by GUARDRAIL between the decision and the call
    tool_spans: bool  # the agent runs each call in an execute_tool span with its id
    plan: list[list[Ask]]  # the calls each step asks for; the last step answers
    answer: str


TASKS = [
    Task(
        "trip-weather",
        "gpt-4o",
        False,
        True,
        [[Ask("get_weather", {"city": "Lyon"}), Ask("get_weather", {"city": "Porto"})]],
        "Both cities look sunny.",
    ),
    Task(
        "config-check",
        "gpt-4o",
        True,
        True,
        [[Ask("read_file", {"path": "src/config.yaml"})], [Ask("read_file", {"path": "src/app.py"})]],
        "There is no config file; the app prints hello.",
    ),
    Task(
        "cleanup",
        "gpt-4o-mini",
        True,
        True,
        [
            [Ask("run_query", {"sql": "DELETE FROM events"})],
            [Ask("run_query", {"sql": "SELECT count(*) FROM events"})],
            [Ask("book_hotel", {"city": "Porto"})],
        ],
        "42 events; I cannot delete them or book a hotel.",
    ),
    Task(
        "legacy-path",
        "gpt-4o",
        False,
        False,
        [[Ask("get_weather", {"city": "Oslo"}), Ask("read_file", {"path": "notes.md"})]],
        "Oslo is sunny; there are no notes.",
    ),
]


def tokens(text: str) -> int:
    return max(1, (len(text.encode()) + 3) // 4)


def call_id(task: str, step: int, index: int) -> str:
    return "call_" + hashlib.sha256(f"{task}/{step}/{index}".encode()).hexdigest()[:24]


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """The scripted completion for a request: the task is named in the first user message, the
    step is the number of assistant messages so far; the guardrail model always allows."""
    messages = request["messages"]
    model = request["model"]
    prompt = tokens(json.dumps(messages)) + tokens(json.dumps(request.get("tools", [])))
    if messages[0]["content"].startswith("guardrail"):
        message: dict[str, Any] = {"role": "assistant", "content": "allow"}
        finish = "stop"
    else:
        task = next(t for t in TASKS if messages[1]["content"] == f"task: {t.name}")
        step = sum(1 for m in messages if m["role"] == "assistant")
        if step < len(task.plan):
            calls = [
                {
                    "id": call_id(task.name, step, i),
                    "type": "function",
                    "function": {"name": a.name, "arguments": json.dumps(a.arguments)},
                }
                for i, a in enumerate(task.plan[step])
            ]
            message = {"role": "assistant", "content": None, "tool_calls": calls}
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": task.answer}
            finish = "stop"
    completion = tokens(json.dumps(message))
    return {
        "id": "chatcmpl-" + hashlib.sha256(json.dumps(request).encode()).hexdigest()[:20],
        "object": "chat.completion",
        "created": 1764700000,
        "model": MODELS[model],
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
    }


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = json.dumps(answer(body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


# --------------------------------------------------------------------------------------------
# the agent (the setup is make_subagents.py's too)
# --------------------------------------------------------------------------------------------


def server(span_file: Path) -> Any:
    """This script's MCP server, a stdio subprocess writing its spans to ``span_file``."""
    from mcp import StdioServerParameters

    return StdioServerParameters(
        command=sys.executable, args=[str(Path(__file__).resolve()), "--serve", str(span_file)]
    )


async def openai_tools(client: Any) -> list[dict[str, Any]]:
    """The server's tools as the ``tools`` of a chat completion request."""
    listed = await client.list_tools()
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description or "", "parameters": t.input_schema},
        }
        for t in listed.tools
    ]


def opening(task: str) -> list[dict[str, Any]]:
    """The first messages of a task's conversation (the scripted model finds the task in the second)."""
    return [
        {"role": "system", "content": "You are a careful assistant. Use the tools."},
        {"role": "user", "content": f"task: {task}"},
    ]


@dataclass
class Requested:
    id: str
    name: str
    arguments: dict[str, Any]
    outcome: str | None = None  # None: succeeded; "tool_error"; a JSON-RPC code
    execute_tool_span: bool = True


@dataclass
class LlmCall:
    task: str
    model: str
    response_model: str
    role: str  # "decision" (asked for tools), "answer", "guardrail"
    input_tokens: int
    output_tokens: int
    requested: list[Requested] = field(default_factory=list)


async def run(base_url: str, tmp: Path) -> list[LlmCall]:
    from mcp import Client, MCPError
    from openai import AsyncOpenAI
    from opentelemetry.util.genai.handler import get_telemetry_handler

    handler = get_telemetry_handler()
    llm = AsyncOpenAI(base_url=base_url, api_key="not-a-key", max_retries=0)
    log: list[LlmCall] = []

    async def chat(task: Task, model: str, messages: list[dict[str, Any]], tools: list[Any], role: str) -> Any:
        response = await llm.chat.completions.create(model=model, messages=messages, tools=tools or None)  # type: ignore[arg-type]
        message = response.choices[0].message
        usage = response.usage
        assert usage is not None
        entry = LlmCall(task.name, model, response.model, role, usage.prompt_tokens, usage.completion_tokens)
        for c in message.tool_calls or []:
            entry.requested.append(Requested(c.id, c.function.name, json.loads(c.function.arguments)))
        if entry.requested:
            entry.role = "decision"
        log.append(entry)
        return message, entry

    for number, task in enumerate(TASKS):
        with handler.invoke_local_agent(agent_name=AGENT, request_model=task.model):
            async with Client(server(tmp / f"server-{number}.jsonl")) as client:
                tools = await openai_tools(client)
                messages = opening(task.name)
                while True:
                    message, entry = await chat(task, task.model, messages, tools, "answer")
                    if not entry.requested:
                        break
                    messages.append(message.model_dump(exclude_none=True))
                    for asked in entry.requested:
                        if task.guardrail:
                            check = [
                                {"role": "system", "content": "guardrail: answer allow or deny"},
                                {"role": "user", "content": json.dumps(asdict(asked))},
                            ]
                            await chat(task, GUARDRAIL, check, [], "guardrail")
                        asked.execute_tool_span = task.tool_spans
                        if task.tool_spans:
                            with handler.tool(asked.name, tool_call_id=asked.id, tool_type="extension"):
                                text = await _call(client, asked, MCPError)
                        else:
                            text = await _call(client, asked, MCPError)
                        messages.append({"role": "tool", "tool_call_id": asked.id, "content": text})
    return log


async def _call(client: Any, asked: Requested, error: type[Exception]) -> str:
    try:
        result = await client.call_tool(asked.name, asked.arguments)
    except error as exc:
        asked.outcome = str(exc.code)  # type: ignore[attr-defined]
        return f"error {exc.code}: {exc}"  # type: ignore[attr-defined]
    asked.outcome = "tool_error" if result.is_error else None
    return json.dumps([c.model_dump(mode="json") for c in result.content])


def traced(service: str, agent: Callable[[str, Path], Awaitable[R]], out: Path) -> R:
    """Run ``agent(base_url, tmp)`` against the scripted model on 127.0.0.1, traced as ``service`` with the
    openai client instrumented; its spans and its servers' (span files in ``tmp``) merged into ``out``."""
    import anyio
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(FileSpanExporter(str(tmp / "agent.jsonl"))))
        trace.set_tracer_provider(provider)
        OpenAIInstrumentor().instrument(tracer_provider=provider)
        try:
            result = anyio.run(agent, f"http://127.0.0.1:{httpd.server_address[1]}/v1", tmp)
        finally:
            provider.shutdown()
            httpd.shutdown()
        merge(sorted(tmp.glob("*.jsonl")), out)
    return result


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
        return
    # the content the conventions make opt-in: the output messages, with their tool-call ids, on the span
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
    os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    log = traced(AGENT, run, OUT)
    EXPECTED.write_text(json.dumps({"llm_calls": [asdict(c) for c in log]}, indent=2) + "\n")
    print(f"wrote {OUT.name} ({sum(1 for _ in OUT.open())} lines) and {EXPECTED.name}")


if __name__ == "__main__":
    main()
