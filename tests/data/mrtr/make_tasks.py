#!/usr/bin/env python
"""Record a task-augmented ``tools/call`` polled with ``tasks/get``, through ``mcpobs record``.

Run from the repository root: ``.venv/bin/python tests/data/mrtr/make_tasks.py NODE_MODULES`` where
NODE_MODULES holds ``@modelcontextprotocol/server-everything`` 2026.8.31 (``npm install
@modelcontextprotocol/server-everything@2026.8.31``; it uses @modelcontextprotocol/sdk 1.32.2).

The server is real: server-everything over stdio, whose ``simulate-research-query`` tool requires a
task (tasks, SEP-1686, as in revision 2025-11-25; 2026-07-28 made them an extension). No client here
speaks tasks (the mcp SDK 2.3 has their types only), so the client is this script writing the wire
format by hand: ``initialize`` (2025-11-25), ``tools/call`` with ``task: {ttl}``, answered with a
``CreateTaskResult`` (``task.taskId``, status ``working``); ``tasks/get`` every 0.4 s until the
status is ``completed``; ``tasks/result`` for the tool's result. Then a plain ``tools/call echo``.
Writes ``tasks-2025.log.jsonl``; and ``tasks-abandoned-2025.log.jsonl``, where the client polls twice
and closes while the task is still ``working``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def main(node_modules: Path, name: str) -> None:
    log = HERE / f"{name}.log.jsonl"
    log.unlink(missing_ok=True)
    server = node_modules / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcpobs.cli", "record", "--out", str(log), "--", "node", str(server), "stdio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    ids = iter(range(1, 1000))

    def request(method: str, params: dict[str, Any]) -> dict[str, Any]:
        key = next(ids)
        proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": key, "method": method, "params": params}).encode() + b"\n")
        proc.stdin.flush()
        while True:  # the server's notifications come in between; the answer has our id
            message = json.loads(proc.stdout.readline())
            if message.get("id") == key and "method" not in message:
                return message

    info = {"name": "tasks-by-hand", "version": "1.0.0"}
    request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {"tasks": {}}, "clientInfo": info})
    proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    proc.stdin.flush()
    arguments = {"topic": "tide tables"}
    created = request("tools/call", {"name": "simulate-research-query", "arguments": arguments, "task": {"ttl": 60000}})
    task_id = created["result"]["task"]["taskId"]
    deadline = time.monotonic() + 60
    polls = 0
    while time.monotonic() < deadline:
        time.sleep(0.4)
        status = request("tasks/get", {"taskId": task_id})["result"]["status"]
        polls += 1
        if status in ("completed", "failed", "cancelled") or ("abandoned" in name and polls == 2):
            break
    if "abandoned" not in name:
        request("tasks/result", {"taskId": task_id})
        request("tools/call", {"name": "echo", "arguments": {"message": "after the task"}})
    proc.stdin.close()
    proc.wait(timeout=30)


if __name__ == "__main__":
    for scenario in ("tasks-2025", "tasks-abandoned-2025"):
        main(Path(sys.argv[1]), scenario)
