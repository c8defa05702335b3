"""Faults ``mcpobs serve`` injects on demand: the failures the observability model is about.

::

    seed: 7                       # the random draws (probability, a latency range) repeat with it
    faults:
      - kind: latency             # answer late: ms fixed, [low, high] drawn evenly between, or
        ms: [200, 900]            # {median: 300, p95: 2000}: long-tailed (log-normal), as real latencies are
      - kind: error               # a JSON-RPC error instead of the answer
        code: -32603
        message: upstream overloaded
        probability: 0.05
      - kind: hang                # never answer (until the client cancels or goes away)
        tool: search
        calls: [3]
      - kind: tool_error          # the call's result is isError: true, with this text
        text: rate limited
      - kind: drop                # stdio: the process exits; HTTP: the response stream is cut
        after: 5
      - kind: exit                # the serve process ends (status 1), on either transport
        after: 10
      - kind: http_status         # HTTP only: this status, no JSON-RPC answer
        status: 503
      - kind: session_expiry      # HTTP, 2025 sessions: the session is gone, 404 from now on
        calls: [4]
      - kind: stream_break        # HTTP, 2025 sessions: the answer's stream breaks off after an event id;
        calls: [2]                # the client gets the answer by resuming it (GET with Last-Event-ID)
      - kind: malformed           # a frame that is not JSON in place of the answer

Each fault is **scoped**: ``method`` (default ``tools/call``; ``"*"`` for any request) and ``tool``
(the tool, prompt or resource a call names). Its calls are counted within its scope, from 1:
``calls`` lists the ones it hits, ``after: N`` hits every one past the Nth, and ``probability`` hits
each with that chance (drawn from the seeded generator); with none of them it hits every call.
Latencies add up; of the other faults the first listed that hits a call is the one it gets.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mcpobs.errors import UsageError
from mcpobs.yamldoc import Problem, ProblemsError, Reader, read_text, shown

KINDS = (
    "latency",
    "hang",
    "error",
    "tool_error",
    "drop",
    "exit",
    "http_status",
    "session_expiry",
    "stream_break",
    "malformed",
)
HTTP_ONLY = ("http_status", "session_expiry", "stream_break")  # faults of Streamable HTTP
SESSIONS_ONLY = ("session_expiry", "stream_break")  # and of its 2025 sessions (2026-07-28 has none, nor resuming)
INTERNAL_ERROR = -32603
Z95 = 1.6448536269514722  # the standard normal's 95th percentile: a log-normal's p95 is median * exp(Z95 * sigma)
_KEYS = {"kind", "method", "tool", "calls", "after", "probability", "ms", "code", "message", "text", "status"}


@dataclass(frozen=True)
class Fault:
    """One fault and the calls it hits."""

    kind: str
    method: str = "tools/call"  # "*": any request
    tool: str | None = None
    calls: frozenset[int] = frozenset()
    after: int | None = None
    probability: float | None = None
    ms: tuple[float, float] = (0.0, 0.0)  # latency: drawn evenly between the two (equal: fixed)
    tail: bool = False  # latency: ms is (median, p95) of a log-normal draw instead
    code: int = INTERNAL_ERROR
    message: str = "mcpobs serve: injected fault"
    text: str = "mcpobs serve: injected tool error"
    status: int = 503

    def scoped(self, method: str, target: str | None) -> bool:
        """Whether a request is in the fault's scope (its calls are counted)."""
        return self.method in ("*", method) and (self.tool is None or self.tool == target)


@dataclass
class Faults:
    """The faults in force and how many calls each has seen."""

    faults: list[Fault]
    rng: random.Random

    def __post_init__(self) -> None:
        self._seen = [0] * len(self.faults)

    def hits(self, method: str, target: str | None) -> list[Fault]:
        """The faults that hit this request (its call counted in each fault's scope), in listed order."""
        out = []
        for number, fault in enumerate(self.faults):
            if not fault.scoped(method, target):
                continue
            self._seen[number] += 1
            call = self._seen[number]
            if fault.calls and call not in fault.calls:
                continue
            if fault.after is not None and call <= fault.after:
                continue
            if fault.probability is not None and self.rng.random() >= fault.probability:
                continue
            out.append(fault)
        return out

    def latency(self, fault: Fault) -> float:
        """Seconds a latency fault adds to this call."""
        low, high = fault.ms
        if low == high:
            return low / 1000
        if fault.tail:
            return self.rng.lognormvariate(math.log(low), math.log(high / low) / Z95) / 1000
        return self.rng.uniform(low, high) / 1000


