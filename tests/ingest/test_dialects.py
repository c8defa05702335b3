"""Each producer's MCP spans, made by running it (tests/data/dialects/make_*.py), normalise to the same model.

The expected figures are what each generator script knows it did, not what
mcpobs reads back: ``recorded`` in ``{name}.expected.json`` counts the calls a
side's spans can show. Where a producer records that a call failed but not how,
the expectation says ``error`` and any class is accepted.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import DIALECTS

PEER_DIALECTS = ["openllmetry", "openllmetry_fastmcp", "logfire", "sentry"]


def _calls(store: Store) -> dict[tuple[str, str], list[tuple[str | None, str | None]]]:
    """(side, method) -> [(target, error class)] for every call that is not a notification."""
    rows = store.con.execute(
        "SELECT side, method, target, error_class FROM mcp_calls WHERE NOT is_notification"
    ).fetchall()
    found: dict[tuple[str, str], list[tuple[str | None, str | None]]] = {}
    for side, method, target, error_class in rows:
        found.setdefault((side, method), []).append((target, error_class))
    return found


def _check_errors(expected: dict[str, int], classes: list[str | None], where: str) -> None:
    got = Counter(c for c in classes if c is not None)
    unspecific = expected.get("error", 0)
    specific = {k: v for k, v in expected.items() if k != "error"}
    for error_class, count in specific.items():
        assert got[error_class] == count, f"{where}: {error_class}: {dict(got)} != {expected}"
    assert sum(got.values()) == sum(specific.values()) + unspecific, f"{where}: {dict(got)} != {expected}"


@pytest.mark.parametrize("dialect", PEER_DIALECTS)
def test_peer_dialect_counts_match_what_the_generator_did(store: Store, dialect: str) -> None:
    expected: dict[str, Any] = json.loads((DIALECTS / f"{dialect}.expected.json").read_text())
    load(store, [str(DIALECTS / f"{dialect}.jsonl")])
    found = _calls(store)
    wanted_keys = {(side, method) for side, methods in expected["recorded"].items() for method in methods}
    assert set(found) == wanted_keys
    for side, methods in expected["recorded"].items():
        for method, figures in methods.items():
            calls = found[(side, method)]
            where = f"{dialect} {side} {method}"
            assert len(calls) == figures["count"], where
            _check_errors(figures["errors"], [c for _, c in calls], where)
            for target, target_figures in figures.get("targets", {}).items():
                of_target = [c for t, c in calls if t == target]
                assert len(of_target) == target_figures["count"], f"{where} {target}"
                _check_errors(target_figures["errors"], of_target, f"{where} {target}")


def test_sentry_keeps_session_and_request_ids(store: Store) -> None:
    expected = json.loads((DIALECTS / "sentry.expected.json").read_text())
    load(store, [str(DIALECTS / "sentry.jsonl")])
    sessions = {r[0] for r in store.con.execute("SELECT DISTINCT session_id FROM mcp_calls").fetchall()}
    assert sessions == set(expected["session_ids"])
    ids = store.con.execute("SELECT count(*) FROM mcp_calls WHERE request_id IS NULL").fetchone()
    assert ids == (0,)


def test_sentry_http_transactions_are_not_calls(store: Store) -> None:
    load(store, [str(DIALECTS / "sentry.jsonl")])
    row = store.con.execute(
        "SELECT count(*) FILTER (name = '/mcp'), count(*) FILTER (name = '/mcp' AND mcp_method IS NOT NULL) FROM spans"
    ).fetchone()
    assert row == (24, 0)


def _semconv_expected() -> dict[str, Any]:
    return json.loads((DIALECTS / "semconv.expected.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize("side", ["client", "server"])
def test_semconv_every_operation_counts_and_durations(store: Store, side: str) -> None:
    load(store, [str(DIALECTS / "semconv.jsonl")])
    for key, figures in _semconv_expected()[side].items():
        method = figures["method"]
        target_clause = "AND tool = ?" if method == "tools/call" else ""
        params = [side, method] + ([figures["target"]] if target_clause else [])
        rows = store.con.execute(
            f"SELECT duration_ms, error_class FROM mcp_calls WHERE side = ? AND method = ? {target_clause} "
            "ORDER BY start_ns",
            params,
        ).fetchall()
        assert len(rows) == figures["calls"], key
        assert sorted(round(r[0], 6) for r in rows) == sorted(figures["durations_ms"]), key
        assert Counter(r[1] for r in rows if r[1]) == Counter(figures["errors"]), key


def test_semconv_sessions_are_the_mcp_session_ids(store: Store) -> None:
    load(store, [str(DIALECTS / "semconv.jsonl")])
    expected = {s["mcp.session.id"]: s for s in _semconv_expected()["sessions"]}
    rows = store.con.execute("SELECT session_id, side, count(*) FROM mcp_calls GROUP BY ALL ORDER BY ALL").fetchall()
    for session_id, side, calls in rows:
        assert calls == expected[session_id]["calls"][side]
    assert {r[0] for r in rows} == set(expected)


def test_mcp_sdk_client_spans_take_their_target_from_the_span_name(store: Store) -> None:
    load(store, [str(DIALECTS / "semconv.jsonl")])
    from tests.conftest import SAMPLE

    load(store, [str(SAMPLE)])
    row = store.con.execute(
        "SELECT count(*), count(tool) FROM mcp_calls WHERE span_name LIKE 'MCP send tools/call %'"
    ).fetchone()
    assert row is not None
    assert row[0] > 0
    assert row[0] == row[1]
