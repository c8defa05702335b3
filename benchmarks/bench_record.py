"""What `mcpobs record` adds to each message: the round trip of a tool call, direct and through the recorder.

    python benchmarks/bench_record.py            # 300 calls per case, about 30 s
    python benchmarks/bench_record.py --calls 1000

For stdio and Streamable HTTP, a real mcp client calls the `echo` tool of the test toolbox server
(tests/servers/toolbox.py) first directly, then through `mcpobs record`, and prints the median and
p95 round trip of each, the ratio, and the time added per message (a call is two messages, request
and response). Target: under 1 ms added per message at the median.
"""

from __future__ import annotations

import argparse
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
TOOLBOX = str(ROOT / "tests" / "servers" / "toolbox.py")
RECORD = [sys.executable, "-m", "mcpobs.cli", "record"]
TARGET_MS_PER_MESSAGE = 1.0


async def _round_trips(server: StdioServerParameters | str, calls: int) -> list[float]:
    times = []
    async with Client(server, mode="legacy") as client:
        for _ in range(20):  # warm up: the first tools/list, connection pools, caches
            await client.call_tool("echo", {"text": "warm"})
        for i in range(calls):
            start = time.perf_counter()
            await client.call_tool("echo", {"text": f"call {i}"})
            times.append((time.perf_counter() - start) * 1000)
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(port)


@contextmanager
def _http_server() -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, TOOLBOX, "--http", str(port)], stderr=subprocess.DEVNULL)
    try:
        _wait(port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait()


@contextmanager
def _http_recorder(upstream: str, log: Path) -> Iterator[str]:
    recorder = subprocess.Popen(
        [*RECORD, "--out", str(log), "--upstream", upstream, "--listen", "127.0.0.1:0"], stderr=subprocess.PIPE
    )
    assert recorder.stderr is not None
    match = re.search(r"point the MCP client at (\S+)", recorder.stderr.readline().decode())
    assert match
    try:
        yield match.group(1)
    finally:
        recorder.send_signal(signal.SIGTERM)
        recorder.wait()


def _report(case: str, direct: list[float], recorded: list[float]) -> bool:
    d50, r50 = statistics.median(direct), statistics.median(recorded)
    d95, r95 = (statistics.quantiles(x, n=20)[18] for x in (direct, recorded))
    added = (r50 - d50) / 2
    ok = added < TARGET_MS_PER_MESSAGE
    print(
        f"{case:6}  direct p50 {d50:6.2f} ms  p95 {d95:6.2f} ms | recorded p50 {r50:6.2f} ms  p95 {r95:6.2f} ms | "
        f"ratio {r50 / d50:4.2f}x | added {added:5.2f} ms/message (target < {TARGET_MS_PER_MESSAGE} ms): "
        f"{'met' if ok else 'NOT MET'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    calls = parser.parse_args().calls
    met = True
    with tempfile.TemporaryDirectory() as tmp:
        direct = StdioServerParameters(command=sys.executable, args=[TOOLBOX])
        through = StdioServerParameters(
            command=RECORD[0], args=[*RECORD[1:], "--out", f"{tmp}/stdio.jsonl", "--", sys.executable, TOOLBOX]
        )
        met &= _report("stdio", anyio.run(_round_trips, direct, calls), anyio.run(_round_trips, through, calls))
        with _http_server() as url:
            plain = anyio.run(_round_trips, url, calls)
            with _http_recorder(url, Path(tmp) / "http.jsonl") as proxied:
                recorded = anyio.run(_round_trips, proxied, calls)
            met &= _report("http", plain, recorded)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
