"""mcpobs replay on servers nobody here wrote (issue 13): sessions recorded with ``mcpobs record`` in
front of mcp-server-time, mcp-server-git and server-everything, by a real mcp SDK client, replayed
as a new user would run it (the CLI in its own process, under the default settings unless a test
says why not), then checked by their verdicts, exit codes and report.json. A few tests that must
act at a known point of the replay run it in-process with an injected clock.

Each test named for an item of issue 13 failed, for the wrong verdict that item describes, on the code
before its fix (they were written as strict xfails against it)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp_types import Implementation, ListRootsResult, Root

from mcpobs.eventlog.reader import read_event_log
from mcpobs.eventlog.writer import CLIENT_META
from mcpobs.replay import ManualClock, RealClock, ReplayConfig, Target, replay
from mcpobs.replay.config import SessionRecovery, ToolConfig
from mcpobs.replay.sessions import _client_messages, split_sessions
from mcpobs.replay.state import SessionState
from tests.record.test_http import Recorder
from tests.thirdparty.conftest import (
    GIT_IDENTITY,
    SupervisedHttp,
    everything_stdio,
    git_server,
    kill_9,
    record_stdio,
    run_client,
    time_server,
    wait_until,
    with_pid,
)

MODES = ["checkpoint", "event_log", "hybrid"]
URI = "demo://resource/static/document/architecture.md"
LONG = "trigger-long-running-operation"
# get_current_time answers the time of the call: it legitimately differs between the recording and
# the replay, in the text (JSON inside text is compared as JSON) and in the structured content
NOW = ["--ignore", "result.content.*.text.datetime", "--ignore", "result.structuredContent.datetime"]


# -- running the CLI as a user would


def start_replay(recording: Path, run: Path, *options: str, server: list[str] | None = None) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "mcpobs.cli", "replay", str(recording), "--run-dir", str(run), "-f", "json"]
    args += [*options, *(["--", *server] if server else [])]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(replayer: subprocess.Popen[str], run: Path, seconds: float = 240) -> tuple[int, dict[str, Any], str]:
    """The exit code, report.json and stderr of a replay once it ends (bounded)."""
    try:
        _, stderr = replayer.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        replayer.kill()
        replayer.communicate()
        raise
    report = json.loads((run / "report.json").read_text()) if (run / "report.json").exists() else {}
    return replayer.returncode, report, stderr


def replay_cli(
    recording: Path, run: Path, *options: str, server: list[str] | None = None
) -> tuple[int, dict[str, Any], str]:
    return finish(start_replay(recording, run, *options, server=server), run)


def explain(report: dict[str, Any]) -> list[Any]:
    """What an assertion prints: the steps that did not come out as recorded."""
    steps = [(s["call"], s["status"], s["reason"], s["differences"]) for s in report.get("steps", [])]
    return [s for s in steps if s[1] not in ("same", "sent")] + [report.get("stopped"), report.get("unreachable")]


def state_of(report: dict[str, Any]) -> dict[str, Any]:
    return SessionState.from_json(report["state"]).comparable()


def sent_records(run: Path) -> list[dict[str, Any]]:
    """The lines of the replay's own event log written so far (a line being written is left out)."""
    path = run / "replay.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return out


def calls_sent(run: Path, tool: str) -> int:
    return sum(
        1
        for r in sent_records(run)
        if r.get("dir") == "c2s"
        and r["message"].get("method") == "tools/call"
        and r["message"].get("params", {}).get("name") == tool
    )


def events(run: Path, name: str) -> list[dict[str, Any]]:
    return [r for r in sent_records(run) if r.get("kind") == "event" and r.get("event") == name]


def restored_methods(run: Path) -> list[str]:
    """The methods the replay sent while it recovered (a handshake, then what restores the session)."""
    out: list[str] = []
    recovering = False
    for record in sent_records(run):
        if record.get("kind") == "event" and record["event"] in ("recovery_started", "recovery_finished"):
            recovering = record["event"] == "recovery_started"
        elif recovering and record.get("dir") == "c2s" and "method" in record["message"]:
            out.append(record["message"]["method"])
    return out


# -- the sessions a client has with each server


async def time_session(client: Client) -> None:
    await client.call_tool("get_current_time", {"timezone": "UTC"})
    await client.call_tool("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"})


