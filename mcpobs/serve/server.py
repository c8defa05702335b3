"""Answering a client from a recording: what each message gets, whatever the transport.

:class:`Served` takes the client's messages one at a time and says what to send back (a
:class:`Reply`): the recorded answer (with the client's own id) and the notifications recorded with
it, or the error an unmatched request gets, or the fault that hits the call. The transports
(:mod:`.stdio`, :mod:`.http`) carry it out; each logs what passes through :meth:`Served.logged`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mcpobs.eventlog.writer import Direction, EventLogWriter
from mcpobs.replay.clock import Clock, RealClock
from mcpobs.replay.diff import diff
from mcpobs.replay.script import Step, outcome
from mcpobs.serve.book import INVALID_PARAMS, Answer, Ask, Book, sent_with
from mcpobs.serve.faults import Faults

Timing = Literal["none", "recorded"]
INTERNAL_ERROR = -32603
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
DROPPED = 1  # the exit status after a fault ended the connection or the server
# what the transport does with a reply: send its messages; never answer; cut the connection (stdio:
# the process ends); end the process; answer an HTTP status; forget the HTTP session (404)
# the HTTP session (404); the answer, on a stream that breaks off and is resumed (GET with Last-Event-ID)
Action = Literal["answer", "hang", "drop", "exit", "http_status", "session_expiry", "stream_break"]
# the fault kinds that take the place of the answer, and what each does
_ACTIONS: dict[str, Action] = {"hang": "hang", "drop": "drop", "exit": "exit", "http_status": "http_status"}
_ACTIONS["session_expiry"] = "session_expiry"


@dataclass
class Reply:
    """What to send back for one message, in order; or another action (a fault)."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    asks: list[Ask] = field(default_factory=list)  # the server's requests to put to the client first
    asked_at: int = 0  # where among the messages: after the notifications recorded before them
    action: Action = "answer"
    raw: bytes | None = None  # a malformed frame in place of the answer
    status: int | None = None  # http_status: the status
    at: list[float] = field(default_factory=list)  # seconds after the reply each message is due (none: at once)

    def due(self, index: int) -> float:
        return self.at[index] if index < len(self.at) else 0.0


