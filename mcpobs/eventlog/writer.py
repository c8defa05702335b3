"""Writing an event log: each line whole, in one write, as it happens."""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from mcpobs import __version__
from mcpobs.eventlog.ids import id_key
from mcpobs.eventlog.redact import Redactor

FORMAT = "mcpobs-event-log"
VERSION = 1

Direction = Literal["c2s", "s2c"]
# The most of one message a recorder holds to log it (a stdio line, an SSE event, a decoded HTTP body): a
# small gzip body can inflate a thousandfold (200 KB to 200 MB), a server can write a line that never
# ends, all of it in the recorder's memory and on one log line. Past it the bytes still go on as they
# came, and a body_not_logged event says why the log lacks them.
MESSAGE_LIMIT = 16 << 20
PROTOCOL_META = "io.modelcontextprotocol/protocolVersion"
CLIENT_META = "io.modelcontextprotocol/clientInfo"


def not_logged(log: EventLogWriter, what: str, warn: Callable[[str], None], **facts: Any) -> None:
    """A message passed on but too large to log (``what`` says which and why): a ``body_not_logged``
    event in the log and a warning line to ``warn``, said the same way by every recorder, since a log
    that silently lacks a message reads as a session that lacked it."""
    with contextlib.suppress(Exception):  # the session matters more than its record
        log.event("body_not_logged", **facts, reason=f"{what}; forwarded as it came, not logged")
    warn(f"mcpobs: warning: {what} passed on but not logged (body_not_logged in the log)")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value} is not a finite number")
    return number


class EventLogWriter:
    """Appends the lines of one session's log; safe to call from the threads that forward messages.

    Every line goes to disk in a single ``write`` on an unbuffered file, so a
    process killed at any moment leaves whole lines; a message is logged before
    it is forwarded, so the log never lacks one the other side received.
    """

    def __init__(
        self, path: Path, redactor: Redactor, transport: str, server: dict[str, Any], *, resume: bool = False
    ) -> None:
        """Start a new log at ``path`` (which must not exist), or with ``resume`` go on with the one there."""
        self.path = path
        self.redactor = redactor
        self._lock = threading.Lock()
        self.protocol_version: str | None = None
        self._agreement = ProtocolAgreement()
        if resume and path.exists():
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            self.protocol_version = "resumed"  # stated already, if it was: never twice
            return
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        now = time.time_ns()
        started = datetime.fromtimestamp(now / 1e9, tz=UTC).isoformat()
        self._line(header_record(transport, server, now, started, redactor.describe()))

    def message(self, direction: Direction, raw: bytes, http: dict[str, Any] | None = None) -> None:
        """One message as it crossed the wire: the JSON-RPC message itself (secrets redacted), or
        the text of a line that is not JSON."""
        t = time.time_ns()
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        duplicates: list[str] = []
        try:
            message = json.loads(
                text, parse_constant=_no_constants, parse_float=_finite, object_pairs_hook=_pairs(duplicates)
            )
        except ValueError:
            self._line({"t": t, "kind": "invalid", "dir": direction, "text": self.redactor.line(text), **_http(http)})
            return
        redacted, changed = self.redactor.message(message)
        head = json.dumps({"t": t, "kind": "message", "dir": direction, **_http(http)}, ensure_ascii=False)
        # the message as it was sent, byte for byte, unless redaction changed it, it spans lines (a
        # pretty-printed HTTP body), or a key repeats (the parsed message keeps the last only; a secret
        # in the first would reach the disk unredacted)
        verbatim = not changed and not duplicates and "\n" not in text and "\r" not in text
        body = text.strip() if verbatim else json.dumps(redacted, ensure_ascii=False, separators=(",", ":"))
        self._write(f'{head[:-1]}, "message": {body}}}')
        self._notice_protocol(direction, message, http)

    def stderr(self, raw: bytes) -> None:
        """A line the server wrote to stderr."""
        text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        self._line({"t": time.time_ns(), "kind": "stderr", "text": self.redactor.line(text)})

    def event(self, event: str, **details: Any) -> None:
        """Something that happened to the transport: the server started or exited, a side closed."""
        self._line({"t": time.time_ns(), "kind": "event", "event": event, **details})

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def _notice_protocol(self, direction: Direction, message: Any, http: dict[str, Any] | None) -> None:
        """Log the protocol revision once the server has accepted it."""
        if self.protocol_version is not None:
            return
        for one in messages_of(message):
            stated = self._agreement.feed(direction, one, http)
            if stated is None:
                continue
            version, source = stated
            self.protocol_version = version
            self._line({"t": time.time_ns(), "kind": "protocol", "protocol_version": version, "source": source})
            return

    def _line(self, record: dict[str, Any]) -> None:
        self._write(json.dumps(record, ensure_ascii=False))

    def _write(self, line: str) -> None:
        # a lone surrogate (a "\ud800" escape in a message) is written as that escape again, still JSON
        data = (line + "\n").encode("utf-8", errors="backslashreplace")
        with self._lock:
            if self._fd < 0:
                return
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]


