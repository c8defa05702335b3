"""mcpobs record over Streamable HTTP: a real mcp client and server on 127.0.0.1, the recorder between."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from typer.testing import CliRunner

from mcpobs.analysis import Query, analyze
from mcpobs.cli import app
from mcpobs.eventlog.reader import EventLog, read_event_log
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import free_port, serving, wait_for_port
from tests.record.test_stdio import RECORD, TOOLBOX, _peak_rss_mb, _requests, _responses

GZIP_UPSTREAM = [sys.executable, str(Path(TOOLBOX).parent / "gzip_upstream.py")]


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serving([sys.executable, TOOLBOX, "--http"]) as url:
        yield url


class Recorder:
    """``mcpobs record --upstream`` as a process: the URL it listens on, stopped with SIGTERM."""

    def __init__(self, log: Path, upstream: str, *options: str) -> None:
        self.log = log
        self.process = subprocess.Popen(
            [*RECORD, "--out", str(log), "--upstream", upstream, "--listen", "127.0.0.1:0", *options],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stderr is not None
        line = self.process.stderr.readline().decode()  # bounded: the process prints it or exits
        match = re.search(r"point the MCP client at (\S+)", line)
        assert match, line
        self.url = match.group(1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)

    def stderr(self) -> str:
        """What the stopped recorder wrote to stderr after the line that said its URL."""
        assert self.process.stderr is not None
        return self.process.stderr.read().decode()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def _client(url: str, mode: str, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    results: list[Any] = []

    async def run() -> None:
        with anyio.fail_after(30):
            async with Client(url, mode=mode) as client:  # type: ignore[arg-type]
                for name, arguments in calls:

                    async def progress(p: float, total: float | None, message: str | None) -> None:
                        pass  # asking for progress is what makes the server send it

                    results.append(await client.call_tool(name, arguments, progress_callback=progress))

    anyio.run(run)
    return results


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_session_through_the_proxy_is_logged_with_its_http_facts(tmp_path: Path, upstream: str, mode: str) -> None:
    path = tmp_path / "http.jsonl"
    calls = [("echo", {"text": "über"}), ("fail", {"reason": "x"}), ("count", {"steps": 2})]
    with Recorder(path, upstream) as recorder:
        assert recorder.url == upstream.replace(upstream.split("/")[2], recorder.url.split("/")[2])
        results = _client(recorder.url, mode, calls)
        assert recorder.stop() == 130
    assert [r.content[0].text for r in results] == ["über", "Error executing tool fail: failed: x", "counted 2"]
    log = read_event_log(path)
    assert log.header["transport"] == "http"
    assert log.header["server"] == {"url": upstream}
    events = log.events()
    assert (events[0], events[-1]) == ("proxy_listening", "recorder_stopped")
    # requests without a body (the GET stream, the closing DELETE), bodiless answers and streams the
    # client closed are events
    assert set(events[1:-1]) <= {"http_request", "http_response", "stream_closed"}
    if mode == "legacy":
        assert "DELETE" in [r.get("method") for r in log.records if r.get("event") == "http_request"]
    requests, responses = _requests(log), _responses(log)
    assert set(requests) == set(responses)
    tool_calls = [m for m in requests.values() if m["method"] == "tools/call"]
    assert [(m["params"]["name"], m["params"]["arguments"]) for m in tool_calls] == calls
    for message in log.messages():
        http = message["http"]
        assert http["method"] in ("POST", "GET", "DELETE")
        if message["dir"] == "s2c":
            assert http["status"] == 200
    progress = [m for m in log.messages() if m["message"].get("method") == "notifications/progress"]
    assert [p["message"]["params"]["progress"] for p in progress] == [1, 2]
    if mode == "legacy":
        sessions = {m["http"].get("session_id") for m in log.messages() if m["dir"] == "c2s"} - {None}
        assert len(sessions) == 1  # every request after initialize names the session its answer opened
    else:
        named = [m["http"] for m in log.messages() if m["dir"] == "c2s" and m["message"]["method"] == "tools/call"]
        assert [(h["mcp_method"], h["mcp_name"]) for h in named] == [("tools/call", n) for n, _ in calls]
    _analyzed_like_the_session(path, mode)


def _analyzed_like_the_session(path: Path, mode: str) -> None:
    with Store() as store:
        load(store, [str(path)])
        rows = analyze(store, Query(views=("calls",))).table("calls").records()
        assert {r["tool"]: (r["calls"], r["errors"]) for r in rows} == {"echo": (1, 0), "fail": (1, 1), "count": (1, 0)}
        sessions = analyze(store, Query(views=("sessions",), by=("session",))).table("sessions").records()
        assert len(sessions) == 1
        if mode == "legacy":
            assert not sessions[0]["session"].startswith("trace:")


def _post(url: str, headers: dict[str, str], message: dict[str, Any]) -> httpx2.Response:
    base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    return httpx2.post(url, headers={**base, **headers}, content=json.dumps(message), timeout=20)


PING = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
}


def test_credentials_in_headers_are_redacted_on_disk_and_passed_on(tmp_path: Path, upstream: str) -> None:
    path = tmp_path / "auth.jsonl"
    with Recorder(path, upstream) as recorder:
        answer = _post(recorder.url, {"authorization": "Bearer s3cr3t-t0ken-value", "x-api-key": "k-123"}, PING)
        assert answer.status_code == 200
        recorder.stop()
    text = path.read_text()
    assert "s3cr3t-t0ken-value" not in text
    assert "k-123" not in text
    (request,) = [m for m in read_event_log(path).messages() if m["dir"] == "c2s"]
    assert request["http"]["headers"]["authorization"] == "[REDACTED]"
    assert request["http"]["headers"]["x-api-key"] == "[REDACTED]"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"host": "evil.example:80"}, "Host 'evil.example:80' is not this proxy"),
        ({"origin": "http://evil.example"}, "Origin 'http://evil.example' is not this machine"),
    ],
)
def test_requests_from_elsewhere_are_refused(
    tmp_path: Path, upstream: str, headers: dict[str, str], reason: str
) -> None:
    path = tmp_path / "refused.jsonl"
    with Recorder(path, upstream) as recorder:
        answer = _post(recorder.url, headers, PING)
        recorder.stop()
    assert answer.status_code == 403
    assert reason in answer.text
    log = read_event_log(path)
    assert log.messages() == []
    assert [r["reason"] for r in log.records if r.get("event") == "request_refused"] == [reason]


def test_an_unreachable_upstream_is_a_502_and_logged(tmp_path: Path) -> None:
    path = tmp_path / "down.jsonl"
    dead = f"http://127.0.0.1:{free_port()}/mcp"
    with Recorder(path, dead) as recorder:
        answer = _post(recorder.url, {}, PING)
        recorder.stop()
    assert answer.status_code == 502
    log: EventLog = read_event_log(path)
    assert "upstream_unreachable" in log.events()
    # the request was logged before it was sent on: what the client asked is kept
    assert [m["message"]["method"] for m in log.messages()] == ["initialize"]


def test_compressed_answers_pass_as_they_came_and_are_logged_decoded(tmp_path: Path) -> None:
    path = tmp_path / "gzip.jsonl"
    with serving(GZIP_UPSTREAM) as url, Recorder(path, url) as recorder:
        answer = _post(recorder.url, {"accept-encoding": "gzip"}, PING)
        recorder.stop()
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.json() == {"jsonrpc": "2.0", "id": 7, "result": {"ok": "é"}}  # httpx2 decoded what passed
    (logged,) = [m for m in read_event_log(path).messages() if m["dir"] == "s2c"]
    assert logged["message"] == {"jsonrpc": "2.0", "id": 7, "result": {"ok": "é"}}


def test_a_server_killed_mid_session_leaves_a_complete_log(tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, TOOLBOX, "--http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    path = tmp_path / "killed-server.jsonl"
    try:
        wait_for_port(port)
        with Recorder(path, f"http://127.0.0.1:{port}/mcp") as recorder:
            first = _post(recorder.url, {}, PING)
            assert first.status_code == 200
            server.kill()
            server.wait(timeout=10)
            call = {"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "echo", "arguments": {}}}
            second = _post(recorder.url, {"mcp-session-id": first.headers["mcp-session-id"]}, call)
            assert recorder.stop() == 130
    finally:
        if server.poll() is None:
            server.kill()
    assert second.status_code == 502
    log = read_event_log(path)
    assert not log.cut_short
    assert [(m["dir"], m["message"].get("method", m["message"].get("id"))) for m in log.messages()] == [
        ("c2s", "initialize"),
        ("s2c", 7),
        ("c2s", "tools/call"),
    ]
    assert log.events() == ["proxy_listening", "upstream_unreachable", "recorder_stopped"]
    # analyzed, the call the dead server never answered is a transport failure of the session
    with Store() as store:
        load(store, [str(path)])
        (row,) = analyze(store, Query(views=("errors",))).table("errors").records()
        assert (row["tool"], row["error_class"]) == ("echo", "transport")


def test_stopping_with_a_stream_held_open_is_prompt(tmp_path: Path, upstream: str) -> None:
    path = tmp_path / "held.jsonl"
    with Recorder(path, upstream) as recorder:
        session = _post(recorder.url, {}, PING).headers["mcp-session-id"]
        headers = {"accept": "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
        with httpx2.Client(timeout=20) as client, client.stream("GET", recorder.url, headers=headers) as stream:
            assert stream.status_code == 200  # the listening stream is open, and stays open
            started = time.monotonic()
            assert recorder.stop() == 130
            assert time.monotonic() - started < 8
            stderr = recorder.stderr()
    # the stream still open after the grace is ended by the proxy, and said so: uvicorn cancelled it, with
    # "ERROR: Cancel 1 running task(s)" and a traceback on stderr, and the log did not say how it ended
    assert stderr == "mcpobs: interrupted\n"
    events = read_event_log(path).records[-2:]
    assert [e.get("event") for e in events] == ["stream_closed", "recorder_stopped"]
    assert (events[0]["by"], events[0]["error"]) == ("server", "the recorder stopped")


def test_a_second_signal_during_the_grace_ends_the_open_streams_at_once_and_cleanly(
    tmp_path: Path, upstream: str
) -> None:
    path = tmp_path / "forced.jsonl"
    with Recorder(path, upstream) as recorder:
        session = _post(recorder.url, {}, PING).headers["mcp-session-id"]
        headers = {"accept": "text/event-stream", "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
        with httpx2.Client(timeout=20) as client, client.stream("GET", recorder.url, headers=headers) as stream:
            assert stream.status_code == 200
            recorder.process.send_signal(signal.SIGINT)
            host, port = recorder.url.split("/")[2].rsplit(":", 1)
            wait_for_refusal(host, int(port))  # the proxy is stopping: its grace for open streams runs
            recorder.process.send_signal(signal.SIGINT)
            assert recorder.process.wait(timeout=15) == 130
            stderr = recorder.stderr()
    # uvicorn cancelled the open stream and the application's lifespan: two tracebacks on stderr
    assert stderr == "mcpobs: interrupted\n"
    assert [e.get("event") for e in read_event_log(path).records[-2:]] == ["stream_closed", "recorder_stopped"]


def wait_for_refusal(host: str, port: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
        except OSError:
            return
        time.sleep(0.01)
    raise TimeoutError(f"{host}:{port} still takes connections after {seconds:g} s")


class _Bystander:
    """A plain HTTP server on another port of this machine: what a request the proxy should not
    forward would reach. It answers 200 and keeps every request it got."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
                    data += chunk
                self.received.append(data)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.sock.close()


