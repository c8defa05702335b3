"""Every input format and encoding OTLP traces come in loads to the same rows, each span once."""

from __future__ import annotations

import copy
import gzip
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import zstandard

from mcpobs.errors import InputError
from mcpobs.ingest import load
from mcpobs.store import Store, StoreOptions
from tests.conftest import DIALECTS, request, span, span_ids, write_lines

SEMCONV = DIALECTS / "semconv.jsonl"
SEMCONV_SPANS = 46  # semconv.expected.json: span_counts.total
ROWS = (
    "SELECT trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code, "
    "mcp_method, mcp_target, mcp_side, error_type FROM spans ORDER BY trace_id, span_id"
)
TRACE = "5b8efff798038103d269b633813fc60c"


def _rows(path: Path | str) -> list[tuple[Any, ...]]:
    with Store() as store:
        load(store, [str(path)])
        return store.con.execute(ROWS).fetchall()


def _count(store: Store, sql: str = "SELECT count(*) FROM spans") -> int:
    row = store.con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def _one_span(store: Store, columns: str) -> tuple[Any, ...]:
    rows = store.con.execute(f"SELECT {columns} FROM spans").fetchall()
    assert len(rows) == 1
    return rows[0]


@pytest.fixture(scope="module")
def semconv_rows() -> list[tuple[Any, ...]]:
    return _rows(SEMCONV)


def test_semconv_baseline_holds_every_span(semconv_rows: list[tuple[Any, ...]]) -> None:
    assert len(semconv_rows) == SEMCONV_SPANS
    assert sum(1 for r in semconv_rows if r[2] is None) == 2  # the two agent roots
    assert sum(1 for r in semconv_rows if r[10] == "client") == 22
    assert sum(1 for r in semconv_rows if r[10] == "server") == 22


@pytest.mark.parametrize(
    ("name", "format"),
    [
        ("semconv.protojson.jsonl", "otlp-json-lines"),
        ("semconv.binpb", "otlp-proto"),
        ("semconv.collector.pb", "otlp-proto-framed"),
    ],
)
def test_other_encodings_of_semconv_give_identical_rows(
    store: Store, semconv_rows: list[tuple[Any, ...]], name: str, format: str
) -> None:
    report = load(store, [str(DIALECTS / name)])
    assert [(s.format, s.spans, s.duplicate_spans) for s in report.sources] == [(format, SEMCONV_SPANS, 0)]
    assert store.con.execute(ROWS).fetchall() == semconv_rows


