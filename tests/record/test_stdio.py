"""mcpobs record over stdio: a real mcp client drives a real MCP server through the recorder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, MCPError, StdioServerParameters
from typer.testing import CliRunner

from mcpobs.analysis import Query, analyze
from mcpobs.cli import app
from mcpobs.eventlog.reader import EventLog, read_event_log
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT
from tests.helpers import RECORD, Piped

TOOLBOX = str(ROOT / "tests" / "servers" / "toolbox.py")


def _recorder(log: Path, *options: str, server: list[str] | None = None) -> StdioServerParameters:
    command = server or [sys.executable, TOOLBOX]
    return StdioServerParameters(command=RECORD[0], args=[*RECORD[1:], "--out", str(log), *options, "--", *command])


def _session(params: StdioServerParameters, mode: str, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Run the calls through a real mcp Client; what the client saw."""
    seen: dict[str, Any] = {"results": [], "progress": []}

    async def run() -> None:
        with anyio.fail_after(30):
            async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
                for name, arguments in calls:

                    async def progress(p: float, total: float | None, message: str | None) -> None:
                        seen["progress"].append((p, total, message))

                    seen["results"].append(await client.call_tool(name, arguments, progress_callback=progress))
                seen["protocol_version"] = client.protocol_version  # type: ignore[attr-defined]

    anyio.run(run)
    return seen


def _requests(log: EventLog) -> dict[Any, dict[str, Any]]:
    return {m["message"]["id"]: m["message"] for m in log.messages() if m["dir"] == "c2s" and "id" in m["message"]}


