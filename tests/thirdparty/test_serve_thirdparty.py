"""``mcpobs serve`` of sessions recorded from servers nobody here wrote: a real mcp client gets from
``serve`` what it got from the server, and ``mcpobs replay`` against ``serve`` finds no difference."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

from mcp import Client

from tests.serve.conftest import HttpServe, stdio_server, with_client
from tests.thirdparty.conftest import SupervisedHttp, everything_stdio, record_stdio
from tests.thirdparty.test_replay_thirdparty import LONG, URI, explain, record_http, replay_cli

SERVE = ["-m", "mcpobs.cli", "serve"]


async def _everything(client: Client) -> dict[str, Any]:
    """What a client sees of server-everything: results, and the progress of a long call."""
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(p: float, total: float | None, message: str | None) -> None:
        progress.append((p, total, message))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # subscribe is deprecated in 2026-07-28, not in this 2025 session
        tools = await client.list_tools()
        echo = await client.call_tool("echo", {"message": "before"})
        await client.subscribe_resource(URI)
        total = await client.call_tool("get-sum", {"a": 2, "b": 3})
        long = await client.call_tool(LONG, {"duration": 1, "steps": 2}, progress_callback=on_progress)
    return {
        "tools": sorted(t.name for t in tools.tools),
        "results": [r.model_dump(mode="json") for r in (echo, total, long)],
        "progress": progress,
    }


def test_server_everything_over_stdio_is_served_as_it_answered(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    async def live(client: Client) -> None:
        seen.append(await _everything(client))

    log = record_stdio(tmp_path / "everything.jsonl", everything_stdio(), "legacy", live)
    served = with_client(stdio_server(log), "legacy", _everything)
    assert served == seen[0]
    assert [p for p, _, _ in served["progress"]] == [1, 2]
    code, report, stderr = replay_cli(log, tmp_path / "run", server=[sys.executable, *SERVE, str(log)])
    assert code == 0, (stderr, explain(report))
    assert report["counts"]["differs"] == 0


async def _converting(client: Client) -> list[Any]:
    out = []
    for hour in (10, 11):
        arguments = {"source_timezone": "UTC", "time": f"{hour}:00", "target_timezone": "Asia/Tokyo"}
        out.append((await client.call_tool("convert_time", arguments)).model_dump(mode="json"))
    return out


def test_mcp_server_time_over_http_in_2026_is_served_as_it_answered(tmp_path: Path, time_http: SupervisedHttp) -> None:
    seen: list[Any] = []

    async def live(client: Client) -> None:
        seen.append(await _converting(client))

    log = record_http(tmp_path / "time.jsonl", time_http.url, "auto", live)
    time_http.kill_9(restart=False)  # served from the recording alone
    with HttpServe(log) as served:
        answered = with_client(served.url, "auto", _converting)
        code, report, stderr = replay_cli(log, tmp_path / "run", "--url", served.url)
        served.stop()
    assert answered == seen[0]
    assert code == 0, (stderr, explain(report))
    assert "2026-07-28" in report["protocol"]
    assert report["counts"]["differs"] == 0
