"""Event logs (``mcpobs record``'s format, and mcp-recorder cassettes) as input: their calls become
OTLP JSON spans, then load as traces."""

from __future__ import annotations

from pathlib import Path

from mcpobs.eventlog.otlp import write_otlp
from mcpobs.eventlog.peers import from_mcp_recorder
from mcpobs.eventlog.reader import parse_event_log
from mcpobs.ingest.sources import Format, Source


def spool_as_json_lines(source: Source, target: Path) -> None:
    """Write the calls of the event log ``source`` to ``target`` as one OTLP JSON line; a malformed
    log line is an :class:`~mcpobs.errors.InputError` at that line of the log."""
    with source.open_binary() as f:
        data = f.read()
    log = (
        from_mcp_recorder(source.name, data)
        if source.format is Format.MCP_RECORDER
        else parse_event_log(source.name, data)
    )
    write_otlp(log, target)
