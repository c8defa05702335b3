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


def test_readme_sample_output_is_what_analyze_prints() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```console\n$ mcpobs analyze sample_traces/mcp_agent_session.jsonl", 1)[1]
    shown_args, shown = block.split("\n", 1)
    shown = shown.split("```", 1)[0]
    result = subprocess.run(
        [sys.executable, "-m", "mcpobs.cli", "analyze", "sample_traces/mcp_agent_session.jsonl", *shown_args.split()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "110", "PATH": "/usr/bin:/bin"},
    )

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
