"""The rules file: the observability model's form, the extensions, and every problem with its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpobs.alerts import STARTER, RulesError, load_rules, parse_rules
from mcpobs.errors import ExitCode, UsageError, exit_code_for
from mcpobs.expr import parse


def problems(text: str) -> list[str]:
    with pytest.raises(RulesError) as error:
        parse_rules(text, "r.yaml")
    assert exit_code_for(error.value) is ExitCode.USAGE
    return error.value.lines()


def test_the_observability_models_form_is_read_unchanged() -> None:
    rules = parse_rules(STARTER).rules
    assert [(r.name, r.condition, r.action, r.scope, r.severity, r.min_calls) for r in rules] == [
        ("MCP Tool Call Error Rate", parse("error_rate > 0.05"), "notify", "global", "warning", 0),
        ("MCP Token Cost", parse("token_cost > 100"), "notify", "global", "warning", 0),
        ("MCP Session Recovery", parse("session_recovery > 3"), "notify", "global", "warning", 0),
    ]


def test_the_extensions() -> None:
    (rule,) = parse_rules(
        "alerts:\n"
        "  - name: Slow search\n"
        "    description: p95 of search on the server\n"
        "    condition: latency_p95_ms > 1.5s or latency_p95_ms > baseline.latency_p95_ms * 1.2\n"
        "    scope: tool\n"
        "    where: tool == \"search\" and side == 'server'\n"
        "    severity: critical\n"
        "    min_calls: 20\n"
    ).rules
    assert rule.scope == "tool"
    assert rule.where == parse('tool == "search" and side == "server"')
    assert rule.severity == "critical"
    assert rule.min_calls == 20
    assert rule.description == "p95 of search on the server"
    assert rule.metrics == {"latency_p95_ms"}
    assert rule.baseline_metrics == {"latency_p95_ms"}
    assert rule.line == 2


def test_model_scope_filters_on_model_and_provider() -> None:
    (rule,) = parse_rules(
        "alerts:\n  - name: m\n    condition: token_cost > 5\n    scope: model\n    where: provider == 'openai'\n"
    ).rules
    assert rule.where == parse('provider == "openai"')
    assert problems(
        "alerts:\n  - name: m\n    condition: token_cost > 5\n    scope: model\n    where: tool == 'x'\n"
    ) == ["r.yaml:5:12: unknown field 'tool'; known: model, provider"]


def test_every_problem_at_once_each_at_its_line_and_column() -> None:
    text = (
        "alerts:\n"  # 1
        "  - name: one\n"  # 2
        '    condition: "error_rate >> 0.05"\n'  # 3: quoted: columns count from after the quote
        "  - name: two\n"  # 4
        "    condition: latency_p95_ms > 2s\n"  # 5
        "    scope: tools\n"  # 6
        "    min_calls: lots\n"  # 7
        "  - name: three\n"  # 8
        "    condition: recoveries > 1\n"  # 9
        "    scope: model\n"  # 10
        "    wher: x\n"  # 11
        "  - name: one\n"  # 12
        "    condition: calls > 1\n"  # 13
        "  - condition: |\n"  # 14
        "      calls >\n"  # 15
        "  - just text\n"  # 16
        "other: 1\n"  # 17
    )
    assert problems(text) == [
        "r.yaml:3:29: expected a number, a metric or '(', found '>'",
        "r.yaml:6:12: scope 'tools' is not one of global, tool, server, session, concurrency, model",
        "r.yaml:7:16: min_calls must be a whole number of 0 or more, not 'lots'",
        "r.yaml:9:16: metric 'recoveries' is not measured per model, only for scope global, tool, server, session",
        "r.yaml:11:5: unknown key 'wher': did you mean 'where'? a rule has name, condition, action, scope, where, "
        "severity, min_calls, description",
        "r.yaml:12:5: a rule named 'one' is already defined at line 2",
        "r.yaml:14:5: the rule has no name",
        "r.yaml:14:16: column 9 of the expression: expected a number, a metric or '(', found the end of the condition",
        "r.yaml:16:5: a rule must be a mapping of names to values, not 'just text'",
        "r.yaml:17:1: unknown key 'other': a rules file holds one list, alerts",
    ]


def test_unknown_metric_has_a_did_you_mean_and_the_valid_list() -> None:
    line = problems("alerts:\n  - name: a\n    condition: eror_rate > 0.05\n")[0]
    assert line.startswith(
        "r.yaml:3:16: unknown metric 'eror_rate'; did you mean 'error_rate'? valid for scope global: "
    )
    assert "latency_p95_ms, " in line
    assert line.endswith("llm_calls, unpriced_llm_calls")
    (line,) = problems("alerts:\n  - name: a\n    condition: error_rate > 0.05 or baseline.latncy_p95_ms > 1\n")
    assert line.startswith(
        "r.yaml:3:37: unknown metric 'baseline.latncy_p95_ms'; did you mean 'baseline.latency_p95_ms'"
    )


def test_types_and_required_fields() -> None:
    assert problems("alerts:\n  - name: a\n    condition: error_rate\n") == [
        "r.yaml:3:16: the condition must be a comparison, not a number"
    ]
    assert problems("alerts:\n  - name: [a, b]\n    condition: calls > 1\n    min_calls: true\n") == [
        "r.yaml:2:11: name must be text, not a list",
        "r.yaml:4:16: min_calls must be a whole number of 0 or more, not 'true'",
    ]
    assert problems("alerts:\n  - name: a\n    condition:\n") == ["r.yaml:3:15: condition must be text, not nothing"]
    assert problems("alerts:\n  - name: a\n    condition: calls > 1\n    severity: high\n") == [
        "r.yaml:4:15: severity 'high' is not one of info, warning, critical"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "r.yaml:1:1: the rules file is empty: it must hold a list of rules under alerts:"),
        ("alerts: [\n", "r.yaml:2:1: not valid YAML: expected the node content, but found '<stream end>'"),
        ("alerts: 3\n", "r.yaml:1:9: alerts must be a list, not '3'"),
        ("rules: []\n", "r.yaml:1:1: unknown key 'rules': a rules file holds one list, alerts"),
        ("- a\n", "r.yaml:1:1: the rules file must be a mapping of names to values, not a list"),
        ("name: x\n", "r.yaml:1:1: unknown key 'name': a rules file holds one list, alerts"),
    ],
)
def test_files_that_are_not_rules(text: str, message: str) -> None:
    assert problems(text) == [message]


def test_an_empty_list_is_refused_a_gate_with_no_rules_would_always_pass() -> None:
    assert problems("alerts: []\n") == ["r.yaml:1:1: alerts is empty: the file must hold at least one rule"]


def test_a_key_written_twice_is_a_problem_not_the_last_one_silently() -> None:
    text = (
        "alerts:\n"
        "  - name: A\n"
        "    condition: error_rate > 0.05\n"
        "alerts:\n"
        "  - name: B\n"
        "    condition: latency_p95_ms > 10s\n"
        "    condition: latency_p95_ms > 1h\n"
    )
    assert problems(text) == [
        "r.yaml:4:1: duplicate key 'alerts' (first at line 1)",
        "r.yaml:7:5: duplicate key 'condition' (first at line 6)",
    ]


def test_a_name_must_say_something() -> None:
    assert problems('alerts:\n  - name: " "\n    condition: calls > 1\n') == [
        "r.yaml:2:11: name must not be empty: it titles the rule in every output"
    ]


@pytest.mark.parametrize(
    ("condition", "where"),
    [
        ('"\\"x\\" == \\"x\\" and error_rat > 1"', "3:36"),  # escapes in a double-quoted scalar
        ('"calls \\u003e\\u003e 1"', "3:29"),  # the second escaped '>' is the one refused
        ("'\"it''s\" == \"x\" and error_rat > 1'", "3:36"),  # a doubled quote in a single-quoted one
        ("!!str bad > 1", "3:22"),  # a tag before the value
        ("   calls >>  1", "3:26"),  # YAML drops the leading spaces of a plain scalar
    ],
)
def test_columns_point_into_the_file_through_quotes_escapes_and_tags(condition: str, where: str) -> None:
    (line,) = problems(f"alerts:\n  - name: a\n    condition: {condition}\n")
    assert line.startswith(f"r.yaml:{where}: ")


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such rules file"):
        load_rules(tmp_path / "nope.yaml")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="alerts:-name condition> 0.5 scope tool where\"'\n#[]{}", max_size=120))
def test_random_files_are_rules_or_problems_never_a_crash(text: str) -> None:
    lines: list[str] = []
    try:
        parse_rules(text, "r.yaml")
    except RulesError as error:
        lines = error.lines()
        assert lines
    assert all(line.startswith("r.yaml:") for line in lines)


@pytest.mark.parametrize("quote", ['"', "'"])
def test_an_unclosed_quote_is_reported_where_it_opens(quote: str) -> None:
    text = f"alerts:\n  - name: x\n    condition: {quote}error_rate > 1\n    action: notify\n  - name: y\n"
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "r.yaml")
    assert caught.value.lines() == ["r.yaml:3:16: not valid YAML: this quote is never closed"]


def test_a_rules_file_nested_too_deeply_is_a_clean_error() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules("alerts: " + "[" * 5000 + "]" * 5000 + "\n", "r.yaml")
    assert caught.value.lines() == ["r.yaml:1:1: not valid YAML: nested too deeply to read"]


def test_a_rule_of_a_thousand_terms_is_refused_at_its_column() -> None:
    condition = " or ".join(["error_rate > 1"] * 1000)
    with pytest.raises(RulesError) as caught:
        parse_rules(f'alerts:\n  - name: x\n    condition: "{condition}"\n', "r.yaml")
    assert caught.value.lines() == [f"r.yaml:3:{16 + 18 * 100 - 2}: too long: more than 200 operators in one condition"]


def test_division_by_a_literal_zero_is_refused_at_its_column() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules('alerts:\n  - name: x\n    condition: "error_rate / 0 > 1"\n', "r.yaml")
    assert caught.value.lines() == ["r.yaml:3:30: division by zero"]


def test_a_control_character_is_a_problem_at_its_place() -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules("alerts:\n  - name: a\x1fb\n", "r.yaml")
    assert caught.value.lines() == ["r.yaml:2:12: not valid YAML: character 0x001f is not allowed"]
