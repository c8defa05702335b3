"""The semantic JSON diff replay compares answers with: what counts as a difference, and what does not."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mcpobs.replay.diff import Difference, diff, parse_ignore

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=12,
)


@given(JSON)
def test_a_value_never_differs_from_itself(value: Any) -> None:
    assert diff(value, value) == []
    assert diff(value, json.loads(json.dumps(value))) == []


def test_key_order_number_form_and_json_inside_text_are_no_difference() -> None:
    recorded = {
        "result": {"content": [{"type": "text", "text": '{"a": 1, "b": [1, 2]}'}], "n": 1, "k": {"x": 1, "y": 2}}
    }
    answer = {
        "result": {
            "k": {"y": 2, "x": 1},
            "n": 1.0,
            "content": [{"text": '{\n  "b": [1, 2],\n  "a": 1\n}', "type": "text"}],
        }
    }
    assert diff(recorded, answer) == []


def test_each_kind_of_difference_with_its_path() -> None:
    recorded = {"result": {"content": [{"text": "a"}, {"text": "b"}], "isError": False, "gone": 1}}
    answer = {"result": {"content": [{"text": "A"}], "isError": 0, "new": True}}
    assert diff(recorded, answer) == [
        Difference("$.result.content[0].text", "changed", "a", "A"),
        Difference("$.result.content[1]", "missing", expected={"text": "b"}),
        Difference("$.result.gone", "missing", expected=1),
        Difference("$.result.isError", "changed", False, 0),  # a bool is not a number
        Difference("$.result.new", "added", actual=True),
    ]
    assert str(diff({"a": "x"}, {"a": "y"})[0]) == '$.a: "x" -> "y"'


def test_ignored_paths_with_wildcards() -> None:
    recorded = {"result": {"content": [{"text": "t1", "id": 1}, {"text": "t2", "id": 2}], "_meta": {"at": 1}}}
    answer = {"result": {"content": [{"text": "t1", "id": 9}, {"text": "t2", "id": 8}], "_meta": {"at": 2, "x": 1}}}
    ignore = parse_ignore(["result.content.*.id", "$.result._meta"])
    assert diff(recorded, answer, ignore) == []
    assert [d.path for d in diff(recorded, answer, parse_ignore(["result.content.0.id"]))] == [
        "$.result._meta.at",
        "$.result._meta.x",
        "$.result.content[1].id",
    ]
    with pytest.raises(ValueError, match="an empty path would ignore everything"):
        parse_ignore(["$"])


def test_a_redacted_recorded_value_matches_whatever_is_there() -> None:
    recorded = {"result": {"token": "[REDACTED]", "key": "<REDACTED_api_key>", "n": 1}}
    assert diff(recorded, {"result": {"token": "abc", "key": "sk-1", "n": 1}}) == []
    assert [d.path for d in diff(recorded, {"result": {"n": 1}})] == ["$.result.key", "$.result.token"]


KEYED = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,3}", fullmatch=True), children, max_size=3)
    ),
    max_leaves=10,
)


@given(KEYED, KEYED)
def test_every_path_the_diff_prints_can_be_given_to_ignore(recorded: Any, replayed: Any) -> None:
    differences = diff({"result": recorded}, {"result": replayed})
    for difference in differences:
        ignore = parse_ignore([difference.path])
        left = diff({"result": recorded}, {"result": replayed}, ignore)
        assert difference not in left
        assert ignore.unmatched() == []


def test_ignore_takes_the_printed_path_into_json_inside_text() -> None:
    recorded = {"result": {"content": [{"type": "text", "text": '{"datetime": "10:00", "tz": "UTC"}'}]}}
    replayed = {"result": {"content": [{"type": "text", "text": '{"datetime": "11:00", "tz": "UTC"}'}]}}
    [difference] = diff(recorded, replayed)
    assert difference.path == "$.result.content[0].text.datetime"
    for spelling in (difference.path, "result.content.0.text.datetime", "$.result.content[*].text['datetime']"):
        assert diff(recorded, replayed, parse_ignore([spelling])) == []


def test_an_ignore_pattern_that_meets_no_path_is_told() -> None:
    ignore = parse_ignore(["$.result.content[0].text", "result.nowhere", "error.*"])
    diff({"result": {"content": [{"text": "a"}]}}, {"result": {"content": [{"text": "b"}]}}, ignore)
    assert ignore.unmatched() == ["result.nowhere", "error.*"]
    with pytest.raises(ValueError, match="cannot read the path"):
        parse_ignore(["result.content[0"])


def test_redacted_values_on_either_side_match_when_asked() -> None:
    recorded = {"tools": [{"description": "Reads [REDACTED] files"}]}
    assert diff(recorded, {"tools": [{"description": "Reads secret files"}]}) == []
    plain, redacted = {"tools": [{"description": "x"}]}, {"tools": [{"description": "[REDACTED]"}]}
    assert diff(plain, redacted) != []  # an answer saying REDACTED is no redaction of the recording's
    assert diff(plain, redacted, redacted_either=True) == []


def test_a_text_redacted_in_part_matches_only_a_text_the_same_around_it() -> None:
    # a credential redacted inside a tool's text (a diff, a file, a log) stands for itself only: the
    # rest of the text was recorded, and an answer that changed there differs
    recorded = {"result": {"content": [{"type": "text", "text": "+KEY=[REDACTED]\n+rows: 5\n"}]}}
    same = {"result": {"content": [{"type": "text", "text": "+KEY=sk-abcdefghijklmnopqrstu\n+rows: 5\n"}]}}
    changed = {"result": {"content": [{"type": "text", "text": "+KEY=sk-abcdefghijklmnopqrstu\n+rows: 6\n"}]}}
    assert diff(recorded, same) == []
    assert [d.path for d in diff(recorded, changed)] == ["$.result.content[0].text"]
    assert diff({"a": "[REDACTED:sha256:0123456789abcdef]"}, {"a": {"any": 1}}) == []
    assert diff({"a": "x <REDACTED_api_key> y"}, {"a": "x k y"}) == []
    assert diff({"a": "x <REDACTED_api_key> y"}, {"a": "z k y"}) != []
    assert diff({"a": "[REDACTED] 1"}, {"a": 1}) != []
    # either side, for two folds of recorded data
    assert diff({"a": "token k, 1"}, {"a": "token [REDACTED], 1"}, redacted_either=True) == []
    assert diff({"a": "token k, 2"}, {"a": "token [REDACTED], 1"}, redacted_either=True) != []


def test_two_long_texts_alike_at_the_start_are_shown_where_they_part() -> None:
    head = "Unstaged changes:\ndiff --git a/config.env b/config.env\nindex fa37566..81b4b69 100644\n"
    [difference] = diff({"text": head + "+rows: 5\n"}, {"text": head + "+rows: 6000\n"})
    shown = difference.shown()
    assert "rows: 5" in shown
    assert "rows: 6000" in shown
    assert shown.count("…") == 2  # the start cut off, on both sides
    recorded, answered = json.dumps(head + "+rows: 5\n"), json.dumps(head + "+rows: 6000\n")
    assert difference.shown(None) == f"$.text: {recorded} -> {answered}"
    assert str(diff({"a": "x"}, {"a": "y"})[0]) == '$.a: "x" -> "y"'
