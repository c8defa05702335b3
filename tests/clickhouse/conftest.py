"""One chDB directory for the whole run (chDB serves one path per process), a database in it per data set."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from mcpobs.ingest import load
from mcpobs.store import Store

Exported = Callable[[str, Sequence[Path]], str]


@pytest.fixture(scope="session")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture(scope="session")
def exported(chdb_dir: Path) -> Exported:
    """``exported(name, files)``: the files loaded as mcpobs loads them and written into the table
    ``NAME.otel_traces`` of :func:`chdb_dir` as the Collector's exporter writes them; its ``--table``."""
    pytest.importorskip("chdb")
    from chdb import session
    from otel_traces_exporter import export

    done: set[str] = set()

    def run(name: str, files: Sequence[Path]) -> str:
        database = "set_" + re.sub(r"\W", "_", name)
        if database not in done:
            with Store() as store:
                load(store, [str(f) for f in files])
                s = session.Session(str(chdb_dir))
                try:
                    assert export(store, s, database=database) == store.counts()[0]
                finally:
                    s.close()
            done.add(database)
        return f"{database}.otel_traces"

    return run
