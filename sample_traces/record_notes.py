#!/usr/bin/env python
"""Regenerate the bundled replay sample, ``sample_traces/notes_session.jsonl``.

A real ``mcp.Client`` (protocol 2025-11-25, with the initialize handshake) talks to
``notes_server.py`` through ``mcpobs record``; the log is what the recorder wrote. The session keeps
a note, reads it back, lists the keys, answers the server's elicitation (a server-to-client request
the replay answers from the recording) and asks for a note that is not there (a tool error).

Run from the project root: ``python sample_traces/record_notes.py`` (about 3 s). Replay it with
``mcpobs replay sample_traces/notes_session.jsonl -- python sample_traces/notes_server.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from mcp_types import ElicitResult

HERE = Path(__file__).resolve().parent
LOG = HERE / "notes_session.jsonl"


async def _answer(context: Any, params: Any) -> ElicitResult:
    return ElicitResult(action="accept", content={"answer": "blue"})


async def session() -> None:
    # the server command as a user would type it, run from the project root
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    record = ["-m", "mcpobs.cli", "record", "--out", str(LOG), "--", "python", "sample_traces/notes_server.py"]
    params = StdioServerParameters(command=sys.executable, args=record, env=env, cwd=str(HERE.parent))
    async with Client(params, mode="legacy", elicitation_callback=_answer) as client:
        await client.call_tool("put", {"key": "colour", "value": "green"})
        await client.call_tool("echo", {"text": "hello"})
        await client.call_tool("get", {"key": "colour"})
        await client.call_tool("keys", {})
        await client.call_tool("ask", {"question": "Favourite colour?"})
        await client.call_tool("get", {"key": "shape"})


if __name__ == "__main__":
    LOG.unlink(missing_ok=True)
    anyio.run(session)
    print(f"wrote {LOG}", file=sys.stderr)
