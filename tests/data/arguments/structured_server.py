#!/usr/bin/env python
"""A real mcp SDK server (the low-level ``Server``, over stdio) whose tools advertise an ``outputSchema``.

``forecast`` answers structured content that conforms to it. ``forecast_legacy`` has drifted from the
schema it still advertises: its ``celsius`` is a string, not a number (the low-level server checks
nothing it answers, as a hand-written server's answers go unchecked). Both take ``{"city": string}``
and nothing else (``additionalProperties: false``).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.server.stdio import stdio_server

INPUT = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
    "additionalProperties": False,
}
OUTPUT = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "celsius": {"type": "number"}},
    "required": ["city", "celsius"],
}


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(
        tools=[
            types.Tool(name=name, description="Tomorrow's temperature.", input_schema=INPUT, output_schema=OUTPUT)
            for name in ("forecast", "forecast_legacy")
        ]
    )


async def call_tool(ctx: Any, params: Any) -> types.CallToolResult:
    city = (params.arguments or {}).get("city")
    structured = {"city": city, "celsius": 21.5 if params.name == "forecast" else "21.5"}
    text = types.TextContent(type="text", text=json.dumps(structured))
    return types.CallToolResult(content=[text], structured_content=structured)


async def main() -> None:
    server = Server("forecaster", on_list_tools=list_tools, on_call_tool=call_tool)
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


if __name__ == "__main__":
    anyio.run(main)
