"""``mcpobs serve --listen`` and request bodies longer than it reads (16 MiB): 413 with a JSON-RPC
error, the body not held, said on stderr and in the log, and the session going on; a real mcp client,
a raw client streaming a body no one should hold, and one stating a length it never sends."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from mcp import Client, MCPError
from typer.testing import CliRunner

from mcpobs.cli import app
from mcpobs.eventlog.reader import read_event_log
from tests.record.test_http import PING
from tests.record.test_stdio import _peak_rss_mb
from tests.serve.conftest import HttpServe, texts, with_client

LIMIT = 16 << 20  # MESSAGE_LIMIT
SAID = f"mcpobs serve: a client message longer than {LIMIT} bytes: not read, answered with an error"


def _unread(log: Path) -> list[dict[str, Any]]:
    return [r for r in read_event_log(log).records if r.get("event") == "body_not_logged"]


def test_a_call_too_long_to_read_is_refused_with_413_and_the_client_goes_on(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    # serve read a body whole however long (then answered it as an unmatched call)
    log = tmp_path / "served.jsonl"

    async def session(client: Client) -> tuple[MCPError, tuple[bool, str]]:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("echo", {"text": "a" * (20 << 20)})
        return caught.value, texts(await client.call_tool("echo", {"text": "hello"}))

    with HttpServe(notes_logs["legacy"], "--log", str(log)) as served:
        refused, after = with_client(served.url, "legacy", session)
        served.stop()
    # the SDK's client states the body's length: refused before a byte of it is read
    assert refused.error.code == -32600
    assert f"longer than {LIMIT} bytes" in refused.error.message
    assert after == (False, "hello")
    assert served.stderr.count(SAID) == 1
    assert log.stat().st_size < 1 << 20
    (unread,) = _unread(log)
    assert (unread["dir"], unread["method"]) == ("c2s", "POST")
    answers = [m for m in read_event_log(log).messages() if m["http"].get("exchange") == unread["exchange"]]
    assert [(m["dir"], m["http"]["status"], m["message"]["error"]["code"]) for m in answers] == [("s2c", 413, -32600)]
    linted = CliRunner().invoke(app, ["lint", str(log)])
    assert "unmatched-response" not in linted.stdout, linted.stdout


def _long_call(head: bytes, mb: int) -> Iterator[bytes]:
    """A request body streamed a MB at a time, never whole in this process either."""
    yield head
    for _ in range(mb):
        yield b"a" * (1 << 20)
    yield b'"}}}'


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc")
def test_a_body_too_long_or_a_length_too_large_is_not_held_nor_waited_for(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    log = tmp_path / "served.jsonl"
    base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    with HttpServe(notes_logs["legacy"], "--log", str(log)) as served:
        where = urlsplit(served.url)
        assert where.hostname is not None
        assert where.port is not None
        # a length stated, no body sent: answered at once, not waited for
        with socket.create_connection((where.hostname, where.port), timeout=30) as raw:
            raw.sendall(
                f"POST {where.path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {1 << 40}\r\n\r\n".encode()
            )
            got = b""
            while b"\r\n\r\n" not in got or not got.endswith(b"}"):
                chunk = raw.recv(65536)
                assert chunk, got
                got += chunk
        status, _, body = got.partition(b"\r\n\r\n")
        # a body streamed with no length: read up to the limit, then 413; its first bytes give its id
        before = _peak_rss_mb(served.process.pid)
        head = b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"text":"'
        with httpx2.Client(headers=base, timeout=120) as client:
            streamed = client.post(served.url, content=_long_call(head, 64))
            after = _peak_rss_mb(served.process.pid)
            started = client.post(served.url, content=json.dumps(PING))  # the same connection goes on
        served.stop()
    assert status.startswith(b"HTTP/1.1 413 ")
    refused = json.loads(body)
    assert (refused["id"], refused["error"]["code"]) == (None, -32600)
    assert (streamed.status_code, streamed.json()["id"], streamed.json()["error"]["code"]) == (413, 5, -32600)
    assert after - before < 80, (before, after)  # generous: 16 MB held at most
    assert started.status_code == 200
    assert started.json()["result"]["serverInfo"]
    assert served.stderr.count(SAID) == 2
    assert [r["dir"] for r in _unread(log)] == ["c2s", "c2s"]


def test_a_client_gone_before_its_body_ends_is_not_answered_as_a_request(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    # the part it sent was served as the whole request: a parse error answered to no one, in the log
    log = tmp_path / "served.jsonl"
    with HttpServe(notes_logs["legacy"], "--log", str(log)) as served:
        where = urlsplit(served.url)
        assert where.hostname is not None
        assert where.port is not None
        with socket.create_connection((where.hostname, where.port), timeout=30) as raw:
            raw.sendall(
                f"POST {where.path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/json\r\n"
                f'Content-Length: 1000\r\n\r\n{{"jsonrpc": "2.0", '.encode()
            )
        base = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
        assert httpx2.post(served.url, headers=base, content=json.dumps(PING), timeout=20).status_code == 200
        assert served.stop() == 143  # SIGTERM
    assert "Traceback" not in served.stderr
    messages = [(m["dir"], m["message"].get("method")) for m in read_event_log(log).messages()]
    assert messages == [("c2s", "initialize"), ("s2c", None)]
