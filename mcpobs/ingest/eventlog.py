"""Event logs (``mcpobs record``'s format) as input: their calls become OTLP JSON spans, then load as traces."""

from __future__ import annotations

from pathlib import Path

from mcpobs.eventlog.otlp import write_otlp
from mcpobs.eventlog.reader import parse_event_log
from mcpobs.ingest.sources import Source


def spool_as_json_lines(source: Source, target: Path) -> None:
    """Write the calls of the event log ``source`` to ``target`` as one OTLP JSON line; a malformed
    log line is an :class:`~mcpobs.errors.InputError` at that line of the log."""
    with source.open_binary() as f:
        write_otlp(parse_event_log(source.name, f.read()), target)
