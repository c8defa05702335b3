"""Latency percentiles from the store agree with statistics.quantiles (linear interpolation)."""

from __future__ import annotations

import statistics
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mcpobs.analysis import Query, analyze
from mcpobs.ingest import load
from mcpobs.store import Store
from tests.conftest import request, span, span_ids, write_lines

# whole microseconds, so the nanosecond durations in the file are exact
durations_us = st.lists(st.integers(min_value=0, max_value=600_000_000), min_size=1, max_size=60)


def _expected(values_ms: list[float], p: int) -> float:
    if len(values_ms) == 1:
        return values_ms[0]
    # n=100 cut points of the inclusive method: index p-1 is the p-th percentile
    return statistics.quantiles(values_ms, n=100, method="inclusive")[p - 1]


@settings(max_examples=60, deadline=None)
@given(durations=durations_us)
def test_percentiles_match_statistics_quantiles(tmp_path_factory: object, durations: list[int]) -> None:
    directory: Path = tmp_path_factory.mktemp("p")  # type: ignore[attr-defined]
    spans = [
        span(span_id=sid, start=1_700_000_000_000_000_000 + i * 1_000_000_000, duration_ns=d * 1000)
        for i, (sid, d) in enumerate(zip(span_ids(len(durations)), durations, strict=True))
    ]
    path = write_lines(directory / "t.jsonl", [request(spans)])
    with Store() as store:
        load(store, [str(path)])
        row = analyze(store, Query(views=("calls",))).table("calls").records()[0]
    values = [d / 1000 for d in durations]
    assert row["calls"] == len(durations)
    for p in (50, 90, 95, 99):
        assert abs(row[f"latency_p{p}_ms"] - _expected(values, p)) < 1e-6
    assert abs(row["latency_max_ms"] - max(values)) < 1e-9
