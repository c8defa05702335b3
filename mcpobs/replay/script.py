"""What a replay sends, read from a recording: the client's messages in order, the answers they got,
and the rule that says which of them may run side by side.

A **step** is one message the client sent: a request (with the response the recording holds for it,
if any) or a notification. The client's answers to the server's own requests (sampling, elicitation,
roots, ping) are not steps: the replay gives them when the server asks (:class:`Answers`).

Which steps may overlap (``tool_config.max_concurrent``): a step waits for every earlier step it
**depends on**, and one depends on another when

* either of them changes state: anything but a read (``*/list``, ``prompts/get``, ``resources/read``,
  ``completion/complete``, ``ping``) or a ``tools/call`` of a tool the recorded ``tools/list`` marks
  ``readOnlyHint``: notifications, subscriptions and the handshake (``initialize``, and
  ``server/discover``, which in 2026-07-28 says what the server speaks before anything else is
  sent) included; so a read after a write waits for the write, and a write waits for everything
  before it;
* or the later one uses a value the earlier one's answer gave (a cursor, an id, a URI);

unless the recording itself had the two in flight together (the client did not wait, so the replay
need not either).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from mcp_types import jsonrpc_message_adapter
from pydantic import ValidationError

from mcpobs.errors import InputError
from mcpobs.eventlog.otlp import call_target
from mcpobs.eventlog.reader import EventLog, answered_request, id_key, params_of
from mcpobs.eventlog.writer import agreed_protocol, messages_of, stated_protocol

STATELESS = "2026-07-28"  # the first revision without initialize and sessions
READS = frozenset(
    {
        "tools/list",
        "prompts/list",
        "prompts/get",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "completion/complete",
        "ping",
    }
)
HANDSHAKE = frozenset({"initialize", "notifications/initialized"})
# the requests that open a session or find out what a server speaks: never cancelled, nor retried
STARTS = frozenset({"initialize", "server/discover"})
# an answer's strings this short are too common to mean the later request took them from it
_SHARED_VALUE_MIN = 6
T = TypeVar("T")


@dataclass
class Step:
    """One message the client sent, and what the recording holds of its outcome."""

    index: int
    message: dict[str, Any]
    expected: dict[str, Any] | None = None  # the recorded response (None: unanswered, or a notification)
    headers: dict[str, str] = field(default_factory=dict)  # recorded MCP HTTP headers to send again
    depends_on: frozenset[int] = frozenset()
    recorded_ms: float | None = None  # how long the recorded call took
    # unanswered in the log, but the server sent a body while it was open that the recorder passed on
    # without logging it (body_not_logged): maybe its answer, which is then unknown rather than absent
    answer_not_logged: bool = False

    @property
    def method(self) -> str:
        return str(self.message.get("method"))

    @property
    def is_request(self) -> bool:
        return "id" in self.message

    @property
    def target(self) -> str | None:
        return call_target(self.method, self.params)

    @property
    def params(self) -> dict[str, Any]:
        return params_of(self.message)

    @property
    def label(self) -> str:
        return f"{self.method} {self.target}" if self.target else self.method


@dataclass
class Answers:
    """The client's recorded answers to the server's requests (sampling, elicitation, roots, ping).

    Each is kept with every step that was waiting when the server asked, so a step sent again (a
    retry, a recovery) gets the same answers in the same order: per attempt, the answer whose request
    had the same params (``_meta`` aside), else the next in recorded order; past the last, the last
    again. A request no step was waiting for takes the next answer no step was waiting for. A request
    that comes while other steps wait than in the recording (a server asking on a timer, such as
    server-everything's ``roots/list`` 350 ms after the handshake, now after a recovery's) takes the
    answer the client gave the same request (same method and params) wherever it was recorded.
    """

    by_step: dict[tuple[int | None, str], list[tuple[Any, dict[str, Any]]]] = field(default_factory=dict)

    def add(self, steps: list[int], method: str, params: Any, answer: dict[str, Any]) -> None:
        keys: list[int | None] = [*steps] if steps else [None]
        for step in keys:
            self.by_step.setdefault((step, method), []).append((without_meta(params), answer))

    def find(
        self, waiting: list[tuple[int, int]], method: str, params: Any, given: dict[tuple[int | None, int, str], int]
    ) -> dict[str, Any] | None:
        """The answer for the server's request, given the (step, attempt)s in flight; ``given`` counts
        what each attempt has been given so far."""
        wanted = without_meta(params)
        for step, attempt in [*waiting, (None, 0)]:
            entries = self.by_step.get((step, method))
            if not entries:
                continue
            counted = (step, attempt, method)
            start = given.get(counted, 0)
            pick = next(
                (i for i in range(start, len(entries)) if entries[i][0] == wanted), min(start, len(entries) - 1)
            )
            given[counted] = pick + 1
            return entries[pick][1]
        same = (a for (_, asked), entries in self.by_step.items() if asked == method for p, a in entries if p == wanted)
        return next(same, None)


def without_meta(params: Any) -> Any:
    return {k: v for k, v in params.items() if k != "_meta"} if isinstance(params, dict) else params


@dataclass
class Script:
    """A recording made ready to replay."""

    source: str
    transport: str
    protocol_version: str | None
    steps: list[Step]
    answers: Answers

    @property
    def stateless(self) -> bool:
        """Whether the recording speaks a revision without sessions (2026-07-28 and later)."""
        return self.protocol_version is not None and self.protocol_version >= STATELESS

    @property
    def era(self) -> str:
        version = self.protocol_version or "of an unknown revision"
        if self.stateless:
            return f"protocol {version}, stateless (no initialize, no session)"
        return f"protocol {version}, with sessions (initialize handshake)"


def build_script(log: EventLog) -> Script:
    """The steps of a recording: every client request and notification, each paired with its answer
    (:func:`~mcpobs.eventlog.reader.answered_request`: over HTTP, by the exchange it came in)."""
    steps: list[Step] = []
    open_requests: dict[str, list[Step]] = {}  # a c2s request's id → its steps (ids can repeat), until answered
    asked: dict[str, list[_Asked]] = {}  # a s2c request's id → the server's requests with it, until answered
    http_of: dict[int, dict[str, Any]] = {}  # a request step's HTTP facts
    answers = Answers()
    started: dict[int, int] = {}
    overlapping: dict[int, set[int]] = {}
    protocol = agreed_protocol(log.records)
    for line, record in enumerate(log.records, 2):
        if record.get("event") == "body_not_logged" and record.get("dir") == "s2c":
            for still_open in (s for q in open_requests.values() for s in q):
                # over stdio neither has an exchange: the body may answer any request still open
                if http_of[still_open.index].get("exchange") == record.get("exchange"):
                    still_open.answer_not_logged = True
        if record["kind"] != "message":
            continue
        http = record["http"] if isinstance(record.get("http"), dict) else {}
        for message in messages_of(record["message"]):
            if not isinstance(message, dict):
                continue
            if protocol is None and (stated := stated_protocol(record["dir"], message)) is not None:
                protocol = stated[0]  # no answer says what the server accepted: what the client asked for
            if record["dir"] == "c2s":
                if isinstance(message.get("method"), str):
                    _check(log.path, line, message)
                    step = Step(len(steps), message, headers=_headers(http))
                    if step.is_request:
                        overlapping[step.index] = {s.index for q in open_requests.values() for s in q}
                        open_requests.setdefault(id_key(message["id"]), []).append(step)
                        started[step.index] = record["t"]
                        http_of[step.index] = http
                    steps.append(step)
                elif "id" in message and ("result" in message or "error" in message):
                    question = _answered(asked, message["id"], http, lambda q: q.http)
                    if question is not None:
                        _check(log.path, line, message)
                        answers.add(question.waiting, question.method, question.params, outcome(message))
            else:
                if isinstance(message.get("method"), str):
                    if "id" in message:
                        waiting = sorted(s.index for q in open_requests.values() for s in q)
                        question = _Asked(waiting, message["method"], message.get("params"), http)
                        asked.setdefault(id_key(message["id"]), []).append(question)
                elif "id" in message and ("result" in message or "error" in message):
                    answered = _answered(open_requests, message["id"], http, lambda s: http_of[s.index])
                    if answered is not None:
                        answered.expected = message
                        answered.recorded_ms = (record["t"] - started[answered.index]) / 1e6
    if not steps:
        raise InputError(log.path, "nothing to replay: the recording holds no message from the client")
    _link(steps, overlapping)
    return Script(log.path, str(log.header.get("transport") or "stdio"), protocol, steps, answers)


@dataclass
class _Asked:
    """A request of the server's: the steps waiting when it came, what it asked, how it came."""

    waiting: list[int]
    method: str
    params: Any
    http: dict[str, Any]


