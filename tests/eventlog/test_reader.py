"""Reading logs back: a log cut anywhere is valid up to its last whole line; anything else is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcpobs.errors import InputError
from mcpobs.eventlog import EventLogWriter, Redactor
from mcpobs.eventlog.reader import is_event_log, read_event_log


def _log(path: Path) -> Path:
    writer = EventLogWriter(path, Redactor(), "stdio", {"command": ["server"]})
    writer.message("c2s", b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
    writer.message("s2c", b'{"jsonrpc":"2.0","id":1,"result":{}}\n')
    writer.event("server_exited", code=0)
    writer.close()
    return path


def test_a_log_cut_anywhere_reads_up_to_its_last_whole_line(tmp_path: Path) -> None:
    data = _log(tmp_path / "whole.jsonl").read_bytes()
    newlines = [i for i, b in enumerate(data) if b == ord("\n")]
    for cut in range(newlines[0] + 1, len(data)):
        path = tmp_path / "cut.jsonl"
        path.write_bytes(data[:cut])
        log = read_event_log(path)
        assert len(log.records) == sum(1 for n in newlines if n < cut) - 1
        assert log.cut_short is (cut not in [n + 1 for n in newlines])


def test_the_writer_refuses_to_overwrite(tmp_path: Path) -> None:
    path = _log(tmp_path / "a.jsonl")
    with pytest.raises(FileExistsError):
        EventLogWriter(path, Redactor(), "stdio", {"command": ["x"]})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty: no event log header"),
        ('{"kind": "header"}\n', 'not an event log: the first line has no "format": "mcpobs-event-log" header'),
        (
            '{"kind": "header", "format": "mcpobs-event-log", "version": 9}\n',
            "event log version 9: this mcpobs reads version 1",
        ),
    ],
)
def test_not_a_log(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_event_log(path)


def test_a_bad_line_is_named_with_its_number(tmp_path: Path) -> None:
    path = _log(tmp_path / "a.jsonl")
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(2, "{oops\n")
    path.write_text("".join(lines))
    with pytest.raises(InputError, match=r"a\.jsonl:3: invalid JSON"):
        read_event_log(path)
    assert is_event_log(lines[0].encode())
    assert not is_event_log(b'{"resourceSpans": []}')
