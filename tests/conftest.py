"""Shared fixtures: a real in-memory store, the CLI runner, and builders of OTLP test files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcpobs.store import Store
from tests.helpers import free_port as free_port  # re-exported: tests import them from here
from tests.helpers import serving as serving
from tests.helpers import wait_for_port as wait_for_port

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
DIALECTS = DATA / "dialects"
SAMPLE = ROOT / "sample_traces" / "mcp_agent_session.jsonl"


@pytest.fixture
def store() -> Iterator[Store]:
    with Store() as s:
        yield s


@pytest.fixture
def in_tests_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in tests/, so that file names given relative to it read the same in the output everywhere."""
    monkeypatch.chdir(DATA.parent)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # rich reads the width from COLUMNS: pin it so table output is the same everywhere
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


def span(
    *,
    trace: str = "5b8efff798038103d269b633813fc60c",
    span_id: str = "eee19b7ec3c1b174",
    parent: str = "",
    name: str = "tools/call get-weather",
    kind: int | str = 2,
    start: int | str = 1_700_000_000_000_000_000,
    duration_ns: int = 10_000_000,
    attributes: dict[str, Any] | None = None,
    error_type: str | None = None,
    events: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One OTLP JSON span following the MCP semantic conventions."""
    attrs: dict[str, Any] = {"mcp.method.name": name.split(" ")[0]}
    if name.startswith("tools/call "):
        attrs["gen_ai.tool.name"] = name.split(" ", 1)[1]
    if error_type:
        attrs["error.type"] = error_type
    attrs.update(attributes or {})
    end = int(start) + duration_ns
    result: dict[str, Any] = {
        "traceId": trace,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": str(start) if isinstance(start, int) else start,
        "endTimeUnixNano": str(end),
        "attributes": [{"key": k, "value": any_value(v)} for k, v in attrs.items()],
        "status": {"code": 2} if error_type else {},
    }
    if events:
        result["events"] = events
    return result


def any_value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    return {"stringValue": str(v)}


def request(spans: list[dict[str, Any]], service: str = "weather-mcp-server") -> dict[str, Any]:
    """An ExportTraceServiceRequest holding ``spans`` from one service."""
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
                "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}],
            }
        ]
    }


def write_lines(path: Path, requests: list[Any]) -> Path:
    """Write each request as one JSON line (strings are written as they are)."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in requests))
    return path


def span_ids(n: int) -> list[str]:
    return [f"{i + 1:016x}" for i in range(n)]


def llm_span(
    *,
    trace: str = "5b8efff798038103d269b633813fc60c",
    span_id: str,
    parent: str = "",
    model: str = "gpt-4o-mini",
    provider: str | None = "openai",
    start: int = 1_760_000_000_000_000_000,
    duration_ns: int = 100_000_000,
    usage: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One OTLP JSON span of an LLM call as the GenAI semantic conventions trace it.

    ``usage`` keys are the ends of ``gen_ai.usage.*`` names (``input_tokens``,
    ``cache_read.input_tokens``, …); values are written as they are given.
    """
    attrs: dict[str, Any] = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model}
    if provider is not None:
        attrs["gen_ai.provider.name"] = provider
    attrs.update({f"gen_ai.usage.{k}": v for k, v in (usage or {}).items()})
    attrs.update(attributes or {})
    return {
        "traceId": trace,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": f"chat {model}",
        "kind": 3,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + duration_ns),
        "attributes": [{"key": k, "value": any_value(v)} for k, v in attrs.items()],
        "status": {},
    }
