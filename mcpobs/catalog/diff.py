"""Two recordings, or two sets of traces, compared: what the servers advertise, and how the same calls went.

A call is matched by what it asked, not by when: its server, side, method, target
(the tool, prompt or resource) and arguments (the hash of ``gen_ai.tool.call.arguments``,
which every recording has and spans have where the instrumentation records arguments;
without them, every call to the target is one group). Each group compares its share of
calls that succeeded: lower in B is a call that got worse (a regression), higher one that
got better. Its median duration shifted when B's is at least ``threshold_ms`` and
``ratio`` times away from A's, both: a 1 ms call taking 3 ms is no news, nor is 2 s
becoming 2.1 s. An error class a target shows in B and not in A appeared (a regression).

Regressions fail (:attr:`~mcpobs.findings.Status.FAIL`): calls worse, slower, error
classes that appeared, definitions B no longer advertises (their callers break), and a
server A shows that B shows nothing of (it did not start, or nothing reached it).
A changed definition is a warning (gate on it with a lock file); the rest is information.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from mcpobs.catalog.definitions import KINDS, Definition
from mcpobs.catalog.lock import changed, changes, lock_of, shown_paths, unrecorded
from mcpobs.findings import Finding, Findings, Status
from mcpobs.ingest.dialects import ATTRIBUTE_KEYS
from mcpobs.store import Store


@dataclass(frozen=True)
class Call:
    """One call as both sides are compared on: what it asked, and how it went."""

    server: str
    side: str
    method: str
    target: str
    arguments_hash: int | None
    outcome: str  # "ok", else the error class ("rejected" for a request the server refused)
    duration_ms: float | None
    arguments: str | None = None  # as the span holds them (JSON), for people to read


def calls_of(store: Store) -> list[Call]:
    """The calls in the store that name a target (tools, prompts, resources)."""
    rows = store.con.execute(
        """
        SELECT c.server, coalesce(c.side, 'unknown'), c.method, c.target, c.arguments_hash,
            CASE WHEN c.succeeded THEN 'ok' WHEN c.rejected THEN 'rejected'
                ELSE coalesce(c.error_class, 'other') END,
            c.duration_ms,
            list_filter(s.attributes, lambda a: list_contains($keys, a.key))[1].value.stringValue
        FROM mcp_calls c
        JOIN spans s ON s.source_id = c.source_id AND s.trace_id = c.trace_id AND s.span_id = c.span_id
        WHERE NOT c.is_notification AND c.target IS NOT NULL
        ORDER BY c.start_ns, c.span_id
        """,
        {"keys": list(ATTRIBUTE_KEYS["arguments"])},
    ).fetchall()
    return [Call(*row) for row in rows]


@dataclass(frozen=True)
class Thresholds:
    """How far a median duration must move to count: both at least ``ms`` and ``ratio`` times."""

    ms: float = 100.0
    ratio: float = 1.5


Key = tuple[str, str, str, str, int | None]
ARGUMENTS_SHOWN = 80  # characters of a call's arguments its findings show


def compare(
    a: tuple[list[Definition], list[Call]],
    b: tuple[list[Definition], list[Call]],
    thresholds: Thresholds,
    names: tuple[str, str] = ("A", "B"),
) -> Findings:
    """Every difference between side ``a`` and side ``b``: definitions, then calls."""
    findings = _servers(a, b)
    findings += _definitions(a[0], b[0])
    findings += _calls(a[1], b[1], thresholds)
    return Findings(f"mcpobs diff {names[0]} {names[1]}", findings, verdicts=("no regression", "REGRESSED"))


def _servers(a: tuple[list[Definition], list[Call]], b: tuple[list[Definition], list[Call]]) -> list[Finding]:
    """Each server A shows (a definition or a call) and B nothing of: every call of it is gone, which
    call by call is only information, and B has no list of it to call its definitions removed."""
    shown_in_b = {d.server for d in b[0]} | {c.server for c in b[1]}
    findings = []
    for server in sorted(({d.server for d in a[0]} | {c.server for c in a[1]}) - shown_in_b):
        definitions = sum(d.server == server for d in a[0])
        calls = sum(c.server == server for c in a[1])
        message = f"A: {_count(definitions, 'definition')} and {_count(calls, 'call')} of it; B: none"
        findings.append(
            Finding("server gone", server, message + " (it did not start, or nothing reached it)", Status.FAIL)
        )
    return findings


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _definitions(a: list[Definition], b: list[Definition]) -> list[Finding]:
    before, after = lock_of(a), lock_of(b)
    latest = {(d.server, d.kind, d.name): d for d in b}
    findings = []
    servers = sorted(before.keys() | after.keys())
    for server in servers:
        for kind in KINDS:
            was, now = before.get(server, {}).get(kind, {}), after.get(server, {}).get(kind, {})
            for name in sorted(was.keys() | now.keys()):
                subject = f"{server} {kind} {name}"
                if name not in now:
                    if server not in after or kind not in after[server]:
                        continue  # B holds no list of this server's kind: nothing says it is gone
                    findings.append(Finding(f"{kind} removed", subject, "no longer advertised", Status.FAIL))
                    continue
                if name not in was:
                    if server in before and kind in before[server]:
                        findings.append(Finding(f"{kind} added", subject, "newly advertised", Status.INFO))
                    continue
                definition = latest[(server, kind, name)]
                unseen = unrecorded(was[name].definition) | unrecorded(definition.locked)
                if changed(was[name], definition, unseen):
                    fields, details = changes(was[name], definition, unseen)
                    findings.append(Finding(f"{kind} changed", subject, f"changed: {fields}", Status.WARN, details))
                elif unseen:
                    message = f"as in A, but for what a recording's maker redacted, not compared: {shown_paths(unseen)}"
                    findings.append(Finding(f"{kind} partly compared", subject, message, Status.INFO))
                else:
                    findings.append(Finding(f"{kind} unchanged", subject, "as in A", Status.OK))
    return findings


def _calls(a: list[Call], b: list[Call], thresholds: Thresholds) -> list[Finding]:
    before, after = _grouped(a), _grouped(b)
    findings = []
    for key in sorted(before.keys() & after.keys(), key=_order):
        was, now = before[key], after[key]
        subject = _subject(key, was)
        rate_was, rate_now = _ok_share(was), _ok_share(now)
        outcomes = (f"A: {_outcomes(was)}", f"B: {_outcomes(now)}")
        if rate_now < rate_was:
            findings.append(Finding("call worse", subject, f"{outcomes[0]}; {outcomes[1]}", Status.FAIL))
        elif rate_now > rate_was:
            findings.append(Finding("call better", subject, f"{outcomes[0]}; {outcomes[1]}", Status.INFO))
        else:
            findings.append(Finding("call outcome", subject, f"{outcomes[0]}; {outcomes[1]}", Status.OK))
        shift = _shift(subject, was, now, thresholds)
        if shift is not None:
            findings.append(shift)
    for key in sorted(after.keys() - before.keys(), key=_order):
        findings.append(
            Finding("call new", _subject(key, after[key]), f"B: {_outcomes(after[key])}; not in A", Status.INFO)
        )
    for key in sorted(before.keys() - after.keys(), key=_order):
        findings.append(
            Finding("call gone", _subject(key, before[key]), f"A: {_outcomes(before[key])}; not in B", Status.INFO)
        )
    findings += _appeared(a, b)
    return findings


def _grouped(calls: Iterable[Call]) -> dict[Key, list[Call]]:
    groups: dict[Key, list[Call]] = {}
    for c in calls:
        groups.setdefault((c.server, c.side, c.method, c.target, c.arguments_hash), []).append(c)
    return groups


def _order(key: Key) -> tuple[str, str, str, str, int]:
    return (key[0], key[1], key[2], key[3], key[4] or 0)


def _subject(key: Key, calls: list[Call]) -> str:
    """The group as people read it: server, side, method, target, and the arguments (cut short)."""
    arguments = next((c.arguments for c in calls if c.arguments is not None), None)
    if arguments is not None and len(arguments) > ARGUMENTS_SHOWN:
        arguments = arguments[: ARGUMENTS_SHOWN - 1] + "…"
    return f"{key[0]} {key[1]} {key[2]} {key[3]}" + (f" {arguments}" if arguments is not None else "")


def _ok_share(calls: list[Call]) -> float:
    return sum(c.outcome == "ok" for c in calls) / len(calls)


def _outcomes(calls: list[Call]) -> str:
    counts: dict[str, int] = {}
    for c in calls:
        counts[c.outcome] = counts.get(c.outcome, 0) + 1
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items(), key=lambda kv: (kv[0] != "ok", kv[0])))


def _shift(subject: str, was: list[Call], now: list[Call], thresholds: Thresholds) -> Finding | None:
    """A median duration that moved past both thresholds, or None."""
    before = [c.duration_ms for c in was if c.duration_ms is not None]
    after = [c.duration_ms for c in now if c.duration_ms is not None]
    if not before or not after:
        return None
    a, b = statistics.median(before), statistics.median(after)
    message = f"median {a:,.1f} ms -> {b:,.1f} ms"
    # a median that did not move is no shift, even where both thresholds are at their least (0 ms, 1x)
    if b > a and b - a >= thresholds.ms and b >= a * thresholds.ratio:
        return Finding("slower", subject, f"{message} ({_times(b, a)})", Status.FAIL)
    if a > b and a - b >= thresholds.ms and a >= b * thresholds.ratio:
        return Finding("faster", subject, f"{message} ({_times(a, b)} faster)", Status.INFO)
    return None


def _times(larger: float, smaller: float) -> str:
    return f"{larger / smaller:,.1f}x" if smaller > 0 else "from 0 ms"


def _appeared(a: list[Call], b: list[Call]) -> list[Finding]:
    """Each error class a target shows in B and never in A."""
    seen = {(c.server, c.side, c.method, c.target, c.outcome) for c in a}
    counts: dict[tuple[str, str, str, str, str], int] = {}
    for c in b:
        if c.outcome != "ok" and (c.server, c.side, c.method, c.target, c.outcome) not in seen:
            key = (c.server, c.side, c.method, c.target, c.outcome)
            counts[key] = counts.get(key, 0) + 1
    return [
        Finding(
            "error class appeared",
            f"{server} {side} {method} {target}",
            f"{outcome} in {n} call{'s' if n != 1 else ''} of B, none in A",
            Status.FAIL,
        )
        for (server, side, method, target, outcome), n in sorted(counts.items())
    ]
