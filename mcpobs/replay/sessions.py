"""A recording's sessions, and replaying each one on a connection of its own.

A proxy left running (``mcpobs record --upstream URL``) logs every client that came through it into
one log, one after another or side by side. Sent down one connection, their handshakes and calls
would meet in one server session; so the log is split into sessions and each is replayed by its own
:class:`~.engine.Replay`, on its own connection (or server process), in its own recorded order.

How a session is told (docs/event-log.md):

* **HTTP, 2025 revisions**: by the ``Mcp-Session-Id`` each request carries, taken as an opaque key
  (a redacted id still tells sessions apart). The ``initialize`` request carries none: its answer
  does, and the recorder's exchange number ties the two. Sessions are numbered in the order their
  first message was logged.
* **HTTP without session ids** (2026-07-28, stateless; or a server that issues none): the protocol
  has no session, nothing tells one client from another (every mcp SDK client sends the same
  ``clientInfo``), and the server keeps nothing per client; so the whole log is one session,
  replayed in recorded order. In a log with session ids, a 2026 client's refused ``server/discover``
  before it fell back to ``initialize`` belongs to that client's session (:func:`_probes`); any other
  request without one belongs to the session that begins next.
* **stdio**, and the other recorders' files: one log is one session.

A run of several sessions writes a run directory per session (``session-N/``, each as
:mod:`.rundir` says) under the run's own, whose ``run.json`` lists them and whose ``report.json``
sums them up (and holds each one's report); a run of one session writes its run directory as
before. ``--before CMD`` runs a shell command before each session is replayed (reset a database, a
git repository); its failure stops the run (exit 4) with what it printed.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcpobs import interrupt
from mcpobs.errors import InputError, UsageError
from mcpobs.eventlog.peers import read_recording
from mcpobs.eventlog.reader import EventLog, meta_of, params_of
from mcpobs.eventlog.redact import digest_of, session_digest
from mcpobs.eventlog.writer import CLIENT_META, messages_of
from mcpobs.replay.clock import Clock
from mcpobs.replay.config import ReplayConfig
from mcpobs.replay.connection import Target, UnreachableError
from mcpobs.replay.diff import Ignore, diff, parse_ignore
from mcpobs.replay.engine import Recovery, Replay, Report, StepResult, recorded_state
from mcpobs.replay.rundir import RunDir, file_hash, write_private
from mcpobs.replay.script import Script, build_script, outcome
from mcpobs.replay.state import SessionState
from mcpobs.replay.trace import write_trace

_BEFORE_OUTPUT_LINES = 20  # what a failing --before printed last, in the error


@dataclass(frozen=True)
class Session:
    """One client's session in a recording: its messages, as an event log of its own."""

    number: int  # from 1, in the order the sessions began
    id: str | None  # the Mcp-Session-Id; None: the requests that carried none, or a stdio log
    log: EventLog
    started: str
    client: str | None
    steps: int
    tool_calls: int

    def key(self) -> dict[str, Any]:
        """What a run directory notes to find the session again."""
        return {"number": self.number, "id": self.id}

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.number,
            "id": self.id,
            "started": self.started,
            "client": self.client,
            "steps": self.steps,
            "tool_calls": self.tool_calls,
        }


def split_sessions(log: EventLog) -> list[Session]:
    """The sessions of a recording (the module says how they are told apart)."""
    of_exchange: dict[Any, str] = {}
    for record in log.records:
        exchange, session = _http_facts(record)
        if exchange is not None and session is not None:
            of_exchange.setdefault(exchange, session)
    if not of_exchange:
        return [_session(1, None, log)]
    of_exchange = {**_probes(log, of_exchange), **of_exchange}
    keyed: list[tuple[str | None, dict[str, Any]]] = []
    for record in log.records:
        if record["kind"] == "protocol":
            continue  # the log's first statement of a revision: each session's own messages state its own
        exchange, session = _http_facts(record)
        if session is None and exchange is None:
            continue  # the proxy's own events (listening, stopped)
        keyed.append((session or of_exchange.get(exchange), record))
    # any other request with no session among sessions belongs to the session that begins next, or
    # else to the last
    later: str | None = None
    for at in range(len(keyed) - 1, -1, -1):
        later = keyed[at][0] or later
        keyed[at] = (later, keyed[at][1])
    groups: dict[str | None, list[dict[str, Any]]] = {}
    last = next((key for key, _ in reversed(keyed) if key is not None), None)
    for key, record in keyed:
        groups.setdefault(key or last, []).append(record)
    logs = [(key, EventLog(log.path, log.header, records, log.cut_short)) for key, records in groups.items()]
    return [_session(number, key, part) for number, (key, part) in enumerate(_with_steps(logs), 1)]


