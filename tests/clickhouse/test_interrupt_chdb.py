"""Ctrl-C and SIGTERM stop `mcpobs analyze chdb:…` while a chDB query runs: exit 130 or 143 at once, one
line on stderr, nothing left behind (no temporary table's files in the chDB directory, no temporary
directory). The query is one that would run for hours: the signal comes once its temporary table
exists on disk (the call model's query has started), so the test holds on a machine of any speed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import signalled

pytest.importorskip("chdb")

MCPOBS = [sys.executable, "-m", "mcpobs"]
WAIT_S = 120  # bound on every wait: generous for a slow, loaded machine
# each query's time limit in the process: the query below ends only there, so an interrupt that does
# not stop it shows as a stop that takes this long
TIME_LIMIT_S = 60

# an otel_traces that never ends: a view over a trillion numbers, of which (almost) none pass its filter,
# so the call model's query scans for hours in constant memory
VIEW = """
CREATE VIEW otel.otel_traces AS SELECT
    fromUnixTimestamp64Nano(toInt64(1764000000000000000 + number)) AS Timestamp,
    lower(hex(cityHash64(intDiv(number, 10)))) AS TraceId,
    lower(hex(cityHash64(number))) AS SpanId,
    '' AS ParentSpanId, '' AS TraceState,
    'tools/call search' AS SpanName, 'Server' AS SpanKind, 'toolbox' AS ServiceName,
    map('service.name', 'toolbox') AS ResourceAttributes, 'mcp' AS ScopeName, '1' AS ScopeVersion,
    map('mcp.method.name', 'tools/call', 'gen_ai.tool.name', 'search') AS SpanAttributes,
    toUInt64(1000000) AS Duration, 'Unset' AS StatusCode, '' AS StatusMessage,
    CAST([], 'Array(DateTime64(9))') AS `Events.Timestamp`, CAST([], 'Array(String)') AS `Events.Name`,
    CAST([], 'Array(Map(String, String))') AS `Events.Attributes`,
    CAST([], 'Array(String)') AS `Links.TraceId`, CAST([], 'Array(String)') AS `Links.SpanId`,
    CAST([], 'Array(String)') AS `Links.TraceState`, CAST([], 'Array(Map(String, String))') AS `Links.Attributes`
FROM numbers(1000000000000) WHERE cityHash64(number) = 0
"""


@pytest.fixture(scope="module")
def endless(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chDB directory holding :data:`VIEW`, made in a process of its own: chDB serves one directory
    per process, and this one's is the other tests' chdb_dir."""
    folder = tmp_path_factory.mktemp("endless")
    script = (
        "import sys\nfrom chdb import session\ns = session.Session(sys.argv[1])\n"
        "s.query('CREATE DATABASE otel')\ns.query(sys.argv[2])\ns.close()\n"
    )
    subprocess.run([sys.executable, "-c", script, str(folder), VIEW], check=True, capture_output=True)
    return folder


def _temporary_tables(folder: Path) -> list[Path]:
    where = folder / "data" / "_temporary_and_external_tables"
    return sorted(where.iterdir()) if where.is_dir() else []


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_running_chdb_query_at_once(
    endless: Path, tmp_path: Path, sig: signal.Signals, status: int
) -> None:
    code, stderr, took = signalled(
        [*MCPOBS, "analyze", f"chdb:{endless}"],
        tmp_path,
        sig,
        lambda process: bool(_temporary_tables(endless)),  # the call model's query has started
        env={"MCPOBS_CLICKHOUSE_TIME_LIMIT": str(TIME_LIMIT_S)},
        wait_s=WAIT_S,
    )
    assert (code, stderr) == (status, "mcpobs: interrupted\n")
    print(f"{sig.name} during the call model's query: exit {code} {took:.3f} s after the signal")
    assert took < 10  # the aim is 0.5 s; a loaded machine may take longer to schedule the process
    assert _temporary_tables(endless) == []  # the session closed: its temporary table's files are gone
    assert list((endless / "tmp").iterdir()) == []
