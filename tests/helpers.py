"""Servers and ``mcpobs record`` started on 127.0.0.1 for tests, the data generators in tests/data and the
benchmarks: one free-port, wait and stop routine for all of them.

Standard library only, so that a generator run by its path (``python tests/data/auth/make_auth.py``, in
whatever environment its instrumentation needs) can import it once the repository root is on sys.path.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

RECORD = [sys.executable, "-m", "mcpobs.cli", "record"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, seconds: float = 30.0) -> None:
    """Wait until something listens on ``port`` (a server just started), at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def stop(process: subprocess.Popen[bytes], seconds: float = 15.0) -> None:
    """SIGTERM, and SIGKILL when the process is still there ``seconds`` later."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


class Piped:
    """A process run with its stdin, stdout and stderr piped: its stdout lines queued as they come and its
    stderr gathered, both drained by threads (a full pipe stalls the process), so that every wait is bounded."""

    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.stderr = bytearray()
        threading.Thread(target=self._queue_lines, daemon=True).start()
        self._stderr_read = threading.Thread(target=self._gather_stderr, daemon=True)
        self._stderr_read.start()

    def _queue_lines(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def _gather_stderr(self) -> None:
        assert self.process.stderr is not None
        self.stderr.extend(self.process.stderr.read())

    def send(self, *chunks: bytes) -> bytes:
        """Write ``chunks`` to its stdin; the next line it writes (waited for a minute at most)."""
        assert self.process.stdin is not None
        for chunk in chunks:
            self.process.stdin.write(chunk)
        self.process.stdin.flush()
        return self.lines.get(timeout=60)

    def close(self, seconds: float = 30.0) -> int:
        """Close its stdin: its exit status once it has ended and its stderr is read (``seconds`` each at most)."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        status = self.process.wait(timeout=seconds)
        self._stderr_read.join(timeout=seconds)
        return status

    def kill(self) -> None:
        """Kill it, where it still runs."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def listening(command: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server ``command`` that listens on ``port`` (its stdout and stderr dropped) until it does;
    stopped on the way out."""
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield server
    finally:
        stop(server)


@contextmanager
def serving(command: list[str]) -> Iterator[str]:
    """Run a test server, ``command`` with a free port as its last argument, and give its MCP URL on
    127.0.0.1 once it listens; it is stopped on the way out."""
    port = free_port()
    with listening([*command, str(port)], port):
        yield f"http://127.0.0.1:{port}/mcp"


@contextmanager
def recording(log: Path, upstream: str) -> Iterator[str]:
    """``mcpobs record --upstream`` in front of ``upstream``, writing ``log``: the URL to point the client
    at. Stopped with SIGTERM on the way out, as a user stops it (the log then ends ``recorder_stopped``)."""
    recorder = subprocess.Popen(
        [*RECORD, "--out", str(log), "--upstream", upstream, "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE
    )
    try:
        assert recorder.stderr is not None
        line = recorder.stderr.readline().decode()  # bounded: the recorder prints it or exits
        match = re.search(r"point the MCP client at (\S+)", line)
        if match is None:
            raise RuntimeError(f"mcpobs record did not start: {line.strip()}")
        yield match.group(1)
    finally:
        stop(recorder)


def signalled(
    command: list[str],
    tmp_path: Path,
    sig: signal.Signals,
    ready: Callable[[subprocess.Popen[bytes]], bool],
    env: dict[str, str] | None = None,
    wait_s: float = 300,
) -> tuple[int, str, float]:
    """Run ``command`` (with ``env`` added to the environment and TMPDIR a new folder of ``tmp_path``),
    send ``sig`` once ``ready`` says so: its exit status, stderr, and seconds from the signal to the exit.
    Every wait is bounded by ``wait_s``; no spill or spool directory may be left in that TMPDIR."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **(env or {}), "TMPDIR": str(tmp)},
    )
    try:
        deadline = time.monotonic() + wait_s
        while not ready(process):
            assert process.poll() is None, "it ended before the moment came"
            assert time.monotonic() < deadline, "the moment never came"
            time.sleep(0.005)
        process.send_signal(sig)
        sent = time.monotonic()
        process.wait(timeout=wait_s)
        took = time.monotonic() - sent
        assert process.stderr is not None
        stderr = process.stderr.read().decode()
    finally:
        process.kill()
        process.wait()
    assert list(tmp.iterdir()) == []  # no spill or spool directory left behind
    return process.returncode, stderr, took
