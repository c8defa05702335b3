"""The README's replays of the bundled samples are what mcpobs prints (timings and column widths aside):
the session over stdio, and the recording of several sessions, listed and replayed over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, serving

_MS = re.compile(r"\b\d[\d,]*\.\d\b")
_README_URL = "http://127.0.0.1:8000/mcp"


def _examples() -> list[tuple[str, str]]:
    """Each ``mcpobs replay`` command of the section with the output shown after it."""
    section = (ROOT / "README.md").read_text().split("## Replaying sessions", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(mcpobs replay [^\n]+)\n```\s*```text\n(.*?)```", section, flags=re.DOTALL)


def _lines(text: str) -> list[str]:
    """The lines with the timings masked and the spacing and rule lengths they shift collapsed."""
    return [
        re.sub("─+", "─", " ".join(_MS.sub("#", line).split())) for line in text.strip().splitlines() if line.strip()
    ]


def _shown_in(printed: list[str], shown: list[str]) -> bool:
    """Whether the shown lines are the printed ones, where a line ``…`` stands for lines left out."""
    chunks: list[list[str]] = [[]]
    for line in shown:
        if line == "…":
            chunks.append([])
        else:
            chunks[-1].append(line)
    if printed[: len(chunks[0])] != chunks[0] or (len(chunks) == 1 and len(printed) != len(chunks[0])):
        return False
    at = len(chunks[0])
    for chunk in chunks[1:]:
        found = next(
            (i for i in range(at, len(printed) - len(chunk) + 1) if printed[i : i + len(chunk)] == chunk), None
        )
        if found is None:
            return False
        at = found + len(chunk)
    return len(chunks) == 1 or at == len(printed)


@pytest.fixture(scope="module")
def notes_http() -> Iterator[str]:
    with serving([sys.executable, str(ROOT / "sample_traces" / "notes_server.py"), "--http"]) as url:
        yield url


def test_the_readme_shows_the_replays_of_one_session_and_of_several() -> None:
    commands = [command for command, _ in _examples()]
    assert any("notes_session.jsonl" in c and "-- python" in c for c in commands)
    assert any("notes_proxy.jsonl --list-sessions" in c for c in commands)
    assert any("notes_proxy.jsonl --url" in c for c in commands)


@pytest.mark.parametrize("number", range(3))
def test_the_readme_replay_is_what_mcpobs_prints(tmp_path: Path, notes_http: str, number: int) -> None:
    command, shown = _examples()[number]
    args = command.split()[1:]
    run = tmp_path / "run"
    if "--run-dir" in args:
        named = args[args.index("--run-dir") + 1]
        args[args.index("--run-dir") + 1] = str(run)
    args = [notes_http if a == _README_URL else a for a in args]
    # `python` on the command line is the Python mcpobs runs in, as in an activated virtual environment
    path = f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin"
    result = subprocess.run(
        [sys.executable, "-m", "mcpobs.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "160", "PATH": path},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    printed = (result.stdout + result.stderr).replace(notes_http, _README_URL)
    if "--run-dir" in args:
        printed = printed.replace(str(run), named)
        assert (run / "report.json").is_file()
    assert _shown_in(_lines(printed), _lines(shown)), printed
