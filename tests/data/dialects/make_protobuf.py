#!/usr/bin/env python
"""Write the protobuf variants of ``semconv.jsonl`` (same spans, same ground truth
``semconv.expected.json``), encoded by the OpenTelemetry SDK's own OTLP protobuf encoder
(``opentelemetry-exporter-otlp-proto-common``: ``trace_encoder.encode_spans``):

* ``semconv.binpb``             one binary ExportTraceServiceRequest with every span
                                (what an OTLP/HTTP protobuf exporter POSTs);
* ``semconv.collector.pb``      the Collector file exporter's ``format: proto`` layout: per record
                                a 4-byte big-endian length, then a serialized
                                ExportTraceServiceRequest; one record per line of semconv.jsonl
                                (4 records: per session and side, server first);
* ``semconv.protojson.jsonl``   the same records through ``google.protobuf.json_format.MessageToJson``
                                (compact, one per line): the non-spec variant with enum NAMES
                                (``SPAN_KIND_CLIENT``, ``STATUS_CODE_ERROR``) and base64 trace/span ids.

The spans come from ``make_semconv.emit_spans()`` (seeded ids, fixed timestamps), so all four files
hold identical spans. Needs ``pip install opentelemetry-exporter-otlp-proto-common``.

Run: ``python tests/data/dialects/make_protobuf.py``
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_semconv import emit_spans, line_groups  # noqa: E402

BINPB = HERE / "semconv.binpb"
COLLECTOR_PB = HERE / "semconv.collector.pb"
PROTOJSON = HERE / "semconv.protojson.jsonl"


def main() -> None:
    spans, _ = emit_spans()

    whole: ExportTraceServiceRequest = encode_spans(spans)
    BINPB.write_bytes(whole.SerializeToString(deterministic=True))

    records = [encode_spans(group) for group in line_groups(spans)]
    with COLLECTOR_PB.open("wb") as f:
        for req in records:
            payload = req.SerializeToString(deterministic=True)
            f.write(struct.pack(">I", len(payload)))
            f.write(payload)

    with PROTOJSON.open("w", encoding="utf-8") as f:
        for req in records:
            f.write(MessageToJson(req, indent=None) + "\n")

    # read back what was written
    check = ExportTraceServiceRequest()
    check.ParseFromString(BINPB.read_bytes())
    n_bin = sum(len(ss.spans) for rs in check.resource_spans for ss in rs.scope_spans)
    data, n_rec, n_col = COLLECTOR_PB.read_bytes(), 0, 0
    off = 0
    while off < len(data):
        (size,) = struct.unpack(">I", data[off : off + 4])
        req = ExportTraceServiceRequest()
        req.ParseFromString(data[off + 4 : off + 4 + size])
        n_col += sum(len(ss.spans) for rs in req.resource_spans for ss in rs.scope_spans)
        n_rec += 1
        off += 4 + size
    assert n_bin == n_col == len(spans), (n_bin, n_col, len(spans))
    print(
        f"{len(spans)} spans: {BINPB.name} ({BINPB.stat().st_size} B), "
        f"{COLLECTOR_PB.name} ({n_rec} records, {COLLECTOR_PB.stat().st_size} B), "
        f"{PROTOJSON.name} ({len(records)} lines, {PROTOJSON.stat().st_size} B)"
    )


if __name__ == "__main__":
    main()
