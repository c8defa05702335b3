"""Messages a recorder must survive and logs an analysis must read right: each found by a review."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcpobs.errors import InputError
from mcpobs.eventlog import EventLogWriter, Redactor
from mcpobs.eventlog.otlp import to_otlp
from mcpobs.eventlog.reader import read_event_log
from mcpobs.record.http import _SseEvents


def _writer(path: Path, **redaction: Any) -> EventLogWriter:
    return EventLogWriter(path, Redactor(**redaction), "stdio", {"command": ["server"]})


def test_a_message_that_spans_lines_is_one_log_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    writer = _writer(path)
    writer.message("c2s", b'{\n  "jsonrpc": "2.0",\n  "id": 1,\n  "method": "ping"\n}')
    writer.close()
    (record,) = read_event_log(path).records
    assert record["message"] == {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def test_a_lone_surrogate_with_a_redaction_is_still_logged(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    writer = _writer(path)
    writer.message("c2s", b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"password":"pw","t":"\\ud800"}}')
    writer.close()
    (record,) = read_event_log(path).records
    assert record["message"]["params"] == {"password": "[REDACTED]", "t": "\ud800"}


def test_a_repeated_key_cannot_smuggle_a_secret_past_redaction(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    writer = _writer(path)
    writer.message("c2s", b'{"params":{"api_key":"sk-live-first-secret-value","api_key":"x"}}')
    writer.close()
    assert "first-secret" not in path.read_text()


def test_json_inside_text_is_redacted_and_user_regexes_keep_their_flags() -> None:
    redactor = Redactor.checked(True, (), (r"(?i)ssn-\d+",))
    text = json.dumps({"user": "ann", "password": "hunter2-plain"}, indent=2)
    redacted, changed = redactor.message({"result": {"content": [{"type": "text", "text": text}], "n": "SSN-123"}})
    assert changed
    assert json.loads(redacted["result"]["content"][0]["text"]) == {"user": "ann", "password": "[REDACTED]"}
    assert redacted["result"]["n"] == "[REDACTED]"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"t": 1, "kind": "message", "message": {}}', "a message line needs dir"),
        ('{"t": 1, "kind": "message", "dir": "c2s"}', "a message line needs message"),
        ('{"t": 1, "kind": "event"}', "an? event line needs event"),
        ('{"t": 1, "kind": "message", "dir": "up", "message": {}}', "dir must be c2s or s2c"),
    ],
)
def test_a_line_missing_what_its_kind_needs_is_named(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "log.jsonl"
    _writer(path).close()
    with path.open("a") as f:
        f.write(line + "\n")
    with pytest.raises(InputError, match=f"log.jsonl:2: not an event log line: {problem}"):
        read_event_log(path)


def _log(tmp_path: Path, records: list[dict[str, Any]]) -> Any:
    path = tmp_path / "log.jsonl"
    _writer(path).close()
    with path.open("a") as f:
        for i, record in enumerate(records):
            f.write(json.dumps({"t": 1_000_000_000 + i * 1_000_000, **record}) + "\n")
    return read_event_log(path)


def _spans(log: Any) -> list[dict[str, Any]]:
    return to_otlp(log)["resourceSpans"][0]["scopeSpans"][0]["spans"]


def _error(span: dict[str, Any]) -> str | None:
    return next((a["value"]["stringValue"] for a in span["attributes"] if a["key"] == "error.type"), None)


def _call(i: Any, exchange: int, session: str, name: str = "echo") -> dict[str, Any]:
    message = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": name, "arguments": {}}}
    return {"kind": "message", "dir": "c2s", "http": {"exchange": exchange, "session_id": session}, "message": message}


def _answer(i: Any, exchange: int) -> dict[str, Any]:
    message = {"jsonrpc": "2.0", "id": i, "result": {"content": [], "isError": False}}
    return {"kind": "message", "dir": "s2c", "http": {"exchange": exchange, "status": 200}, "message": message}


def test_ids_repeated_across_http_sessions_pair_by_exchange(tmp_path: Path) -> None:
    # two sessions both at id 1, their answers arriving crossed
    log = _log(tmp_path, [_call(1, 1, "a"), _call(1, 2, "b"), _answer(1, 1), _answer(1, 2)])
    spans = _spans(log)
    assert [_error(s) for s in spans] == [None, None]
    assert [int(s["endTimeUnixNano"]) - int(s["startTimeUnixNano"]) for s in spans] == [2_000_000, 2_000_000]


def test_an_http_error_without_a_jsonrpc_answer_ends_its_call(tmp_path: Path) -> None:
    event = {"kind": "event", "event": "http_response", "exchange": 1, "status": 404}
    log = _log(tmp_path, [_call(1, 1, "gone"), event, {"kind": "event", "event": "recorder_stopped"}])
    (span,) = _spans(log)
    assert _error(span) == "http 404"
    assert int(span["endTimeUnixNano"]) - int(span["startTimeUnixNano"]) == 1_000_000


def test_odd_but_valid_shapes_do_not_stop_the_conversion(tmp_path: Path) -> None:
    records = [
        {"kind": "message", "dir": "c2s", "message": {"jsonrpc": "2.0", "id": [1], "method": "x"}},
        {
            "kind": "message",
            "dir": "c2s",
            "message": {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": [1]},
        },
        {"kind": "message", "dir": "s2c", "message": {"jsonrpc": "2.0", "id": [1], "result": {"_meta": 5}}},
        {"kind": "message", "dir": "c2s", "message": {"jsonrpc": "2.0", "id": "1", "method": "y"}},
        {"kind": "message", "dir": "s2c", "message": {"jsonrpc": "2.0", "id": 1, "result": {}}},
    ]
    spans = _spans(_log(tmp_path, records))
    # [1] is answered; "1" is not answered by 1, and the log was cut short, so it is left out
    assert [s["name"] for s in spans] == ["x"]


def test_a_traceparent_two_requests_carry_names_the_first_only(tmp_path: Path) -> None:
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    calls = []
    for i in (1, 2):
        message = {
            "jsonrpc": "2.0",
            "id": i,
            "method": "tools/call",
            "params": {"name": f"t{i}", "_meta": {"traceparent": parent}},
        }
        calls += [{"kind": "message", "dir": "c2s", "message": message}, _answer(i, 0)]
    spans = _spans(_log(tmp_path, calls))
    assert [s["traceId"] for s in spans] == ["0af7651916cd43dd8448eb211c80319c"] * 2
    assert spans[0]["spanId"] == "b7ad6b7169203331"
    assert spans[1]["spanId"] != spans[0]["spanId"]


def test_sse_events_split_anywhere_even_inside_a_crlf() -> None:
    stream = b'id: ev-1\r\ndata: {"a":\r\ndata: 1}\r\n\r\n: comment\r\n\r\ndata: {"b": 2}\n\n'
    for cut in range(1, len(stream)):
        events = _SseEvents()
        got = [*events.feed(stream[:cut]), *events.feed(stream[cut:])]
        assert got == [("ev-1", '{"a":\n1}'), (None, '{"b": 2}')], cut


def test_an_sse_event_longer_than_the_limit_is_dropped_once_and_the_next_is_read() -> None:
    stream = b'id: 1\r\ndata: {"a": 1}\r\n\r\n' + b"data: xxxxxxxx\r\n" * 8 + b'\r\ndata: {"b": 2}\r\n\r\n'
    for size in (1, 2, 3, 5):
        events = _SseEvents(limit=32)
        got = [e for i in range(0, len(stream), size) for e in events.feed(stream[i : i + size])]
        assert got == [("1", '{"a": 1}'), (None, None), (None, '{"b": 2}')], size
        assert len(events.pending) <= 32 + size


def test_a_traceparent_in_a_tool_calls_arguments_meta_joins_too(tmp_path: Path) -> None:
    # Langfuse's MCP tracing recipe injects the context into the arguments, not params._meta
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "search", "arguments": {"query": "x", "_meta": {"traceparent": parent}}},
    }
    (span,) = _spans(_log(tmp_path, [{"kind": "message", "dir": "c2s", "message": message}, _answer(1, 0)]))
    assert (span["traceId"], span["spanId"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
