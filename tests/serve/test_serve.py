"""``mcpobs serve``: a real mcp client gets the recorded server's answers, over stdio and HTTP, in both
protocol eras; ``mcpobs replay`` of a recording against ``serve`` of it finds no difference."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, MCPError
from mcp_types import ElicitResult
from typer.testing import CliRunner

from mcpobs.cli import app
from mcpobs.eventlog.reader import parse_event_log, read_event_log
from mcpobs.serve import Faults, Served, build_book, load_book
from tests.conftest import DATA, serving
from tests.helpers import Piped
from tests.record.test_http import Recorder
from tests.record.test_stdio import FLOOD_SERVER, RECORD, TOOLBOX, _peak_rss_mb
from tests.serve.conftest import SERVE, HttpServe, stdio_server, texts, with_client

REPLAY = [sys.executable, "-m", "mcpobs.cli", "replay"]
ERAS = {"legacy": "2025-11-25", "auto": "2026-07-28"}


async def _notes_session(client: Client) -> dict[str, Any]:
    tools = await client.list_tools()
    calls = [
        ("get", {"key": "shape"}),
        ("put", {"key": "shape", "value": "round"}),
        ("get", {"key": "shape"}),
        ("get", {"key": "shape"}),  # past the two recorded answers: the first again
        ("echo", {"text": "hello"}),
    ]
    return {
        "protocol": client.protocol_version,
        "tools": sorted(t.name for t in tools.tools),
        "results": [texts(await client.call_tool(name, args)) for name, args in calls],
    }


EXPECTED_RESULTS = [
    (True, "Error executing tool get: no value for shape"),
    (False, "stored shape"),
    (False, "round"),
    (True, "Error executing tool get: no value for shape"),
    (False, "hello"),
]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_client_over_stdio_gets_the_recorded_answers_repeats_in_turn(notes_logs: dict[str, Path], mode: str) -> None:
    seen = with_client(stdio_server(notes_logs[mode]), mode, _notes_session)
    assert seen["protocol"] == ERAS[mode]
    assert seen["tools"] == ["ask", "echo", "get", "keys", "put"]
    assert seen["results"] == EXPECTED_RESULTS


@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_a_client_over_http_gets_the_recorded_answers(notes_logs: dict[str, Path], mode: str) -> None:
    with HttpServe(notes_logs[mode]) as served:
        seen = with_client(served.url, mode, _notes_session)
        served.stop()
    assert seen["protocol"] == ERAS[mode]
    assert seen["results"] == EXPECTED_RESULTS


def test_a_2026_client_is_answered_by_a_2025_recording_after_its_probe_is_refused(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    err = tmp_path / "stderr.txt"
    seen = with_client(stdio_server(notes_logs["legacy"], stderr=err), "auto", _notes_session)
    assert seen["protocol"] == "2025-11-25"  # the SDK fell back to initialize
    assert "the recording holds no server/discover request" in err.read_text()


def test_an_unmatched_request_is_an_error_naming_the_closest_and_told_on_stderr(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    err = tmp_path / "stderr.txt"

    async def session(client: Client) -> MCPError:
        await client.list_tools()
        with pytest.raises(MCPError) as caught:
            await client.call_tool("get", {"key": "colour"})
        return caught.value

    error = with_client(stdio_server(notes_logs["legacy"], stderr=err), "legacy", session)
    assert error.error.code == -32602
    said = 'closest recorded is tools/call get: $.params.arguments.key: "shape" -> "colour"'
    assert said in error.error.message
    assert error.error.data["closest"]["request"]["params"]["arguments"] == {"key": "shape"}
    assert said in err.read_text()


def test_ignored_paths_and_meta_are_left_out_of_matching(notes_logs: dict[str, Path]) -> None:
    async def session(client: Client) -> tuple[bool, str]:
        await client.list_tools()
        # _meta (a progress token here) never counts; the key does unless ignored
        result = await client.call_tool("get", {"key": "colour"}, meta={"progressToken": "mine"})
        return texts(result)

    server = stdio_server(notes_logs["legacy"], "--ignore", "params.arguments.key")
    assert with_client(server, "legacy", session) == EXPECTED_RESULTS[0]


def test_a_2026_request_stating_another_revision_is_refused_as_a_server_would(notes_logs: dict[str, Path]) -> None:
    book = load_book(notes_logs["auto"])
    listed = next(e for e in book.exchanges if e.method == "tools/list")
    meta = listed.params["_meta"]
    assert book.answer(listed.request).exchange is listed
    other = {**listed.request, "params": {"_meta": {**meta, "io.modelcontextprotocol/protocolVersion": "2099-01-01"}}}
    refused = book.answer(other)
    assert refused.exchange is None
    assert refused.error is not None
    assert (refused.error["code"], refused.error["data"]) == (-32022, {"supported": ["2026-07-28"]})
    # the rest of _meta never counts
    assert book.answer({**listed.request, "params": {"_meta": {"traceparent": "00-x"}}}).exchange is listed


def test_strict_answers_only_the_recorded_order(notes_logs: dict[str, Path]) -> None:
    async def session(client: Client) -> list[Any]:
        await client.list_tools()
        out: list[Any] = []
        with pytest.raises(MCPError) as caught:
            await client.call_tool("echo", {"text": "hello"})  # recorded last
        out.append(caught.value.error.message)
        out.append(texts(await client.call_tool("get", {"key": "shape"})))
        out.append(texts(await client.call_tool("put", {"key": "shape", "value": "round"})))
        return out

    seen = with_client(stdio_server(notes_logs["legacy"], "--match", "strict"), "legacy", session)
    assert "request 3 in order is tools/call get" in seen[0]
    assert seen[1:] == EXPECTED_RESULTS[:2]


def test_progress_notifications_are_sent_with_the_answer_under_the_clients_token(toolbox_log: Path) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append((p, total, message))

    async def session(client: Client) -> str:
        result = await client.call_tool("count", {"steps": 3}, progress_callback=on_progress)
        return str(result.content[0].text)  # type: ignore[union-attr]

    assert with_client(stdio_server(toolbox_log), "legacy", session) == "counted 3"
    assert progress == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


def test_the_served_session_is_logged_as_an_event_log_that_analyze_reads(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    log = tmp_path / "served.jsonl"
    with_client(stdio_server(notes_logs["auto"], "--log", str(log)), "auto", _notes_session)
    messages = read_event_log(log).messages()
    calls = [m["message"]["params"]["name"] for m in messages if m["message"].get("method") == "tools/call"]
    assert calls == ["get", "put", "get", "get", "echo"]
    assert sum(m["dir"] == "s2c" for m in messages) == sum("id" in m["message"] for m in messages if m["dir"] == "c2s")
    result = CliRunner().invoke(app, ["analyze", str(log), "--format", "json"])
    assert result.exit_code == 0, result.output
    tools = {row["tool"]: row for row in json.loads(result.stdout)["calls"]}
    assert (tools["get"]["calls"], tools["get"]["errors"]) == (3, 2)


def test_a_log_of_several_sessions_needs_session(tmp_path: Path) -> None:
    log = tmp_path / "proxy.jsonl"
    with serving([sys.executable, TOOLBOX, "--http"]) as upstream, Recorder(log, upstream, "--no-redact") as recorder:
        for text in ("first", "second"):
            with_client(recorder.url, "legacy", lambda c, t=text: c.call_tool("echo", {"text": t}))  # type: ignore[misc]
        recorder.stop()
    result = CliRunner().invoke(app, ["serve", str(log)])
    assert result.exit_code == 2
    assert "holds 2 sessions: name one with --session" in result.output
    book = load_book(log, "2")
    calls = [e.params.get("arguments") for e in book.exchanges if e.method == "tools/call"]
    assert calls == [{"text": "second"}]

    async def session(client: Client) -> tuple[bool, str]:
        return texts(await client.call_tool("echo", {"text": "second"}))

    assert with_client(stdio_server(log, "--session", "2"), "legacy", session) == (False, "second")


def test_requests_from_elsewhere_are_refused(notes_logs: dict[str, Path]) -> None:
    with HttpServe(notes_logs["auto"]) as served:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        host = httpx2.post(served.url, json=body, headers={"host": "evil.example:80"}, timeout=10)
        origin = httpx2.post(served.url, json=body, headers={"origin": "http://evil.example"}, timeout=10)
        served.stop()
    assert (host.status_code, origin.status_code) == (403, 403)
    assert "Origin 'http://evil.example' is not this machine" in origin.text


def _formats(tmp: Path, logs: dict[str, Path]) -> dict[str, Path]:
    out = {
        "event log 2025": logs["legacy"],
        "event log 2026": logs["auto"],
        "event log 2026 over HTTP, concurrent": DATA / "replay" / "time-http-concurrent-2026.jsonl",
        **{f"elicitation {n}": DATA / "mrtr" / f"{n}.log.jsonl" for n in ("stdio-2025", "stdio-2026", "http-2025")},
        "elicitation http-2026": DATA / "mrtr" / "http-2026.log.jsonl",
        "server-everything tasks, polled": DATA / "mrtr" / "tasks-2025.log.jsonl",
        **{f"peer {p.name}": p for p in sorted((DATA / "peers").glob("*-stdio.*"))},
    }
    gz = tmp / "legacy.jsonl.gz"
    gz.write_bytes(gzip.compress(logs["legacy"].read_bytes()))
    out["event log, gzip"] = gz
    try:
        import zstandard
    except ImportError:
        return out
    zst = tmp / "auto.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(logs["auto"].read_bytes()))
    out["event log, zstd"] = zst
    return out


def test_replay_against_serve_of_the_same_recording_differs_nowhere(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    mcpobs = shutil.which("mcpobs", path=str(Path(sys.executable).parent))
    assert mcpobs is not None
    for name, recording in _formats(tmp_path, notes_logs).items():
        run = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
        command = [mcpobs, "replay", str(recording), "--run-dir", str(run), "--format", "json", "--", *SERVE]
        done = subprocess.run([*command, str(recording)], capture_output=True, timeout=120, check=False)
        report = json.loads(done.stdout) if done.stdout else {}
        assert done.returncode == 0, (name, done.stderr.decode()[-2000:])
        assert report["differs"] is False, name
        assert {s["status"] for s in report["steps"]} <= {"same", "sent"}, name


@pytest.mark.parametrize("command", ["serve", "record"])
def test_a_port_past_65535_is_a_usage_error_not_a_traceback(command: str, tmp_path: Path) -> None:
    recording = str(DATA / "peers" / "mcp-recorder-stdio.json")
    args = (
        [recording]
        if command == "serve"
        else ["--out", str(tmp_path / "o.jsonl"), "--upstream", "http://127.0.0.1:1/mcp"]
    )
    result = CliRunner().invoke(app, [command, *args, "--listen", "127.0.0.1:99999"])
    assert result.exit_code == 2, result.output
    assert "--listen '127.0.0.1:99999': expected HOST:PORT (a port up to 65535)" in result.output


def test_notifications_go_with_the_request_they_were_recorded_with() -> None:
    """The rule on a log written out here (a notification after an answer is a race in any live
    recording): progress while a call is open goes before its answer, under the client's token (none
    when it asked for none); a notification after the answer, before the client's next message,
    follows it."""
    header = {"kind": "header", "format": "mcpobs-event-log", "version": 1, "transport": "stdio", "t": 0}
    call = {"name": "count", "arguments": {"steps": 1}}
    said: list[tuple[str, dict[str, Any]]] = [
        ("c2s", {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {**call, "_meta": {"progressToken": 5}}}),
        ("s2c", {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 5, "progress": 1}}),
        ("s2c", {"jsonrpc": "2.0", "id": 1, "result": {"content": []}}),
        ("s2c", {"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}),
        ("c2s", {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        ("s2c", {"jsonrpc": "2.0", "id": 2, "result": {"tools": []}}),
    ]
    lines = [header, *({"t": n, "kind": "message", "dir": d, "message": m} for n, (d, m) in enumerate(said, 1))]
    log = parse_event_log("made.jsonl", "".join(json.dumps(line) + "\n" for line in lines).encode())
    served = Served(build_book(log), Faults([], random.Random(0)))
    mine = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {**call, "_meta": {"progressToken": "mine"}}}
    sent = anyio.run(served.reply, mine).messages
    assert [m.get("method") or "answer" for m in sent] == [
        "notifications/progress",
        "answer",
        "notifications/tools/list_changed",
    ]
    assert sent[0]["params"] == {"progressToken": "mine", "progress": 1}
    unasked = anyio.run(served.reply, {**mine, "params": call}).messages
    assert [m.get("method") or "answer" for m in unasked] == ["answer", "notifications/tools/list_changed"]
    assert anyio.run(served.reply, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}).messages == [
        {"jsonrpc": "2.0", "id": 3, "result": {"tools": []}}
    ]


async def _booking(client: Client) -> list[Any]:
    """The calls tests/data/mrtr/make_mrtr.py made: echo, then two bookings, the first accepted."""
    out: list[Any] = [texts(await client.call_tool("echo", {"text": "hello"}))]
    for room in ("12", "14"):
        out.append(texts(await client.call_tool("book", {"room": room})))
    return out


def _guest(name: str) -> Any:
    """The client's answer to the booking question: ``name`` for room 12, declined for room 14."""

    async def elicit(context: Any, params: Any) -> ElicitResult:
        if "room 14" in params.message:
            return ElicitResult(action="decline")
        return ElicitResult(action="accept", content={"name": name})

    return elicit


