"""2026-07-28 multi round-trip requests: a call the server answers ``input_required`` and the client
sends again under a new id is one call, in event logs and in the traces loaded with them.

The files in tests/data/mrtr are real runs (``make_mrtr.py``): the mcp SDK 2.3 client and server,
through ``mcpobs record``, with their own OTel spans. Expected figures are read from the files
themselves (the log's times, the spans' times), never typed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mcpobs.analysis import Query, analyze
from mcpobs.eventlog.otlp import to_otlp
from mcpobs.eventlog.reader import read_event_log
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "mrtr"


def _calls(store: Store, **query: Any) -> dict[tuple[str, str], dict[str, Any]]:
    table = analyze(store, Query(views=("calls",), **query)).table("calls")
    return {(str(r["side"]), str(r["tool"])): r for r in table.records()}


def _book_calls(log: Path) -> list[list[dict[str, Any]]]:
    """The log's ``book`` requests and answers as (request, answer) records, in order of sending."""
    messages = read_event_log(log).messages()
    answers = {m["message"]["id"]: m for m in messages if m["dir"] == "s2c" and "method" not in m["message"]}
    return [
        [m, answers[m["message"]["id"]]]
        for m in messages
        if m["dir"] == "c2s" and m["message"].get("params", {}).get("name") == "book"
    ]


def _spans(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text().splitlines()
    return [
        s for line in lines for r in json.loads(line)["resourceSpans"] for ss in r["scopeSpans"] for s in ss["spans"]
    ]


@pytest.mark.parametrize("name", ["stdio-2026", "http-2026"])
def test_an_elicitation_taking_two_rounds_is_one_call_from_the_first_send_to_the_final_answer(
    name: str, store: Store
) -> None:
    log = DATA / f"{name}.log.jsonl"
    rounds = _book_calls(log)
    # the file is what the issue describes: input_required, then a retry under a new id echoing the state
    assert [r[1]["message"]["result"]["resultType"] for r in rounds] == ["input_required", "complete"] * 2
    assert len({r[0]["message"]["id"] for r in rounds}) == 4
    load(store, [str(log)])
    book = _calls(store)[("client", "book")]
    # two logical calls of two rounds each; the declined one's final answer is an isError result
    assert (book["calls"], book["rounds"], book["errors"]) == (2, 4, 1)
    assert book["success_rate"] == 0.5
    first, second = rounds[0:2], rounds[2:4]
    latencies = sorted((last[1]["t"] - start[0]["t"]) / 1e6 for start, last in (first, second))
    assert book["latency_max_ms"] == pytest.approx(latencies[1])
    assert book["latency_p50_ms"] == pytest.approx(sum(latencies) / 2)
    errors = analyze(store, Query(views=("errors",))).table("errors").records()
    assert [(r["tool"], r["error_class"], r["errors"]) for r in errors] == [("book", "tool_error", 1)]


@pytest.mark.parametrize("name", ["stdio-2025", "http-2025"])
def test_a_2025_elicitation_inside_one_call_stays_one_call_of_one_round(name: str, store: Store) -> None:
    log = DATA / f"{name}.log.jsonl"
    rounds = _book_calls(log)
    assert len(rounds) == 2
    assert any(m["message"].get("method") == "elicitation/create" for m in read_event_log(log).messages())
    load(store, [str(log)])
    book = _calls(store)[("client", "book")]
    assert (book["calls"], book["rounds"], book["errors"]) == (2, 2, 1)
    latencies = sorted((answer["t"] - request["t"]) / 1e6 for request, answer in rounds)
    assert book["latency_max_ms"] == pytest.approx(latencies[1])


def test_rounds_pair_by_the_request_state_they_echo_when_calls_interleave(store: Store) -> None:
    log = DATA / "concurrent-2026.log.jsonl"
    rounds = _book_calls(log)
    rooms = [r[0]["message"]["params"]["arguments"]["room"] for r in rounds]
    # both calls wait for their retry when room 12's is sent: the latest waiting call is room 14's
    assert rooms == ["12", "14", "12", "14"]
    spans = [s for s in to_otlp(read_event_log(log))["resourceSpans"][0]["scopeSpans"][0]["spans"]]
    booked = {
        json.loads(a["value"]["stringValue"])["room"]: s
        for s in spans
        for a in s["attributes"]
        if a["key"] == "gen_ai.tool.call.arguments" and s["name"] == "tools/call book"
    }
    outcome = {room: [a["value"] for a in s["attributes"] if a["key"] == "error.type"] for room, s in booked.items()}
    assert outcome == {"12": [], "14": [{"stringValue": "tool_error"}]}
    assert int(booked["12"]["endTimeUnixNano"]) == rounds[2][1]["t"]
    assert int(booked["14"]["endTimeUnixNano"]) == rounds[3][1]["t"]
    load(store, [str(log)])
    assert _calls(store)[("client", "book")]["rounds"] == 4


def test_a_call_left_at_input_required_is_abandoned_not_a_success(store: Store, tmp_path: Path) -> None:
    log = DATA / "abandoned-2026.log.jsonl"
    ((request, answer),) = _book_calls(log)
    assert answer["message"]["result"]["resultType"] == "input_required"
    load(store, [str(log)])
    book = _calls(store)[("client", "book")]
    assert (book["calls"], book["rounds"], book["errors"]) == (1, 1, 1)
    assert book["latency_max_ms"] == pytest.approx((answer["t"] - request["t"]) / 1e6)
    errors = analyze(store, Query(views=("errors",))).table("errors").records()
    assert [(r["tool"], r["error_class"]) for r in errors] == [("book", "abandoned")]
    # a log cut short right after the input_required answer: the client may still retry, so no outcome
    lines = log.read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: next(i for i, line in enumerate(lines) if '"input_required"' in line) + 1]))
    spans = to_otlp(read_event_log(cut))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert [s["name"] for s in spans] == ["server/discover", "tools/call echo", "tools/list"]


