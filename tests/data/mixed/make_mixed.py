#!/usr/bin/env python
"""Regenerate ``mixed.jsonl``, ``mcp_only.jsonl`` and ``mixed.expected.json``: MCP spans of the mcp
SDK 2.3 next to the gRPC, HTTP and database spans real OpenTelemetry instrumentation writes in the
same processes, as an agent's traces hold them.

Nothing is hand-typed telemetry. The script runs:

* an agent process (this script; ``service.name=routes-agent``) with ``GrpcInstrumentorServer``,
  ``GrpcInstrumentorClient``, ``RequestsInstrumentor`` and ``SQLite3Instrumentor`` on: a gRPC
  server ``routeguide.RouteGuide`` (generic handlers, bytes in and out) and a ``http.server`` on
  127.0.0.1, which it also calls itself (gRPC ``GetFeature``, one ``NOT_FOUND``; ``requests`` GETs,
  one 404; a sqlite3 query), and the real ``mcp.Client`` driving
* an MCP server (mcp SDK 2.3 ``MCPServer``, a stdio subprocess of this script,
  ``service.name=routes-mcp-server``) whose tools call that gRPC server (``GrpcInstrumentorClient``),
  that HTTP server (``HTTPXClientInstrumentor``) and sqlite3 (``SQLite3Instrumentor``), so non-MCP
  spans are children of MCP spans.

Two agent sessions, one ``mode="auto"`` (2026-07-28, ``server/discover``) and one
``mode="legacy"`` (the 2025 ``initialize`` handshake), each under one ``invoke_agent`` root span.

Outputs: ``mixed.jsonl`` is every span of both processes (what a Collector receiving from both
writes); ``mcp_only.jsonl`` the same run's spans of the ``mcp-python-sdk`` tracer alone (kept by
an exporter-side filter on the instrumentation scope, so both files hold the very same MCP spans).
``mixed.expected.json`` is the script's own bookkeeping of the MCP calls it made and the outcome
the client saw, and the number of spans each non-MCP instrumentation wrote.

Package versions used (own venv, not the project's):
    mcp 2.3.0, grpcio 1.85.3, opentelemetry-sdk 1.45.1, opentelemetry-exporter-otlp-json-file 0.66b1,
    opentelemetry-instrumentation-{grpc,httpx,requests,sqlite3} 0.66b1, requests 2.34.2, httpx 0.29.0
Run (a few seconds):
    python3 -m venv /tmp/venv-mixed
    /tmp/venv-mixed/bin/pip install 'mcp==2.3.*' grpcio opentelemetry-sdk opentelemetry-exporter-otlp-json-file \
        opentelemetry-instrumentation-grpc opentelemetry-instrumentation-httpx \
        opentelemetry-instrumentation-requests opentelemetry-instrumentation-sqlite3 requests httpx
    /tmp/venv-mixed/bin/python tests/data/mixed/make_mixed.py
Timings differ from run to run; the calls, their outcomes and the span counts do not.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import grpc
from mcp import Client, MCPError, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import INVALID_PARAMS
from opentelemetry import trace
from opentelemetry.exporter.otlp.json.file import FileSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind

HERE = Path(__file__).resolve().parent
MIXED = HERE / "mixed.jsonl"
MCP_ONLY = HERE / "mcp_only.jsonl"
EXPECTED = HERE / "mixed.expected.json"
MCP_TRACER = "mcp-python-sdk"
AGENT = "routes-agent"
SERVER = "routes-mcp-server"
FEATURES = {"1,2": "Bellevue Trail", "3,4": "Old Mill Road"}


class _McpOnly(SpanExporter):
    """Passes on the spans of the mcp SDK's tracer only."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Any) -> SpanExportResult:
        kept = [s for s in spans if s.instrumentation_scope and s.instrumentation_scope.name == MCP_TRACER]
        return self.inner.export(kept) if kept else SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.inner.shutdown()


class _Scopes(SpanExporter):
    """Counts every span by instrumentation scope, for the expected file."""

    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts

    def export(self, spans: Any) -> SpanExportResult:
        for s in spans:
            self.counts[s.instrumentation_scope.name if s.instrumentation_scope else ""] += 1
        return SpanExportResult.SUCCESS


