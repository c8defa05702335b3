"""Reading an event log back: its header, then its lines in order, each checked."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mcpobs.errors import InputError
from mcpobs.eventlog.ids import id_key as id_key
from mcpobs.eventlog.writer import FORMAT, VERSION

KINDS = ("message", "invalid", "stderr", "event", "protocol")
T = TypeVar("T")


@dataclass(frozen=True)
class EventLog:
    """A log as read: the header, every whole line after it, and whether the last line was cut short."""

    path: str
    header: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    cut_short: bool = False

    def messages(self) -> list[dict[str, Any]]:
        """The message lines, in the order they passed."""
        return [r for r in self.records if r["kind"] == "message"]

    def events(self) -> list[str]:
        return [r["event"] for r in self.records if r["kind"] == "event"]


def answered_request(
    open_requests: Sequence[T],
    http: Mapping[str, Any],
    http_of: Callable[[T], Mapping[str, Any]],
    *,
    exchange_only: bool = False,
    latest: bool = True,
) -> T | None:
    """The open request (one with the response's id, sent the other way) that a response answers: over
    HTTP the one of the response's exchange (the same POST), else of its session, else the latest
    (a request sent again under its id after its connection died supersedes the abandoned one), or
    the earliest with ``latest=False`` (a recording's requests, answered in the order they were sent).

    Ids repeat across sessions, and under 2026-07-28 across the clients of one stateless server (three
    clients at once each send id 2), whose answers come back in any order: the exchange ties each to
    its own request. ``exchange_only`` (an answer without an id): the exchange's, or none."""
    pick = -1 if latest else 0
    for name in ("exchange", "session_id"):
        value = http.get(name)
        if value is not None:
            same = [r for r in open_requests if http_of(r).get(name) == value]
            if same:
                return same[pick]
        if exchange_only:
            return None
    return open_requests[pick] if open_requests else None


def params_of(message: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-RPC message's params; empty where it has none or they are no object."""
    params = message.get("params")
    return params if isinstance(params, dict) else {}


def meta_of(message: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-RPC message's ``params._meta``; empty where it has none or it is no object."""
    meta = params_of(message).get("_meta")
    return meta if isinstance(meta, dict) else {}


NESTED_TOO_DEEPLY = "JSON nested too deeply to read"


def loads(data: str | bytes) -> Any:
    """``json.loads``, with a document nested deeper than Python's parser follows refused as invalid
    JSON (a ValueError, as any other) instead of a RecursionError."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError(NESTED_TOO_DEEPLY) from None


def is_event_log(first_line: bytes) -> bool:
    """Whether a file's first line is the header of an event log."""
    try:
        header = loads(first_line)
    except ValueError:
        return False
    return isinstance(header, dict) and header.get("format") == FORMAT


def read_event_log(path: Path) -> EventLog:
    """Every whole line of the log at ``path`` (see :func:`parse_event_log`)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(path, f"cannot read: {e.strerror or e}") from None
    return parse_event_log(str(path), data)


def parse_event_log(path: str, data: bytes) -> EventLog:
    """Every whole line of a log. A last line without its newline (the writer was killed in the
    middle of it) is left out and noted; anything else malformed is an :class:`InputError` at its line."""
    lines = data.split(b"\n")
    cut_short = lines[-1] != b""
    whole = lines[:-1]
    if not whole:
        raise InputError(path, "empty: no event log header", 1)
    header = _parse(path, whole[0], 1)
    if header.get("format") != FORMAT or header.get("kind") != "header":
        raise InputError(path, f'not an event log: the first line has no "format": "{FORMAT}" header', 1)
    if header.get("version") != VERSION:
        raise InputError(path, f"event log version {header.get('version')!r}: this mcpobs reads version {VERSION}", 1)
    records = []
    for number, line in enumerate(whole[1:], 2):
        record = _parse(path, line, number)
        problem = _problem(record)
        if problem:
            raise InputError(path, f"not an event log line: {problem}", number)
        records.append(record)
    return EventLog(str(path), header, records, cut_short)


# What each kind of line must hold besides t and kind.
_REQUIRED = {
    "message": ("dir", "message"),
    "invalid": ("dir", "text"),
    "stderr": ("text",),
    "event": ("event",),
    "protocol": ("protocol_version",),
}


def _problem(record: dict[str, Any]) -> str:
    kind = record.get("kind")
    if kind not in KINDS:
        return f"kind must be one of {', '.join(KINDS)}"
    if not isinstance(record.get("t"), int):
        return "t must be a whole number of nanoseconds"
    missing = [k for k in _REQUIRED[kind] if k not in record]
    if missing:
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} line needs {' and '.join(missing)}"
    if "dir" in record and record["dir"] not in ("c2s", "s2c"):
        return f"dir must be c2s or s2c, not {record['dir']!r}"
    return ""


def _parse(path: str, line: bytes, number: int) -> dict[str, Any]:
    try:
        value = loads(line)
    except ValueError as e:
        raise InputError(path, f"invalid JSON: {e}", number) from None
    if not isinstance(value, dict):
        raise InputError(path, f"expected a JSON object, got {type(value).__name__}", number)
    return value
