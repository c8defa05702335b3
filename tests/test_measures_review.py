"""Review of issue 21 (argument structure; the decision behind each call): a regression test for each
problem the review found. Each names the wrong behaviour observed before its fix."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from typer.testing import CliRunner

from mcpobs.cli import app
from tests.conftest import DATA

TIME = DATA / "arguments" / "time.log.jsonl"
# recorded by tests/data/arguments/make_redacted.py: an mcp SDK ClientSession through `mcpobs record`
# (default redaction) calling redacted_server.py's `lookup` with {"token_id": 7, "auth_level": 2, ...}
# (valid) and {"token_id": "7"} (invalid); the recording holds both token_ids as "[REDACTED]"
REDACTED = DATA / "arguments" / "redacted.log.jsonl"
DECISIONS = DATA / "decisions" / "decisions.jsonl"


def _csv(*args: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def test_argument_shapes_with_top_does_not_crash() -> None:
    # observed: duckdb BinderException traceback (QUALIFY in _shapes)
    result = CliRunner().invoke(app, ["analyze", str(TIME), "--view", "argument_shapes", "--top", "1"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0


def test_a_redacted_argument_is_not_reported_invalid() -> None:
    # observed: both calls invalid ("$.token_id: '[REDACTED]' is not of type 'integer'"), rate 100%
    rows = _csv("analyze", str(REDACTED), "--view", "invalid_arguments")
    assert not any("[REDACTED]" in r["error"] for r in rows), rows


def test_decision_cost_under_a_tool_filter_is_a_part_of_the_unfiltered_cost() -> None:
    # observed: --tool read_file gives gpt-4o failed_decision_cost 0.0024325 > 0.001745 unfiltered;
    # read_file 0.0037325 + get_weather 0.0027525 > 0.00511 for both
    def figures(*filters: str) -> dict[str, tuple[Decimal, Decimal]]:
        return {
            r["model"]: (Decimal(r["decision_cost"] or 0), Decimal(r["failed_decision_cost"] or 0))
            for r in _csv("cost", str(DECISIONS), "--view", "decisions", *filters)
        }

    whole = figures()
    parts = [figures("--tool", tool) for tool in ("read_file", "get_weather", "run_query", "book_hotel")]
    for model, (cost, failed) in whole.items():
        assert sum(p[model][0] for p in parts) == cost
        assert sum(p[model][1] for p in parts) == failed
