"""Event logs (``mcpobs record``'s format, mcp-recorder cassettes, mcp-vcr transcripts) as input: their
calls become OTLP JSON spans, then load as traces."""

from __future__ import annotations

from pathlib import Path

from mcpobs.eventlog.otlp import write_otlp
from mcpobs.eventlog.peers import as_event_log
from mcpobs.ingest.sources import Source


def spool_as_json_lines(source: Source, target: Path) -> None:
    """Write the calls of the recording ``source`` to ``target`` as one OTLP JSON line; a malformed
    line is an :class:`~mcpobs.errors.InputError` at that line of the recording."""
    with source.open_binary() as f:
        data = f.read()
    write_otlp(as_event_log(source.name, data, source.format.value), target)
