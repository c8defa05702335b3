"""Replaying a recorded session against a live server, surviving the faults real servers have.

Every client message of the recording is sent again, in order and as recorded (:mod:`.script` says
which may overlap, up to ``max_concurrent``); the server's requests are answered from the recording;
every answer is compared with the recorded one (:mod:`.diff`).

When things go wrong (all times through a :class:`~.clock.Clock`):

* a request with no answer within ``tool_call_timeout_ms`` is cancelled (``notifications/cancelled``)
  and sent again with a new id after the backoff (1 s, 2 s, 4 s … with jitter), at most
  ``max_retries`` times; first a ``ping`` (``server/discover`` where the revision has no ping; one
  per connection at a time) asks whether the server still answers at all: if not, it is hung, and is
  recovered, and the request sent at once on the new connection (with its recorded id: the session is
  new). The handshake (``initialize``, ``server/discover``) is never cancelled nor retried: it waits
  for the server to start, up to the session timeout;
* a server that exits or drops the connection is recovered: restarted (stdio) or reconnected
  (HTTP) once at once and then after each backoff wait until the server answers (the handshake, or a
  request where the revision has none: a connection nobody answers on is no recovery), the
  handshake sent again where the revision has one, then the session's state restored by
  ``session_recovery.mode``: ``checkpoint`` sends again what the latest checkpoint's state needs
  (its subscriptions, its log level); ``event_log`` sends again every step done so far, from the
  start of the log; ``hybrid`` does what ``checkpoint`` does, then sends again the steps done since
  that checkpoint. Restoring sends are not compared; the session state is then what the new server
  was told, and what it was not told again is lost (:meth:`Replay._mark`). Past ``max_recoveries``
  the replay switches to plain timeout handling and fails fast: no more recovery, probes or retries,
  each step sent once;
* when failed attempts (timeouts, lost connections, errors where the recording has a result) pass
  ``error_threshold`` of all attempts (judged from 1/threshold attempts on: 20 at 0.05), the replay
  stops there and reports, and so it does when ``session_timeout_ms`` is up: the steps not yet sent
  are reported as not run.
"""

from __future__ import annotations

import json
import logging
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from mcp_types import CONNECTION_CLOSED

from mcpobs.eventlog import EventLogWriter, Redactor
from mcpobs.eventlog.reader import id_key, read_event_log
from mcpobs.replay.clock import Clock, RealClock
from mcpobs.replay.config import ReplayConfig, backoff_delays
from mcpobs.replay.connection import Link, Target, UnreachableError, negotiated_revision, run_link
from mcpobs.replay.diff import Difference, diff
from mcpobs.replay.rundir import RunDir, open_private
from mcpobs.replay.script import HANDSHAKE, STARTS, Script, Step, outcome
from mcpobs.replay.state import SESSION_METHODS, SessionState
from mcpobs.replay.trace import logged_recoveries

# what a step came to
SAME, DIFFERS, NO_ANSWER, SENT, NOT_RUN = "same", "differs", "no answer", "sent", "not run"
_PROBE_TIMEOUT = 5.0


@dataclass
class StepResult:
    step: int
    label: str
    status: str
    attempts: int = 0
    duration_ms: float | None = None
    recorded_ms: float | None = None
    differences: list[Difference] = field(default_factory=list)
    reason: str | None = None
    response: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "call": self.label,
            "status": self.status,
            "attempts": self.attempts,
            "duration_ms": self.duration_ms,
            "recorded_ms": self.recorded_ms,
            "reason": self.reason,
            "differences": [_difference_json(d) for d in self.differences],
            "response": self.response,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StepResult:
        return cls(
            step=data["step"],
            label=data["call"],
            status=data["status"],
            attempts=data.get("attempts", 0),
            duration_ms=data.get("duration_ms"),
            recorded_ms=data.get("recorded_ms"),
            differences=[
                Difference(d["path"], d["change"], d.get("recorded"), d.get("replayed"))
                for d in data.get("differences", [])
            ],
            reason=data.get("reason"),
            response=data.get("response"),
        )


@dataclass
class Recovery:
    number: int
    reason: str
    mode: str
    ms: float
    resent: int

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "reason": self.reason, "mode": self.mode, "ms": self.ms, "resent": self.resent}