@pytest.mark.parametrize("order", ["log-first", "traces-first"])
@pytest.mark.parametrize("name", ["stdio-2026", "http-2026"])
def test_the_log_folds_the_rounds_of_the_clients_and_servers_own_spans(name: str, order: str, store: Store) -> None:
    files = [DATA / f"{name}.{kind}.jsonl" for kind in ("log", "client-spans", "server-spans")]
    load(store, [str(f) for f in (files if order == "log-first" else files[::-1])])
    calls = _calls(store)
    assert {
        side: (calls[(side, "book")]["calls"], calls[(side, "book")]["rounds"]) for side in ("client", "server")
    } == {
        "client": (2, 4),
        "server": (2, 4),
    }
    assert calls[("server", "book")]["errors"] == 1
    # the server's call runs from its first round's start to its last round's end
    served = sorted(
        (s for s in _spans(files[2]) if s["name"] == "tools/call book"), key=lambda s: int(s["startTimeUnixNano"])
    )
    latencies = sorted(
        (int(last["endTimeUnixNano"]) - int(first["startTimeUnixNano"])) / 1e6
        for first, last in (served[0:2], served[2:4])
    )
    assert calls[("server", "book")]["latency_max_ms"] == pytest.approx(latencies[1])
    assert calls[("client", "echo")]["calls"] == calls[("server", "echo")]["calls"] == 1


def test_the_sdks_own_spans_alone_say_nothing_of_rounds(store: Store) -> None:
    """The mcp SDK 2.3 marks no span input_required: without the log each round is a call (documented)."""
    load(store, [str(DATA / "stdio-2026.client-spans.jsonl"), str(DATA / "stdio-2026.server-spans.jsonl")])
    calls = _calls(store)
    assert (calls[("client", "book")]["calls"], calls[("client", "book")]["rounds"]) == (4, 4)


def test_without_sessions_each_request_names_its_own_client(store: Store) -> None:
    log = DATA / "http-two-clients-2026.log.jsonl"
    messages = read_event_log(log).messages()
    named = [
        m["message"]["params"]["_meta"]["io.modelcontextprotocol/clientInfo"]["name"]
        for m in messages
        if m["dir"] == "c2s" and m["message"].get("method") == "tools/call"
    ]
    assert named == ["front-desk", "night-audit"]
    assert not any(m.get("http", {}).get("session_id") for m in messages)
    load(store, [str(log)])
    table = analyze(store, Query(views=("calls",), by=("client", "server"))).table("calls").records()
    # each client's server/discover, tools/list and echo, answered by the server its results name
    assert {(r["client"], r["server"]): r["calls"] for r in table} == {
        ("front-desk", "booking-desk"): 3,
        ("night-audit", "booking-desk"): 3,
    }


def _by_method(store: Store) -> dict[str, dict[str, Any]]:
    table = analyze(store, Query(views=("calls",), by=("method",))).table("calls")
    return {str(r["method"]): r for r in table.records()}


