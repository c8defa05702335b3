"""A real mcp SDK low-level server whose `lookup` tool takes integer arguments named like secrets."""

from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server

INPUT = {
    "type": "object",
    "properties": {
        "token_id": {"type": "integer"},
        "auth_level": {"type": "integer"},
        "use_password": {"type": "boolean"},
    },
    "required": ["token_id"],
}


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[types.Tool(name="lookup", input_schema=INPUT)])


async def call_tool(ctx: Any, params: Any) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text="ok " + repr(params.arguments))])


async def main() -> None:
    server = Server("rv2", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (r, w):
        await server.run(r, w, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
