"""The project keeps its promises: the README's commands are the ones CI runs, and the code is lint-clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_readme_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    commands = _quick_start()
    assert len(commands) == 2
    assert "mcpobs analyze sample_traces/" in commands[0]
    assert "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def _console_examples() -> list[tuple[str, str]]:
    """Each ```console block of the README that runs mcpobs on a bundled file: its command, its output."""
    readme = (ROOT / "README.md").read_text()
    found = re.findall(r"```console\n\$ (mcpobs [^\n]+)\n(.*?)```", readme, flags=re.DOTALL)
    return [(command, shown) for command, shown in found if (ROOT / command.split()[2]).exists()]


def test_readme_shows_examples_of_analyze_cost_and_check_alerts() -> None:
    commands = [command.split()[1] for command, _ in _console_examples()]
    assert {"analyze", "cost", "check-alerts"} <= set(commands)


@pytest.mark.parametrize(("command", "shown"), _console_examples(), ids=[c.split()[1] for c, _ in _console_examples()])
def test_readme_example_output_is_what_mcpobs_prints(command: str, shown: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mcpobs.cli", *command.split()[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
    # check-alerts exits 1 when its example says an alert failed the run; everything else exits 0
    assert result.returncode == (1 if "FAILED" in shown else 0), result.stderr

    def norm(text: str) -> list[str]:
        return [line.rstrip() for line in text.strip().splitlines() if line.strip()]

    assert norm(result.stderr + result.stdout) == norm(shown)


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(), reason="ruff")
def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    for args in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [ruff, *args, "mcpobs", "tests", "benchmarks", "sample_traces"], cwd=ROOT, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(not (ROOT / ".git").exists() or shutil.which("git") is None, reason="needs the git checkout")
def test_no_replay_run_directory_is_committed_and_new_ones_are_ignored() -> None:
    """mcpobs replay writes ./replay-TIMESTAMP by default (and the README's example, ./replay-run)."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert [p for p in tracked.splitlines() if p.startswith("replay-")] == []
    for run in ("replay-20261123-150826/run.json", "replay-run/report.json"):
        ignored = subprocess.run(["git", "check-ignore", "-q", run], cwd=ROOT, check=False)
        assert ignored.returncode == 0, run