async def everything_session(client: Client) -> None:
    """Session state (a log level, a subscription) set early, then a call long enough to be killed in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # subscribe is deprecated in 2026-07-28, not in this 2025 session
        await client.call_tool("echo", {"message": "before"})
        await client.set_logging_level("info")
        await client.subscribe_resource(URI)
        await client.call_tool("get-sum", {"a": 2, "b": 3})
        await client.call_tool(LONG, {"duration": 3, "steps": 3})
        await client.call_tool("get-tiny-image", {})
        await client.call_tool("echo", {"message": "after"})


@pytest.fixture(scope="module")
def time_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_stdio(tmp_path_factory.mktemp("time") / "time.jsonl", time_server(), "legacy", time_session)


@pytest.fixture(scope="module")
def everything_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("everything") / "everything.jsonl"
    return record_stdio(log, everything_stdio(), "legacy", everything_session)


@pytest.fixture(scope="module")
def everything_calm(everything_log: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The undisturbed replay of the server-everything session: what a crash's replay must come to."""
    run = tmp_path_factory.mktemp("calm") / "run"
    code, report, stderr = replay_cli(everything_log, run, server=everything_stdio())
    assert code == 0, (stderr, explain(report))
    return report


# -- mcp-server-time


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_mcp_server_time_replays_with_the_same_verdict_twice(tmp_path: Path, mode: str) -> None:
    log = record_stdio(tmp_path / "time.jsonl", time_server(), mode, time_session)
    verdicts = []
    for run in ("a", "b"):
        code, report, stderr = replay_cli(log, tmp_path / run, *NOW, server=time_server())
        assert code == 0, (stderr, explain(report))
        verdicts.append((code, report["differs"], report["counts"], state_of(report)))
    assert verdicts[0] == verdicts[1]
    assert verdicts[0][2]["same"] >= 3  # the two calls and tools/list at least
    # without the ignore paths the time of the call is the one difference, in both places it is given
    code, report, _ = replay_cli(log, tmp_path / "c", server=time_server())
    assert code == 1
    [current] = [s for s in report["steps"] if s["status"] == "differs"]
    assert current["call"] == "tools/call get_current_time"
    paths = {d["path"] for d in current["differences"]}
    assert paths == {"$.result.content[0].text.datetime", "$.result.structuredContent.datetime"}


def test_ignore_takes_the_path_the_diff_prints(tmp_path: Path, time_log: Path) -> None:
    printed = ["--ignore", "$.result.content[0].text.datetime", "--ignore", "$.result.structuredContent.datetime"]
    code, report, stderr = replay_cli(time_log, tmp_path / "run", *printed, server=time_server())
    assert code == 0, (stderr, explain(report))


def test_a_slow_starting_server_gets_its_initialize_answered_not_cancelled(tmp_path: Path, time_log: Path) -> None:
    # the server takes 3 s to start, three times the call timeout (however fast the machine is); the
    # handshake is bounded by the session timeout, never cancelled by the call timeout
    slow = ["sh", "-c", 'sleep 3; exec "$@"', "sh", *time_server()]
    run = tmp_path / "run"
    code, report, stderr = replay_cli(time_log, run, *NOW, "--call-timeout", "1000", server=slow)
    cancelled = [
        r["message"]["params"]["requestId"]
        for r in sent_records(run)
        if r.get("dir") == "c2s" and r["message"].get("method") == "notifications/cancelled"
    ]
    assert cancelled == []
    assert report["steps"][0]["call"] == "initialize"
    assert report["steps"][0]["attempts"] == 1
    assert code == 0, (stderr, explain(report))


def test_a_state_that_differs_says_where(tmp_path: Path, time_log: Path) -> None:
    # recorded with --local-timezone UTC, which the tools' descriptions name: another local timezone
    # changes the tools list, and so the session's state
    tokyo = [*time_server()[:-1], "Asia/Tokyo"]
    run = tmp_path / "run"
    code, report, _ = replay_cli(time_log, run, *NOW, server=tokyo)
    assert code == 1
    assert report["state_differs_from_recording"] is True
    assert [s["call"] for s in report["steps"] if s["status"] == "differs"] == ["tools/list"]
    text = (run / "report.txt").read_text().lower()
    assert "state differs" in text
    assert "tools" in text.split("state differs", 1)[1], text


# -- mcp-server-git: a server with state on disk