def _probes(log: EventLog, of_exchange: dict[Any, str]) -> dict[Any, str]:
    """The session of each request a client sent before it had one: a 2026 client's ``server/discover``,
    refused by a 2025 server (HTTP 400, a JSON-RPC error), after which that client sends ``initialize``.

    Clients side by side probe at once, so the next session to begin is not each probe's own. A probe
    goes with the first ``initialize`` logged after its refusal, taken in the order of the refusals,
    whose ``clientInfo`` is the one its ``_meta`` names (when both name one)."""
    sent: dict[Any, str | None] = {}  # a probe's exchange → its client, until refused
    refused: list[tuple[Any, str | None]] = []  # refused probes not yet tied to an initialize, in order
    out: dict[Any, str] = {}
    for record in log.records:
        exchange, _ = _http_facts(record)
        if exchange is None:
            continue
        if exchange in sent and record.get("dir") != "c2s" and _refusal(record):
            refused.append((exchange, sent.pop(exchange)))
            continue
        if record["kind"] != "message" or record["dir"] != "c2s" or not isinstance(record["message"], dict):
            continue
        client = _client([record["message"]]) if isinstance(record["message"].get("method"), str) else None
        if exchange not in of_exchange and "id" in record["message"]:
            sent[exchange] = client
        elif record["message"].get("method") == "initialize" and exchange in of_exchange:
            tied = next((r for r in refused if None in (r[1], client) or r[1] == client), None)
            if tied is not None:
                refused.remove(tied)
                out[tied[0]] = of_exchange[exchange]
    return out


def _refusal(record: dict[str, Any]) -> bool:
    """An answer that refused its request: an HTTP error status, or a JSON-RPC error."""
    facts = record.get("http") if record["kind"] == "message" else record
    status = facts.get("status") if isinstance(facts, dict) else None
    message = record.get("message")
    return (isinstance(status, int) and status >= 400) or (isinstance(message, dict) and "error" in message)


def _with_steps(logs: list[tuple[str | None, EventLog]]) -> list[tuple[str | None, EventLog]]:
    """The groups that hold a client message to send (not a lone GET stream's events)."""
    return [(key, part) for key, part in logs if _client_messages(part)]


def _http_facts(record: dict[str, Any]) -> tuple[Any, str | None]:
    """A record's HTTP exchange number and session id, where it has them."""
    facts = record.get("http") if record["kind"] == "message" else record if record["kind"] == "event" else None
    if not isinstance(facts, dict):
        return None, None
    session = facts.get("session_id")
    return facts.get("exchange"), session if isinstance(session, str) and session else None


def _client_messages(log: EventLog) -> list[dict[str, Any]]:
    out = []
    for record in log.records:
        if record["kind"] == "message" and record["dir"] == "c2s":
            out += [
                m for m in messages_of(record["message"]) if isinstance(m, dict) and isinstance(m.get("method"), str)
            ]
    return out


def _session(number: int, key: str | None, log: EventLog) -> Session:
    messages = _client_messages(log)
    first = log.records[0]["t"] if log.records else log.header.get("t")
    started = datetime.fromtimestamp(first / 1e9, tz=UTC).isoformat(timespec="milliseconds") if first else ""
    return Session(
        number=number,
        id=key,
        log=log,
        started=started,
        client=_client(messages),
        steps=len(messages),
        tool_calls=sum(m["method"] == "tools/call" for m in messages),
    )


