"""Every reader of a user's file, fed random bytes and random JSON and YAML structures, fails only
with a clean error (an McpobsError: one line, an exit status), never a traceback.

The readers: trace files of every format ingest tells apart (OTLP JSON lines and documents, OTLP
protobuf plain and framed, gzip and zstd, event logs, mcp-recorder, mcp-vcr and mcp-cassette
files), recordings as replay and convert read them, rules files, --where filters, price files and
replay's mcpobs.yaml. Kept to a modest number of examples: the whole file runs in well under a
minute on a loaded 2-core machine.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
import zstandard
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mcpobs.alerts import parse_rules
from mcpobs.analysis.sql import parse_where
from mcpobs.cost import load_prices
from mcpobs.errors import McpobsError
from mcpobs.eventlog.peers import read_recording
from mcpobs.expr import ExprError
from mcpobs.ingest import load
from mcpobs.replay.config import parse_config
from mcpobs.store import Store

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# a load opens a DuckDB query per example: fewer of them
FUZZ_LOADS = settings(FUZZ, max_examples=30)

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["resourceSpans", "scopeSpans", "spans", "traceId", "spanId", "0" * 32, "1" * 16]),
)
_keys = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            "resourceSpans",
            "scopeSpans",
            "spans",
            "resource",
            "attributes",
            "key",
            "value",
            "stringValue",
            "intValue",
            "arrayValue",
            "kvlistValue",
            "values",
            "traceId",
            "spanId",
            "parentSpanId",
            "name",
            "kind",
            "startTimeUnixNano",
            "endTimeUnixNano",
            "status",
            "code",
            "events",
            "links",
            "format",
            "version",
            "kind",
            "t",
            "dir",
            "message",
            "event",
            "text",
            "interactions",
            "request",
            "response",
            "metadata",
            "messages",
            "format_version",
            "recorded_at",
            "payload",
            "_type",
            "jsonrpc",
            "id",
            "method",
            "params",
            "result",
            "error",
        ]
    ),
)
JSON: st.SearchStrategy[Any] = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=20,
)

# What makes a file look like each format, to reach each reader past format detection.
HEADER = {"format": "mcpobs-event-log", "version": 1, "kind": "header", "t": 0}


def _as_files(value: Any) -> list[bytes]:
    """A random JSON value as each kind of file it could be taken for."""
    text = json.dumps(value)
    return [
        text.encode() + b"\n",
        json.dumps({"resourceSpans": value}).encode() + b"\n" + text.encode() + b"\n",
        json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": value}]}]}, indent=1).encode(),
        json.dumps(HEADER).encode() + b"\n" + text.encode() + b"\n",
        json.dumps({"interactions": value, "metadata": value}).encode(),
        json.dumps({"format_version": 3, "messages": value, "recorded_at": value}).encode(),
        json.dumps({"_type": "meta", "recorded_at": "2026-01-01T00:00:00Z"}).encode() + b"\n" + text.encode(),
    ]


_PREFIXES = [b"", b"{", b"\n", b"\x0a", b"\x00\x00\x00\x05", b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"[", b"\xef\xbb\xbf{"]
RANDOM_BYTES = st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(_PREFIXES), st.binary(max_size=300))


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    with Store() as s:
        yield s


COMPRESSIONS = st.sampled_from(["", ".gz", ".zst"])


def _reads_cleanly(store: Store, content: bytes, compression: str) -> None:
    """Loaded as a trace file (stopping at the first bad line, and skipping bad lines), and read as a
    recording, plain or compressed: nothing but an McpobsError may come out."""
    data = {
        "": content,
        ".gz": gzip.compress(content),
        ".zst": zstandard.ZstdCompressor().compress(content),
    }[compression]
    with tempfile.TemporaryDirectory(prefix="mcpobs-fuzz-") as tmp:
        path = Path(tmp) / f"input.jsonl{compression}"
        path.write_bytes(data)
        for skip_invalid in (False, True):
            with contextlib.suppress(McpobsError):
                load(store, [str(path)], skip_invalid=skip_invalid)
        with contextlib.suppress(McpobsError):
            read_recording(path)


@FUZZ_LOADS
@given(RANDOM_BYTES, COMPRESSIONS)
def test_random_bytes_in_any_trace_file_or_recording(store: Store, data: bytes, compression: str) -> None:
    _reads_cleanly(store, data, compression)


@FUZZ_LOADS
@given(JSON, st.integers(min_value=0, max_value=6), COMPRESSIONS)
# found by this test: DuckDB's message quoted the bad line cut inside a character (a UnicodeDecodeError)
@example(value=[[None, None, [None, None, None, None], "0\x1f\x1f\x80\x80"]], shape=1, compression="")
def test_random_json_in_the_shape_of_every_format(store: Store, value: Any, shape: int, compression: str) -> None:
    _reads_cleanly(store, _as_files(value)[shape], compression)


def _rules_texts(value: Any) -> list[str]:
    return [
        yaml.safe_dump(value),
        yaml.safe_dump({"alerts": value}),
        yaml.safe_dump({"alerts": [value]}),
        yaml.safe_dump({"alerts": [{"name": "x", "condition": value}]}),
    ]


@FUZZ
@given(JSON)
def test_random_structures_as_rules_and_settings_files(tmp_path_factory: pytest.TempPathFactory, value: Any) -> None:
    for text in _rules_texts(value):
        with contextlib.suppress(McpobsError):
            parse_rules(text, "r.yaml")
        with contextlib.suppress(McpobsError):
            parse_config(text.replace("alerts", "timeout_handling"), "mcpobs.yaml")
    prices = tmp_path_factory.mktemp("prices") / "prices.yaml"
    prices.write_text(yaml.safe_dump({"models": value, "tools": value}))
    with contextlib.suppress(McpobsError):
        load_prices(prices)


@FUZZ
@given(st.text(max_size=300))
@example("\x1f")  # found by this test: a control character was a yaml ReaderError, not a problem at its place
def test_random_text_as_rules_and_settings_files(text: str) -> None:
    for candidate in (text, "alerts:\n  - name: x\n    condition: " + text):
        with contextlib.suppress(McpobsError):
            parse_rules(candidate, "r.yaml")
        with contextlib.suppress(McpobsError):
            parse_config(candidate, "mcpobs.yaml")


_WORDS = st.sampled_from(
    ["tool", "server", "side", "==", "!=", "and", "or", "not", "(", ")", '"x"', "'y'", "+", "/", "0", "1.5", "-"]
)


@FUZZ
@given(st.one_of(st.text(max_size=200), st.lists(_WORDS, max_size=60).map(" ".join)))
def test_random_where_filters(text: str) -> None:
    column = None
    try:
        parse_where(text)
    except ExprError as e:
        column = e.column
    assert column is None or 1 <= column <= len(text) + 1
