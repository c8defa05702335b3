"""Recording a stdio MCP server: start it, forward bytes both ways unchanged, log every message.

The MCP client launches ``mcpobs record --out LOG -- SERVER…`` in place of the
server. Three threads pump the streams (client stdin -> server stdin, server
stdout -> client stdout, server stderr -> our stderr); each line is logged
before it is forwarded. The session ends as the stdio transport says: when
the client closes our stdin we close the server's and give it a moment to
exit before terminating it; when the server exits we close our stdout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mcpobs.errors import ExitCode, McpobsError, UsageError
from mcpobs.eventlog.writer import MESSAGE_LIMIT, Direction, EventLogWriter, not_logged

# After the client closes stdin: how long the server may take to exit, then after SIGTERM.
EXIT_GRACE_SECONDS = 5.0


class ServerStartError(McpobsError):
    """The server command could not be started."""

    exit_code = ExitCode.UNREACHABLE


@dataclass(frozen=True)
class Streams:
    """The client's side of the pipes as file descriptors: our stdin and stdout, and where the
    server's stderr goes. Raw descriptors, not sys.stdin: a thread blocked in a buffered read holds
    its lock, and the interpreter aborts when it cannot take that lock at exit."""

    client_in: int = 0
    client_out: int = 1
    errors: int = 2


def record_stdio(command: list[str], log: EventLogWriter, streams: Streams | None = None) -> int:
    """Run ``command`` as the server between the client and us until either side ends; the
    server's exit status is returned (and logged). SIGTERM and SIGINT stop the server and are logged."""
    if not command:
        raise UsageError("name the server command after --, e.g. mcpobs record --out log.jsonl -- python server.py")
    io = streams or Streams()
    try:
        # a process group of its own: a wrapper (sh -c, npx, uv run) is stopped with what it started
        server = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,
        )
    except OSError as e:
        log.event("server_not_started", error=str(e.strerror or e))
        raise ServerStartError(f"cannot start the server {command[0]!r}: {e.strerror or e}") from None
    log.event("server_started", pid=server.pid)
    assert server.stdin is not None
    assert server.stdout is not None
    assert server.stderr is not None
    server_in, server_out, server_err = server.stdin.fileno(), server.stdout.fileno(), server.stderr.fileno()

    def client_closed(eof: bool) -> None:
        if eof:
            log.event("client_closed")
        with contextlib.suppress(OSError):
            server.stdin.close()  # type: ignore[union-attr]

    def server_closed(eof: bool) -> None:
        with contextlib.suppress(OSError):
            os.close(io.client_out)

    pumps = [
        threading.Thread(
            target=_pump, args=(io.client_in, server_in, "c2s", log, client_closed, io.errors), daemon=True
        ),
        threading.Thread(
            target=_pump, args=(server_out, io.client_out, "s2c", log, server_closed, io.errors), daemon=True
        ),
        threading.Thread(target=_stderr_pump, args=(server_err, io.errors, log), daemon=True),
    ]
    stop = _StopOnSignal(server)
    with stop:
        # the handlers are in place before any message passes: a signal after the first is never fatal
        for pump in pumps:
            pump.start()
        code = _wait(server, pumps[0], log, stop)
    pumps[1].join(timeout=EXIT_GRACE_SECONDS)
    pumps[2].join(timeout=EXIT_GRACE_SECONDS)
    log.event("server_exited", code=code)
    if stop.signal is not None:
        raise KeyboardInterrupt
    return code


def _wait(
    server: subprocess.Popen[bytes], client_pump: threading.Thread, log: EventLogWriter, stop: _StopOnSignal
) -> int:
    """The server's exit status: it exits on its own, or after the client has gone (or we were told to
    stop) and it did not follow: then SIGTERM, and SIGKILL if that is not enough either."""
    while True:
        try:
            code = server.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            code = None
        if stop.signal is not None:
            # logged here, not in the handler: a handler that logged could interrupt a line being written
            log.event("recorder_stopped", signal=signal.Signals(stop.signal).name)
            return code if code is not None else _stop_server(server, log, terminated=True)
        if code is not None:
            return code
        if not client_pump.is_alive():
            return _stop_server(server, log, terminated=False)


