"""Bad input stops with one line naming the file and line, and what loaded before it stays."""

from __future__ import annotations

import gzip
import json
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mcpobs.cli import app
from mcpobs.errors import InputError
from mcpobs.ingest import load
from mcpobs.ingest.validate import Problem
from mcpobs.store import Store
from tests.conftest import DIALECTS, request, span, span_ids, write_lines

IDS = span_ids(8)
SPAN_PATH = "resourceSpans[0].scopeSpans[0].spans[1]"
KINDS = "SPAN_KIND_UNSPECIFIED, SPAN_KIND_INTERNAL, SPAN_KIND_SERVER, SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER"


def _good_lines() -> list[dict[str, Any]]:
    return [request([span(span_id=i)]) for i in IDS[:3]]


def _with_bad_line(path: Path, bad: dict[str, Any] | str) -> Path:
    """Good, good, blank, BAD, good: the bad line is line 4."""
    first, second, third = _good_lines()
    return write_lines(path, [first, second, "", bad, third])


def _loaded_ids(store: Store) -> list[str]:
    return [r[0] for r in store.con.execute("SELECT span_id FROM spans ORDER BY span_id").fetchall()]


def _bad_span(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A request whose second span is changed: the whole line is bad."""
    bad = span(span_id=IDS[7])
    change(bad)
    return request([span(span_id=IDS[6]), bad])


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda s: s.__setitem__(key, value)


def _add_attribute(value: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda s: s["attributes"].append({"key": "n", "value": value})


BAD_LINES: list[Any] = [
    pytest.param(
        '{"resourceSpans": [}',
        "invalid JSON: Expecting value (column 20)",
        id="malformed-json",
    ),
    pytest.param(
        json.dumps([request([span()])]),
        "expected a JSON object, got a list",
        id="a-list",
    ),
    pytest.param(
        _bad_span(lambda s: s.pop("traceId")),
        f"{SPAN_PATH}: traceId is missing",
        id="no-trace-id",
    ),
    pytest.param(
        _bad_span(_set("traceId", "not-an-id!")),
        f"{SPAN_PATH}: traceId 'not-an-id!' is neither 32 hex digits nor base64 of 16 bytes",
        id="trace-id-neither-hex-nor-base64",
    ),
    pytest.param(
        _bad_span(_set("startTimeUnixNano", "abc")),
        f"{SPAN_PATH}: startTimeUnixNano: expected an integer, got 'abc'",
        id="start-abc",
    ),
    pytest.param(
        _bad_span(_set("kind", "SPAN_KIND_BOGUS")),
        f'{SPAN_PATH}: kind: "SPAN_KIND_BOGUS" is not one of {KINDS}, SPAN_KIND_CONSUMER or 0..5',
        id="kind-bogus",
    ),
    pytest.param(
        _bad_span(_set("attributes", {"mcp.method.name": "tools/call"})),
        f"{SPAN_PATH}: attributes: expected a list, got an object",
        id="attributes-not-a-list",
    ),
    pytest.param(
        _bad_span(_add_attribute({"intValue": "x"})),
        f'{SPAN_PATH}: attributes[2] (n).intValue: expected an integer, got "x"',
        id="int-value-x",
    ),
    pytest.param(
        _bad_span(_set("startTimeUnixNano", "-5")),
        f"{SPAN_PATH}: startTimeUnixNano: expected an integer, got '-5'",
        id="start-negative",
    ),
    pytest.param(
        _bad_span(_set("events", [{"name": "e", "timeUnixNano": "abc"}])),
        f"{SPAN_PATH}: events[0].timeUnixNano: expected an integer, got 'abc'",
        id="event-time-abc",
    ),
    # the checker says nothing of these fields yet: the line number is what matters
    pytest.param(_bad_span(_set("flags", "x")), None, id="flags-x"),
    pytest.param(_bad_span(_set("droppedAttributesCount", -1)), None, id="dropped-count-negative"),
    pytest.param(_bad_span(_add_attribute({"doubleValue": "abc"})), None, id="double-value-abc"),
    pytest.param(_bad_span(_add_attribute({"boolValue": "maybe"})), None, id="bool-value-maybe"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_a_bad_line_is_named_by_file_and_line(
    store: Store, tmp_path: Path, bad: dict[str, Any] | str, message: str | None
) -> None:
    path = _with_bad_line(tmp_path / "traces.jsonl", bad)
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    if message is None:
        assert str(caught.value).startswith(f"{path}:4: ")
    else:
        assert str(caught.value) == f"{path}:4: {message}"
    assert caught.value.line == 4
    assert "\n" not in str(caught.value)
    assert store.counts() == (0, 0)


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_skip_invalid_leaves_the_bad_line_out(
    store: Store, tmp_path: Path, bad: dict[str, Any] | str, message: str | None
) -> None:
    path = _with_bad_line(tmp_path / "traces.jsonl", bad)
    report = load(store, [str(path)], skip_invalid=True)
    skipped = report.sources[0].skipped_lines
    assert [p.line for p in skipped] == [4]
    if message is not None:
        assert skipped == [Problem(4, message)]
    assert _loaded_ids(store) == IDS[:3]
    assert store.con.execute("SELECT spans, skipped_lines FROM sources").fetchall() == [(3, 1)]


def test_skip_invalid_counts_every_bad_line(store: Store, tmp_path: Path) -> None:
    good = _good_lines()
    path = write_lines(
        tmp_path / "traces.jsonl",
        [
            good[0],
            "{oops",
            good[1],
            _bad_span(_set("kind", "SPAN_KIND_BOGUS")),
            "",
            "[]",
            good[2],
        ],
    )
    report = load(store, [str(path)], skip_invalid=True)
    assert report.sources[0].skipped_lines == [
        Problem(2, "invalid JSON: Expecting property name enclosed in double quotes (column 2)"),
        Problem(4, f'{SPAN_PATH}: kind: "SPAN_KIND_BOGUS" is not one of {KINDS}, SPAN_KIND_CONSUMER or 0..5'),
        Problem(6, "expected a JSON object, got a list"),
    ]
    assert report.skipped_lines == 3
    assert report.spans == 3
    assert _loaded_ids(store) == IDS[:3]


def test_a_bad_line_in_a_gzip_file_is_named_by_its_line(store: Store, tmp_path: Path) -> None:
    plain = _with_bad_line(tmp_path / "traces.jsonl", "[1]")
    path = tmp_path / "traces.jsonl.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value) == f"{path}:4: expected a JSON object, got a list"


def test_a_bad_line_with_crlf_line_ends_is_named_by_its_line(store: Store, tmp_path: Path) -> None:
    good = [json.dumps(r) for r in _good_lines()]
    path = tmp_path / "windows.jsonl"
    path.write_bytes("\r\n".join([good[0], good[1], "[1]", good[2]]).encode() + b"\r\n")
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value) == f"{path}:3: expected a JSON object, got a list"


def test_a_line_that_is_not_utf8_is_named(store: Store, tmp_path: Path) -> None:
    good = [json.dumps(r).encode() for r in _good_lines()]
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b"\n".join([good[0], good[1], b'{"resourceSpans": [], "x": "caf\xe9"}', good[2]]) + b"\n")
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value) == f"{path}:3: not UTF-8 text"


def test_a_bad_document_in_a_pretty_printed_file_is_named_by_its_first_line(store: Store, tmp_path: Path) -> None:
    first = json.dumps(request([span(span_id=IDS[0])]), indent=2)
    second = json.dumps(request([span(span_id=IDS[1], kind="NOPE")]), indent=2)
    path = tmp_path / "exports.json"
    path.write_text(first + "\n" + second + "\n")
    second_starts = first.count("\n") + 2
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value) == (
        f"{path}:{second_starts}: resourceSpans[0].scopeSpans[0].spans[0]: "
        f'kind: "NOPE" is not one of {KINDS}, SPAN_KIND_CONSUMER or 0..5'
    )


def test_a_jsonl_file_whose_first_line_is_cut_short_names_line_1(store: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "traces.jsonl", ['{"resourceSpans": [', *_good_lines()])
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value) == f"{path}:1: invalid JSON: Expecting value (column 20)"


def test_skip_invalid_skips_a_bad_first_line(store: Store, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "traces.jsonl", ["{oops", *_good_lines()])
    report = load(store, [str(path)], skip_invalid=True)
    assert report.sources[0].skipped_lines == [
        Problem(1, "invalid JSON: Expecting property name enclosed in double quotes (column 2)")
    ]
    assert _loaded_ids(store) == IDS[:3]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.jsonl", b"", "empty file"),
        ("blank.jsonl", b"  \n\t\r\n\n", "file holds only white space"),
        (
            "array.json",
            json.dumps([request([span()])]).encode(),
            '1: a JSON array: not an OTLP trace export (expected {"resourceSpans": …})',
        ),
        (
            "random.bin",
            b"\xff" + random.Random(0).randbytes(999),
            "not OTLP: binary data that is neither OTLP protobuf nor gzip/zstd",
        ),
        (
            "notes.txt",
            b"these are not traces\nat all\n",
            "1: not OTLP: expected JSON (starting with '{') or OTLP protobuf",
        ),
    ],
)
def test_a_file_that_is_not_otlp_is_refused_whole(
    store: Store, tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    separator = ":" if message[0].isdigit() else ": "
    assert str(caught.value) == f"{path}{separator}{message}"
    assert store.counts() == (0, 0)


def _cut_gzip(tmp_path: Path) -> tuple[Path, int]:
    """semconv.jsonl gzipped and cut in the middle; also how many whole lines remain before the cut."""
    data = gzip.compress(DIALECTS.joinpath("semconv.jsonl").read_bytes(), mtime=0)
    cut = data[: len(data) // 2]
    whole_lines = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    assert 1 <= whole_lines < 4  # the cut falls inside a later line, not the first
    path = tmp_path / "semconv.jsonl.gz"
    path.write_bytes(cut)
    return path, whole_lines


def test_a_truncated_gzip_file_names_the_line_it_ends_in(store: Store, tmp_path: Path) -> None:
    path, whole_lines = _cut_gzip(tmp_path)
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value).startswith(f"{path}:{whole_lines + 1}: compressed stream ends early: ")
    assert store.counts() == (0, 0)


def test_skip_invalid_loads_the_whole_lines_before_a_gzip_cut(store: Store, tmp_path: Path) -> None:
    path, whole_lines = _cut_gzip(tmp_path)
    lines = DIALECTS.joinpath("semconv.jsonl").read_text().splitlines()[:whole_lines]
    expected = sum(
        len(ss["spans"]) for line in lines for rs in json.loads(line)["resourceSpans"] for ss in rs["scopeSpans"]
    )
    report = load(store, [str(path)], skip_invalid=True)
    assert [p.line for p in report.sources[0].skipped_lines] == [whole_lines + 1]
    assert report.spans == expected
    assert store.counts() == (expected, 1)


def _collector_records() -> tuple[bytes, list[tuple[int, int]]]:
    """semconv.collector.pb and each record's (offset, payload size)."""
    data = DIALECTS.joinpath("semconv.collector.pb").read_bytes()
    records, offset = [], 0
    while offset < len(data):
        (size,) = struct.unpack(">I", data[offset : offset + 4])
        records.append((offset, size))
        offset += 4 + size
    assert len(records) == 4
    return data, records


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (4 + 100, "record 3: record is cut short: 100 of {size} bytes"),
        (2, "record 3: file ends inside a record's length prefix"),
    ],
    ids=["inside-the-payload", "inside-the-length"],
)
def test_a_cut_collector_file_names_the_record(store: Store, tmp_path: Path, extra: int, message: str) -> None:
    data, records = _collector_records()
    offset, size = records[2]
    path = tmp_path / "traces.pb"
    path.write_bytes(data[: offset + extra])
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value) == f"{path}:{message.format(size=size)}"
    assert caught.value.line == 3
    assert store.counts() == (0, 0)