def _with_elicitation(server: Any, name: str, session: Any) -> Any:
    out: list[Any] = []

    async def run() -> None:
        with anyio.fail_after(60):
            async with Client(server, mode="auto", elicitation_callback=_guest(name)) as client:
                out.append(await session(client))

    anyio.run(run)
    return out[0]


BOOKED = [
    (False, "hello"),
    (False, "booked 12 for Ada"),
    (True, "Error executing tool book: Resolver for parameter 'guest' could not resolve: elicitation was decline"),
]


@pytest.mark.parametrize("era", ["2025", "2026"])
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_the_servers_questions_are_asked_as_recorded(transport: str, era: str) -> None:
    """2025: the server's ``elicitation/create`` is put to the client inside the call, and its answer
    awaited before the call's. 2026-07-28: the question is an ``input_required`` result, and the
    client's retry (its answer, the recorded ``requestState``, a new id) a request like any other."""
    recording = DATA / "mrtr" / f"{transport}-{era}.log.jsonl"
    if transport == "stdio":
        assert _with_elicitation(stdio_server(recording), "Ada", _booking) == BOOKED
        return
    with HttpServe(recording) as served:
        seen = _with_elicitation(served.url, "Ada", _booking)
        served.stop()
    assert seen == BOOKED


@pytest.mark.parametrize(
    ("era", "said"),
    [
        (
            "2025",
            "tools/call book: the client answered elicitation/create otherwise than recorded: "
            '$.result.content.name: "Ada" -> "Bob"',
        ),
        ("2026", "closest recorded is tools/call book: $.params.inputResponses"),
    ],
)
def test_an_answer_the_recording_lacks_is_an_error_saying_where_it_differs(era: str, said: str, tmp_path: Path) -> None:
    async def session(client: Client) -> str:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("book", {"room": "12"})
        return caught.value.error.message

    err = tmp_path / "stderr.txt"
    message = _with_elicitation(stdio_server(DATA / "mrtr" / f"stdio-{era}.log.jsonl", stderr=err), "Bob", session)
    assert said.split(": ", 1)[1] in message
    assert '"Ada" -> "Bob"' in message
    assert said in err.read_text()


