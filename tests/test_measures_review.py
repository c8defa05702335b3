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


def _refused(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    return line


def test_decisions_refuses_a_grouping_it_does_not_apply() -> None:
    # observed: exit 0 and the same per-model rows as without --by tool
    line = _refused("cost", str(DECISIONS), "--view", "decisions", "--by", "tool")
    assert line == "mcpobs: error: --by tool does not apply to --view decisions (one row per provider and model)"
    # per model is what it is: honoured
    assert {r["model"] for r in _csv("cost", str(DECISIONS), "--view", "decisions", "--by", "model")} == {
        "gpt-4o-2024-08-06",
        "gpt-4o-mini-2024-07-18",
    }


def test_argument_shapes_are_grouped_as_by_asks() -> None:
    # observed: --by session ignored, the shapes per server and tool alone
    plain = _csv("analyze", str(TIME), "--view", "argument_shapes")
    by_session = _csv("analyze", str(TIME), "--view", "argument_shapes", "--by", "session")
    assert "session" not in plain[0]
    assert list(by_session[0])[:4] == ["side", "session", "server", "tool"]
    # one session in the file: the same shapes, counts and shares, each with its session
    assert {r["session"] for r in by_session} == {by_session[0]["session"]}
    assert [{k: v for k, v in r.items() if k != "session"} for r in by_session] == plain
    # --by server or tool: the shapes' own grouping
    assert _csv("analyze", str(TIME), "--view", "argument_shapes", "--by", "server,tool") == plain


def test_the_argument_sections_refuse_what_they_would_ignore() -> None:
    # observed: exit 0, --sort and --by client ignored
    assert _refused("analyze", str(TIME), "--view", "argument_shapes", "--sort", "errors") == (
        "mcpobs: error: --sort does not apply to --view argument_shapes (it orders the calls section)"
    )
    assert _refused("analyze", str(TIME), "--view", "arguments", "--sort", "error_rate").endswith(
        "--sort does not apply to --view arguments (it orders the calls section)"
    )
    assert _refused("analyze", str(TIME), "--view", "invalid_arguments", "--by", "client") == (
        "mcpobs: error: --by client does not apply to --view invalid_arguments "
        "(a list of calls with their server, tool and session)"
    )
    # shown beside the calls section, which --sort orders; a listing shows its session
    assert _csv("analyze", str(TIME), "--view", "calls", "--by", "session", "--sort", "errors")
    assert _csv("analyze", str(TIME), "--view", "invalid_arguments", "--by", "session")
