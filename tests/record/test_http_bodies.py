"""mcpobs record over HTTP with bodies longer than it logs (16 MiB): passed on as they come, never held
whole, and said in the log and on stderr; a real mcp client and server (answering as JSON bodies) on
127.0.0.1, and a raw client streaming what no one should hold."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
from mcp import Client

from mcpobs.eventlog.reader import read_event_log
from tests.conftest import serving
from tests.record.test_http import PING, Recorder, _post
from tests.record.test_stdio import TOOLBOX, _peak_rss_mb

LIMIT = 16 << 20  # MESSAGE_LIMIT
JSON_TOOLBOX = [sys.executable, TOOLBOX, "--http-json"]


def _warnings(recorder: Recorder) -> list[str]:
    assert recorder.process.stderr is not None
    return [line for line in recorder.process.stderr.read().decode().splitlines() if "warning" in line]


def test_a_call_and_its_answer_too_long_to_log_pass_whole_and_the_session_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    text = "a" * (20 << 20)
    seen: list[str] = []

    async def session(url: str) -> None:
        with anyio.fail_after(120):
            async with Client(url, mode="legacy") as client:
                for argument in (text, "after"):
                    result = await client.call_tool("echo", {"text": argument})
                    seen.append(result.content[0].text)  # type: ignore[union-attr]

    with serving(JSON_TOOLBOX) as url, Recorder(path, url) as recorder:
        anyio.run(session, recorder.url)
        recorder.stop()
        warnings = _warnings(recorder)
    assert seen == [text, "after"]  # the server got the call whole, and the client its answer
    said = "passed on but not logged (body_not_logged in the log)"
    bodies = ("request", "response")
    assert warnings == [f"mcpobs: warning: a {body} body longer than {LIMIT} bytes {said}" for body in bodies]
    assert path.stat().st_size < 1 << 20
    log = read_event_log(path)
    unlogged = [r for r in log.records if r.get("event") == "body_not_logged"]
    assert [(r["dir"], r["method"]) for r in unlogged] == [("c2s", "POST"), ("s2c", "POST")]
    assert unlogged[0]["exchange"] == unlogged[1]["exchange"]
    assert unlogged[1]["status"] == 200
    echoed = [m["message"] for m in log.messages() if m["message"].get("params", {}).get("name") == "echo"]
    assert [m["params"]["arguments"] for m in echoed] == [{"text": "after"}]  # the session after it is logged


def _long_call(head: bytes, mb: int, tail: bytes) -> Iterator[bytes]:
    """A request body streamed a MB at a time, never whole in this process either."""
    yield head
    for _ in range(mb):
        yield b"a" * (1 << 20)
    yield tail


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc")
def test_a_long_request_and_a_long_json_answer_are_streamed_through_not_held(tmp_path: Path) -> None:
    # the recorder read a request body whole before passing it on, and a JSON answer whole before
    # passing it back: a client or a server sending gigabytes made it hold them all
    path = tmp_path / "held.jsonl"
    mb = 64
    base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    with serving(JSON_TOOLBOX) as url, Recorder(path, url) as recorder:
        started = httpx2.post(recorder.url, headers=base, content=json.dumps(PING), timeout=20)
        headers = {**base, "mcp-session-id": started.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        answered = httpx2.post(recorder.url, headers=headers, content=json.dumps(initialized), timeout=20)
        assert answered.status_code == 202
        before = _peak_rss_mb(recorder.process.pid)
        head = b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"text":"'
        tail = b'"}}}'
        length = len(head) + (mb << 20) + len(tail)
        sent = _long_call(head, mb, tail)
        size, start, end = 0, b"", b""
        stream = httpx2.stream(
            "POST", recorder.url, headers={**headers, "content-length": str(length)}, content=sent, timeout=120
        )
        with stream as answer:
            assert answer.status_code == 200
            for chunk in answer.iter_raw():
                start = start or chunk[:100]
                size, end = size + len(chunk), (end + chunk)[-200:]
        after = _peak_rss_mb(recorder.process.pid)
        recorder.stop()
        warnings = _warnings(recorder)
    assert size > mb << 20  # the answer came back whole: the server had the call whole
    assert start.startswith(b'{"jsonrpc":"2.0","id":5,"result":')
    assert end.endswith(b'aaaa"}}}')
    assert after - before < 80, (before, after)  # generous: 16 MB held at most (it held both, twice each)
    assert len(warnings) == 2
    assert path.stat().st_size < 1 << 20
    unlogged = [r for r in read_event_log(path).records if r.get("event") == "body_not_logged"]
    reasons: list[Any] = [r["reason"] for r in unlogged]
    assert reasons == [
        f"a {body} body longer than {LIMIT} bytes; forwarded as it came, not logged" for body in ("request", "response")
    ]


@pytest.mark.parametrize(("stated", "sent"), [(64 << 20, 20 << 20), (1000, 10)])
def test_a_client_that_goes_away_mid_body_cuts_the_upstreams_request_short_too(
    tmp_path: Path, stated: int, sent: int
) -> None:
    # the client gone before its body's end: the upstream got the shorter body as if whole (and the log
    # a line of it), where it must get nothing more, as a server the client spoke to directly would
    path = tmp_path / "gone.jsonl"
    with serving(JSON_TOOLBOX) as url, Recorder(path, url) as recorder:
        where = urlsplit(recorder.url)
        assert where.hostname is not None
        assert where.port is not None
        with socket.create_connection((where.hostname, where.port), timeout=30) as raw:
            raw.sendall(
                f"POST {where.path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/json\r\n"
                f"Accept: application/json, text/event-stream\r\nContent-Length: {stated}\r\n\r\n".encode()
            )
            for _ in range(sent >> 10):
                raw.sendall(b"a" * 1024)
        deadline = time.monotonic() + 30
        while "stream_closed" not in path.read_text():
            assert time.monotonic() < deadline, path.read_text()
            time.sleep(0.05)
        assert _post(recorder.url, {}, PING).status_code == 200  # and the proxy goes on
        recorder.stop()
        assert recorder.process.stderr is not None
        stderr = recorder.process.stderr.read().decode()
    assert "Traceback" not in stderr, stderr
    log = read_event_log(path)
    events = [
        (r["event"], r.get("dir") or r.get("by"))
        for r in log.records
        if r.get("event") not in (None, "proxy_listening", "recorder_stopped")
    ]
    # a body too long to log was being passed on: the upstream's request is cut off with it
    assert events == [("body_not_logged", "c2s"), ("stream_closed", "client")][-2 if sent > LIMIT else -1 :]
    assert [m["dir"] for m in log.messages()] == ["c2s", "s2c"]  # the initialize after it only
