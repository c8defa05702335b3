"""The store: in memory, in a file the user names, or in a temporary file for inputs too big for memory."""

from __future__ import annotations

import gzip
from pathlib import Path

from mcpobs.ingest import load
from mcpobs.ingest.sources import estimated_size
from mcpobs.store import IN_MEMORY_INPUT_LIMIT, Store, StoreOptions
from tests.conftest import DIALECTS


def _database_file(store: Store) -> str | None:
    row = store.con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return row[0] if row else None


def test_small_inputs_stay_in_memory() -> None:
    with Store(StoreOptions(expected_input_bytes=10_000)) as store:
        assert _database_file(store) is None


def test_inputs_too_big_for_memory_go_to_a_temporary_file_that_is_removed() -> None:
    with Store(StoreOptions(expected_input_bytes=IN_MEMORY_INPUT_LIMIT + 1)) as store:
        path = _database_file(store)
        assert path is not None
        assert Path(path).exists()
        load(store, [str(DIALECTS / "semconv.jsonl")])
        assert store.counts() == (46, 1)
    assert not Path(path).exists()


def test_estimated_size_counts_compressed_files_ten_times(tmp_path: Path) -> None:
    plain = DIALECTS / "semconv.jsonl"
    packed = tmp_path / "semconv.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert estimated_size([str(plain)]) == plain.stat().st_size
    assert estimated_size([str(packed)]) == 10 * packed.stat().st_size
    assert estimated_size([str(tmp_path)]) == 10 * packed.stat().st_size
    assert estimated_size(["-", str(tmp_path / "nothing-*.jsonl")]) == 0
