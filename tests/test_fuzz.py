"""Every reader of a user's file, fed random bytes and random JSON and YAML structures, fails only
with a clean error (an McpobsError: one line, an exit status), never a traceback.

The readers: trace files of every format ingest tells apart (OTLP JSON lines and documents, OTLP
protobuf plain and framed, gzip and zstd, event logs, mcp-recorder, mcp-vcr and mcp-cassette
files), recordings as replay and convert read them, rules files, --where filters, price files and
replay's mcpobs.yaml. Random structures mostly stop at format detection, so real files of each
format (tests/data) are mutated too, a few edits each (a key dropped, a value of another type, a
line repeated or cut, nesting thousands deep, protobuf bytes flipped or cut), which takes the
readers deep; a deterministic test checks that a good share of those still load, so that a reader
refusing everything would fail. Kept to a modest number of examples: the whole file runs in well
under a minute on a loaded 2-core machine.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import subprocess
import sys
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
from tests.conftest import ROOT

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


@contextlib.contextmanager
def _clean_error() -> Iterator[None]:
    """Nothing but an McpobsError may come out, and its message is one line (what the CLI prints)."""
    try:
        yield
    except McpobsError as e:
        message = str(e)
    else:
        return
    assert "\n" not in message, message
    assert "\r" not in message, message


def _reads_cleanly(store: Store, content: bytes, compression: str, suffix: str = ".jsonl") -> tuple[int, bool]:
    """Loaded as a trace file (stopping at the first bad line, and skipping bad lines), and read as a
    recording, plain or compressed: nothing but an McpobsError may come out. What loaded: the most spans
    either load took, and whether it was read as a recording."""
    data = {
        "": content,
        ".gz": gzip.compress(content),
        ".zst": zstandard.ZstdCompressor().compress(content),
    }[compression]
    spans, recording = 0, False
    with tempfile.TemporaryDirectory(prefix="mcpobs-fuzz-") as tmp:
        path = Path(tmp) / f"input{suffix}{compression}"
        path.write_bytes(data)
        for skip_invalid in (False, True):
            with _clean_error():
                report = load(store, [str(path)], skip_invalid=skip_invalid)
                # what a load before this one already holds counts too (the store keeps one of each)
                again = sum(source.already_loaded or source.same_as is not None for source in report.sources)
                spans = max(spans, report.spans + report.duplicate_spans + again)
        if suffix in (".pb", ".binpb"):
            return spans, False
        with _clean_error():
            read_recording(path)
            recording = True
    return spans, recording


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


# Real files of each format, as their generators wrote them (see the READMEs beside them).
SEEDS = {
    "otlp-lines": ROOT / "tests" / "data" / "mrtr" / "stdio-2025.server-spans.jsonl",
    "event-log": ROOT / "tests" / "data" / "mrtr" / "stdio-2025.log.jsonl",
    "mcp-recorder": ROOT / "tests" / "data" / "peers" / "mcp-recorder-stdio.json",
    "mcp-cassette": ROOT / "tests" / "data" / "peers" / "mcp-cassette-stdio.cassette",
    "mcp-vcr": ROOT / "tests" / "data" / "peers" / "mcp-vcr-stdio.ndjson",
}
PROTOBUF_SEEDS = {
    ".binpb": ROOT / "tests" / "data" / "dialects" / "semconv.binpb",
    ".pb": ROOT / "tests" / "data" / "dialects" / "semconv.collector.pb",  # the Collector's framing
}
# What a value may become: another type, an empty one, a huge number, an id of the wrong length.
_REPLACEMENTS: list[Any] = [None, True, 0, -1, 2**64, 1.5e308, "", "x", "0" * 32, "zz", [], {}, [None], {"": 0}]
_DEEP = "\x00deep{}\x00"  # stands for nesting that json.dumps would refuse to write (it recurses)


def _seed_lines(name: str) -> tuple[list[Any], bool]:
    """A seed file as JSON values: one per line for a line format, else the one document."""
    text = SEEDS[name].read_text()
    if name in ("mcp-recorder", "mcp-cassette"):
        return [json.loads(text)], False
    return [json.loads(line) for line in text.splitlines() if line.strip()], True


def _places(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a JSON value, walked without recursion."""
    places: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            places.append((node, key))
            stack.append(child)
    return places


def _mutate(name: str, seed: int, edits: int) -> bytes:
    """A real file of a format with ``edits`` random edits, the same for the same seed."""
    rng = random.Random(seed)
    lines, per_line = _seed_lines(name)
    for _ in range(edits):
        container, key = rng.choice(_places(lines))
        edit = rng.randrange(6)
        if edit == 0 and container is not lines:
            del container[key]
        elif edit == 1:
            container[key] = rng.choice(_REPLACEMENTS)
        elif edit == 2:  # the value as a string, or a string as a number
            value = container[key]
            container[key] = json.dumps(value) if not isinstance(value, str) else len(value)
        elif edit == 3 and isinstance(container, list):
            container.insert(key, json.loads(json.dumps(container[key])))  # repeated: a line, a span, an id
        elif edit == 4:
            container[key] = _DEEP.format(rng.choice([50, 2000, 50000]))
        else:
            container[key] = [container[key]] if rng.random() < 0.5 else {"value": container[key]}
    texts = [json.dumps(line) for line in lines] if per_line else [json.dumps(lines[0], indent=2)]
    text = "\n".join(texts) + "\n"
    for depth in {int(d) for d in _deep_depths(text)}:
        text = text.replace(json.dumps(_DEEP.format(depth)), "[" * depth + "1" + "]" * depth)
    data = text.encode()
    if rng.random() < 0.15:  # cut short, as a file still being written is
        data = data[: rng.randrange(len(data))]
    return data