def test_a_2026_request_whose_routing_headers_differ_from_its_body_is_refused_as_the_spec_says(
    notes_logs: dict[str, Path], tmp_path: Path
) -> None:
    # 2026-07-28: a server answers a missing or different MCP-Protocol-Version / Mcp-Method / Mcp-Name with HTTP
    # 400 and -32020; the
    # name's Base64 sentinel is decoded first (lint's definition), so an encoded name that agrees is answered
    import base64

    echo = next(e for e in load_book(notes_logs["auto"]).exchanges if e.label == "tools/call echo").request
    base = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2026-07-28"}
    sentinel = "=?base64?" + base64.b64encode(b"echo").decode() + "?="
    cases = {
        "agrees": {"mcp-method": "tools/call", "mcp-name": "echo"},
        "agrees, encoded": {"mcp-method": "tools/call", "mcp-name": sentinel},
        "another method": {"mcp-method": "tools/list", "mcp-name": "echo"},
        "another name": {"mcp-method": "tools/call", "mcp-name": "get"},
        "no name": {"mcp-method": "tools/call"},
        "no method": {"mcp-name": "echo"},
        "a sentinel that does not decode": {"mcp-method": "tools/call", "mcp-name": "=?base64?@@?="},
        "another revision's header": {
            "mcp-method": "tools/call",
            "mcp-name": "echo",
            "mcp-protocol-version": "2099-01-01",
        },
        "no revision header": {"mcp-method": "tools/call", "mcp-name": "echo", "mcp-protocol-version": None},
    }
    log = tmp_path / "served.jsonl"
    seen = {}
    with HttpServe(notes_logs["auto"], "--log", str(log)) as served:
        for name, headers in cases.items():
            sent = {k: v for k, v in {**base, **headers}.items() if v is not None}
            answer = httpx2.post(served.url, json=echo, headers=sent, timeout=10)
            body = answer.json()
            seen[name] = (answer.status_code, body.get("error", {}).get("code"), body["id"] == echo["id"])
        served.stop()
    assert seen.pop("agrees") == seen.pop("agrees, encoded") == (200, None, True)
    assert set(seen.values()) == {(400, -32020, True)}
    assert "tools/call echo: refused, header mismatch: Mcp-Name 'get', but the body's name is 'echo'" in served.stderr
    result = CliRunner().invoke(app, ["analyze", str(log), "--format", "json"])
    errors = json.loads(result.stdout)["errors"]
    assert [(e["error_class"], e["errors"]) for e in errors] == [("-32020", 7)]


