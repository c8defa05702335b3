"""Event logs (``mcpobs record``'s format, mcp-recorder cassettes, mcp-vcr transcripts) as input: their
calls become OTLP JSON spans, then load as traces."""

from __future__ import annotations

from pathlib import Path

from mcpobs.eventlog.otlp import write_otlp
from mcpobs.eventlog.peers import from_peer
from mcpobs.eventlog.reader import parse_event_log
from mcpobs.ingest.sources import Format, Source


def spool_as_json_lines(source: Source, target: Path) -> None:
    """Write the calls of the recording ``source`` to ``target`` as one OTLP JSON line; a malformed
    line is an :class:`~mcpobs.errors.InputError` at that line of the recording."""
    with source.open_binary() as f:
        data = f.read()
    if source.format is Format.EVENT_LOG:
        log = parse_event_log(source.name, data)
    else:
        log = from_peer(source.name, data, source.format.value)
    write_otlp(log, target)
