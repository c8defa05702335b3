"""An event log loaded with the client's and the server's own spans of the same run: the figures must not
depend on the order the files are given, in one run or one file at a time into a database.

The files are real runs (tests/data/mrtr/make_mrtr.py): the mcp SDK 2.3 client and server through
``mcpobs record``, with their own OTel spans. A call of one round in the log is the client's own span (its
request carried that span's traceparent); its outcome (an ``isError`` result, ``input_required``) is only
in the log.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcpobs.analysis import Query, analyze
from mcpobs.analysis.queries import ARGUMENT_VIEWS, CALL_VIEWS
from mcpobs.cli import app
from mcpobs.ingest import load
from mcpobs.store import Store, StoreOptions
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "mrtr"
KINDS = ("log", "client-spans", "server-spans")


def _figures(store: Store) -> dict[str, list[str]]:
    """The calls and errors tables, by everything that names a call, as sorted rows."""
    by = ("method", "target", "client", "server")
    result = analyze(store, Query(views=("calls", "errors"), by=by))
    return {view: sorted(str(r) for r in result.table(view).records()) for view in ("calls", "errors")}


def _files(name: str, *kinds: str) -> list[str]:
    return [str(DATA / f"{name}.{kind}.jsonl") for kind in kinds]


@pytest.mark.parametrize("name", ["abandoned-2026", "stdio-2026", "http-2025"])
def test_a_log_and_the_clients_spans_give_the_same_figures_in_every_order(name: str, tmp_path: Path) -> None:
    with Store() as store:
        load(store, _files(name, "log", "server-spans"))
        expected = _figures(store)
    for n, order in enumerate(itertools.permutations(_files(name, *KINDS))):
        with Store() as store:
            load(store, list(order))
            assert _figures(store) == expected, order
        # one file per load into a database, as `mcpobs load --db` does
        with Store(StoreOptions(path=tmp_path / f"{n}.duckdb")) as store:
            for file in order:
                load(store, [file])
            assert _figures(store) == expected, order


def _errors(store: Store) -> list[tuple[Any, ...]]:
    records = analyze(store, Query(views=("errors",))).table("errors").records()
    return [(r["side"], r["tool"], r["error_class"]) for r in records]


@pytest.mark.parametrize("order", [("log", "client-spans"), ("client-spans", "log")])
def test_the_log_says_the_outcome_of_a_call_the_clients_span_also_is(order: tuple[str, str], store: Store) -> None:
    """The review's case: the client's span of the abandoned ``book`` call says nothing of ``input_required``."""
    report = load(store, _files("abandoned-2026", *order))
    assert report.duplicate_spans == 4  # each of the log's four calls is a span of the client's
    assert _errors(store) == [("client", "book", "abandoned")]
    calls = analyze(store, Query(views=("calls",), by=("method", "client"))).table("calls").records()
    # the client is the one the log's requests name, for every call, as for a call of several rounds
    assert {r["client"] for r in calls} == {"mcp"}


@pytest.mark.parametrize(
    "order",
    [
        ("log", "server-spans"),
        ("server-spans", "log"),
        ("server-spans", "client-spans", "log"),
        ("client-spans", "server-spans", "log"),
    ],
)
def test_the_servers_side_of_a_call_the_client_abandoned_is_abandoned_too(order: tuple[str, ...], store: Store) -> None:
    """The server answered ``book`` with input_required, which its span records as no error; the client
    never sent the request again: the call never completed, on either side."""
    load(store, _files("abandoned-2026", *order))
    assert _errors(store) == [("client", "book", "abandoned"), ("server", "book", "abandoned")]
    calls = analyze(store, Query(views=("calls",), by=("tool",))).table("calls").records()
    book = {r["side"]: (r["calls"], r["errors"], r["success_rate"]) for r in calls if r["tool"] == "book"}
    assert book == {"client": (1, 1, 0.0), "server": (1, 1, 0.0)}
    # the server's other calls are untouched
    echo = {r["side"]: r["errors"] for r in calls if r["tool"] == "echo"}
    assert echo == {"client": 0, "server": 0}


def test_the_sdks_spans_alone_count_each_task_poll_as_a_call(store: Store) -> None:
    """The mcp SDK 2.3 client's spans of a task-augmented call (make_task_spans.py, against server-everything)
    name no task: nothing ties a ``tasks/get`` to the call that created its task, so each request is a call
    (documented in docs/dialects.md; the event log counts one call)."""
    spans = (DATA / "tasks-2025.client-spans.jsonl").read_text()
    assert "taskId" not in spans
    assert "mcp.task" not in spans
    polls = spans.count('"name":"MCP send tasks/get"')
    assert polls > 1
    load(store, [str(DATA / "tasks-2025.client-spans.jsonl")])
    calls = analyze(store, Query(views=("calls",), by=("method",))).table("calls").records()
    assert {r["method"]: (r["calls"], r["rounds"]) for r in calls} == {
        "initialize": (1, 1),
        "tools/call": (1, 1),
        "tasks/get": (polls, polls),
        "tasks/result": (1, 1),
    }


def test_a_converted_log_in_protobufs_json_mapping_links_its_rounds_as_the_log_does() -> None:
    # base64 ids (make_protojson.py): the spans' own ids were decoded, their links' were not, so the
    # rounds of a multi round-trip call did not meet the client's and server's spans of them
    converted = str(DATA / "stdio-2026.log.protojson.jsonl")
    with Store() as store:
        load(store, _files("stdio-2026", *KINDS))
        expected = _figures(store)
    for spans in itertools.permutations([converted, *_files("stdio-2026", "client-spans", "server-spans")]):
        with Store() as store:
            load(store, list(spans))
            assert _figures(store) == expected, spans


def _every_figure(store: Store) -> dict[str, list[str]]:
    """Every section of the calls (the arguments checked against the tools/list answer of their file too)."""
    views = CALL_VIEWS + ARGUMENT_VIEWS
    result = analyze(store, Query(views=views, by=("tool", "client", "server")))
    return {view: sorted(str(r) for r in result.table(view).records()) for view in views}


@pytest.mark.parametrize(
    "names",
    [
        # the client's spans name the log's calls: the call merged is the log's, tools/list answer and all
        ("stdio-2026.client-spans", "stdio-2026.log"),
        ("http-2026.client-spans", "http-2026.log"),
        ("concurrent-2026.client-spans", "concurrent-2026.log"),
        # the same spans re-encoded through protobuf, which leaves the recorded result out
        ("stdio-2026.log", "stdio-2026.log.protojson"),
        # written by hand, each with its own calls under the same ids
        ("interleaved-2026.log", "reissue-late-2026.log"),
        ("interleaved-anonymous-2026.log", "interleaved-nostate-2026.log"),
    ],
)
def test_files_that_give_the_same_spans_give_the_same_figures_in_either_order(
    names: tuple[str, str], tmp_path: Path
) -> None:
    first, second = (str(DATA / f"{name}.jsonl") for name in names)
    with Store() as store:
        load(store, [first, second])
        expected = _every_figure(store)
    with Store() as store:
        load(store, [second, first])
        assert _every_figure(store) == expected
    with Store(StoreOptions(path=tmp_path / "one-by-one.duckdb")) as store:
        for file in (second, first):
            load(store, [file])
        assert _every_figure(store) == expected


def test_spans_given_twice_with_other_content_are_counted_and_told(runner: CliRunner) -> None:
    interleaved, reissue = (str(DATA / f"{name}-2026.log.jsonl") for name in ("interleaved", "reissue-late"))
    for order in ((interleaved, reissue), (reissue, interleaved)):
        with Store() as store:
            report = load(store, list(order))
        assert [(s.conflicting_spans, s.duplicate_spans) for s in report.sources] == [(0, 0), (1, 1)]
        result = runner.invoke(app, ["analyze", *order, "--format", "json"])
        assert result.exit_code == 0, result.output
        assert (
            f"mcpobs: warning: {order[1]}: 1 span was given before with other content (the same trace and span "
            f"id), e.g. span 2c049050177bfdce of trace 7a4cf60dc33da362231518eb1a01175f, also in {order[0]}; "
            "one copy of each is kept, the one with more attributes, whatever the order of the files\n"
        ) in result.stderr
    # an event log's call and the client's own span of it are one call, no conflict
    log = str(DATA / "stdio-2026.log.jsonl")
    with Store() as store:
        report = load(store, [log, str(DATA / "stdio-2026.client-spans.jsonl")])
    assert [s.conflicting_spans for s in report.sources] == [0, 0]
