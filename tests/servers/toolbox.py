"""A small real MCP server (mcp SDK ``MCPServer``) for the record tests, run as a script over stdio.

``python tests/servers/toolbox.py`` serves on stdin/stdout and says so on stderr; with ``--http PORT``
it serves Streamable HTTP on 127.0.0.1:PORT at /mcp (``--http-json PORT``: each answer a JSON body, not
an SSE stream), taking request bodies up to 128 MiB (the SDK's default is 4), past the 16 MiB a recorder
logs. Its tools cover what
a recording must keep: plain results, an ``isError`` result, progress notifications, a secret in the
arguments and in a result, and a crash that takes the process down mid-session.
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

srv = MCPServer("record-toolbox", version="1.0.0", log_level="WARNING")


@srv.tool()
def echo(text: str) -> str:
    """Say it back."""
    return text


@srv.tool()
def add(a: int, b: int) -> int:
    """a + b."""
    return a + b


@srv.tool()
def fail(reason: str) -> str:
    """Always fails, as a tool error (an isError result)."""
    raise ToolError(f"failed: {reason}")


@srv.tool()
async def count(steps: int, ctx: Context) -> str:
    """Report progress for each step."""
    for i in range(1, steps + 1):
        await ctx.report_progress(i, steps, f"step {i}")
    return f"counted {steps}"


@srv.tool()
def login(user: str, api_key: str) -> dict[str, str]:
    """Returns a session token: secrets in both directions."""
    return {"user": user, "token_info": f"Bearer {api_key[::-1]}abcdefgh", "note": "welcome"}


@srv.tool()
def crash(code: int = 3) -> str:
    """Take the server down without an answer."""
    print("crashing on purpose", file=sys.stderr, flush=True)
    os._exit(code)


if __name__ == "__main__":
    print("record-toolbox ready", file=sys.stderr, flush=True)
    if sys.argv[1:2] in (["--http"], ["--http-json"]):
        port, json_response = int(sys.argv[2]), sys.argv[1] == "--http-json"
        srv.run(
            "streamable-http", host="127.0.0.1", port=port, json_response=json_response, max_request_body_size=128 << 20
        )
    else:
        srv.run("stdio")