def _answered(
    open_by_id: dict[str, list[T]], request_id: Any, http: dict[str, Any], http_of: Callable[[T], Mapping[str, Any]]
) -> T | None:
    """Take from ``open_by_id`` the open request an answer with ``request_id`` (and ``http``) answers."""
    queue = open_by_id.get(id_key(request_id), [])
    answered = answered_request(queue, http, http_of, latest=False)  # a recording: in the order sent
    if answered is not None:
        queue.remove(answered)
        if not queue:
            del open_by_id[id_key(request_id)]
    return answered


def _check(path: str, line: int, message: dict[str, Any]) -> None:
    """A message the replay would send must be one JSON-RPC allows."""
    try:
        jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError as e:
        problem = e.errors()[0]
        where = ".".join(str(p) for p in problem["loc"][1:]) or "the message"
        raise InputError(path, f"a client message that cannot be sent again: {where}: {problem['msg']}", line) from None


def _link(steps: list[Step], overlapping: dict[int, set[int]]) -> None:
    """Give every step the earlier steps it must wait for (the module's rule)."""
    read_only = _read_only_tools(steps)
    writes: list[int] = []  # every state-changing step so far
    since_write: list[int] = []  # the reads since the last of them
    given: dict[str, int] = {}  # a value an answer gave → the step that got it
    for step in steps:
        together = overlapping.get(step.index, set())
        after: set[int] = {given[v] for v in _strings(step.params) if v in given}
        if _changes_state(step, read_only):
            after.update(since_write)
            after.update(writes[-1:])
            since_write = []
            writes.append(step.index)
        else:
            after.update(writes[-1:])
            since_write.append(step.index)
        step.depends_on = frozenset(after - together)
        if step.expected is not None:
            for value in _strings(step.expected.get("result")):
                given.setdefault(value, step.index)


