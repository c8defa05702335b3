"""Recording MCP sessions into event logs: a stdio wrapper around the server (and, later, an HTTP proxy)."""

from mcpobs.record.stdio import ServerStartError, Streams, record_stdio

__all__ = ["ServerStartError", "Streams", "record_stdio"]
