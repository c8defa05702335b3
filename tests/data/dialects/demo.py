"""The dialect-demo server, client scenario and driver that make_logfire.py, make_openllmetry.py and
make_sentry.py share: a real mcp 1.x FastMCP server and client over Streamable HTTP on 127.0.0.1. Each
script brings its telemetry setup, what its instrumentation records and its notes, and runs this in its
own venv (see the script's docstring). make_openllmetry_fastmcp.py brings its own server and client
(the standalone fastmcp package's) and shares the driver.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root: tests.helpers
from tests.helpers import free_port, wait_for_port  # noqa: E402

HERE = Path(__file__).resolve().parent
SERVER_NAME = "dialect-demo"

# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------


def build_server(port: int):
    import anyio
    from mcp.server.fastmcp import FastMCP

    mcp = FastMCP(SERVER_NAME, host="127.0.0.1", port=port, log_level="WARNING")

    @mcp.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @mcp.tool()
    def fail(reason: str) -> str:
        """Always raises: FastMCP turns the exception into an isError result."""
        raise ValueError(f"fail tool refused: {reason}")

    @mcp.tool()
    async def slow(seconds: float) -> str:
        """Sleeps, to provoke a client timeout or a cancellation."""
        await anyio.sleep(seconds)
        return f"slept {seconds}"

    @mcp.prompt()
    def greet(name: str) -> str:
        """A one-message prompt."""
        return f"Say hello to {name}."

    @mcp.resource("demo://info")
    def info() -> str:
        """A static resource."""
        return "dialect demo resource"

    return mcp


def serve(setup_telemetry, port: int, out_path: str) -> None:
    shutdown = setup_telemetry(f"{SERVER_NAME}-server", out_path, "server")
    try:
        build_server(port).run(transport="streamable-http")
    except KeyboardInterrupt:  # the driver stops the server with SIGINT
        pass
    finally:
        shutdown()


# --------------------------------------------------------------------------------------------
# Client scenario
# --------------------------------------------------------------------------------------------
# Each step: (label, method, target, expected client outcome, expected server outcome).
# Outcome = None for success, else the error class: JSON-RPC code as a string, "tool_error",
# "timeout", "cancelled". These follow from mcp 1.30's code (cited per step), not from the spans.
SESSION1 = [
    ("initialize", "initialize", None, None, None),
    ("list tools", "tools/list", None, None, None),
    ("add ok", "tools/call", "add", None, None),
    ("add ok again", "tools/call", "add", None, None),
    # FastMCP Tool.run wraps the ValueError in ToolError, lowlevel call_tool handler turns any
    # exception into CallToolResult(isError=True) (mcp/server/lowlevel/server.py call_tool).
    ("fail -> isError", "tools/call", "fail", "tool_error", "tool_error"),
    # FastMCP ToolManager.call_tool raises ToolError("Unknown tool: nope") -> isError result.
    ("unknown tool -> isError", "tools/call", "nope", "tool_error", "tool_error"),
    # Client read timeout 0.3 s: BaseSession.send_request raises McpError(code=408) and sends
    # no cancellation; the server finishes the 1 s sleep and answers successfully (ignored).
    ("slow -> client timeout", "tools/call", "slow", "timeout", None),
    # Client sends notifications/cancelled then cancels its task; the server's
    # RequestResponder.cancel() answers ErrorData(code=0, "Request cancelled").
    ("slow -> cancelled", "tools/call", "slow", "cancelled", "cancelled"),
    ("greet prompt", "prompts/get", "greet", None, None),
    # FastMCP.get_prompt raises ValueError("Unknown prompt: missing"); Server._handle_request
    # turns any exception into ErrorData(code=0).
    ("unknown prompt", "prompts/get", "missing", "0", "0"),
    ("read resource", "resources/read", "demo://info", None, None),
    # FastMCP registers no logging/setLevel handler -> METHOD_NOT_FOUND.
    ("setLevel -> method not found", "logging/setLevel", None, "-32601", "-32601"),
    ("ping", "ping", None, None, None),
    # Not in the ClientRequest union: BaseSession._receive_loop fails validation and answers
    # INVALID_PARAMS (-32602) before any handler runs.
    ("unknown method", "foo/bar", None, "-32602", "-32602"),
]
SESSION2 = [
    ("initialize", "initialize", None, None, None),
    ("list tools", "tools/list", None, None, None),
    ("add ok", "tools/call", "add", None, None),
]


async def run_client(url: str) -> list[dict]:
    from datetime import timedelta
    from typing import Literal

    import anyio
    from mcp import ClientSession, types
    from mcp.client.streamable_http import streamablehttp_client
    from mcp.shared.exceptions import McpError

    class FooRequest(types.Request[types.RequestParams | None, Literal["foo/bar"]]):
        method: Literal["foo/bar"] = "foo/bar"
        params: types.RequestParams | None = None

    calls: list[dict] = []

    async def one_session(steps, session_no: int):
        async with streamablehttp_client(url) as (read, write, get_session_id):
            async with ClientSession(read, write) as session:
                for label, method, target, exp_client, exp_server in steps:
                    rid = session._request_id  # ids are 0, 1, 2, ... per session in mcp 1.x
                    observed = "ok"
                    try:
                        if method == "initialize":
                            await session.initialize()
                        elif method == "tools/list":
                            await session.list_tools()
                        elif method == "tools/call" and label.endswith("timeout"):
                            await session.call_tool(target, {"seconds": 1.0},
                                                    read_timeout_seconds=timedelta(seconds=0.3))
                        elif method == "tools/call" and label.endswith("cancelled"):
                            observed = "not cancelled?"

                            async def call_slow():
                                nonlocal observed
                                try:
                                    await session.call_tool(target, {"seconds": 2.0})
                                except anyio.get_cancelled_exc_class():
                                    observed = "cancelled"
                                    raise

                            async with anyio.create_task_group() as tg:
                                tg.start_soon(call_slow)
                                await anyio.sleep(0.3)
                                await session.send_notification(types.ClientNotification(
                                    types.CancelledNotification(params=types.CancelledNotificationParams(
                                        requestId=rid, reason="user pressed stop"))))
                                tg.cancel_scope.cancel()
                        elif method == "tools/call":
                            args = {"add": {"a": 2, "b": 3}, "fail": {"reason": "bad input"},
                                    "nope": {"x": 1}}[target]
                            if label == "add ok again":
                                args = {"a": 10, "b": -4}
                            res = await session.call_tool(target, args)
                            if res is not None and res.isError:
                                observed = "tool_error"
                        elif method == "prompts/get":
                            await session.get_prompt(target, {"name": "Ada"} if target == "greet" else {})
                        elif method == "resources/read":
                            from pydantic import AnyUrl
                            await session.read_resource(AnyUrl(target))
                        elif method == "logging/setLevel":
                            await session.set_logging_level("info")
                        elif method == "ping":
                            await session.send_ping()
                        elif method == "foo/bar":
                            await session.send_request(
                                types.ClientRequest.model_construct(root=FooRequest()), types.EmptyResult)
                    except McpError as e:
                        observed = f"McpError {e.error.code}: {e.error.message}"
                    except Exception as e:  # instrumentation side effects show up here
                        observed = f"{type(e).__name__}: {e}"
                    calls.append({
                        "session": session_no, "session_id": get_session_id(),
                        "request_id": rid, "label": label, "method": method, "target": target,
                        "client": exp_client, "server": exp_server, "client_observed": observed,
                    })
                    if label.endswith("timeout"):
                        await anyio.sleep(0)  # keep going while the server still sleeps
                # let the timed-out slow call finish on the server before the session closes
                await anyio.sleep(1.2)

    await one_session(SESSION1, 1)
    await one_session(SESSION2, 2)
    return calls


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def tally(calls: list[dict], side: str, pick) -> dict:
    out: dict = {}
    for c in calls:
        cls = pick(side, c)
        if cls is False:
            continue
        m = out.setdefault(c["method"], {"count": 0, "errors": {}, "targets": {}})
        m["count"] += 1
        if cls:
            m["errors"][cls] = m["errors"].get(cls, 0) + 1
        if c["target"] is not None:
            t = m["targets"].setdefault(c["target"], {"count": 0, "errors": {}})
            t["count"] += 1
            if cls:
                t["errors"][cls] = t["errors"].get(cls, 0) + 1
    for m in out.values():
        if not m["targets"]:
            del m["targets"]
    return out


def truth(side: str, c: dict):
    return c[side]


def versions(packages: tuple[str, ...]) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for p in packages:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            pass
    return out


def main(script: str, name: str, setup_telemetry, recorded_by_dialect, packages: tuple[str, ...],
         notes: list[str], run_client=run_client) -> None:
    """Run the server (``script --serve PORT OUT``) and ``run_client``, each under
    ``setup_telemetry(service_name, out_path, side)``; write NAME.jsonl (the client's spans, then the
    server's) and NAME.expected.json, whose ``recorded`` counts are ``recorded_by_dialect``'s."""
    import anyio

    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    server_out, client_out = tmp / "server.jsonl", tmp / "client.jsonl"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, script, "--serve", str(port), str(server_out)], env=env)
    try:
        wait_for_port(port)
        shutdown = setup_telemetry(f"{SERVER_NAME}-client", str(client_out), "client")
        calls = anyio.run(run_client, f"http://127.0.0.1:{port}/mcp")
        shutdown()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    lines = [ln for f in (client_out, server_out) if f.exists()
             for ln in f.read_text().splitlines() if ln.strip()]
    (HERE / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    raw = server_out.with_suffix(".raw.jsonl")  # what the server captured before converting it (Sentry)
    if raw.exists():
        (HERE / f"{name}.raw-envelopes.jsonl").write_text(raw.read_text())

    expected = {
        "dialect": name,
        "generated_by": Path(script).name,
        "ran_for_real": True,
        "versions": versions(packages),
        "transport": "streamable-http",
        "server_name": SERVER_NAME,
        "service_names": {"client": f"{SERVER_NAME}-client", "server": f"{SERVER_NAME}-server"},
        "session_ids": sorted({c["session_id"] for c in calls if c["session_id"]}),
        "truth": {"client": tally(calls, "client", truth), "server": tally(calls, "server", truth)},
        "recorded": {"client": tally(calls, "client", recorded_by_dialect),
                     "server": tally(calls, "server", recorded_by_dialect)},
        "calls": calls,
        "notes": notes,
    }
    (HERE / f"{name}.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    for c in calls:
        print(c["session"], c["request_id"], c["label"], "->", c["client_observed"])


def run(script: str, name: str, setup_telemetry, recorded_by_dialect, packages: tuple[str, ...],
        notes: list[str], serve=serve, run_client=run_client) -> None:
    """The script's command line: ``--serve PORT OUT`` (as :func:`main` starts it) runs ``serve``,
    anything else :func:`main` (a script with a server and client of its own passes them)."""
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(setup_telemetry, int(sys.argv[2]), sys.argv[3])
    else:
        main(script, name, setup_telemetry, recorded_by_dialect, packages, notes, run_client)