def test_a_task_augmented_call_is_one_call_until_its_result(store: Store) -> None:
    """server-everything's task tool, polled with tasks/get by a client writing the wire by hand."""
    log = DATA / "tasks-2025.log.jsonl"
    messages = read_event_log(log).messages()
    requests = [m for m in messages if m["dir"] == "c2s" and "id" in m["message"]]
    answers = {m["message"]["id"]: m for m in messages if m["dir"] == "s2c" and "id" in m["message"]}
    call = next(m for m in requests if m["message"]["params"].get("task"))
    task = answers[call["message"]["id"]]["message"]["result"]["task"]["taskId"]
    polls = [m for m in requests if m["message"].get("params", {}).get("taskId") == task]
    assert {m["message"]["method"] for m in polls} == {"tasks/get", "tasks/result"}
    final = answers[polls[-1]["message"]["id"]]
    load(store, [str(log)])
    methods = _by_method(store)
    # tasks/get and tasks/result are rounds of the call, not calls; echo after it is a call of its own
    assert set(methods) == {"initialize", "tools/call"}
    assert (methods["tools/call"]["calls"], methods["tools/call"]["rounds"]) == (2, 2 + len(polls))
    assert methods["tools/call"]["errors"] == 0
    assert methods["tools/call"]["latency_max_ms"] == pytest.approx((final["t"] - call["t"]) / 1e6)


def test_a_task_the_client_stopped_polling_is_abandoned(store: Store) -> None:
    load(store, [str(DATA / "tasks-abandoned-2025.log.jsonl")])
    methods = _by_method(store)
    assert (methods["tools/call"]["calls"], methods["tools/call"]["rounds"], methods["tools/call"]["errors"]) == (
        1,
        3,
        1,
    )
    errors = analyze(store, Query(views=("errors",), by=("method",))).table("errors").records()
    assert [(r["method"], r["error_class"]) for r in errors] == [("tools/call", "abandoned")]


def test_a_call_whose_stream_broke_and_was_sent_again_is_one_call(store: Store) -> None:
    """A real server killed mid-stream, and a client writing the 2026-07-28 wire by hand (make_broken_stream.py)."""
    log = DATA / "broken-stream-2026.log.jsonl"
    records = read_event_log(log).records
    slow = [
        r
        for r in records
        if r["kind"] == "message" and r["dir"] == "c2s" and r["message"].get("params", {}).get("name") == "slow"
    ]
    closed = [(r["by"], r["exchange"]) for r in records if r.get("event") == "stream_closed"]
    assert closed == [("server", slow[0]["http"]["exchange"]), ("client", slow[2]["http"]["exchange"])]
    answer = next(
        r
        for r in records
        if r["kind"] == "message" and r["message"].get("id") == slow[1]["message"]["id"] and r["dir"] == "s2c"
    )
    client_closed = next(r for r in records if r.get("event") == "stream_closed" and r["by"] == "client")
    load(store, [str(log)])
    call = _calls(store)[("client", "slow")]
    # the broken call and its re-issue are one call, answered; the stream the client closed is a cancellation
    assert (call["calls"], call["rounds"], call["errors"]) == (2, 3, 1)
    assert call["latency_max_ms"] == pytest.approx((answer["t"] - slow[0]["t"]) / 1e6)
    latencies = sorted([(answer["t"] - slow[0]["t"]) / 1e6, (client_closed["t"] - slow[2]["t"]) / 1e6])
    assert call["latency_p50_ms"] == pytest.approx(sum(latencies) / 2)
    errors = analyze(store, Query(views=("errors",))).table("errors").records()
    assert [(r["tool"], r["error_class"]) for r in errors] == [("slow", "cancelled")]


def _by_client(store: Store) -> dict[str, tuple[int, int, int, float]]:
    """Each client's calls, errors, rounds and longest latency."""
    table = analyze(store, Query(views=("calls",), by=("client",))).table("calls")
    return {str(r["client"]): (r["calls"], r["errors"], r["rounds"], r["latency_max_ms"]) for r in table.records()}


def _ms(log: Path, start: int, end: int) -> float:
    """The time from the log's message ``start`` to its message ``end`` (indexes among its messages)."""
    messages = read_event_log(log).messages()
    return (messages[end]["t"] - messages[start]["t"]) / 1e6


