"""mcpobs record in front of servers nobody here wrote: what the log keeps of a session, and the figures
analyze then gives (a real mcp SDK client, the recorder under its default settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from mcpobs.analysis import Query, analyze
from mcpobs.eventlog.reader import read_event_log
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.thirdparty.conftest import everything_stdio, record_stdio

LONG = "trigger-long-running-operation"


async def two_calls_with_progress(client: Client) -> None:
    """Two calls of the long-running tool in flight together, each asking for progress: the slow one's
    first step ends after the quick one has finished."""

    async def ignore(progress: float, total: float | None, message: str | None) -> None:
        pass  # asking for progress is what makes the server send it

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: client.call_tool(LONG, {"duration": 1.6, "steps": 2}, progress_callback=ignore))
        await anyio.sleep(0.2)
        tg.start_soon(lambda: client.call_tool(LONG, {"duration": 0.4, "steps": 4}, progress_callback=ignore))


def test_progress_tokens_are_kept_so_each_call_has_its_own_time_to_first_response(tmp_path: Path) -> None:
    # a progressToken is no secret: redacted, every request's token was "[REDACTED]", the log could no
    # longer tell whose progress a notification was, and the slow call lost its time to first response
    log = record_stdio(tmp_path / "everything.jsonl", everything_stdio(), "legacy", two_calls_with_progress)
    messages = read_event_log(log).messages()
    requests = [m for m in messages if m["message"].get("params", {}).get("name") == LONG]
    tokens = [m["message"]["params"]["_meta"]["progressToken"] for m in requests]
    assert "[REDACTED]" not in tokens
    assert len(set(map(str, tokens))) == 2
    first: dict[Any, int] = {}
    for m in messages:
        if m["message"].get("method") == "notifications/progress":
            first.setdefault(m["message"]["params"]["progressToken"], m["t"])
    expected = sorted((first[token] - request["t"]) / 1e6 for token, request in zip(tokens, requests, strict=True))
    assert expected[1] > expected[0] + 200  # the slow call's first progress is not the quick one's

    store = Store()
    try:
        load(store, [str(log)])
        [row] = [r for r in analyze(store, Query(views=("calls",))).table("calls").records() if r["tool"] == LONG]
    finally:
        store.close()
    assert row["calls"] == 2
    assert row["ttfr_p50_ms"] == pytest.approx(sum(expected) / 2)
