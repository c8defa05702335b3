"""What `mcpobs record` adds to each message: the round trip of a tool call, direct and through the recorder.

    python benchmarks/bench_record.py            # 10 rounds of 100 calls per case, about 1 min
    python benchmarks/bench_record.py --quick    # 5 rounds of 60 calls
    python benchmarks/bench_record.py --rounds 7 --calls 500

For stdio and Streamable HTTP, a real mcp client calls the `echo` tool of the test toolbox server
(tests/servers/toolbox.py) directly and through `mcpobs record`, in interleaved rounds (one round
direct, one recorded, and again), and prints the p50 and p99 round trip of each, the time added per
message (a call is two messages, request and response) and the ratio: the median over the rounds of
each round's recorded p50 to its direct p50. Target: at most 1.15x. The HTTP log is checked to hold
every message of every timed call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio
from common import Target, interleaved, load_average, machine, percentile, round_ratio
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.helpers
from tests.helpers import RECORD, recording, serving  # noqa: E402

TOOLBOX = str(ROOT / "tests" / "servers" / "toolbox.py")
TARGET_RATIO = 1.15  # the recorded round trip at most this many times the direct one, at the median


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


def _log_messages(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if '"kind": "message"' in line)


def measure(rounds: int, calls: int) -> dict[str, tuple[list[list[float]], list[list[float]]]]:
    """For stdio and HTTP, each round's round trips (ms) direct and recorded, the rounds interleaved."""
    found: dict[str, tuple[list[list[float]], list[list[float]]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        direct = StdioServerParameters(command=sys.executable, args=[TOOLBOX])
        count = iter(range(10**6))

        def through() -> StdioServerParameters:
            log = f"{tmp}/stdio-{next(count)}.jsonl"  # a log per session: record refuses to overwrite one
            return StdioServerParameters(
                command=RECORD[0], args=[*RECORD[1:], "--out", log, "--", sys.executable, TOOLBOX]
            )

        stdio = interleaved(
            {
                "direct": lambda: anyio.run(_round_trips, direct, calls),
                "recorded": lambda: anyio.run(_round_trips, through(), calls),
            },
            rounds,
        )
        found["stdio"] = (stdio["direct"], stdio["recorded"])
        with serving([sys.executable, TOOLBOX, "--http"]) as url:
            log = Path(tmp) / "http.jsonl"
            with recording(log, url) as proxied:
                http = interleaved(
                    {
                        "direct": lambda: anyio.run(_round_trips, url, calls),
                        "recorded": lambda: anyio.run(_round_trips, proxied, calls),
                    },
                    rounds,
                )
            # every message of every timed call is in the log (two a call: request and answer)
            logged = _log_messages(log)
            if logged < 2 * calls * rounds:
                raise SystemExit(f"bench: the HTTP log holds {logged} messages for {calls * rounds} calls")
            found["http"] = (http["direct"], http["recorded"])
    return found


def _target(case: str, direct: list[list[float]], recorded: list[list[float]]) -> Target:
    ratio = round_ratio([statistics.median(r) for r in recorded], [statistics.median(d) for d in direct])
    every_direct, every_recorded = [t for r in direct for t in r], [t for r in recorded for t in r]
    d50, r50 = statistics.median(every_direct), statistics.median(every_recorded)
    detail = (
        f"direct p50 {d50:.2f} ms, p99 {percentile(every_direct, 99):.2f} ms; recorded p50 {r50:.2f} ms, "
        f"p99 {percentile(every_recorded, 99):.2f} ms; {(r50 - d50) / 2:.2f} ms added per message; "
        f"{len(direct)} rounds of {len(direct[0])} calls"
    )
    return Target(
        f"`record` over {case}, added per message at p50",
        f"tool call round trip through mcpobs record / direct ({case})",
        ratio,
        TARGET_RATIO,
        detail=detail,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, help="timed calls per case and round (100; --quick 60)")
    parser.add_argument("--rounds", type=int, help="rounds, direct and recorded interleaved (10; --quick 5)")
    parser.add_argument("--quick", action="store_true", help="5 rounds of 60 calls")
    return parser


def targets(argv: list[str]) -> list[Target]:
    """The record rows of issue 15, measured now (for ``run.py``)."""
    args = _parser().parse_args(argv)
    # many short rounds: a change in the machine's load falls on both sides of more of them
    found = measure(args.rounds or (5 if args.quick else 10), args.calls or (60 if args.quick else 100))
    return [_target(case, *times) for case, times in found.items()]


def main() -> int:
    for line in machine():
        print(line)
    found = targets(sys.argv[1:])
    for target in found:
        print(f"{target.line()}\n      {target.detail}")
    print(load_average())
    return 0 if all(t.passed for t in found) else 1


if __name__ == "__main__":
    sys.exit(main())
