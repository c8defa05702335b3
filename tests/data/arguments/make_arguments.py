#!/usr/bin/env python
"""Record a model-style client sending invalid tool arguments to mcp-server-time, through ``mcpobs record``.

Run from the repository root after ``bash .ci/thirdparty-servers`` (mcp-server-time in a venv of its own):
``.venv/bin/python tests/data/arguments/make_arguments.py`` (a few seconds). It writes, next to itself:

* ``time.log.jsonl``: an mcp SDK ``Client`` in ``mode="legacy"`` (a 2025-11-25 session over stdio);
* ``time-2026.log.jsonl``: the same client in ``mode="auto"`` (2026-07-28, no session).

Each lists the tools, then sends what a model inventing or mistyping arguments sends, as
:data:`CALLS` lists: valid calls, a wrong type, a missing required key, an extra key (which the
server's inputSchema allows: no ``additionalProperties: false``), and a call with no arguments.
The client validates no arguments (the SDK checks only results against ``outputSchema``), so each
goes to the server as written.

* ``structured.log.jsonl``: the same client (``mode="legacy"``) against ``structured_server.py``, a
  real mcp SDK low-level server whose tools advertise an ``outputSchema``: :data:`STRUCTURED_CALLS`.
  ``forecast_legacy`` answers structured content that does not conform (the client raises on it, and
  goes on); a call with a key the inputSchema forbids (``additionalProperties: false``) is answered.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

# (tool, arguments): None sends a tools/call without arguments
CALLS: list[tuple[str, dict[str, Any] | None]] = [
    ("get_current_time", {"timezone": "Europe/Paris"}),
    ("get_current_time", {"timezone": "Asia/Tokyo"}),
    ("get_current_time", {"timezone": 5}),  # wrong type
    ("get_current_time", {"tz": "UTC"}),  # required key missing, an invented one instead
    ("get_current_time", {"timezone": "UTC", "format": "iso"}),  # an extra key the schema allows
    ("get_current_time", None),  # no arguments at all
    ("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}),
    ("convert_time", {"source_timezone": "UTC", "time": 1200, "target_timezone": "Asia/Tokyo"}),  # wrong type
    ("convert_time", {"source_timezone": "UTC", "time": "12:00"}),  # target_timezone missing
]


STRUCTURED_CALLS: list[tuple[str, dict[str, Any] | None]] = [
    ("forecast", {"city": "Oslo"}),
    ("forecast_legacy", {"city": "Oslo"}),  # a result that does not conform to the outputSchema
    ("forecast", {"city": "Oslo", "days": 2}),  # a key the inputSchema forbids
]


async def session(client: Any) -> None:
    await client.list_tools()
    for tool, arguments in CALLS:
        await client.call_tool(tool, arguments)


async def structured_session(client: Any) -> None:
    await client.list_tools()
    for tool, arguments in STRUCTURED_CALLS:
        try:
            await client.call_tool(tool, arguments)
        except RuntimeError as e:  # the SDK client's own output-schema check
            print(f"{tool}: {e}".splitlines()[0], file=sys.stderr)


if __name__ == "__main__":
    from tests.thirdparty.conftest import record_stdio, time_server

    structured = [sys.executable, str(HERE / "structured_server.py")]
    for name, command, mode, run in (
        ("time.log.jsonl", time_server(), "legacy", session),
        ("time-2026.log.jsonl", time_server(), "auto", session),
        ("structured.log.jsonl", structured, "legacy", structured_session),
    ):
        log = HERE / name
        log.unlink(missing_ok=True)
        record_stdio(log, command, mode, run)
        print(f"wrote {log}")
