"""Replaying recorded MCP sessions against live servers, and comparing their answers.

:func:`replay_sessions` is the whole of it: read a recording (an event log, or a peer recorder's
file), split it into its sessions (:mod:`.sessions`), send each again to the server on a connection
of its own (:mod:`.engine`), and write the run directory (:mod:`.rundir`).
"""

from __future__ import annotations

import random
from pathlib import Path

from mcpobs.errors import UsageError
from mcpobs.replay.clock import Clock, ManualClock, RealClock
from mcpobs.replay.config import ReplayConfig, load_config, parse_config
from mcpobs.replay.connection import Target, UnreachableError
from mcpobs.replay.engine import Replay, Report
from mcpobs.replay.rundir import RunDir
from mcpobs.replay.script import Script, build_script
from mcpobs.replay.sessions import (
    BeforeError,
    Session,
    Summary,
    read_sessions,
    replay_sessions,
    resume_command,
    resume_sessions,
)

__all__ = [
    "BeforeError",
    "Clock",
    "ManualClock",
    "RealClock",
    "Replay",
    "ReplayConfig",
    "Report",
    "RunDir",
    "Script",
    "Session",
    "Summary",
    "Target",
    "UnreachableError",
    "build_script",
    "load_config",
    "parse_config",
    "read_sessions",
    "replay",
    "replay_sessions",
    "resume",
    "resume_command",
    "resume_sessions",
]


def replay(
    recording: Path,
    target: Target,
    run_dir: Path,
    config: ReplayConfig | None = None,
    ignore: list[str] | None = None,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
) -> Report:
    """Replay a recording of one session against ``target``, writing ``run_dir``; the report (a
    recording of several sessions: :func:`replay_sessions`)."""
    sessions = read_sessions(recording)
    if len(sessions) > 1:
        raise UsageError(f"{recording}: holds {len(sessions)} sessions: replay them with replay_sessions()")
    return replay_sessions(recording, target, run_dir, config, ignore, clock=clock, rng=rng).runs[0].report


def resume(run_dir: Path, target: Target, *, clock: Clock | None = None, rng: random.Random | None = None) -> Report:
    """Go on with an interrupted replay of one session from its run directory: the steps its journal
    holds are done and not sent again as steps; the session is restored as a recovery would, then the
    rest run (a run of several sessions: :func:`resume_sessions`)."""
    summary = resume_sessions(run_dir, target, clock=clock, rng=rng)
    if summary.several:
        raise UsageError(f"{run_dir}: a run of {len(summary.runs)} sessions: see resume_sessions()")
    return summary.runs[0].report
