"""The protocol revision of a session is the one the server accepted, not the first one a client
tried: a real mcp SDK client in mode="auto" tries ``server/discover`` (2026-07-28) on
``@modelcontextprotocol/server-everything``, a 2025-era server, which refuses it with HTTP 400; the
client falls back to ``initialize`` at 2025-11-25. The log, the analysis, the replay and the state
all say 2025-11-25. Skipped where node or the npm package is missing (``.ci/thirdparty-servers``
installs it in .ci/servers)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mcpobs.eventlog.otlp import to_otlp
from mcpobs.eventlog.reader import EventLog, parse_event_log, read_event_log
from mcpobs.replay import ReplayConfig, Target, replay, resume
from mcpobs.replay.config import SessionRecovery
from mcpobs.replay.engine import SAME, SENT
from mcpobs.replay.script import build_script
from tests.conftest import ROOT, free_port, wait_for_port
from tests.record.test_http import Recorder, _client

EVERYTHING = ROOT / ".ci" / "servers" / "npm" / "node_modules" / "@modelcontextprotocol" / "server-everything"
# server-everything calls listen(PORT) with no host (every interface): this preload binds it to 127.0.0.1
LOCALHOST = """
const net = require("node:net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" || typeof args[0] === "string") {
    const rest = args.slice(1);
    if (typeof rest[0] === "string") rest.shift();
    args = [args[0], "127.0.0.1", ...rest];
  } else if (args[0] !== null && typeof args[0] === "object") {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};
"""

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (EVERYTHING / "dist" / "index.js").is_file(),
    reason="needs node and @modelcontextprotocol/server-everything (bash .ci/thirdparty-servers)",
)


@pytest.fixture
def everything(tmp_path: Path) -> Iterator[str]:
    """server-everything on Streamable HTTP at 127.0.0.1, started again whenever it exits (a supervisor)."""
    preload = tmp_path / "localhost.cjs"
    preload.write_text(LOCALHOST)
    port = free_port()
    command = f"node -r {preload} {EVERYTHING / 'dist' / 'index.js'} streamableHttp"
    supervisor = subprocess.Popen(
        ["sh", "-c", f"while true; do {command}; sleep 0.2; done"],
        env={**os.environ, "PORT": str(port)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        os.killpg(supervisor.pid, signal.SIGKILL)
        supervisor.wait()


def _recorded(tmp_path: Path, url: str) -> Path:
    log = tmp_path / "everything.jsonl"
    with Recorder(log, url) as recorder:
        _client(recorder.url, "auto", [("echo", {"message": "hi"}), ("get-sum", {"a": 2, "b": 3})])
        recorder.stop()
    return log


def _versions(log: EventLog) -> set[str]:
    """The mcp.protocol.version of every span the log's calls make (what analyze --by protocol groups by)."""
    spans = to_otlp(log)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    return {a["value"]["stringValue"] for s in spans for a in s["attributes"] if a["key"] == "mcp.protocol.version"}


def test_the_revision_is_the_one_the_server_accepted_after_a_refused_discover(tmp_path: Path, everything: str) -> None:
    log_path = _recorded(tmp_path, everything)
    log = read_event_log(log_path)
    discover = next(r for r in log.messages() if r["message"].get("method") == "server/discover")
    assert discover["message"]["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    refused = [r for r in log.records if (r.get("http") or r).get("status") == 400]
    assert refused, "server-everything no longer refuses server/discover: this test proves nothing"
    # the recorder's protocol line
    assert [(r["protocol_version"], r["source"]) for r in log.records if r["kind"] == "protocol"] == [
        ("2025-11-25", "initialize result")
    ]
    # the analysis: every span's mcp.protocol.version
    assert _versions(log) == {"2025-11-25"}
    # a log an older recorder wrote, whose protocol line named the revision only tried, is read right too
    lines = log_path.read_text().splitlines()
    old = [
        json.dumps({"t": 1, "kind": "protocol", "protocol_version": "2026-07-28", "source": "_meta of server/discover"})
        if json.loads(line).get("kind") == "protocol"
        else line
        for line in lines
    ]
    older = parse_event_log(str(log_path), ("\n".join(old) + "\n").encode())
    assert build_script(older).protocol_version == "2025-11-25"
    assert _versions(older) == {"2025-11-25"}
    # the replay: with sessions, its state at 2025-11-25, every answer as recorded
    config = ReplayConfig(session_recovery=SessionRecovery(mode="event_log"))
    report = replay(log_path, Target(url=everything), tmp_path / "run", config, ignore=["result._meta"])
    assert "with sessions" in report.protocol, report.protocol
    assert report.state.protocol_version == "2025-11-25"
    assert json.loads((tmp_path / "run" / "state.json").read_text())["protocol_version"] == "2025-11-25"
    statuses = {r.label: r.status for r in report.results}
    assert statuses["initialize"] == SAME
    assert statuses["tools/call echo"] == SAME
    assert set(statuses.values()) <= {SAME, SENT}, [(r.label, r.status, r.reason) for r in report.results]
    # a new connection (here a resume: the session restored as after a crash) starts with the handshake
    run = tmp_path / "run"
    journal = (run / "steps.jsonl").read_text().splitlines(keepends=True)
    kept = [line for line in journal if json.loads(line)["call"] in ("server/discover", "initialize")]
    (run / "steps.jsonl").write_text("".join(kept))
    resumed = resume(run, Target(url=everything))
    assert {r.label: r.status for r in resumed.results} == statuses, [(r.label, r.reason) for r in resumed.results]
    records = read_event_log(run / "replay.jsonl").records
    since = next(i for i, r in enumerate(records) if r.get("event") == "resumed")
    sent = [r["message"] for r in records[since:] if r["kind"] == "message" and r["dir"] == "c2s"]
    assert sent[0]["method"] == "initialize"