def test_gzip_jsonl_loads_like_the_plain_file(
    store: Store, semconv_rows: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    compressed = tmp_path / "semconv.jsonl.gz"
    compressed.write_bytes(gzip.compress(SEMCONV.read_bytes()))
    report = load(store, [str(compressed)])
    assert [(s.format, s.spans) for s in report.sources] == [("otlp-json-lines", SEMCONV_SPANS)]
    assert store.con.execute(ROWS).fetchall() == semconv_rows


def test_zstd_jsonl_loads_like_the_plain_file(
    store: Store, semconv_rows: list[tuple[Any, ...]], tmp_path: Path
) -> None:
    compressed = tmp_path / "semconv.jsonl.zst"
    compressed.write_bytes(zstandard.ZstdCompressor().compress(SEMCONV.read_bytes()))
    report = load(store, [str(compressed)])
    assert [(s.format, s.spans) for s in report.sources] == [("otlp-json-lines", SEMCONV_SPANS)]
    assert store.con.execute(ROWS).fetchall() == semconv_rows


def test_gzip_of_a_pretty_printed_document_loads(store: Store, tmp_path: Path) -> None:
    document = json.dumps(request([span(span_id=i) for i in span_ids(3)]), indent=2)
    compressed = tmp_path / "export.json.gz"
    compressed.write_bytes(gzip.compress(document.encode()))
    report = load(store, [str(compressed)])
    assert [(s.format, s.spans) for s in report.sources] == [("otlp-json", 3)]


def test_a_pretty_printed_document_loads(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(request([span(span_id=i) for i in span_ids(3)]), indent=2))
    report = load(store, [str(path)])
    assert [(s.format, s.spans) for s in report.sources] == [("otlp-json", 3)]
    assert store.con.execute("SELECT span_id FROM spans ORDER BY span_id").fetchall() == [(i,) for i in span_ids(3)]


def test_several_pretty_printed_documents_in_a_row_load(store: Store, tmp_path: Path) -> None:
    ids = span_ids(5)
    documents = [request([span(span_id=i) for i in ids[:2]]), request([span(span_id=i) for i in ids[2:]], "other")]
    path = tmp_path / "exports.json"
    path.write_text("\n".join(json.dumps(d, indent=2) for d in documents) + "\n")
    report = load(store, [str(path)])
    assert [(s.format, s.spans) for s in report.sources] == [("otlp-json", 5)]
    assert store.con.execute("SELECT service_name, count(*) FROM spans GROUP BY ALL ORDER BY ALL").fetchall() == [
        ("other", 3),
        ("weather-mcp-server", 2),
    ]


@pytest.mark.parametrize("ending", ["\n", ""], ids=["newline-at-end", "no-newline-at-end"])
def test_compact_documents_concatenated_on_one_line_load(store: Store, tmp_path: Path, ending: str) -> None:
    # what `cat a.json b.json` gives when each export lacks a final newline
    ids = span_ids(3)
    path = tmp_path / "exports.json"
    documents = [request([span(span_id=ids[0])]), request([span(span_id=i) for i in ids[1:]])]
    path.write_text("".join(json.dumps(d) for d in documents) + ending)
    report = load(store, [str(path)])
    assert [(s.format, s.spans) for s in report.sources] == [("otlp-json", 3)]
    assert _count(store) == 3


def test_stdin_is_read_with_a_dash(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = "".join(json.dumps(request([span(span_id=i)])) + "\n" for i in span_ids(2))

    class _Stdin:
        buffer = io.BytesIO(lines.encode())

    monkeypatch.setattr(sys, "stdin", _Stdin())
    report = load(store, ["-"])
    assert [(s.name, s.format, s.spans) for s in report.sources] == [("<stdin>", "otlp-json-lines", 2)]
    assert store.con.execute("SELECT path, spans FROM sources").fetchall() == [("<stdin>", 2)]


def test_a_directory_loads_the_exports_below_it_but_hidden_ones(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "traces"
    (root / "day1" / "deep").mkdir(parents=True)
    (root / ".cache").mkdir()
    ids = span_ids(6)
    write_lines(root / "a.jsonl", [request([span(span_id=ids[0])])])
    write_lines(root / "day1" / "b.jsonl", [request([span(span_id=ids[1])])])
    write_lines(root / "day1" / "deep" / "c.json", [request([span(span_id=ids[2])])])
    write_lines(root / ".hidden.jsonl", [request([span(span_id=ids[3])])])
    write_lines(root / ".cache" / "d.jsonl", [request([span(span_id=ids[4])])])
    write_lines(root / "day1" / "~e.jsonl", [request([span(span_id=ids[5])])])
    (root / "make_traces.py").write_text("print('not a trace export')\n")
    (root / "NOTES.md").write_text("# notes beside the exports\n")
    report = load(store, [str(root)])
    assert [s.name for s in report.sources] == [
        str(root / "a.jsonl"),
        str(root / "day1" / "b.jsonl"),
        str(root / "day1" / "deep" / "c.json"),
    ]
    assert store.con.execute("SELECT span_id FROM spans ORDER BY span_id").fetchall() == [(i,) for i in ids[:3]]


def test_a_glob_loads_the_files_it_matches(store: Store, tmp_path: Path) -> None:
    ids = span_ids(3)
    write_lines(tmp_path / "one.jsonl", [request([span(span_id=ids[0])])])
    write_lines(tmp_path / "two.jsonl", [request([span(span_id=ids[1])])])
    write_lines(tmp_path / "three.json", [request([span(span_id=ids[2])])])
    report = load(store, [str(tmp_path / "*.jsonl")])
    assert [s.name for s in report.sources] == [str(tmp_path / "one.jsonl"), str(tmp_path / "two.jsonl")]
    assert store.con.execute("SELECT span_id FROM spans ORDER BY span_id").fetchall() == [(i,) for i in ids[:2]]


def test_the_same_file_named_twice_in_one_load_is_read_once(store: Store) -> None:
    report = load(store, [str(SEMCONV), str(DIALECTS / "." / "semconv.jsonl")])
    assert [(s.name, s.spans) for s in report.sources] == [(str(SEMCONV), SEMCONV_SPANS)]
    assert store.counts() == (SEMCONV_SPANS, 1)


def _load_one(store: Store, tmp_path: Path, raw: dict[str, Any] | str) -> None:
    path = write_lines(tmp_path / "quirk.jsonl", [raw])
    report = load(store, [str(path)])
    assert [(s.spans, s.skipped_lines) for s in report.sources] == [(1, [])]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [(3, 3), ("3", 3), ("SPAN_KIND_CLIENT", 3), (0, 0), ("SPAN_KIND_UNSPECIFIED", 0), (5, 5), ("5", 5)],
)
def test_span_kind_as_number_digits_or_name(store: Store, tmp_path: Path, kind: int | str, expected: int) -> None:
    _load_one(store, tmp_path, request([span(kind=kind)]))
    assert _one_span(store, "kind") == (expected,)


def test_missing_kind_and_status_are_unspecified_and_unset(store: Store, tmp_path: Path) -> None:
    raw = span()
    del raw["kind"], raw["status"]
    _load_one(store, tmp_path, request([raw]))
    assert _one_span(store, "kind, status_code") == (0, 0)


@pytest.mark.parametrize(
    ("code", "expected"),
    [(2, 2), ("2", 2), ("STATUS_CODE_ERROR", 2), (1, 1), ("STATUS_CODE_OK", 1), ("0", 0), ("STATUS_CODE_UNSET", 0)],
)
def test_status_code_as_number_digits_or_name(store: Store, tmp_path: Path, code: int | str, expected: int) -> None:
    raw = span()
    raw["status"] = {"code": code, "message": "boom"}
    _load_one(store, tmp_path, request([raw]))
    assert _one_span(store, "status_code, status_message") == (expected, "boom")


# Above 2**53: a JSON number read through a double would come back changed.
BIG_START = 1_795_165_200_007_000_001
BIG_END = 1_795_165_200_045_000_003


@pytest.mark.parametrize("as_number", [True, False], ids=["number", "string"])
def test_timestamps_as_numbers_or_strings_keep_every_digit(store: Store, tmp_path: Path, as_number: bool) -> None:
    raw = span()
    raw["startTimeUnixNano"] = BIG_START if as_number else str(BIG_START)
    raw["endTimeUnixNano"] = BIG_END if as_number else str(BIG_END)
    _load_one(store, tmp_path, request([raw]))
    assert _one_span(store, "start_ns, end_ns") == (BIG_START, BIG_END)


@pytest.mark.parametrize("value", [2**63 - 1, str(2**63 - 1)], ids=["number", "string"])
def test_int_attribute_as_number_or_string_keeps_every_digit(store: Store, tmp_path: Path, value: int | str) -> None:
    raw = span()
    raw["attributes"].append({"key": "big", "value": {"intValue": value}})
    _load_one(store, tmp_path, request([raw]))
    row = _one_span(store, "list_filter(attributes, lambda a: a.key = 'big')[1].value.intValue")
    assert row == (str(2**63 - 1),)


@pytest.mark.parametrize("value", [1_234_567, "1234567"], ids=["number", "string"])
def test_token_count_as_number_or_string(store: Store, tmp_path: Path, value: int | str) -> None:
    raw = span(name="chat claude", attributes={"gen_ai.operation.name": "chat"})
    raw["attributes"].append({"key": "gen_ai.usage.input_tokens", "value": {"intValue": value}})
    _load_one(store, tmp_path, request([raw]))
    assert _one_span(store, "gen_ai_operation, input_tokens") == ("chat", 1_234_567)


@pytest.mark.parametrize(
    ("trace", "span_id", "parent"),
    [
        ("5B8EFFF798038103D269B633813FC60C", "EEE19B7EC3C1B174", "00F067AA0BA902B7"),
        ("W47/95gDgQPSabYzgT/GDA==", "7uGbfsPBsXQ=", "APBnqgupArc="),
    ],
    ids=["upper-case-hex", "base64"],
)
def test_ids_in_upper_case_hex_or_base64_are_stored_as_lower_case_hex(
    store: Store, tmp_path: Path, trace: str, span_id: str, parent: str
) -> None:
    _load_one(store, tmp_path, request([span(trace=trace, span_id=span_id, parent=parent)]))
    assert _one_span(store, "trace_id, span_id, parent_span_id") == (TRACE, "eee19b7ec3c1b174", "00f067aa0ba902b7")


@pytest.mark.parametrize("parent", ["", None, "absent"])
def test_a_root_span_has_no_parent_whether_empty_null_or_absent(
    store: Store, tmp_path: Path, parent: str | None
) -> None:
    raw = span()
    if parent == "absent":
        del raw["parentSpanId"]
    else:
        raw["parentSpanId"] = parent
    _load_one(store, tmp_path, request([raw]))
    assert _one_span(store, "parent_span_id") == (None,)


def test_pre_1_0_instrumentation_library_spans_load(store: Store, tmp_path: Path) -> None:
    document = request([span()])
    scope = document["resourceSpans"][0].pop("scopeSpans")[0]
    document["resourceSpans"][0]["instrumentationLibrarySpans"] = [
        {"instrumentationLibrary": {"name": "old-sdk", "version": "0.9"}, "spans": scope["spans"]}
    ]
    _load_one(store, tmp_path, document)
    assert _one_span(store, "scope_name, scope_version, mcp_method, mcp_target") == (
        "old-sdk",
        "0.9",
        "tools/call",
        "get-weather",
    )


def test_scope_spans_and_instrumentation_library_spans_side_by_side_both_load(store: Store, tmp_path: Path) -> None:
    ids = span_ids(2)
    document = request([span(span_id=ids[0])])
    document["resourceSpans"][0]["instrumentationLibrarySpans"] = [
        {"instrumentationLibrary": {"name": "old-sdk"}, "spans": [span(span_id=ids[1])]}
    ]
    path = write_lines(tmp_path / "both.jsonl", [document])
    report = load(store, [str(path)])
    assert report.spans == 2
    assert store.con.execute("SELECT span_id, scope_name FROM spans ORDER BY span_id").fetchall() == [
        (ids[0], "test"),
        (ids[1], "old-sdk"),
    ]


def test_unknown_fields_anywhere_are_ignored(store: Store, tmp_path: Path) -> None:
    raw = span()
    raw["futureField"] = {"nested": [1, 2]}
    raw["status"] = {"code": 0, "extra": True}
    raw["attributes"][0]["value"]["futureValue"] = "x"
    document = request([raw])
    document["partialSuccess"] = {}
    document["resourceSpans"][0]["unknown"] = 1
    document["resourceSpans"][0]["scopeSpans"][0]["newThing"] = "y"
    _load_one(store, tmp_path, document)
    assert _one_span(store, "span_id, mcp_method, status_code") == ("eee19b7ec3c1b174", "tools/call", 0)


def test_a_metrics_export_loads_no_spans_and_no_error(store: Store, tmp_path: Path) -> None:
    metrics = {"resourceMetrics": [{"resource": {}, "scopeMetrics": [{"metrics": [{"name": "calls"}]}]}]}
    path = write_lines(tmp_path / "metrics.jsonl", [metrics])
    report = load(store, [str(path)])
    assert [(s.spans, s.skipped_lines) for s in report.sources] == [(0, [])]
    assert store.counts() == (0, 1)


def test_non_trace_lines_between_trace_lines_are_passed_over(store: Store, tmp_path: Path) -> None:
    ids = span_ids(2)
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            request([span(span_id=ids[0])]),
            {"resourceMetrics": []},
            {},
            {"resourceLogs": [{"scopeLogs": []}]},
            request([span(span_id=ids[1])]),
        ],
    )
    report = load(store, [str(path)])
    assert [(s.spans, s.skipped_lines) for s in report.sources] == [(2, [])]


