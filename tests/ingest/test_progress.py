"""Long loads report progress through a callback, from the core, with no terminal involved."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mcpobs.ingest import load
from mcpobs.ingest.sources import Source
from mcpobs.store import Store
from tests.conftest import DIALECTS, ROOT


def test_progress_is_reported_per_file_and_ends_at_one(store: Store) -> None:
    seen: list[tuple[str, float | None]] = []

    def progress(source: Source, done: float | None) -> None:
        seen.append((source.name, done))

    files = [str(DIALECTS / "semconv.jsonl"), str(DIALECTS / "logfire.jsonl")]
    load(store, files, progress=progress)
    for name in files:
        mine = [done for source, done in seen if source == name]
        assert mine[0] == 0.0
        assert mine[-1] == 1.0
        assert all(d is None or 0.0 <= d <= 1.0 for d in mine)


def test_progress_goes_by_the_bytes_read_and_covers_the_steps_after_the_insert(store: Store, tmp_path: Path) -> None:
    """DuckDB's own estimate sat at its first value for seconds, and the bar said 100% while the
    duplicates were dropped, the peers linked and the load committed."""
    big = tmp_path / "big.jsonl"
    subprocess.run(
        [sys.executable, f"{ROOT}/benchmarks/generate.py", "--spans", "60000", "--out", str(big)],
        check=True,
        capture_output=True,
    )
    seen: list[float | None] = []
    committed: list[int] = []

    def progress(source: Source, done: float | None) -> None:
        seen.append(done)
        if done == 1.0:
            committed.append(store.counts()[1])  # the sources row is there: the load is committed

    load(store, [str(big)], progress=progress)
    shown = [d for d in seen if d is not None]
    assert shown == sorted(shown)  # never backwards
    assert shown[0] == 0.0
    assert shown[-1] == 1.0
    assert committed == [1]
    # 60 MB is read and inserted in more than one 0.1 s poll on any machine: the bar moves while it is
    assert any(0.0 < d < 0.85 for d in shown)
    # then the steps after the insert have a share of their own before the end
    assert {0.85, 0.9, 0.95} <= set(shown)
    assert shown.index(0.95) < shown.index(1.0)