def _raw_request(url: str, target: str, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send ``target`` as the request target byte for byte (no client library would), and read the answer."""
    host, port = url.split("/")[2].rsplit(":", 1)
    body = json.dumps(PING).encode()
    lines = [f"POST {target} HTTP/1.1", f"host: {host}:{port}", "content-type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()] + [f"content-length: {len(body)}", "connection: close"]
    with socket.create_connection((host, int(port)), timeout=20) as conn:
        conn.sendall("\r\n".join(lines).encode() + b"\r\n\r\n" + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer


def test_a_request_target_cannot_send_the_request_to_another_host(tmp_path: Path, upstream: str) -> None:
    bystander = _Bystander()
    path = tmp_path / "targets.jsonl"
    secret = "Bearer l3ak3d-t0ken-value"
    targets = [
        f"@127.0.0.1:{bystander.port}/x",  # origin + target made the proxy's origin the userinfo of this host
        f"http://127.0.0.1:{bystander.port}/x",  # absolute-form
        f".127.0.0.1:{bystander.port}/x",
        ".evil/x",
        "*",
    ]
    try:
        with Recorder(path, upstream) as recorder:
            answers = [_raw_request(recorder.url, target, {"authorization": secret}) for target in targets]
            good = _raw_request(
                recorder.url, "/" + recorder.url.split("/", 3)[3], {"accept": "application/json, text/event-stream"}
            )
            assert recorder.stop() == 130
            assert recorder.process.stderr is not None
            stderr = recorder.process.stderr.read().decode()
    finally:
        bystander.close()
    assert bystander.received == []
    assert [status for status, _ in answers] == [400] * len(targets), answers
    assert "Traceback" not in stderr
    log = read_event_log(path)
    refused = [r["reason"] for r in log.records if r.get("event") == "request_refused"]
    assert len(refused) == len(targets)
    assert all("request target" in reason for reason in refused)
    assert good[0] == 200  # a path still goes through


def test_secret_headers_session_ids_and_url_credentials_stay_off_the_disk(tmp_path: Path, upstream: str) -> None:
    path = tmp_path / "secrets.jsonl"
    with_credentials = upstream.replace("http://", "http://svc:upstr3am-pw@")
    with Recorder(path, with_credentials) as recorder:
        first = _post(recorder.url, {"x-custom-token": "cust0m-t0ken", "x-tenant-secret": "tenant-s3cret"}, PING)
        session = first.headers["mcp-session-id"]
        notified = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        second = _post(recorder.url, {"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}, notified)
        assert (first.status_code, second.status_code) == (200, 202)
        recorder.stop()
    text = path.read_text()
    for secret in ("cust0m-t0ken", "tenant-s3cret", "upstr3am-pw", session):
        assert secret not in text
    digest = f"[REDACTED:sha256:{hashlib.sha256(session.encode()).hexdigest()[:16]}]"
    log = read_event_log(path)
    assert log.header["server"] == {"url": with_credentials.replace("svc:upstr3am-pw", "[REDACTED]")}
    answer, notification = log.messages()[1:]
    assert answer["http"]["session_id"] == answer["http"]["headers"]["mcp-session-id"] == digest
    assert notification["http"]["session_id"] == notification["http"]["headers"]["mcp-session-id"] == digest
    # the server got the session's real id: redaction changes the log only
    assert second.status_code == 202


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc")
def test_a_gzip_bomb_is_forwarded_whole_and_not_inflated_into_memory_or_the_log(tmp_path: Path) -> None:
    # ~100 KB of gzip that inflates to 100 MB: the recorder inflated it whole to log it (5x that at its peak)
    sys.path.insert(0, str(Path(TOOLBOX).parent))
    from gzip_upstream import bomb

    sys.path.pop(0)
    request = bomb(json.dumps(PING).encode(), 100)
    path = tmp_path / "bomb.jsonl"
    with serving(GZIP_UPSTREAM) as url, Recorder(path, url) as recorder:
        before = _peak_rss_mb(recorder.process.pid)
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        sent = httpx2.post(recorder.url, headers=headers, content=request, timeout=60)
        answered = _post(recorder.url, {}, {**PING, "method": "bomb", "params": {"mb": 100}})
        after = _peak_rss_mb(recorder.process.pid)
        recorder.stop()
        assert recorder.process.stderr is not None
        stderr = recorder.process.stderr.read().decode()
    assert "warning: a request body that decodes to more than 16777216 bytes passed on but not logged" in stderr
    # the upstream got the bytes as they were sent, and the client the bomb as the upstream sent it
    assert sent.json()["result"]["sha256"] == hashlib.sha256(request).hexdigest()
    assert len(answered.content) > 100 << 20  # httpx2 inflated it on this side
    assert after - before < 80, (before, after)  # generous: 16 MB decoded at most, at once
    assert path.stat().st_size < 1 << 20
    log = read_event_log(path)
    refused = [r for r in log.records if r.get("event") == "body_not_logged"]
    assert [(r["dir"], r["exchange"]) for r in refused] == [("c2s", 1), ("s2c", 2)]
    assert "decodes to more than 16777216 bytes" in refused[0]["reason"]
    assert [m["dir"] for m in log.messages()] == ["s2c", "c2s"]  # the small answer to the first, the second request


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc")
def test_an_sse_event_that_never_ends_is_forwarded_not_held_and_the_events_after_it_are_logged(tmp_path: Path) -> None:
    # a server streaming with no blank line between events: the recorder held all of it, waiting for one
    path = tmp_path / "flood.jsonl"
    mb = 64
    with serving(GZIP_UPSTREAM) as url, Recorder(path, url) as recorder:
        before = _peak_rss_mb(recorder.process.pid)
        base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        flood = {"jsonrpc": "2.0", "id": 3, "method": "flood", "params": {"mb": mb}}
        size, tail = 0, b""
        with httpx2.stream("POST", recorder.url, headers=base, content=json.dumps(flood), timeout=60) as answer:
            assert answer.status_code == 200
            for chunk in answer.iter_raw():
                size, tail = size + len(chunk), (tail + chunk)[-200:]
        after = _peak_rss_mb(recorder.process.pid)
        recorder.stop()
    # forwarded whole: every byte of the long event, and the answer after it
    assert size > mb << 20
    assert tail.endswith(b'data: {"jsonrpc": "2.0", "id": 3, "result": {"ok": "after"}}\n\n')
    assert after - before < 80, (before, after)  # generous: 16 MB held at most (it held all 64 MB, 500 MB at its peak)
    assert path.stat().st_size < 1 << 20
    log = read_event_log(path)
    refused = [r for r in log.records if r.get("event") == "body_not_logged"]
    assert [(r["dir"], r["exchange"], r["status"]) for r in refused] == [("s2c", 1, 200)]
    assert refused[0]["reason"] == "an SSE event longer than 16777216 bytes; forwarded as it came, not logged"
    messages = [(m["dir"], m["message"].get("method"), m["message"].get("result")) for m in log.messages()]
    assert messages == [
        ("c2s", "flood", None),
        ("s2c", "notifications/message", None),
        ("s2c", None, {"ok": "after"}),
    ]
    # in the order they passed: the long event between the notification and the answer
    kinds = [r.get("event") or r.get("message", {}).get("method") for r in log.records if r["kind"] != "header"]
    assert kinds.index("body_not_logged") == kinds.index("notifications/message") + 1


def test_a_call_whose_answer_was_not_logged_ends_there_with_its_outcome_unknown(
    tmp_path: Path, store: Store, runner: CliRunner
) -> None:
    # the answer passed (too large to log): the call stayed open, counted a transport error that lasted
    # until the recorder stopped, and lint said the server never answered
    path = tmp_path / "unlogged.jsonl"
    with serving(GZIP_UPSTREAM) as url, Recorder(path, url) as recorder:
        assert _post(recorder.url, {}, PING).status_code == 200
        assert _post(recorder.url, {}, {**PING, "id": 8, "method": "bomb", "params": {"mb": 20}}).status_code == 200
        # an unlogged event on an SSE stream, and the answer after it: the answer decides
        flood = _post(recorder.url, {}, {**PING, "id": 9, "method": "flood", "params": {"mb": 17}})
        assert flood.status_code == 200
        recorder.stop()
        assert recorder.process.stderr is not None
        stderr = recorder.process.stderr.read().decode()
    # said on stderr as the stdio recorder says it (there was no word of it)
    assert [line for line in stderr.splitlines() if "warning" in line] == [
        f"mcpobs: warning: {what} passed on but not logged (body_not_logged in the log)"
        for what in (
            "a response body that decodes to more than 16777216 bytes",
            "an SSE event longer than 16777216 bytes",
        )
    ]
    log = read_event_log(path)
    unlogged = [r for r in log.records if r.get("event") == "body_not_logged"]
    assert [r["exchange"] for r in unlogged] == [2, 3]
    bomb = next(m for m in log.messages() if m["message"].get("method") == "bomb")
    load(store, [str(path)])
    calls = {
        r["method"]: (r["calls"], r["errors"], r["latency_max_ms"])
        for r in analyze(store, Query(by=("method",), views=("calls",))).table("calls").records()
    }
    assert calls == {
        "initialize": (1, 0, pytest.approx(calls["initialize"][2])),
        "bomb": (1, 1, pytest.approx((unlogged[0]["t"] - bomb["t"]) / 1e6)),
        "flood": (1, 0, pytest.approx(calls["flood"][2])),
    }
    errors = analyze(store, Query(by=("method",), views=("errors",))).table("errors").records()
    assert [(r["method"], r["error_class"]) for r in errors] == [("bomb", "not_logged")]
    linted = runner.invoke(app, ["lint", str(path)])
    assert "unanswered-request" not in linted.stdout, linted.stdout
