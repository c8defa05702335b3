"""Recordings for the replay tests: a real mcp client through ``mcpobs record`` to the notes server."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp_types import ElicitResult

from tests.conftest import ROOT

NOTES = str(ROOT / "sample_traces" / "notes_server.py")
SAMPLE = ROOT / "sample_traces" / "notes_session.jsonl"


def assert_private(run_dir: Path) -> None:
    """Every file a replay's run directory holds is the owner's only (0600), every directory 0700:
    the recording's messages and what the server answered are in them."""
    modes = {str(p.relative_to(run_dir)): p.stat().st_mode & 0o777 for p in [run_dir, *sorted(run_dir.rglob("*"))]}
    assert modes == {name: 0o700 if (run_dir / name).is_dir() else 0o600 for name in modes}


def server(*faults: str) -> list[str]:
    return [sys.executable, NOTES, *faults]


async def _answer(context: Any, params: Any) -> ElicitResult:
    return ElicitResult(action="accept", content={"answer": "blue"})


def record(log: Path, mode: str, calls: list[tuple[str, dict[str, Any]]], *, list_first: bool = False) -> Path:
    """Record the calls through ``mcpobs record`` with a real mcp Client in ``mode`` (legacy: 2025-11-25
    with the handshake; auto: 2026-07-28, stateless), after a ``tools/list`` with ``list_first``."""

    async def session(client: Client) -> None:
        if list_first:
            await client.list_tools()
        for name, arguments in calls:
            await client.call_tool(name, arguments)

    return record_session(log, mode, session)


def record_session(
    log: Path, mode: str, session: Callable[[Client], Awaitable[None]], faults: tuple[str, ...] = ()
) -> Path:
    """Record what ``session`` does with a real mcp Client in ``mode``, through ``mcpobs record``, to the
    notes server started with ``faults``."""
    args = ["-m", "mcpobs.cli", "record", "--out", str(log), "--", *server(*faults)]
    params = StdioServerParameters(command=sys.executable, args=args)

    async def run() -> None:
        with anyio.fail_after(60):
            async with Client(params, mode=mode, elicitation_callback=_answer) as client:  # type: ignore[arg-type]
                await session(client)

    anyio.run(run)
    return log


CALLS = [
    ("put", {"key": "colour", "value": "green"}),
    ("echo", {"text": "hello"}),
    ("get", {"key": "colour"}),
    ("keys", {}),
    ("get", {"key": "shape"}),
]


@pytest.fixture(scope="session")
def stateless_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record(tmp_path_factory.mktemp("rec") / "stateless.jsonl", "auto", CALLS)
