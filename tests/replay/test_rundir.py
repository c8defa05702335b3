"""The run directory: a journal that survives a kill, checkpoints kept to their number, and refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mcpobs.errors import InputError, UsageError
from mcpobs.replay import ReplayConfig, RunDir, Target
from mcpobs.replay.config import SessionRecovery
from tests.replay.conftest import NOTES, SAMPLE, assert_private


def _run(tmp_path: Path) -> RunDir:
    config = ReplayConfig(session_recovery=SessionRecovery(mode="hybrid", max_checkpoints=3))
    return RunDir.create(
        tmp_path / "run", tmp_path / "rec.jsonl", Target(command=("server",)), config, ["result._meta"]
    )


def test_settings_come_back_to_resume(tmp_path: Path) -> None:
    _run(tmp_path)
    _, settings = RunDir.open(tmp_path / "run")
    assert RunDir.config_of(settings).session_recovery.mode == "hybrid"
    assert settings["ignore"] == ["result._meta"]
    assert settings["target"] == {"command": ["server"]}  # kept for the record; resume takes it from the user


def test_a_journal_line_cut_by_a_kill_is_no_finished_step(tmp_path: Path) -> None:
    run = _run(tmp_path)
    run.journal({"step": 0, "status": "same"})
    run.journal({"step": 1, "status": "sent"})
    with (run.path / "steps.jsonl").open("a") as journal:
        journal.write('{"step": 2, "sta')
    assert [r["step"] for r in run.finished()] == [0, 1]


def test_only_the_newest_checkpoints_are_kept(tmp_path: Path) -> None:
    run = _run(tmp_path)
    for n in range(5):
        assert run.checkpoint({"done": list(range(n + 1)), "state": {}}, keep=3) == n + 1
    kept = sorted(p.name for p in run.checkpoints.iterdir())
    assert kept == ["checkpoint-0003.json", "checkpoint-0004.json", "checkpoint-0005.json"]
    latest = run.latest_checkpoint()
    assert latest is not None
    assert latest["number"] == 5
    (run.checkpoints / "checkpoint-0006.json").write_text('{"number": 6, "do')  # cut short while written
    latest = run.latest_checkpoint()
    assert latest is not None
    assert latest["number"] == 5


def test_refusals(tmp_path: Path) -> None:
    _run(tmp_path)
    with pytest.raises(UsageError, match="already exists"):
        _run(tmp_path)
    with pytest.raises(UsageError, match="not a replay run directory"):
        RunDir.open(tmp_path)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "run.json").write_text("[1]")
    with pytest.raises(InputError, match="not a replay run"):
        RunDir.open(tmp_path / "other")


def test_the_run_directory_is_private_like_the_event_log(tmp_path: Path) -> None:
    # the recording's messages (and what the server answered) are in it: the owner's only
    (tmp_path / "empty").mkdir(mode=0o755)
    for path in (tmp_path / "new" / "run", tmp_path / "empty"):
        run = RunDir.create(path, tmp_path / "rec.jsonl", Target(command=("server",)), ReplayConfig(), [])
        assert run.path.stat().st_mode & 0o777 == 0o700


def test_every_file_and_directory_of_a_run_is_private_whatever_the_umask(tmp_path: Path) -> None:
    # only replay.jsonl and steps.jsonl were 0600: under umask 000 report.json, state.json, run.json,
    # sdk.log, server-stderr.log, trace.jsonl and the checkpoints were 0666, checkpoints/ 0777
    run = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "mcpobs", "replay", str(SAMPLE), "--run-dir", str(run), "--", sys.executable, NOTES],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        preexec_fn=lambda: os.umask(0),
    )
    assert result.returncode == 0, result.stderr
    names = {str(p.relative_to(run)) for p in run.rglob("*")}
    assert {"run.json", "report.json", "report.txt", "state.json", "sdk.log", "server-stderr.log"} <= names
    assert {"trace.jsonl", "replay.jsonl", "steps.jsonl", "checkpoints"} <= names
    assert any(name.startswith("checkpoints/") for name in names)
    assert_private(run)