def _stop_server(server: subprocess.Popen[bytes], log: EventLogWriter, *, terminated: bool) -> int:
    # the client closed our stdin and the server's; the transport gives it a moment, then SIGTERM, then SIGKILL
    if not terminated:
        try:
            return server.wait(timeout=EXIT_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            log.event("server_terminated", reason="still running after the client closed stdin")
            _signal_group(server, signal.SIGTERM)
    try:
        return server.wait(timeout=EXIT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        log.event("server_killed", reason="still running after SIGTERM")
        _signal_group(server, signal.SIGKILL)
        return server.wait()


def _signal_group(server: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the server's whole process group (it leads one), and the server itself should that fail."""
    try:
        os.killpg(server.pid, sig)
    except OSError:
        with contextlib.suppress(OSError):
            server.send_signal(sig)


@dataclass(frozen=True)
class Piece:
    """What :func:`read_pieces` yields: a whole line, or a piece of a line too long to hold (``whole``
    False; ``starts`` on its first piece, whose bytes are all of it held until then)."""

    data: bytes
    whole: bool = True
    starts: bool = False


def read_pieces(fd: int, limit: int) -> Iterator[Piece]:
    """The lines read from ``fd``, each with its newline, as soon as each is whole; then the
    unterminated rest, if any, at end of file. A line longer than ``limit`` bytes is not held: its
    bytes come in pieces as they are read, until its newline."""
    parts: list[bytes] = []  # the pieces of a line not yet ended: joined once, so a huge line costs linear time
    held = 0
    too_long = False  # inside a line longer than the limit
    while chunk := os.read(fd, 65536):
        start = 0
        while start < len(chunk):
            end = chunk.find(b"\n", start)
            stop = len(chunk) if end < 0 else end + 1
            part, start = chunk[start:stop], stop
            if too_long:
                yield Piece(part, whole=False)
            elif held + len(part) > limit:
                yield Piece(b"".join([*parts, part]), whole=False, starts=True)
                parts, held, too_long = [], 0, True
            elif end >= 0:
                yield Piece(b"".join([*parts, part]))
                parts, held = [], 0
            else:
                parts.append(part)
                held += len(part)
            if end >= 0:
                too_long = False
    if parts:
        yield Piece(b"".join(parts))


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _pump(
    source: int, sink: int, direction: Direction, log: EventLogWriter, closed: Callable[[bool], None], errors: int
) -> None:
    """Forward ``source`` to ``sink`` a line (a message) at a time, logging each first; ``closed(eof)``
    is told at the end whether ``source`` ended (rather than ``sink`` failing)."""
    eof = False
    try:
        for piece in read_pieces(source, MESSAGE_LIMIT):
            if piece.whole:
                _log_safely(log, direction, piece.data)
            elif piece.starts:
                _not_logged(log, errors, direction)
            write_all(sink, piece.data)
        eof = True
    except OSError:
        pass  # the receiving side is gone: what passed is logged, and the caller logs the end
    finally:
        closed(eof)


def _log_safely(log: EventLogWriter, direction: Direction, line: bytes) -> None:
    """Log a message; a failure to log it is itself logged, and never stops the message."""
    try:
        log.message(direction, line)
    except Exception as e:  # the session matters more than its record
        with contextlib.suppress(Exception):
            log.event("log_error", dir=direction, error=f"{type(e).__name__}: {e}")


def _not_logged(log: EventLogWriter, errors: int, direction: Direction | None) -> None:
    """A line too long to hold is passed on as it comes but not logged: the log and our stderr say so.
    The stderr line goes out whole before the long line's first byte, so it never splits a line of the
    server's stderr that the long one is."""
    side = {"c2s": "a client message", "s2c": "a server message", None: "a server stderr line"}[direction]
    where = {"dir": direction} if direction else {"stream": "stderr"}
    not_logged(log, f"{side} longer than {MESSAGE_LIMIT} bytes", lambda text: _warn(errors, text), **where)


def _warn(errors: int, text: str) -> None:
    with contextlib.suppress(OSError):
        write_all(errors, f"{text}\n".encode())


def _stderr_pump(source: int, sink: int, log: EventLogWriter) -> None:
    with contextlib.suppress(OSError):
        for piece in read_pieces(source, MESSAGE_LIMIT):
            if piece.whole:
                log.stderr(piece.data)
            elif piece.starts:
                _not_logged(log, sink, None)
            write_all(sink, piece.data)


class _StopOnSignal:
    """While recording, SIGTERM and SIGINT stop the server instead of killing us mid-line; a second
    signal kills it at once."""

    def __init__(self, server: subprocess.Popen[bytes]) -> None:
        self.server = server
        self.signal: int | None = None
        self._before: dict[int, object] = {}

    def __enter__(self) -> _StopOnSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._before[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._before.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _handle(self, sig: int, frame: object) -> None:
        if self.signal is None:
            self.signal = sig
            _signal_group(self.server, signal.SIGTERM)
        else:
            _signal_group(self.server, signal.SIGKILL)
