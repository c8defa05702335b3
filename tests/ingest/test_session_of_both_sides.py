"""A server's spans that record no session take the session of the client's call they answer.

The data is real (tests/data/mrtr/make_mrtr.py): the mcp SDK 2.3 client and server over Streamable
HTTP under 2025-11-25, both traced by the SDK's own spans (which record no ``mcp.session.id``), the
server behind ``mcpobs record --upstream`` (which knows the ``Mcp-Session-Id`` of every call). From
the review of the trace-analysis commands (December 2026): loaded together, the client's side was one
session and the server's side of the same calls five, one per trace (the server's
``elicitation/create`` inside its ``tools/call`` one more each).
"""

from __future__ import annotations

import itertools

import pytest

from mcpobs.analysis import Query, analyze
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "mrtr"
FILES = [DATA / f"http-2025.{kind}.jsonl" for kind in ("log", "client-spans", "server-spans")]


@pytest.mark.parametrize("order", list(itertools.permutations(FILES)), ids=lambda o: ",".join(p.name[10:] for p in o))
def test_the_server_side_is_in_the_recorded_session_whatever_the_order(order: tuple[object, ...]) -> None:
    with Store() as s:
        for path in order:  # one load per file: each side may come first
            load(s, [str(path)])
        sessions = analyze(s, Query(views=("sessions",), by=("session",))).table("sessions").records()
        calls = s.con.execute(
            "SELECT side, method, session FROM mcp_calls WHERE NOT is_notification ORDER BY start_ns"
        ).fetchall()
    (recorded,) = {session for side, _, session in calls if side == "client"}
    assert not recorded.startswith("trace:")
    assert {(side, session) for side, method, session in calls} == {("client", recorded), ("server", recorded)}
    by_side = {(r["side"], r["session"]): r["calls"] for r in sessions}
    assert by_side == {("client", recorded): 7, ("server", recorded): 7}


def test_the_server_spans_alone_are_a_session_per_trace_as_before() -> None:
    """Nothing says which session they were in: each trace stays one."""
    with Store() as s:
        load(s, [str(FILES[2])])
        sessions = s.con.execute("SELECT DISTINCT session FROM mcp_calls").fetchall()
    assert sessions
    assert all(session.startswith("trace:") for (session,) in sessions)