def test_loading_the_same_file_again_is_a_no_op(store: Store) -> None:
    first = load(store, [str(SEMCONV)])
    second = load(store, [str(SEMCONV)])
    assert [(s.spans, s.already_loaded) for s in first.sources] == [(SEMCONV_SPANS, False)]
    assert [(s.spans, s.duplicate_spans, s.already_loaded) for s in second.sources] == [(0, 0, True)]
    assert store.counts() == (SEMCONV_SPANS, 1)


def test_a_copy_of_a_loaded_file_under_another_name_is_already_loaded(store: Store, tmp_path: Path) -> None:
    load(store, [str(SEMCONV)])
    copied = tmp_path / "copy.jsonl"
    copied.write_bytes(SEMCONV.read_bytes())
    report = load(store, [str(copied)])
    assert [(s.spans, s.already_loaded) for s in report.sources] == [(0, True)]
    assert store.counts() == (SEMCONV_SPANS, 1)


def test_an_overlapping_file_adds_only_its_new_spans(store: Store, tmp_path: Path) -> None:
    ids = span_ids(5)
    first = write_lines(tmp_path / "first.jsonl", [request([span(span_id=i) for i in ids[:3]])])
    second = write_lines(tmp_path / "second.jsonl", [request([span(span_id=i) for i in ids[1:]])])
    load(store, [str(first)])
    report = load(store, [str(second)])
    assert [(s.spans, s.duplicate_spans, s.already_loaded) for s in report.sources] == [(2, 2, False)]
    assert store.con.execute("SELECT span_id, count(*) FROM spans GROUP BY ALL ORDER BY ALL").fetchall() == [
        (i, 1) for i in ids
    ]
    assert store.con.execute("SELECT path, spans, duplicate_spans FROM sources ORDER BY source_id").fetchall() == [
        (str(first), 3, 0),
        (str(second), 2, 2),
    ]


