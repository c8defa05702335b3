#!/usr/bin/env python3
"""Regenerate openllmetry_fastmcp.jsonl / openllmetry_fastmcp.expected.json by RUNNING
OpenLLMetry's MCP instrumentation with the standalone `fastmcp` package (server AND client) over
Streamable HTTP on 127.0.0.1.

Why a second OpenLLMetry file: opentelemetry-instrumentation-mcp only makes server-side call spans
for the standalone fastmcp package (fastmcp_instrumentation.py wraps
fastmcp.tools.tool_manager.ToolManager.call_tool and FastMCP.__init__) and a session span for
fastmcp.Client (instrumentation.py:48-64). With mcp's own mcp.server.fastmcp (openllmetry.jsonl)
the server side has no call spans at all.

Needs (its own venv: fastmcp 2.14 pins mcp<2):
    python3 -m venv /work/venv-dialects-fastmcp
    /work/venv-dialects-fastmcp/bin/pip install 'fastmcp==2.14.7' 'mcp==1.30.0' \
        'opentelemetry-instrumentation-mcp==0.62.4' 'opentelemetry-sdk==1.45.2' \
        'opentelemetry-exporter-otlp-json-file==0.66b1'
Run:
    /work/venv-dialects-fastmcp/bin/python tests/data/dialects/make_openllmetry_fastmcp.py

The driver of demo.py, as make_openllmetry.py: server = this file with --serve (exports to its own file),
client scenario in this process, SIGINT to the server, files concatenated (client lines first).
The expected file is written from the scenario table, not from reading the spans.
"""
from __future__ import annotations

import demo
from demo import SERVER_NAME
from make_openllmetry import setup_telemetry  # the same instrumentation, set up the same way

NAME = "openllmetry_fastmcp"
# the packages whose versions the expected file states
PACKAGES = ("mcp", "fastmcp", "opentelemetry-sdk", "opentelemetry-exporter-otlp-json-file",
            "opentelemetry-instrumentation-mcp")

# --------------------------------------------------------------------------------------------
# Server (same tools as the other make_*.py scripts, standalone fastmcp here)
# --------------------------------------------------------------------------------------------


def build_server(port: int):
    import anyio
    from fastmcp import FastMCP

    mcp = FastMCP(SERVER_NAME)

    @mcp.tool()
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @mcp.tool()
    def fail(reason: str) -> str:
        """Always raises: ToolManager wraps it in ToolError, mcp turns it into an isError result."""
        raise ValueError(f"fail tool refused: {reason}")

    @mcp.tool()
    async def slow(seconds: float) -> str:
        """Sleeps, to provoke a client timeout."""
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
        build_server(port).run(transport="http", host="127.0.0.1", port=port, show_banner=False,
                               log_level="warning")
    except KeyboardInterrupt:  # the driver stops the server with SIGINT
        pass
    finally:
        shutdown()


# --------------------------------------------------------------------------------------------
# Client scenario (fastmcp.Client; a subset of the other scripts' scenario)
# --------------------------------------------------------------------------------------------
# Each step: (label, method, target, expected client outcome, expected server outcome).
# Outcome = None for success, else the error class: JSON-RPC code as a string, "tool_error",
# "timeout". These follow from fastmcp 2.14.7 / mcp 1.30 code, not from the spans.
SESSION1 = [
    ("initialize", "initialize", None, None, None),  # sent by fastmcp.Client.__aenter__
    ("list tools", "tools/list", None, None, None),
    ("add ok", "tools/call", "add", None, None),
    ("add ok again", "tools/call", "add", None, None),
    # ToolManager.call_tool wraps the ValueError in ToolError; mcp's lowlevel call_tool handler
    # turns any exception into CallToolResult(isError=True).
    ("fail -> isError", "tools/call", "fail", "tool_error", "tool_error"),
    # ToolManager.get_tool raises NotFoundError -> FastMCP._call_tool_mcp re-raises NotFoundError
    # -> isError result.
    ("unknown tool -> isError", "tools/call", "nope", "tool_error", "tool_error"),
    # Client read timeout 0.3 s: McpError(code=408) on the client, no cancellation sent; the
    # server finishes the 1 s sleep and answers successfully (ignored).
    ("slow -> client timeout", "tools/call", "slow", "timeout", None),
    ("greet prompt", "prompts/get", "greet", None, None),
    # FastMCP._get_prompt_mcp raises NotFoundError -> Server._handle_request -> ErrorData(code=0).
    ("unknown prompt", "prompts/get", "missing", "0", "0"),
    ("read resource", "resources/read", "demo://info", None, None),
    ("ping", "ping", None, None, None),
]
SESSION2 = [
    ("initialize", "initialize", None, None, None),
    ("list tools", "tools/list", None, None, None),
    ("add ok", "tools/call", "add", None, None),
]


