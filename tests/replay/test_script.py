"""What a replay sends, and which steps wait for which: the script built from a recording."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcpobs.errors import InputError
from mcpobs.eventlog.otlp import _pair
from mcpobs.eventlog.reader import EventLog, read_event_log
from mcpobs.replay.script import build_script
from mcpobs.replay.state import SessionState

TOOLS = {
    "tools": [
        {"name": "get", "annotations": {"readOnlyHint": True}, "inputSchema": {}},
        {"name": "put", "inputSchema": {}},
    ]
}


def _log(*exchanges: tuple[str, dict[str, Any]]) -> EventLog:
    records = [{"t": 1_000 + n, "kind": "message", "dir": d, "message": m} for n, (d, m) in enumerate(exchanges)]
    return EventLog("test.jsonl", {"kind": "header", "transport": "stdio"}, records)


def _request(n: int, method: str, **params: Any) -> tuple[str, dict[str, Any]]:
    return "c2s", {"jsonrpc": "2.0", "id": n, "method": method, "params": params}


def _result(n: int, result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "s2c", {"jsonrpc": "2.0", "id": n, "result": result}


def _call(n: int, tool: str, answer: str = "ok", **arguments: Any) -> list[tuple[str, dict[str, Any]]]:
    return [
        _request(n, "tools/call", name=tool, arguments=arguments),
        _result(n, {"content": [{"type": "text", "text": answer}]}),
    ]


def _handshake() -> list[tuple[str, dict[str, Any]]]:
    return [
        _request(1, "initialize", protocolVersion="2025-11-25", capabilities={}, clientInfo={"name": "c"}),
        _result(1, {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "s"}}),
        ("c2s", {"jsonrpc": "2.0", "method": "notifications/initialized"}),
        _request(2, "tools/list"),
        _result(2, TOOLS),
    ]


def test_reads_overlap_a_write_waits_for_all_before_it_and_a_read_after_it_waits_for_it() -> None:
    script = build_script(
        _log(
            *_handshake(),
            *_call(3, "get", key="a"),
            *_call(4, "get", key="b"),
            *_call(5, "put", key="a", value="x"),
            *_call(6, "get", key="a"),
        )
    )
    steps = {s.index: s for s in script.steps}
    assert [s.label for s in script.steps] == [
        "initialize",
        "notifications/initialized",
        "tools/list",
        "tools/call get",
        "tools/call get",
        "tools/call put",
        "tools/call get",
    ]
    assert steps[1].depends_on == {0}  # the notification changes state: after everything before it
    assert steps[3].depends_on == {1}
    assert steps[4].depends_on == {1}
    assert steps[5].depends_on == {2, 3, 4, 1}  # the write waits for the reads before it
    assert steps[6].depends_on == {5}  # the read after the write waits for it


def test_a_request_using_a_value_an_answer_gave_waits_for_that_answer() -> None:
    script = build_script(
        _log(
            *_handshake(),
            _request(3, "resources/list"),
            _result(3, {"resources": [], "nextCursor": "cursor-after-page-1"}),
            _request(4, "prompts/list"),
            _result(4, {"prompts": []}),
            _request(5, "resources/list", cursor="cursor-after-page-1"),
            _result(5, {"resources": []}),
        )
    )
    assert 3 in script.steps[5].depends_on
    assert 4 not in script.steps[5].depends_on


def test_calls_the_recording_had_in_flight_together_need_not_wait() -> None:
    script = build_script(
        _log(
            *_handshake(),
            _request(3, "tools/call", name="put", arguments={"key": "a"}),
            _request(4, "tools/call", name="put", arguments={"key": "b"}),
            _result(3, {"content": []}),
            _result(4, {"content": []}),
        )
    )
    assert 3 not in script.steps[4].depends_on


def _ask(n: int) -> tuple[str, dict[str, Any]]:
    return _request(n, "tools/call", name="ask", arguments={"n": n})


def _elicit(n: int, message: str) -> tuple[str, dict[str, Any]]:
    return "s2c", {"jsonrpc": "2.0", "id": n, "method": "elicitation/create", "params": {"message": message}}


def _reply(n: int, action: str) -> tuple[str, dict[str, Any]]:
    return "c2s", {"jsonrpc": "2.0", "id": n, "result": {"action": action}}


def test_answers_to_the_servers_requests_go_to_the_step_that_waited_in_order_per_attempt() -> None:
    script = build_script(
        _log(*_handshake(), _ask(3), _elicit(0, "one?"), _reply(0, "first"), _elicit(1, "two?"), _reply(1, "second"))
    )
    assert [s.label for s in script.steps][-1] == "tools/call ask"  # the client's answers are no steps
    ask = script.steps[-1].index
    given: dict[Any, int] = {}
    assert script.answers.find([(ask, 1)], "elicitation/create", {"message": "one?"}, given) == {
        "result": {"action": "first"}
    }
    assert script.answers.find([(ask, 1)], "elicitation/create", {"message": "two?"}, given) == {
        "result": {"action": "second"}
    }
    assert script.answers.find([(ask, 1)], "elicitation/create", {"message": "?"}, given) == {
        "result": {"action": "second"}
    }
    # a retry (attempt 2) is given the same answers again, from the first
    assert script.answers.find([(ask, 2)], "elicitation/create", {"message": "one?"}, given) == {
        "result": {"action": "first"}
    }
    assert script.answers.find([(ask, 1)], "sampling/createMessage", {}, given) is None


def test_overlapping_asks_each_get_their_own_answer_when_replayed_one_at_a_time() -> None:
    # the recording had both in flight: the second question came while both waited
    script = build_script(
        _log(
            *_handshake(), _ask(3), _elicit(0, "for 3"), _ask(4), _elicit(1, "for 4"), _reply(0, "a3"), _reply(1, "a4")
        )
    )
    first, second = script.steps[-2].index, script.steps[-1].index
    given: dict[Any, int] = {}
    assert script.answers.find([(first, 1)], "elicitation/create", {"message": "for 3"}, given) == {
        "result": {"action": "a3"}
    }
    assert script.answers.find([(second, 1)], "elicitation/create", {"message": "for 4"}, given) == {
        "result": {"action": "a4"}
    }


def test_repeated_request_ids_pair_with_their_answers_in_order() -> None:
    script = build_script(
        _log(
            *_handshake(),
            *[_request(3, "tools/call", name="echo", arguments={"t": t}) for t in ("one", "two")],
            _result(3, {"content": [{"type": "text", "text": "one"}]}),
            _result(3, {"content": [{"type": "text", "text": "two"}]}),
        )
    )
    answers = [s.expected["result"]["content"][0]["text"] for s in script.steps[-2:] if s.expected]
    assert answers == ["one", "two"]


CONCURRENT_2026 = Path(__file__).parents[1] / "data" / "replay" / "time-http-concurrent-2026.jsonl"


def test_requests_with_one_id_pair_with_the_answer_of_their_own_http_exchange() -> None:
    # mcp-server-time over HTTP in 2026-07-28 (one stateless session), three clients at once each
    # sending id 2: the answers came back New York, Cairo, Sydney, the requests went out New York,
    # Sydney, Cairo. Paired by id and arrival order, Sydney's and Cairo's swapped: DIFFERS every run
    log = read_event_log(CONCURRENT_2026)
    script = build_script(log)
    calls = [s for s in script.steps if s.method == "tools/call"]
    assert len(calls) == 10
    for step in calls:
        assert step.expected is not None
        answer = json.loads(step.expected["result"]["content"][0]["text"])
        assert answer["target"]["timezone"] == step.params["arguments"]["target_timezone"], step.index
    # analysis pairs them by the same rule
    paired, _ = _pair(log)
    for call in paired:
        if call.request["method"] == "tools/call":
            assert call.response is not None
            answer = json.loads(call.response["result"]["content"][0]["text"])
            assert answer["target"]["timezone"] == call.request["params"]["arguments"]["target_timezone"]


def test_a_client_message_that_cannot_be_sent_is_an_input_error_at_its_line() -> None:
    with pytest.raises(InputError, match=r"test.jsonl:7: a client message that cannot be sent again: params"):
        build_script(_log(*_handshake(), ("c2s", {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": ["x"]})))


def test_the_protocol_revision_comes_from_the_initialize_result_or_the_requests_meta() -> None:
    assert build_script(_log(*_handshake())).protocol_version == "2025-11-25"
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}
    stateless = build_script(_log(_request(1, "server/discover", _meta=meta), _result(1, {})))
    assert stateless.stateless
    assert "2026-07-28, stateless" in stateless.era


def test_a_recording_without_client_messages_is_refused() -> None:
    with pytest.raises(InputError, match="nothing to replay"):
        build_script(_log(_result(1, {})))


def test_the_state_folds_lists_pages_subscriptions_and_the_last_success() -> None:
    state = SessionState()
    state.apply(
        0,
        {"method": "initialize"},
        {
            "result": {
                "protocolVersion": "2025-11-25",
                "serverInfo": {"name": "s", "version": "1"},
                "capabilities": {"resources": {"subscribe": True}},
            }
        },
    )
    state.apply(1, {"method": "resources/list"}, {"result": {"resources": [{"uri": "a://1"}], "nextCursor": "c"}})
    state.apply(
        2, {"method": "resources/list", "params": {"cursor": "c"}}, {"result": {"resources": [{"uri": "a://2"}]}}
    )
    state.apply(3, {"method": "resources/subscribe", "params": {"uri": "a://1"}}, {"result": {}})
    state.apply(4, {"method": "resources/subscribe", "params": {"uri": "a://2"}}, {"result": {}})
    state.apply(5, {"method": "resources/unsubscribe", "params": {"uri": "a://1"}}, {"result": {}})
    state.apply(6, {"method": "tools/call", "params": {"name": "t"}}, {"result": {"isError": True}})
    state.apply(7, {"method": "logging/setLevel", "params": {"level": "debug"}}, {"error": {"code": -1}})
    assert (state.server_name, state.server_version, state.protocol_version) == ("s", "1", "2025-11-25")
    assert [r["uri"] for r in state.resources or []] == ["a://1", "a://2"]
    assert state.subscriptions == ["a://2"]
    assert state.log_level is None  # refused: not the state
    assert state.last_successful_call == {"step": 5, "method": "resources/unsubscribe", "target": "a://1"}
    assert SessionState.from_json(state.to_json()) == state


def test_a_request_while_another_step_waits_takes_the_answer_to_the_same_request() -> None:
    # a server asking on a timer (server-everything's roots/list) asks while another step waits than in the
    # recording (after a recovery): the same request's recorded answer, not "the recording holds no answer"
    script = build_script(
        _log(*_handshake(), _ask(3), _elicit(0, "one?"), _reply(0, "first"), _result(3, {"content": []}), _ask(4))
    )
    later = script.steps[-1].index
    assert script.answers.find([(later, 1)], "elicitation/create", {"message": "one?"}, {}) == {
        "result": {"action": "first"}
    }
    assert script.answers.find([(later, 1)], "elicitation/create", {"message": "another?"}, {}) is None
