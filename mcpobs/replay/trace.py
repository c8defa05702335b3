"""A replay as OTLP JSON spans: the calls of its event log (:mod:`mcpobs.eventlog.otlp`), each marked
with what the replay did: ``mcpobs.replay.step``, ``mcpobs.replay.attempt``, ``mcpobs.replay.role``
(``step``, ``restore`` for a message sent again to restore state, ``probe`` for a liveness ping), a
``mcpobs.replay.timeout`` event on an attempt that got no answer in time; and a span per recovery
(``mcpobs.replay.recovery``: reason, mode, messages sent again, its duration). A retried call is
the same tool with the same arguments after a failed one, so ``analyze`` counts it as a recovery of
the session, and ``check-alerts`` can gate on ``session_recovery``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from mcpobs.eventlog.otlp import to_otlp
from mcpobs.eventlog.reader import read_event_log
from mcpobs.replay.rundir import write_private

INTERNAL = 1


def write_trace(log_path: Path, target: Path) -> int:
    """Write the replay logged at ``log_path`` to ``target`` as one line of OTLP JSON; its span count."""
    log = read_event_log(log_path)
    document = to_otlp(log)
    spans: list[dict[str, Any]] = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    attempts: dict[str, list[dict[str, Any]]] = {}  # an id → its attempts, in order (ids repeat per connection)
    timeouts: dict[tuple[str, int], int] = {}
    for record in log.records:
        if record["kind"] != "event":
            continue
        event = record["event"]
        if event == "attempt":
            attempts.setdefault(str(record["id"]), []).append(record)
        elif event == "call_timeout":
            timeouts[(str(record["id"]), len(attempts.get(str(record["id"]), [])))] = record["t"]
    trace = spans[0]["traceId"] if spans else hashlib.sha256(str(log.header.get("t")).encode()).hexdigest()[:32]
    seen: dict[str, int] = {}
    for span in sorted(spans, key=lambda s: int(s["startTimeUnixNano"])):
        request_id = next(a["value"]["stringValue"] for a in span["attributes"] if a["key"] == "jsonrpc.request.id")
        nth = seen[request_id] = seen.get(request_id, 0) + 1
        if len(attempts.get(request_id, [])) < nth:
            continue
        attempt = attempts[request_id][nth - 1]
        if attempt.get("step") is not None:
            span["attributes"].append(_int("mcpobs.replay.step", attempt["step"]))
        span["attributes"].append(_int("mcpobs.replay.attempt", attempt.get("attempt", 0)))
        span["attributes"].append(_str("mcpobs.replay.role", attempt.get("role", "step")))
        if (request_id, nth) in timeouts:
            events = span.setdefault("events", [])
            events.append({"timeUnixNano": str(timeouts[(request_id, nth)]), "name": "mcpobs.replay.timeout"})
    for began, ended in logged_recoveries(log.records):
        key = f"{trace}:recovery:{began['recovery']}:{began['t']}"
        spans.append(
            {
                "traceId": trace,
                "spanId": hashlib.sha256(key.encode()).hexdigest()[:16],
                "name": "mcpobs.replay.recovery",
                "kind": INTERNAL,
                "startTimeUnixNano": str(began["t"]),
                "endTimeUnixNano": str(ended["t"]),
                "attributes": [
                    _int("mcpobs.replay.recovery", began["recovery"]),
                    _str("mcpobs.replay.recovery.reason", str(began.get("reason"))),
                    _str("mcpobs.replay.recovery.mode", str(began.get("mode"))),
                    _int("mcpobs.replay.recovery.resent", ended.get("resent") or 0),
                ],
                "status": {},
            }
        )
    scope = document["resourceSpans"][0]["scopeSpans"][0]
    scope["scope"] = {"name": "mcpobs.replay"}
    write_private(target, json.dumps(document, ensure_ascii=False) + "\n")
    return len(spans)


def logged_recoveries(records: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each recovery a replay's log holds that finished: its ``recovery_started`` and its
    ``recovery_finished`` events."""
    started: dict[int, dict[str, Any]] = {}
    out = []
    for record in records:
        if record["kind"] != "event":
            continue
        if record["event"] == "recovery_started":
            started[record["recovery"]] = record
        elif record["event"] == "recovery_finished" and record["recovery"] in started:
            out.append((started[record["recovery"]], record))
    return out


def _str(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _int(key: str, value: int) -> dict[str, Any]:
    return {"key": key, "value": {"intValue": str(value)}}
