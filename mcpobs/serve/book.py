"""What a recording answers: its exchanges, and which of them a request the client sends now matches.

An **exchange** is one request the client sent in the recording, with the answer it got and the
notifications the server sent with it: those recorded while it was open (progress, log messages)
go before its answer, those recorded after its answer and before the client's next message
(``list_changed``) after it. A progress notification goes with the request whose ``progressToken``
it carries; over HTTP, a notification goes with the request of its own exchange (the POST whose
stream carried it). A request the server sent the client while an exchange was open (elicitation,
sampling, roots: revisions with sessions) goes with it too, with the client's recorded answer, and is
asked again of the client before the answer (2026-07-28 has none: its ``input_required`` results and
the client's retries are exchanges like any other).

A request matches an exchange when its method is the same and its params are equal as JSON
(:func:`mcpobs.replay.diff.diff`: objects by key, numbers by value, JSON inside strings as JSON, a
recorded ``REDACTED`` matching anything, ``--ignore`` paths left out, written from the message:
``params.arguments.when``). ``_meta`` is left out (a client's progress token, trace context, the
2026-07-28 ``clientInfo``), except that a 2026-07-28 request must state a revision the recording
spoke. The handshake (``initialize``, ``server/discover``) is answered as recorded whatever the
client's name or capabilities: a server answers any client.

``any`` (the default) answers each request from any exchange it matches, the equal ones in turn
(the first repeat, the second, …, then the first again); ``strict`` answers only the recorded
sequence of requests, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mcpobs.eventlog.reader import EventLog, id_key, meta_of, params_of
from mcpobs.eventlog.writer import PROTOCOL_META, messages_of
from mcpobs.replay.diff import Difference, diff
from mcpobs.replay.script import STARTS, Script, Step, build_script, outcome, without_meta

Match = Literal["any", "strict"]
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
UNSUPPORTED_PROTOCOL_VERSION = -32022
_SHOWN_DIFFERENCES = 3  # in an unmatched request's error message (its data holds them all)


@dataclass
class Ask:
    """A request the server sent the client while an exchange was open (elicitation, sampling, roots),
    and what the client answered (its ``result`` or ``error``; None: it did not)."""

    request: dict[str, Any]
    answer: dict[str, Any] | None = None


@dataclass
class Exchange:
    """One recorded request, its answer and the notifications the server sent with it."""

    index: int  # among the recording's requests, from 0
    request: dict[str, Any]
    response: dict[str, Any] | None  # None: the recording holds no answer to it
    recorded_ms: float | None
    before: list[dict[str, Any]] = field(default_factory=list)  # notifications sent while it was open
    before_ms: list[float] = field(default_factory=list)  # when each was sent, in ms after the request
    after: list[dict[str, Any]] = field(default_factory=list)  # notifications sent after its answer
    asks: list[Ask] = field(default_factory=list)  # the server's requests to the client while it was open
    answer_not_logged: bool = False  # no answer logged, but a body passed unlogged while it was open

    @property
    def method(self) -> str:
        return str(self.request.get("method"))

    @property
    def params(self) -> dict[str, Any]:
        return params_of(self.request)

    @property
    def label(self) -> str:
        return describe(self.request)


def describe(request: dict[str, Any]) -> str:
    """A request as a person names it: its method, and the tool, prompt or resource it is about."""
    return Step(0, request).label


@dataclass(frozen=True)
class Answer:
    """What to send for a request: the recorded exchange it matched, or an error saying why none did."""

    exchange: Exchange | None
    error: dict[str, Any] | None = None  # a JSON-RPC error object, when nothing matched


class Book:
    """A recording's exchanges and the matching rule (the module says which request gets which)."""

    def __init__(self, script: Script, exchanges: list[Exchange], match: Match, ignore: list[list[str]]) -> None:
        self.script = script
        self.exchanges = exchanges
        self.match = match
        self.ignore = ignore
        self._turns: dict[int, int] = {}  # the first of a set of equal exchanges → how many it answered
        self._next = 0  # strict: the next recorded request

    @property
    def protocol_version(self) -> str | None:
        return self.script.protocol_version

    def answer(self, request: dict[str, Any]) -> Answer:
        """The exchange that answers ``request`` now (and it counts as used), or an error."""
        refused = self._revision_refused(request)
        if refused is not None:
            return Answer(None, refused)
        if self.match == "strict":
            return self._strict(request)
        equal = [e for e in self.exchanges if not self.differences(e, request)]
        answered = [e for e in equal if e.response is not None] or equal
        if not answered:
            return Answer(None, self._unmatched(request))
        first = answered[0].index
        turn = self._turns.get(first, 0)
        self._turns[first] = turn + 1
        return Answer(answered[turn % len(answered)])

    def differences(self, exchange: Exchange, request: dict[str, Any]) -> list[Difference]:
        """Where ``request`` differs from the recorded one (none: it matches)."""
        if exchange.method != request.get("method"):
            return [Difference("$.method", "changed", exchange.method, request.get("method"))]
        if exchange.method in STARTS:
            return []  # the handshake is answered whoever asks
        return diff(
            {"params": without_meta(exchange.params)},
            {"params": without_meta(params_of(request))},
            self.ignore,
        )

    def _strict(self, request: dict[str, Any]) -> Answer:
        if self._next >= len(self.exchanges):
            last = len(self.exchanges)
            message = f"mcpobs serve: {describe(request)}: the recording's {last} requests have all been answered"
            return Answer(None, {"code": METHOD_NOT_FOUND, "message": message, "data": {"request": request}})
        expected = self.exchanges[self._next]
        differences = self.differences(expected, request)
        if differences:
            return Answer(None, _mismatch(request, expected, differences, f"request {self._next + 1} in order"))
        self._next += 1
        return Answer(expected)

    def _unmatched(self, request: dict[str, Any]) -> dict[str, Any]:
        same_method = [e for e in self.exchanges if e.method == request.get("method")]
        if not same_method:
            methods = sorted({e.method for e in self.exchanges})
            message = f"mcpobs serve: the recording holds no {request.get('method')} request"
            return {"code": METHOD_NOT_FOUND, "message": message, "data": {"recorded_methods": methods}}
        target = describe(request)
        closest = min(same_method, key=lambda e: (e.label != target, len(self.differences(e, request)), e.index))
        return _mismatch(request, closest, self.differences(closest, request), "closest recorded")

    def _revision_refused(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """A 2026-07-28 request stating a revision other than the recording's: the error a server gives."""
        stated = meta_of(request).get(PROTOCOL_META)
        version = self.script.protocol_version
        if not self.script.stateless or not isinstance(stated, str) or stated == version:
            return None
        message = f"mcpobs serve: the recording speaks protocol {version}, not {stated}"
        return {"code": UNSUPPORTED_PROTOCOL_VERSION, "message": message, "data": {"supported": [version]}}


def _mismatch(request: dict[str, Any], recorded: Exchange, differences: list[Difference], which: str) -> dict[str, Any]:
    shown = "; ".join(str(d) for d in differences[:_SHOWN_DIFFERENCES])
    more = len(differences) - _SHOWN_DIFFERENCES
    shown += f"; and {more} more" if more > 0 else ""
    message = f"mcpobs serve: no recorded answer to {describe(request)}: {which} is {recorded.label}: {shown}"
    data = {
        "closest": {"index": recorded.index + 1, "request": recorded.request},
        "differences": [str(d) for d in differences],
    }
    return {"code": INVALID_PARAMS, "message": message, "data": data}


def build_book(log: EventLog, match: Match = "any", ignore: list[list[str]] | None = None) -> Book:
    """The exchanges of one session's log (:func:`~mcpobs.replay.script.build_script` pairs each request
    with its answer; this adds the notifications the server sent with each)."""
    script = build_script(log)
    requests = [s for s in script.steps if s.is_request]
    exchanges = [
        Exchange(n, s.message, s.expected, s.recorded_ms, answer_not_logged=s.answer_not_logged)
        for n, s in enumerate(requests)
    ]
    by_step = {s.index: exchanges[n] for n, s in enumerate(requests)}
    _attach_notifications(log, by_step)
    return Book(script, exchanges, match, ignore or [])


def _attach_notifications(log: EventLog, by_step: dict[int, Exchange]) -> None:
    """Give each exchange the server's notifications recorded with it (the module says which)."""
    step = -1  # the client's messages counted as build_script counts its steps
    open_now: list[Exchange] = []
    exchange_of: dict[Any, Exchange] = {}  # an HTTP exchange number → the request it carried
    asked: dict[str, Ask] = {}  # a server's request's id → the request, until the client answers
    last: Exchange | None = None  # the latest request answered, until the client sends again
    sent_at: dict[int, int] = {}  # an exchange's index → when its request was recorded (ns)
    for record in log.records:
        if record["kind"] != "message":
            continue
        http = record["http"] if isinstance(record.get("http"), dict) else {}
        for message in messages_of(record["message"]):
            if not isinstance(message, dict):
                continue
            is_call = isinstance(message.get("method"), str)
            if record["dir"] == "c2s":
                if not is_call:
                    ask = asked.pop(id_key(message.get("id")), None)
                    if ask is not None:
                        ask.answer = outcome(message)
                    continue
                step += 1
                last = None
                exchange = by_step.get(step)
                if exchange is not None:
                    open_now.append(exchange)
                    sent_at[exchange.index] = record["t"]
                    if http.get("exchange") is not None:
                        exchange_of[http["exchange"]] = exchange
                continue
            if not is_call:
                if "id" in message:
                    done = next((e for e in open_now if id_key(e.request.get("id")) == id_key(message["id"])), None)
                    if done is not None:
                        open_now.remove(done)
                        last = done
                continue
            owner = _owner(message, open_now, exchange_of.get(http.get("exchange")))
            if "id" in message:
                if owner is not None:
                    owner.asks.append(Ask(message))
                    asked[id_key(message["id"])] = owner.asks[-1]
            elif owner is not None:
                owner.before.append(message)
                owner.before_ms.append(max((record["t"] - sent_at[owner.index]) / 1e6, 0.0))
            elif last is not None:
                last.after.append(message)


def _owner(notification: dict[str, Any], open_now: list[Exchange], of_exchange: Exchange | None) -> Exchange | None:
    if of_exchange is not None and of_exchange in open_now:
        return of_exchange
    token = params_of(notification).get("progressToken")
    if token is not None:
        for exchange in open_now:
            if meta_of(exchange.request).get("progressToken") == token:
                return exchange
    return open_now[-1] if open_now else None


def sent_with(notification: dict[str, Any], request: dict[str, Any]) -> dict[str, Any] | None:
    """A recorded notification as it goes to the client now: a progress notification carries the
    client's own progress token (and none is sent to a request that asked for no progress)."""
    params = params_of(notification)
    if "progressToken" not in params:
        return notification
    token = meta_of(request).get("progressToken")
    if token is None:
        return None
    return {**notification, "params": {**params, "progressToken": token}}
