"""OTLP protobuf: decode with the generated classes and hand the spans to the JSON loader.

Two layouts: a bare binary ``ExportTraceServiceRequest`` (``.pb``/``.binpb``),
and the Collector file exporter's framing, where each record is a 4-byte
big-endian length then the message, zstd-compressed or not, protobuf or JSON.
Each message is rewritten as one line of OTLP JSON in a spool file (protobuf's
JSON mapping: base64 ids and enum names, which the JSON loader accepts), so
both formats share one loader and one set of checks. Record ``N`` of the input
is line ``N`` of the spool.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from mcpobs.errors import InputError
from mcpobs.ingest.sources import ZSTD_MAGIC, Format, Source

_FRAME_HEADER = struct.Struct(">I")


def spool_as_json_lines(source: Source, target: Path) -> int:
    """Write ``source`` as OTLP JSON lines to ``target``; return how many records it held."""
    records = 0
    with source.open_binary() as f, target.open("wb") as out:
        for number, record in enumerate(_records(source, f), start=1):
            out.write(_as_json_line(source, number, record))
            out.write(b"\n")
            records += 1
    return records


def _records(source: Source, f: BinaryIO) -> Iterator[bytes]:
    if source.format is Format.OTLP_PROTO:
        yield f.read()
        return
    number = 0
    while header := f.read(_FRAME_HEADER.size):
        number += 1
        if len(header) < _FRAME_HEADER.size:
            raise InputError(source.name, "file ends inside a record's length prefix", number, unit="record ")
        (size,) = _FRAME_HEADER.unpack(header)
        record = f.read(size)
        if len(record) < size:
            raise InputError(source.name, f"record is cut short: {len(record)} of {size} bytes", number, unit="record ")
        yield record


def _as_json_line(source: Source, number: int, record: bytes) -> bytes:
    unit = "record " if source.format is Format.OTLP_PROTO_FRAMED else ""
    line = number if unit else None
    if record.startswith(ZSTD_MAGIC):
        import zstandard

        try:
            record = zstandard.ZstdDecompressor().decompressobj().decompress(record)
        except zstandard.ZstdError as e:
            raise InputError(source.name, f"bad zstd data: {e}", line, unit=unit) from None
    if record.lstrip().startswith(b"{"):
        return record.strip()  # the Collector's JSON format, framed for compression
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(record)
    except DecodeError as e:
        raise InputError(
            source.name,
            f"not an OTLP ExportTraceServiceRequest: {e or 'protobuf decode error'}",
            line,
            unit=unit,
        ) from None
    return json_format.MessageToJson(request, indent=None).encode()
