"""Record tests/data/replay/time-http-concurrent-2026.jsonl (run from the repository root, after
``bash .ci/thirdparty-servers``): mcp-server-time over Streamable HTTP, through ``mcpobs record
--upstream``, by mcp SDK 2.3 Clients in mode auto (2026-07-28): two sessions one after the other, then
three at once. Whether the three answers come back in another order than their requests went out
depends on the run: keep a recording where they did (the stored one: requests New York, Sydney,
Cairo, all id 2, exchanges 14, 15, 16; answers New York, Cairo, Sydney)."""

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from tests.thirdparty.conftest import SERVERS, TIME_HTTP, SupervisedHttp
from tests.thirdparty.test_replay_thirdparty import record_http


def converting(zone: str) -> Any:
    async def session(client: Any) -> None:
        await client.call_tool("convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": zone})
        await client.list_tools()
        await client.call_tool("convert_time", {"source_timezone": zone, "time": "08:00", "target_timezone": "UTC"})

    return session


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/time-http")
    out.mkdir(parents=True, exist_ok=True)
    launcher = out / "time_http.py"
    launcher.write_text(TIME_HTTP)
    server = SupervisedHttp(out, f'"{SERVERS}/venv/bin/python" "{launcher}"')
    try:
        concurrent = [converting(z) for z in ("America/New_York", "Australia/Sydney", "Africa/Cairo")]
        sessions = (converting("Asia/Tokyo"), converting("Europe/Paris"))
        record_http(out / "time-http-concurrent-2026.jsonl", server.url, "auto", *sessions, concurrent=concurrent)
    finally:
        server.stop()