def _changes_state(step: Step, read_only: set[str]) -> bool:
    if not step.is_request:
        return True
    if step.method == "tools/call":
        return step.target not in read_only
    return step.method not in READS


def _read_only_tools(steps: list[Step]) -> set[str]:
    names: set[str] = set()
    for step in steps:
        if step.method == "tools/list" and step.expected is not None:
            result = step.expected.get("result")
            tools = result.get("tools") if isinstance(result, dict) else None
            for tool in tools if isinstance(tools, list) else []:
                annotations = tool.get("annotations") if isinstance(tool, dict) else None
                if isinstance(annotations, dict) and annotations.get("readOnlyHint") is True:
                    names.add(str(tool.get("name")))
    return names


def _strings(value: Any) -> set[str]:
    """The strings in a value, long enough to say one message took them from another."""
    out: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) >= _SHARED_VALUE_MIN:
                out.add(item)
        elif isinstance(item, dict):
            stack.extend(v for k, v in item.items() if k != "_meta")
        elif isinstance(item, list):
            stack.extend(item)
    return out


def outcome(message: dict[str, Any] | None) -> dict[str, Any]:
    """What an answer says, without its envelope: its ``result`` or its ``error``."""
    if not isinstance(message, dict):
        return {}
    return {k: message[k] for k in ("result", "error") if k in message}


def _headers(http: Any) -> dict[str, str]:
    """The MCP headers a recorded HTTP request carried that the replay sends again."""
    if not isinstance(http, dict):
        return {}
    out = {}
    named = (("protocol_version", "mcp-protocol-version"), ("mcp_method", "mcp-method"), ("mcp_name", "mcp-name"))
    for key, header in named:
        if isinstance(http.get(key), str):
            out[header] = http[key]
    recorded = http.get("headers")
    items: list[tuple[Any, Any]] = list(recorded.items()) if isinstance(recorded, dict) else []
    for name, value in items:
        if isinstance(name, str) and name.lower().startswith("mcp-param-") and isinstance(value, str):
            out[name.lower()] = value
    return out