def _spread(recording: Path, target: Path) -> list[float]:
    """The toolbox recording with its ``count`` call's progress notifications moved 300 ms apart (and
    the answer 300 ms after the last): the recorded offsets, in seconds."""
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    start = shift = None
    offsets: list[float] = []
    for line in lines:
        message = line.get("message") if line.get("kind") == "message" else None
        if isinstance(message, dict) and message.get("method") == "tools/call" and message["params"]["name"] == "count":
            start, shift = line["t"], 0
        elif start is not None and shift is not None and isinstance(message, dict) and line["dir"] == "s2c":
            offsets.append(0.3 * (len(offsets) + 1))
            shift = start + round(offsets[-1] * 1e9) - line["t"]
            line["t"] += shift
            if "id" in message:
                start = None  # the answer: later records move on with it
        elif shift:
            line["t"] += shift
    target.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return offsets


def test_recorded_timing_sends_each_notification_at_its_recorded_offset(toolbox_log: Path, tmp_path: Path) -> None:
    # the stdio transport on the injected clock: progress at 0.3 s and 0.6 s and 0.9 s, the answer at 1.2 s
    # (halved by --speed 2), each wait taken as it comes, not the whole latency before everything
    import os

    from mcpobs.replay.clock import ManualClock
    from mcpobs.serve.stdio import serve_stdio

    recording = tmp_path / "spread.jsonl"
    assert _spread(toolbox_log, recording) == pytest.approx([0.3, 0.6, 0.9, 1.2])
    book = load_book(recording)
    call = next(e for e in book.exchanges if e.label == "tools/call count").request
    call = {**call, "id": 9, "params": {**call["params"], "_meta": {"progressToken": "p"}}}
    clock = ManualClock()
    served = Served(book, Faults([], random.Random(0)), timing="recorded", speed=2, clock=clock)
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    out = b""

    async def run() -> None:
        nonlocal out
        async with anyio.create_task_group() as group:
            group.start_soon(serve_stdio, served, stdin_r, stdout_w)
            os.write(stdin_w, json.dumps(call).encode() + b"\n")
            with anyio.fail_after(20):
                while b'"id":9' not in out:
                    out += await anyio.to_thread.run_sync(os.read, stdout_r, 65536)
            os.close(stdin_w)

    anyio.run(run)
    for fd in (stdin_r, stdout_r, stdout_w):
        os.close(fd)
    sent = [json.loads(line) for line in out.splitlines()]
    assert [m.get("method") or "answer" for m in sent] == ["notifications/progress"] * 3 + ["answer"]
    assert clock.sleeps == pytest.approx([0.15, 0.15, 0.15, 0.15])


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_client_gets_each_notification_no_sooner_than_recorded(
    toolbox_log: Path, tmp_path: Path, transport: str
) -> None:
    # a real client, real time: the served log's times are when serve sent each message, and no wait is
    # ever shorter than asked: each progress notification at least 0.3 s after the one before it
    recording = tmp_path / "spread.jsonl"
    _spread(toolbox_log, recording)
    log = tmp_path / "served.jsonl"
    progress: list[float] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append(p)

    async def session(client: Client) -> str:
        result = await client.call_tool("count", {"steps": 3}, progress_callback=on_progress)
        return str(result.content[0].text)  # type: ignore[union-attr]

    options = ("--timing", "recorded", "--log", str(log))
    if transport == "stdio":
        assert with_client(stdio_server(recording, *options), "legacy", session) == "counted 3"
    else:
        with HttpServe(recording, *options) as served:
            assert with_client(served.url, "legacy", session) == "counted 3"
            served.stop()
    assert progress == [1, 2, 3]
    records = [r for r in read_event_log(log).records if r["kind"] == "message"]
    asked = next(r["t"] for r in records if r["message"].get("params", {}).get("name") == "count")
    sent = [r["t"] for r in records if r["dir"] == "s2c" and r["t"] > asked][:4]
    gaps = [(later - earlier) / 1e9 for earlier, later in zip([asked, *sent], sent, strict=False)]
    assert all(gap >= 0.29 for gap in gaps), gaps


