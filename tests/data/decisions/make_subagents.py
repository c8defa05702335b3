#!/usr/bin/env python3
"""Regenerate subagents.jsonl / subagents.expected.json: two sub-agents running at once in one trace,
each under its own span, their LLM calls and tool calls interleaved in time; traced by real GenAI
instrumentation that records no tool-call ids, so only time and the span tree can link a tool call to
the LLM call that asked for it.

Needs make_decisions.py's venv (see there). Run:
    /tmp/venv-decisions/bin/python tests/data/decisions/make_subagents.py

What runs: make_decisions.py's local OpenAI-compatible HTTP server (its scripted answers, with the
tasks below added) and its MCP server (``--serve``, mcp SDK 2.3, a stdio subprocess per sub-agent);
the real ``openai`` client instrumented by ``opentelemetry-instrumentation-openai-v2`` as installed
(no message content: the default, so no ``gen_ai.output.messages`` and no tool-call ids); the
orchestrator and each sub-agent in an ``invoke_agent`` span of ``opentelemetry-util-genai``
(``service.name=subagents-orchestrator``), the two sub-agents started in one anyio task group. The
tools run without ``execute_tool`` spans: the mcp SDK's CLIENT span of each ``tools/call`` is a child
of its sub-agent's span.

The steps are ordered with anyio events (the spans are what the instrumentation records of them):
the orchestrator asks ``gpt-4o`` once, then ``planner`` (``gpt-4o``) decides on ``get_weather``,
``scout`` (``gpt-4o-mini``) decides on ``read_file`` of a file that does not exist, ``planner``'s
call runs, then ``scout``'s (it fails: ``isError``), ``scout`` reads its result, then ``planner``.
So the last LLM call in the trace to end before ``planner``'s tool call is ``scout``'s, and the
first to start after it ends is ``scout``'s too: a rule that looks across the trace credits ``scout``
with ``planner``'s call.

``subagents.expected.json`` is the script's own bookkeeping: every LLM call (its agent, model, usage)
and every tool call (its agent, outcome, and the LLM calls that asked for it and read its result, by
their index in ``llm_calls``).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import make_decisions  # noqa: E402 (beside this script)
from make_decisions import Ask, Task, openai_tools, opening, server, traced  # noqa: E402

OUT = HERE / "subagents.jsonl"
EXPECTED = HERE / "subagents.expected.json"
ORCHESTRATOR = "subagents-orchestrator"
AGENTS = {
    "orchestrator": Task("orchestrate", "gpt-4o", False, False, [], "planner and scout are on it."),
    "planner": Task(
        "plan-trip", "gpt-4o", False, False, [[Ask("get_weather", {"city": "Porto"})]], "Porto is sunny."
    ),
    "scout": Task(
        "scout-notes", "gpt-4o-mini", False, False, [[Ask("read_file", {"path": "notes.md"})]], "No notes."
    ),
}
make_decisions.TASKS.extend(AGENTS.values())


@dataclass
class LlmCall:
    agent: str
    model: str
    response_model: str
    input_tokens: int
    output_tokens: int


@dataclass
class ToolCall:
    agent: str
    name: str
    arguments: dict[str, Any]
    outcome: str | None  # None: succeeded; "tool_error"
    asked_by: int  # index in llm_calls
    read_by: int


async def run(base_url: str, tmp: Path) -> tuple[list[LlmCall], list[ToolCall]]:
    import anyio
    from mcp import Client
    from openai import AsyncOpenAI
    from opentelemetry.util.genai.handler import get_telemetry_handler

    handler = get_telemetry_handler()
    llm = AsyncOpenAI(base_url=base_url, api_key="not-a-key", max_retries=0)
    llm_calls: list[LlmCall] = []
    tool_calls: list[ToolCall] = []
    # the order of the steps across the two sub-agents (see the module's docstring)
    planner_decided, scout_decided, planner_called, scout_called, scout_read = (anyio.Event() for _ in range(5))

    async def chat(agent: str, messages: list[dict[str, Any]], tools: list[Any]) -> tuple[Any, int]:
        task = AGENTS[agent]
        response = await llm.chat.completions.create(model=task.model, messages=messages, tools=tools or None)  # type: ignore[arg-type]
        usage = response.usage
        assert usage is not None
        llm_calls.append(LlmCall(agent, task.model, response.model, usage.prompt_tokens, usage.completion_tokens))
        return response.choices[0].message, len(llm_calls) - 1

    async def sub_agent(
        agent: str, wait_to_decide: anyio.Event | None, decided: anyio.Event, wait_to_call: anyio.Event,
        called: anyio.Event, wait_to_read: anyio.Event | None, read: anyio.Event | None,
    ) -> None:  # fmt: skip
        with handler.invoke_local_agent(agent_name=agent, request_model=AGENTS[agent].model):
            async with Client(server(tmp / f"server-{agent}.jsonl")) as client:
                tools = await openai_tools(client)
                messages = opening(AGENTS[agent].name)
                if wait_to_decide is not None:
                    await wait_to_decide.wait()
                message, asked_by = await chat(agent, messages, tools)
                decided.set()
                (asked,) = message.tool_calls
                messages.append(message.model_dump(exclude_none=True))
                await wait_to_call.wait()
                arguments = json.loads(asked.function.arguments)
                result = await client.call_tool(asked.function.name, arguments)
                called.set()
                tool = ToolCall(
                    agent, asked.function.name, arguments, "tool_error" if result.is_error else None, asked_by, -1
                )
                tool_calls.append(tool)
                content = json.dumps([c.model_dump(mode="json") for c in result.content])
                messages.append({"role": "tool", "tool_call_id": asked.id, "content": content})
                if wait_to_read is not None:
                    await wait_to_read.wait()
                message, tool.read_by = await chat(agent, messages, tools)
                assert not message.tool_calls
                if read is not None:
                    read.set()

    with handler.invoke_local_agent(agent_name="orchestrator", request_model=AGENTS["orchestrator"].model):
        await chat("orchestrator", opening(AGENTS["orchestrator"].name), [])
        async with anyio.create_task_group() as tg:
            # planner: decides first, calls once scout has decided, reads its result last
            tg.start_soon(sub_agent, "planner", None, planner_decided, scout_decided, planner_called, scout_read, None)
            # scout: decides after planner, calls after planner's call, reads its result before planner
            tg.start_soon(sub_agent, "scout", planner_decided, scout_decided, planner_called, scout_called, None, scout_read)
    return llm_calls, tool_calls


def main() -> None:
    llm_calls, tool_calls = traced(ORCHESTRATOR, run, OUT)
    expected = {"llm_calls": [asdict(c) for c in llm_calls], "tool_calls": [asdict(c) for c in tool_calls]}
    EXPECTED.write_text(json.dumps(expected, indent=2) + "\n")
    print(f"wrote {OUT.name} ({sum(1 for _ in OUT.open())} lines) and {EXPECTED.name}")


if __name__ == "__main__":
    main()