def test_the_same_span_id_in_another_trace_is_not_a_duplicate(store: Store, tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "two-traces.jsonl",
        [request([span(trace=TRACE)]), request([span(trace="0" * 31 + "1")])],
    )
    report = load(store, [str(path)])
    assert [(s.spans, s.duplicate_spans) for s in report.sources] == [(2, 0)]


def test_the_same_span_twice_in_one_file_is_stored_once(store: Store, tmp_path: Path) -> None:
    ids = span_ids(2)
    repeated = span(span_id=ids[0])
    path = write_lines(
        tmp_path / "repeat.jsonl",
        [request([repeated, span(span_id=ids[1])]), request([copy.deepcopy(repeated)])],
    )
    report = load(store, [str(path)])
    assert [(s.spans, s.duplicate_spans) for s in report.sources] == [(2, 1)]
    assert store.con.execute("SELECT span_id, count(*) FROM spans GROUP BY ALL ORDER BY ALL").fetchall() == [
        (ids[0], 1),
        (ids[1], 1),
    ]
    assert store.con.execute("SELECT spans, duplicate_spans FROM sources").fetchall() == [(2, 1)]


def test_a_persistent_store_remembers_what_it_loaded(tmp_path: Path) -> None:
    options = StoreOptions(path=tmp_path / "x.duckdb")
    with Store(options) as store:
        first = load(store, [str(SEMCONV)])
        assert first.spans == SEMCONV_SPANS
    with Store(options) as store:
        again = load(store, [str(SEMCONV)])
        assert [(s.spans, s.already_loaded) for s in again.sources] == [(0, True)]
        assert store.counts() == (SEMCONV_SPANS, 1)
        protobuf = load(store, [str(DIALECTS / "semconv.binpb")])
        assert [(s.spans, s.duplicate_spans) for s in protobuf.sources] == [(0, SEMCONV_SPANS)]
        assert store.counts() == (SEMCONV_SPANS, 2)


