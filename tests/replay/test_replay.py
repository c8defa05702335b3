"""mcpobs replay against real MCP servers (the mcp SDK's, over stdio and Streamable HTTP) that go
wrong on command: exact re-sending, answers from the recording, diffs, timeouts, backoff, recovery,
the error threshold, resuming, and the run directory that feeds analyze and check-alerts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPDeprecationWarning
from typer.testing import CliRunner

from mcpobs.cli import app
from mcpobs.eventlog.peers import read_recording
from mcpobs.eventlog.reader import read_event_log
from mcpobs.replay import ManualClock, ReplayConfig, Target, UnreachableError, replay
from mcpobs.replay.config import SessionRecovery, TimeoutHandling, ToolConfig
from mcpobs.replay.engine import DIFFERS, NO_ANSWER, NOT_RUN, SAME, SENT, Report
from mcpobs.replay.script import build_script
from tests.conftest import free_port, wait_for_port
from tests.replay.conftest import SAMPLE, record_session, server
from tests.replay.conftest import record as record_calls

QUICK = ReplayConfig(timeout_handling=TimeoutHandling(tool_call_timeout_ms=10_000))  # the model's, but 10 s calls


def _statuses(report: Report) -> list[str]:
    return [r.status for r in report.results]


def _config(**timeouts: Any) -> ReplayConfig:
    return replace(QUICK, timeout_handling=replace(QUICK.timeout_handling, **timeouts))


def _c2s(run: Path) -> list[dict[str, Any]]:
    return [r["message"] for r in read_event_log(run / "replay.jsonl").messages() if r["dir"] == "c2s"]


def test_the_sample_replays_the_same_message_for_message(tmp_path: Path) -> None:
    report = replay(SAMPLE, Target(command=tuple(server())), tmp_path / "run", QUICK)
    assert not report.differs
    assert _statuses(report) == [SAME, SENT, SAME, SAME, SAME, SAME, SAME, SAME, SAME]
    assert report.state.comparable() == report.recorded_state.comparable()
    assert report.state.server_name == "notes"
    assert report.state.protocol_version == "2025-11-25"
    assert len(report.state.tools or []) == 5
    # exactly the recorded client messages: same ids, methods and params, nothing of the SDK's own
    recorded = [m for m in build_script(read_recording(SAMPLE)).steps]
    sent = [m for m in _c2s(tmp_path / "run") if "method" in m]
    assert [(m.get("id"), m["method"], m.get("params")) for m in sent] == [
        (s.message.get("id"), s.method, s.message.get("params")) for s in recorded
    ]
    # the server's elicitation was answered from the recording
    answers = [m for m in _c2s(tmp_path / "run") if "result" in m]
    assert answers
    assert answers[0]["result"] == {"action": "accept", "content": {"answer": "blue"}}
    run = tmp_path / "run"
    for name in ("run.json", "steps.jsonl", "replay.jsonl", "report.json", "state.json", "trace.jsonl"):
        assert (run / name).is_file(), name
    assert json.loads((run / "state.json").read_text())["server_name"] == "notes"


def test_a_stateless_recording_replays_without_a_handshake(tmp_path: Path, stateless_log: Path) -> None:
    report = replay(stateless_log, Target(command=tuple(server())), tmp_path / "run", QUICK)
    assert not report.differs, [(r.label, r.differences) for r in report.results]
    assert "2026-07-28, stateless" in report.protocol
    assert not any(m.get("method") == "initialize" for m in _c2s(tmp_path / "run"))
    assert report.state.server_name == "notes"


def test_server_discover_is_answered_before_anything_else_is_sent(tmp_path: Path) -> None:
    # a client that lists the tools first: tools/list (a read) still waits for server/discover, the
    # 2026 handshake
    log = record_calls(tmp_path / "listing.jsonl", "auto", [("echo", {"text": "hi"})], list_first=True)
    report = replay(log, Target(command=tuple(server())), tmp_path / "run", QUICK)
    assert not report.differs, [(r.label, r.status, r.reason) for r in report.results]
    messages = [(r["dir"], r["message"]) for r in read_event_log(tmp_path / "run" / "replay.jsonl").messages()]
    asked = next(i for i, (_, m) in enumerate(messages) if m.get("method") == "server/discover")
    answered = next(i for i, (d, m) in enumerate(messages) if d == "s2c" and m.get("id") == messages[asked][1]["id"])
    assert [m.get("method") for d, m in messages if d == "c2s"][:2] == ["server/discover", "tools/list"]
    assert [m.get("method") for d, m in messages[asked + 1 : answered] if d == "c2s"] == []


def test_changed_answers_differ_and_exit_1_and_ignore_paths_silence_them(tmp_path: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["replay", str(SAMPLE), "--run-dir", str(tmp_path / "a"), "--", *server("--changed")])
    assert result.exit_code == 1, result.output
    assert "DIFFERS" in result.stdout
    assert '$.result.content[0].text: "hello" -> "HELLO"' in result.stdout
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["counts"]["differs"] == 1
    assert report["differs"] is True
    assert (tmp_path / "a" / "report.txt").read_text().count("DIFFERS") >= 1
    ignore = ["--ignore", "result.content.*.text", "--ignore", "result.structuredContent.result"]
    args = ["replay", str(SAMPLE), "--run-dir", str(tmp_path / "b"), *ignore, "-f", "json", "--"]
    result = runner.invoke(app, [*args, *server("--changed")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["same"] == 8


def test_a_server_that_cannot_be_reached_exits_4(tmp_path: Path, runner: CliRunner) -> None:
    missing = runner.invoke(app, ["replay", str(SAMPLE), "--run-dir", str(tmp_path / "a"), "--", "no-such-server-x"])
    assert missing.exit_code == 4
    assert "not found" in missing.output
    dies = runner.invoke(
        app,
        [
            "replay",
            str(SAMPLE),
            "--run-dir",
            str(tmp_path / "b"),
            "--",
            sys.executable,
            "-c",
            "import sys; sys.exit('boom')",
        ],
    )
    assert dies.exit_code == 4, dies.output
    assert "cannot reach the server" in dies.output
    assert "boom" in dies.output
    port = free_port()
    closed = runner.invoke(
        app, ["replay", str(SAMPLE), "--run-dir", str(tmp_path / "c"), "--url", f"http://127.0.0.1:{port}/mcp"]
    )
    assert closed.exit_code == 4, closed.output


def test_usage_errors_exit_2(tmp_path: Path, runner: CliRunner) -> None:
    assert runner.invoke(app, ["replay"]).exit_code == 2
    assert runner.invoke(app, ["replay", str(SAMPLE)]).exit_code == 2
    both = runner.invoke(app, ["replay", str(SAMPLE), "--url", "http://127.0.0.1:1/mcp", "--", "python"])
    assert both.exit_code == 2
    bad = tmp_path / "mcpobs.yaml"
    bad.write_text("session_recovery:\n  mode: sometimes\n")
    result = runner.invoke(app, ["replay", str(SAMPLE), "--config", str(bad), "--", *server()])
    assert result.exit_code == 2
    assert f"{bad}:2:9" in result.output
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("")
    assert runner.invoke(app, ["replay", str(SAMPLE), "--run-dir", str(used), "--", *server()]).exit_code == 2


@pytest.mark.parametrize("mode", ["checkpoint", "event_log", "hybrid"])
def test_each_recovery_mode_reaches_the_undisturbed_state_after_a_crash(tmp_path: Path, mode: str) -> None:
    undisturbed = replay(SAMPLE, Target(command=tuple(server())), tmp_path / "calm", QUICK)
    config = replace(QUICK, session_recovery=SessionRecovery(mode=mode))
    crash = server("--crash-at", "3", "--once", str(tmp_path / "fired"))
    report = replay(SAMPLE, Target(command=tuple(crash)), tmp_path / "run", config)
    assert (tmp_path / "fired").exists()
    assert len(report.recoveries) == 1
    assert report.recoveries[0].mode == mode
    assert "went away" in report.recoveries[0].reason
    assert report.state.comparable() == undisturbed.state.comparable()
    if mode == "checkpoint":
        # the checkpoint restores the session (its handshake), not what the lost process kept in
        # memory: the note put before the crash is gone, and the replay says so
        get = report.results[5]
        assert get.status == DIFFERS
        assert "after recovery 1: checkpoint mode restores the session" in (get.reason or "")
        assert any("isError" in d.path for d in get.differences)
    else:
        # the log (all of it, or since the checkpoint) puts the note back: every answer as recorded
        assert _statuses(report) == _statuses(undisturbed), [(r.label, r.differences) for r in report.results]
        assert report.recoveries[0].resent >= 3  # the handshake and the put, at least
    events = [r["event"] for r in read_event_log(tmp_path / "run" / "replay.jsonl").records if r["kind"] == "event"]
    assert "recovery_started" in events
    assert "recovery_finished" in events


async def _subscribing(client: Client) -> None:
    """A short session that changes the session's own state, then calls tools, then asks the server
    what it was told (the notes server's ``session://told``)."""
    await client.subscribe_resource("notes://colour")
    await client.set_logging_level("error")
    await client.call_tool("put", {"key": "colour", "value": "green"})
    await client.call_tool("echo", {"text": "hello"})
    await client.read_resource("session://told")


@pytest.fixture(scope="module")
def subscribing_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("sub") / "subscribing.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)  # subscriptions and logging: gone in 2026-07-28
        return record_session(log, "legacy", _subscribing, ("--subscriptions",))


def test_a_checkpoint_follows_each_state_change_so_a_recovery_tells_the_new_server(
    tmp_path: Path, subscribing_log: Path
) -> None:
    # a crash seconds into the session, long before checkpoint_interval (60 s): the subscription and
    # the log level were checkpointed when they were made, and the new server is told them again
    crash = server("--subscriptions", "--crash-at", "2", "--once", str(tmp_path / "fired"))
    report = replay(subscribing_log, Target(command=tuple(crash)), tmp_path / "run", QUICK)
    assert len(report.recoveries) == 1
    assert report.mode == "checkpoint"
    told = report.results[-1]
    assert told.label == "resources/read session://told"
    assert told.status == SAME, told.differences  # the server itself says what it was told: as recorded
    assert report.state.subscriptions == ["notes://colour"]
    assert report.state.log_level == "error"
    assert report.state.lost == []
    assert not report.differs


def test_state_a_recovery_could_not_restore_is_reported_lost_not_claimed(
    tmp_path: Path, subscribing_log: Path, runner: CliRunner
) -> None:
    # the server comes back without subscriptions or logging (another build): the recovery cannot tell
    # it the subscription nor the log level, and the state says so instead of claiming them
    started = tmp_path / "started"
    restarted = " ".join(server())
    first = " ".join(server("--subscriptions", "--crash-at", "2"))
    flaky = tmp_path / "flaky.sh"
    flaky.write_text(f"#!/bin/sh\nif [ -e {started} ]; then exec {restarted}; fi\ntouch {started}\nexec {first}\n")
    flaky.chmod(0o755)
    run = tmp_path / "run"
    result = runner.invoke(app, ["replay", str(subscribing_log), "--run-dir", str(run), "--", str(flaky)])
    assert result.exit_code == 1, result.output
    assert "LOST in recovery 1: subscription notes://colour" in result.stdout
    assert "LOST in recovery 1: log level error" in result.stdout
    state = json.loads((run / "state.json").read_text())
    assert state["subscriptions"] == []
    assert state["log_level"] is None
    lost = [
        {"subscription": "notes://colour", "lost_in": "recovery 1"},
        {"log_level": "error", "lost_in": "recovery 1"},
    ]
    assert state["lost"] == lost
    report = json.loads((run / "report.json").read_text())
    assert report["state_lost"] == lost
    assert report["state_differs_from_recording"] is True


def test_a_hung_server_is_cancelled_probed_and_recovered_on_an_injected_clock(tmp_path: Path) -> None:
    clock = ManualClock()
    hang = server("--hang-at", "2", "--once", str(tmp_path / "fired"))
    config = replace(
        _config(tool_call_timeout_ms=30_000, error_threshold=1.0), session_recovery=SessionRecovery(mode="event_log")
    )
    started = time.monotonic()
    report = replay(SAMPLE, Target(command=tuple(hang)), tmp_path / "run", config, clock=clock)
    assert time.monotonic() - started < 25  # 30 s timeouts, passed on the clock, not waited for
    assert 30.0 in clock.timeouts  # the call timeout, then the probe's (5 s)
    assert report.timeouts >= 1
    assert len(report.recoveries) == 1
    assert report.recoveries[0].reason.startswith("hung")
    assert not report.differs, [(r.label, r.status, r.reason) for r in report.results]
    sent = _c2s(tmp_path / "run")
    cancelled = [m for m in sent if m.get("method") == "notifications/cancelled"]
    assert cancelled
    assert "no answer in 30000 ms" in cancelled[0]["params"]["reason"]
    assert len(cancelled) >= 2  # the calls in flight when it hung (echo, get, keys go together) ...
    assert [m.get("method") for m in sent].count("ping") == 1  # ... share one ping


def test_a_slow_starting_server_gets_its_handshake_uncancelled_and_unretried(tmp_path: Path) -> None:
    # starting takes longer than a call may: initialize waits (the session timeout bounds it), with no
    # cancel, no ping before it, no second initialize
    slow_start = server("--start-ms", "1500")
    config = _config(tool_call_timeout_ms=300, session_timeout_ms=60_000)
    report = replay(SAMPLE, Target(command=tuple(slow_start)), tmp_path / "run", config, clock=ManualClock())
    assert not report.differs, [(r.label, r.status, r.reason) for r in report.results]
    assert report.results[0].attempts == 1
    assert report.timeouts == 0
    sent = _c2s(tmp_path / "run")
    assert [m.get("method") for m in sent if m.get("method") in ("initialize", "ping", "notifications/cancelled")] == [
        "initialize"
    ]


@pytest.mark.parametrize("era", ["legacy", "stateless"])
def test_a_server_slow_to_start_again_after_a_crash_is_waited_for(
    tmp_path: Path, stateless_log: Path, era: str
) -> None:
    # the restarted server's first answer (initialize, or the probe where there is no handshake) may
    # take longer than a call: it is waited for, not taken for a failed recovery
    crash = server("--start-ms", "1500", "--crash-at", "1", "--once", str(tmp_path / "fired"))
    config = _config(tool_call_timeout_ms=300, session_timeout_ms=60_000)  # checkpoint mode: nothing else resent
    recording = SAMPLE if era == "legacy" else stateless_log
    report = replay(recording, Target(command=tuple(crash)), tmp_path / "run", config, clock=ManualClock())
    assert (tmp_path / "fired").exists()
    assert len(report.recoveries) == 1
    events = [r for r in read_event_log(tmp_path / "run" / "replay.jsonl").records if r["kind"] == "event"]
    assert next(e for e in events if e["event"] == "recovery_finished")["tries"] == 1
    assert not report.differs, [(r.label, r.status, r.reason) for r in report.results]


def test_a_slow_call_is_retried_after_the_backoff(tmp_path: Path) -> None:
    clock = ManualClock()
    slow = server("--slow-ms", "60000", "--slow-at", "1")
    # a 10 s call timeout passes on the clock in `patience` (2 s): ample for an answered call on a slow machine
    report = replay(
        SAMPLE, Target(command=tuple(slow)), tmp_path / "run", _config(tool_call_timeout_ms=10_000), clock=clock
    )
    put = report.results[2]
    assert put.status == SAME
    assert put.attempts == 2
    assert report.retries == 1
    assert report.timeouts == 1
    assert not report.recoveries
    assert len(clock.sleeps) == 1
    assert 0.75 <= clock.sleeps[0] <= 1.25
    ids = [m["id"] for m in _c2s(tmp_path / "run") if m.get("method") == "tools/call"]
    assert ids[0] == 2
    assert ids[1] != 2


def test_backoff_doubles_until_max_retries_then_the_session_timeout_stops_the_rest(tmp_path: Path) -> None:
    clock = ManualClock()
    slow = server("--slow-ms", "60000")
    # the put: 4 attempts of 10 s and 1 + 2 + 4 s of backoff (47 s); the session ends in the next slow call
    config = _config(tool_call_timeout_ms=10_000, session_timeout_ms=55_000, error_threshold=1.0)
    report = replay(SAMPLE, Target(command=tuple(slow)), tmp_path / "run", config, clock=clock)
    first = report.results[2]
    assert first.status == NO_ANSWER
    assert first.attempts == 4
    assert "4 attempts" in (first.reason or "")
    waits = clock.sleeps[:3]
    for wait, base in zip(waits, (1, 2, 4), strict=True):
        assert 0.75 * base <= wait <= 1.25 * base
    assert report.stopped is not None
    assert report.stopped.startswith("session timeout")
    assert NOT_RUN in _statuses(report)
    assert report.differs


def test_an_error_storm_passes_the_threshold_and_stops_the_replay(tmp_path: Path) -> None:
    storm = server("--fail-every", "1")
    report = replay(SAMPLE, Target(command=tuple(storm)), tmp_path / "run", _config(error_threshold=0.2))
    assert report.stopped is not None
    assert "passed error_threshold 20%" in report.stopped  # one unit for the rate and its threshold
    assert _statuses(report)[-1] == NOT_RUN
    assert report.retries == 0


def test_past_max_recoveries_the_replay_fails_fast(tmp_path: Path) -> None:
    always = server("--crash-at", "1")  # crashes at its first call, every time it starts
    config = replace(_config(error_threshold=1.0), session_recovery=SessionRecovery(max_recoveries=2))
    started = time.monotonic()
    report = replay(SAMPLE, Target(command=tuple(always)), tmp_path / "run", config)
    assert len(report.recoveries) == 2
    assert report.stopped is None  # it goes on, each step sent once, none retried
    failed = [r for r in report.results if r.status == NO_ANSWER]
    assert failed
    assert all(r.attempts <= 3 for r in report.results)
    assert "failing fast" in (failed[-1].reason or "")
    assert time.monotonic() - started < 30


def test_independent_reads_overlap_up_to_max_concurrent_and_writes_keep_their_order(tmp_path: Path) -> None:
    def overlap(max_concurrent: int, run: Path) -> int:
        config = replace(QUICK, tool_config=ToolConfig(max_concurrent=max_concurrent))
        replay(SAMPLE, Target(command=tuple(server("--slow-ms", "300"))), run, config)
        in_flight = most = 0
        for record in read_event_log(run / "replay.jsonl").messages():
            message = record["message"]
            if message.get("method") == "tools/call":
                in_flight += 1
                most = max(most, in_flight)
            elif record["dir"] == "s2c" and "result" in message and "content" in message["result"]:
                in_flight -= 1
        return most

    assert overlap(1, tmp_path / "one") == 1
    assert overlap(5, tmp_path / "five") >= 2  # echo, get and keys are read-only: they go together
    script = build_script(read_recording(SAMPLE))
    put, get = script.steps[2], script.steps[5]
    assert put.index in get.depends_on or 3 in get.depends_on  # a read after the write waits for it


def test_a_killed_replay_resumes_with_no_step_lost_or_run_twice(tmp_path: Path, runner: CliRunner) -> None:
    run = tmp_path / "run"
    slow = server("--slow-ms", "700")
    command = [sys.executable, "-m", "mcpobs.cli", "replay", str(SAMPLE), "--run-dir", str(run)]
    replayer = subprocess.Popen(
        [*command, "--recovery", "event_log", "--max-concurrent", "1", "--", *slow],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _journal_lines(run) < 4:
            time.sleep(0.05)
        os.killpg(replayer.pid, signal.SIGKILL)
    finally:
        replayer.wait()
    done_before = _journal_lines(run)
    assert 4 <= done_before < 9
    result = runner.invoke(app, ["replay", "--resume", str(run), "-f", "json", "--", *server()])
    assert result.exit_code == 0, result.output
    steps = [json.loads(line)["step"] for line in (run / "steps.jsonl").read_text().splitlines()]
    assert sorted(steps) == list(range(9))  # every step once: none lost, none twice
    report = json.loads(result.stdout)
    assert report["counts"] == {"same": 8, "differs": 0, "no answer": 0, "sent": 1, "not run": 0}


def _journal_lines(run: Path) -> int:
    path = run / "steps.jsonl"
    return len(path.read_bytes().split(b"\n")) - 1 if path.exists() else 0


def test_the_run_feeds_analyze_and_check_alerts(tmp_path: Path, runner: CliRunner) -> None:
    crash = server("--crash-at", "3", "--once", str(tmp_path / "fired"))
    config = replace(QUICK, session_recovery=SessionRecovery(mode="event_log"))
    report = replay(SAMPLE, Target(command=tuple(crash)), tmp_path / "run", config)
    trace = tmp_path / "run" / "trace.jsonl"
    spans = json.loads(trace.read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"]
    recovery = [s for s in spans if s["name"] == "mcpobs.replay.recovery"]
    assert len(recovery) == 1 == len(report.recoveries)
    roles = {a["value"]["stringValue"] for s in spans for a in s["attributes"] if a["key"] == "mcpobs.replay.role"}
    assert roles == {"step", "restore"}
    rules = tmp_path / "alerts.yaml"
    rules.write_text("alerts:\n  - name: recovered\n    condition: session_recovery > 0\n    action: page\n")
    result = runner.invoke(app, ["check-alerts", "--rules", str(rules), str(trace)])
    assert result.exit_code == 1, result.output
    assert "FIRED" in result.stdout


def _supervised(tmp_path: Path, crash_at: int, pause: float) -> Iterator[tuple[str, Path]]:
    """The notes server on Streamable HTTP, crashing once at call ``crash_at`` (then it writes its marker)
    and started again ``pause`` seconds after each exit (a supervisor): its URL and the marker."""
    port = free_port()
    marker = tmp_path / "fired"
    command = " ".join(server("--http", str(port), "--crash-at", str(crash_at), "--once", str(marker)))
    supervisor = subprocess.Popen(
        ["sh", "-c", f"while true; do {command}; sleep {pause}; done"],
        start_new_session=True,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    try:
        yield f"http://127.0.0.1:{port}/mcp", marker
    finally:
        os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The notes server on Streamable HTTP, crashing at its third call and started again at once."""
    yield from _supervised(tmp_path, crash_at=3, pause=0.2)


@pytest.mark.parametrize("era", ["legacy", "stateless"])
def test_http_replay_reconnects_after_the_server_restarts(
    tmp_path: Path, http_server: tuple[str, Path], stateless_log: Path, era: str
) -> None:
    url, marker = http_server
    recording = SAMPLE if era == "legacy" else stateless_log
    config = replace(_config(retry_backoff_ms=500), session_recovery=SessionRecovery(mode="event_log"))
    report = replay(recording, Target(url=url), tmp_path / "run", config)
    assert marker.exists()
    assert len(report.recoveries) >= 1
    assert not report.differs, [(r.label, r.status, r.reason, r.differences) for r in report.results]


@pytest.mark.parametrize("era", ["legacy", "stateless"])
def test_a_recovery_is_counted_only_when_the_server_answers_and_tries_follow_the_backoff(
    tmp_path: Path, stateless_log: Path, era: str
) -> None:
    # the server goes away for good at its second call: every reconnect reaches nothing
    port = free_port()
    gone = subprocess.Popen(server("--http", str(port), "--crash-at", "2"), stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        clock = ManualClock()
        recording = SAMPLE if era == "legacy" else stateless_log
        config = _config(error_threshold=1.0)
        url = f"http://127.0.0.1:{port}/mcp"
        with pytest.raises(UnreachableError, match="again after") as raised:
            replay(recording, Target(url=url), tmp_path / "run", config, clock=clock)
        assert f"go on with: mcpobs replay --resume {tmp_path / 'run'} --url {url}" in str(raised.value)
    finally:
        gone.kill()
        gone.wait()
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["recoveries"] == []  # none answered: no recovery, and max_recoveries is not used up
    events = [r for r in read_event_log(tmp_path / "run" / "replay.jsonl").records if r["kind"] == "event"]
    assert [e["tries"] for e in events if e["event"] == "reconnect_failed"] == [1, 2, 3, 4]
    assert [e["event"] for e in events].count("recovery_failed") == 1
    # one try at once, then one after each backoff wait: 1 s, 2 s, 4 s (jittered)
    assert clock.sleeps[0] == 0
    for wait, base in zip(clock.sleeps[1:4], (1, 2, 4), strict=True):
        assert 0.75 * base <= wait <= 1.25 * base


@pytest.fixture
def comes_back(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The notes server on Streamable HTTP, crashing once at its first call and started again a second
    after it exits."""
    yield from _supervised(tmp_path, crash_at=1, pause=1)


@pytest.mark.parametrize("era", ["legacy", "stateless"])
def test_a_supervised_http_server_back_after_a_second_is_reached_on_the_backoff(
    tmp_path: Path, comes_back: tuple[str, Path], stateless_log: Path, era: str
) -> None:
    url, marker = comes_back
    recording = SAMPLE if era == "legacy" else stateless_log
    report = replay(recording, Target(url=url), tmp_path / "run", QUICK)  # checkpoint mode: the default
    assert marker.exists()
    assert len(report.recoveries) == 1, [r.to_json() for r in report.recoveries]
    assert not report.differs, [(r.label, r.status, r.reason) for r in report.results]
    events = [r for r in read_event_log(tmp_path / "run" / "replay.jsonl").records if r["kind"] == "event"]
    finished = next(e for e in events if e["event"] == "recovery_finished")
    assert finished["tries"] > 1  # the first tries found the server gone: they were no recovery


def test_unreachable_is_an_error_of_its_own(tmp_path: Path) -> None:
    with pytest.raises(UnreachableError):
        replay(SAMPLE, Target(url=f"http://127.0.0.1:{free_port()}/mcp"), tmp_path / "run", QUICK)


def test_a_hung_http_server_cannot_hold_the_replay_past_its_session_timeout(tmp_path: Path) -> None:
    port = free_port()
    hung = subprocess.Popen(server("--http", str(port), "--hang-at", "2"), stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        config = _config(tool_call_timeout_ms=2000, session_timeout_ms=8000)
        started = time.monotonic()
        report = replay(SAMPLE, Target(url=f"http://127.0.0.1:{port}/mcp"), tmp_path / "run", config)
        assert time.monotonic() - started < 60
    finally:
        hung.kill()
        hung.wait()
    assert report.stopped == "session timeout: 8000 ms"
    assert NOT_RUN in _statuses(report)


def test_a_server_that_cannot_be_run_is_one_line_and_exit_4(tmp_path: Path, runner: CliRunner) -> None:
    script = tmp_path / "server.py"
    script.write_text("print('never')\n")  # not executable
    result = runner.invoke(app, ["replay", str(SAMPLE), "--run-dir", str(tmp_path / "r"), "--", str(script)])
    assert result.exit_code == 4
    assert "is not a program that can be run" in result.output
    assert "Traceback" not in result.output


def test_a_url_that_is_no_mcp_endpoint_is_unreachable(tmp_path: Path, runner: CliRunner) -> None:
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        args = ["replay", str(SAMPLE), "--run-dir", str(tmp_path / "r"), "--url", f"http://127.0.0.1:{port}/mcp"]
        result = runner.invoke(app, args)
    finally:
        web.kill()
        web.wait()
    assert result.exit_code == 4, result.output
    assert "does not answer as an MCP server" in result.output


def test_a_server_lost_for_good_leaves_a_report_and_a_run_to_resume(tmp_path: Path, runner: CliRunner) -> None:
    # crashes at its third call, then cannot start again: the replay ends unreachable
    flaky = tmp_path / "flaky.sh"
    flaky.write_text(
        f"#!/bin/sh\nif [ -e {tmp_path}/started ]; then exit 7; fi\ntouch {tmp_path}/started\n"
        f"exec {' '.join(server('--crash-at', '3'))}\n"
    )
    flaky.chmod(0o755)
    run = tmp_path / "run"
    args = ["replay", str(SAMPLE), "--run-dir", str(run), "--backoff", "50", "--recovery", "event_log"]
    result = runner.invoke(app, [*args, "--", str(flaky)])
    assert result.exit_code == 4, result.output
    assert f"--resume {run}" in result.output
    report = json.loads((run / "report.json").read_text())
    assert report["unreachable"]
    assert report["counts"]["not run"] >= 1
    assert (run / "trace.jsonl").is_file()
    resumed = runner.invoke(app, ["replay", "--resume", str(run), "-f", "json", "--", *server()])
    assert resumed.exit_code == 0, resumed.output
    counts = json.loads(resumed.stdout)["counts"]
    assert counts["not run"] == 0
    assert counts["no answer"] == 0


def test_resume_takes_only_the_server_and_mends_a_cut_journal(tmp_path: Path, runner: CliRunner) -> None:
    run = tmp_path / "run"
    config = replace(QUICK, session_recovery=SessionRecovery(mode="event_log"))
    replay(SAMPLE, Target(command=tuple(server())), run, config)
    lines = (run / "steps.jsonl").read_text().splitlines(keepends=True)
    (run / "steps.jsonl").write_text("".join(lines[:4]) + lines[4][:15])  # killed in the middle of a line
    assert runner.invoke(app, ["replay", "--resume", str(run), str(SAMPLE), "--", *server()]).exit_code == 2
    assert runner.invoke(app, ["replay", "--resume", str(run), "--ignore", "x", "--", *server()]).exit_code == 2
    for _ in range(2):
        result = runner.invoke(app, ["replay", "--resume", str(run), "-f", "json", "--", *server()])
        assert result.exit_code == 0, result.output
    steps = [json.loads(line)["step"] for line in (run / "steps.jsonl").read_text().splitlines()]
    assert sorted(steps) == list(range(9))


def test_resume_refuses_a_recording_changed_since_the_run(tmp_path: Path, runner: CliRunner) -> None:
    recording = tmp_path / "session.jsonl"
    recording.write_bytes(SAMPLE.read_bytes())
    run = tmp_path / "run"
    replay(recording, Target(command=tuple(server())), run, QUICK)
    with recording.open("a") as more:
        more.write('{"t": 1, "kind": "event", "event": "client_closed"}\n')
    result = runner.invoke(app, ["replay", "--resume", str(run), "--", *server()])
    assert result.exit_code == 3
    assert "changed since the run" in result.output


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_session_recorded_through_the_http_proxy_replays_over_http(tmp_path: Path, mode: str) -> None:
    from tests.record.test_http import TOOLBOX, Recorder, _client  # the record tests' proxy and client

    port = free_port()
    upstream = subprocess.Popen([sys.executable, TOOLBOX, "--http", str(port)], stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}/mcp"
        log = tmp_path / "http.jsonl"
        with Recorder(log, url) as recorder:
            _client(
                recorder.url, mode, [("echo", {"text": "über"}), ("count", {"steps": 2}), ("fail", {"reason": "x"})]
            )
            recorder.stop()
        report = replay(log, Target(url=url), tmp_path / "run", QUICK)
    finally:
        upstream.kill()
        upstream.wait()
    assert not report.differs, [(r.label, r.status, r.differences) for r in report.results]
    assert [r.label for r in report.results if r.label.startswith("tools/call")] == [
        "tools/call echo",
        "tools/call count",
        "tools/call fail",
    ]


@pytest.mark.parametrize("peer", ["mcp-vcr-stdio.ndjson", "mcp-cassette-stdio.cassette", "mcp-recorder-stdio.json"])
def test_other_recorders_files_replay(tmp_path: Path, peer: str) -> None:
    from tests.conftest import DATA
    from tests.record.test_stdio import TOOLBOX  # the server the peers recorded

    report = replay(DATA / "peers" / peer, Target(command=(sys.executable, TOOLBOX)), tmp_path / "run", QUICK)
    assert not report.differs, [(r.label, r.differences) for r in report.results]  # their redaction markers match
    assert report.state.server_name == "record-toolbox"
