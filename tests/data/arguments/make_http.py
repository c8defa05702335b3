#!/usr/bin/env python
"""Record a model-style client sending invalid tool arguments over Streamable HTTP, through ``mcpobs record``
(``--upstream``, the HTTP proxy), to real servers on 127.0.0.1.

Run from the repository root after ``bash .ci/thirdparty-servers``:
``.venv/bin/python tests/data/arguments/make_http.py`` (a few seconds). It writes, next to itself:

* ``everything-http.log.jsonl``: the mcp SDK ``Client`` (``mode="legacy"``, a 2025-11-25 session) against
  ``@modelcontextprotocol/server-everything`` (npm, TypeScript SDK, a 2025-era server: draft-07 schemas)
  in ``streamableHttp`` mode, forced onto 127.0.0.1: :data:`EVERYTHING_CALLS`;
* ``time-http.log.jsonl`` and ``time-http-2026.log.jsonl``: the same client in ``mode="legacy"`` and
  ``mode="auto"`` (2026-07-28: no session, each request carrying its ``_meta``) against mcp-server-time's
  own server served by its mcp SDK over Streamable HTTP: make_arguments.py's :data:`CALLS`.

The client validates no arguments (the SDK checks only results against ``outputSchema``), so each call
goes to the server as written; the servers check them themselves and answer an ``isError`` result.
``get-env`` is never called: it answers the server's environment, which has no place in test data.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

# (tool, arguments): None sends a tools/call without arguments
EVERYTHING_CALLS: list[tuple[str, dict[str, Any] | None]] = [
    ("echo", {"message": "hello"}),
    ("echo", {"message": 42}),  # wrong type
    ("echo", {"text": "hello"}),  # the required key missing, an invented one instead
    ("get-sum", {"a": 2, "b": 3}),
    ("get-sum", {"a": "2", "b": 3}),  # a number sent as a string
    ("get-sum", {"a": 2}),  # b missing
    ("get-sum", None),  # no arguments at all
    ("get-structured-content", {"location": "Chicago"}),  # its result checked against the outputSchema
    ("get-structured-content", {"location": "Paris"}),  # not one of the enum's cities
    ("get-resource-links", {"count": 20}),  # above the schema's maximum of 10
]


async def everything_session(client: Any) -> None:
    await client.list_tools()
    for tool, arguments in EVERYTHING_CALLS:
        try:
            await client.call_tool(tool, arguments)
        except RuntimeError as e:  # the SDK client's own output-schema check, on an error answered
            print(f"{tool}: {e}".splitlines()[0], file=sys.stderr)


@contextmanager
def everything_http() -> Iterator[str]:
    """server-everything over Streamable HTTP on 127.0.0.1 (it reads its port from ``$PORT``)."""
    from tests.helpers import free_port, listening
    from tests.thirdparty.conftest import LOCALHOST, everything_js

    port = free_port()
    command = ["env", f"PORT={port}", "node", "-r", str(LOCALHOST), everything_js(), "streamableHttp"]
    with listening(command, port):
        yield f"http://127.0.0.1:{port}/mcp"


@contextmanager
def time_http() -> Iterator[str]:
    """mcp-server-time's server over Streamable HTTP on 127.0.0.1, in the venv .ci/thirdparty-servers made."""
    from tests.helpers import free_port, listening
    from tests.thirdparty.conftest import SERVERS, TIME_HTTP, installed

    python = installed(SERVERS / "venv" / "bin" / "python")
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        launcher = Path(scratch) / "time_http.py"
        launcher.write_text(TIME_HTTP)
        with listening(["env", f"PORT={port}", str(python), str(launcher)], port):
            yield f"http://127.0.0.1:{port}/mcp"


def main() -> None:
    from tests.data.arguments.make_arguments import session
    from tests.helpers import recording
    from tests.thirdparty.conftest import run_client

    for name, server, mode, run in (
        ("everything-http.log.jsonl", everything_http, "legacy", everything_session),
        ("time-http.log.jsonl", time_http, "legacy", session),
        ("time-http-2026.log.jsonl", time_http, "auto", session),
    ):
        log = HERE / name
        log.unlink(missing_ok=True)
        with server() as upstream, recording(log, upstream) as url:
            run_client(url, mode, run)
        print(f"wrote {log}")


if __name__ == "__main__":
    main()