def _git(repo: Path, *args: str) -> str:
    env = {**GIT_IDENTITY, "PATH": os.environ["PATH"], "HOME": str(repo.parent)}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def _repository(path: Path) -> Path:
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("hello\n")
    _git(path, "add", "README.md")
    _git(path, "commit", "-q", "-m", "first")
    (path / "notes.txt").write_text("a note\n")
    return path


async def git_reading(client: Client, repo: Path) -> None:
    for tool in ("git_status", "git_log", "git_branch", "git_diff_unstaged"):
        arguments: dict[str, Any] = {"repo_path": str(repo)}
        if tool == "git_branch":
            arguments["branch_type"] = "local"
        await client.call_tool(tool, arguments)


async def git_committing(client: Client, repo: Path) -> None:
    await client.call_tool("git_status", {"repo_path": str(repo)})
    await client.call_tool("git_add", {"repo_path": str(repo), "files": ["notes.txt"]})
    await client.call_tool("git_commit", {"repo_path": str(repo), "message": "a note"})
    await client.call_tool("git_status", {"repo_path": str(repo)})


def test_mcp_server_git_replays_a_reading_session_with_the_same_verdict_twice(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo")
    log = record_stdio(tmp_path / "git.jsonl", git_server(repo), "legacy", lambda c: git_reading(c, repo))
    verdicts = []
    for run in ("a", "b"):
        code, report, stderr = replay_cli(log, tmp_path / run, server=git_server(repo))
        assert code == 0, (stderr, explain(report))
        verdicts.append((report["counts"], state_of(report)))
    assert verdicts[0] == verdicts[1]
    assert verdicts[0][0]["same"] == 6  # initialize, four calls, the tools/list the SDK sent before the first
    assert verdicts[0][1]["server_name"] == "mcp-git"


def _reset_script(tmp_path: Path, repo: Path) -> Path:
    """A script that puts the repository back as it was before the session (its commit undone)."""
    first = _git(repo, "rev-parse", "HEAD").strip()
    reset = tmp_path / "reset.sh"
    reset.write_text(f'git -C "{repo}" reset -q --hard {first}\nprintf "a note\\n" > "{repo}/notes.txt"\n')
    return reset


def test_mcp_server_git_differs_on_the_repository_it_changed_and_not_once_reset(tmp_path: Path) -> None:
    # the committing session, replayed on the repository it already changed: the commit has happened,
    # and the replay must say so rather than pass; with the repository reset, it is the same again
    repo = _repository(tmp_path / "repo")
    reset = _reset_script(tmp_path, repo)
    log = record_stdio(tmp_path / "git.jsonl", git_server(repo), "legacy", lambda c: git_committing(c, repo))
    code, report, _ = replay_cli(log, tmp_path / "run", server=git_server(repo))
    assert code == 1
    differing = [s["call"] for s in report["steps"] if s["status"] == "differs"]
    assert "tools/call git_status" in differing
    subprocess.run(["sh", str(reset)], check=True)
    code, report, stderr = replay_cli(log, tmp_path / "reset", server=git_server(repo))
    assert code == 0, (stderr, explain(report))  # the commit too: same tree, same identity and time


def test_before_resets_mcp_server_git_so_a_committing_session_replays_the_same(tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo")
    reset = _reset_script(tmp_path, repo)
    log = record_stdio(tmp_path / "git.jsonl", git_server(repo), "legacy", lambda c: git_committing(c, repo))
    for run in ("a", "b"):
        code, report, stderr = replay_cli(log, tmp_path / run, "--before", f"sh {reset}", server=git_server(repo))
        assert code == 0, (stderr, explain(report))


def test_mcp_server_git_differs_where_a_text_with_a_redacted_key_changed(tmp_path: Path) -> None:
    # the recording redacts the key inside the diff's text; the rest of that text was recorded, and a
    # replay on a repository whose change differs there must say so, not match the whole text to anything
    repo = _repository(tmp_path / "repo")
    (repo / "README.md").write_text("hello\nOPENAI_KEY=sk-abcdefghijklmnopqrstuv\nrows: 5\n")

    async def diffing(client: Client) -> None:
        await client.call_tool("git_diff_unstaged", {"repo_path": str(repo)})

    log = record_stdio(tmp_path / "git.jsonl", git_server(repo), "legacy", diffing)
    assert "+OPENAI_KEY=[REDACTED]" in log.read_text()
    code, report, stderr = replay_cli(log, tmp_path / "same", server=git_server(repo))
    assert code == 0, (stderr, explain(report))
    (repo / "README.md").write_text("hello\nOPENAI_KEY=sk-abcdefghijklmnopqrstuv\nrows: 6000\n")
    code, report, _ = replay_cli(log, tmp_path / "changed", server=git_server(repo))
    assert code == 1
    [changed] = [s for s in report["steps"] if s["status"] == "differs"]
    assert changed["call"] == "tools/call git_diff_unstaged"
    assert [d["path"] for d in changed["differences"]] == ["$.result.content[0].text"]


# -- server-everything over stdio: kill -9 in each recovery mode


def test_server_everything_replays_with_the_same_verdict_twice(tmp_path: Path, everything_log: Path) -> None:
    reports = []
    for run in ("a", "b"):
        code, report, stderr = replay_cli(everything_log, tmp_path / run, server=everything_stdio())
        assert code == 0, (stderr, explain(report))
        # the long call and the last echo (both readOnly) overlap: whichever ends last, the state's last
        # successful call is the recording's (the last step that succeeded), not a false "state DIFFERS"
        assert not report["state_differs_from_recording"], report["state_differences"]
        reports.append(report)
    assert reports[0]["counts"] == reports[1]["counts"]
    assert state_of(reports[0]) == state_of(reports[1])
    assert reports[0]["state"]["subscriptions"] == [URI]
    assert reports[0]["state"]["log_level"] == "info"
    assert reports[0]["state"]["server_name"] == "mcp-servers/everything"


def test_ctrl_c_in_a_replay_says_interrupted_once_with_how_to_go_on(tmp_path: Path, everything_log: Path) -> None:
    run = tmp_path / "run"
    replayer = start_replay(everything_log, run, server=everything_stdio())
    try:
        wait_until("the long call to be sent", lambda: calls_sent(run, LONG) >= 1)
        replayer.send_signal(signal.SIGINT)
    finally:
        code, _, stderr = finish(replayer, run)
    assert code == 130, stderr
    said = [line for line in stderr.splitlines() if "interrupted" in line]
    assert said == [f"mcpobs: interrupted; go on with: mcpobs replay --resume {run} -- SERVER"], stderr


def _kill_mid_call(log: Path, run: Path, mode: str, pidfile: Path) -> tuple[int, dict[str, Any], str]:
    """Replay ``log`` in ``mode`` and kill -9 the server while the long call is in flight (a 3 s call:
    the kill lands in it however slow the machine)."""
    replayer = start_replay(log, run, "--recovery", mode, server=with_pid(pidfile, everything_stdio()))
    try:
        wait_until("the long call to be sent", lambda: calls_sent(run, LONG) >= 1)
        killed = kill_9(pidfile)
        assert killed
    finally:
        result = finish(replayer, run)
    return result


async def project_roots(context: Any) -> ListRootsResult:
    return ListRootsResult(roots=[Root(uri="file:///srv/project", name="project")])


def test_a_question_the_server_asks_on_a_timer_after_a_recovery_gets_the_recorded_answer(tmp_path: Path) -> None:
    # server-everything asks for the client's roots 350 ms after the handshake: in the recording during the
    # first call, after a kill -9 and a recovery during the call sent again. The replay answered "the
    # recording holds no answer to roots/list" there (it had one, given while another step waited), so the
    # new server had no roots and get-roots-list DIFFERED, blamed on checkpoint mode
    log = tmp_path / "roots.jsonl"
    args = ["-m", "mcpobs.cli", "record", "--out", str(log), "--", *everything_stdio()]

    async def session() -> None:
        params = StdioServerParameters(command=sys.executable, args=args)
        with anyio.fail_after(60):
            async with Client(params, mode="legacy", list_roots_callback=project_roots) as client:
                await client.call_tool(LONG, {"duration": 1, "steps": 2})  # the server asks for roots meanwhile
                await client.call_tool("toggle-subscriber-updates", {})
                await client.call_tool(LONG, {"duration": 3, "steps": 3})
                await client.call_tool("get-roots-list", {})

    anyio.run(session)
    run, pidfile = tmp_path / "run", tmp_path / "server.pid"
    # one call at a time: get-roots-list (readOnly) would otherwise go with the long call, before the kill
    replayer = start_replay(log, run, "--max-concurrent", "1", server=with_pid(pidfile, everything_stdio()))
    try:
        wait_until("the second long call to be sent", lambda: calls_sent(run, LONG) >= 2)
        kill_9(pidfile)
    finally:
        code, report, stderr = finish(replayer, run)
    assert code == 0, (stderr, explain(report))
    assert len(report["recoveries"]) == 1
    answers = [r["message"] for r in sent_records(run) if r.get("dir") == "c2s" and "method" not in r["message"]]
    assert all(a.get("result") == {"roots": [{"uri": "file:///srv/project", "name": "project"}]} for a in answers)
    assert len(answers) == 2  # once to the first server, once to the one after the recovery


@pytest.mark.parametrize("mode", MODES)
def test_kill_9_of_server_everything_over_stdio_in_each_recovery_mode(
    tmp_path: Path, everything_log: Path, everything_calm: dict[str, Any], mode: str
) -> None:
    run = tmp_path / "run"
    code, report, stderr = _kill_mid_call(everything_log, run, mode, tmp_path / "pid")
    assert code == 0, (stderr, explain(report))
    assert [r["mode"] for r in report["recoveries"]] == [mode]
    assert "went away" in report["recoveries"][0]["reason"]
    long = [s for s in report["steps"] if s["call"] == f"tools/call {LONG}"]
    assert [(s["status"], s["attempts"]) for s in long] == [("same", 2)]  # cut off, sent again, answered
    assert report["counts"] == everything_calm["counts"]
    assert state_of(report) == state_of(everything_calm)
    restored = restored_methods(run)
    assert restored[:2] == ["initialize", "notifications/initialized"]
    if mode in ("event_log", "hybrid"):
        # the log level and subscription were set after the first checkpoint: these modes send them again
        assert "logging/setLevel" in restored
        assert "resources/subscribe" in restored


def test_checkpoint_mode_tells_the_new_server_the_state_set_since_the_handshake(
    tmp_path: Path, everything_log: Path, everything_calm: dict[str, Any]
) -> None:
    # the log level and the subscription were set after the handshake's checkpoint: before issue 13
    # item 3, checkpoint mode did not send them again after a kill -9 yet reported them as the session's
    # state. A checkpoint now follows each state change, so the restore tells the new process both,
    # and the state claimed is the state the new process was told: nothing lost, as undisturbed.
    run = tmp_path / "run"
    code, report, stderr = _kill_mid_call(everything_log, run, "checkpoint", tmp_path / "pid")
    assert code == 0, (stderr, explain(report))
    restored = restored_methods(run)
    assert "logging/setLevel" in restored
    assert "resources/subscribe" in restored
    assert report["state_lost"] == []
    assert state_of(report) == state_of(everything_calm)
    assert "lost" not in (run / "report.txt").read_text().lower()


def test_a_hung_server_everything_is_probed_with_one_ping(tmp_path: Path, everything_log: Path) -> None:
    # SIGSTOP while the long call and the read-only calls after it are in flight: a real hang, which
    # the replay must probe once (one ping), recover from once, and come out of with the recorded answers
    run, pidfile = tmp_path / "run", tmp_path / "pid"
    stopped: list[int] = []

    def stop_in_the_long_call() -> None:
        wait_until("the long call to be sent", lambda: calls_sent(run, LONG) >= 1)
        stopped.append(int(pidfile.read_text()))
        os.kill(stopped[0], signal.SIGSTOP)

    stopper = threading.Thread(target=stop_in_the_long_call, daemon=True)
    stopper.start()
    # the injected clock: a 30 s call timeout passes after 6 s of real waiting (a live server answers
    # the 3 s call well within that), not after 30
    clock = ManualClock(patience=6)
    config = ReplayConfig(session_recovery=SessionRecovery(mode="event_log"))
    target = Target(command=tuple(with_pid(pidfile, everything_stdio())))
    try:
        report = replay(everything_log, target, run, config, clock=clock)
    finally:
        stopper.join(timeout=60)
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert stopped
    assert [r.reason for r in report.recoveries] == ["hung: no answer to a ping"]
    pings = [r for r in sent_records(run) if r.get("dir") == "c2s" and r["message"].get("method") == "ping"]
    assert len(pings) == 1, len(pings)
    assert not report.differs, [(r.label, r.status, r.reason) for r in report.results]


# -- server-everything over Streamable HTTP on 127.0.0.1


def record_http(log: Path, upstream: str, mode: str, *sessions: Any, concurrent: Any = ()) -> Path:
    """Record through ``mcpobs record --upstream``: each of ``sessions`` one after another, then the
    ``concurrent`` ones at once, every one a client of its own (one proxy left running)."""
    with Recorder(log, upstream) as recorder:
        for session in sessions:
            run_client(recorder.url, mode, session)
        if concurrent:

            async def together() -> None:
                async def one(session: Any) -> None:
                    async with Client(recorder.url, mode=mode) as client:  # type: ignore[arg-type]
                        await session(client)

                with anyio.fail_after(60):
                    async with anyio.create_task_group() as tg:
                        for session in concurrent:
                            tg.start_soon(one, session)

            anyio.run(together)
        recorder.stop()
    return log


async def echo_session(client: Client) -> None:
    await client.call_tool("echo", {"message": "one"})
    await client.call_tool("get-sum", {"a": 1, "b": 2})


def _http_kill_mid_call(server: SupervisedHttp, log: Path, run: Path, mode: str) -> tuple[int, dict[str, Any], str]:
    replayer = start_replay(log, run, "--recovery", mode, "--url", server.url)
    try:
        wait_until("the long call to be sent", lambda: calls_sent(run, LONG) >= 1)
        server.kill_9()
    finally:
        result = finish(replayer, run)
    return result


def test_server_everything_listens_on_127_0_0_1_only(everything_http: SupervisedHttp) -> None:
    listening = subprocess.run(["ss", "-Hltn"], capture_output=True, text=True, check=True).stdout
    ours = [line.split()[3] for line in listening.splitlines() if line.split()[3].endswith(f":{everything_http.port}")]
    assert ours == [f"127.0.0.1:{everything_http.port}"]


@pytest.mark.parametrize("mode", MODES)
def test_kill_9_of_server_everything_over_http_in_each_recovery_mode(
    tmp_path: Path, everything_http: SupervisedHttp, mode: str
) -> None:
    log = record_http(tmp_path / "http.jsonl", everything_http.url, "legacy", everything_session)
    code, calm, stderr = replay_cli(log, tmp_path / "calm", "--url", everything_http.url)
    assert code == 0, (stderr, explain(calm))
    code, report, stderr = _http_kill_mid_call(everything_http, log, tmp_path / "run", mode)
    assert code == 0, (stderr, explain(report))
    assert [r["mode"] for r in report["recoveries"]] == [mode]
    assert report["counts"] == calm["counts"]
    assert state_of(report) == state_of(calm)


def test_a_dead_http_server_is_recovered_once_it_answers_again(tmp_path: Path, everything_http: SupervisedHttp) -> None:
    # the default recovery mode (checkpoint); its restore starts with the recorded initialize, which
    # a dead server cannot answer
    log = record_http(tmp_path / "http.jsonl", everything_http.url, "legacy", everything_session)
    run = tmp_path / "run"
    replayer = start_replay(log, run, "--backoff", "1000", "--url", everything_http.url)
    try:
        wait_until("the long call to be sent", lambda: calls_sent(run, LONG) >= 1)
        everything_http.kill_9(restart=False)
        # the server stays dead until the replay has tried to reconnect at least twice
        wait_until("two reconnects", lambda: len(events(run, "connected")) >= 3 or replayer.poll() is not None)
        everything_http.restart()
    finally:
        code, report, stderr = finish(replayer, run)
    assert code == 0, (stderr, explain(report))
    assert len(report["recoveries"]) == 1  # one recovery, counted once the server answered its handshake
    [finished] = events(run, "recovery_finished")
    assert finished["tries"] >= 2
    started = [e["t"] for e in events(run, "connected")]
    gaps = [(b - a) / 1e9 for a, b in itertools.pairwise(started[1:])]
    assert all(gap >= 0.6 for gap in gaps), gaps  # the reconnects follow the backoff (1 s, 2 s … ±25 %)


async def converting(client: Client) -> None:
    for hour in range(10, 16):
        await client.call_tool(
            "convert_time", {"source_timezone": "UTC", "time": f"{hour}:00", "target_timezone": "Asia/Tokyo"}
        )


def test_mcp_server_time_over_http_in_2026_replays_with_the_same_verdict_twice(
    tmp_path: Path, time_http: SupervisedHttp
) -> None:
    log = record_http(tmp_path / "time.jsonl", time_http.url, "auto", converting)
    reports = [replay_cli(log, tmp_path / run, "--url", time_http.url) for run in ("a", "b")]
    for code, report, stderr in reports:
        assert code == 0, (stderr, explain(report))
        assert "2026-07-28" in report["protocol"]
    assert reports[0][1]["counts"] == reports[1][1]["counts"]
    assert reports[0][1]["counts"]["same"] == 8  # server/discover, tools/list and six calls


def test_the_replay_log_of_an_http_replay_lints_clean(
    tmp_path: Path, time_http: SupervisedHttp, everything_http: SupervisedHttp
) -> None:
    # replay.jsonl keeps the messages, not the HTTP headers the SDK's transport sent with them: lint
    # must not read each request of a replay over HTTP as one without its MCP-Protocol-Version header
    logs = [
        (record_http(tmp_path / "time.jsonl", time_http.url, "auto", converting), time_http.url),
        (record_http(tmp_path / "everything.jsonl", everything_http.url, "legacy", time_free), everything_http.url),
    ]
    for number, (log, url) in enumerate(logs):
        run = tmp_path / f"run{number}"
        code, report, stderr = replay_cli(log, run, "--url", url)
        assert code == 0, (stderr, explain(report))
        lint = subprocess.run(
            [sys.executable, "-m", "mcpobs.cli", "lint", str(run / "replay.jsonl")], capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout
        assert "0 errors, 0 warnings" in lint.stdout


async def time_free(client: Client) -> None:
    await client.call_tool("echo", {"message": "a"})
    await client.call_tool("get-sum", {"a": 2, "b": 3})


def test_a_session_id_server_everything_names_in_its_text_is_redacted_and_replays_the_same(
    tmp_path: Path, everything_http: SupervisedHttp
) -> None:
    # server-everything names its Mcp-Session-Id in the text of toggle-simulated-logging: the log keeps
    # the header's digest there too (not the bearer value), and a replay's new session is no difference
    said: list[str] = []

    async def toggling(client: Client) -> None:
        for _ in range(2):  # on, then off again: the server's timer ends with the session
            result = await client.call_tool("toggle-simulated-logging", {})
            said.append(result.content[0].text)  # type: ignore[union-attr]

    log = record_http(tmp_path / "http.jsonl", everything_http.url, "legacy", toggling)
    session = said[0].split("for session ", 1)[1].split()[0]
    assert session not in log.read_text()
    code, report, stderr = replay_cli(log, tmp_path / "run", "--url", everything_http.url)
    assert code == 0, (stderr, explain(report))
    assert report["counts"]["same"] == 4  # initialize, the tools/list the SDK sends, the two calls


class KillingClock(RealClock):
    """The real clock, which kill -9s the HTTP server as the replay starts waiting for its ``at``-th
    answer (one request in flight at a time: a known step), and has the supervisor start it again
    once the replay has tried to reconnect twice (or 3 s after, if it logs no tries)."""

    def __init__(self, server: SupervisedHttp, run: Path, at: int) -> None:
        self.server, self.run, self.at, self.waits = server, run, at, 0
        self.restarter: threading.Thread | None = None

    async def wait(self, event: anyio.Event, timeout: float) -> bool:
        self.waits += 1
        if self.waits == self.at:
            self.server.kill_9(restart=False)
            self.restarter = threading.Thread(target=self._restart_later, daemon=True)
            self.restarter.start()
        return await super().wait(event, timeout)

    def _restart_later(self) -> None:
        with contextlib.suppress(TimeoutError):
            wait_until("two reconnects", lambda: len(events(self.run, "connected")) >= 3, 3)
        self.server.restart()


def test_a_dead_2026_http_server_is_recovered_once_it_answers_again(tmp_path: Path, time_http: SupervisedHttp) -> None:
    # 2026-07-28 has no handshake to send again: the recovery must still wait for the server to answer
    log = record_http(tmp_path / "time.jsonl", time_http.url, "auto", converting)
    run = tmp_path / "run"
    clock = KillingClock(time_http, run, at=5)  # at the third call: discover, list and two calls answered
    config = ReplayConfig(tool_config=ToolConfig(max_concurrent=1))
    try:
        report = replay(log, Target(url=time_http.url), run, config, clock=clock)
    finally:
        time_http.restart()
    assert clock.waits >= 5
    assert len(report.recoveries) == 1, [r.to_json() for r in report.recoveries]
    assert report.recoveries[0].ms >= 750  # at least the first backoff (1 s, less its jitter) went by
    [finished] = events(run, "recovery_finished")
    assert finished["tries"] >= 2
    assert not report.differs, [(r.label, r.status, r.reason) for r in report.results]


def test_a_proxy_left_running_over_sequential_and_concurrent_sessions_replays_with_no_difference(
    tmp_path: Path, everything_http: SupervisedHttp
) -> None:
    log = record_http(
        tmp_path / "sessions.jsonl",
        everything_http.url,
        "legacy",
        echo_session,
        echo_session,
        concurrent=(echo_session, echo_session),
    )
    # four sessions in one log, each with its own Mcp-Session-Id and the same request ids (1, 2, …);
    # the last two interleaved
    assert sum(1 for r in read_event_log(log).messages() if r["message"].get("method") == "initialize") == 4
    for run in ("a", "b"):  # the same verdict twice: no difference
        code, report, stderr = replay_cli(log, tmp_path / run, "--url", everything_http.url)
        assert code == 0, (stderr, explain(report))


def _fallback_log(tmp_path: Path, server: SupervisedHttp) -> Path:
    """A session of the mcp SDK's client in mode auto: it tries server/discover (2026-07-28), which
    server-everything answers with HTTP 400, then falls back to initialize with 2025-11-25."""
    log = record_http(tmp_path / "auto.jsonl", server.url, "auto", everything_session)
    methods = [r["message"].get("method") for r in read_event_log(log).messages() if r["dir"] == "c2s"]
    assert methods[:2] == ["server/discover", "initialize"]
    return log


def test_a_2026_client_fallen_back_to_2025_replays_the_same_without_a_reconnect(
    tmp_path: Path, everything_http: SupervisedHttp
) -> None:
    log = _fallback_log(tmp_path, everything_http)
    code, report, stderr = replay_cli(log, tmp_path / "run", "--url", everything_http.url)
    assert code == 0, (stderr, explain(report))


def test_a_2026_client_fallen_back_to_2025_is_recorded_as_2025(tmp_path: Path, everything_http: SupervisedHttp) -> None:
    log = _fallback_log(tmp_path, everything_http)
    stated = [r["protocol_version"] for r in read_event_log(log).records if r["kind"] == "protocol"]
    assert stated[-1:] == ["2025-11-25"], stated


def test_a_2026_client_fallen_back_to_2025_replays_as_2025_across_a_reconnect(
    tmp_path: Path, everything_http: SupervisedHttp
) -> None:
    log = _fallback_log(tmp_path, everything_http)
    run = tmp_path / "run"
    code, report, stderr = _http_kill_mid_call(everything_http, log, run, "event_log")
    assert code == 0, (stderr, explain(report))
    assert "2025-11-25" in report["protocol"]
    assert "initialize" in restored_methods(run)  # the new connection starts with the handshake


def test_each_probe_of_clients_fallen_back_side_by_side_goes_to_its_own_session(
    tmp_path: Path, everything_http: SupervisedHttp
) -> None:
    # three mcp SDK clients at once in mode auto: each probes with server/discover, which
    # server-everything refuses (HTTP 400), then falls back to initialize; the probes, sent before any
    # session began, all went to the first of the three
    names = ["first", "second", "third"]
    # the SDK lists the tools after the call, to check its output against the tool's schema
    STEPS = ["server/discover", "initialize", "notifications/initialized", "tools/call", "tools/list"]

    async def one(url: str, name: str) -> None:
        info = Implementation(name=name, version="1.0")
        async with Client(url, mode="auto", client_info=info) as client:  # type: ignore[arg-type]
            await client.call_tool("echo", {"message": name})

    async def together(url: str) -> None:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for name in names:
                    tg.start_soon(one, url, name)

    log = tmp_path / "auto.jsonl"
    with Recorder(log, everything_http.url) as recorder:
        anyio.run(together, recorder.url)
        recorder.stop()
    sessions = split_sessions(read_event_log(log))
    probes = [
        [m["params"]["_meta"][CLIENT_META]["name"] for m in _client_messages(s.log) if m["method"] == "server/discover"]
        for s in sessions
    ]
    assert [[s.client] for s in sessions] == [[f"{name} 1.0"] for name in [p[0] for p in probes if p]], probes
    assert [len(p) for p in probes] == [1, 1, 1]
    assert [[m["method"] for m in _client_messages(s.log)] for s in sessions] == [STEPS] * 3
