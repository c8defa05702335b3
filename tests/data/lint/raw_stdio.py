"""A client that writes the JSON-RPC wire format by hand to a stdio server started through
``mcpobs record``: what the generators beside it use to send what no SDK client sends."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


class RawStdio:
    """``mcpobs record --out LOG -- python misbehaving_server.py``, spoken to line by line."""

    def __init__(self, log: Path) -> None:
        log.unlink(missing_ok=True)
        server = [sys.executable, str(HERE / "misbehaving_server.py")]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mcpobs.cli", "record", "--out", str(log), "--", *server],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        self.pending = b""
        self.received: list[dict[str, Any]] = []

    def send(self, *messages: dict[str, Any] | str) -> None:
        """Write the messages (a str as it is: a line that may not be JSON) in one write."""
        lines = [m if isinstance(m, str) else json.dumps(m) for m in messages]
        assert self.proc.stdin is not None
        self.proc.stdin.write("".join(line + "\n" for line in lines).encode())
        self.proc.stdin.flush()

    def answer(self, key: Any, timeout: float = 20) -> dict[str, Any]:
        """Read lines until the response with id ``key`` (a bounded wait)."""
        return self._until(lambda m: m.get("id") == key and "method" not in m, f"an answer to id {key!r}", timeout)

    def request(self, method: str, timeout: float = 20) -> dict[str, Any]:
        """Read lines until the server sends a request of ``method`` (a bounded wait)."""
        return self._until(lambda m: m.get("method") == method and "id" in m, f"a {method} request", timeout)

    def _until(self, wanted: Callable[[dict[str, Any]], bool], what: str, timeout: float) -> dict[str, Any]:
        """The first message received (now or before) that is ``wanted``; those it passes stay for later."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self.pending:
                line, self.pending = self.pending.split(b"\n", 1)
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    self.received.append(message)
            for message in self.received:
                if wanted(message):
                    self.received.remove(message)
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {what}")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if ready:
                chunk = self.proc.stdout.read1(65536)  # type: ignore[attr-defined]
                if not chunk:
                    raise EOFError(f"the server closed before {what}")
                self.pending += chunk

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
