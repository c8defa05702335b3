"""Only MCP spans are MCP calls: gRPC, HTTP and database spans from real instrumentation in the same
traces (tests/data/mixed/make_mixed.py) leave every MCP figure as it is without them."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from typer.testing import CliRunner

from mcpobs.cli import app
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import DATA

MIXED = DATA / "mixed"
SCOPE_COUNTS = ("agent_spans_by_scope", "server_spans_by_scope")


def _expected() -> dict[str, Any]:
    return json.loads((MIXED / "mixed.expected.json").read_text())  # type: ignore[no-any-return]


def test_the_mixed_file_holds_grpc_http_and_database_spans() -> None:
    expected = _expected()
    scopes = Counter(expected["agent_spans_by_scope"]) + Counter(expected["server_spans_by_scope"])
    for instrumentation in ("grpc", "httpx", "requests", "sqlite3"):
        assert scopes[f"opentelemetry.instrumentation.{instrumentation}"] > 0, instrumentation


def test_non_mcp_spans_are_not_calls(store: Store) -> None:
    load(store, [str(MIXED / "mixed.jsonl")])
    rows = store.con.execute(
        "SELECT scope_name, count(*) FROM spans WHERE mcp_method IS NOT NULL GROUP BY ALL"
    ).fetchall()
    assert {scope for scope, _ in rows} == {"mcp-python-sdk"}
    grpc = store.con.execute(
        "SELECT count(*) FROM spans WHERE list_contains(list_transform(attributes, lambda a: a.key), 'rpc.method')"
        " AND scope_name = 'opentelemetry.instrumentation.grpc'"
    ).fetchone()
    expected = _expected()
    written = sum(expected[side].get("opentelemetry.instrumentation.grpc", 0) for side in SCOPE_COUNTS)
    assert grpc == (written,)  # every gRPC span names its rpc.method, and none is a call


def test_the_calls_are_the_ones_the_client_made(store: Store) -> None:
    load(store, [str(MIXED / "mixed.jsonl")])
    made = Counter((c["method"], c.get("tool")) for session in _expected()["client_calls"].values() for c in session)
    found = Counter(
        (method, tool)
        for method, tool in store.con.execute(
            "SELECT method, tool FROM mcp_calls WHERE side = 'client' AND NOT is_notification"
        ).fetchall()
    )
    assert found == made


def test_mcp_figures_are_the_same_with_and_without_the_other_spans(runner: CliRunner) -> None:
    documents = {}
    for name in ("mcp_only", "mixed"):
        for by in ("tool", "method", "server", "session"):
            result = runner.invoke(app, ["analyze", str(MIXED / f"{name}.jsonl"), "--by", by, "--format", "json"])
            assert result.exit_code == 0, result.output
            document = json.loads(result.stdout)
            documents[(name, by)] = {k: document[k] for k in ("calls", "errors", "sessions")} | {
                "calls_total": document["summary"]["calls"]
            }
    for by in ("tool", "method", "server", "session"):
        assert documents[("mixed", by)] == documents[("mcp_only", by)], by
    assert documents[("mixed", "method")]["calls"], "the comparison must have calls to compare"


def test_a_server_rejecting_the_request_counts_apart_from_its_errors(store: Store) -> None:
    """mcp SDK 2.3 in both eras: -32602 for a bad table and an unknown resource is the client's error
    on the client side, a rejected request (not an error) on the server side."""
    load(store, [str(MIXED / "mixed.jsonl")])
    made = Counter(c["outcome"] for session in _expected()["client_calls"].values() for c in session)
    rows = store.con.execute(
        "SELECT side, count(*) FILTER (failed), count(*) FILTER (rejected) FROM mcp_calls "
        "WHERE NOT is_notification GROUP BY side ORDER BY side"
    ).fetchall()
    # the mcp SDK's client spans do not mark isError results: only the server's show tool errors
    assert rows == [("client", made["-32602"], 0), ("server", made["tool_error"], made["-32602"])]


EDGE = DATA / "edge"


def _edge_calls(store: Store) -> tuple[dict[str, str | None], dict[str, tuple[bool, bool]]]:
    expected: dict[str, str | None] = json.loads((EDGE / "edge_spans.expected.json").read_text())
    load(store, [str(EDGE / "edge_spans.jsonl")])
    found = {
        name: (failed, rejected)
        for name, failed, rejected in store.con.execute("SELECT span_name, failed, rejected FROM mcp_calls").fetchall()
    }
    return expected, found


def test_only_spans_with_mcp_evidence_are_calls(store: Store) -> None:
    """gRPC spans (from a tracer named `acme.mcp.gateway`, or carrying a baggage-copied
    `mcp.session.id`), an HTTP GET with an rpc.method, a language server's `initialize`: no calls."""
    expected, found = _edge_calls(store)
    assert set(found) == {name for name, outcome in expected.items() if outcome is not None}


def test_edge_calls_have_the_outcome_their_producer_meant(store: Store) -> None:
    """A server's rejection reads the same in every spelling: error.type, rpc.jsonrpc.error_code, or
    an exception name (`McpError`) beside the code in rpc.response.status_code."""
    expected, found = _edge_calls(store)
    outcome = {
        name: "rejected" if rejected else "failed" if failed else "ok" for name, (failed, rejected) in found.items()
    }
    assert outcome == {name: want for name, want in expected.items() if want is not None}
