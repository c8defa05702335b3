"""Auth state per session: challenges (HTTP 401), refusals (403), authorised after a challenge, on a
recording of real OAuth challenges from an mcp SDK server and on traces carrying HTTP statuses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mcpobs.alerts import Status, check_alerts, parse_rules
from mcpobs.analysis import Query, analyze
from mcpobs.analysis.metrics import Figures
from mcpobs.eventlog.redact import REDACTED, Redactor
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import DATA, request, span, write_lines

LOG = str(DATA / "auth" / "sessions.log.jsonl")


@pytest.fixture
def recorded(store: Store) -> Store:
    load(store, [LOG])
    return store


def _sessions(store: Store) -> dict[str, dict[str, Any]]:
    table = analyze(store, Query(by=("session",), views=("sessions",))).table("sessions")
    return {r["session"]: r for r in table.records()}


def _session_refused_on(store: Store, method: str, status: int) -> set[str]:
    rows = store.con.execute(
        "SELECT DISTINCT session FROM mcp_calls WHERE method = ? AND http_status = ?", [method, status]
    ).fetchall()
    return {r[0] for r in rows}


def test_each_session_says_how_it_was_challenged_and_authorised(recorded: Store) -> None:
    sessions = _sessions(recorded)
    # ada: challenged on initialize, sent its token, authorised; the session her retry opened is hers
    [ada] = _session_refused_on(recorded, "initialize", 401) - _session_refused_on(recorded, "initialize", 403)
    # dan: his token expired in the middle of the session, on a tools/call
    [dan] = _session_refused_on(recorded, "tools/call", 401)
    # bob (403 on his retry) and eve (no token) never had a session: their calls are the log's trace's
    [refused] = _session_refused_on(recorded, "initialize", 403)
    assert refused.startswith("trace:")
    for name in (ada, dan):
        assert sessions[name]["auth"] == "authorised after challenge"
        assert sessions[name]["time_to_authorise_ms"] > 0
        challenge = sessions[name]["challenge"]
        assert challenge.startswith('Bearer error="invalid_token"')
        assert 'resource_metadata="http://127.0.0.1:' in challenge
        assert challenge.endswith('/.well-known/oauth-protected-resource/mcp"')
    assert sessions[refused]["auth"] == "refused"
    assert sessions[refused]["time_to_authorise_ms"] is None
    # cat sent a valid token from the first request: never challenged
    [cat] = [s for s, r in sessions.items() if s not in (ada, dan, refused)]
    assert (sessions[cat]["auth"], sessions[cat]["challenge"]) == (None, None)


def test_the_time_to_authorise_runs_from_the_challenge_to_the_next_answered_request(recorded: Store) -> None:
    rows = recorded.con.execute(
        "SELECT session, end_ns FROM mcp_calls WHERE http_status = 401 AND NOT starts_with(session, 'trace:')"
    ).fetchall()
    sessions = _sessions(recorded)
    for session, challenged_at in rows:
        first = recorded.con.execute(
            "SELECT min(start_ns) FROM mcp_calls WHERE session = ? AND http_status < 400 AND start_ns >= ?",
            [session, challenged_at],
        ).fetchone()
        assert first is not None
        assert sessions[session]["time_to_authorise_ms"] == pytest.approx((first[0] - challenged_at) / 1e6)


def test_the_per_side_summary_and_a_rule_on_auth_failures(recorded: Store) -> None:
    [summary] = analyze(recorded, Query(by=(), views=("sessions",))).table("sessions").records()
    assert summary["sessions"] == 4
    # bob (refused) and eve (never authorised) share the log's trace, neither having had a session id:
    # two clients that failed, counted each (they counted as one challenged session, one failure)
    assert (summary["challenged_sessions"], summary["refused_sessions"]) == (4, 1)
    assert (summary["authorised_sessions"], summary["auth_failures"]) == (2, 2)
    assert 0 < summary["time_to_authorise_p50_ms"] <= summary["time_to_authorise_max_ms"]
    rules = parse_rules(
        "alerts:\n  - name: auth\n    condition: auth_failures > 0\n    action: notify\n    scope: server\n"
    )
    [verdict] = check_alerts(rules, Figures(recorded)).verdicts
    assert verdict.status is Status.FIRED
    assert dict(verdict.group) == {"side": "client", "server": "vault"}


def test_a_request_refused_for_its_credentials_failed(recorded: Store) -> None:
    # the body of a 401 or 403 is an OAuth error ({"error": "invalid_token"}), no JSON-RPC answer:
    # the request failed (it counted as a success before)
    rows = recorded.con.execute(
        "SELECT http_status, error_class, count(*) FROM mcp_calls WHERE NOT succeeded GROUP BY ALL ORDER BY 1"
    ).fetchall()
    assert rows == [(401, "auth", 4), (403, "auth", 1)]


def test_the_recorder_keeps_the_challenge_and_redacts_the_credentials() -> None:
    headers = dict(
        Redactor().headers(
            [
                ("WWW-Authenticate", 'Bearer error="invalid_token", resource_metadata="https://x.test/.well-known/r"'),
                ("Authorization", "Bearer abc.def.ghi"),
            ]
        )
    )
    assert (
        headers["WWW-Authenticate"] == 'Bearer error="invalid_token", resource_metadata="https://x.test/.well-known/r"'
    )
    assert headers["Authorization"] == REDACTED


def test_traces_with_the_status_on_the_mcp_span_or_its_transport_parent(tmp_path: Path, store: Store) -> None:
    t0 = 1_700_000_000_000_000_000
    challenge = 'Bearer resource_metadata="https://mcp.example.test/.well-known/oauth-protected-resource"'
    session = {"mcp.session.id": "s-1"}
    client = [
        # a proxy's client spans carry the HTTP answer themselves (OTel's http.* attributes)
        span(
            span_id="00000000000000a1",
            kind=3,
            start=t0,
            attributes={**session, "http.response.status_code": 401},
            error_type="401",
        ),
        span(
            span_id="00000000000000a2",
            kind=3,
            start=t0 + 30_000_000,
            attributes={**session, "http.response.status_code": 200},
        ),
    ]
    client[0]["attributes"].append(
        {
            "key": "http.response.header.www-authenticate",
            "value": {"arrayValue": {"values": [{"stringValue": challenge}]}},
        }
    )
    # the server's MCP span under the HTTP server span that carried it (an ASGI instrumentation's)
    http = span(span_id="00000000000000b1", name="POST /mcp", kind=2, start=t0 + 31_000_000)
    http["attributes"] = [{"key": "http.response.status_code", "value": {"intValue": "200"}}]
    server = span(
        span_id="00000000000000b2", parent="00000000000000b1", kind=2, start=t0 + 32_000_000, attributes=session
    )
    write_lines(tmp_path / "t.jsonl", [request(client, "agent"), request([http, server])])
    load(store, [str(tmp_path / "t.jsonl")])
    statuses = dict(store.con.execute("SELECT span_id, http_status FROM mcp_calls").fetchall())
    assert statuses == {"00000000000000a1": 401, "00000000000000a2": 200, "00000000000000b2": 200}
    table = analyze(store, Query(by=("session",), views=("sessions",))).table("sessions")
    sessions = {(r["side"], r["session"]): r for r in table.records()}
    client_side = sessions[("client", "s-1")]
    assert client_side["auth"] == "authorised after challenge"
    assert client_side["challenge"] == challenge
    assert client_side["time_to_authorise_ms"] == pytest.approx(20.0)  # the 401 ended at 10 ms, the retry began at 30
    assert sessions[("server", "s-1")]["auth"] is None


def test_without_sessions_one_clients_token_does_not_authorise_another(store: Store) -> None:
    # 2026-07-28 has no sessions: the log is one trace, xan's requests and yul's in it. xan was
    # challenged and never authorised; yul sent a valid token from the start and was never challenged.
    load(store, [str(DATA / "auth" / "modern.log.jsonl")])
    [session] = analyze(store, Query(by=("session",), views=("sessions",))).table("sessions").records()
    assert (session["auth"], session["time_to_authorise_ms"]) == ("never authorised", None)
    [summary] = analyze(store, Query(views=("sessions",))).table("sessions").records()
    assert (summary["challenged_sessions"], summary["authorised_sessions"], summary["auth_failures"]) == (1, 0, 1)


def test_each_call_is_its_own_clients(recorded: Store) -> None:
    # five clients one after the other through one recorder, each naming itself in its initialize
    # (2025-11-25 requests name no client after it): each session's calls are its client's
    clients = dict(
        recorded.con.execute(
            "SELECT session, string_agg(DISTINCT client, ',' ORDER BY client) FROM mcp_calls GROUP BY ALL"
        ).fetchall()
    )
    assert sorted(clients.values()) == ["ada", "bob,eve", "cat", "dan"]


def test_a_request_that_names_no_client_is_not_guessed_to_be_the_first_clients(store: Store) -> None:
    # 2025-11-25 without sessions (a stateless server): after its initialize a request names no client.
    # xan was challenged and never authorised; yul's later calls, with a valid token, are not xan's.
    load(store, [str(DATA / "auth" / "stateless.log.jsonl")])
    clients = dict(store.con.execute("SELECT client, count(*) FROM mcp_calls GROUP BY ALL").fetchall())
    assert clients["xan"] == 1  # its refused initialize
    [summary] = analyze(store, Query(views=("sessions",))).table("sessions").records()
    assert (summary["challenged_sessions"], summary["authorised_sessions"], summary["auth_failures"]) == (1, 0, 1)