def _client(messages: list[dict[str, Any]]) -> str | None:
    """The client's name and version: from ``initialize``, or a 2026 request's ``_meta``."""
    for message in messages:
        info = params_of(message).get("clientInfo") if message["method"] == "initialize" else None
        if info is None:
            info = meta_of(message).get(CLIENT_META)
        if isinstance(info, dict) and info.get("name"):
            return f"{info['name']} {info.get('version') or ''}".strip()
    return None


def read_sessions(recording: Path) -> list[Session]:
    """The sessions of the recording at ``recording`` (an event log or a peer recorder's file)."""
    return split_sessions(read_recording(recording))


def pick_sessions(sessions: list[Session], wanted: list[str]) -> list[Session]:
    """The sessions ``--session`` names (their number, their id or the start of it), in recorded order;
    all of them when it names none. A session id the log keeps redacted (``[REDACTED:sha256:…]``) is
    also named by the id itself (the log's digest of it) or by the start of its digest."""
    if not wanted:
        return sessions
    chosen: set[int] = set()
    for word in wanted:
        found = [
            s for s in sessions if word == str(s.number) or (s.id is not None and s.id in (word, session_digest(word)))
        ]
        if not found and len(word) >= 4:
            found = [s for s in sessions if s.id is not None and (digest_of(s.id) or s.id).startswith(word)]
        if len(found) != 1:
            known = ", ".join(f"{s.number}" + (f" ({s.id})" if s.id else "") for s in sessions)
            problem = "names more than one session" if found else "names no session of the recording"
            raise UsageError(f"--session {word!r} {problem}; it holds: {known}")
        chosen.add(found[0].number)
    return [s for s in sessions if s.number in chosen]


class BeforeError(UnreachableError):
    """``--before`` failed: the server's state could not be set up (exit 4, as for an unreachable server)."""

    def __init__(self, command: str, problem: str, output: str) -> None:
        super().__init__(f"--before {command!r} {problem}")
        self.output = output.rstrip().splitlines()[-_BEFORE_OUTPUT_LINES:]
        self.summary: Summary | None = None  # the sessions replayed before it failed, if any (written)

    def lines(self) -> list[str]:
        said = [f"  {line}" for line in self.output]
        return [str(self), *(["it printed:", *said] if said else ["it printed nothing"])]


