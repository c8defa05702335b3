"""Serving a recording as the server: ``mcpobs serve`` answers a client (or an agent) from what a
recorded session holds, with the faults the observability model is about injected on demand.

:func:`load_book` reads a recording of any format replay reads and picks its session;
:class:`~.server.Served` answers each request (:mod:`.book` says which recorded exchange answers
it, :mod:`.faults` which fault hits it); :mod:`.stdio` and :mod:`.http` carry the answers.
"""

from __future__ import annotations

from pathlib import Path

from mcpobs.errors import UsageError
from mcpobs.replay.diff import parse_ignore
from mcpobs.replay.sessions import pick_sessions, read_sessions
from mcpobs.serve.book import Book, Match, build_book
from mcpobs.serve.faults import Fault, Faults, flag_faults, load_faults
from mcpobs.serve.server import Reply, Served, Timing

__all__ = [
    "Book",
    "Fault",
    "Faults",
    "Match",
    "Reply",
    "Served",
    "Timing",
    "build_book",
    "flag_faults",
    "load_book",
    "load_faults",
]


def load_book(
    recording: Path, session: str | None = None, match: Match = "any", ignore: list[str] | None = None
) -> Book:
    """The exchanges of the recording's session (``session``: its number or id; needed when the
    recording holds more than one)."""
    try:
        paths = parse_ignore(ignore or [])
    except ValueError as e:
        raise UsageError(str(e)) from None
    sessions = read_sessions(recording)
    chosen = pick_sessions(sessions, [session] if session else [])
    if len(chosen) > 1:
        known = ", ".join(f"{s.number}" + (f" ({s.id})" if s.id else "") for s in sessions)
        raise UsageError(f"{recording}: holds {len(sessions)} sessions: name one with --session ({known})")
    return build_book(chosen[0].log, match, paths)
