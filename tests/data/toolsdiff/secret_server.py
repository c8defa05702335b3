"""A real mcp SDK server whose tool definition carries credentials, as configuration leaks into
schemas: the defaults of ``fetch_report`` hold an API key and a URL with a password. Run over stdio by
``make_secret.py`` (through ``mcpobs record``)."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

srv = MCPServer("report-desk", version="1.0.0", log_level="WARNING")


@srv.tool()
def fetch_report(
    day: str,
    api_key: str = "sk-live-4f9a8b7c6d5e4f3a2b1c",
    source: str = "https://reports:hunter2-pass@reports.example.com/v1",
) -> str:
    """Fetch the day's report from the reports service."""
    return f"report of {day}"


if __name__ == "__main__":
    srv.run("stdio")
