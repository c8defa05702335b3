"""Servers and ``mcpobs record`` started on 127.0.0.1 for tests, the data generators in tests/data and the
benchmarks: one free-port, wait and stop routine for all of them.

Standard library only, so that a generator run by its path (``python tests/data/auth/make_auth.py``, in
whatever environment its instrumentation needs) can import it once the repository root is on sys.path.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
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
        recorder.send_signal(signal.SIGTERM)
        try:
            recorder.wait(timeout=15)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait(timeout=15)
