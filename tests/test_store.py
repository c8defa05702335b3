"""The store: in memory, in a file the user names, or in a temporary file for inputs too big for memory."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from mcpobs.errors import StoreError
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


def _store_process(tmp: Path, code: str) -> subprocess.Popen[str]:
    """A Python process that opens a store with ``tmp`` as its temporary folder, says so, and runs ``code``."""
    script = f"from mcpobs.store import Store\nstore = Store()\nprint('open', flush=True)\n{code}\n"
    env = {**os.environ, "TMPDIR": str(tmp)}
    process = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "open\n"  # bounded: the process says it or ends
    return process


def _ours(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("mcpobs-*"))


def test_a_store_left_open_is_removed_when_its_process_ends(tmp_path: Path) -> None:
    process = _store_process(tmp_path, "")
    assert process.wait(timeout=30) == 0
    assert _ours(tmp_path) == []


def test_the_directory_of_a_killed_process_is_removed_by_the_next_store_and_a_live_ones_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed = _store_process(tmp_path, "input()")
    (stale,) = _ours(tmp_path)
    killed.kill()
    killed.wait(timeout=30)
    alive = _store_process(tmp_path, "input()")
    (live,) = set(_ours(tmp_path)) - {stale}
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        with Store():
            assert not stale.exists()
            assert live.exists()
            assert len(_ours(tmp_path)) == 2  # the live one and this one
            with Store():
                assert len(_ours(tmp_path)) == 3  # a store of this same process is alive too
    finally:
        alive.communicate("\n", timeout=30)
    assert _ours(tmp_path) == []


@pytest.mark.parametrize("version", ["1", "not a number"])
def test_a_database_of_another_schema_version_is_one_clean_error(tmp_path: Path, version: str) -> None:
    db = tmp_path / "store.duckdb"
    with Store(StoreOptions(path=db)) as store:
        store.con.execute("UPDATE mcpobs_meta SET value = ? WHERE key = 'schema_version'", [version])
    with pytest.raises(StoreError, match=f"database schema version {version}, this mcpobs reads version"):
        Store(StoreOptions(path=db))


def test_opening_a_database_to_read_it_writes_nothing(tmp_path: Path) -> None:
    """The views are made once: re-made at every open, a database only read was rewritten at its close."""
    db = tmp_path / "obs.duckdb"
    with Store(StoreOptions(path=db)) as store:
        load(store, [str(DIALECTS / "semconv.jsonl")])
    before = db.read_bytes()
    with Store(StoreOptions(path=db)) as store:
        assert store.counts() == (46, 1)
        assert store.con.execute("SELECT count(*) FROM mcp_calls").fetchone() is not None
    assert db.read_bytes() == before
    assert not db.with_name(db.name + ".wal").exists()


def test_a_database_is_opened_once_to_check_and_use_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check that a --db is mcpobs's runs on the store's own connection: a second, read-only one
    first cost more than the connection itself (the start-up of every `--db` command)."""
    import duckdb

    db = tmp_path / "obs.duckdb"
    Store(StoreOptions(path=db)).close()
    opened: list[tuple[object, ...]] = []
    connect = duckdb.connect

    def counted(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        opened.append(args)
        return connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(duckdb, "connect", counted)
    with Store(StoreOptions(path=db)) as store:
        assert store.counts() == (0, 0)
    assert opened == [(str(db),)]


def test_a_database_not_made_by_mcpobs_with_a_wal_beside_it_is_refused_and_both_left_as_they_are(
    tmp_path: Path,
) -> None:
    # opened to write, DuckDB replays the log into the database at once: such a file is looked into read-only
    import duckdb

    db = tmp_path / "mine.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE mine (x INTEGER)")
    con.execute("CHECKPOINT")
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("INSERT INTO mine VALUES (42)")
    con.close()
    wal = db.with_name(db.name + ".wal")
    assert wal.exists()
    before = db.read_bytes(), wal.read_bytes()
    with pytest.raises(StoreError, match="a DuckDB database not made by mcpobs"):
        Store(StoreOptions(path=db))
    assert (db.read_bytes(), wal.read_bytes()) == before
