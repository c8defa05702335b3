"""mcpobs tools and mcpobs diff on servers nobody here wrote, recorded at test time with ``mcpobs record``
in front of them by a real mcp SDK client: server-everything's definitions, listed and locked; and
mcp-server-git, which starts failing once its repository is broken."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from mcp import Client
from typer.testing import CliRunner

from mcpobs.cli import app
from tests.thirdparty.conftest import everything_stdio, git_server, record_stdio
from tests.thirdparty.test_replay_thirdparty import _repository


async def _listing(client: Client) -> None:
    await client.list_tools()
    await client.list_prompts()
    await client.list_resources()


def test_server_everything_definitions_are_listed_and_lock_the_same_twice(runner: CliRunner, tmp_path: Path) -> None:
    first = record_stdio(tmp_path / "a.jsonl", everything_stdio(), "auto", _listing)
    second = record_stdio(tmp_path / "b.jsonl", everything_stdio(), "auto", _listing)
    listed = runner.invoke(app, ["tools", str(first), "--format", "json"])
    assert listed.exit_code == 0, listed.stderr
    document = json.loads(listed.stdout)
    tools = [d for d in document["definitions"] if d["kind"] == "tool"]
    assert {"echo", "get-sum"} <= {d["name"] for d in tools}
    assert {d["kind"] for d in document["definitions"]} >= {"tool", "prompt", "resource"}
    assert all(d["tokens"] > 0 for d in document["definitions"])
    [tax] = document["token_tax"]
    assert tax["tools"] == len(tools)
    assert tax["tokens_per_llm_call"] == sum(d["tokens"] for d in tools)
    lock = tmp_path / "tools.lock"
    assert runner.invoke(app, ["tools", str(first), "--baseline", str(lock)]).exit_code == 0
    again = runner.invoke(app, ["tools", str(second), "--baseline", str(lock)])
    assert again.exit_code == 0, again.stdout


def test_mcp_server_git_that_started_failing(runner: CliRunner, tmp_path: Path) -> None:
    repo = _repository(tmp_path / "repo")
    arguments: dict[str, Any] = {"repo_path": str(repo)}

    async def session(client: Client) -> None:
        await client.call_tool("git_status", arguments)
        await client.call_tool("git_log", arguments)

    before = record_stdio(tmp_path / "before.jsonl", git_server(repo), "legacy", session)
    # the repository still opens (the server checks that when it starts), but its commits are gone
    shutil.rmtree(repo / ".git" / "objects")
    (repo / ".git" / "objects").mkdir()
    after = record_stdio(tmp_path / "after.jsonl", git_server(repo), "legacy", session)
    result = runner.invoke(app, ["diff", str(before), str(after), "--exit-code", "--format", "json"])
    assert result.exit_code == 1, result.stdout
    found = {(f["check"], f["subject"].split(" {")[0]): f["status"] for f in json.loads(result.stdout)["findings"]}
    server = "mcp-git client tools/call"
    assert found[("call worse", f"{server} git_status")] == "fail"
    assert found[("call worse", f"{server} git_log")] == "fail"
    assert found[("error class appeared", f"{server} git_status")] == "fail"
    assert not [check for check, _ in found if check.startswith("tool ")]  # the same definitions
