"""On ClickHouse the call model (the spans' derived columns, then ``mcp_calls`` over them) is derived once
per command, into temporary tables of the session, not again by every ledger step and section that reads
it. Counted on the SQL a chDB session is sent: each text that holds the model's SELECT has ClickHouse run
it (a CTE is inlined at each reference), so the builds are the occurrences of that SELECT in what was sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

pytest.importorskip("chdb")

from conftest import Exported

from mcpobs.cli import app
from mcpobs.clickhouse import TRACES_TABLE, _Chdb, _identifier, parse
from mcpobs.clickhouse.model import modelled_traces, spans_select
from mcpobs.sqlengine import CLICKHOUSE
from mcpobs.store import calls_select
from tests.conftest import ROOT

SAMPLES = ROOT / "sample_traces"


@pytest.fixture(scope="module")
def source(chdb_dir: Path, exported: Exported) -> list[str]:
    return [f"chdb:{chdb_dir}", "--table", exported("agent_cost_session", [SAMPLES / "agent_cost_session.jsonl"])]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL text the chDB sessions of the test run, in order (each still run by chDB)."""
    texts: list[str] = []
    for method in ("query", "command"):
        real = getattr(_Chdb, method)

        def recorded(self: _Chdb, sql: str, params: dict[str, Any], real: Any = real) -> Any:
            texts.append(sql)
            return real(self, sql, params)

        monkeypatch.setattr(_Chdb, method, recorded)
    return texts


@pytest.mark.parametrize(
    "command",
    [
        ["cost"],
        ["cost", "--by", "server"],
        ["analyze", "--cost"],
        ["report", "--rules", str(SAMPLES / "alerts.yaml"), "--html"],
    ],
    ids=["cost", "cost-by-server", "analyze-cost", "report"],
)
def test_the_call_model_is_built_once_per_command(
    runner: CliRunner, source: list[str], sent: list[str], tmp_path: Path, command: list[str]
) -> None:
    args = [str(tmp_path / "report.html")] if command[0] == "report" else []
    result = runner.invoke(app, [command[0], *source, *command[1:], *args, "--prices", str(SAMPLES / "prices.yaml")])
    assert result.exit_code == 0, result.stderr
    assert len(sent) > 10  # the ledger's steps and the sections all ran
    # the traces to derive, the spans' model (a chDB directory is read whole, in one part), then the calls
    # over it: each once
    table = parse(source[0], source[2]).qualified
    traces = modelled_traces(table, "true")
    spans = spans_select(table, "true AND true", f"(SELECT TraceId FROM {_identifier(TRACES_TABLE)} WHERE true)")
    models = (traces, spans, calls_select(CLICKHOUSE))
    assert [sum(text.count(model) for text in sent) for model in models] == [1, 1, 1]
