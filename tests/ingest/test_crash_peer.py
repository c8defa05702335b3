"""A server that died in the middle of a call: with its recording and its own spans loaded, every call
of the session is on the server's service, the crashed one too. The files are real
(tests/data/crash/make_crash.py: the mcp SDK client and server under OpenTelemetry, recorded by
``mcpobs record``)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from mcpobs.analysis import Query, analyze
from mcpobs.ingest import load
from mcpobs.store import Store, StoreOptions
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "crash"
LOG, CLIENT, SERVER = (str(DATA / f"crash.{kind}.jsonl") for kind in ("log", "client-spans", "server-spans"))


def _by_server(store: Store) -> dict[tuple[str, str], tuple[int, int]]:
    records = analyze(store, Query(views=("calls",), by=("server", "method"), side="client")).table("calls").records()
    return {(str(r["server"]), str(r["method"])): (int(r["calls"]), int(r["errors"])) for r in records}


EXPECTED = {
    ("crash-server", "initialize"): (1, 0),
    ("crash-server", "tools/list"): (1, 0),
    ("crash-server", "tools/call"): (2, 1),  # echo, and crash: connection closed
}


def test_the_generator_saw_the_crash() -> None:
    assert json.loads((DATA / "expected.json").read_text()) == {"echo": "ok", "crash": "-32000"}
    assert '"name":"tools/call crash"' not in Path(SERVER).read_text()  # the server never ended its span


@pytest.mark.parametrize(
    "files",
    [*itertools.permutations([LOG, SERVER]), *itertools.permutations([LOG, CLIENT, SERVER])],
    ids=lambda files: "+".join(Path(f).name.split(".")[1] for f in files),
)
def test_the_crashed_call_is_on_the_server_that_answered_the_sessions_other_calls(
    files: tuple[str, ...], tmp_path: Path
) -> None:
    with Store() as store:
        load(store, list(files))
        assert _by_server(store) == EXPECTED
    # one file per load into a database, as `mcpobs load --db` does
    with Store(StoreOptions(path=tmp_path / "one-by-one.duckdb")) as store:
        for file in files:
            load(store, [file])
        assert _by_server(store) == EXPECTED


def test_without_the_servers_spans_the_recording_names_the_server(store: Store) -> None:
    load(store, [LOG, CLIENT])
    assert set(_by_server(store)) == {("toolbox", m) for m in ("initialize", "tools/list", "tools/call")}
