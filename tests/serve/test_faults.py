"""Faults ``mcpobs serve`` injects, each seen by a real mcp client as the failure it names."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp_types import CONNECTION_CLOSED, INTERNAL_ERROR, INVALID_REQUEST, PARSE_ERROR, REQUEST_TIMEOUT
from typer.testing import CliRunner

from mcpobs.cli import app
from mcpobs.eventlog import EventLogWriter, Redactor
from mcpobs.eventlog.otlp import to_otlp
from mcpobs.eventlog.reader import read_event_log
from mcpobs.replay.clock import ManualClock
from mcpobs.serve import Fault, Faults, Served, load_book, load_faults
from tests.serve.conftest import SERVE, HttpServe, stdio_server, texts, with_client

ECHO = ("echo", {"text": "hello"})


def _faults(tmp_path: Path, text: str) -> str:
    path = tmp_path / "faults.yaml"
    path.write_text(text)
    return str(path)


async def _echoes(client: Client, times: int = 3, timeout: float | None = None) -> list[Any]:
    """Each echo's outcome: (is_error, text) of a result, or (code, message) of an MCPError."""
    out: list[Any] = []
    for _ in range(times):
        try:
            result = await client.call_tool(*ECHO, read_timeout_seconds=timeout)
            out.append(texts(result))
        except MCPError as e:
            out.append((e.error.code, e.error.message))
    return out


OK = (False, "hello")


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_an_error_fault_is_a_json_rpc_error_with_its_code_on_the_calls_it_names(
    notes_logs: dict[str, Path], tmp_path: Path, mode: str
) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: error\n    tool: echo\n    calls: [2]\n    code: -32050\n")
    seen = with_client(stdio_server(notes_logs[mode], "--faults", faults), mode, _echoes)
    assert seen == [OK, (-32050, "mcpobs serve: injected fault"), OK]


