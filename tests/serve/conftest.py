"""Recordings for the serve tests, made by a real mcp client through ``mcpobs record``, and ``mcpobs
serve`` run as the process a client starts (stdio) or connects to (HTTP)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.record.test_stdio import _recorder, _session
from tests.replay.conftest import record

SERVE = [sys.executable, "-m", "mcpobs.cli", "serve"]
# the notes server: a get before the put is an isError result, after it the value, so one request
# has two recorded answers
NOTES_CALLS = [
    ("get", {"key": "shape"}),
    ("put", {"key": "shape", "value": "round"}),
    ("get", {"key": "shape"}),
    ("echo", {"text": "hello"}),
]
# the toolbox: progress notifications, and an isError result
TOOLBOX_CALLS = [("count", {"steps": 3}), ("echo", {"text": "a"}), ("fail", {"reason": "x"})]
T = TypeVar("T")


@pytest.fixture(scope="session")
def notes_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The notes session recorded in both eras: legacy (2025-11-25) and auto (2026-07-28)."""
    where = tmp_path_factory.mktemp("serve-notes")
    return {mode: record(where / f"{mode}.jsonl", mode, NOTES_CALLS, list_first=True) for mode in ("legacy", "auto")}


@pytest.fixture(scope="session")
def toolbox_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2025 session of the toolbox over stdio, with progress (not redacted: redaction takes the
    ``api_key`` property out of the ``login`` tool's input schema, which no client could then read)."""
    log = tmp_path_factory.mktemp("serve-toolbox") / "toolbox.jsonl"
    _session(_recorder(log, "--no-redact"), "legacy", TOOLBOX_CALLS)
    return log


def stdio_server(recording: Path, *options: str, stderr: Path | None = None) -> StdioServerParameters:
    """``mcpobs serve`` as a client's stdio server command (its stderr into ``stderr``, if given)."""
    command = [*SERVE, str(recording), *options]
    if stderr is None:
        return StdioServerParameters(command=command[0], args=command[1:])
    return StdioServerParameters(command="sh", args=["-c", f'exec "$@" 2>>"{stderr}"', "sh", *command])


def with_client(server: Any, mode: str, session: Callable[[Client], Awaitable[T]], seconds: float = 60) -> T:
    """Run ``session`` with a real mcp Client of ``mode`` connected to ``server``."""
    out: list[T] = []

    async def run() -> None:
        with anyio.fail_after(seconds):
            async with Client(server, mode=mode) as client:  # type: ignore[arg-type]
                out.append(await session(client))

    anyio.run(run)
    return out[0]


def texts(result: Any) -> tuple[bool, str]:
    """A tool result as (is_error, its first text)."""
    return bool(result.is_error), result.content[0].text


class HttpServe:
    """``mcpobs serve --listen 127.0.0.1:0`` as a process: its URL, stopped with SIGTERM."""

    def __init__(self, recording: Path, *options: str) -> None:
        command = [*SERVE, str(recording), "--listen", "127.0.0.1:0", *options]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.process.stderr is not None
        said = []
        while True:  # bounded: the process says where it listens, or exits
            line = self.process.stderr.readline().decode()
            said.append(line)
            match = re.search(r"point the MCP client at (\S+)", line)
            if match or not line:
                break
        assert match, "".join(said)
        self.url = match.group(1)
        self.stderr = ""

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=15)
        self.stderr = err.decode()
        return self.process.returncode

    def __enter__(self) -> HttpServe:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
