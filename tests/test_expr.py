"""The condition language: what parses, what it means, where it goes wrong; round trips and random text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcpobs.expr import Binary, ExprError, Kind, Name, Node, Number, String, Unary, check, constant, evaluate, parse

METRICS: dict[str, Kind] = {
    "error_rate": "number",
    "latency_p95_ms": "number",
    "baseline.latency_p95_ms": "number",
    "calls": "number",
    "token_cost": "number",
    "tool": "string",
}


def run(text: str, **values: float | str | None) -> object:
    node = parse(text)
    check(node, METRICS)
    return evaluate(node, {k.replace("__", "."): v for k, v in values.items()})


@pytest.mark.parametrize(
    ("text", "values", "want"),
    [
        ("error_rate > 0.05", {"error_rate": 0.06}, True),
        ("error_rate > 0.05", {"error_rate": 0.05}, False),
        ("error_rate > 5%", {"error_rate": 0.06}, True),
        ("latency_p95_ms > 2s", {"latency_p95_ms": 2001}, True),
        ("latency_p95_ms <= 150ms", {"latency_p95_ms": 150}, True),
        ("latency_p95_ms > 1.5m", {"latency_p95_ms": 89_999}, False),
        (
            "latency_p95_ms > baseline.latency_p95_ms * 1.2",
            {"latency_p95_ms": 121, "baseline__latency_p95_ms": 100},
            True,
        ),
        (
            "latency_p95_ms - baseline.latency_p95_ms > 20ms",
            {"latency_p95_ms": 121, "baseline__latency_p95_ms": 100},
            True,
        ),
        ("token_cost / calls > 0.01", {"token_cost": 1, "calls": 50}, True),
        ("calls >= 10 and error_rate > 0.1", {"calls": 9, "error_rate": 0.5}, False),
        ("calls < 10 or not (error_rate > 0.1)", {"calls": 20, "error_rate": 0.05}, True),
        ("-calls < -5", {"calls": 6}, True),
        ("2 + 3 * 4 == 14", {}, True),
        ("(2 + 3) * 4 == 20", {}, True),
        ("10 - 4 - 3 == 3", {}, True),
        ('tool == "search" and calls > 1', {"tool": "search", "calls": 2}, True),
        ("tool != 'se\\'arch'", {"tool": "se'arch"}, False),
    ],
)
def test_meaning(text: str, values: dict[str, float | str], want: bool) -> None:
    assert run(text, **values) is want


def test_a_missing_value_gives_no_verdict_and_kleene_logic() -> None:
    assert run("latency_p95_ms > baseline.latency_p95_ms", latency_p95_ms=5) is None
    assert run("calls > 1 and error_rate > 0.1", calls=0) is False
    assert run("calls > 1 or error_rate > 0.1", calls=5) is True
    assert run("not (error_rate > 0.1)") is None
    assert run("token_cost / calls > 1", token_cost=1, calls=0) is None


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("error_rate >", "expected a number, a metric or '(', found the end of the condition", 13),
        ("error_rate > 0.05 )", "unexpected ')'", 19),
        ("(error_rate > 0.05", "expected ')' to close the '(' at column 1", 19),
        ("error_rate = 0.05", "unexpected '=' (use == to compare)", 12),
        ("calls > 1 && error_rate > 0", "unexpected '&' (use and, or, not)", 11),
        ("0 < error_rate < 1", "a second comparison: join the two with and/or", 16),
        ("", "empty expression", 1),
        ("(" * 65 + "calls > 1" + ")" * 65, "nested too deeply (more than 64 parentheses or prefix operators)", 65),
        ("not " * 100 + "calls > 1", "nested too deeply (more than 64 parentheses or prefix operators)", 257),
        ("calls > \u0665", "unexpected '\u0665'", 9),
        ("error_rate > 1e999", "number 1e999 is too large", 14),
        ("error_rate > 5 apples", "unexpected 'apples'", 16),
        # a literal 0 divides into "no verdict" for every check: the gate would pass whatever the data
        ("error_rate / 0 > 1", "division by zero", 14),
        ("calls > 1 / -0%", "division by zero", 13),
        ("calls > 1 / (0ms)", "division by zero", 14),
        # a divisor that works out to 0 whatever the data is refused as well, at its column
        ("error_rate / (1 - 1) > 1", "division by zero", 15),
        ("calls > 1 / (2 * 0 + 0ms)", "division by zero", 14),
        ("calls > 1 / -(5% - 0.05)", "division by zero", 13),
        # flat chains build a tree as deep as they are long: bounded, never a RecursionError
        (" or ".join(["calls > 1"] * 1000), "too long: more than 200 operators in one condition", 13 * 100 - 2),
        (" + ".join(["calls"] * 1000) + " > 1", "too long: more than 200 operators in one condition", 7 + 8 * 200),
    ],
)
def test_syntax_errors_say_where(text: str, message: str, column: int) -> None:
    with pytest.raises(ExprError) as caught:
        parse(text)
    assert (caught.value.message, caught.value.column) == (message, column)


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("eror_rate > 0.05", "unknown metric 'eror_rate'; did you mean 'error_rate'?", 1),
        (
            "calls > 0 and zzz > 1",
            "unknown metric 'zzz'; known: baseline.latency_p95_ms, calls, error_rate, latency_p95_ms, token_cost, tool",
            15,
        ),
        ("error_rate + 1", "the condition must be a comparison, not a number", 1),
        ("tool > 3", "'>' needs numbers, not a string", 1),
        ("tool == 3", "cannot compare a string with a number", 6),
        ("calls and error_rate > 1", "'and' joins comparisons, not a number", 1),
        ("not calls", "'not' needs a comparison, not a number", 1),
        ("-(calls > 1) == 1", "'-' needs a number, not a bool", 1),
    ],
)
def test_meaning_errors_say_where(text: str, message: str, column: int) -> None:
    with pytest.raises(ExprError) as caught:
        check(parse(text), METRICS)
    assert (caught.value.message, caught.value.column) == (message, column)


def _numbers() -> st.SearchStrategy[Node]:
    return st.floats(min_value=0, max_value=1e12, allow_nan=False).map(Number)


def _zero(node: Node) -> bool:
    return constant(node) == 0


def _arithmetic() -> st.SearchStrategy[Node]:
    leaves = st.one_of(_numbers(), st.sampled_from(["calls", "error_rate", "baseline.latency_p95_ms"]).map(Name))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(Binary, st.sampled_from(["+", "-", "*"]), inner, inner),
            # a divisor that works out to 0 is refused by the parser (division by zero)
            st.builds(Binary, st.just("/"), inner, inner.filter(lambda n: not _zero(n))),
            st.builds(Unary, st.just("-"), inner),
        ),
        max_leaves=6,
    )


def _conditions() -> st.SearchStrategy[Node]:
    comparisons = st.one_of(
        st.builds(Binary, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _arithmetic(), _arithmetic()),
        st.builds(Binary, st.sampled_from(["==", "!="]), st.just(Name("tool")), st.text(max_size=8).map(String)),
    )
    return st.recursive(
        comparisons,
        lambda inner: st.one_of(
            st.builds(Binary, st.sampled_from(["and", "or"]), inner, inner), st.builds(Unary, st.just("not"), inner)
        ),
        max_leaves=5,
    )


@settings(max_examples=300)
@given(_conditions())
def test_printing_and_parsing_round_trip(node: Node) -> None:
    again = parse(str(node))
    assert again == node
    check(again, METRICS)


def _error_column(text: str) -> int | None:
    """Where parsing or checking ``text`` fails, or None when it is a valid condition."""
    try:
        check(parse(text), METRICS)
    except ExprError as e:
        return e.column
    return None


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from(list("error_at calls<>=!&|()+-*/.0123456789ms% \"'not and or")), max_size=40))
def test_random_text_parses_or_fails_with_a_column(text: str) -> None:
    column = _error_column(text)
    if column is None:
        evaluate(parse(text), {"calls": 3.0, "error_rate": 0.5})
    else:
        assert 1 <= column <= len(text) + 1


@settings(max_examples=200)
@given(st.text(max_size=30))
def test_any_unicode_text_never_crashes(text: str) -> None:
    column = _error_column(text)
    assert column is None or 1 <= column <= len(text) + 1


def test_the_longest_condition_allowed_is_checked_and_evaluated() -> None:
    text = "(" * 63 + " + ".join(["calls"] * 200) + ")" * 63 + " > 1"
    node = parse(text)
    check(node, {"calls": "number"})
    assert evaluate(node, {"calls": 1.0}) is True
    assert str(node).count("calls") == 200
