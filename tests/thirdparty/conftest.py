"""Third-party MCP servers that nobody here wrote, for proving the replay on them: mcp-server-time and
mcp-server-git (PyPI), @modelcontextprotocol/server-everything (npm, over stdio and Streamable HTTP on
127.0.0.1 only). ``.ci/thirdparty-servers`` installs them, pinned, in ``.ci/servers`` (or where
``MCPOBS_THIRDPARTY_SERVERS`` says); without them these tests skip, except in CI, where they fail.

Sessions are recorded at test time, as a user would: a real mcp SDK client (the project's) through
``mcpobs record`` (stdio, or ``--upstream``/``--listen`` for HTTP) in front of the real server.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.conftest import ROOT, free_port, wait_for_port

SERVERS = Path(os.environ.get("MCPOBS_THIRDPARTY_SERVERS") or ROOT / ".ci" / "servers")
LOCALHOST = Path(__file__).parent / "localhost.cjs"
Session = Callable[[Client], Awaitable[Any]]


def installed(path: Path) -> Path:
    """``path`` of an installed server; a skip naming the install step when it is missing (a failure
    in CI, so CI cannot pass without the proof)."""
    missing = None if path.exists() else path
    if path.suffix == ".js" and shutil.which("node") is None:
        missing = "node"
    if missing is not None:
        message = f"{missing} is missing: install the third-party servers with `bash .ci/thirdparty-servers`"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (.ci/run does it)")
        pytest.skip(message)
    return path


def time_server() -> list[str]:
    return [str(installed(SERVERS / "venv" / "bin" / "mcp-server-time")), "--local-timezone", "UTC"]


# who commits, and when: a commit the server makes then has the same hash in the recording and the replay
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "mcpobs test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "mcpobs test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def git_server(repository: Path) -> list[str]:
    server = str(installed(SERVERS / "venv" / "bin" / "mcp-server-git"))
    return ["env", *(f"{k}={v}" for k, v in GIT_IDENTITY.items()), server, "--repository", str(repository)]


def everything_js() -> str:
    package = SERVERS / "npm" / "node_modules" / "@modelcontextprotocol" / "server-everything"
    return str(installed(package / "dist" / "index.js"))


def everything_stdio() -> list[str]:
    return ["node", everything_js(), "stdio"]


def with_pid(pidfile: Path, command: list[str]) -> list[str]:
    """``command`` run so that its process id is in ``pidfile`` (rewritten at each restart): a test can
    then kill -9 the very server process the replay talks to."""
    return ["sh", "-c", f'echo $$ > "{pidfile}"; exec "$@"', "sh", *command]


def kill_9(pidfile: Path) -> int:
    pid = int(pidfile.read_text())
    os.kill(pid, signal.SIGKILL)
    return pid


def wait_until(what: str, ready: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {seconds:g} s for {what}")
        time.sleep(0.02)


def record_stdio(log: Path, command: list[str], mode: str, session: Session) -> Path:
    """Record ``session`` (what a real mcp Client does) through ``mcpobs record`` in front of ``command``."""
    args = ["-m", "mcpobs.cli", "record", "--out", str(log), "--", *command]
    run_client(StdioServerParameters(command=sys.executable, args=args), mode, session)
    return log


def run_client(server: Any, mode: str, session: Session) -> None:
    async def run() -> None:
        with anyio.fail_after(60):
            async with Client(server, mode=mode) as client:
                await session(client)

    anyio.run(run)


class SupervisedHttp:
    """A server on Streamable HTTP at 127.0.0.1, under a supervisor that starts it again whenever it
    exits: at once, or once the test calls :meth:`restart` after ``kill_9(restart=False)``. ``command``
    is a shell command line; it finds its port in ``$PORT``."""

    def __init__(self, workdir: Path, command: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.pidfile = workdir / "server.pid"
        self.gate = workdir / "gate"
        self.gate.touch()
        # the server's pid in the pidfile (the shell execs it); a killed server comes back when the
        # gate file exists
        script = (
            f"while true; do sh -c 'echo $$ > \"{self.pidfile}\"; exec {command}' >/dev/null 2>&1; "
            f'while [ ! -e "{self.gate}" ]; do sleep 0.05; done; done'
        )
        env = {**os.environ, "PORT": str(self.port)}
        self.supervisor = subprocess.Popen(["sh", "-c", script], start_new_session=True, env=env)
        try:
            wait_for_port(self.port, 60)
        except TimeoutError:
            self.stop()
            raise

    def kill_9(self, restart: bool = True) -> None:
        """kill -9 the server; the supervisor starts it again at once if ``restart``, else when the
        test calls :meth:`restart`."""
        if not restart:
            self.gate.unlink()
        kill_9(self.pidfile)

    def restart(self) -> None:
        self.gate.touch()

    def stop(self) -> None:
        os.killpg(self.supervisor.pid, signal.SIGKILL)
        self.supervisor.wait(timeout=10)


# mcp-server-time's own server (its create_server), served by its mcp SDK over Streamable HTTP: the
# package's command line offers stdio only, and a 2026-07-28 server over HTTP is wanted too
TIME_HTTP = """import os
from mcp_server_time.server import create_server
create_server("UTC").run("streamable-http", host="127.0.0.1", port=int(os.environ["PORT"]))
"""


@pytest.fixture
def everything_http(tmp_path: Path) -> Iterator[SupervisedHttp]:
    server = SupervisedHttp(tmp_path, f'node -r "{LOCALHOST}" "{everything_js()}" streamableHttp')
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def time_http(tmp_path: Path) -> Iterator[SupervisedHttp]:
    python = installed(SERVERS / "venv" / "bin" / "python")
    launcher = tmp_path / "time_http.py"
    launcher.write_text(TIME_HTTP)
    server = SupervisedHttp(tmp_path, f'"{python}" "{launcher}"')
    try:
        yield server
    finally:
        server.stop()
