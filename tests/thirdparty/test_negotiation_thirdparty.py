"""Version negotiation is no failure: the mcp SDK's client in mode "auto" asks ``server/discover``
first; @modelcontextprotocol/server-everything (a 2025-era server, TypeScript SDK) answers -32601 over
stdio, HTTP 400 with -32000 "Bad Request: Server not initialized" over Streamable HTTP, and the client
falls back to ``initialize``. Recorded with ``mcpobs record``, as a user would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mcp import Client

from mcpobs.analysis import Query, analyze
from mcpobs.eventlog.reader import read_event_log
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT
from tests.record.test_http import Recorder
from tests.thirdparty.conftest import SupervisedHttp, everything_stdio, record_stdio, run_client
from tests.thirdparty.test_replay_thirdparty import replay_cli


async def two_echoes(client: Client) -> None:
    for text in ("a", "b"):
        result = await client.call_tool("echo", {"message": text})
        assert not result.is_error


def _probe_answer(log: Path) -> Any:
    """The server's answer to the client's server/discover: an error, or the test proves nothing."""
    records = read_event_log(log).records
    probe = next(r["message"]["id"] for r in records if r.get("message", {}).get("method") == "server/discover")
    answers = [r["message"] for r in records if r.get("dir") == "s2c" and "error" in r.get("message", {})]
    assert answers, "the server answered server/discover without an error: no fallback happened"
    return probe, answers[0]["error"]["code"]


def _figures(log: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with Store() as store:
        load(store, [str(log)])
        done = analyze(store, Query(views=("calls", "sessions"), by=("method",)))
        calls = done.table("calls").records()
        sessions = analyze(store, Query(views=("sessions",), by=("session",))).table("sessions").records()
    return calls, sessions


def _check(log: Path, code: int) -> None:
    _, answered = _probe_answer(log)
    assert answered == code
    calls, sessions = _figures(log)
    by_method = {r["method"]: r for r in calls}
    assert {"server/discover", "initialize", "tools/call"} <= set(by_method)
    assert by_method["tools/call"]["calls"] == 2
    # the probe is counted, but as the negotiation it is: no error, no separate session
    assert [(r["method"], r["errors"]) for r in calls if r["errors"]] == []
    assert [(r["calls"], r["errors"], r["succeeded"]) for r in sessions] == [(sum(r["calls"] for r in calls), 0, True)]


def test_an_auto_client_falling_back_over_stdio_is_no_failure(tmp_path: Path) -> None:
    log = record_stdio(tmp_path / "stdio.jsonl", everything_stdio(), "auto", two_echoes)
    _check(log, -32601)


def test_an_auto_client_falling_back_over_http_is_no_failure(tmp_path: Path, everything_http: SupervisedHttp) -> None:
    log = tmp_path / "http.jsonl"
    with Recorder(log, everything_http.url) as recorder:
        run_client(recorder.url, "auto", two_echoes)
        recorder.stop()
    _check(log, -32000)


def test_a_2026_recording_replayed_on_a_2025_server_over_http_says_which_revisions(
    tmp_path: Path, everything_http: SupervisedHttp
) -> None:
    # server-everything refuses the recording's server/discover with HTTP 400: the replay said it did
    # "not answer as an MCP server", and to resume the run against it
    recording = ROOT / "tests" / "data" / "replay" / "time-http-concurrent-2026.jsonl"
    code, report, stderr = replay_cli(recording, tmp_path / "run", "--url", everything_http.url, server=[])
    assert code == 4
    assert stderr.splitlines() == [
        f"mcpobs: error: {everything_http.url} speaks 2025-11-25, not 2026-07-28 (the recording's "
        "revision): it refused the recording's server/discover (Bad Request: Server not initialized); replay it "
        f"against a server that speaks 2026-07-28, or replay a recording made under 2025-11-25 "
        f"(run written to {tmp_path / 'run'})"
    ]
    assert {s["status"] for s in report["steps"]} == {"not run"}
