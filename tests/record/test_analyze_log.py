"""Event logs in the analysis: recorded sessions load like traces, and meet the client's own trace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcpobs.analysis import Query, analyze
from mcpobs.cli import app
from mcpobs.eventlog import EventLogWriter, Redactor
from mcpobs.eventlog.reader import read_event_log
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT
from tests.record.test_stdio import _recorder, _session


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("log") / "session.jsonl"
    calls = [
        ("echo", {"text": "a"}),
        ("echo", {"text": "b"}),
        ("fail", {"reason": "x"}),
        ("count", {"steps": 3}),
        ("add", {"a": 1, "b": 2}),
    ]
    _session(_recorder(path), "legacy", calls)
    return path


def _calls(store: Store, **query: object) -> dict[str, dict[str, object]]:
    table = analyze(store, Query(views=("calls",), **query)).table("calls")  # type: ignore[arg-type]
    return {str(r["tool"] if "tool" in r else r["method"]): r for r in table.records()}


def test_a_recorded_session_is_analyzed_from_the_log_alone(recorded: Path, store: Store) -> None:
    report = load(store, [str(recorded)])
    assert report.sources[0].format == "mcpobs-event-log"
    tools = _calls(store)
    assert {t: (r["calls"], r["errors"]) for t, r in tools.items()} == {
        "echo": (2, 0),
        "fail": (1, 1),
        "count": (1, 0),
        "add": (1, 0),
    }
    errors = analyze(store, Query(views=("errors",))).table("errors").records()
    assert [(r["tool"], r["error_class"]) for r in errors] == [("fail", "tool_error")]
    # latency and time to first response are the log's own times
    log = read_event_log(recorded)
    messages = log.messages()
    count = next(m for m in messages if m["message"].get("params", {}).get("name") == "count")
    answer = next(m for m in messages if m["dir"] == "s2c" and m["message"].get("id") == count["message"]["id"])
    progress = next(m for m in messages if m["message"].get("method") == "notifications/progress")
    assert tools["count"]["latency_max_ms"] == pytest.approx((answer["t"] - count["t"]) / 1e6)
    assert tools["count"]["ttfr_p50_ms"] == pytest.approx((progress["t"] - count["t"]) / 1e6)
    methods = _calls(store, by=("method",))
    assert set(methods) == {"initialize", "tools/list", "tools/call"}
    server = analyze(store, Query(views=("calls",), by=("server",))).table("calls").records()
    assert [(r["side"], r["server"]) for r in server] == [("client", "record-toolbox")]


def test_check_alerts_reads_event_logs(recorded: Path) -> None:
    rules = recorded.parent / "alerts.yaml"
    rules.write_text("alerts:\n  - name: failing tools\n    condition: error_rate > 0.5\n    scope: tool\n")
    result = CliRunner().invoke(app, ["check-alerts", "-r", str(rules), str(recorded), "-f", "json"])
    assert result.exit_code == 1, result.stderr
    fired = [v["group"] for v in json.loads(result.stdout)["verdicts"] if v["status"] == "fired"]
    assert fired == [{"side": "client", "tool": "fail"}]


def _write(path: Path, lines: list[tuple[str, dict[str, object] | str]], end: str | None) -> Path:
    """A log written by the writer itself: messages in order, then an ending event (or none: cut short)."""
    writer = EventLogWriter(path, Redactor(), "stdio", {"command": ["server"]})
    for direction, message in lines:
        writer.message(direction, (message if isinstance(message, str) else json.dumps(message)).encode())  # type: ignore[arg-type]
    if end:
        writer.event(end, code=0)
    writer.close()
    return path


def _tool(i: int, name: str) -> dict[str, object]:
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": name, "arguments": {}}}


@pytest.mark.parametrize("end", ["server_exited", None])
def test_outcomes_a_log_can_show(tmp_path: Path, store: Store, end: str | None) -> None:
    path = _write(
        tmp_path / "outcomes.jsonl",
        [
            ("c2s", _tool(1, "slow")),
            ("c2s", {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}}),
            ("c2s", _tool(2, "nope")),
            ("s2c", {"jsonrpc": "2.0", "id": 2, "error": {"code": -32602, "message": "Unknown tool: nope"}}),
            ("c2s", [_tool(3, "batched"), _tool(4, "hung")]),
            ("s2c", [{"jsonrpc": "2.0", "id": 3, "result": {"content": [], "isError": False}}]),
        ],
        end,
    )
    load(store, [str(path)])
    rows = analyze(store, Query(views=("errors",))).table("errors").records()
    classes = {r["tool"]: r["error_class"] for r in rows}
    expected = {"slow": "cancelled", "nope": "-32602"}
    if end:
        expected["hung"] = "transport"  # asked, and the server exited without an answer
    assert classes == expected
    tools = _calls(store)
    # a call still open where the log was cut short has no outcome to count
    assert set(tools) == {"slow", "nope", "batched", *(("hung",) if end else ())}


def test_a_log_and_the_clients_trace_count_each_call_once(tmp_path: Path) -> None:
    log, spans = tmp_path / "session.jsonl", tmp_path / "spans.jsonl"
    subprocess.run(
        [sys.executable, str(ROOT / "tests" / "servers" / "traced_client.py"), str(log), str(spans)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    counts = []
    for files in ([spans], [log], [spans, log], [log, spans]):
        with Store() as store:
            load(store, [str(f) for f in files])
            counts.append({t: r["calls"] for t, r in _calls(store).items()})
    assert counts == [{"echo": 1, "add": 1, "fail": 1}] * 4


def test_record_otlp_writes_the_calls_as_a_trace_file(tmp_path: Path) -> None:
    log, spans = tmp_path / "session.jsonl", tmp_path / "spans.jsonl"
    _session(_recorder(log, "--otlp", str(spans)), "auto", [("echo", {"text": "x"}), ("fail", {"reason": "y"})])
    document = json.loads(spans.read_text())
    assert spans.stat().st_mode & 0o777 == log.stat().st_mode & 0o777 == 0o600  # both hold the session
    assert document["resourceSpans"][0]["resource"]["attributes"][0] == {
        "key": "service.name",
        "value": {"stringValue": "mcp"},  # the mcp SDK client's own name in the handshake
    }
    figures = []
    for path in (spans, log):
        with Store() as store:
            load(store, [str(path)])
            figures.append([(r["tool"], r["calls"], r["errors"], r["latency_max_ms"]) for r in _calls(store).values()])
    assert figures[0] == figures[1]
    assert sorted(t for t, *_ in figures[0]) == ["echo", "fail"]


PEERS = ROOT / "tests" / "data" / "peers"


def _figures(path: Path) -> dict[str, tuple[object, ...]]:
    with Store() as store:
        load(store, [str(path)])
        calls = {t: (r["calls"], r["errors"]) for t, r in _calls(store).items()}
        errors = analyze(store, Query(views=("errors",))).table("errors").records()
        return {t: (*c, *(e["error_class"] for e in errors if e["tool"] == t)) for t, c in calls.items()}


@pytest.mark.parametrize(
    "peer", ["mcp-recorder-stdio.json", "mcp-vcr-stdio.ndjson", "mcp-vcr-stdio.yaml", "mcp-cassette-stdio.cassette"]
)
def test_a_peer_recording_analyzes_like_our_own_recording(recorded: Path, peer: str, tmp_path: Path) -> None:
    ours = _figures(recorded)
    assert ours == {"echo": (2, 0), "fail": (1, 1, "tool_error"), "count": (1, 0), "add": (1, 0)}
    recording = PEERS / peer
    assert _figures(recording) == ours
    runner = CliRunner()
    for to, name in (("eventlog", "converted.jsonl"), ("otlp", "converted.otlp.jsonl")):
        out = tmp_path / name
        result = runner.invoke(app, ["convert", str(recording), "--to", to, "-o", str(out)])
        assert result.exit_code == 0, result.stderr
        assert _figures(out) == ours


@pytest.mark.parametrize("peer", ["mcp-vcr-stdio.ndjson", "mcp-cassette-stdio.cassette"])
def test_peers_that_keep_progress_keep_time_to_first_response(peer: str) -> None:
    with Store() as store:
        load(store, [str(PEERS / peer)])
        assert _calls(store)["count"]["ttfr_p50_ms"] is not None


def test_an_mcp_recorder_cassette_keeps_its_latencies(tmp_path: Path) -> None:
    cassette = PEERS / "mcp-recorder-stdio.json"
    out = tmp_path / "converted.jsonl"
    assert CliRunner().invoke(app, ["convert", str(cassette), "--to", "eventlog", "-o", str(out)]).exit_code == 0
    converted = read_event_log(out)
    assert converted.header["redaction"]["converted_from"] == "mcp-recorder 1.0"
    # latencies are the cassette's own, in whole milliseconds
    document = json.loads(cassette.read_text())
    with Store() as store:
        load(store, [str(cassette)])
        latencies = sorted(r[0] for r in store.con.execute("SELECT duration_ms FROM mcp_calls").fetchall())
    assert latencies == sorted(
        float(i["latency_ms"]) for i in document["interactions"] if i["type"] == "jsonrpc_request"
    )


def test_convert_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    other = tmp_path / "notes.json"
    other.write_text('{"resourceSpans": []}\n')
    result = CliRunner().invoke(app, ["convert", str(other), "--to", "eventlog"])
    assert result.exit_code == 3
    assert (
        result.stderr
        == f"mcpobs: error: {other}:1: not a recording: neither an event log, an mcp-recorder or mcp-cassette "
        "cassette, nor an mcp-vcr transcript\n"
    )
    broken = tmp_path / "broken.json"
    broken.write_text(
        '{"version": "1.0", "metadata": {"recorded_at": "2026-11-23T10:00:00Z"},\n'
        ' "interactions": [\n  {"type": "jsonrpc_request"}\n]}\n'
    )
    result = CliRunner().invoke(app, ["analyze", str(broken)])
    assert result.exit_code == 3
    assert result.stderr == f"mcpobs: error: {broken}: interaction 1: expected an object with a request\n"


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_convert_reads_compressed_recordings_as_analyze_does(tmp_path: Path, compression: str) -> None:
    import gzip

    import zstandard

    log = ROOT / "sample_traces" / "notes_session.jsonl"
    packed = tmp_path / f"notes.jsonl.{'gz' if compression == 'gzip' else 'zst'}"
    data = log.read_bytes()
    packed.write_bytes(gzip.compress(data) if compression == "gzip" else zstandard.ZstdCompressor().compress(data))
    out = tmp_path / "converted.jsonl"
    result = CliRunner().invoke(app, ["convert", str(packed), "--to", "eventlog", "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert read_event_log(out).records == read_event_log(log).records
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(packed.read_bytes()[:60] if compression == "gzip" else gzip.compress(data)[:60])
    broken = CliRunner().invoke(app, ["convert", str(cut), "--to", "otlp"])
    assert broken.exit_code == 3
    assert "not a valid gzip file" in broken.stderr
