"""A small real MCP server (mcp SDK ``MCPServer``) that keeps notes, and goes wrong on command: the
server of the bundled replay sample (``notes_session.jsonl``) and of the replay tests.

``python sample_traces/notes_server.py [FAULTS] [--http PORT]`` serves on stdio (or Streamable HTTP at
127.0.0.1:PORT/mcp). Its tools keep state (``put``/``get``/``keys``), so a replay that loses the
server's state shows it. Faults count ``tools/call`` requests from 1 in this process:

--crash-at N     exit without an answer at the Nth call
--hang-at N      stop answering anything at the Nth call (the event loop blocks)
--slow-ms MS     every call takes MS longer
--slow-at N      only the Nth call is slow (with --slow-ms)
--fail-every K   every Kth call fails, as a tool error
--changed        answers differ from the honest server's (echo shouts)
--once FILE      each fault fires once across restarts: not when FILE exists, and FILE is made when it does
--start-ms MS    take MS to start (stdio: before it reads its first message)
--subscriptions  also take resources/subscribe, resources/unsubscribe and logging/setLevel, and say
                 what this process was told at the resource ``session://told`` (JSON)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import (
    EmptyResult,
    SetLevelRequestParams,
    SubscribeRequestParams,
    ToolAnnotations,
    UnsubscribeRequestParams,
)
from pydantic import BaseModel

parser = argparse.ArgumentParser()
parser.add_argument("--crash-at", type=int)
parser.add_argument("--hang-at", type=int)
parser.add_argument("--slow-ms", type=int, default=0)
parser.add_argument("--slow-at", type=int)
parser.add_argument("--fail-every", type=int)
parser.add_argument("--changed", action="store_true")
parser.add_argument("--once", type=Path)
parser.add_argument("--http", type=int)
parser.add_argument("--start-ms", type=int, default=0)
parser.add_argument("--subscriptions", action="store_true")
args = parser.parse_args()

srv = MCPServer("notes", version="2.0.0", instructions="Keeps notes; fails on command.", log_level="WARNING")
store: dict[str, str] = {}
calls = 0
READ_ONLY = ToolAnnotations(readOnlyHint=True)


def _fault_armed() -> bool:
    if args.once is None:
        return True
    if args.once.exists():
        return False
    args.once.write_text("fired\n")
    return True


async def _faults() -> None:
    global calls
    calls += 1
    if args.crash_at == calls and _fault_armed():
        print(f"crashing at call {calls}", file=sys.stderr, flush=True)
        os._exit(3)
    if args.hang_at == calls and _fault_armed():
        print(f"hanging at call {calls}", file=sys.stderr, flush=True)
        time.sleep(3600)
    if args.slow_ms and (args.slow_at is None or args.slow_at == calls):
        await asyncio.sleep(args.slow_ms / 1000)
    if args.fail_every and calls % args.fail_every == 0:
        raise ToolError(f"intermittent failure at call {calls}")


@srv.tool(annotations=READ_ONLY)
async def echo(text: str) -> str:
    """Say it back."""
    await _faults()
    return text.upper() if args.changed else text


@srv.tool()
async def put(key: str, value: str) -> str:
    """Keep a value."""
    await _faults()
    store[key] = value
    return f"stored {key}"


@srv.tool(annotations=READ_ONLY)
async def get(key: str) -> str:
    """A value kept before."""
    await _faults()
    if key not in store:
        raise ToolError(f"no value for {key}")
    return store[key]


@srv.tool(annotations=READ_ONLY)
async def keys() -> dict[str, list[str]]:
    """Every key kept, as JSON."""
    await _faults()
    return {"keys": sorted(store)}


class Answer(BaseModel):
    answer: str


@srv.tool()
async def ask(question: str, ctx: Context) -> str:
    """Ask the client (elicitation): a server-to-client request."""
    await _faults()
    reply = await ctx.elicit(question, Answer)
    return f"{reply.action}: {reply.data.answer if reply.data else ''}"


@srv.resource("notes://{name}")
def note(name: str) -> str:
    return f"note {name}: {store.get(name, '')}"


told: dict[str, object] = {"subscriptions": [], "log_level": None}  # what this process was told


async def _subscribe(ctx: object, params: SubscribeRequestParams) -> EmptyResult:
    subscriptions = told["subscriptions"]
    assert isinstance(subscriptions, list)
    if params.uri not in subscriptions:
        subscriptions.append(params.uri)
    return EmptyResult()


async def _unsubscribe(ctx: object, params: UnsubscribeRequestParams) -> EmptyResult:
    subscriptions = told["subscriptions"]
    assert isinstance(subscriptions, list)
    if params.uri in subscriptions:
        subscriptions.remove(params.uri)
    return EmptyResult()


async def _set_level(ctx: object, params: SetLevelRequestParams) -> EmptyResult:
    told["log_level"] = params.level
    return EmptyResult()


if args.subscriptions:
    # MCPServer has no decorator for these: the low-level server it wraps takes them
    lowlevel = srv._lowlevel_server
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, _subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, _unsubscribe)
    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, _set_level)

    @srv.resource("session://told", mime_type="application/json")
    def session_told() -> str:
        return json.dumps(told, sort_keys=True)


if __name__ == "__main__":
    time.sleep(args.start_ms / 1000)
    print("notes server ready", file=sys.stderr, flush=True)
    if args.http:
        srv.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        srv.run("stdio")