def _responses(log: EventLog) -> dict[Any, dict[str, Any]]:
    return {
        m["message"]["id"]: m["message"]
        for m in log.messages()
        if m["dir"] == "s2c" and "id" in m["message"] and "method" not in m["message"]
    }


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_session_is_logged_message_by_message(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "session.jsonl"
    calls = [("echo", {"text": "héllo ✓"}), ("fail", {"reason": "on purpose"}), ("count", {"steps": 3})]
    seen = _session(_recorder(path), mode, calls)
    log = read_event_log(path)

    assert log.header["transport"] == "stdio"
    assert log.header["server"] == {"command": [sys.executable, TOOLBOX]}
    assert log.header["redaction"]["enabled"] is True
    assert not log.cut_short
    assert log.events() == ["server_started", "client_closed", "server_exited"]
    assert log.records[-1]["code"] == 0
    assert [r["text"] for r in log.records if r["kind"] == "stderr"] == ["record-toolbox ready"]
    (protocol,) = [r for r in log.records if r["kind"] == "protocol"]
    assert protocol["protocol_version"] == seen["protocol_version"]
    assert [r["t"] for r in log.records] == sorted(r["t"] for r in log.records)

    # every request the client sent has its one answer, and the log's tool results are what the client got
    requests, responses = _requests(log), _responses(log)
    assert set(requests) == set(responses)
    tool_calls = [m for m in requests.values() if m["method"] == "tools/call"]
    assert [m["params"]["name"] for m in tool_calls] == [name for name, _ in calls]
    assert [m["params"]["arguments"] for m in tool_calls] == [arguments for _, arguments in calls]
    for request, result in zip(tool_calls, seen["results"], strict=True):
        logged = responses[request["id"]]["result"]
        assert logged["isError"] is result.is_error
        assert [c["text"] for c in logged["content"]] == [c.text for c in result.content]
    # progress notifications sit between the count request and its answer, as they passed
    order = [m["message"].get("id", m["message"].get("method")) for m in log.messages()]
    count_id = tool_calls[2]["id"]
    between = order[order.index(count_id) + 1 : len(order) - order[::-1].index(count_id) - 1]
    assert between == ["notifications/progress"] * 3
    assert [(p, t, m) for p, t, m in seen["progress"]] == [
        (1.0, 3.0, "step 1"),
        (2.0, 3.0, "step 2"),
        (3.0, 3.0, "step 3"),
    ]


# A stand-in server that answers each line with the same bytes: what passes must not change.
ECHO_SERVER = [
    sys.executable,
    "-c",
    "import sys\nfor line in sys.stdin.buffer: sys.stdout.buffer.write(line); sys.stdout.buffer.flush()",
]


def test_bytes_pass_both_ways_unchanged_and_are_logged_as_sent(tmp_path: Path) -> None:
    path = tmp_path / "raw.jsonl"
    lines = [
        b'{"jsonrpc": "2.0",  "id": 1, "method": "tools/call", "params": {"s": "\\u00e9\\ud83d\\ude00", "n": 1.50}}\n',
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}\r\n',
        '{"jsonrpc":"2.0","id":"x","result":{"text":"d\u00e9j\u00e0 vu"}}\n'.encode(),
        b"this is not JSON\n",
    ]
    result = subprocess.run(
        [*RECORD, "--out", str(path), "--", *ECHO_SERVER], input=b"".join(lines), capture_output=True, timeout=20
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"".join(lines)
    log = read_event_log(path)
    records = [r for r in log.records if r["kind"] in ("message", "invalid")]
    # all input arrives at once, so the two directions interleave as the threads run: compare each apart
    for direction in ("c2s", "s2c"):
        assert [r["kind"] for r in records if r["dir"] == direction] == ["message", "message", "message", "invalid"]
    # the message text in the log is the sent text itself, spacing, escapes and number forms kept
    text = path.read_text(encoding="utf-8")
    for line in lines[:3]:
        assert text.count('"message": ' + line.decode().rstrip("\r\n") + "}\n") == 2
    assert records[-1]["text"] == "this is not JSON"


def test_a_server_that_crashes_mid_session_leaves_a_complete_log(tmp_path: Path) -> None:
    path = tmp_path / "crash.jsonl"
    with pytest.raises(BaseException) as failure:  # noqa: PT011 - the client reports the lost server in its own way
        _session(_recorder(path), "legacy", [("echo", {"text": "before"}), ("crash", {"code": 3})])
    assert _mcp_error(failure.value)
    log = read_event_log(path)
    assert not log.cut_short
    requests, responses = _requests(log), _responses(log)
    crash = next(m for m in requests.values() if m.get("params", {}).get("name") == "crash")
    assert crash["id"] not in responses  # asked, never answered
    assert "crashing on purpose" in [r["text"] for r in log.records if r["kind"] == "stderr"]
    assert log.events()[-1] == "server_exited"
    assert log.records[-1]["code"] == 3


def _mcp_error(error: BaseException) -> bool:
    if isinstance(error, MCPError):
        return True
    return isinstance(error, BaseExceptionGroup) and any(_mcp_error(e) for e in error.exceptions)


def _start(path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*RECORD, "--out", str(path), "--", sys.executable, TOOLBOX],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _call(recorder: subprocess.Popen[bytes], message: dict[str, Any], answer: bool = True) -> dict[str, Any] | None:
    assert recorder.stdin is not None
    assert recorder.stdout is not None
    recorder.stdin.write(json.dumps(message).encode() + b"\n")
    recorder.stdin.flush()
    return json.loads(recorder.stdout.readline()) if answer else None


def _handshake_and_echo(recorder: subprocess.Popen[bytes]) -> None:
    init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}
    answer = _call(recorder, {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
    assert answer is not None
    assert answer["result"]["serverInfo"]["name"] == "record-toolbox"
    _call(recorder, {"jsonrpc": "2.0", "method": "notifications/initialized"}, answer=False)
    params = {"name": "echo", "arguments": {"text": "still here"}}
    echoed = _call(recorder, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params})
    assert echoed is not None
    assert echoed["result"]["content"][0]["text"] == "still here"


def _gone(pid: int, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_a_killed_recorder_leaves_every_message_that_passed(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl"
    recorder = _start(path)
    try:
        _handshake_and_echo(recorder)
        recorder.kill()
        recorder.wait(timeout=10)
    finally:
        if recorder.poll() is None:
            recorder.kill()
    log = read_event_log(path)
    assert not log.cut_short
    assert [(m["dir"], m["message"].get("method", m["message"].get("id"))) for m in log.messages()] == [
        ("c2s", "initialize"),
        ("s2c", 1),
        ("c2s", "notifications/initialized"),
        ("c2s", "tools/call"),
        ("s2c", 2),
    ]
    # with the recorder gone the server's stdin closes, and it exits rather than lingering
    server_pid = next(r["pid"] for r in log.records if r.get("event") == "server_started")
    assert _gone(server_pid)


def test_sigterm_stops_the_server_and_is_logged(tmp_path: Path) -> None:
    path = tmp_path / "term.jsonl"
    recorder = _start(path)
    try:
        _handshake_and_echo(recorder)
        recorder.send_signal(signal.SIGTERM)
        assert recorder.wait(timeout=15) == 130
    finally:
        if recorder.poll() is None:
            recorder.kill()
    log = read_event_log(path)
    assert log.events()[-2:] == ["recorder_stopped", "server_exited"]
    assert log.records[-2]["signal"] == "SIGTERM"


def test_secrets_are_redacted_on_disk_and_passed_intact(tmp_path: Path) -> None:
    path = tmp_path / "secret.jsonl"
    key = "sk-live0123456789abcdefXYZ"
    seen = _session(
        _recorder(path, "--redact", "params.arguments.user", "--redact-regex", r"welcome"),
        "legacy",
        [("login", {"user": "ann", "api_key": key})],
    )
    (result,) = seen["results"]
    assert result.structured_content == {"user": "ann", "token_info": f"Bearer {key[::-1]}abcdefgh", "note": "welcome"}
    text = path.read_text()
    assert key not in text
    assert key[::-1] not in text
    assert "welcome" not in text.split("\n", 1)[1]  # the header names the regex; no message holds it
    log = read_event_log(path)
    call = next(m for m in _requests(log).values() if m["method"] == "tools/call")
    assert call["params"]["arguments"] == {"user": "[REDACTED]", "api_key": "[REDACTED]"}
    answer = _responses(log)[call["id"]]["result"]["structuredContent"]
    assert answer == {"user": "ann", "token_info": "[REDACTED]", "note": "[REDACTED]"}
    rules = log.header["redaction"]["rules"]
    assert "path: params.arguments.user" in rules
    assert "regex: welcome" in rules


def test_a_tool_schema_keeps_a_parameter_named_like_a_secret(tmp_path: Path) -> None:
    # the parameter's name is no secret and its schema holds none: a definition redacted in place would
    # hide a change to it from a lock file (mcpobs tools --baseline), while the argument itself still goes
    path = tmp_path / "schema.jsonl"
    _session(_recorder(path), "auto", [("login", {"user": "ann", "api_key": "hunter2-1234"})])
    log = read_event_log(path)
    listed = next(m["result"]["tools"] for m in _responses(log).values() if "tools" in m.get("result", {}))
    login = next(tool for tool in listed if tool["name"] == "login")
    assert login["inputSchema"]["properties"]["api_key"] == {"title": "Api Key", "type": "string"}
    assert login["inputSchema"]["required"] == ["user", "api_key"]
    call = next(m for m in _requests(log).values() if m["method"] == "tools/call")
    assert call["params"]["arguments"] == {"user": "ann", "api_key": "[REDACTED]"}


def test_no_redact_writes_messages_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    key = "sk-live0123456789abcdefXYZ"
    _session(_recorder(path, "--no-redact"), "legacy", [("login", {"user": "ann", "api_key": key})])
    log = read_event_log(path)
    assert log.header["redaction"] == {"enabled": False, "rules": []}
    assert key in path.read_text()


def test_credentials_among_the_server_arguments_stay_off_the_disk(tmp_path: Path) -> None:
    # a database server is started with its URL, password and all (the toolbox ignores its arguments)
    path = tmp_path / "args.jsonl"
    server = [sys.executable, TOOLBOX, "postgres://svc:db-pa55word@db.internal/app"]
    _session(_recorder(path, server=server), "legacy", [("echo", {"text": "x"})])
    assert "db-pa55word" not in path.read_text()
    assert read_event_log(path).header["server"] == {
        "command": [sys.executable, TOOLBOX, "postgres://[REDACTED]@db.internal/app"]
    }


def test_record_refuses_an_existing_otlp_path_and_never_follows_a_symlink(tmp_path: Path) -> None:
    # --otlp opened the path with O_TRUNC: an existing 0644 file stayed 0644 with the session in it,
    # and a symlink there overwrote the file it points to
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    existing = tmp_path / "existing.json"
    existing.write_text("keep me too\n")
    for target in (link, existing):
        log = tmp_path / f"{target.stem}.jsonl"
        refused = subprocess.run(
            [*RECORD, "--out", str(log), "--otlp", str(target), "--", *ECHO_SERVER],
            capture_output=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
        )
        assert (refused.returncode, refused.stderr.decode()) == (
            2,
            f"mcpobs: error: {target}: already exists; not overwritten\n",
        )
        assert not log.exists()  # refused before recording anything
    assert victim.read_text() == "keep me\n"
    assert existing.read_text() == "keep me too\n"


def test_write_otlp_never_follows_a_symlink_that_appears_while_recording(tmp_path: Path) -> None:
    from mcpobs.eventlog.otlp import write_otlp

    log = tmp_path / "session.jsonl"
    _session(_recorder(log), "legacy", [("echo", {"text": "x"})])
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "spans.json"
    link.symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_otlp(read_event_log(log), link)
    assert victim.read_text() == "keep me\n"


def test_record_refusals(tmp_path: Path) -> None:
    existing = tmp_path / "exists.jsonl"
    existing.write_text("keep me\n")
    refused = subprocess.run([*RECORD, "--out", str(existing), "--", *ECHO_SERVER], capture_output=True, timeout=20)
    assert (refused.returncode, refused.stderr.decode()) == (
        2,
        f"mcpobs: error: {existing}: already exists; not overwritten\n",
    )
    assert existing.read_text() == "keep me\n"
    bare = subprocess.run([*RECORD, "--out", str(tmp_path / "a.jsonl")], capture_output=True, timeout=20)
    assert bare.returncode == 2
    assert "name the server command after --" in bare.stderr.decode()
    bad_regex = subprocess.run(
        [*RECORD, "--out", str(tmp_path / "b.jsonl"), "--redact-regex", "(", "--", *ECHO_SERVER],
        capture_output=True,
        timeout=20,
    )
    assert bad_regex.returncode == 2
    assert bad_regex.stderr.decode().startswith("mcpobs: error: --redact-regex '(': missing ), unterminated subpattern")


def test_a_server_that_cannot_start_exits_4_and_is_logged(tmp_path: Path) -> None:
    path = tmp_path / "none.jsonl"
    result = subprocess.run(
        [*RECORD, "--out", str(path), "--", str(tmp_path / "no-such-server")], capture_output=True, timeout=20
    )
    assert result.returncode == 4
    assert result.stderr.decode() == (
        f"mcpobs: error: cannot start the server '{tmp_path / 'no-such-server'}': No such file or directory\n"
    )
    assert read_event_log(path).events() == ["server_not_started"]


# A server that ignores SIGTERM and stays up after its stdin closes.
STUBBORN = [
    sys.executable,
    "-c",
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "for line in sys.stdin.buffer: sys.stdout.buffer.write(line); sys.stdout.buffer.flush()\n"
    "time.sleep(60)",
]


def test_sigterm_stops_even_a_server_that_ignores_it(tmp_path: Path) -> None:
    path = tmp_path / "stubborn.jsonl"
    recorder = subprocess.Popen(
        [*RECORD, "--out", str(path), "--", *STUBBORN], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert _call(recorder, {"jsonrpc": "2.0", "id": 1, "method": "ping"}) == {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "ping",
        }
        recorder.send_signal(signal.SIGTERM)
        assert recorder.wait(timeout=15) == 130  # SIGTERM, 5 s, then SIGKILL
    finally:
        if recorder.poll() is None:
            recorder.kill()
    log = read_event_log(path)
    assert log.events()[-3:] == ["recorder_stopped", "server_killed", "server_exited"]
    assert log.records[-1]["code"] == -signal.SIGKILL


def test_what_a_wrapper_started_stops_with_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    wrapper = ["sh", "-c", f"sleep 300 & echo $! > {pidfile}; exec cat"]
    recorder = subprocess.Popen([*RECORD, "--out", str(tmp_path / "w.jsonl"), "--", *wrapper], stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not pidfile.exists() or not pidfile.read_text().strip():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        child = int(pidfile.read_text())
        recorder.send_signal(signal.SIGTERM)
        assert recorder.wait(timeout=15) == 130
    finally:
        if recorder.poll() is None:
            recorder.kill()
    assert _gone(child)  # the wrapper's own child, not only the wrapper


def test_secrets_in_the_server_stderr_arguments_and_urls_stay_off_the_disk(tmp_path: Path) -> None:
    # what a reviewer found logged in clear: NAME=value in stderr, --password=… among the arguments, a
    # URL's query parameters, a URL password holding an @
    path = tmp_path / "leaks.jsonl"
    stderr = "echo 'DB_PASSWORD=hunter2pw api_key=QKEY123 X-Api-Key: HKEY456 keyword=kept' >&2"
    server = [
        "sh", "-c", f'{stderr}; exec "$0" "$1"', sys.executable, TOOLBOX,
        "--password=ARGPW1", "--api-key", "ARGK2", "https://alice:argpw2@h/x?token=ARGTOK3&page=2",
    ]  # fmt: skip
    text = "see postgres://bob:p@ss@db/x and https://u:pw@h/x?api_key=QUERYKEY123&q=kept"
    seen = _session(_recorder(path, server=server), "legacy", [("echo", {"text": text})])
    assert seen["results"][0].content[0].text == text  # the client gets it unchanged
    on_disk = path.read_text()
    for secret in ("hunter2pw", "QKEY123", "HKEY456", "ARGPW1", "ARGK2", "argpw2", "ARGTOK3", "p@ss", "ss@db", "QUERY"):
        assert secret not in on_disk, secret
    log = read_event_log(path)
    assert log.header["server"]["command"][5:] == [
        "--password=[REDACTED]", "--api-key", "[REDACTED]", "https://[REDACTED]@h/x?token=[REDACTED]&page=2"
    ]  # fmt: skip
    line = next(r["text"] for r in log.records if r.get("kind") == "stderr")
    assert line == "DB_PASSWORD=[REDACTED] api_key=[REDACTED] X-Api-Key: [REDACTED] keyword=kept"
    call = next(m for m in _requests(log).values() if m["method"] == "tools/call")
    assert call["params"]["arguments"]["text"] == (
        "see postgres://[REDACTED]@db/x and https://[REDACTED]@h/x?api_key=[REDACTED]&q=kept"
    )


LONG = (16 << 20) + 100  # just past the most of a line the recorder holds to log it (MESSAGE_LIMIT)


def test_lines_too_long_to_log_pass_unchanged_and_the_log_says_so(tmp_path: Path) -> None:
    # a line with no newline in sight was held whole, however long, to log it
    path = tmp_path / "long.jsonl"
    short = b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
    sent = b"a" * LONG + b"\n" + short + b"b" * LONG  # the last line unterminated: the input just ends
    result = subprocess.run(
        [*RECORD, "--out", str(path), "--", *ECHO_SERVER], input=sent, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == sent
    assert path.stat().st_size < 1 << 20
    log = read_event_log(path)
    assert not log.cut_short
    assert sorted(m["dir"] for m in log.messages()) == ["c2s", "s2c"]  # the short line, each way
    unlogged = [r for r in log.records if r.get("event") == "body_not_logged"]
    assert sorted(r["dir"] for r in unlogged) == ["c2s", "c2s", "s2c", "s2c"]
    assert unlogged[0]["reason"] == (f"a client message longer than {16 << 20} bytes; forwarded as it came, not logged")
    assert log.events()[-1] == "server_exited"
    warnings = [line for line in result.stderr.decode().splitlines() if line.startswith("mcpobs: warning:")]
    assert len(warnings) == 4
    assert warnings[0] == (
        f"mcpobs: warning: a client message longer than {16 << 20} bytes passed on but not logged "
        "(body_not_logged in the log)"
    )


# Answers pings; a "flood" request gets a long stderr line, then an answer of params.mb megabytes.
FLOOD_SERVER = [
    sys.executable,
    "-c",
    "import json, sys\n"
    "for line in sys.stdin.buffer:\n"
    "    request = json.loads(line)\n"
    "    if request['method'] == 'flood':\n"
    f"        sys.stderr.buffer.write(b'e' * {LONG} + b'\\nafter the long line\\n'); sys.stderr.buffer.flush()\n"
    "        text = 'x' * (request['params']['mb'] << 20)\n"
    "    else:\n"
    "        text = 'pong'\n"
    "    answer = {'jsonrpc': '2.0', 'id': request['id'], 'result': {'text': text}}\n"
    "    sys.stdout.buffer.write(json.dumps(answer).encode() + b'\\n'); sys.stdout.buffer.flush()\n",
]


def _peak_rss_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) // 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc")
def test_a_long_answer_is_forwarded_not_held_and_its_call_ends_not_logged(
    tmp_path: Path, store: Store, runner: CliRunner
) -> None:
    path = tmp_path / "flood.jsonl"
    mb = 64
    recorder = Piped([*RECORD, "--out", str(path), "--", *FLOOD_SERVER])

    def ask(request: dict[str, Any]) -> bytes:
        return recorder.send(json.dumps(request).encode() + b"\n")

    try:
        assert json.loads(ask({"jsonrpc": "2.0", "id": 1, "method": "ping"}))["result"] == {"text": "pong"}
        before = _peak_rss_mb(recorder.process.pid)
        flood = json.loads(ask({"jsonrpc": "2.0", "id": 2, "method": "flood", "params": {"mb": mb}}))
        assert (flood["id"], len(flood["result"]["text"])) == (2, mb << 20)  # forwarded whole
        assert json.loads(ask({"jsonrpc": "2.0", "id": 3, "method": "ping"}))["id"] == 3
        after = _peak_rss_mb(recorder.process.pid)
        assert recorder.close() == 0
    finally:
        recorder.kill()
    # held whole, the answer took the recorder's peak from 40 MB to 500 MB
    assert after - before < 80, (before, after)  # generous: 16 MB held at most
    assert path.stat().st_size < 1 << 20
    assert recorder.stderr.count(b"e" * LONG + b"\nafter the long line\n") == 1  # the server's stderr, forwarded whole
    log = read_event_log(path)
    unlogged = [r for r in log.records if r.get("event") == "body_not_logged"]
    # the server ends its stderr line before it starts the answer
    assert [(r.get("dir"), r.get("stream")) for r in unlogged] == [(None, "stderr"), ("s2c", None)]
    assert [r["text"] for r in log.records if r["kind"] == "stderr"] == ["after the long line"]
    assert [(m["dir"], m["message"]["id"]) for m in log.messages()] == [
        ("c2s", 1), ("s2c", 1), ("c2s", 2), ("c2s", 3), ("s2c", 3)
    ]  # fmt: skip
    # its answer passed unlogged: the flood call ends there, its outcome unknown, not a transport error
    # that lasted until the session ended; and lint does not say the server never answered it
    load(store, [str(path)])
    errors = analyze(store, Query(by=("method",), views=("errors",))).table("errors").records()
    assert [(r["method"], r["error_class"]) for r in errors] == [("flood", "not_logged")]
    linted = runner.invoke(app, ["lint", str(path)])
    assert "unanswered-request" not in linted.stdout, linted.stdout
