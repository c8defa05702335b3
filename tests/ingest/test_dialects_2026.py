"""Producers as they write MCP spans in 2026: FastMCP run for real (tests/data/fastmcp/make_fastmcp.py),
and the older and vendor spellings still in files (tests/data/spellings/make_spellings.py)."""

from __future__ import annotations

import json
from collections import Counter

from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import DATA


def test_fastmcp_counts_each_call_once_on_each_side(store: Store) -> None:
    load(store, [str(DATA / "fastmcp" / "fastmcp.jsonl")])
    made = json.loads((DATA / "fastmcp" / "fastmcp.expected.json").read_text())["client_calls"]
    wanted = Counter((c["method"], c.get("tool")) for c in made) + Counter({("server/discover", None): 1})
    for side in ("client", "server"):
        found = Counter(
            store.con.execute(
                "SELECT method, tool FROM mcp_calls WHERE side = ? AND NOT is_notification", [side]
            ).fetchall()
        )
        assert found == wanted, side
    # the isError result shows on FastMCP's server span
    errors = store.con.execute("SELECT side, tool, error_class FROM mcp_calls WHERE failed").fetchall()
    assert errors == [("server", "divide", "tool_error")]
