"""Producers as they write MCP spans in 2026: FastMCP run for real (tests/data/fastmcp/make_fastmcp.py),
and the older and vendor spellings still in files (tests/data/spellings/make_spellings.py)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from mcpobs.analysis import Query, analyze
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


def test_older_and_vendor_spellings_read_into_the_same_model(store: Store) -> None:
    load(store, [str(DATA / "spellings" / "spellings.jsonl")])
    rows = store.con.execute(
        "SELECT side, method, target, session_id, request_id, transport, failed, rejected, error_class "
        "FROM mcp_calls ORDER BY start_ns"
    ).fetchall()
    assert rows == [
        # Sentry's underscored names and mcp.tool.result.is_error; mcp.transport "http" is the
        # conventions' network.transport "tcp", as every producer's transport reads
        ("server", "tools/call", "lookup", "sess-old-1", "1", "tcp", False, False, None),
        ("server", "tools/call", "lookup", "sess-old-1", "2", "tcp", True, False, "tool_error"),
        # ToolHive's mcp.{method} spans (mcp.transport "streamable-http"); its GET /health span is no call
        ("server", "tools/list", None, None, "1", "tcp", False, False, None),
        ("server", "tools/call", "github_search", None, "2", "tcp", False, False, None),
        # the conventions: the client's error; the server's rejection known only by rpc.response.status_code
        ("client", "resources/read", "notes://missing", None, "7", None, True, False, "-32602"),
        ("server", "resources/read", "notes://missing", None, "7", None, False, True, "-32602"),
    ]


def test_reasoning_tokens_in_either_spelling(store: Store) -> None:
    load(store, [str(DATA / "spellings" / "spellings.jsonl")])
    row = store.con.execute("SELECT reasoning_tokens FROM spans WHERE gen_ai_operation = 'chat'").fetchone()
    assert row == (640,)


def test_the_summary_covers_the_llm_calls_too(store: Store) -> None:
    load(store, [str(DATA / "spellings" / "spellings.jsonl")])
    analysis = analyze(store, Query(views=("calls",)))
    # the MCP calls end 203 ms in; the chat call runs from 300 to 1200 ms
    assert analysis.first_start == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert analysis.last_end == datetime(2026, 11, 20, 9, 0, 1, 200_000, tzinfo=UTC)
    assert analyze(store, Query(views=("calls",), until=datetime(2026, 11, 20, 9, 0, 0, 250_000))).last_end == (
        datetime(2026, 11, 20, 9, 0, 0, 203_000, tzinfo=UTC)
    )
