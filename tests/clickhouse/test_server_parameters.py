"""The values a live server is sent for a query's parameters are the values chDB is given.

clickhouse-connect formats each parameter itself (``bind_query``: strings escaped, lists as ClickHouse
literals) before it goes out as ``param_NAME``; what it produces is read here by the same ClickHouse
parser a server runs (chDB's query parameters are the HTTP interface's), so a value mangled on the way
(pre-formatted text escaped again) fails here, not only against a live server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")

from clickhouse_connect.driver.binding import bind_query

from mcpobs.clickhouse import _Chdb, bind

# every kind of value the sections bind, with the characters the text format escapes
VALUES: dict[str, Any] = {
    "tools": ["search", "it's", "back\\slash", "tab\tand\nnewline", "`tick`", ""],
    "side": "x\\y'z\nw`",
    "since": 1_764_000_000_000_000_000,
    "share": 0.25,
    "flag": True,
}


def test_a_servers_parameters_read_as_chdbs(tmp_path: Path) -> None:
    sql, bound = bind("SELECT $tools, $side, $since, $share, $flag", VALUES)
    chdb = _Chdb(str(tmp_path))
    try:
        direct = chdb.query(sql, bound)
        # what _Server.query hands clickhouse-connect, as clickhouse-connect sends it
        query, sent = bind_query(sql, bound)
        assert set(sent) == {f"param_{name}" for name in VALUES}
        # as a server reads param_NAME: the text as it came, no formatting of chDB's path
        table = chdb.session.query(
            query, "ArrowTable", params={name.removeprefix("param_"): value for name, value in sent.items()}
        )
        served = [tuple(row.values()) for row in table.to_pylist()]
    finally:
        chdb.close()
    assert direct == served == [tuple(VALUES.values())]
