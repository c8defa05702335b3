#!/usr/bin/env python
"""Record a real mcp SDK 2.x client calling both releases of ``inventory_server.py`` through ``mcpobs record``.

Run from the repository root: ``.venv/bin/python tests/data/toolsdiff/make_inventory.py`` (a few seconds).
For each release (v1, v2) it writes ``inventory-{release}.log.jsonl`` (the event log ``mcpobs record``
wrote, the recorder starting the server over stdio) and ``inventory-{release}.server-spans.jsonl`` (the
server's own spans). The client (``mode="auto"``: 2026-07-28) lists tools, prompts and resources, then
makes the same calls to each release, v2's in the reverse order: ``lookup`` A1 and B2, ``reserve`` A1 x1
and A1 x10, ``price`` A1 and Z9, and the release's own tool (``legacy_report``, ``audit``). Then it writes ``tools.lock``, v1's definitions
accepted by ``mcpobs tools --baseline`` (``make_inventory.py --lock`` writes only that).
``make_inventory.py --down`` writes only ``inventory-down.log.jsonl``: the same client in front of the
release that does not start (the server exits before it answers ``initialize``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SERVER = HERE / "inventory_server.py"
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("lookup", {"sku": "A1"}),
    ("lookup", {"sku": "B2"}),
    ("reserve", {"sku": "A1", "qty": 1}),
    ("reserve", {"sku": "A1", "qty": 10}),
    ("price", {"sku": "A1"}),
    ("price", {"sku": "Z9"}),
]
OWN = {"v1": ("legacy_report", {}), "v2": ("audit", {"since": "2026-12-01"})}


def client(release: str) -> None:
    import anyio
    from mcp import Client, StdioServerParameters

    log = HERE / f"inventory-{release}.log.jsonl"
    spans = HERE / f"inventory-{release}.server-spans.jsonl"
    if release == "down":
        spans = HERE / "no-spans.jsonl"  # the server exits before it writes any
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcpobs.cli", "record", "--out", str(log), "--", sys.executable, str(SERVER), release, str(spans)],
    )
    calls = [*CALLS, OWN.get(release, OWN["v1"])]

    async def main() -> None:
        with anyio.fail_after(60):
            async with Client(server, mode="auto") as c:
                await c.list_tools()  # so that each call_tool sends only its own request
                await c.list_prompts()
                await c.list_resources()
                for name, arguments in calls if release == "v1" else reversed(calls):
                    print(name, arguments, (await c.call_tool(name, arguments)).is_error, file=sys.stderr)

    anyio.run(main)


def down() -> None:
    """``inventory-down.log.jsonl``: the client meets a server that exits at once; its error is expected."""
    log = HERE / "inventory-down.log.jsonl"
    log.unlink(missing_ok=True)
    client = [sys.executable, __file__, "--client", "down"]
    assert subprocess.run(client, timeout=120).returncode != 0
    assert log.exists()


def lock() -> None:
    """``tools.lock``: v1's definitions, accepted (what a check of v2 fails on)."""
    (HERE / "tools.lock").unlink(missing_ok=True)
    tools = [sys.executable, "-m", "mcpobs.cli", "tools", "--baseline", str(HERE / "tools.lock")]
    subprocess.run([*tools, str(HERE / "inventory-v1.log.jsonl")], check=True, timeout=120)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client(sys.argv[2])
    elif sys.argv[1:2] == ["--down"]:
        down()
    elif sys.argv[1:2] == ["--lock"]:
        lock()
    else:
        for release in ("v1", "v2"):
            for suffix in ("log", "server-spans"):
                (HERE / f"inventory-{release}.{suffix}.jsonl").unlink(missing_ok=True)
            subprocess.run([sys.executable, __file__, "--client", release], check=True, timeout=120)
        lock()
