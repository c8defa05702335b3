#!/usr/bin/env python
"""Record an elicitation between a real mcp SDK 2.x client and server, in both protocol eras,
over stdio and Streamable HTTP, through ``mcpobs record``; and export the same runs' OTel spans.

Run from the repository root: ``.venv/bin/python tests/data/mrtr/make_mrtr.py`` (about 20 s).
Versions it was run with are in README.md next to this script.

For each scenario ``{transport}-{era}`` (stdio-2026, stdio-2025, http-2026, http-2025) it writes:

* ``{scenario}.log.jsonl``: the event log ``mcpobs record`` wrote (stdio: the recorder starts the
  server; HTTP: the recorder is a reverse proxy in front of it);
* ``{scenario}.client-spans.jsonl``: the client's spans (mcp SDK tracer ``mcp-python-sdk``,
  ``MCP send …`` CLIENT spans) through opentelemetry-exporter-otlp-json-file's FileSpanExporter;
* ``{scenario}.server-spans.jsonl``: the server's spans (SERVER ``tools/call …``), the same way.

The client (``mode="auto"``: 2026-07-28; ``mode="legacy"``: the 2025 handshake) calls ``echo``, then
``book`` twice: the first time it accepts the elicitation (guest Ada), the second it declines, and
the server answers the declined call with an ``isError`` result. Under 2026-07-28 each ``book`` is
two JSON-RPC requests (``input_required``, then the retry with ``inputResponses``/``requestState``
under a new id); under 2025 it is one request with an ``elicitation/create`` from the server inside.

Two more, over stdio under 2026-07-28: ``concurrent-2026`` books rooms 12 and 14 at once: room 12's
question is answered (accepted) once room 14's has come, room 14's (declined) 0.5 s later, so room 12's
retry is sent while both calls wait for theirs; ``abandoned-2026`` calls ``book`` through
``client.session.call_tool(..., allow_input_required=True)`` and closes without sending the retry.
``http-two-clients-2026``: two clients (``front-desk``, ``night-audit``, each naming itself in
``_meta`` ``io.modelcontextprotocol/clientInfo``) call ``echo`` through one recorder, no session.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root: tests.helpers
from tests.helpers import free_port, listening, recording  # noqa: E402

HERE = Path(__file__).resolve().parent
SERVER = HERE / "elicit_server.py"
SCENARIOS = (
    "stdio-2026",
    "stdio-2025",
    "http-2026",
    "http-2025",
    "concurrent-2026",
    "abandoned-2026",
    "http-two-clients-2026",
)


def client(scenario: str, target: str) -> None:
    """Run the traced client against ``target`` (an HTTP URL, or ``stdio``); in a process of its own."""
    import anyio
    from mcp import Client, StdioServerParameters
    from mcp_types import ElicitResult, Implementation
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "booking-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(str(HERE / f"{scenario}.client-spans.jsonl"))))
    trace.set_tracer_provider(provider)
    answers = iter(["accept", "decline"])
    asked_14 = anyio.Event()

    async def on_elicit(context: Any, params: Any) -> ElicitResult:
        if scenario.startswith("concurrent"):
            # room 12's answer waits for room 14's question, room 14's comes 0.5 s after it: the first
            # rounds go 12, 14 and the retries 12, 14, each while the other call waits for its retry
            if "room 14" in params.message:
                asked_14.set()
                await anyio.sleep(0.5)
                return ElicitResult(action="decline")
            with anyio.fail_after(10):
                await asked_14.wait()
            return ElicitResult(action="accept", content={"name": "Ada"})
        action = next(answers)
        return ElicitResult(action=action, content={"name": "Ada"} if action == "accept" else None)

    async def main() -> None:
        server: Any = target
        if target == "stdio":
            log = HERE / f"{scenario}.log.jsonl"
            spans = HERE / f"{scenario}.server-spans.jsonl"
            server = StdioServerParameters(
                command=sys.executable,
                args=["-m", "mcpobs.cli", "record", "--out", str(log), "--", sys.executable, str(SERVER), str(spans)],
            )
        mode = "auto" if scenario.endswith("2026") else "legacy"
        if "two-clients" in scenario:
            for name in ("front-desk", "night-audit"):
                info = Implementation(name=name, version="1.0.0")
                async with Client(server, mode=mode, client_info=info) as c:  # type: ignore[arg-type]
                    await c.call_tool("echo", {"text": name})
            return
        with anyio.fail_after(60):
            async with Client(server, mode=mode, elicitation_callback=on_elicit) as c:  # type: ignore[arg-type]
                print(await c.call_tool("echo", {"text": "hello"}), file=sys.stderr)
                if scenario.startswith("abandoned"):
                    print(await c.session.call_tool("book", {"room": "12"}, allow_input_required=True), file=sys.stderr)
                    return
                if scenario.startswith("concurrent"):
                    await c.list_tools()  # so that each call_tool sends only its own request
                    async with anyio.create_task_group() as group:
                        group.start_soon(c.call_tool, "book", {"room": "12"})
                        await anyio.sleep(0.05)
                        group.start_soon(c.call_tool, "book", {"room": "14"})
                    return
                print(await c.call_tool("book", {"room": "12"}), file=sys.stderr)
                print(await c.call_tool("book", {"room": "14"}), file=sys.stderr)

    anyio.run(main)
    provider.shutdown()


def run(scenario: str) -> None:
    for suffix in ("log", "client-spans", "server-spans"):
        (HERE / f"{scenario}.{suffix}.jsonl").unlink(missing_ok=True)
    me = [sys.executable, __file__, "--client", scenario]
    if not scenario.startswith("http"):
        subprocess.run([*me, "stdio"], check=True, timeout=120)
        return
    port = free_port()
    spans = HERE / f"{scenario}.server-spans.jsonl"
    log = HERE / f"{scenario}.log.jsonl"
    with (
        listening([sys.executable, str(SERVER), str(spans), "--http", str(port)], port),
        recording(log, f"http://127.0.0.1:{port}/mcp") as url,
    ):
        subprocess.run([*me, url], check=True, timeout=120)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client(sys.argv[2], sys.argv[3])
    else:
        for name in sys.argv[1:] or SCENARIOS:
            run(name)