def test_a_directory_reads_compressed_and_protobuf_exports_by_name(store: Store, tmp_path: Path) -> None:
    import gzip
    import shutil

    root = tmp_path / "exports"
    root.mkdir()
    shutil.copy(DIALECTS / "semconv.collector.pb", root / "traces.pb")
    (root / "more.jsonl.gz").write_bytes(gzip.compress((DIALECTS / "logfire.jsonl").read_bytes()))
    (root / "traces.pb.bak").write_bytes(b"\x00\x01 not an export")
    report = load(store, [str(root)])
    assert sorted(s.name for s in report.sources) == sorted([str(root / "traces.pb"), str(root / "more.jsonl.gz")])


@pytest.mark.parametrize("encoded", ["semconv.binpb", "semconv.collector.pb"])
def test_protobuf_keeps_every_field_the_json_export_has(encoded: str) -> None:
    # every stored column, attributes, events, links and derived ones included; the whole
    # resource is kept on the first span of its block, and the two files block spans differently
    rows = []
    for name in ("semconv.jsonl", encoded):
        with Store() as store:
            load(store, [str(DIALECTS / name)])
            rows.append(
                store.con.execute("SELECT * EXCLUDE (source_id, resource) FROM spans ORDER BY span_id").fetchall()
            )
    assert len(rows[0]) == 46
    assert rows[0] == rows[1]