@pytest.mark.parametrize("name", ["interleaved-2026", "interleaved-nostate-2026"])
def test_a_round_continues_a_call_of_its_own_client(name: str, store: Store) -> None:
    """Written by hand (make_interleaved.py): two clients' calls interleave, and the requestState does
    not tell them apart (redacted to [REDACTED] in both, or absent, both booking the same room): the
    clientInfo each retry names does. front-desk: asked at 0, retried at 10, booked at 11; night-audit:
    asked at 1, retried at 100, declined (isError) at 101."""
    log = DATA / f"{name}.log.jsonl"
    load(store, [str(log)])
    assert _by_client(store) == {
        "front-desk": (1, 0, 2, pytest.approx(_ms(log, 0, 5))),
        "night-audit": (1, 1, 2, pytest.approx(_ms(log, 1, 7))),
    }


def test_rounds_that_name_no_client_are_not_paired_by_guess(store: Store) -> None:
    """Written by hand (make_interleaved.py): as above, but the retries name no client, carry no state and
    send the same room: nothing tells which call each continues, so each is a call of its own and the
    first rounds are abandoned, rather than one client's outcome counted as the other's."""
    log = DATA / "interleaved-anonymous-2026.log.jsonl"
    load(store, [str(log)])
    book = _calls(store)[("client", "book")]
    assert (book["calls"], book["rounds"]) == (4, 4)
    errors = analyze(store, Query(views=("errors",), by=("client",))).table("errors").records()
    # the retries name no client, and the log names two: theirs is no client's (mcp-client), not a guess
    assert sorted((r["client"], r["error_class"], r["errors"]) for r in errors) == [
        ("front-desk", "abandoned", 1),
        ("mcp-client", "tool_error", 1),
        ("night-audit", "abandoned", 1),
    ]


@pytest.mark.parametrize(
    ("name", "second"),
    [
        ("reissue-other-client-2026", "night-audit"),
        ("reissue-soon-other-client-2026", "night-audit"),
        ("reissue-late-2026", "front-desk"),
    ],
)
def test_a_broken_call_is_sent_again_only_by_its_client_and_soon(name: str, second: str, store: Store) -> None:
    """Written by hand (make_reissue.py): front-desk's echo stream breaks and front-desk gives up; the
    same echo comes from another client (an hour later, or 5 ms later), or from front-desk an hour
    later: a call of its own each time, and the broken one a transport failure."""
    log = DATA / f"{name}.log.jsonl"
    load(store, [str(log)])
    errors = analyze(store, Query(views=("errors",), by=("client",))).table("errors").records()
    assert [(r["client"], r["error_class"]) for r in errors] == [("front-desk", "transport")]
    figures = _by_client(store)
    later = pytest.approx(_ms(log, 1, 2))
    if second == "front-desk":
        assert figures == {"front-desk": (2, 1, 2, later)}
    else:
        assert figures[second] == (1, 0, 1, later)
        assert figures["front-desk"][:3] == (1, 1, 1)


@pytest.mark.parametrize("name", ["stdio-2025", "http-2025"])
def test_a_request_the_server_sends_names_the_mcp_client_and_server_whoever_sent_it(name: str) -> None:
    """2025-11-25 elicitation/create, from the server to the client (make_mrtr.py: real mcp SDK 2.3 client and
    server, with the server's own spans): its client is the MCP client and its server the MCP server, and its
    side the MCP end that recorded it: the client's in the log (a SERVER span, child of the server's span), the
    server's in the server's spans (a CLIENT span); loaded together, the two sides of one request, whichever
    file comes first."""
    log, spans = DATA / f"{name}.log.jsonl", DATA / f"{name}.server-spans.jsonl"
    client = next(
        m["message"]["params"]["clientInfo"]["name"]
        for m in read_event_log(log).messages()
        if m["message"].get("method") == "initialize"
    )
    server = next(
        a["value"]["stringValue"]
        for line in spans.read_text().splitlines()
        for r in json.loads(line)["resourceSpans"]
        for a in r["resource"]["attributes"]
        if a["key"] == "service.name"
    )

    def elicitations(*files: Path) -> set[tuple[Any, ...]]:
        with Store() as store:
            load(store, [str(f) for f in files])
            table = analyze(store, Query(views=("calls",), by=("method", "server", "client"))).table("calls")
            return {
                (r["side"], r["server"], r["client"], r["calls"])
                for r in table.records()
                if r["method"] == "elicitation/create"
            }

    asked = sum(1 for m in read_event_log(log).messages() if m["message"].get("method") == "elicitation/create")
    assert elicitations(log) == {("client", server, client, asked)}
    assert elicitations(spans) == {("server", server, None, asked)}
    both = {("client", server, client, asked), ("server", server, None, asked)}
    assert elicitations(log, spans) == both
    assert elicitations(spans, log) == both
