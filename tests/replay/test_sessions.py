"""Replaying a recording proxy's log of many sessions: made for real (``mcpobs record --upstream`` in
front of an mcp SDK server over Streamable HTTP, mcp SDK clients one after another and side by side),
each session replayed on its own connection, picked with --session, listed, resumed; and --before."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp_types import Implementation
from typer.testing import CliRunner

from mcpobs.cli import app
from mcpobs.errors import UsageError
from mcpobs.eventlog.peers import read_recording
from mcpobs.eventlog.reader import EventLog
from mcpobs.eventlog.redact import session_digest
from mcpobs.replay.sessions import Session, pick_sessions, split_sessions
from tests.conftest import ROOT, serving
from tests.record.test_http import Recorder
from tests.replay.conftest import assert_private

STATEFUL = str(ROOT / "tests" / "servers" / "stateful.py")
CLIENTS = ["first", "second", "third", "fourth"]


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    """The stateful server over Streamable HTTP: its whoami answers with the session's own client and count."""
    with serving([sys.executable, STATEFUL, "--http"]) as url:
        yield url


async def _client(url: str, name: str, mode: str, answers: list[str]) -> None:
    info = Implementation(name=name, version="1.0")
    # whoami counts a session's calls: without sessions (2026-07-28) there is nothing to count by
    tool = "whoami" if mode == "legacy" else "items"
    async with Client(url, mode=mode, client_info=info) as client:  # type: ignore[arg-type]
        for _ in range(3):
            result = await client.call_tool(tool, {})
            answers.append(result.content[0].text if result.content else "")  # type: ignore[union-attr]


def _record(log: Path, upstream: str, mode: str) -> list[str]:
    """Four clients through one recording proxy: two one after another, then two side by side."""
    answers: list[str] = []
    with Recorder(log, upstream) as recorder:

        async def run() -> None:
            with anyio.fail_after(60):
                await _client(recorder.url, CLIENTS[0], mode, answers)
                await _client(recorder.url, CLIENTS[1], mode, answers)
                async with anyio.create_task_group() as together:
                    together.start_soon(_client, recorder.url, CLIENTS[2], mode, answers)
                    together.start_soon(_client, recorder.url, CLIENTS[3], mode, answers)

        anyio.run(run)
        recorder.stop()
    return answers