def load_faults(path: Path) -> tuple[list[Fault], int | None]:
    """The faults a file lists, and its seed; every problem in it reported at once (``FILE:LINE:COL``)."""
    text = read_text(path, "faults file")
    problems: list[Problem] = []
    reader = Reader(str(path), problems)
    root = reader.compose(text)
    faults: list[Fault] = []
    seed: int | None = None
    if root is not None:
        for key, value in reader.mapping(root, "the faults file"):
            if key.value == "seed":
                seed = reader.count(value, "seed")
            elif key.value == "faults":
                for item in reader.sequence(value, "faults"):
                    fault = _fault(reader, item)
                    if fault is not None:
                        faults.append(fault)
            else:
                reader.problem(key, f"unknown key {key.value!r} (expected seed, faults)")
    if problems:
        raise ProblemsError(problems)
    return faults, seed


def _fault(reader: Reader, node: yaml.Node) -> Fault | None:
    pairs = reader.mapping(node, "a fault")
    values: dict[str, Any] = {}
    before = len(reader.problems)
    for key, value in pairs:
        name = key.value
        if name not in _KEYS:
            reader.problem(key, f"unknown key {name!r} (expected {', '.join(sorted(_KEYS))})")
        elif name in ("kind", "method", "tool", "message", "text"):
            values[name] = reader.text(value, name)
        elif name == "calls":
            numbers = [reader.count(n, "a call number") for n in reader.sequence(value, "calls")]
            if any(n == 0 for n in numbers):
                reader.problem(value, "calls are numbered from 1")
            values[name] = frozenset(n for n in numbers if n)
        elif name in ("after", "status"):
            values[name] = reader.count(value, name)
        elif name == "code":
            values[name] = _integer(reader, value, "code")
        elif name == "probability":
            amount = reader.amount(value, name)
            if amount is not None and amount > 1:
                reader.problem(value, f"probability must be between 0 and 1, not {amount}")
            values[name] = float(amount) if amount is not None else None
        elif name == "ms" and isinstance(value, yaml.MappingNode):
            values[name] = _percentiles(reader, value)
            values["tail"] = True
        elif name == "ms":
            values[name] = _milliseconds(reader, value)
    if "kind" not in values and pairs:
        reader.problem(node, f"a fault needs a kind ({', '.join(KINDS)})")
    elif values.get("kind") is not None and values["kind"] not in KINDS:
        reader.problem(node, f"kind {values['kind']!r} is not one of {', '.join(KINDS)}")
    elif values.get("kind") == "http_status" and not 400 <= (values.get("status") or 503) <= 599:
        reader.problem(node, f"status {values['status']} is not an HTTP error status (400-599)")
    if len(reader.problems) > before or not pairs:
        return None
    return Fault(**{k: v for k, v in values.items() if v is not None})


def _integer(reader: Reader, node: yaml.Node, what: str) -> int | None:
    text = node.value if isinstance(node, yaml.ScalarNode) else None
    try:
        return int(str(text)) if isinstance(text, str) else int("x")
    except ValueError:
        reader.problem(node, f"{what} must be a whole number, not {shown(node)}")
        return None


def _milliseconds(reader: Reader, node: yaml.Node) -> tuple[float, float] | None:
    items = reader.sequence(node, "ms") if isinstance(node, yaml.SequenceNode) else [node]
    amounts = [reader.amount(item, "ms") for item in items]
    if None in amounts:
        return None
    if len(amounts) not in (1, 2) or amounts[0] > amounts[-1]:  # type: ignore[operator]
        reader.problem(node, "ms must be a number, or [low, high] with low <= high")
        return None
    return float(amounts[0]), float(amounts[-1])  # type: ignore[arg-type]


def _percentiles(reader: Reader, node: yaml.MappingNode) -> tuple[float, float] | None:
    given: dict[str, float] = {}
    before = len(reader.problems)
    for key, value in reader.mapping(node, "ms"):
        if key.value not in ("median", "p95"):
            reader.problem(key, f"unknown key {key.value!r} in ms (expected median, p95)")
        elif (amount := reader.amount(value, f"ms {key.value}")) is not None:
            given[key.value] = float(amount)
    if len(reader.problems) > before:
        return None
    if len(given) < 2:
        reader.problem(node, "ms needs both median and p95, e.g. {median: 300, p95: 2000}")
        return None
    if not 0 < given["median"] <= given["p95"]:
        reader.problem(node, f"ms: median {given['median']:g} must be above 0 and at most p95 {given['p95']:g}")
        return None
    return given["median"], given["p95"]


def flag_faults(
    latency: float | None, error_rate: float | None, hang_call: int | None, drop_after: int | None
) -> list[Fault]:
    """The faults the short flags name, each on every ``tools/call``."""
    out = []
    if latency is not None:
        out.append(Fault("latency", ms=(latency, latency)))
    if hang_call is not None:
        out.append(Fault("hang", calls=frozenset({hang_call})))
    if drop_after is not None:
        out.append(Fault("drop", after=drop_after))
    if error_rate is not None:
        if not 0 <= error_rate <= 1:
            raise UsageError(f"--error-rate {error_rate}: a share between 0 and 1")
        out.append(Fault("error", probability=error_rate))
    return out
