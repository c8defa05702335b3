#!/usr/bin/env python
"""Regenerate ``sample_traces/agent_cost_session.jsonl`` + ``agent_cost_expected.json``: an agent whose
LLM calls carry token usage, around real MCP tool calls.

What runs:

* the toolbox MCP server of ``generate.py`` (mcp SDK 2.3, **stdio subprocess**, its own
  OpenTelemetry SDK, ``service.name=toolbox-server``), one process per task;
* an agent loop (``service.name=research-agent``) that calls the server's tools with the real
  ``mcp.Client``: the mcp SDK's own CLIENT and SERVER spans;
* around them, the agent's LLM calls as the GenAI semantic conventions trace them: a
  ``chat {model}`` CLIENT span per call with ``gen_ai.provider.name``, ``gen_ai.request.model``,
  ``gen_ai.response.model``, ``gen_ai.usage.input_tokens`` (cached ones included),
  ``gen_ai.usage.output_tokens``, ``gen_ai.usage.cache_read.input_tokens`` and
  ``gen_ai.usage.cache_creation.input_tokens``; and an ``invoke_agent`` root span per task that
  carries the task's total usage (as pydantic-ai's agent run spans do) and a ``task.value``.

No network is reachable here, so the model is scripted: each task is a fixed plan of steps, and
each step's usage is counted from the text it would send and receive (the prompt: a system
prompt, the tool definitions the server really returned, and the conversation so far,
including the tools' real results; a token is about four bytes). The prompt prefix
(system + tools) is cached the way Anthropic's prompt caching does: written on a task's
first call, read on every later one.

``agent_cost_expected.json`` records, from this script's own bookkeeping, every LLM call
(model, provider, usage) and the tool calls between them, so tests can price the calls by
hand and check the attribution.

Run: ``python sample_traces/generate_agent.py`` (about 5 s).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, MCPError, StdioServerParameters
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import merge  # noqa: E402  (the sibling script's merge of client and server files)

OUT = HERE / "agent_cost_session.jsonl"
EXPECTED = HERE / "agent_cost_expected.json"
SERVER_SCRIPT = HERE / "generate.py"
AGENT = "research-agent"

SYSTEM_PROMPT = (
    "You are a research assistant for the toolbox team. Use the tools to look things up; "
    "never guess a number you can query. Answer in short paragraphs and cite the files you read. "
) * 6

# (provider, request model, response model the API answers with)
SONNET = ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929")
GPT_MINI = ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18")
LOCAL = ("acme", "acme-local-7b", "acme-local-7b")  # a self-hosted model: no public price


def tokens(text: str) -> int:
    """About how many tokens ``text`` is: four bytes a token, rounded up."""
    return max(1, (len(text.encode()) + 3) // 4)


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    outcome: str | None = None  # None: success; "tool_error"; a JSON-RPC code
    result: str = ""


@dataclass
class Step:
    """One LLM call: what it was, what it used, and the tool calls it asked for."""

    model: str
    provider: str
    response_model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    asked: list[ToolCall] = field(default_factory=list)


@dataclass
class Task:
    name: str
    model: tuple[str, str, str]
    caching: bool
    plan: list[list[ToolCall]]  # the tool calls each step asks for; the last step answers
    answer: str
    value: float
    steps: list[Step] = field(default_factory=list)


def tasks() -> list[Task]:
    return [
        Task(
            "orders-report",
            SONNET,
            True,
            [
                [ToolCall("run_query", {"sql": "SELECT count(*) FROM orders"})],
                [
                    ToolCall("search_docs", {"query": "schema of the orders table"}),
                    ToolCall("read_file", {"path": "README.md"}),
                ],
                [ToolCall("run_query", {"sql": "SELECT count(*) FROM customers"})],
            ],
            "Orders: 1284 across 311 customers; see the orders schema in the docs.",
            1.0,
        ),
        Task(
            "trip-weather",
            GPT_MINI,
            False,
            [
                [ToolCall("get_weather", {"city": "Lyon"}), ToolCall("get_weather", {"city": "Porto"})],
                [ToolCall("read_file", {"path": "notes/itinerary.md"})],
            ],
            "Lyon and Porto both look fine for the weekend; the itinerary starts Friday.",
            0.5,
        ),
        Task(
            "repo-triage",
            SONNET,
            True,
            [
                [ToolCall("summarize_repo", {"repo": "acme/toolbox"})],
                [ToolCall("read_file", {"path": "src/config.yaml"})],  # no such file: a tool error
                [ToolCall("read_file", {"path": "src/app.py"})],
                [ToolCall("run_query", {"sql": "DELETE FROM events"})],  # refused: JSON-RPC -32602
            ],
            "The repository is small; the config file is missing and the cleanup query was refused.",
            0.0,
        ),
        Task(
            "local-lookup",
            LOCAL,
            False,
            [[ToolCall("search_docs", {"query": "retry policy for tool calls"})]],
            "Retries back off exponentially.",
            0.2,
        ),
    ]


async def run_task(task: Task, number: int, tmp: Path) -> None:
    tracer = trace.get_tracer(AGENT)
    provider, request_model, response_model = task.model
    params = StdioServerParameters(
        command=sys.executable, args=[str(SERVER_SCRIPT), "--serve", str(tmp / f"server-{number}.jsonl")]
    )
    with tracer.start_as_current_span(
        f"invoke_agent {AGENT}",
        kind=SpanKind.INTERNAL,
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": AGENT,
            "gen_ai.request.model": request_model,
            "gen_ai.conversation.id": f"{task.name}-{number}",
            "task.name": task.name,
            "task.value": task.value,
        },
    ) as root:
        async with Client(params) as client:
            listed = await client.list_tools()
            tool_defs = json.dumps([t.model_dump(mode="json", exclude_none=True) for t in listed.tools])
            prefix = tokens(SYSTEM_PROMPT) + tokens(tool_defs)
            conversation = f"user: {task.name.replace('-', ' ')}, please."
            for i, asked in enumerate([*task.plan, []]):
                final = not asked
                reply = task.answer if final else json.dumps([{"tool": c.name, "input": c.arguments} for c in asked])
                step = Step(
                    request_model,
                    provider,
                    response_model,
                    input_tokens=prefix + tokens(conversation),
                    output_tokens=tokens(reply),
                    cache_read_tokens=prefix if task.caching and i > 0 else 0,
                    cache_write_tokens=prefix if task.caching and i == 0 else 0,
                    asked=asked,
                )
                task.steps.append(step)
                await _chat_span(tracer, step, final)
                conversation += f"\nassistant: {reply}"
                for call in asked:
                    await _call_tool(client, call)
                    conversation += f"\ntool {call.name}: {call.result}"
        usage = {
            "gen_ai.usage.input_tokens": sum(s.input_tokens for s in task.steps),
            "gen_ai.usage.output_tokens": sum(s.output_tokens for s in task.steps),
        }
        root.set_attributes(usage)


async def _chat_span(tracer: trace.Tracer, step: Step, final: bool) -> None:
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": step.provider,
        "gen_ai.request.model": step.model,
        "gen_ai.response.model": step.response_model,
        "gen_ai.usage.input_tokens": step.input_tokens,
        "gen_ai.usage.output_tokens": step.output_tokens,
        "gen_ai.response.finish_reasons": ["stop" if final else "tool_use"],
    }
    if step.cache_read_tokens:
        attributes["gen_ai.usage.cache_read.input_tokens"] = step.cache_read_tokens
    if step.cache_write_tokens:
        attributes["gen_ai.usage.cache_creation.input_tokens"] = step.cache_write_tokens
    with tracer.start_as_current_span(f"chat {step.model}", kind=SpanKind.CLIENT, attributes=attributes):
        # the model's time: a little per output token, so the span has a realistic shape
        await anyio.sleep(0.02 + step.output_tokens / 4000)


async def _call_tool(client: Client, call: ToolCall) -> None:
    tracer = trace.get_tracer(AGENT)
    with tracer.start_as_current_span(
        f"execute_tool {call.name}",
        kind=SpanKind.INTERNAL,
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.name},
    ) as span:
        try:
            result = await client.call_tool(call.name, call.arguments)
        except MCPError as exc:
            call.outcome, call.result = str(exc.code), exc.message
            span.set_status(Status(StatusCode.ERROR, exc.message))
            return
        call.result = " ".join(getattr(c, "text", "") for c in result.content)
        if result.is_error:
            call.outcome = "tool_error"
            span.set_status(Status(StatusCode.ERROR, call.result))


async def run_agent(all_tasks: list[Task], tmp: Path) -> None:
    for number, task in enumerate(all_tasks, 1):
        await run_task(task, number, tmp)


def expected(all_tasks: list[Task]) -> dict[str, Any]:
    return {
        "about": (
            "Ground truth for agent_cost_session.jsonl, from generate_agent.py's own bookkeeping: per task "
            "(one trace each), its LLM calls in order with their usage (input includes cached tokens, as the "
            "GenAI conventions count it) and the MCP tool calls each asked for, with their outcomes. The "
            "invoke_agent root span carries the task's total usage: a total, not one more LLM call."
        ),
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "agent_service": AGENT,
        "tasks": [
            {
                "name": t.name,
                "value": t.value,
                "steps": [
                    {**{k: v for k, v in asdict(s).items() if k != "asked"}, "asked": [_call(c) for c in s.asked]}
                    for s in t.steps
                ],
            }
            for t in all_tasks
        ],
    }


def _call(call: ToolCall) -> dict[str, Any]:
    return {"tool": call.name, "arguments": call.arguments, "outcome": call.outcome}


def self_check(out: Path, truth: dict[str, Any]) -> None:
    """Re-read the output naively: one chat span per recorded step, with the recorded usage."""
    chats: list[dict[str, Any]] = []
    tool_spans = 0
    for line in out.read_text().splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for sp in ss["spans"]:
                    attrs = {a["key"]: a["value"] for a in sp.get("attributes", [])}
                    if sp["name"].startswith("chat "):
                        chats.append(attrs)
                    if sp["name"].startswith("MCP send tools/call"):
                        tool_spans += 1
    steps = [s for t in truth["tasks"] for s in t["steps"]]
    got = [int(c["gen_ai.usage.input_tokens"]["intValue"]) for c in chats]
    want = [s["input_tokens"] for s in steps]
    if sorted(got) != sorted(want):
        raise SystemExit(f"self-check failed: chat spans' input tokens {got} != {want}")
    calls = sum(len(s["asked"]) for s in steps)
    if tool_spans != calls:
        raise SystemExit(f"self-check failed: {tool_spans} client tools/call spans, {calls} calls made")
    print(f"self-check ok: {len(chats)} LLM calls, {calls} tool calls, {out.stat().st_size} bytes")


def main() -> None:
    all_tasks = tasks()
    with tempfile.TemporaryDirectory(prefix="mcpobs-agent-") as d:
        tmp = Path(d)
        provider = TracerProvider(resource=Resource.create({"service.name": AGENT, "service.version": "2.1.0"}))
        provider.add_span_processor(BatchSpanProcessor(FileSpanExporter(tmp / "client.jsonl")))
        trace.set_tracer_provider(provider)
        anyio.run(run_agent, all_tasks, tmp)
        provider.shutdown()
        merge(sorted(tmp.glob("*.jsonl")), OUT)
    truth = expected(all_tasks)
    EXPECTED.write_text(json.dumps(truth, indent=2) + "\n")
    self_check(OUT, truth)


if __name__ == "__main__":
    main()