def stated_protocol(direction: str, message: Any) -> tuple[str, str] | None:
    """The protocol revision a message states, and where: an ``initialize`` result's
    ``protocolVersion`` (revisions with sessions), or a request's ``_meta`` (2026-07-28, which has no
    ``initialize``); None when it states none."""
    if not isinstance(message, dict):
        return None
    result, params = message.get("result"), message.get("params")
    if direction == "s2c" and isinstance(result, dict) and isinstance(result.get("protocolVersion"), str):
        return result["protocolVersion"], "initialize result"
    if isinstance(params, dict) and isinstance(params.get("_meta"), dict):
        version = params["_meta"].get(PROTOCOL_META)
        if isinstance(version, str):
            return version, f"_meta of {message.get('method', 'a message')}"
    return None


class ProtocolAgreement:
    """The revision a session settled on, found message by message: an ``initialize`` result's
    ``protocolVersion`` (revisions with sessions), or the revision a request's ``_meta`` states
    (2026-07-28) once the server answers that request with a result. A revision only tried is none:
    a ``server/discover`` that a 2025-era server refused (an HTTP 400, a JSON-RPC error) before the
    client fell back to ``initialize`` says nothing of the session."""

    def __init__(self) -> None:
        self._asked: dict[str, tuple[str, str]] = {}  # a client request's id → the revision it states, its method

    def feed(self, direction: str, message: Any, http: dict[str, Any] | None = None) -> tuple[str, str] | None:
        """The revision and where it was agreed, when this message settles it; else None."""
        if not isinstance(message, dict):
            return None
        result = message.get("result")
        if direction == "s2c" and isinstance(result, dict) and isinstance(result.get("protocolVersion"), str):
            return result["protocolVersion"], "initialize result"
        if direction == "c2s" and isinstance(message.get("method"), str) and "id" in message:
            stated = stated_protocol(direction, message)
            if stated is not None:
                self._asked[id_key(message["id"])] = (stated[0], message["method"])
            return None
        if direction == "s2c" and "method" not in message and "id" in message:
            asked = self._asked.pop(id_key(message["id"]), None)
            status = http.get("status") if isinstance(http, dict) else None
            refused = isinstance(status, int) and status >= 400
            if asked is not None and isinstance(result, dict) and not refused:
                return asked[0], f"answered {asked[1]}"
        return None


def messages_of(body: Any) -> list[Any]:
    """The JSON-RPC messages one body (or a ``message`` line) holds: a batch's, else the one (objects or not)."""
    return body if isinstance(body, list) else [body]


def agreed_protocol(records: list[dict[str, Any]]) -> str | None:
    """The revision a log's session settled on (:class:`ProtocolAgreement`), from its messages; else
    its ``protocol`` line (a converted recording's stated revision); None when neither says."""
    agreement = ProtocolAgreement()
    for record in records:
        if record.get("kind") != "message":
            continue
        for message in messages_of(record["message"]):
            agreed = agreement.feed(record["dir"], message, record.get("http"))
            if agreed is not None:
                return agreed[0]
    return next((r["protocol_version"] for r in records if r.get("kind") == "protocol"), None)


def header_record(
    transport: str, server: dict[str, Any], t: int, started: Any, redaction: dict[str, Any]
) -> dict[str, Any]:
    """The first line of a log, written by the recorder or made for a converted recording."""
    return {
        "kind": "header",
        "format": FORMAT,
        "version": VERSION,
        "mcpobs_version": __version__,
        "transport": transport,
        "server": server,
        "protocol_version": None,
        "started": started,
        "t": t,
        "redaction": redaction,
    }


def _pairs(duplicates: list[str]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            duplicates.append("")
        return out

    return hook


def _http(http: dict[str, Any] | None) -> dict[str, Any]:
    return {"http": http} if http else {}
