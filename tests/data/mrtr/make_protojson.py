#!/usr/bin/env python
"""Write ``stdio-2026.log.protojson.jsonl``: the calls of ``stdio-2026.log.jsonl`` as ``mcpobs convert
--to otlp`` writes them, passed through protobuf and written back by ``google.protobuf.json_format.
MessageToJson`` (compact, one line): the non-spec JSON mapping with base64 trace, span and link ids and
enum names, as a pipeline that re-encodes OTLP through protobuf (a Collector stage, a protobuf exporter
dumped to JSON) writes them.

The hex ids are turned into bytes by hand: ``json_format.Parse`` would read hex as base64 (wrong
bytes, no error; see FIELD-NOTES).

Run from the repository root: ``python tests/data/mrtr/make_protojson.py``
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToJson, ParseDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

HERE = Path(__file__).resolve().parent
LOG = HERE / "stdio-2026.log.jsonl"
OUT = HERE / "stdio-2026.log.protojson.jsonl"
ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _as_base64(node: Any) -> Any:
    """Every hex id in an OTLP JSON document as the base64 of its bytes, as protobuf's mapping has them."""
    if isinstance(node, list):
        return [_as_base64(n) for n in node]
    if not isinstance(node, dict):
        return node
    return {
        k: base64.b64encode(bytes.fromhex(v)).decode() if k in ID_KEYS and v else _as_base64(v) for k, v in node.items()
    }


def main() -> None:
    converted = subprocess.run(
        [sys.executable, "-m", "mcpobs", "convert", str(LOG), "--to", "otlp"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with OUT.open("w", encoding="utf-8") as out:
        for line in converted.splitlines():
            request = ParseDict(_as_base64(json.loads(line)), ExportTraceServiceRequest())
            out.write(MessageToJson(request, indent=None) + "\n")
    text = OUT.read_text()
    assert '"links"' in text and "SPAN_KIND_CLIENT" in text, "expected links and enum names"
    print(f"wrote {OUT.relative_to(HERE.parent.parent.parent)}")


if __name__ == "__main__":
    main()