def test_a_file_changed_past_its_head_at_the_same_size_is_loaded_again(store: Store, tmp_path: Path) -> None:
    # the check was the size and the first 64 KiB: an edit past them was "already loaded", and lost
    ids = span_ids(400)
    path = write_lines(tmp_path / "grows.jsonl", [request([span(span_id=i)]) for i in ids])
    assert path.stat().st_size > 2 * 65536
    first = load(store, [str(path)])
    assert [(s.spans, s.already_loaded) for s in first.sources] == [(400, False)]
    changed = "f" * 16
    path.write_text(path.read_text().replace(ids[-1], changed))
    report = load(store, [str(path)])
    assert [(s.spans, s.duplicate_spans, s.already_loaded) for s in report.sources] == [(1, 399, False)]
    assert store.con.execute("SELECT count(*) FROM spans WHERE span_id = ?", [changed]).fetchone() == (1,)
    again = load(store, [str(path)])
    assert [(s.spans, s.already_loaded, s.same_as) for s in again.sources] == [(0, True, str(path))]


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize("packed", [False, True])
def test_a_utf8_bom_at_the_start_is_accepted(store: Store, tmp_path: Path, packed: bool) -> None:
    # editors on Windows (and PowerShell's Out-File) write one: it was "not OTLP"
    lines = BOM + SEMCONV.read_bytes()
    pretty = BOM + json.dumps(request([span(span_id=i) for i in span_ids(3)]), indent=2).encode()
    recording = BOM + (Path(__file__).parents[2] / "sample_traces" / "notes_session.jsonl").read_bytes()
    files = []
    for name, data in (("lines.jsonl", lines), ("pretty.json", pretty), ("recording.jsonl", recording)):
        path = tmp_path / (name + ".gz" if packed else name)
        path.write_bytes(gzip.compress(data) if packed else data)
        files.append(str(path))
    report = load(store, files)
    assert [s.format for s in report.sources] == ["otlp-json-lines", "otlp-json", "mcpobs-event-log"]
    assert [s.spans for s in report.sources][:2] == [SEMCONV_SPANS, 3]
    assert report.sources[2].spans > 0


