"""MCP event logs: every JSON-RPC message of a session, as JSON lines (``docs/event-log.md``).

A log is a header line, then one line per message, server stderr line or
transport event, each written whole and flushed as it happens, so a log cut
anywhere is valid up to its last whole line.
"""

from mcpobs.eventlog.redact import Redactor
from mcpobs.eventlog.writer import FORMAT, VERSION, EventLogWriter

__all__ = ["FORMAT", "VERSION", "EventLogWriter", "Redactor"]