def test_a_collector_record_that_is_not_protobuf_is_named(store: Store, tmp_path: Path) -> None:
    data, records = _collector_records()
    garbage = b"\xff\xff\xff\xff\xff"
    offset = records[1][0]
    path = tmp_path / "traces.pb"
    path.write_bytes(data[:offset] + struct.pack(">I", len(garbage)) + garbage)
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value).startswith(f"{path}:record 2: not an OTLP ExportTraceServiceRequest: ")
    assert store.counts() == (0, 0)


@pytest.mark.parametrize(
    "content",
    [
        DIALECTS.joinpath("semconv.binpb").read_bytes() + b"\xff\xff\xff\xff",
        DIALECTS.joinpath("semconv.binpb").read_bytes()[:10_000],
        b"\x0a\xff\xff\xff\xff\x0f garbage",
    ],
    ids=["trailing-garbage", "cut-short", "garbage"],
)
def test_a_bad_bare_protobuf_file_is_refused(store: Store, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "traces.binpb"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value).startswith(f"{path}: not an OTLP ExportTraceServiceRequest: ")
    assert "\n" not in str(caught.value)
    assert store.counts() == (0, 0)


def test_files_loaded_before_a_bad_one_stay_loaded(store: Store, tmp_path: Path) -> None:
    good = write_lines(tmp_path / "good.jsonl", _good_lines())
    bad = write_lines(tmp_path / "bad.jsonl", [request([span(span_id=IDS[5])]), "{oops"])
    with pytest.raises(InputError) as caught:
        load(store, [str(good), str(bad)])
    assert str(caught.value) == (f"{bad}:2: invalid JSON: Expecting property name enclosed in double quotes (column 2)")
    assert _loaded_ids(store) == IDS[:3]
    assert store.con.execute("SELECT path, spans, duplicate_spans, skipped_lines FROM sources").fetchall() == [
        (str(good), 3, 0, 0)
    ]


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("missing.jsonl", "no such file or directory"),
        ("empty-dir", "directory holds no trace files (.json, .jsonl, .ndjson, .pb, .binpb, .otlp)"),
        ("hidden-only", "directory holds no trace files (.json, .jsonl, .ndjson, .pb, .binpb, .otlp)"),
        ("*.nothing", "no file matches this pattern"),
    ],
)
def test_arguments_that_name_no_file(store: Store, tmp_path: Path, argument: str, message: str) -> None:
    (tmp_path / "empty-dir").mkdir()
    (tmp_path / "hidden-only").mkdir()
    write_lines(tmp_path / "hidden-only" / ".traces.jsonl", _good_lines())
    path = tmp_path / argument
    with pytest.raises(InputError) as caught:
        load(store, [str(path)])
    assert str(caught.value) == f"{path}: {message}"
    assert store.counts() == (0, 0)