def test_a_bad_line_after_a_bom_is_still_found_at_its_line(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(BOM + json.dumps(request([span()])).encode() + b"\n[1]\n")
    with pytest.raises(InputError) as failure:
        load(store, [str(path)])
    assert (failure.value.line, "expected a JSON object" in str(failure.value)) == (2, True)


def test_protobuf_with_every_value_kind_stores_what_its_json_mapping_stores(tmp_path: Path) -> None:
    # the protobuf rewrite builds each span field by field: every AnyValue kind, events, links, dropped
    # counts, a resource and scope, and defaults left out must store what protobuf's own JSON mapping of
    # the same message stores (enum names, 64-bit integers as strings: read by the loader; ids made hex,
    # as OTLP/JSON has them, since links are kept as their JSON)
    import base64

    from google.protobuf.json_format import MessageToDict
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

    def attribute(key: str, **value: Any) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(**value))

    attributes = [
        attribute("mcp.method.name", string_value="tools/call"),
        attribute("gen_ai.tool.name", string_value="é search"),
        attribute("count", int_value=-5),
        attribute("flag", bool_value=False),
        attribute("ratio", double_value=2.5e-5),
        attribute("raw", bytes_value=b"\x00\xff"),
        attribute("unset"),
        attribute("list", array_value=ArrayValue(values=[AnyValue(int_value=1), AnyValue(string_value="x")])),
        attribute("map", kvlist_value=KeyValueList(values=[attribute("n", double_value=1.5)])),
        attribute("blank", string_value=""),
    ]
    message = ExportTraceServiceRequest()
    block = message.resource_spans.add(schema_url="https://opentelemetry.io/schemas/1.26.0")
    block.resource.attributes.extend([attribute("service.name", string_value="toolbox"), *attributes[2:4]])
    block.resource.dropped_attributes_count = 2
    scope = block.scope_spans.add()
    scope.scope.name, scope.scope.version = "mcp", "2.3.0"
    scope.scope.attributes.extend(attributes[2:3])
    call = scope.spans.add(
        trace_id=bytes(range(16)),
        span_id=bytes(range(8)),
        parent_span_id=bytes(range(1, 9)),
        name="tools/call search",
        kind=2,
        start_time_unix_nano=1_700_000_000_000_000_000,
        end_time_unix_nano=1_700_000_000_250_000_000,
        trace_state="vendor=a",
        flags=257,
        dropped_attributes_count=1,
        dropped_events_count=2,
        dropped_links_count=3,
    )
    call.attributes.extend(attributes)
    call.status.code, call.status.message = 2, "tool failed"
    event = call.events.add(time_unix_nano=1_700_000_000_100_000_000, name="exception", dropped_attributes_count=1)
    event.attributes.extend(attributes[:3])
    link = call.links.add(trace_id=bytes(16), span_id=bytes(8), trace_state="x=1", flags=1, dropped_attributes_count=4)
    link.attributes.extend(attributes[2:4])
    scope.spans.add(
        trace_id=bytes(range(16)), span_id=bytes(range(2, 10)), start_time_unix_nano=1, end_time_unix_nano=2
    )
    encoded = tmp_path / "traces.binpb"
    encoded.write_bytes(message.SerializeToString())
    document = MessageToDict(message)
    for item in [s for s in document["resourceSpans"][0]["scopeSpans"][0]["spans"]] + [
        link for s in document["resourceSpans"][0]["scopeSpans"][0]["spans"] for link in s.get("links", [])
    ]:
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in item:
                item[key] = base64.b64decode(item[key]).hex()
    mapped = write_lines(tmp_path / "traces.jsonl", [document])
    rows, links = [], []
    for path in (encoded, mapped):
        with Store() as store:
            load(store, [str(path)])
            rows.append(store.con.execute("SELECT * EXCLUDE (source_id, links) FROM spans ORDER BY span_id").fetchall())
            stored = store.con.execute("SELECT links FROM spans ORDER BY span_id").fetchall()
            links.append([json.loads(row[0]) if row[0] else None for row in stored])  # the same keys, in any order
    assert len(rows[0]) == 2
    assert rows[0] == rows[1]
    assert links[0] == links[1]
    assert links[0][0][0]["traceId"] == "0" * 32