def run_before(command: str, timeout: float) -> str:
    """Run ``--before`` in a shell; what it printed (stdout and stderr), or :class:`BeforeError`."""
    try:
        done = subprocess.run(
            command, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as e:
        output = e.output.decode(errors="replace") if isinstance(e.output, bytes) else ""
        raise BeforeError(command, f"did not finish in {timeout:g} s", output) from None
    except OSError as e:
        raise BeforeError(command, f"could not be run: {e.strerror or e}", "") from None
    output = done.stdout.decode(errors="replace")
    if done.returncode != 0:
        raise BeforeError(command, f"failed with exit status {done.returncode}", output)
    return output


@dataclass
class SessionRun:
    session: Session
    report: Report


@dataclass
class Summary:
    """A replay of one or more sessions: each one's report, and what the run as a whole found."""

    recording: str
    run_dir: Path
    runs: list[SessionRun]
    sessions_in_recording: int
    unmatched_ignores: list[str]
    several: bool  # a run of more than one session: a directory per session, and the summary as report.json

    @property
    def differs(self) -> bool:
        """Whether any session did not do what the recording did: exit status 1."""
        return any(run.report.differs for run in self.runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "recording": self.recording,
            "run_dir": str(self.run_dir),
            "sessions_in_recording": self.sessions_in_recording,
            "differs": self.differs,
            "sessions_differing": sum(run.report.differs for run in self.runs),
            "ignore_unmatched": self.unmatched_ignores,
            "sessions": [{**run.session.to_json(), "report": run.report.to_json()} for run in self.runs],
        }


def replay_sessions(
    recording: Path,
    target: Target,
    run_dir: Path,
    config: ReplayConfig | None = None,
    ignore: list[str] | None = None,
    *,
    sessions: list[str] | None = None,
    before: str | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> Summary:
    """Replay the recording's sessions (those ``sessions`` names, else all), one after another, each
    on its own connection, writing ``run_dir``; the summary."""
    config = config or ReplayConfig()
    paths = parse_ignore(ignore or [])
    every = read_sessions(recording)
    chosen = pick_sessions(every, sessions or [])
    scripts = [build_script(s.log) for s in chosen]  # a recording that cannot be replayed fails before anything runs
    target.check()
    patterns = list(ignore or [])
    several = len(chosen) > 1
    if several:
        top = RunDir.create(run_dir, recording, target, config, patterns, {"sessions": _entries(chosen)})
        top.checkpoints.rmdir()  # the sessions' own directories hold their checkpoints
    summary = Summary(str(recording), run_dir, [], len(every), [], several)
    for session, script in zip(chosen, scripts, strict=True):
        said = _before(before, config, summary, paths, scripts)
        path = run_dir / _directory(session) if several else run_dir
        run = RunDir.create(path, recording, target, config, patterns, {"session": session.key()})
        if said:
            run.write("before.log", said)
        engine = Replay(script, target, config, run, ignore=paths, clock=clock, rng=rng)
        summary.runs.append(SessionRun(session, _run(engine, summary, session)))
    return _finish(summary, paths, scripts)


def resume_sessions(
    run_dir: Path,
    target: Target,
    *,
    before: str | None = None,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> Summary:
    """Go on with an interrupted replay from its run directory: a session whose run finished keeps its
    report; one interrupted goes on from its journal (:mod:`.engine`); one not begun is replayed."""
    _, settings = RunDir.open(run_dir)
    config = RunDir.config_of(settings)
    patterns = list(settings.get("ignore") or [])
    paths = parse_ignore(patterns)
    if not isinstance(settings.get("recording"), str):
        raise InputError(run_dir / "run.json", "names no recording")
    recording = Path(settings["recording"])
    expected = settings.get("recording_sha256")
    if expected is not None and file_hash(recording) != expected:
        raise InputError(recording, f"changed since the run in {run_dir} began: resuming would mix two recordings")
    log = read_recording(recording)
    every = split_sessions(log)
    listed = settings.get("sessions")
    if isinstance(listed, list):
        plan = [(_find(log, every, entry, run_dir), run_dir / str(entry.get("dir"))) for entry in listed]
    else:
        plan = [(_find(log, every, settings.get("session"), run_dir), run_dir)]
    scripts = [build_script(session.log) for session, _ in plan]
    target.check()
    summary = Summary(str(recording), run_dir, [], len(every), [], isinstance(listed, list))
    for (session, path), script in zip(plan, scripts, strict=True):
        if _finished(path, script):
            summary.runs.append(SessionRun(session, _report_from(path, script)))
            continue
        said = _before(before, config, summary, paths, scripts)
        begun = (path / "run.json").exists()
        if begun:
            run, _ = RunDir.open(path)
            run.mend_journal()
        else:
            run = RunDir.create(path, recording, target, config, patterns, {"session": session.key()})
        if said:
            run.write("before.log", said)
        engine = Replay(script, target, config, run, ignore=paths, clock=clock, rng=rng, resume=begun)
        summary.runs.append(SessionRun(session, _run(engine, summary, session)))
    return _finish(summary, paths, scripts)


def _before(
    command: str | None, config: ReplayConfig, summary: Summary, ignore: Ignore, scripts: list[Script]
) -> str | None:
    """Run ``--before`` (if given); when it fails after sessions were replayed, their summary is written
    and goes with the error, so that the run directory and the output hold them either way."""
    if command is None:
        return None
    try:
        return run_before(command, _before_timeout(config))
    except BeforeError as e:
        if summary.runs:
            e.summary = _finish(summary, ignore, scripts[: len(summary.runs)])
        raise


def _entries(sessions: list[Session]) -> list[dict[str, Any]]:
    return [{**s.key(), "dir": _directory(s)} for s in sessions]


def _directory(session: Session) -> str:
    return f"session-{session.number}"


def _before_timeout(config: ReplayConfig) -> float:
    """--before gets as long as a whole session may take."""
    return config.timeout_handling.session_timeout_ms / 1000


def _find(log: EventLog, sessions: list[Session], key: Any, run_dir: Path) -> Session:
    """The session a run directory names (one from before sessions were told apart names none: the
    whole recording was its session)."""
    if key is None:
        return sessions[0] if len(sessions) == 1 else _session(1, None, log)
    found = [s for s in sessions if isinstance(key, dict) and s.number == key.get("number") and s.id == key.get("id")]
    if not found:
        raise InputError(run_dir / "run.json", f"names session {key!r}, which the recording does not hold")
    return found[0]


def _finished(path: Path, script: Script) -> bool:
    """Whether a session's run came to its end: its report written with the server reached throughout,
    and every step in its journal (a step not run, or a journal cut short, is left to go on with)."""
    try:
        data = json.loads((path / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict) or data.get("unreachable") is not None:
        return False
    journaled = {record.get("step") for record in RunDir(path).finished()}
    return all(step.index in journaled for step in script.steps)


def _report_from(path: Path, script: Script) -> Report:
    """The report a finished session's run wrote."""
    data = json.loads((path / "report.json").read_text(encoding="utf-8"))
    return Report(
        recording=data["recording"],
        target=data["target"],
        protocol=data["protocol"],
        transport=data["transport"],
        mode=data["recovery_mode"],
        results=[StepResult.from_json(step) for step in data["steps"]],
        retries=data["retries"],
        timeouts=data["timeouts"],
        recoveries=[Recovery(**r) for r in data["recoveries"]],
        stopped=data["stopped"],
        unreachable=data["unreachable"],
        state=SessionState.from_json(data["state"]),
        recorded_state=recorded_state(script),
        run_dir=path,
    )


def resume_command(run_dir: Path | str, target: Target | None) -> str:
    """The command that goes on with an interrupted run: with its URL, or ``-- SERVER`` for a command."""
    server = f"--url {target.url}" if target is not None and target.url else "-- SERVER"
    return f"mcpobs replay --resume {run_dir} {server}"


def _run(engine: Replay, summary: Summary, session: Session) -> Report:
    """Run one session, write its run directory's outputs, and raise :class:`UnreachableError` (after
    writing them, and the summary) when the server could not be reached."""
    report = interrupt.run_async(engine.run)
    run = engine.rundir
    run.write("report.json", json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n")
    run.write("state.json", json.dumps(report.state.to_json(), ensure_ascii=False, indent=2) + "\n")
    write_trace(run.path / "replay.jsonl", run.path / "trace.jsonl")
    if report.unreachable is not None:
        summary.runs.append(SessionRun(session, report))
        _write_summary(summary)
        done = any(r.status != "not run" for r in report.results) or len(summary.runs) > 1
        later = f"; go on with: {resume_command(summary.run_dir, engine.target)}" if done else ""
        which = f"session {session.number}: " if summary.several else ""
        raise UnreachableError(f"{which}{report.unreachable} (run written to {summary.run_dir}{later})")
    return report


def _finish(summary: Summary, ignore: Ignore, scripts: list[Script]) -> Summary:
    """Note which --ignore patterns met a path in any answer compared, in this run or before a resume
    (the answers are in the reports), and write the summary."""
    compared = False
    for run, script in zip(summary.runs, scripts, strict=True):
        for result in run.report.results:
            if result.response is not None and result.step < len(script.steps):
                compared = True
                diff(outcome(script.steps[result.step].expected), outcome(result.response), ignore)
    summary.unmatched_ignores = ignore.unmatched() if compared else []
    _write_summary(summary)
    return summary


def _write_summary(summary: Summary) -> None:
    if summary.several:
        text = json.dumps(summary.to_json(), ensure_ascii=False, indent=2) + "\n"
        write_private(summary.run_dir / "report.json", text)