def _provider(service: str, mixed: str, mcp_only: str, counts: Counter[str] | None = None) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter(mixed)))
    provider.add_span_processor(SimpleSpanProcessor(_McpOnly(FileSpanExporter(mcp_only))))
    if counts is not None:
        provider.add_span_processor(SimpleSpanProcessor(_Scopes(counts)))
    trace.set_tracer_provider(provider)
    return provider


# --------------------------------------------------------------------------------------------
# the MCP server (subprocess)
# --------------------------------------------------------------------------------------------


def serve(mixed: str, mcp_only: str, grpc_port: int, http_port: int) -> None:
    provider = _provider(SERVER, mixed, mcp_only)
    from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

    GrpcInstrumentorClient().instrument()
    HTTPXClientInstrumentor().instrument()
    SQLite3Instrumentor().instrument()
    import httpx

    srv = MCPServer("routes", version="1.0.0", log_level="WARNING")

    @srv.tool()
    def get_feature(lat: int, lon: int) -> str:
        """The feature at a point, from the route guide (gRPC)."""
        with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            call = channel.unary_unary("/routeguide.RouteGuide/GetFeature")
            try:
                return bytes(call(f"{lat},{lon}".encode(), timeout=5)).decode()
            except grpc.RpcError as e:
                raise ToolError(f"no feature at {lat},{lon}") from e

    @srv.tool()
    def fetch_page(path: str) -> str:
        """A page of the local web server (httpx)."""
        response = httpx.get(f"http://127.0.0.1:{http_port}{path}", timeout=5)
        if response.status_code != 200:
            raise ToolError(f"HTTP {response.status_code}")
        return response.text

    @srv.tool()
    def count_rows(table: str) -> int:
        """Rows of a table (sqlite3)."""
        if table not in ("trips", "stops"):
            # a protocol-level rejection of the request: JSON-RPC -32602
            raise MCPError(code=INVALID_PARAMS, message=f"unknown table {table}")
        con = sqlite3.connect(":memory:")
        cur = con.cursor()
        cur.execute(f"CREATE TABLE {table} (id INTEGER)")
        cur.executemany(f"INSERT INTO {table} VALUES (?)", [(i,) for i in range(3)])
        cur.execute(f"SELECT count(*) FROM {table}")
        (n,) = cur.fetchone()
        con.close()
        return int(n)

    @srv.resource("routes://guide/{name}")
    def guide(name: str) -> str:
        """A route guide page."""
        return f"guide {name}"

    try:
        srv.run("stdio")
    finally:
        provider.shutdown()


# --------------------------------------------------------------------------------------------
# the agent: gRPC and HTTP servers of its own, direct calls, and the MCP client
# --------------------------------------------------------------------------------------------