@dataclass
class Report:
    recording: str
    target: str
    protocol: str
    transport: str
    mode: str
    results: list[StepResult]
    retries: int
    timeouts: int
    recoveries: list[Recovery]
    stopped: str | None
    unreachable: str | None
    state: SessionState
    recorded_state: SessionState
    run_dir: Path

    @property
    def differs(self) -> bool:
        """Whether the server did not do what the recording did (or a recovery lost some of the
        session's state): exit status 1."""
        return (
            self.stopped is not None
            or self.unreachable is not None
            or bool(self.state.lost)
            or any(r.status in (DIFFERS, NO_ANSWER, NOT_RUN) for r in self.results)
        )

    def state_differences(self) -> list[Difference]:
        """Where the session's state ends unlike the recording's: compared as answers are, a value
        redacted in either (a recorder's marker inside a tool's description, say) matching any."""
        return diff(self.recorded_state.comparable(), self.state.comparable(), redacted_either=True)

    def counts(self) -> dict[str, int]:
        out = {status: 0 for status in (SAME, DIFFERS, NO_ANSWER, SENT, NOT_RUN)}
        for result in self.results:
            out[result.status] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "recording": self.recording,
            "target": self.target,
            "protocol": self.protocol,
            "transport": self.transport,
            "recovery_mode": self.mode,
            "differs": self.differs,
            "counts": self.counts(),
            "retries": self.retries,
            "timeouts": self.timeouts,
            "recoveries": [r.to_json() for r in self.recoveries],
            "recovery_ms": round(sum(r.ms for r in self.recoveries), 3),
            "stopped": self.stopped,
            "unreachable": self.unreachable,
            "run_dir": str(self.run_dir),
            "steps": [r.to_json() for r in self.results],
            "state": self.state.to_json(),
            "state_lost": self.state.lost,
            "state_differs_from_recording": bool(self.state_differences()),
            "state_differences": [_difference_json(d) for d in self.state_differences()],
        }


