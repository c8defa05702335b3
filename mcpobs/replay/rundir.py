"""The run directory a replay writes, and reads again to resume.

=====================  =======================================================================
``run.json``           what was replayed and how: the recording, the server, the settings
``steps.jsonl``        the journal: a line per finished step, written whole when it finishes
``checkpoints/``       ``checkpoint-NNNN.json``: the steps done and the session state, every
                       ``checkpoint_interval`` seconds and after each subscribe, unsubscribe and
                       setLevel; the newest ``max_checkpoints`` kept
``replay.jsonl``       an event log of the replay itself (docs/event-log.md), with its retries,
                       timeouts and recoveries as ``event`` lines
``server-stderr.log``  what a stdio server wrote to stderr
``report.json``,       the per-step report
``report.txt``
``state.json``         the session state at the end
``trace.jsonl``        the replay as OTLP JSON spans, for ``mcpobs analyze`` and ``check-alerts``
``before.log``         what ``--before`` printed before the session
=====================  =======================================================================

A run of several sessions of one recording (:mod:`.sessions`) writes one such directory per session,
``session-N/``, under its own, which holds ``run.json`` (listing them), ``report.json`` (the summary:
each session's report) and ``report.txt``.

The journal is what makes ``--resume`` exact: a step is done when its line is there, and each line is
one ``write``, so a replay killed at any moment leaves every finished step and no half of one.

Every file in it is the owner's only (0600) and every directory 0700, whatever the umask: the
recording's messages and the server's answers are in them. Each writer opens its file with
:func:`open_private`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcpobs.errors import InputError, UsageError
from mcpobs.replay.config import ReplayConfig, SessionRecovery, TimeoutHandling, ToolConfig
from mcpobs.replay.connection import Target

FORMAT = "mcpobs-replay-run"
VERSION = 1


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.checkpoints = path / "checkpoints"

    @classmethod
    def create(
        cls,
        path: Path,
        recording: Path,
        target: Target,
        config: ReplayConfig,
        ignore: list[str],
        extra: dict[str, Any] | None = None,
    ) -> RunDir:
        """A new run directory (``path`` must not exist, or be empty); ``extra`` goes into its settings
        (which session of the recording it replays, or the sessions of a run of several)."""
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise UsageError(f"{path}: already exists; give a new --run-dir (or --resume {path})")
        try:
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o700)  # the owner's only, like an event log: the session's messages are in it
            (path / "checkpoints").mkdir(mode=0o700, exist_ok=True)
        except OSError as e:
            raise UsageError(f"{path}: cannot create the run directory: {e.strerror or e}") from None
        run = cls(path)
        settings = {
            "format": FORMAT,
            "version": VERSION,
            "recording": str(recording.resolve()),
            "recording_sha256": file_hash(recording),
            "target": {"url": target.url} if target.url else {"command": list(target.command)},
            "config": asdict(config),
            "ignore": ignore,
            "started": datetime.now(UTC).isoformat(),
            **(extra or {}),
        }
        _write_json(path / "run.json", settings)
        return run

    @classmethod
    def open(cls, path: Path) -> tuple[RunDir, dict[str, Any]]:
        """An existing run directory and its settings, to resume."""
        file = path / "run.json"
        try:
            settings = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{path}: not a replay run directory (no run.json)") from None
        except (OSError, ValueError) as e:
            raise InputError(file, f"cannot read: {e}") from None
        if not isinstance(settings, dict) or settings.get("format") != FORMAT:
            raise InputError(file, "not a replay run's settings")
        if settings.get("version") != VERSION:
            raise InputError(file, f"run directory version {settings.get('version')!r} is not {VERSION}")
        return cls(path), settings

    @staticmethod
    def config_of(settings: dict[str, Any]) -> ReplayConfig:
        config = settings.get("config") or {}
        return ReplayConfig(
            timeout_handling=replace(TimeoutHandling(), **config.get("timeout_handling", {})),
            session_recovery=replace(SessionRecovery(), **config.get("session_recovery", {})),
            tool_config=replace(ToolConfig(), **config.get("tool_config", {})),
        )

    def journal(self, record: dict[str, Any]) -> None:
        """Note one finished step, in a single write."""
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", errors="backslashreplace")
        fd = os.open(self.path / "steps.jsonl", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def finished(self) -> list[dict[str, Any]]:
        """The journal's whole lines (a line cut short by a kill is no finished step)."""
        file = self.path / "steps.jsonl"
        if not file.exists():
            return []
        out = []
        for number, line in enumerate(file.read_bytes().split(b"\n")[:-1], 1):
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError as e:
                    raise InputError(file, f"not a journal line: {e}", number) from None
        return out

    def mend_journal(self) -> None:
        """Cut a last line a kill left half-written, so the next line starts a line of its own."""
        file = self.path / "steps.jsonl"
        if not file.exists():
            return
        data = file.read_bytes()
        whole = data.rfind(b"\n") + 1
        if whole < len(data):
            with file.open("r+b") as journal:
                journal.truncate(whole)

    def checkpoint(self, data: dict[str, Any], keep: int) -> int:
        """Write the next checkpoint and drop the oldest beyond ``keep``; its number."""
        taken = sorted(self.checkpoints.glob("checkpoint-*.json"))
        number = int(taken[-1].stem.split("-")[1]) + 1 if taken else 1
        _write_json(self.checkpoints / f"checkpoint-{number:04d}.json", {"number": number, **data})
        for old in taken[: max(len(taken) + 1 - keep, 0)]:
            old.unlink(missing_ok=True)
        return number

    def latest_checkpoint(self) -> dict[str, Any] | None:
        taken = sorted(self.checkpoints.glob("checkpoint-*.json"))
        for file in reversed(taken):
            try:
                data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
                return data
            except ValueError:
                continue  # cut short while written: the one before it stands
        return None

    def write(self, name: str, text: str) -> Path:
        target = self.path / name
        write_private(target, text)
        return target


def file_hash(path: Path) -> str | None:
    """The SHA-256 of a file's bytes (None when it cannot be read)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def open_private(path: Path, *, append: bool = False) -> io.TextIOWrapper:
    """Open ``path`` of a run directory to write text: created 0600, and made 0600 when it was there
    (an older mcpobs wrote them with the umask's mode); a symlink in its place is not followed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "a", encoding="utf-8") if append else os.fdopen(fd, "w", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` of a run directory, as :func:`open_private` opens it."""
    with open_private(path) as out:
        out.write(text)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write whole or not at all: to a temporary name, then renamed over."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    write_private(temporary, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    os.replace(temporary, path)
