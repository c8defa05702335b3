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
