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
from tests.record.test_http import Recorder
from tests.thirdparty.conftest import SupervisedHttp, everything_stdio, record_stdio, run_client


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