def test_a_call_a_fault_answered_leaves_its_recorded_answer_for_the_retry(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: error\n    tool: get\n    calls: [1]\n")

    async def session(client: Client) -> list[Any]:
        out: list[Any] = []
        for _ in range(2):  # the call, then its retry
            try:
                out.append(texts(await client.call_tool("get", {"key": "shape"})))
            except MCPError as e:
                out.append(e.error.code)
        return out

    seen = with_client(stdio_server(notes_logs["legacy"], "--faults", faults), "legacy", session)
    # the retry gets the first recorded answer (before the put), not the second
    assert seen == [INTERNAL_ERROR, (True, "Error executing tool get: no value for shape")]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_tool_error_fault_is_an_is_error_result(notes_logs: dict[str, Path], tmp_path: Path, mode: str) -> None:
    # under 2026-07-28 a result states its resultType: without it the SDK client cannot read the result
    faults = _faults(tmp_path, "faults:\n  - kind: tool_error\n    text: rate limited\n    after: 2\n")
    seen = with_client(stdio_server(notes_logs[mode], "--faults", faults), mode, _echoes)
    assert seen == [OK, OK, (True, "rate limited")]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_hung_call_times_out_at_the_client_and_later_calls_are_answered(
    notes_logs: dict[str, Path], mode: str
) -> None:
    # the server never answers call 2: the client's own timeout ends it, however long it is
    seen = with_client(stdio_server(notes_logs[mode], "--hang-call", "2"), mode, lambda c: _echoes(c, 3, timeout=1))
    assert seen[0] == OK
    assert seen[2] == OK
    assert seen[1][0] == REQUEST_TIMEOUT


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_hung_call_over_http_times_out_at_the_client_and_later_calls_are_answered(
    notes_logs: dict[str, Path], mode: str
) -> None:
    with HttpServe(notes_logs[mode], "--hang-call", "2") as served:
        seen = with_client(served.url, mode, lambda c: _echoes(c, 3, timeout=1))
        served.stop()
    assert [seen[0], seen[2]] == [OK, OK]
    assert seen[1][0] == REQUEST_TIMEOUT


def test_a_dropped_connection_over_stdio_ends_the_process(notes_logs: dict[str, Path]) -> None:
    seen = with_client(stdio_server(notes_logs["legacy"], "--drop-after", "1"), "legacy", _echoes)
    assert seen[0] == OK
    assert [code for code, _ in seen[1:]] == [CONNECTION_CLOSED, CONNECTION_CLOSED]


def test_the_served_log_ends_with_the_dropped_connection(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    # the call the drop cut off failed for the client: analyze of the log must count it, not leave it out
    log = tmp_path / "served.jsonl"
    server = stdio_server(notes_logs["legacy"], "--drop-after", "1", "--log", str(log))
    seen = with_client(server, "legacy", lambda c: _echoes(c, 2))
    assert [seen[0], seen[1][0]] == [OK, CONNECTION_CLOSED]
    assert _echo_outcomes(log) == [None, "transport"]


def test_a_call_open_when_serve_is_stopped_is_in_the_log_as_unanswered(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    log = tmp_path / "served.jsonl"
    command = [*SERVE, str(notes_logs["legacy"]), "--hang-call", "1", "--log", str(log)]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None
    assert process.stderr is not None
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": ECHO[0], "arguments": ECHO[1]}},
    ):
        process.stdin.write(json.dumps(message).encode() + b"\n")
    process.stdin.flush()
    while b"fault: hang" not in (line := process.stderr.readline()):  # bounded: the call hangs, or serve ends
        assert line, "serve ended before the call hung"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=15)
    assert process.returncode == 143
    assert b"Traceback" not in err
    assert read_event_log(log).records[-1]["event"] == "recorder_stopped"
    assert _echo_outcomes(log) == ["transport"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_dropped_connection_over_http_is_a_stream_closed_without_an_answer(
    notes_logs: dict[str, Path], mode: str
) -> None:
    with HttpServe(notes_logs[mode], "--drop-after", "1") as served:
        seen = with_client(served.url, mode, _echoes)
        served.stop()
    assert seen[0] == OK
    assert seen[1:] == [(CONNECTION_CLOSED, "SSE stream ended without a response")] * 2


def test_latency_delays_the_answer_at_least_that_long(notes_logs: dict[str, Path]) -> None:
    async def timed(client: Client) -> list[float]:
        out = []
        for _ in range(2):
            began = time.monotonic()
            await client.call_tool(*ECHO)
            out.append(time.monotonic() - began)
        return out

    took = with_client(stdio_server(notes_logs["legacy"], "--latency", "400"), "legacy", timed)
    assert min(took) >= 0.4  # a lower bound only: a loaded machine is slower, never faster


def test_latency_and_recorded_timing_wait_on_the_injected_clock(notes_logs: dict[str, Path]) -> None:
    book = load_book(notes_logs["legacy"])
    echo = next(e for e in book.exchanges if e.label == "tools/call echo")
    assert echo.recorded_ms is not None
    assert echo.recorded_ms > 0
    clock = ManualClock()
    faults = Faults([Fault("latency", tool="echo", ms=(30_000, 30_000))], random.Random(1))
    served = Served(book, faults, timing="recorded", speed=4, clock=clock)
    reply = anyio.run(served.reply, echo.request)
    assert reply.messages[0]["result"] == echo.response["result"]  # type: ignore[index]
    assert clock.sleeps == [pytest.approx(30 + echo.recorded_ms / 1000 / 4)]
    list_tools = next(e for e in book.exchanges if e.method == "tools/list")
    anyio.run(served.reply, list_tools.request)  # not in the fault's scope: only its recorded time
    assert clock.sleeps[1] == pytest.approx(list_tools.recorded_ms / 1000 / 4)  # type: ignore[operator]


def test_stopping_serve_during_a_hung_http_call_ends_it_without_a_traceback(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    # the call uvicorn waits on at shutdown: cancelled after its grace, it was "Exception in ASGI application"
    import threading

    import httpx2

    log = tmp_path / "served.jsonl"
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": ECHO[0], "arguments": ECHO[1]}}
    statuses: list[int] = []
    with HttpServe(notes_logs["legacy"], "--hang-call", "1", "--log", str(log)) as served, httpx2.Client() as http:
        started = http.post(
            served.url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello}
        )
        session = {**headers, "mcp-session-id": started.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        caller = threading.Thread(
            target=lambda: statuses.append(http.post(served.url, headers=session, json=call).status_code)
        )
        caller.start()
        deadline = time.monotonic() + 30
        while '"fault": "hang"' not in log.read_text():  # bounded: the call reaches serve and hangs
            assert time.monotonic() < deadline, "the call never hung"
            time.sleep(0.05)
        assert served.stop() == 143
        caller.join(timeout=15)
    assert "Traceback" not in served.stderr
    assert "ERROR" not in served.stderr
    assert statuses == [503]
    assert read_event_log(log).records[-1]["event"] == "recorder_stopped"


def test_an_injected_latency_is_in_the_served_log(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    # a slow call in analyze of the served log must be told from a slow recording: the log says it was a fault
    book = load_book(notes_logs["legacy"])
    echo = next(e for e in book.exchanges if e.label == "tools/call echo")
    log = tmp_path / "served.jsonl"
    writer = EventLogWriter(log, Redactor(), "stdio", {"recording": "r"})
    faults = Faults([Fault("latency", ms=(1000, 3000)), Fault("latency", ms=(500, 500))], random.Random(3))
    clock = ManualClock()
    anyio.run(Served(book, faults, clock=clock, log=writer).reply, echo.request)
    writer.close()
    events = [r for r in read_event_log(log).records if r.get("event") == "fault"]
    assert [(e["fault"], e["request"]) for e in events] == [("latency", "tools/call echo")]
    assert events[0]["ms"] == pytest.approx(clock.sleeps[0] * 1000)


def test_a_seeded_error_rate_fails_that_share_of_calls_the_same_way_each_run() -> None:
    def pattern(seed: int) -> list[bool]:
        faults = Faults([Fault("error", probability=0.05)], random.Random(seed))
        return [bool(faults.hits("tools/call", "search")) for _ in range(2000)]

    first = pattern(7)
    assert first == pattern(7)
    assert first != pattern(8)
    assert 0.03 < sum(first) / len(first) < 0.07


def test_the_error_rate_flag_with_a_seed_repeats_over_stdio(notes_logs: dict[str, Path]) -> None:
    runs = [
        with_client(
            stdio_server(notes_logs["legacy"], "--error-rate", "0.5", "--seed", "3"), "legacy", lambda c: _echoes(c, 8)
        )
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    assert {outcome[0] for outcome in runs[0]} == {False, INTERNAL_ERROR}


def test_an_http_status_fault_is_that_status(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: http_status\n    status: 503\n    calls: [1]\n")
    with HttpServe(notes_logs["auto"], "--faults", faults) as served:
        seen = with_client(served.url, "auto", lambda c: _echoes(c, 2))
        served.stop()
    assert seen == [(INTERNAL_ERROR, "Server returned an error response"), OK]


def test_an_expired_session_is_a_404_and_a_new_session_works(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: session_expiry\n    calls: [2]\n")
    log = tmp_path / "served.jsonl"
    with HttpServe(notes_logs["legacy"], "--faults", faults, "--log", str(log)) as served:
        seen = with_client(served.url, "legacy", _echoes)
        again = with_client(served.url, "legacy", lambda c: _echoes(c, 1))  # the client starts over
        served.stop()
    assert seen == [OK, (INVALID_REQUEST, "Session terminated"), (INVALID_REQUEST, "Session terminated")]
    assert again == [OK]
    methods = [m["message"].get("method") for m in read_event_log(log).messages() if m["dir"] == "c2s"]
    assert methods.count("initialize") == 2


def _echo_outcomes(log: Path) -> list[str | None]:
    """The served log's echo calls as analyze reads them: each one's error.type (None: a success)."""
    spans = to_otlp(read_event_log(log))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    ended = [s for s in spans if s["name"] == "tools/call echo"]
    return [next((a["value"]["stringValue"] for a in s["attributes"] if a["key"] == "error.type"), None) for s in ended]


def test_the_served_log_holds_the_http_failures_the_client_saw(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    # a 503, then the session expired (404) and a call on the expired session (404 again): failed calls
    # analyze must count, not leave out as never answered
    text = "faults:\n  - kind: http_status\n    status: 503\n    calls: [1]\n  - kind: session_expiry\n    calls: [3]\n"
    log = tmp_path / "served.jsonl"
    with HttpServe(notes_logs["legacy"], "--faults", _faults(tmp_path, text), "--log", str(log)) as served:
        seen = with_client(served.url, "legacy", lambda c: _echoes(c, 4))
        served.stop()
    assert seen[1] == OK
    assert [s[0] for s in seen] == [INTERNAL_ERROR, False, INVALID_REQUEST, INVALID_REQUEST]
    assert _echo_outcomes(log) == ["http 503", None, "http 404", "http 404"]


def test_a_malformed_frame_over_http_is_a_parse_error(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: malformed\n    calls: [1]\n")
    with HttpServe(notes_logs["auto"], "--faults", faults) as served:
        seen = with_client(served.url, "auto", lambda c: _echoes(c, 2))
        served.stop()
    assert seen[0][0] == PARSE_ERROR
    assert seen[1] == OK


def test_a_malformed_frame_over_stdio_is_dropped_and_the_call_times_out(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: malformed\n    calls: [1]\n")
    seen = with_client(stdio_server(notes_logs["legacy"], "--faults", faults), "legacy", lambda c: _echoes(c, 2, 1))
    assert seen[0][0] == REQUEST_TIMEOUT
    assert seen[1] == OK


def test_an_exit_fault_stops_the_http_server_with_status_1(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: exit\n    after: 1\n")
    with HttpServe(notes_logs["auto"], "--faults", faults) as served:
        seen = with_client(served.url, "auto", lambda c: _echoes(c, 1))

        async def second(client: Client) -> Any:
            return await client.call_tool(*ECHO)

        with pytest.raises(Exception):  # noqa: B017,PT011 - the server is gone: any transport failure
            with_client(served.url, "auto", second, seconds=30)
        status = served.process.wait(timeout=15)
        served.stop()
    assert seen == [OK]
    assert status == 1
    assert "exit: the server stops here (fault)" in served.stderr


def test_a_faults_file_with_problems_is_refused_with_each_one_s_place(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: slow\n  - kind: error\n    probability: 2\n    sometimes: yes\n")
    result = CliRunner().invoke(app, ["serve", str(notes_logs["auto"]), "--faults", faults])
    assert result.exit_code == 2
    assert f"{faults}:2:5: kind 'slow' is not one of latency" in result.output
    assert f"{faults}:4:18: probability must be between 0 and 1, not 2" in result.output
    assert f"{faults}:5:5: unknown key 'sometimes'" in result.output


def test_http_faults_need_http(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: session_expiry\n")
    result = CliRunner().invoke(app, ["serve", str(notes_logs["legacy"]), "--faults", faults])
    assert result.exit_code == 2
    assert "session_expiry: HTTP faults; serve HTTP with --listen HOST:PORT" in result.output


def test_session_expiry_needs_a_recording_with_sessions(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    # a 2026-07-28 recording is served stateless: a 404 there is no lost session but "Not Found" (-32601)
    faults = _faults(tmp_path, "faults:\n  - kind: session_expiry\n")
    result = CliRunner().invoke(app, ["serve", str(notes_logs["auto"]), "--faults", faults, "--listen", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert "session_expiry: the recording is of protocol 2026-07-28, served stateless" in result.output


def test_the_readme_faults_file_reproduces_the_model(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    block = readme.split("```yaml\n# faults.yaml", 1)[1].split("```", 1)[0]
    faults, seed = load_faults(Path(_faults(tmp_path, "# faults.yaml" + block)))
    assert seed is not None
    assert [(f.kind, f.probability) for f in faults if f.kind == "error"] == [("error", 0.05)]
    assert any(f.kind == "latency" and f.ms[0] > 30_000 for f in faults)  # past the model's 30 s call timeout
    assert any(f.kind == "hang" for f in faults)


def test_a_long_tailed_latency_has_the_median_and_p95_it_was_given(tmp_path: Path) -> None:
    # a latency distribution as analyze reports one (p50, p95): the draws reproduce both, the same each run
    text = "seed: 5\nfaults:\n  - kind: latency\n    ms: {median: 300, p95: 2000}\n"
    listed, seed = load_faults(Path(_faults(tmp_path, text)))
    assert seed == 5
    assert (listed[0].ms, listed[0].tail) == ((300.0, 2000.0), True)

    def draws(seed: int) -> list[float]:
        faults = Faults(listed, random.Random(seed))
        return sorted(faults.latency(listed[0]) * 1000 for _ in range(4000))

    drawn = draws(5)
    assert drawn == draws(5)
    assert drawn != draws(6)
    assert 270 < drawn[2000] < 330
    assert 1750 < drawn[3800] < 2250
    assert drawn[-1] > 2000 > drawn[0] > 0


def test_a_long_tailed_latency_with_problems_is_refused(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    text = (
        "faults:\n  - kind: latency\n    ms: {median: 300}\n  - kind: latency\n    ms: {median: 900, p95: 200}\n"
        "  - kind: latency\n    ms: {p50: 1, p95: 2}\n"
    )
    faults = _faults(tmp_path, text)
    result = CliRunner().invoke(app, ["serve", str(notes_logs["auto"]), "--faults", faults])
    assert result.exit_code == 2
    assert f"{faults}:3:9: ms needs both median and p95" in result.output
    assert f"{faults}:5:9: ms: median 900 must be above 0 and at most p95 200" in result.output
    assert f"{faults}:7:10: unknown key 'p50' in ms (expected median, p95)" in result.output


@pytest.mark.parametrize("transport", ["stdio", "http"])
@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_latency_past_the_clients_timeout_is_its_timeout(
    notes_logs: dict[str, Path], tmp_path: Path, mode: str, transport: str
) -> None:
    # a minute late against a 1 s timeout: the client gives up, whatever the machine's speed; the next call is on time
    faults = _faults(tmp_path, "faults:\n  - kind: latency\n    ms: 60000\n    calls: [1]\n")
    if transport == "stdio":
        seen = with_client(stdio_server(notes_logs[mode], "--faults", faults), mode, lambda c: _echoes(c, 2, 1))
    else:
        with HttpServe(notes_logs[mode], "--faults", faults) as served:
            seen = with_client(served.url, mode, lambda c: _echoes(c, 2, 1))
            served.stop()
    assert seen[0][0] == REQUEST_TIMEOUT
    assert seen[1] == OK


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_seeded_tool_error_storm_repeats_and_the_client_sees_is_error_results(
    notes_logs: dict[str, Path], tmp_path: Path, transport: str
) -> None:
    faults = _faults(tmp_path, "seed: 11\nfaults:\n  - kind: tool_error\n    text: overloaded\n    probability: 0.5\n")

    def run() -> list[Any]:
        if transport == "stdio":
            return with_client(stdio_server(notes_logs["auto"], "--faults", faults), "auto", lambda c: _echoes(c, 8))
        with HttpServe(notes_logs["auto"], "--faults", faults) as served:
            seen = with_client(served.url, "auto", lambda c: _echoes(c, 8))
            served.stop()
        return seen

    first = run()
    assert first == run()
    assert set(first) == {OK, (True, "overloaded")}


def test_an_exit_fault_over_stdio_is_a_closed_connection(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: exit\n    calls: [2]\n")
    seen = with_client(stdio_server(notes_logs["auto"], "--faults", faults), "auto", _echoes)
    assert seen[0] == OK
    assert [code for code, _ in seen[1:]] == [CONNECTION_CLOSED, CONNECTION_CLOSED]


def test_the_readme_faults_file_gives_the_models_numbers_on_the_injected_clock(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    # the README's file over 2000 calls: about 5% JSON-RPC errors, about 2% of calls past the 30 s timeout,
    # the 10th call hung; the same seed, the same calls
    from tests.conftest import ROOT

    block = (ROOT / "README.md").read_text().split("```yaml\n# faults.yaml", 1)[1].split("```", 1)[0]
    listed, seed = load_faults(Path(_faults(tmp_path, "# faults.yaml" + block)))
    book = load_book(notes_logs["legacy"])
    echo = next(e for e in book.exchanges if e.label == "tools/call echo").request

    async def serve_many(seed: int | None) -> tuple[list[str], list[float]]:
        clock = ManualClock()
        served = Served(book, Faults(listed, random.Random(seed)), clock=clock)
        kinds = []
        for number in range(1, 2001):
            reply = await served.reply({**echo, "id": number})
            slept = len(clock.sleeps) == len(kinds) + 1
            if not slept:
                clock.sleeps.append(0.0)
            error = reply.messages[0].get("error") if reply.messages else None
            kinds.append(reply.action if reply.action != "answer" else ("error" if error else "ok"))
        return kinds, clock.sleeps

    kinds, sleeps = anyio.run(serve_many, seed)
    assert (kinds, sleeps) == anyio.run(serve_many, seed)
    assert kinds[9] == "hang"
    assert 0.035 < kinds.count("error") / len(kinds) < 0.065
    answered = [s for s, k in zip(sleeps, kinds, strict=True) if k == "ok"]
    assert 0.01 < sum(s > 30 for s in answered) / len(answered) < 0.035
    assert all(s >= 0.1 for s in answered)


def _echo_endings(log: Path) -> list[tuple[str | None, int]]:
    """The served log's echo calls as analyze reads them: each one's error.type and when it ended."""
    spans = to_otlp(read_event_log(log))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    return [
        (
            next((a["value"]["stringValue"] for a in s["attributes"] if a["key"] == "error.type"), None),
            int(s["endTimeUnixNano"]),
        )
        for s in spans
        if s["name"] == "tools/call echo"
    ]


@pytest.mark.parametrize("kind", ["drop", "malformed"])
def test_a_2025_call_whose_http_answer_failed_ends_there_in_the_served_log(
    notes_logs: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    # the stream cut (drop) or the answer no JSON (malformed): the call failed then, as the client saw, not
    # when the server stopped after the next call (it stayed open, its latency the rest of the session)
    faults = _faults(tmp_path, f"faults:\n  - kind: {kind}\n    calls: [1]\n")
    log = tmp_path / "served.jsonl"
    with HttpServe(notes_logs["legacy"], "--faults", faults, "--log", str(log)) as served:
        seen = with_client(served.url, "legacy", lambda c: _echoes(c, 2))
        served.stop()
    assert seen[0][0] == (CONNECTION_CLOSED if kind == "drop" else PARSE_ERROR)
    assert seen[1] == OK
    records = read_event_log(log).records
    failed_at = next(
        r["t"] for r in records if r.get("event") == "stream_closed" or (r["kind"] == "invalid" and r["dir"] == "s2c")
    )
    assert _echo_endings(log)[0] == ("transport", failed_at)
    assert _echo_endings(log)[1][0] is None


def test_a_broken_stream_is_resumed_by_the_client_and_answered(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    # 2025: the answer's stream breaks off after its first event id; the SDK client resumes it with a GET
    # naming that id and gets the answer there: the client sees no failure, the served log shows the resume
    faults = _faults(tmp_path, "faults:\n  - kind: stream_break\n    calls: [2]\n")
    log = tmp_path / "served.jsonl"
    with HttpServe(notes_logs["legacy"], "--faults", faults, "--log", str(log)) as served:
        seen = with_client(served.url, "legacy", _echoes)
        unknown = httpx2.get(
            served.url, headers={"accept": "text/event-stream", "last-event-id": "99-0"}, timeout=10
        ).status_code
        served.stop()
    assert seen == [OK, OK, OK]
    assert unknown == 400  # no session named: refused before any stream is looked for
    assert "resumed stream" in served.stderr
    records = read_event_log(log).records
    resumed = [r for r in records if r["kind"] == "message" and r.get("http", {}).get("method") == "GET"]
    stream = resumed[0]["http"]["last_event_id"].split("-")[0]
    assert [(r["http"]["last_event_id"], r["http"]["sse_event_id"]) for r in resumed] == [
        (f"{stream}-0", f"{stream}-1")
    ]
    assert _echo_outcomes(log) == [None, None, None]


def test_a_stream_break_needs_a_recording_with_sessions(notes_logs: dict[str, Path], tmp_path: Path) -> None:
    faults = _faults(tmp_path, "faults:\n  - kind: stream_break\n")
    result = CliRunner().invoke(app, ["serve", str(notes_logs["auto"]), "--faults", faults, "--listen", "127.0.0.1:0"])
    assert result.exit_code == 2
    assert "stream_break: the recording is of protocol 2026-07-28, served stateless" in result.output
    result = CliRunner().invoke(app, ["serve", str(notes_logs["legacy"]), "--faults", faults])
    assert result.exit_code == 2
    assert "stream_break: HTTP faults; serve HTTP with --listen HOST:PORT" in result.output
