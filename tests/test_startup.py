"""Start-up pays only for what runs: `mcpobs --help` imports no command's heavy stack (house rule).

Each case runs the CLI in a fresh interpreter, as typer's own tests do, and reads which modules it
imported from ``sys.modules``. ruff's TID253 keeps such imports out of cli.py's top; these cases
also catch a light module of the library that imports a heavy one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "sample_traces" / "mcp_agent_session.jsonl"

# The heavy stacks: the mcp SDK, genai-prices, Vega, Arrow, DuckDB, the HTTP client and server,
# ClickHouse's clients, and rich's console (a third of typer's own start-up).
CLICKHOUSE = ("clickhouse_connect", "clickhouse_driver")
NOT_FOR_HELP = (
    *CLICKHOUSE,
    "mcp",
    "mcp_types",
    "genai_prices",
    "vl_convert",
    "pyarrow",
    "duckdb",
    "httpx",
    "httpx2",
    "uvicorn",
    "rich.console",
    "jsonschema",
)
# analyze reads and reports: it opens DuckDB and prints with rich, but prices nothing without --cost
# (neither mcpobs' cost layer nor the YAML reader of its price files: about 20 ms)
NOT_FOR_ANALYZE = (
    "mcpobs.cost",
    "yaml",
    "mcp",
    "mcp_types",
    "genai_prices",
    "vl_convert",
    "pyarrow",
    "httpx",
    "httpx2",
    "uvicorn",
    # validates tool arguments only for the argument sections
    "jsonschema",
    *CLICKHOUSE,
)

_RUN = """
import json, sys
from mcpobs.cli import app
status = None
try:
    app(sys.argv[1:], prog_name="mcpobs")
except SystemExit as e:
    status = e.code
print(json.dumps({"status": status, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _imported(*args: str) -> set[str]:
    """The modules ``mcpobs ARGS`` imported; it must exit 0."""
    result = subprocess.run(
        [sys.executable, "-c", _RUN, *args], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(result.stderr.splitlines()[-1])
    assert seen["status"] in (0, None), result.stderr
    return set(seen["modules"])


def _heavy(modules: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_heavy_stack(flag: str) -> None:
    assert _heavy(_imported(flag), NOT_FOR_HELP) == []


def test_analyze_imports_neither_the_mcp_sdk_nor_vega_nor_the_cost_stack() -> None:
    modules = _imported("analyze", str(SAMPLE))
    assert "duckdb" in modules  # it did run
    assert _heavy(modules, NOT_FOR_ANALYZE) == []


COST_SAMPLE = SAMPLE.with_name("agent_cost_session.jsonl")


@pytest.mark.parametrize("command", [["cost"], ["analyze", "--cost"]])
def test_pricing_llm_calls_imports_neither_arrow_nor_pandas(command: list[str]) -> None:
    # the prices went back to DuckDB as an Arrow table, and DuckDB imports pandas before it scans
    # any Python object: 200 ms of CPU, a fifth of `mcpobs report`
    modules = _imported(command[0], str(COST_SAMPLE), *command[1:])
    assert "genai_prices" in modules  # it did price
    assert _heavy(modules, ("pyarrow", "pandas", "numpy")) == []


def test_typer_reads_every_commands_types_as_objects_not_strings() -> None:
    # typer reads each command's types four times at every start (--help and --version too), and
    # compiled the strings `from __future__ import annotations` leaves each time (resolved once: 5 ms
    # less CPU a start)
    from mcpobs.cli import app

    callbacks = [
        info.callback for info in (app.registered_callback, *app.registered_commands) if info and info.callback
    ]
    assert len(callbacks) > 10
    left = {f"{f.__name__}.{name}" for f in callbacks for name, t in f.__annotations__.items() if isinstance(t, str)}
    assert left == set()
