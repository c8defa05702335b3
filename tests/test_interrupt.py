"""Ctrl-C and SIGTERM stop the real ``mcpobs`` process at any moment: exit 130 or 143, one line on
stderr, no traceback, the --db store as it was before the load, no temporary directory left.

The moments are told by what the process has done, not by time: its start-up by the modules it has
imported (``-X importtime``), a load by the bytes of the input it has read (/proc/PID/io), so the
tests hold on a machine of any speed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ROOT
from tests.helpers import signalled

pytestmark = pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="reads a process's I/O from /proc")

MCPOBS = [sys.executable, "-m", "mcpobs"]
WAIT_S = 300  # bound on every wait: generous for a slow, loaded machine


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 100 MB OTLP JSON lines file (benchmarks/generate.py): seconds to load."""
    out = tmp_path_factory.mktemp("big") / "big.jsonl"
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "generate.py"), "--spans", "100000", "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store that already holds a small file: an interrupted load must leave exactly this."""
    folder = tmp_path_factory.mktemp("store")
    small = folder / "small.jsonl"
    subprocess.run(
        [sys.executable, f"{ROOT}/benchmarks/generate.py", "--spans", "500", "--seed", "3", "--out", f"{small}"],
        check=True,
        capture_output=True,
    )
    db = folder / "base.duckdb"
    subprocess.run([*MCPOBS, "load", str(small), "--db", str(db)], check=True, capture_output=True)
    return db


def _counts(db: Path) -> tuple[int, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT (SELECT count(*) FROM spans), (SELECT count(*) FROM sources)").fetchone()
        assert row is not None
        return int(row[0]), int(row[1])
    finally:
        con.close()


def _bytes_read(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise AssertionError("no rchar in /proc/PID/io")


def _has_open(pid: int, path: Path) -> bool:
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == str(path):
                return True
        except OSError:
            continue
    return False


def _reading(big: Path, share: float) -> Callable[[subprocess.Popen[bytes]], bool]:
    """Ready once the process has read ``share`` of ``big`` (counted from when it opened it)."""
    start: list[int] = []

    def ready(process: subprocess.Popen[bytes]) -> bool:
        try:
            if not start:
                if _has_open(process.pid, big):
                    start.append(_bytes_read(process.pid))
                return False
            return _bytes_read(process.pid) - start[0] >= share * big.stat().st_size
        except FileNotFoundError:
            return False  # the process is gone: the caller sees it

    return ready


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("share", [0.0, 0.5, 0.9])
def test_a_load_stopped_by_a_signal_leaves_the_store_as_it_was(
    big: Path, loaded: Path, tmp_path: Path, sig: signal.Signals, status: int, share: float
) -> None:
    db = tmp_path / "obs.duckdb"
    shutil.copy(loaded, db)
    before = _counts(db)
    code, stderr, took = signalled([*MCPOBS, "load", str(big), "--db", str(db)], tmp_path, sig, _reading(big, share))
    assert (code, stderr) == (status, "mcpobs: interrupted\n")
    assert _counts(db) == before
    print(f"{sig.name} after {share:.0%} of the input read: exit {code} {took:.3f} s after the signal")
    assert took < 5  # the aim is 0.5 s; a loaded machine may take longer to schedule the process


def test_analyze_stopped_while_loading_ends_at_once(big: Path, tmp_path: Path) -> None:
    code, stderr, took = signalled([*MCPOBS, "analyze", str(big)], tmp_path, signal.SIGINT, _reading(big, 0.5))
    assert (code, stderr) == (130, "mcpobs: interrupted\n")
    print(f"analyze: exit {code} {took:.3f} s after the signal")
    assert took < 5


@pytest.mark.parametrize("module", ["typer", "rich.console", "mcpobs.store", "duckdb"])
def test_ctrl_c_during_the_start_up_imports_is_one_line(big: Path, tmp_path: Path, module: str) -> None:
    """-X importtime writes a line to stderr as each module is imported: the signal goes once ``module`` is."""
    command = [sys.executable, "-X", "importtime", "-m", "mcpobs", "analyze", str(big)]
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(tmp)}
    )
    assert process.stderr is not None
    lines = []
    try:
        for raw in process.stderr:
            line = raw.decode()
            lines.append(line)
            if line.rsplit("|", 1)[-1].strip() == module:
                process.send_signal(signal.SIGINT)
                break
        else:
            pytest.fail(f"{module} was never imported:\n{''.join(lines[-5:])}")
        rest = process.stderr.read().decode()
        assert process.wait(timeout=WAIT_S) == 130
    finally:
        process.kill()
        process.wait()
    said = [line for line in rest.splitlines() if not line.startswith("import time:")]
    assert said == ["mcpobs: interrupted"]