@pytest.mark.parametrize(
    "name", ["replay/time-http-concurrent-2026.jsonl", "mrtr/http-2025.log.jsonl", "mrtr/http-2026.log.jsonl"]
)
def test_replay_over_http_against_serve_listen_of_the_same_recording_differs_nowhere(name: str, tmp_path: Path) -> None:
    # replay's Streamable HTTP client against serve --listen: the 2026-07-28 routing headers replay sends
    # pass serve's header check, the 2025 session is served with its own Mcp-Session-Id
    mcpobs = shutil.which("mcpobs", path=str(Path(sys.executable).parent))
    assert mcpobs is not None
    recording = DATA / name
    with HttpServe(recording) as served:
        command = [mcpobs, "replay", str(recording), "--url", served.url, "--run-dir", str(tmp_path / "run")]
        done = subprocess.run([*command, "--format", "json"], capture_output=True, timeout=120, check=False)
        served.stop()
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    report = json.loads(done.stdout)
    assert report["differs"] is False
    assert {s["status"] for s in report["steps"]} <= {"same", "sent"}
    assert "header mismatch" not in served.stderr


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak RSS from /proc")
def test_a_client_line_too_long_to_read_is_answered_with_an_error_not_held(toolbox_log: Path, tmp_path: Path) -> None:
    # serve held a line whole however long it grew (a client writing megabytes with no newline)
    log = tmp_path / "served.jsonl"
    mb = 64
    server = Piped([*SERVE, str(toolbox_log), "--log", str(log)])

    def ask(*chunks: bytes) -> dict[str, Any]:
        answer: dict[str, Any] = json.loads(server.send(*chunks))
        return answer

    calls = [m["message"] for m in read_event_log(toolbox_log).messages() if m["message"].get("method") == "tools/call"]
    echo = next(call for call in calls if call["params"]["name"] == "echo")
    try:
        assert ask(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode() + b"\n")["result"] == {}
        before = _peak_rss_mb(server.process.pid)
        head = b'{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"text":"'
        long_request = ask(head, *[b"a" * (1 << 20)] * mb, b'"}}}\n')
        not_json = ask(*[b"x" * (1 << 20)] * 17, b"\n")
        after = _peak_rss_mb(server.process.pid)
        # the lines after them are served as before
        assert ask(json.dumps({**echo, "id": 8}).encode() + b"\n")["result"]["content"][0]["text"] == "a"
        assert server.close() == 0
    finally:
        server.kill()
    # an error under the request's id (its first bytes tell it), so the client's call does not wait
    # forever; a parse error with id null for a line whose id cannot be known (JSON-RPC 2.0 5.1)
    assert (long_request["id"], long_request["error"]["code"]) == (5, -32600)
    assert (not_json["id"], not_json["error"]["code"]) == (None, -32700)
    assert "longer than 16777216 bytes" in long_request["error"]["message"]
    assert after - before < 80, (before, after)  # generous: 16 MB held at most
    said = "mcpobs serve: a client message longer than 16777216 bytes: not read, answered with an error"
    assert server.stderr.decode().count(said) == 2
    assert log.stat().st_size < 1 << 20
    unread = [r for r in read_event_log(log).records if r.get("event") == "body_not_logged"]
    assert [r["dir"] for r in unread] == ["c2s", "c2s"]
    # the answers to what was not read answer a request the log lacks, not nothing
    linted = CliRunner().invoke(app, ["lint", str(log)])
    assert "unmatched-response" not in linted.stdout, linted.stdout