def test_cli_reports_bad_input_in_one_line_with_exit_3(runner: CliRunner, tmp_path: Path) -> None:
    bad = _with_bad_line(tmp_path / "bad.jsonl", "[1]")
    result = runner.invoke(app, ["analyze", str(bad)])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == f"mcpobs: error: {bad}:4: expected a JSON object, got a list\n"


def test_cli_skip_invalid_loads_a_truncated_gzip_up_to_the_cut(runner: CliRunner, tmp_path: Path) -> None:
    path, whole_lines = _cut_gzip(tmp_path)
    result = runner.invoke(app, ["analyze", "--skip-invalid", str(path)])
    assert result.exception is None
    assert result.exit_code == 0
    assert f"mcpobs: skipped {path}:{whole_lines + 1}: compressed stream ends early: " in result.stderr


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ([f'{{"resourceSpans": {DEEP}}}'], "deep.jsonl:1: invalid JSON: JSON nested too deeply to read"),
        (
            ["{}", f'{{"resourceSpans": {DEEP}}}'],
            "deep.jsonl:2: invalid JSON: JSON nested too deeply to read",
        ),
        (
            ['{"format": "mcpobs-event-log", "version": 1, "kind": "header"}', DEEP],
            "deep.jsonl:2: invalid JSON: JSON nested too deeply to read",
        ),
    ],
    ids=["first line", "later line", "event log"],
)
def test_json_nested_too_deeply_is_a_clean_error(
    runner: CliRunner, tmp_path: Path, lines: list[str], error: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deep.jsonl").write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["analyze", "deep.jsonl"])
    assert (result.exit_code, result.stderr) == (3, f"mcpobs: error: {error}\n")
