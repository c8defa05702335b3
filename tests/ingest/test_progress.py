"""Long loads report progress through a callback, from the core, with no terminal involved."""

from __future__ import annotations

from mcpobs.ingest import load
from mcpobs.ingest.sources import Source
from mcpobs.store import Store
from tests.conftest import DIALECTS


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