def _deep_depths(text: str) -> list[str]:
    marker = json.dumps(_DEEP.format("|")).split("|")
    return [part.split(marker[1])[0] for part in text.split(marker[0])[1:]]


def _mutate_protobuf(suffix: str, seed: int, edits: int) -> bytes:
    """A real OTLP protobuf file mutated: a bare request message by message (a field cleared or given
    another value of its type, a repeated element dropped or repeated), then, as the Collector's
    framed file always is, byte by byte (flipped, inserted, repeated, cut)."""
    from google.protobuf.descriptor import FieldDescriptor
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    rng = random.Random(seed)
    raw = PROTOBUF_SEEDS[suffix].read_bytes()
    if suffix == ".binpb":
        request = ExportTraceServiceRequest.FromString(raw)
        for _ in range(edits):
            places: list[tuple[Any, Any]] = []
            stack: list[Any] = [request]
            while stack:
                message = stack.pop()
                for field, value in message.ListFields():
                    places.append((message, field))
                    if field.type == FieldDescriptor.TYPE_MESSAGE:
                        stack.extend(value if _repeated(field) else [value])
            message, field = rng.choice(places)
            value = getattr(message, field.name)
            if _repeated(field) and field.type == FieldDescriptor.TYPE_MESSAGE and rng.random() < 0.7:
                at = rng.randrange(len(value))
                if rng.random() < 0.5:
                    del value[at]
                else:
                    value.add().CopyFrom(value[at])  # a span, an attribute twice
            elif field.type == FieldDescriptor.TYPE_BYTES and not _repeated(field):
                setattr(message, field.name, rng.choice([b"", b"\x00", bytes(range(rng.randint(1, 40)))]))
            elif field.type in (FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_UINT64) and not _repeated(field):
                setattr(message, field.name, rng.choice([0, 1, 2**63, 2**64 - 1]))
            elif field.type == FieldDescriptor.TYPE_STRING and not _repeated(field):
                setattr(message, field.name, rng.choice(["", "\x00", "é" * 3, "x" * 5000]))
            else:
                message.ClearField(field.name)
        return request.SerializeToString()
    data = bytearray(raw)
    for _ in range(edits):
        at = rng.randrange(len(data))
        edit = rng.randrange(4)
        if edit == 0:
            data[at] = rng.randrange(256)
        elif edit == 1:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif edit == 2:
            data[at:at] = data[at : at + rng.randint(1, 64)]
        else:
            del data[at:]
    return bytes(data)


def _repeated(field: Any) -> bool:
    return bool(field.is_repeated)


@FUZZ_LOADS
@given(st.sampled_from(sorted(SEEDS)), st.integers(min_value=0, max_value=2**32), st.integers(1, 4), COMPRESSIONS)
@example(name="otlp-lines", seed=0, edits=0, compression="")  # unmutated: each seed loads
@example(name="event-log", seed=0, edits=0, compression="")
@example(name="mcp-vcr", seed=0, edits=0, compression=".gz")
def test_mutated_real_files_of_every_format(store: Store, name: str, seed: int, edits: int, compression: str) -> None:
    spans, recording = _reads_cleanly(store, _mutate(name, seed, edits), compression, SEEDS[name].suffix)
    if edits == 0:
        assert spans > 0 if name in ("otlp-lines", "event-log") else recording


@FUZZ_LOADS
@given(st.sampled_from(sorted(PROTOBUF_SEEDS)), st.integers(min_value=0, max_value=2**32), st.integers(0, 4))
def test_mutated_real_protobuf(store: Store, suffix: str, seed: int, edits: int) -> None:
    spans, _ = _reads_cleanly(store, _mutate_protobuf(suffix, seed, edits), "", suffix)
    if edits == 0:
        assert spans > 0


def test_most_files_with_one_edit_still_load(store: Store) -> None:
    """The mutations are small enough that readers go past detection: a reader that refused
    everything would fail here, where the tests above would pass."""
    loaded: dict[str, int] = {}
    tries = 9
    for name in SEEDS:
        for seed in range(tries):
            spans, recording = _reads_cleanly(store, _mutate(name, seed, 1), "", SEEDS[name].suffix)
            loaded[name] = loaded.get(name, 0) + bool(spans if name == "otlp-lines" else recording)
    mutated = [_mutate_protobuf(".binpb", seed, 1) for seed in range(tries)]
    loaded[".binpb"] = sum(bool(_reads_cleanly(store, data, "", ".binpb")[0]) for data in mutated)
    assert all(count >= tries // 3 for count in loaded.values()), loaded


def test_a_bad_file_is_one_line_on_stderr_and_exit_3(tmp_path: Path) -> None:
    for name, data in [
        ("cut.jsonl", SEEDS["otlp-lines"].read_bytes()[:700]),
        ("deep.jsonl", b"[" * 50000 + b"]" * 50000 + b"\n"),
        ("flipped.binpb", _mutate_protobuf(".binpb", 3, 4)[:300]),
    ]:
        (tmp_path / name).write_bytes(data)
        done = subprocess.run(
            [sys.executable, "-m", "mcpobs", "analyze", str(tmp_path / name)], capture_output=True, timeout=120
        )
        assert done.returncode == 3, (name, done.stderr.decode())
        assert done.stderr.decode().count("\n") == 1, done.stderr


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