class Served:
    """One recording served: the book of its exchanges, the faults, the clock and the log."""

    def __init__(
        self,
        book: Book,
        faults: Faults,
        *,
        timing: Timing = "none",
        speed: float = 1.0,
        clock: Clock | None = None,
        log: EventLogWriter | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.book = book
        self.faults = faults
        self.timing = timing
        self.speed = speed
        self.clock = clock or RealClock()
        self.log = log
        self.say = say or (lambda _: None)

    async def reply(self, message: dict[str, Any]) -> Reply:
        """What a request gets (after any latency the timing or a fault asks for)."""
        step = Step(0, message)
        hits = self.faults.hits(step.method, step.target)
        injected = sum(self.faults.latency(f) for f in hits if f.kind == "latency")
        delay = injected
        fault = next((f for f in hits if f.kind != "latency"), None)
        breaks = fault is not None and fault.kind == "stream_break"  # the recorded answer, sent on a resumed stream
        fault = None if breaks else fault
        if injected > 0 and (fault is None or fault.kind not in ("hang", "exit")):
            # logged as the other faults are: a slow call in the served log is told from a slow recording
            self.event("fault", fault="latency", request=step.label, id=message.get("id"), ms=round(injected * 1000, 3))
            self.say(f"fault: latency {injected * 1000:.0f} ms for {step.label}")
        # a call a fault answers takes no recorded answer: the client's retry gets the one it would have
        answer = self.book.answer(message) if fault is None else Answer(None)
        if self.timing == "recorded" and answer.exchange is not None and answer.exchange.recorded_ms:
            delay += answer.exchange.recorded_ms / 1000 / self.speed
        if fault is not None:
            self.event("fault", fault=fault.kind, request=step.label, id=message.get("id"))
            self.say(f"fault: {fault.kind} for {step.label}")
        if delay > 0 and fault is not None and fault.kind not in ("hang", "exit"):
            await self.clock.sleep(delay)
        envelope = {"jsonrpc": "2.0", "id": message.get("id")}
        if fault is not None:
            if fault.kind in _ACTIONS:
                return Reply(action=_ACTIONS[fault.kind], status=fault.status)
            if fault.kind == "error":
                return Reply([{**envelope, "error": {"code": fault.code, "message": fault.message}}])
            if fault.kind == "tool_error":
                result: dict[str, Any] = {"content": [{"type": "text", "text": fault.text}], "isError": True}
                if self.book.script.stateless:  # 2026-07-28: a result states its type, or no client reads it
                    result["resultType"] = "complete"
                return Reply([{**envelope, "result": result}])
            if fault.kind == "malformed":
                frame = json.dumps(envelope)[:-1] + ', "result": {"content": ['  # cut short: not JSON
                return Reply(raw=frame.encode())
        if answer.exchange is None and delay > 0:
            await self.clock.sleep(delay)
        if answer.exchange is None and step.method == "ping":
            return Reply([{**envelope, "result": {}}])  # a liveness check needs no recording
        if answer.exchange is None:
            assert answer.error is not None
            self.say(answer.error["message"].removeprefix("mcpobs serve: "))
            self.event("unmatched", request=step.label, error=answer.error)
            return Reply([{**envelope, "error": answer.error}])
        exchange = answer.exchange
        if exchange.response is None and exchange.answer_not_logged:
            # the server did answer, too large to log: hanging would say it never did
            said = f"the recorded answer to {step.label} was passed on but not logged (body_not_logged)"
            self.say(said)
            error = {"code": INTERNAL_ERROR, "message": f"mcpobs serve: {said}: the recording cannot give it"}
            return Reply([{**envelope, "error": error}])
        if exchange.response is None:
            return Reply(action="hang")  # the recording holds no answer: neither does the server
        recorded_before = zip(exchange.before, exchange.before_ms, strict=True)
        before = [(n, ms) for x, ms in recorded_before if (n := sent_with(x, message)) is not None]
        after = [n for n in (sent_with(x, message) for x in exchange.after) if n is not None]
        answer_message = {**envelope, **outcome(exchange.response)}
        # each message's time after the request: notifications at their recorded offsets (scaled), or
        # all at once with the answer; the wait before the first is taken here, the rest by the transport
        recorded = self.timing == "recorded"
        times = [*(ms / 1000 / self.speed if recorded else delay for _, ms in before), delay]
        times += [delay] * len(after)
        first = min(times)
        if first > 0:
            await self.clock.sleep(first)
        messages = [*(n for n, _ in before), answer_message, *after]
        if breaks:  # the messages wait for the client to resume: all due by then
            if max(times) > first:
                await self.clock.sleep(max(times) - first)
            self.event("fault", fault="stream_break", request=step.label, id=message.get("id"))
            self.say(f"fault: stream_break for {step.label}")
            return Reply(messages, action="stream_break")
        return Reply(messages, exchange.asks, len(before), at=[t - first for t in times])

    def too_long(
        self, request_id: str | int | None, limit: int, *, unread: bool = False, **facts: Any
    ) -> dict[str, Any]:
        """The error a client message longer than ``limit`` bytes gets, not read (said on stderr, a
        ``body_not_logged`` event in the log with ``facts``): Invalid Request under its id, if its first
        bytes tell it, else a parse error with id null (JSON-RPC 2.0 5.1: the id could not be detected);
        ``unread`` (refused before a byte was read, by its stated length): Invalid Request, id null."""
        what = f"a client message longer than {limit} bytes"
        self.say(f"{what}: not read, answered with an error")
        self.event("body_not_logged", dir="c2s", **facts, reason=f"{what}; not read, answered with an error")
        unparsed = request_id is None and not unread
        code, name = (PARSE_ERROR, "Parse error") if unparsed else (INVALID_REQUEST, "Invalid Request")
        error = {"code": code, "message": f"{name}: {what}, more than mcpobs serve reads"}
        return {"jsonrpc": "2.0", "id": request_id, "error": error}

    def mismatch(self, ask: Ask, response: dict[str, Any], request: dict[str, Any]) -> dict[str, Any] | None:
        """The error the request gets when the client answered the server's question otherwise than
        recorded (what the server would have answered then, the recording cannot say); else None."""
        if ask.answer is None:
            return None
        differences = diff(ask.answer, outcome(response), self.book.ignore)
        if not differences:
            return None
        shown = "; ".join(str(d) for d in differences[:3])
        method = ask.request.get("method")
        message = f"mcpobs serve: the client answered {method} otherwise than recorded: {shown}"
        self.say(f"{Step(0, request).label}: {message.removeprefix('mcpobs serve: ')}")
        self.event(
            "answer_differs", request=Step(0, request).label, asked=method, differences=[str(d) for d in differences]
        )
        data = {"asked": ask.request, "recorded_answer": ask.answer, "differences": [str(d) for d in differences]}
        return {
            "jsonrpc": "2.0",
            "id": request.get("id"),
            "error": {"code": INVALID_PARAMS, "message": message, "data": data},
        }

    async def pace(self, reply: Reply, index: int, last: float) -> float:
        """Wait until the reply's message ``index`` is due, from ``last`` (when the one sent before it
        was); when this one is."""
        due = reply.due(index)
        if due > last:
            await self.clock.sleep(due - last)
        return max(due, last)

    def logged(self, direction: Direction, data: bytes, http: dict[str, Any] | None = None) -> None:
        if self.log is not None:
            self.log.message(direction, data, http)

    def event(self, event: str, **details: Any) -> None:
        """An event of the served session in the log, if one is written."""
        if self.log is not None:
            self.log.event(event, **details)