@pytest.fixture(scope="module")
def proxy_log(upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    log = tmp_path_factory.mktemp("proxy") / "proxy.jsonl"
    answers = _record(log, upstream, "legacy")
    # each session saw only its own calls: what a replay must see again
    assert sorted(answers) == sorted(f"{name}, call {n}" for name in CLIENTS for n in (1, 2, 3))
    return log


def _replay(*args: str) -> Any:
    return CliRunner().invoke(app, ["replay", *args], catch_exceptions=False)


def test_a_proxy_log_of_sequential_and_concurrent_sessions_replays_with_no_false_difference(
    proxy_log: Path, upstream: str, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    result = _replay(str(proxy_log), "--url", upstream, "--run-dir", str(run))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "DIFFER" not in result.stdout
    summary = json.loads((run / "report.json").read_text())
    assert summary["sessions_in_recording"] == 4
    assert summary["differs"] is False
    clients = [s["client"] for s in summary["sessions"]]
    assert clients[:2] == [f"{name} 1.0" for name in CLIENTS[:2]]
    assert set(clients[2:]) == {f"{name} 1.0" for name in CLIENTS[2:]}  # side by side: either began first
    for number, session in enumerate(summary["sessions"], 1):
        report = json.loads((run / f"session-{number}" / "report.json").read_text())
        whoami = [s for s in report["steps"] if s["call"] == "tools/call whoami"]
        assert [s["status"] for s in whoami] == ["same"] * 3
        assert session["report"]["counts"]["same"] == 5  # initialize, tools/list, 3 whoami
        assert (run / f"session-{number}" / "state.json").is_file()
    assert (run / "report.txt").read_text().count("Same as the recording") == 4
    assert_private(run)


def test_the_sessions_are_listed_with_their_start_client_and_calls(proxy_log: Path) -> None:
    result = _replay(str(proxy_log), "--list-sessions", "--format", "json")
    assert result.exit_code == 0, result.stderr
    listed = json.loads(result.stdout)
    assert [s["session"] for s in listed] == [1, 2, 3, 4]
    assert all(s["tool_calls"] == 3 for s in listed)
    clients = [s["client"] for s in listed]
    # the first two clients ran one after the other, the last two side by side (either may begin first)
    assert clients[:2] == [f"{name} 1.0" for name in CLIENTS[:2]]
    assert set(clients[2:]) == {f"{name} 1.0" for name in CLIENTS[2:]}
    assert all(s["id"] and s["started"] for s in listed)
    assert len({s["id"] for s in listed}) == 4
    text = _replay(str(proxy_log), "--list-sessions")
    assert text.exit_code == 0
    for session in listed:
        assert session["id"] in text.stdout
        assert session["client"] in text.stdout


def test_session_picks_sessions_by_number_or_id(proxy_log: Path, upstream: str, tmp_path: Path) -> None:
    sessions = split_sessions(read_recording(proxy_log))
    fourth = sessions[3].id
    assert fourth is not None
    run = tmp_path / "run"
    count = tmp_path / "before.count"
    # the log keeps session ids redacted ([REDACTED:sha256:<digest>]): the start of the digest names one
    digest = fourth.removeprefix("[REDACTED:sha256:").removesuffix("]")
    picked = ["--session", "3", "--session", digest[:8], "--before", f"echo x >> {count}"]
    result = _replay(str(proxy_log), "--url", upstream, "--run-dir", str(run), *picked)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert count.read_text().count("x") == 2  # --before ran before each session
    summary = json.loads((run / "report.json").read_text())
    # the third and fourth clients ran side by side: either may have begun first
    assert {sessions[2].client, sessions[3].client} == {"third 1.0", "fourth 1.0"}
    assert [(s["session"], s["client"]) for s in summary["sessions"]] == [
        (3, sessions[2].client),
        (4, sessions[3].client),
    ]
    assert sorted(p.name for p in run.iterdir() if p.is_dir()) == ["session-3", "session-4"]
    # one session: the run directory is that session's, as for a log of one
    one = _replay(str(proxy_log), "--url", upstream, "--run-dir", str(tmp_path / "one"), "--session", "2")
    assert one.exit_code == 0, one.stderr
    assert json.loads((tmp_path / "one" / "run.json").read_text())["session"] == {"number": 2, "id": sessions[1].id}
    assert "Same as the recording" in one.stdout
    assert "Summary" not in one.stdout
    wrong = _replay(str(proxy_log), "--url", upstream, "--run-dir", str(tmp_path / "no"), "--session", "9")
    assert wrong.exit_code == 2
    assert "--session '9' names no session of the recording" in wrong.stderr
    assert not (tmp_path / "no").exists()


def test_resume_goes_on_with_the_sessions_not_finished(proxy_log: Path, upstream: str, tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert _replay(str(proxy_log), "--url", upstream, "--run-dir", str(run)).exit_code == 0
    # as a kill during the third session leaves it: no report, the journal's lines; the fourth not begun
    (run / "session-3" / "report.json").unlink()
    shutil.rmtree(run / "session-4")
    first_log = (run / "session-1" / "replay.jsonl").read_bytes()
    count = tmp_path / "before.count"
    result = _replay("--resume", str(run), "--url", upstream, "--before", f"echo x >> {count}")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert count.read_text().count("x") == 2  # before each session not finished
    summary = json.loads((run / "report.json").read_text())
    assert [s["report"]["counts"]["same"] for s in summary["sessions"]] == [5, 5, 5, 5]
    assert (run / "session-1" / "replay.jsonl").read_bytes() == first_log  # finished: not sent again
    assert "resumed" in (run / "session-3" / "replay.jsonl").read_text()
    assert (run / "session-4" / "report.json").is_file()


def test_a_stateless_recording_of_several_clients_is_one_session(upstream: str, tmp_path: Path) -> None:
    log = tmp_path / "stateless.jsonl"
    _record(log, upstream, "auto")
    sessions = split_sessions(read_recording(log))
    assert [(s.id, s.tool_calls) for s in sessions] == [(None, 12)]
    run = tmp_path / "run"
    result = _replay(str(log), "--url", upstream, "--run-dir", str(run))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (run / "report.json").is_file()


def test_before_failing_after_a_session_still_writes_the_summary_of_the_sessions_replayed(
    proxy_log: Path, upstream: str, tmp_path: Path
) -> None:
    flag = tmp_path / "once"
    once = f"test -e {flag} && exit 3; touch {flag}"  # works before the first session only
    run = tmp_path / "run"
    result = _replay(str(proxy_log), "--url", upstream, "--run-dir", str(run), "--before", once, "--format", "json")
    assert result.exit_code == 4, result.stdout + result.stderr
    assert f"--before {once!r} failed with exit status 3" in result.stderr
    printed = json.loads(result.stdout)
    assert [s["session"] for s in printed["sessions"]] == [1]
    written = json.loads((run / "report.json").read_text())
    assert [s["session"] for s in written["sessions"]] == [1]
    assert (run / "report.txt").read_text().count("Same as the recording") == 1
    assert (run / "session-1" / "report.txt").is_file()


# --before: a server whose data outlives its process


def _record_ledger(log: Path, ledger: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpobs.cli", "record", "--out", str(log), "--", sys.executable, STATEFUL, "--ledger", str(ledger)],
    )

    async def run() -> None:
        with anyio.fail_after(60):
            async with Client(params, mode="legacy") as client:  # type: ignore[arg-type]
                await client.call_tool("items", {})
                await client.call_tool("add", {"item": "pen"})
                await client.call_tool("items", {})

    anyio.run(run)


def test_before_resets_a_stateful_server_and_its_failure_is_exit_4(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.json"
    log = tmp_path / "ledger.jsonl"
    _record_ledger(log, ledger)
    assert json.loads(ledger.read_text()) == ["pen"]
    server = ["--", sys.executable, STATEFUL, "--ledger", str(ledger)]
    # the ledger as the recording left it: the replay's first items and add differ
    again = _replay(str(log), "--run-dir", str(tmp_path / "again"), *server)
    assert again.exit_code == 1
    reset = f"rm -f {ledger}"
    for n in (1, 2):
        result = _replay(str(log), "--run-dir", str(tmp_path / f"reset{n}"), "--before", reset, *server)
        assert result.exit_code == 0, result.stdout + result.stderr
    locked = "echo the repository is locked >&2; exit 3"
    failing = _replay(str(log), "--run-dir", str(tmp_path / "failed"), "--before", locked, *server)
    assert failing.exit_code == 4
    assert "--before 'echo the repository is locked >&2; exit 3' failed with exit status 3" in failing.stderr
    assert "the repository is locked" in failing.stderr
    assert failing.stdout == ""
    assert not (tmp_path / "failed").exists()  # nothing replayed


def test_session_names_a_redacted_session_by_its_real_id_or_the_start_of_its_digest() -> None:
    def session(number: int, real: str) -> Session:
        return Session(number, session_digest(real), EventLog("log.jsonl", {}), "", None, 0, 0)

    sessions = [session(1, "6799ac6fa8274d26"), session(2, "0bbf178f5cc842e9")]
    digest = sessions[1].id.removeprefix("[REDACTED:sha256:")  # type: ignore[union-attr]
    assert pick_sessions(sessions, ["0bbf178f5cc842e9"]) == [sessions[1]]  # the id the server gave
    assert pick_sessions(sessions, [digest[:6]]) == [sessions[1]]
    assert pick_sessions(sessions, [sessions[0].id or ""]) == [sessions[0]]  # as --list-sessions prints it
    with pytest.raises(UsageError, match="names no session"):
        pick_sessions(sessions, ["[REDACTED"])  # what every redacted id starts with names none
