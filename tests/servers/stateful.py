"""A real MCP server (mcp SDK ``MCPServer``) whose answers depend on state a replay must get right:
the state of each client's session, and state kept in a file across processes.

``python tests/servers/stateful.py [--ledger FILE] [--variant] [--http PORT]`` serves on stdio (or
Streamable HTTP at 127.0.0.1:PORT/mcp).

- ``whoami``: the name the session's client gave in ``initialize``, and how many calls this session
  made: sessions mixed on one connection answer with another's name or count;
- ``add``/``items``: a ledger in ``--ledger FILE`` (JSON), kept across processes like a database or a
  git repository, so replaying twice without resetting it differs;
- ``--variant``: the ``items`` tool's description differs (the server changed between runs).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mcp.server.mcpserver import Context, MCPServer

parser = argparse.ArgumentParser()
parser.add_argument("--ledger", type=Path)
parser.add_argument("--variant", action="store_true")
parser.add_argument("--http", type=int)
args = parser.parse_args()

srv = MCPServer("stateful", version="1.0.0", log_level="WARNING")
# a session's connection (by identity, kept so that no later one gets its id) → its calls so far
calls: dict[int, tuple[object, int]] = {}


@srv.tool()
def whoami(ctx: Context) -> str:
    """Who this session's client is, and how many calls it made."""
    connection = ctx.session._connection  # the session's own object: ctx.session is made per request
    count = calls.get(id(connection), (connection, 0))[1] + 1
    calls[id(connection)] = (connection, count)
    params = connection.client_params
    name = params.client_info.name if params is not None else "?"
    return f"{name}, call {count}"


def _ledger() -> list[str]:
    if args.ledger is None or not args.ledger.exists():
        return []
    items: list[str] = json.loads(args.ledger.read_text())
    return items


@srv.tool()
def add(item: str) -> str:
    """Add an item to the ledger file."""
    items = [*_ledger(), item]
    if args.ledger is not None:
        args.ledger.write_text(json.dumps(items))
    return f"{len(items)} items"


@srv.tool(description="Every item in the ledger, changed." if args.variant else "Every item in the ledger.")
def items() -> list[str]:
    return _ledger()


if __name__ == "__main__":
    if args.http:
        srv.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        srv.run("stdio")
