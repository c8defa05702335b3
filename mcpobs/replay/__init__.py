"""Replaying recorded MCP sessions against live servers, and comparing their answers.

:func:`replay` is the whole of it: read a recording (an event log, or a peer recorder's file), send
it again to the server (:mod:`.engine`), and write the run directory (:mod:`.rundir`).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import anyio

from mcpobs.errors import InputError
from mcpobs.eventlog.peers import read_recording
from mcpobs.replay.clock import Clock, ManualClock, RealClock
from mcpobs.replay.config import ReplayConfig, load_config, parse_config
from mcpobs.replay.connection import Target, UnreachableError
from mcpobs.replay.diff import parse_ignore
from mcpobs.replay.engine import Replay, Report
from mcpobs.replay.rundir import RunDir, file_hash
from mcpobs.replay.script import Script, build_script
from mcpobs.replay.trace import write_trace

__all__ = [
    "Clock",
    "ManualClock",
    "RealClock",
    "Replay",
    "ReplayConfig",
    "Report",
    "RunDir",
    "Script",
    "Target",
    "UnreachableError",
    "build_script",
    "load_config",
    "parse_config",
    "replay",
    "resume",
    "resume_command",
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
    """Replay ``recording`` against ``target``, writing ``run_dir``; the report."""
    config = config or ReplayConfig()
    paths = parse_ignore(ignore or [])
    script = build_script(read_recording(recording))
    target.check()
    run = RunDir.create(run_dir, recording, target, config, list(ignore or []))
    return _run(Replay(script, target, config, run, ignore=paths, clock=clock, rng=rng))


def resume(run_dir: Path, target: Target, *, clock: Clock | None = None, rng: random.Random | None = None) -> Report:
    """Go on with an interrupted replay from its run directory: the steps its journal holds are done
    and not sent again as steps; the session is restored as a recovery would, then the rest run."""
    run, settings = RunDir.open(run_dir)
    config = RunDir.config_of(settings)
    ignore = list(settings.get("ignore") or [])
    if not isinstance(settings.get("recording"), str):
        raise InputError(run_dir / "run.json", "names no recording")
    recording = Path(settings["recording"])
    expected = settings.get("recording_sha256")
    if expected is not None and file_hash(recording) != expected:
        raise InputError(recording, f"changed since the run in {run_dir} began: resuming would mix two recordings")
    script = build_script(read_recording(recording))
    run.mend_journal()
    target.check()
    return _run(Replay(script, target, config, run, ignore=parse_ignore(ignore), clock=clock, rng=rng, resume=True))


def resume_command(run_dir: Path | str, target: Target | None) -> str:
    """The command that goes on with an interrupted run: with its URL, or ``-- SERVER`` for a command."""
    server = f"--url {target.url}" if target is not None and target.url else "-- SERVER"
    return f"mcpobs replay --resume {run_dir} {server}"


def _run(engine: Replay) -> Report:
    """Run, write the run directory's outputs, and raise :class:`UnreachableError` (after writing
    them) when the server could not be reached."""
    report = anyio.run(engine.run)
    run = engine.rundir
    run.write("report.json", json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n")
    run.write("state.json", json.dumps(report.state.to_json(), ensure_ascii=False, indent=2) + "\n")
    write_trace(run.path / "replay.jsonl", run.path / "trace.jsonl")
    if report.unreachable is not None:
        done = sum(r.status not in ("not run",) for r in report.results)
        later = f"; go on with: {resume_command(run.path, engine.target)}" if done else ""
        raise UnreachableError(f"{report.unreachable} (run written to {run.path}{later})")
    return report