def _get_feature(request: bytes, context: grpc.ServicerContext) -> bytes:
    name = FEATURES.get(request.decode())
    if name is None:
        context.abort(grpc.StatusCode.NOT_FOUND, "no feature there")
    return name.encode()


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        found = self.path.startswith("/routes/")
        body = f"page {self.path}".encode() if found else b"not found"
        self.send_response(200 if found else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


async def _session(mode: str, params: StdioServerParameters, calls: list[dict[str, Any]]) -> None:
    async with Client(params, mode=mode) as client:
        calls.append({"method": "server/discover" if mode == "auto" else "initialize", "outcome": None})

        async def tool(name: str, arguments: dict[str, Any]) -> None:
            try:
                result = await client.call_tool(name, arguments)
                outcome = "tool_error" if result.is_error else None
            except MCPError as e:
                outcome = str(e.code)
            calls.append({"method": "tools/call", "tool": name, "outcome": outcome})

        await client.list_tools()
        calls.append({"method": "tools/list", "outcome": None})
        await tool("get_feature", {"lat": 1, "lon": 2})
        await tool("get_feature", {"lat": 9, "lon": 9})  # gRPC NOT_FOUND -> isError result
        await tool("fetch_page", {"path": "/routes/north"})
        await tool("fetch_page", {"path": "/missing"})  # HTTP 404 -> isError result
        await tool("count_rows", {"table": "trips"})
        await tool("count_rows", {"table": "passwords"})  # -32602: rejected by the server
        for uri in ("routes://guide/north", "routes://nowhere"):  # the second is not found
            try:
                await client.read_resource(uri)
                outcome = None
            except MCPError as e:
                outcome = str(e.code)
            calls.append({"method": "resources/read", "outcome": outcome})


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        agent_mixed, agent_mcp = f"{tmp}/agent.jsonl", f"{tmp}/agent-mcp.jsonl"
        counts: Counter[str] = Counter()
        provider = _provider(AGENT, agent_mixed, agent_mcp, counts)
        from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient, GrpcInstrumentorServer
        from opentelemetry.instrumentation.requests import RequestsInstrumentor
        from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

        GrpcInstrumentorServer().instrument()
        GrpcInstrumentorClient().instrument()
        RequestsInstrumentor().instrument()
        SQLite3Instrumentor().instrument()
        import requests
        from concurrent import futures

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        handler = grpc.unary_unary_rpc_method_handler(_get_feature)
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("routeguide.RouteGuide", {"GetFeature": handler})])
        grpc_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        http = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
        threading.Thread(target=http.serve_forever, daemon=True).start()
        http_port = http.server_address[1]

        tracer = trace.get_tracer(AGENT)
        calls: dict[str, list[dict[str, Any]]] = {}
        for number, mode in enumerate(("auto", "legacy"), 1):
            with tracer.start_as_current_span(f"invoke_agent {AGENT}", kind=SpanKind.INTERNAL):
                # the agent's own non-MCP work, before and between its MCP calls
                with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                    call = channel.unary_unary("/routeguide.RouteGuide/GetFeature")
                    call(b"3,4", timeout=5)
                    try:
                        call(b"0,0", timeout=5)
                    except grpc.RpcError:
                        pass
                requests.get(f"http://127.0.0.1:{http_port}/routes/south", timeout=5)
                requests.get(f"http://127.0.0.1:{http_port}/nowhere", timeout=5)
                con = sqlite3.connect(":memory:")
                con.cursor().execute("SELECT 1").fetchone()
                con.close()
                params = StdioServerParameters(
                    command=sys.executable,
                    args=[
                        str(Path(__file__).resolve()),
                        "--serve",
                        f"{tmp}/server-{number}.jsonl",
                        f"{tmp}/server-{number}-mcp.jsonl",
                        str(grpc_port),
                        str(http_port),
                    ],
                )
                calls[mode] = []
                anyio.run(_session, mode, params, calls[mode])
        provider.shutdown()
        server.stop(None)
        http.shutdown()

        for out, parts in (
            (MIXED, [agent_mixed, f"{tmp}/server-1.jsonl", f"{tmp}/server-2.jsonl"]),
            (MCP_ONLY, [agent_mcp, f"{tmp}/server-1-mcp.jsonl", f"{tmp}/server-2-mcp.jsonl"]),
        ):
            lines: list[str] = []
            for part in parts:
                lines.extend(line for line in Path(part).read_text().splitlines() if line.strip())
            out.write_text("\n".join(lines) + "\n")
        server_scopes = Counter[str]()
        for part in (f"{tmp}/server-1.jsonl", f"{tmp}/server-2.jsonl"):
            for line in Path(part).read_text().splitlines():
                for rs in json.loads(line)["resourceSpans"]:
                    for ss in rs["scopeSpans"]:
                        server_scopes[ss["scope"]["name"]] += len(ss["spans"])
    EXPECTED.write_text(
        json.dumps(
            {"client_calls": calls, "agent_spans_by_scope": dict(counts), "server_spans_by_scope": dict(server_scopes)},
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        # never falls through to main(): that would start servers recursively
        _, _, mixed, mcp_only, grpc_port, http_port = sys.argv
        serve(mixed, mcp_only, int(grpc_port), int(http_port))
    else:
        main()