class Replay:
    """One replay of a script against a target, writing its run directory."""

    def __init__(
        self,
        script: Script,
        target: Target,
        config: ReplayConfig,
        run: RunDir,
        *,
        ignore: list[list[str]] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        resume: bool = False,
    ) -> None:
        self.script = script
        self.target = target
        self.config = config
        self.rundir = run
        self.ignore = ignore or []
        self.clock = clock or RealClock()
        self.rng = rng or random.Random()
        self.resume = resume
        self.results: dict[int, StepResult] = {}
        self._order: list[int] = []  # the steps done, in the order they were (the session state's fold)
        # where a restore put the session: (after how many steps done, its subscriptions, its log
        # level, what it lost)
        self._marks: list[tuple[int, list[str], str | None, list[dict[str, Any]]]] = []
        if resume:
            for record in run.finished():
                result = StepResult.from_json(record)
                self.results[result.step] = result
                if result.status in (SAME, DIFFERS, SENT):
                    self._order.append(result.step)
        self.link: Link | None = None
        self.links = 0
        self.attempts = 0
        self.failures = 0
        self.retries = 0
        self.timeouts = 0
        self.recoveries: list[Recovery] = []
        self.stopped: str | None = None
        self.fail_fast = False  # past max_recoveries: plain timeouts, no retries, no recovery
        self._restored = ""  # the last restore of the session (a recovery, the resume), for the report
        self.unreachable: str | None = None
        self.ever_answered = False
        self._recovering: anyio.Event | None = None
        self._recover_lock = anyio.Lock()
        self._lost_links: set[int] = set()
        self._probes: dict[int, tuple[anyio.Event, list[bool]]] = {}  # a connection → its probe in flight, verdict
        self._in_flight: dict[int, int] = {}  # step → attempt, for answering the server's requests
        self._given: dict[tuple[int | None, int, str], int] = {}  # answers given per (step, attempt, method)
        self._wire: dict[str, Any] = {}  # a recorded request id → the id it last went out under
        self._next_id = 0
        self._last_checkpoint = float("-inf")
        self._tg: Any = None
        if resume:
            self._count_earlier(run.path / "replay.jsonl")
        self._stderr = open_private(run.path / "server-stderr.log", append=True)
        transport = "http" if target.url else "stdio"
        server = {"url": target.url} if target.url else {"command": list(target.command)}
        self.log = EventLogWriter(
            run.path / "replay.jsonl", Redactor.checked(True, (), ()), transport, server, resume=resume
        )

    async def run(self) -> Report:
        """Replay every step not done yet; the report (``report.unreachable`` says when the server
        could not be reached or reached again: the steps left are then not run)."""
        th = self.config.timeout_handling
        self.deadline = self.clock.now() + th.session_timeout_ms / 1000
        sdk_log = _sdk_logging(self.rundir.path / "sdk.log")
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                try:
                    await self._start()
                finally:
                    if self.link is not None:
                        self.link.stop.set()
                        with anyio.CancelScope(shield=True):
                            await self.link.closed.wait()
                    tg.cancel_scope.cancel()
        finally:
            logging.getLogger("mcp").removeHandler(sdk_log)
            sdk_log.close()
            self._stderr.close()
        if self.unreachable is not None:
            said = _last_line(self.rundir.path / "server-stderr.log")
            self.unreachable += f"; its stderr said: {said}" if said else ""
        if any(r.status in (SAME, DIFFERS, SENT) for r in self.results.values()):
            self._checkpoint()  # the recovery point a resume starts from
        self.log.event("client_closed")
        self.log.event("replay_finished", stopped=self.stopped, unreachable=self.unreachable)
        self.log.close()
        return self._report()

    async def _start(self) -> None:
        try:
            link = await self._connect()
        except UnreachableError as e:
            self.unreachable = str(e)
            return
        if self.resume:
            self.log.event("resumed", done=len(self.results))
            self._restored = "resuming"
            if await self._restore(link, "the resume") is None and not await self._recover(
                link, "the server went away while resuming"
            ):
                return
        await self._drive()

    def _count_earlier(self, log: Path) -> None:
        """What the interrupted run counted, so the resumed one reports the whole run."""
        if not log.exists():
            return
        records = read_event_log(log).records
        events = [r["event"] for r in records if r["kind"] == "event"]
        self.retries += events.count("retry")
        self.timeouts += events.count("call_timeout")
        for began, ended in logged_recoveries(records):
            self.recoveries.append(
                Recovery(ended["recovery"], began["reason"], began["mode"], ended["ms"], ended.get("resent") or 0)
            )

    # -- the steps

    async def _drive(self) -> None:
        slots = anyio.Semaphore(self.config.tool_config.max_concurrent)
        finished = {step.index: anyio.Event() for step in self.script.steps}
        async with anyio.create_task_group() as steps:
            for step in self.script.steps:
                if step.index in self.results:
                    finished[step.index].set()
                    continue
                for earlier in sorted(step.depends_on):
                    await finished[earlier].wait()
                await slots.acquire()
                if self.stopped or self.unreachable:
                    slots.release()
                    reason = self.stopped or self.unreachable
                    self._finish(step, StepResult(step.index, step.label, NOT_RUN, reason=reason))
                    finished[step.index].set()
                    continue
                steps.start_soon(self._step_task, step, slots, finished[step.index])

    async def _step_task(self, step: Step, slots: anyio.Semaphore, finished: anyio.Event) -> None:
        try:
            self._finish(step, await self._run_step(step))
        finally:
            self._in_flight.pop(step.index, None)
            slots.release()
            finished.set()

    async def _run_step(self, step: Step) -> StepResult:
        th = self.config.timeout_handling
        began = self.clock.now()
        delays = backoff_delays(th, self.rng)
        attempts = 0
        result = StepResult(step.index, step.label, NO_ANSWER, recorded_ms=step.recorded_ms)
        while True:
            link = await self._live_link()
            if link is not None and self.clock.now() >= self.deadline:
                self._stop(f"session timeout: {th.session_timeout_ms} ms")
                link = None
            if link is None:
                result.status = NOT_RUN if attempts == 0 else NO_ANSWER
                result.reason = self.stopped or self.unreachable
                return result
            attempts += 1
            self.attempts += 1
            result.attempts = attempts
            self._in_flight[step.index] = attempts
            if attempts > 1:
                self.retries += 1
                self.log.event("retry", step=step.index, attempt=attempts)
            if not step.is_request:
                if await self._send(link, self._cancelling(step.message), step, attempts):
                    result.status = SENT
                    return result
                pending = None
            else:
                request_id = self._id_for(step, link)
                self._wire[id_key(step.message["id"])] = request_id
                message = {**step.message, "id": request_id}
                pending = link.expect(request_id)
                sent = await self._send(link, message, step, attempts)
                if sent and step.expected is None:
                    link.forget(request_id)  # the recording has no answer to it: nothing to wait for
                    result.status = SENT
                    result.reason = (
                        "the recorded answer was passed on but not logged (body_not_logged): unknown, not compared"
                        if step.answer_not_logged
                        else "the recording holds no answer to compare"
                    )
                    return result
                if step.method in STARTS:
                    # the handshake is never cancelled (the spec forbids it) nor retried: a server still
                    # starting gets what is left of the session timeout to answer it
                    timeout = self._left()
                    if sent:
                        await self.clock.wait_for_start(pending.done, timeout)
                else:
                    timeout = min(th.tool_call_timeout_ms / 1000, self.deadline - self.clock.now())
                    if sent:
                        await self.clock.wait(pending.done, timeout)
                if _dropped(pending.response):
                    # the SDK's HTTP transport stands in for an answer a broken stream never brought
                    link.drop(str(pending.response["error"].get("message")))  # type: ignore[index]
                    pending.response = None
                if pending.response is not None and self._not_mcp(step, pending.response):
                    error = pending.response["error"]
                    self.unreachable = f"{self.target} does not answer as an MCP server: {error.get('message')}"
                    revision = await self._other_revision()
                    if revision is not None:
                        # not run, as the steps after it: nothing of the run is done, a resume starts over
                        result.status = NOT_RUN
                        result.reason = self.unreachable = (
                            f"{self.target} speaks {revision}, not {self.script.protocol_version} (the recording's "
                            f"revision): it refused the recording's {step.method} ({error.get('message')}); "
                            f"replay it against a server that speaks {self.script.protocol_version}, or replay a "
                            f"recording made under {revision}"
                        )
                    return result
                if pending.response is not None:
                    self.ever_answered = True
                    result.duration_ms = round((self.clock.now() - began) * 1000, 3)
                    result.response = pending.response
                    result.differences = diff(outcome(step.expected), outcome(pending.response), self.ignore)
                    result.status = DIFFERS if result.differences else SAME
                    result.reason = None
                    if _failed(pending.response) and not _failed(step.expected):
                        self.failures += 1  # an error where the recording has none: the server is failing
                        result.reason = "an error where the recording has a result"
                        self._over_threshold(result)
                    if result.differences and self._restored and self.config.session_recovery.mode == "checkpoint":
                        result.reason = (
                            f"after {self._restored}: checkpoint mode restores the session, "
                            "not what the server kept in memory (--recovery event_log does)"
                        )
                    return result
            if link.closed.is_set():
                if link.number not in self._lost_links:  # one crash is one failure, however many calls it took
                    self._lost_links.add(link.number)
                    self.failures += 1
                result.reason = f"the server went away: {link.error}"
                self.log.event("connection_lost", step=step.index, error=link.error)
                if not self.ever_answered:
                    self.unreachable = f"cannot reach the server ({self.target}): {link.error}"
                    return result
                if self._over_threshold(result) or attempts > th.max_retries or self.fail_fast:
                    return self._failed_fast(result)
                if not await self._recover(link, result.reason):
                    return self._failed_fast(result)
                continue
            # no answer in time: cancel it, then retry (after recovering a server that answers nothing)
            self.failures += 1
            assert pending is not None
            request_id = message["id"]
            link.forget(request_id)
            self.timeouts += 1
            waited = max(round(timeout * 1000), 0)
            if step.method in STARTS:
                result.reason = f"no answer to {step.method} in {waited} ms"
                self.log.event("call_timeout", step=step.index, attempt=attempts, id=request_id, after_ms=waited)
                self._stop(f"session timeout: {th.session_timeout_ms} ms")
                return result
            result.reason = f"no answer in {waited} ms"
            self.log.event("call_timeout", step=step.index, attempt=attempts, id=request_id, after_ms=waited)
            cancel = {"requestId": request_id, "reason": f"timed out: no answer in {waited} ms (mcpobs replay)"}
            await self._send(link, {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": cancel})
            if self.clock.now() >= self.deadline:
                self._stop(f"session timeout: {th.session_timeout_ms} ms")
                return result
            if self.fail_fast:
                return self._failed_fast(result)
            if self._over_threshold(result) or attempts > th.max_retries:
                if attempts > th.max_retries:
                    result.reason = f"no answer in {waited} ms, {attempts} attempts"
                return result
            if not await self._alive(link):
                if not await self._recover(link, "hung: no answer to a ping"):
                    return self._failed_fast(result)
            else:
                delay = delays[attempts - 1]
                self.log.event("backoff", step=step.index, delay_ms=round(delay * 1000, 3))
                await self.clock.sleep(delay)

    def _failed_fast(self, result: StepResult) -> StepResult:
        if self.fail_fast and result.reason:
            limit = self.config.session_recovery.max_recoveries
            result.reason += f" (past {limit} recoveries: no more recovery or retries, failing fast)"
        return result

    def _finish(self, step: Step, result: StepResult) -> None:
        self.results[step.index] = result
        done = result.status in (SAME, DIFFERS, SENT)
        if done:
            self._order.append(step.index)
        if done or (result.status == NO_ANSWER and not self.unreachable):
            # final: a resume leaves it be; a step not run, or cut off by an unreachable server, runs then
            self.rundir.journal(result.to_json())
        interval = self.config.session_recovery.checkpoint_interval
        # a subscription or a log level changed is checkpointed at once (a small file), so a recovery
        # can tell the new server; the rest waits for the interval
        if (done and step.method in SESSION_METHODS) or (
            self.clock.now() - self._last_checkpoint >= interval and result.status != NOT_RUN
        ):
            self._checkpoint()

    def _checkpoint(self) -> None:
        self._last_checkpoint = self.clock.now()
        done = sorted(i for i, r in self.results.items() if r.status in (SAME, DIFFERS, SENT))
        number = self.rundir.checkpoint(
            {"done": done, "state": self._state().to_json(), "recoveries": len(self.recoveries)},
            self.config.session_recovery.max_checkpoints,
        )
        self.log.event("checkpoint", number=number, done=len(done))

    def _over_threshold(self, result: StepResult) -> bool:
        """Whether failed attempts have passed ``error_threshold`` (and so the replay stops). A rate is
        judged once there are attempts enough for one failure to be under it: 20 at 0.05, so one crash
        early in a short session is recovered from rather than taken for an error storm."""
        threshold = self.config.timeout_handling.error_threshold
        enough = 1 if threshold <= 0 else math.ceil(1 / threshold)
        rate = self.failures / max(self.attempts, 1)
        if self.attempts >= enough and rate > threshold:
            self._stop(f"error rate {_percent(rate)} passed error_threshold {_percent(threshold)}: stopped retrying")
            return True
        return False

    def _stop(self, reason: str) -> None:
        if self.stopped is None:
            self.stopped = reason
            self.log.event("replay_stopped", reason=reason)

    # -- the connection

    async def _connect(self) -> Link:
        self.links += 1
        link = Link(self.links)
        ready = anyio.Event()
        self._tg.start_soon(run_link, link, self.target, self._on_message, ready, self._stderr)
        await ready.wait()
        if link.closed.is_set():
            raise UnreachableError(f"cannot reach the server ({self.target}): {link.error}")
        self.link = link
        self.log.event("connected", connection=link.number)
        return link

    async def _live_link(self) -> Link | None:
        while True:
            if self.stopped or self.unreachable:
                return None
            if self._recovering is not None:
                await self._recovering.wait()
                continue
            return self.link

    def _id_for(self, step: Step, link: Link) -> Any:
        """The recorded id the first time a connection sees the step, a new one for each retry."""
        recorded = step.message["id"]
        if id_key(recorded) not in link.sent_ids:
            return recorded
        return self._fresh_id(recorded)

    def _fresh_id(self, like: Any = 0) -> Any:
        if self._next_id == 0:
            numbers = [s.message["id"] for s in self.script.steps if isinstance(s.message.get("id"), int)]
            self._next_id = max([*numbers, 0]) + 1_000_000
        self._next_id += 1
        return self._next_id if isinstance(like, int) else f"mcpobs-replay-{self._next_id}"

    async def _send(
        self, link: Link, message: dict[str, Any], step: Step | None = None, attempt: int = 0, role: str = "step"
    ) -> bool:
        if "id" in message and "method" in message:
            link.sent_ids.add(id_key(message["id"]))
            self.log.event("attempt", id=message["id"], role=role, step=step.index if step else None, attempt=attempt)
        self.log.message("c2s", json.dumps(message, ensure_ascii=False).encode())
        bound = min(self.config.timeout_handling.tool_call_timeout_ms / 1000, 30.0)
        return await link.send(message, self._headers(step, message), timeout=bound)

    def _cancelling(self, message: dict[str, Any]) -> dict[str, Any]:
        """A recorded ``notifications/cancelled`` names the id its request went out under this time."""
        params = message.get("params")
        if message.get("method") != "notifications/cancelled" or not isinstance(params, dict):
            return message
        wire = self._wire.get(id_key(params.get("requestId")))
        return message if wire is None else {**message, "params": {**params, "requestId": wire}}

    def _not_mcp(self, step: Step, response: dict[str, Any]) -> bool:
        """Whether the first answer over HTTP is an error the recording did not have: a URL that is no
        MCP endpoint (404, a web server's 500), which the SDK's transport turns into a JSON-RPC error."""
        return bool(self.target.url) and not self.ever_answered and "error" in response and not _failed(step.expected)

    async def _other_revision(self) -> str | None:
        """The older revision an HTTP server that refused a 2026-07-28 recording's first request speaks (a
        2025-era server answers a request with no session so); None for a 2025-era recording, a server
        that speaks the recording's revision (it refused the request for another reason), or one that
        agrees none (no MCP server)."""
        if not self.script.stateless or not self.target.url:
            return None
        revision = await negotiated_revision(self.target.url)
        return revision if revision != self.script.protocol_version else None

    def _headers(self, step: Step | None, message: dict[str, Any]) -> dict[str, str] | None:
        if not self.target.url:
            return None
        headers = dict(step.headers) if step is not None else {}
        version = self.script.protocol_version
        if version and message.get("method") != "initialize":
            headers.setdefault("mcp-protocol-version", version)
        if self.script.stateless and isinstance(message.get("method"), str):
            headers.setdefault("mcp-method", message["method"])
            if step is not None and step.target is not None:
                headers.setdefault("mcp-name", step.target)
        return headers or None

    async def _on_message(self, link: Link, message: dict[str, Any]) -> None:
        self.log.message("s2c", json.dumps(message, ensure_ascii=False).encode())
        method = message.get("method")
        if not isinstance(method, str) or "id" not in message:
            return
        waiting = sorted(self._in_flight.items())
        answer = self.script.answers.find(waiting, method, message.get("params"), self._given)
        if answer is None:
            if method == "ping":
                answer = {"result": {}}
            else:
                text = f"mcpobs replay: the recording holds no answer to {method}"
                answer = {"error": {"code": -32601, "message": text}}
        await self._send(link, {"jsonrpc": "2.0", "id": message["id"], **answer})

    async def _alive(self, link: Link) -> bool:
        """Whether the server still answers anything: a ping (server/discover without sessions). One
        probe at a time per connection: calls that time out together in one hang share its verdict."""
        probing = self._probes.get(link.number)
        if probing is not None:
            await probing[0].wait()
            return probing[1][0]
        verdict = [False]
        self._probes[link.number] = (anyio.Event(), verdict)
        try:
            verdict[0] = await self._probe(link)
            return verdict[0]
        finally:
            self._probes.pop(link.number)[0].set()

    async def _probe(self, link: Link, starting: bool = False) -> bool:
        """One probe; ``starting``: of a server just (re)started, which has up to the session timeout to
        answer its first request, as it has for a handshake."""
        method = "server/discover" if self.script.stateless else "ping"
        probe: dict[str, Any] = {"jsonrpc": "2.0", "id": self._fresh_id(), "method": method}
        if self.script.stateless:
            probe["params"] = self._stateless_meta()
        pending = link.expect(probe["id"])
        if not await self._send(link, probe, role="probe"):
            return False
        if starting:
            await self.clock.wait_for_start(pending.done, self._left())
        else:
            timeout = min(_PROBE_TIMEOUT, self.config.timeout_handling.tool_call_timeout_ms / 1000, self._left())
            await self.clock.wait(pending.done, timeout)
        link.forget(probe["id"])
        return pending.response is not None and not _dropped(pending.response)

    def _left(self) -> float:
        """Seconds left of the session timeout (never below 0)."""
        return max(self.deadline - self.clock.now(), 0.0)

    def _stateless_meta(self) -> dict[str, Any]:
        """The ``_meta`` the recording's first request carried (a 2026 request states its revision)."""
        for step in self.script.steps:
            meta = step.params.get("_meta")
            if isinstance(meta, dict):
                return {"_meta": {k: v for k, v in meta.items() if k.startswith("io.modelcontextprotocol/")}}
        return {}

    # -- recovery

    async def _recover(self, failed: Link, reason: str) -> bool:
        """Bring the session back after ``failed`` broke; whether the replay may go on."""
        recovery = self.config.session_recovery
        async with self._recover_lock:
            if self.link is not failed and self.link is not None and not self.link.closed.is_set():
                return True  # another step recovered it already
            if self.stopped or self.unreachable:
                return False
            if not recovery.enabled:
                return False
            if len(self.recoveries) >= recovery.max_recoveries:
                if not self.fail_fast:
                    self.fail_fast = True
                    self.log.event("recovery_limit", recoveries=len(self.recoveries))
                return False
            self._recovering = anyio.Event()
            try:
                began = self.clock.now()
                number = len(self.recoveries) + 1
                self.log.event("recovery_started", recovery=number, reason=reason, mode=recovery.mode)
                # a server coming back (a supervisor restarting it, a process still starting) gets the
                # backoff schedule's time: one try, then one after each wait
                # (a recovery is one only when the server answered: a try that reaches nothing is no recovery)
                waits = [0.0, *backoff_delays(self.config.timeout_handling, self.rng)]
                error = None
                for tries, wait in enumerate(waits, 1):
                    await self.clock.sleep(min(wait, self._left()))
                    if self._left() <= 0:
                        self._stop(f"session timeout: {self.config.timeout_handling.session_timeout_ms} ms")
                        return False
                    self._lost_links.add(failed.number)  # replaced on purpose: no further failure of its calls
                    failed.stop.set()
                    with anyio.CancelScope(shield=True):
                        await failed.closed.wait()
                    try:
                        link = await self._connect()
                    except UnreachableError as e:
                        error = str(e)
                        self.log.event("reconnect_failed", recovery=number, tries=tries, error=error)
                        continue
                    resent = await self._restore(link, f"recovery {number}")
                    if resent is not None:
                        self._restored = f"recovery {number}"
                        ms = round((self.clock.now() - began) * 1000, 3)
                        self.recoveries.append(Recovery(number, reason, recovery.mode, ms, resent))
                        self.log.event("recovery_finished", recovery=number, ms=ms, resent=resent, tries=tries)
                        return True
                    failed = link
                    error = link.error or "no answer while the session was restored"
                    self.log.event("reconnect_failed", recovery=number, tries=tries, error=error)
                self.unreachable = f"cannot reach the server ({self.target}) again after {reason}: {error}"
                self.log.event("recovery_failed", recovery=number, tries=len(waits), error=error)
                return False
            finally:
                self._recovering.set()
                self._recovering = None

    async def _restore(self, link: Link, label: str) -> int | None:
        """Send again what the session's state needs on a new connection; how many messages, or None
        when the connection broke meanwhile or the server answered none of them (nor, when none
        waits for an answer, a probe): a connection nobody answers on is not the session back."""
        mode = self.config.session_recovery.mode
        done = [i for i in sorted(self.results) if self.results[i].status in (SAME, DIFFERS, SENT)]
        checkpoint = self.rundir.latest_checkpoint()
        since = [i for i in done if i not in set(checkpoint["done"])] if checkpoint else done
        plan: list[Step | None] = []
        if not self.script.stateless:
            plan += [_first(self.script.steps, method) for method in ("initialize", "notifications/initialized")]
        if mode == "event_log":
            again = [self.script.steps[i] for i in done]
        else:
            again = self._session_steps(checkpoint)
            if mode == "hybrid":
                again += [self.script.steps[i] for i in since]
        plan += [s for s in again if s.method not in HANDSHAKE]
        sent = 0
        answered = False
        told = SessionState()  # what the new server was told, and took
        for step in plan:
            if step is None:
                continue
            ok, response = await self._resend(link, step)
            if not ok:
                return None
            answered = answered or response is not None
            told.apply(step.index, step.message, response)
            sent += 1
        if not answered and not await self._probe(link, starting=True):
            return None
        self._mark(told, label)
        return sent

    def _mark(self, told: SessionState, label: str) -> None:
        """Note where a restore put the session: its subscriptions and log level are what the new
        server was told; those it held before and was not told again are lost."""
        before = self._state()
        lost: list[dict[str, Any]] = [
            {"subscription": uri, "lost_in": label} for uri in before.subscriptions if uri not in told.subscriptions
        ]
        if before.log_level is not None and told.log_level != before.log_level:
            lost.append({"log_level": before.log_level, "lost_in": label})
        self._marks.append((len(self._order), list(told.subscriptions), told.log_level, lost))
        if lost:
            self.log.event("state_lost", restore=label, lost=lost)

    def _session_steps(self, checkpoint: dict[str, Any] | None) -> list[Step]:
        """The steps that put the checkpoint's session-level state back: its subscriptions and log level."""
        if checkpoint is None:
            return []
        state = SessionState.from_json(checkpoint.get("state") or {})
        done = set(checkpoint.get("done") or [])
        out = []
        for uri in state.subscriptions:
            found = [s for s in self.script.steps if s.method == "resources/subscribe" and s.target == uri]
            out += [s for s in found if s.index in done][-1:]
        if state.log_level is not None:
            levels = [s for s in self.script.steps if s.method == "logging/setLevel" and s.index in done]
            out += levels[-1:]
        return sorted(out, key=lambda s: s.index)

    async def _resend(self, link: Link, step: Step) -> tuple[bool, dict[str, Any] | None]:
        """Send a step again to restore the session: whether that went well, and the server's answer
        (None when there was none to wait for); not well when unsent or unanswered."""
        if self._left() <= 0:
            return False, None
        if not step.is_request:
            return await self._send(link, step.message, step, role="restore"), None
        request_id = self._id_for(step, link)
        pending = link.expect(request_id)
        if not await self._send(link, {**step.message, "id": request_id}, step, role="restore"):
            return False, None
        if step.expected is None:
            link.forget(request_id)
            return True, None
        self._in_flight[step.index] = 0
        self._given = {k: v for k, v in self._given.items() if k[:2] != (step.index, 0)}
        try:
            if step.method in STARTS:
                await self.clock.wait_for_start(pending.done, self._left())
            else:
                await self.clock.wait(
                    pending.done, min(self.config.timeout_handling.tool_call_timeout_ms / 1000, self._left())
                )
        finally:
            self._in_flight.pop(step.index, None)
        link.forget(request_id)
        if pending.response is None or _dropped(pending.response):
            return False, None
        self.ever_answered = True
        return True, pending.response

    # -- the end

    def _state(self) -> SessionState:
        """The session's state: the steps done, in the order they were, each restore putting the
        subscriptions and log level at what it told the new server."""
        state = SessionState(protocol_version=self.script.protocol_version)
        marks = iter(self._marks)
        mark = next(marks, None)
        for position, index in enumerate([*self._order, None]):
            while mark is not None and mark[0] == position:
                state.subscriptions, state.log_level = list(mark[1]), mark[2]
                state.lost += mark[3]
                mark = next(marks, None)
            if index is not None:
                state.apply(index, self.script.steps[index].message, self.results[index].response)
        return state

    def _report(self) -> Report:
        state = self._state()
        checkpoint = self.rundir.latest_checkpoint()
        if checkpoint is not None:
            done = checkpoint["done"]
            state.recovery_point = {
                "checkpoint": checkpoint["number"],
                "steps_done": len(done),
                "after_step": max(done) if done else None,
            }
        recorded = recorded_state(self.script)
        results = [self.results[s.index] for s in self.script.steps if s.index in self.results]
        return Report(
            recording=self.script.source,
            target=str(self.target),
            protocol=self.script.era,
            transport="http" if self.target.url else "stdio",
            mode=self.config.session_recovery.mode,
            results=results,
            retries=self.retries,
            timeouts=self.timeouts,
            recoveries=self.recoveries,
            stopped=self.stopped,
            unreachable=self.unreachable,
            state=state,
            recorded_state=recorded,
            run_dir=self.rundir.path,
        )


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.3g}%"


def recorded_state(script: Script) -> SessionState:
    """The state the recorded session ended in."""
    recorded = SessionState(protocol_version=script.protocol_version)
    for step in script.steps:
        recorded.apply(step.index, step.message, step.expected)
    return recorded


def _difference_json(d: Difference) -> dict[str, Any]:
    return {"path": d.path, "change": d.change, "recorded": d.expected, "replayed": d.actual}


def _first(steps: list[Step], method: str) -> Step | None:
    return next((s for s in steps if s.method == method), None)


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip()[:200] if lines else ""


def _dropped(message: dict[str, Any] | None) -> bool:
    """Whether an error is the SDK's HTTP transport saying a response stream broke off (code
    CONNECTION_CLOSED, "SSE stream …"), not an answer of the server's."""
    error = message.get("error") if isinstance(message, dict) else None
    return (
        isinstance(error, dict)
        and error.get("code") == CONNECTION_CLOSED
        and str(error.get("message", "")).startswith("SSE stream")
    )


def _failed(message: dict[str, Any] | None) -> bool:
    """Whether an answer is a failure: a JSON-RPC error, or a result marked isError."""
    if not isinstance(message, dict):
        return False
    result = message.get("result")
    return "error" in message or (isinstance(result, dict) and result.get("isError") is True)


def _sdk_logging(path: Path) -> logging.Handler:
    """The mcp SDK's own log lines go to the run directory, not the user's terminal."""
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setStream(open_private(path, append=True))  # the run directory's mode, not the umask's
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("mcp")
    logger.addHandler(handler)
    logger.propagate = False
    return handler
