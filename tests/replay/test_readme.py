"""The README's replay of the bundled sample is what mcpobs prints (timings aside)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

_MS = re.compile(r"\b\d[\d,]*\.\d\b")
_RULE = re.compile("─+")


def _example() -> tuple[str, str]:
    section = (ROOT / "README.md").read_text().split("## Replaying sessions", 1)[1].split("\n## ", 1)[0]
    command = re.findall(r"```sh\n(mcpobs replay [^\n]+)\n```", section)[0]
    shown = re.findall(r"```text\n(.*?)```", section, flags=re.DOTALL)[0]
    return command, shown


def _lines(text: str) -> list[str]:
    """The lines with the timings masked, and the spacing and the rule under the header (whose widths
    follow the timings' widths, so the speed of the machine) collapsed: the table's structure, not its widths."""
    return [" ".join(_RULE.sub("─", _MS.sub("#", line)).split()) for line in text.strip().splitlines() if line.strip()]


def test_the_comparison_ignores_how_wide_the_timings_make_the_table() -> None:
    _, shown = _example()
    slower = shown.replace("   608.3", " 12,608.3").replace("──────", "─────────")
    assert slower != shown
    assert _lines(slower) == _lines(shown)
    assert _lines(shown.replace("tools/call put ", "tools/call pot ")) != _lines(shown)


def test_the_readme_replay_is_what_mcpobs_prints(tmp_path: Path) -> None:
    command, shown = _example()
    run = tmp_path / "run"
    args = command.split()[1:]
    args[args.index("--run-dir") + 1] = str(run)
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
    printed = (result.stdout + result.stderr).replace(str(run), "replay-run")
    assert _lines(printed) == _lines(shown)
    assert (run / "report.json").is_file()