def test_a_recorded_answer_that_was_not_logged_is_unknown_to_serve_and_replay(tmp_path: Path) -> None:
    # serve hung on the call (as if the server had never answered it) and replay said the recording
    # held no answer, where the server answered and the recorder left it out of the log (16 MiB+)
    recording = tmp_path / "flood.jsonl"
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 2, "method": "flood", "params": {"mb": 17}},
        {"jsonrpc": "2.0", "id": 3, "method": "ping"},
    ]
    lines = b"".join(json.dumps(r).encode() + b"\n" for r in requests)
    recorded = subprocess.run(
        [*RECORD, "--out", str(recording), "--", *FLOOD_SERVER], input=lines, capture_output=True, timeout=120
    )
    assert recorded.returncode == 0, recorded.stderr[-2000:]
    assert any(r.get("event") == "body_not_logged" for r in read_event_log(recording).records)
    flood = {"jsonrpc": "2.0", "id": 9, "method": "flood", "params": {"mb": 17}}
    served = subprocess.run(
        [*SERVE, str(recording)], input=json.dumps(flood).encode() + b"\n", capture_output=True, timeout=60
    )
    answer = json.loads(served.stdout)
    assert (answer["id"], answer["error"]["code"]) == (9, -32603)
    said = "the recorded answer to flood was passed on but not logged (body_not_logged)"
    assert said in answer["error"]["message"]
    assert said in served.stderr.decode()
    run = tmp_path / "run"
    command = [*REPLAY, str(recording), "--run-dir", str(run), "--format", "json", "--", *SERVE, str(recording)]
    done = subprocess.run(command, capture_output=True, timeout=120, check=False)
    report = json.loads(done.stdout)
    step = next(s for s in report["steps"] if s["call"] == "flood")
    assert step["status"] == "sent"
    assert "passed on but not logged" in step["reason"], step
