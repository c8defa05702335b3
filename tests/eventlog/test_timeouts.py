"""A call the client gave up on after its timeout is a ``timeout`` whether its client span, its
recording or both are loaded; a call its caller cancelled stays ``cancelled``. The files are real:
tests/data/timeouts/make_timeouts.py (the mcp SDK client under OpenTelemetry, the server recorded by
``mcpobs record``)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from mcpobs.analysis import Query, analyze
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import ROOT

DATA = ROOT / "tests" / "data" / "timeouts"
SPANS = str(DATA / "client-spans.jsonl")
LOG = str(DATA / "session.log.jsonl")


def _classes(store: Store) -> Counter[str]:
    errors = analyze(store, Query(views=("errors",))).table("errors").records()
    return Counter({str(r["error_class"]): int(r["errors"]) for r in errors if r["tool"] == "slow"})


def test_the_generator_saw_one_timeout_and_one_cancellation() -> None:
    assert json.loads((DATA / "expected.json").read_text()) == {"slow": ["ok", "timeout", "cancelled"]}


@pytest.mark.parametrize("files", [[LOG], [SPANS, LOG], [LOG, SPANS]], ids=["log", "spans+log", "log+spans"])
def test_a_cancellation_for_a_timeout_is_a_timeout(store: Store, files: list[str]) -> None:
    load(store, files)
    assert _classes(store) == Counter({"timeout": 1, "cancelled": 1})


def test_the_client_span_alone_says_timeout_and_misses_the_cancellation(store: Store) -> None:
    # OpenTelemetry records no CancelledError: the caller's cancellation is no error in the span
    load(store, [SPANS])
    assert _classes(store) == Counter({"timeout": 1})