def test_the_command_installs_its_signal_handling_before_the_heavy_imports() -> None:
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "mcpobs"]
    assert script.value == "mcpobs.__main__:main"
    light = subprocess.run(
        [sys.executable, "-c", "import sys, mcpobs.__main__; print(sorted(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for heavy in ("typer", "rich", "duckdb", "mcp", "yaml", "importlib.metadata"):
        assert f"'{heavy}'" not in light


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_handling_is_installed_is_one_line(sig: signal.Signals) -> None:
    # a SIGINT landed inside interrupt.install() (starting its thread) about once in 30 tries 0.2 s
    # after start: it was outside main()'s try, a traceback and exit -2. Here the signal comes
    # (really, from the kernel) just as install() has started the thread, every time.
    code = (
        "import os, signal, mcpobs.__main__ as entry\n"
        "real = entry.interrupt.install\n"
        "def install():\n"
        "    real()\n"
        f"    os.kill(os.getpid(), {int(sig)})\n"
        "entry.interrupt.install = install\n"
        "entry.main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "--version"], capture_output=True, text=True, timeout=WAIT_S, cwd=ROOT
    )
    assert (result.returncode, result.stderr) == (128 + int(sig), "mcpobs: interrupted\n")


def test_a_signal_while_duckdb_is_first_imported_stops_cleanly_after_it() -> None:
    # a SIGINT or SIGTERM while DuckDB's extension module built its types (through Python code) was a
    # "Critical nanobind error" and an abort, exit -6. The signal comes, from the kernel, exactly then:
    # when the import sets up DuckDBPyConnection (an audit event the import raises).
    code = (
        "import os, signal, sys\n"
        "from mcpobs import interrupt\n"
        "interrupt.install()\n"
        "sent = []\n"
        "def hook(event, args):\n"
        "    named = getattr(args[0], '__name__', '') if event == 'object.__setattr__' else ''\n"
        "    if named == 'DuckDBPyConnection' and not sent:\n"
        "        sent.append(1)\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "sys.addaudithook(hook)\n"
        "from mcpobs.store import Store\n"
        "try:\n"
        "    Store().close()\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped', sent)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT_S, cwd=ROOT)
    assert (result.returncode, result.stdout, result.stderr) == (0, "stopped [1]\n", "")


def test_a_second_ctrl_c_while_a_replay_stops_lets_it_end(tmp_path: Path) -> None:
    # an impatient user's second Ctrl-C came while the replay was closing its server after the first:
    # asyncio's handler raised KeyboardInterrupt in the middle of that clean-up, and the replay then waited
    # for ever on what it had broken off (a third Ctrl-C ended it, the server left running). The first
    # signal comes (from the kernel) once a call is sent, the second as the replay closes the server.
    code = (
        "import contextlib, os, signal\n"
        "import mcpobs.__main__ as entry\n"
        "from mcpobs.replay import connection\n"
        "real_client, real_send = connection.stdio_client, connection.Link.send\n"
        "@contextlib.asynccontextmanager\n"
        "async def stdio_client(*args, **kwargs):\n"
        "    async with real_client(*args, **kwargs) as streams:\n"
        "        try:\n"
        "            yield streams\n"
        "        finally:\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "async def send(self, message, *args, **kwargs):\n"
        "    sent = await real_send(self, message, *args, **kwargs)\n"
        "    if message.get('method') == 'tools/call':\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "    return sent\n"
        "connection.stdio_client, connection.Link.send = stdio_client, send\n"
        "entry.main()\n"
    )
    run = tmp_path / "run"
    recording, server = ROOT / "sample_traces" / "notes_session.jsonl", ROOT / "sample_traces" / "notes_server.py"
    args = ["replay", str(recording), "--run-dir", str(run), "--", sys.executable, str(server)]
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (result.returncode, result.stderr) == (
        130,
        f"mcpobs: interrupted; go on with: mcpobs replay --resume {run} -- SERVER\n",
    )
