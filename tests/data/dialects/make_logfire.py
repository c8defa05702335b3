#!/usr/bin/env python3
"""Regenerate logfire.jsonl / logfire.expected.json by RUNNING Pydantic Logfire's MCP
instrumentation (`logfire.instrument_mcp()`) against a real mcp 1.x server and client over
Streamable HTTP on 127.0.0.1.

Needs (in its own venv, NOT the project's: with mcp 2 `instrument_mcp()` does nothing, see
logfire/_internal/integrations/mcp.py:31-47):
    python3 -m venv /work/venv-dialects
    /work/venv-dialects/bin/pip install 'mcp==1.30.0' 'logfire==5.2.0' \
        'opentelemetry-sdk==1.45.2' 'opentelemetry-exporter-otlp-json-file==0.66b1'
    (logfire 5.4.0 needs a certifi release newer than the one served here; its
    integrations/mcp.py differs from 5.2.0 only in the 'MCP server log' log records for
    notifications/message, which this scenario does not send.)
Run:
    /work/venv-dialects/bin/python tests/data/dialects/make_logfire.py

Logfire is configured not to send anything (send_to_logfire=False, console=False) and to export
through an extra span processor: BatchSpanProcessor(FileSpanExporter(path)), i.e. spec OTLP JSON
lines written by the OpenTelemetry SDK. Logfire's "pending_span" copies are only fed to its own
exporters (config.py add_span_processor: only TestExporter/RemovePendingSpansExporter/console), so
none are in this file.

What it does: starts this same file with --serve as the server process (FastMCP from
mcp.server.fastmcp, instrumented, exporting to its own file), runs the client scenario below in
this process, stops the server with SIGINT, then concatenates the two files (client lines first).
The expected file is written from the scenario table, not from reading the spans; see
`recorded_by_dialect` for what logfire/_internal/integrations/mcp.py (5.2.0) records.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "logfire"
SERVER_NAME = "dialect-demo"

# --------------------------------------------------------------------------------------------
# Telemetry setup (library specific)
# --------------------------------------------------------------------------------------------


def setup_telemetry(service_name: str, out_path: str):
    import logfire
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    logfire.configure(
        send_to_logfire=False,
        console=False,
        service_name=service_name,
        additional_span_processors=[BatchSpanProcessor(FileSpanExporter(out_path))],
    )
    logfire.instrument_mcp()  # propagate_otel_context=True (default): traceparent in params._meta
    return logfire.shutdown


# --------------------------------------------------------------------------------------------
# Server (identical in the three make_*.py scripts)
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


def serve(port: int, out_path: str) -> None:
    shutdown = setup_telemetry(f"{SERVER_NAME}-server", out_path)
    try:
        build_server(port).run(transport="streamable-http")
    except KeyboardInterrupt:  # the driver stops the server with SIGINT
        pass
    finally:
        shutdown()


# --------------------------------------------------------------------------------------------
# Client scenario (identical in the three make_*.py scripts)
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
# What this dialect records (from the instrumentation's source, 0.62.4)
# --------------------------------------------------------------------------------------------


def recorded_by_dialect(side: str, call: dict) -> str | None | bool:
    """Return False if the call leaves no span on that side, else the error class a normaliser
    can recover from the span (None = success, 'error' = failed but the class is not recorded).

    client (integrations/mcp.py:55-84): BaseSession.send_request -> span 'MCP request: {method}'
      (+ ' {tool}' for CallToolRequest) with request/rpc.system/rpc.jsonrpc.version/rpc.method and
      'response' set only on success. McpError (JSON-RPC error or timeout) escapes the logfire span:
      ERROR status, exception event, logfire.level_num=17; the JSON-RPC code is only inside the
      exception message text, not an attribute. An isError result is an ordinary response: the
      span is OK/unset, the error is only in the 'response' JSON ("isError": true).
      Cancellation: the CancelledError escapes the span too: ERROR + exception event of that type.
    server (l.130-155): Server._handle_request -> span 'MCP server handle request: {method}' (no
      tool name in the name; it is in the 'request' JSON), 'response' = the ServerResult or ErrorData
      JSON. _handle_request catches McpError/Exception itself (mcp lowlevel/server.py), so the span
      never sees the error: ERROR shows only as 'response' JSON with a "code" (JSON-RPC error) or
      "isError": true. A request that fails validation (foo/bar -> -32602) never reaches
      _handle_request: no server span. initialize is answered by ServerSession itself: no span.
    """
    truth = call[side]
    if side == "server":
        if call["method"] in ("initialize", "foo/bar"):
            return False
        # tool_error: "isError": true in 'response'; JSON-RPC error: "code" in 'response';
        # cancelled: responder.cancel() answers without respond(), so no 'response' at all and
        # status UNSET -> not recoverable as 'cancelled'.
        return "error" if truth == "cancelled" else truth
    # client: isError -> 'response' JSON; CancelledError -> exception event type; McpError
    # (timeout or any JSON-RPC error) -> ERROR + exception McpError, code not recorded.
    if truth in (None, "tool_error", "cancelled"):
        return truth
    return "error"


# --------------------------------------------------------------------------------------------
# Driver (identical in the three make_*.py scripts)
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


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


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for p in ("mcp", "logfire", "opentelemetry-sdk", "opentelemetry-exporter-otlp-json-file"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            pass
    return out


def main() -> None:
    import anyio

    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix=f"{NAME}-"))
    server_out, client_out = tmp / "server.jsonl", tmp / "client.jsonl"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port), str(server_out)], env=env)
    try:
        wait_port(port)
        shutdown = setup_telemetry(f"{SERVER_NAME}-client", str(client_out))
        calls = anyio.run(run_client, f"http://127.0.0.1:{port}/mcp")
        shutdown()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    lines = [ln for f in (client_out, server_out) if f.exists()
             for ln in f.read_text().splitlines() if ln.strip()]
    (HERE / f"{NAME}.jsonl").write_text("\n".join(lines) + "\n")

    expected = {
        "dialect": NAME,
        "generated_by": Path(__file__).name,
        "ran_for_real": True,
        "versions": versions(),
        "transport": "streamable-http",
        "server_name": SERVER_NAME,
        "service_names": {"client": f"{SERVER_NAME}-client", "server": f"{SERVER_NAME}-server"},
        "session_ids": sorted({c["session_id"] for c in calls if c["session_id"]}),
        "truth": {"client": tally(calls, "client", truth), "server": tally(calls, "server", truth)},
        "recorded": {"client": tally(calls, "client", recorded_by_dialect),
                     "server": tally(calls, "server", recorded_by_dialect)},
        "calls": calls,
        "notes": NOTES,
    }
    (HERE / f"{NAME}.expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    for c in calls:
        print(c["session"], c["request_id"], c["label"], "->", c["client_observed"])


NOTES = [
    "truth = what happened on the wire per side (error class: JSON-RPC code as string, tool_error, "
    "timeout, cancelled); recorded = what a correct normaliser can count from this file: calls that "
    "leave no span on that side are absent; error classes there are what the span structure "
    "gives (status, exception.type, the 'response' JSON's isError / code), never parsed from "
    "message text; 'error' = failed but the class is not recorded (client McpError carries the "
    "code only in its message; a cancelled server request has no 'response' and UNSET status).",
    "request ids are per session (0 = initialize); the session ids are the Mcp-Session-Id headers "
    "(logfire does not record them).",
    "notifications (notifications/initialized, notifications/cancelled) are not calls and not counted.",
]

if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), sys.argv[3])
    else:
        main()