async def run_client(url: str) -> list[dict]:
    import anyio
    from fastmcp import Client
    from mcp.shared.exceptions import McpError

    calls: list[dict] = []

    async def one_session(steps, session_no: int):
        client = Client(url)
        rid = 0
        async with client:  # initialize (request id 0) happens here
            for label, method, target, exp_client, exp_server in steps:
                observed = "ok"
                if method != "initialize":
                    rid = client.session._request_id  # ids are 0, 1, 2, ... per session in mcp 1.x
                    try:
                        if method == "tools/list":
                            await client.list_tools_mcp()
                        elif method == "tools/call" and label.endswith("timeout"):
                            await client.call_tool_mcp(target, {"seconds": 1.0}, timeout=0.3)
                        elif method == "tools/call":
                            args = {"add": {"a": 2, "b": 3}, "fail": {"reason": "bad input"},
                                    "nope": {"x": 1}}[target]
                            if label == "add ok again":
                                args = {"a": 10, "b": -4}
                            res = await client.call_tool_mcp(target, args)
                            if res is not None and res.isError:
                                observed = "tool_error"
                        elif method == "prompts/get":
                            await client.get_prompt_mcp(target, {"name": "Ada"} if target == "greet" else {})
                        elif method == "resources/read":
                            await client.read_resource_mcp(target)
                        elif method == "ping":
                            await client.ping()
                    except McpError as e:
                        observed = f"McpError {e.error.code}: {e.error.message}"
                    except Exception as e:  # instrumentation side effects show up here
                        observed = f"{type(e).__name__}: {e}"
                calls.append({
                    "session": session_no, "session_id": client.transport.get_session_id(),
                    "request_id": 0 if method == "initialize" else rid, "label": label,
                    "method": method, "target": target,
                    "client": exp_client, "server": exp_server, "client_observed": observed,
                })
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

    client: as in make_openllmetry.py (BaseSession.send_request for every request; McpError ->
      error.type 'McpError' without the code -> 'error'; isError -> error.type 'tool_error').
      Plus ONE 'mcp.client.session' span per fastmcp.Client session (instrumentation.py:219-259),
      the parent of every call span of that session: not a call.
    server: only tools/call, via fastmcp_instrumentation.py:62-153: TWO spans per call, 'mcp.server'
      (traceloop.span.kind=server) and its child '{tool}.tool' (traceloop.span.kind=tool), both
      with traceloop.workflow.name='{server name}.mcp'. An unknown tool never reaches the wrapped
      ToolManager.call_tool (fastmcp server.py FastMCP._call_tool l.1675-1684 calls
      _tool_manager.get_tool first, which raises NotFoundError): no server span. An exception in
      ToolManager.call_tool (ToolError for a raising tool) -> record_error on both spans:
      error.type = the exception class name ('ToolError'), ERROR status, exception event -> 'error'
      (strictly; fastmcp turns it into an isError result). Other methods have no server span.
    """
    if side == "server":
        if call["method"] != "tools/call" or call["target"] == "nope":
            return False
        return None if call["server"] is None else "error"
    truth = call["client"]
    if truth in (None, "tool_error"):
        return truth
    return "error"


NOTES = [
    "truth = what happened on the wire per side (error class: JSON-RPC code as string, tool_error, "
    "timeout); recorded = what a correct normaliser can count from this file: calls that "
    "leave no span on that side are absent, 'error' = failed but the class is not in the spans.",
    "request ids are per session (0 = initialize); the session ids are the Mcp-Session-Id headers "
    "(not recorded by OpenLLMetry).",
    "Server side: one tools/call = 2 spans ('mcp.server' + child '{tool}.tool'): count once. "
    "A call to an unknown tool has no server span at all.",
    "Client side: one 'mcp.client.session' span per session is the parent of all call spans, so "
    "the whole session is one trace.",
    "fastmcp 2.14.7's client uses mcp's new streamable_http_client, which OpenLLMetry 0.62.4 does "
    "not wrap (it wraps only the deprecated streamablehttp_client), and call_tool sends no _meta, "
    "so no traceparent reaches the server: client and server spans are in different traces, and "
    "there are no client-side 'ResponseStreamWriter' spans. The server still has one "
    "'ResponseStreamWriter' span per response (StreamableHTTPServerTransport.connect is wrapped).",
    "Client-side patch_mcp_client is wrapped in @dont_throw: the McpError of a JSON-RPC error or a "
    "timeout is swallowed and send_request returns None (see client_observed).",
]

if __name__ == "__main__":
    demo.run(__file__, NAME, setup_telemetry, recorded_by_dialect, PACKAGES, NOTES, serve=serve, run_client=run_client)
