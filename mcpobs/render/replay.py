"""Render a replay's report: a table of the steps with their differences, the state, and JSON."""

from __future__ import annotations

import json
from typing import Literal

from rich.console import Console
from rich.text import Text

from mcpobs.render.text import titled_table
from mcpobs.replay.engine import DIFFERS, NO_ANSWER, NOT_RUN, Report
from mcpobs.replay.sessions import Session, Summary

_SHOWN_DIFFERENCES = 3


def summary_line(report: Report) -> str:
    counts = report.counts()
    said = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    recoveries = len(report.recoveries)
    recovery_ms = sum(r.ms for r in report.recoveries)
    line = (
        f"replayed {len(report.results)} steps against {report.target}, {report.protocol}: {said}; "
        f"{report.retries} retries, {report.timeouts} timeouts, {recoveries} recoveries"
    )
    if recoveries:
        line += f" ({recovery_ms / 1000:.2f} s, {report.mode})"
    if report.stopped:
        line += f"; stopped: {report.stopped}"
    verdict = "DIFFERS from the recording" if report.differs else "Same as the recording"
    return f"{line}. {verdict}"


def render_text(report: Report, console: Console) -> None:
    steps = titled_table("Replay")
    steps.add_column("step", justify="right", no_wrap=True)
    steps.add_column("call", overflow="fold")
    steps.add_column("result", no_wrap=True)
    steps.add_column("tries", justify="right", no_wrap=True)
    steps.add_column("ms", justify="right", no_wrap=True)
    steps.add_column("recorded ms", justify="right", no_wrap=True)
    steps.add_column("where it differs", overflow="fold")
    for result in report.results:
        notes = [str(d) for d in result.differences[:_SHOWN_DIFFERENCES]]
        if len(result.differences) > _SHOWN_DIFFERENCES:
            notes.append(f"… {len(result.differences) - _SHOWN_DIFFERENCES} more (report.json)")
        if result.reason and result.status in (DIFFERS, NO_ANSWER, NOT_RUN):
            notes.append(result.reason)
        style = "bold" if result.status in (DIFFERS, NO_ANSWER, NOT_RUN) else ""
        steps.add_row(
            str(result.step),
            Text(result.label),
            Text(result.status.upper() if style else result.status, style=style),
            str(result.attempts),
            _ms(result.duration_ms),
            _ms(result.recorded_ms),
            Text("\n".join(notes)),
        )
    console.print(steps)
    state = report.state
    server = f"{state.server_name or '?'} {state.server_version or ''}".strip()
    lists = ", ".join(
        f"{len(items)} {name}"
        for name, items in (
            ("tools", state.tools),
            ("prompts", state.prompts),
            ("resources", state.resources),
            ("resource templates", state.resource_templates),
        )
        if items is not None
    )
    last = state.last_successful_call
    console.print(
        f"state: server {server}, protocol {state.protocol_version or '?'}"
        + (f", {lists}" if lists else "")
        + (f", {len(state.subscriptions)} subscriptions" if state.subscriptions else "")
        + (f", last success: step {last['step']} {last['method']} {last['target'] or ''}".rstrip() if last else "")
        + _state_differences(report),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    for recovery in report.recoveries:
        console.print(
            f"recovery {recovery.number}: {recovery.reason}; {recovery.mode}, "
            f"{recovery.resent} messages sent again, {recovery.ms / 1000:.2f} s",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    for lost in report.state.lost:
        what = f"subscription {lost['subscription']}" if "subscription" in lost else f"log level {lost['log_level']}"
        console.print(
            f"LOST in {lost.get('lost_in')}: {what} (the new server was not told it again)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    console.print(summary_line(report), markup=False, highlight=False, soft_wrap=True)


def _state_differences(report: Report) -> str:
    """What of the state differs from the recording's, the first few places (all in report.json)."""
    differences = report.state_differences()
    if not differences:
        return ""
    said = "; ".join(str(d) for d in differences[:_SHOWN_DIFFERENCES])
    more = len(differences) - _SHOWN_DIFFERENCES
    return f", state DIFFERS from the recording's: {said}" + (f"; … {more} more (report.json)" if more > 0 else "")


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def render_session_list(sessions: list[Session], console: Console) -> None:
    """``--list-sessions``: a row per session of the recording."""
    table = titled_table("Sessions")
    for name, justify in _SESSION_COLUMNS:
        table.add_column(name, justify=justify, overflow="fold", no_wrap=name != "client")
    for session in sessions:
        table.add_row(*_session_cells(session))
    console.print(table)


def render_sessions_text(summary: Summary, console: Console) -> None:
    """A replay of several sessions: each one's report, then a row per session and the verdict."""
    for run in summary.runs:
        number, key, started, client = _session_cells(run.session)[:4]
        console.print(
            f"session {number} of {summary.sessions_in_recording}: {key}, started {started}, client {client}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        render_text(run.report, console)
        console.print()
    table = titled_table("Summary")
    for name, justify in [*_SESSION_COLUMNS[:2], _SESSION_COLUMNS[3], ("result", "left"), ("counts", "left")]:
        table.add_column(name, justify=justify, overflow="fold", no_wrap=name in ("session", "id", "result"))
    for run in summary.runs:
        counts = ", ".join(f"{n} {status}" for status, n in run.report.counts().items() if n)
        verdict = Text("DIFFERS", style="bold") if run.report.differs else Text("same")
        number, key, _, client = _session_cells(run.session)[:4]
        table.add_row(number, key, client, verdict, counts)
    console.print(table)
    differing = sum(run.report.differs for run in summary.runs)
    console.print(
        f"replayed {len(summary.runs)} of {summary.sessions_in_recording} sessions, each on its own connection: "
        + (f"{differing} DIFFER from the recording" if differing else "all the same as the recording"),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def render_sessions_json(summary: Summary) -> str:
    return json.dumps(summary.to_json(), ensure_ascii=False, indent=2) + "\n"


_SESSION_COLUMNS: list[tuple[str, Literal["left", "right"]]] = [
    ("session", "right"),
    ("id", "left"),
    ("started", "left"),
    ("client", "left"),
    ("steps", "right"),
    ("calls", "right"),
]


def _session_cells(session: Session) -> list[str]:
    return [
        str(session.number),
        session.id or "(no session id)",
        session.started.replace("+00:00", "Z"),
        session.client or "?",
        str(session.steps),
        str(session.tool_calls),
    ]
