"""Where input comes from: expanding arguments into files, and telling formats apart.

An argument is a file, a directory (every file below it, sorted), a glob, or
``-`` for standard input (spooled to a temporary file, since every loader reads
a file). Formats are told by content, not by name: gzip and zstd by their magic
bytes, JSON by its first character (an event log by its header line), the rest
is OTLP protobuf.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import shutil
import sys
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from mcpobs.errors import InputError
from mcpobs.eventlog import peers
from mcpobs.eventlog.reader import is_event_log, loads
from mcpobs.tempdirs import TempDir

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
UTF8_BOM = b"\xef\xbb\xbf"
_HEAD = 1 << 16
_HIDDEN_PREFIXES = (".", "~")


class Compression(Enum):
    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


class Format(Enum):
    """What a file holds, once decompressed."""

    OTLP_JSON_LINES = "otlp-json-lines"  # one ExportTraceServiceRequest per line
    OTLP_JSON = "otlp-json"  # one (possibly pretty-printed) document, or several in a row
    OTLP_PROTO = "otlp-proto"  # one binary ExportTraceServiceRequest
    OTLP_PROTO_FRAMED = "otlp-proto-framed"  # Collector file exporter: 4-byte length + message, repeated
    EVENT_LOG = "mcpobs-event-log"  # JSON lines written by mcpobs record (docs/event-log.md)
    MCP_RECORDER = "mcp-recorder"  # an mcp-recorder cassette: one JSON document of interactions
    MCP_VCR_NDJSON = "mcp-vcr-ndjson"  # an mcp-vcr transcript as JSON lines
    MCP_VCR_YAML = "mcp-vcr-yaml"  # an mcp-vcr transcript as YAML
    MCP_CASSETTE = "mcp-cassette"  # an mcp-cassette cassette (format version 3)


@dataclass(frozen=True)
class Source:
    """One input file, as named by the user (``name``) and as read (``path``)."""

    name: str
    path: Path
    size: int
    compression: Compression
    format: Format

    def open_binary(self) -> BinaryIO:
        """The file's content, decompressed as it is read."""
        if self.compression is Compression.GZIP:
            return gzip.open(self.path, "rb")  # type: ignore[return-value]
        if self.compression is Compression.ZSTD:
            import io

            import zstandard

            return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(self.path.open("rb")))
        return self.path.open("rb")


class ContentHash:
    """The SHA-256 of a file's whole content (``sha256:<hex>``), what tells a file already loaded.

    It is read in a thread of its own, started beside the load that reads the same file (DuckDB reads
    the path itself, so no reader can hand it the bytes it hashes): the second read comes from the
    page cache while the load runs, and costs the hashing (SHA-256 with the CPU's instructions: about
    0.7 s of CPU a GB, against some 14 s for the load) but no pass of its own. (Feeding DuckDB through
    a pipe that hashes on the way cost more CPU: the copy through the pipe.)
    """

    def __init__(self, source: Source) -> None:
        self._source = source
        self._digest = ""
        self._error: OSError | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="mcpobs-content-hash", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        digest = hashlib.sha256()
        try:
            with self._source.path.open("rb") as f:
                while not self._stop.is_set() and (chunk := f.read(1 << 20)):
                    digest.update(chunk)  # hashlib lets go of the GIL for big chunks: the load runs on
        except OSError as e:
            self._error = e
            return
        self._digest = "sha256:" + digest.hexdigest()

    @property
    def reading(self) -> bool:
        """Whether the file is still being read for its hash."""
        return self._thread.is_alive()

    def result(self) -> str:
        """The hash, once the whole file is read."""
        self._thread.join()
        if self._error is not None:
            raise InputError(self._source.name, f"cannot read: {self._error.strerror or self._error}")
        return self._digest

    def cancel(self) -> None:
        """Stop reading (the load failed or was interrupted)."""
        self._stop.set()
        self._thread.join()


def expand(arguments: Iterable[str], spool_dir: Path) -> list[Source]:
    """Turn command-line arguments into sources, in order, each file once."""
    seen: set[Path] = set()
    sources: list[Source] = []
    for argument in arguments:
        for name, path in _paths(argument, spool_dir):
            resolved = path.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            sources.append(identify(name, path))
    return sources


def estimated_size(arguments: Iterable[str]) -> int:
    """About how many bytes of JSON the arguments name, without reading them: compressed files
    count ten times their size; standard input and names that match nothing count nothing."""
    total = 0
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file() and _export_name(p)]
        elif path.is_file():
            files = [path]
        else:
            files = [Path(m) for m in glob.glob(argument, recursive=True) if Path(m).is_file()]
        for p in files:
            size = p.stat().st_size
            total += size * 10 if p.suffix.lower() in _COMPRESSED_SUFFIXES else size
    return total


def _paths(argument: str, spool_dir: Path) -> Iterator[tuple[str, Path]]:
    if argument == "-":
        target = spool_dir / "stdin"
        with target.open("wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        yield "<stdin>", target
        return
    path = Path(argument)
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path)) and _export_name(p)
        )
        if not files:
            raise InputError(argument, f"directory holds no trace files ({', '.join(EXPORT_SUFFIXES)})")
        for p in files:
            yield str(p), p
        return
    if path.exists():
        yield argument, path
        return
    if glob.has_magic(argument):
        matches = sorted(Path(m) for m in glob.glob(argument, recursive=True) if Path(m).is_file())
        if not matches:
            raise InputError(argument, "no file matches this pattern")
        for p in matches:
            yield str(p), p
        return
    raise InputError(argument, "no such file or directory")


# In a directory only these are read (also compressed: .gz, .zst), so that scripts and notes
# beside the exports do not stop the load; a file named on its own is always read.
EXPORT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".pb", ".binpb", ".otlp")
_COMPRESSED_SUFFIXES = (".gz", ".zst", ".zstd")


def _export_name(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED_SUFFIXES:
        suffixes.pop()
    if suffixes and suffixes[-1] in (".yaml", ".yml"):
        return _is_transcript(path)  # an mcp-vcr transcript, not a config file beside the exports
    return bool(suffixes) and suffixes[-1] in EXPORT_SUFFIXES


def _is_transcript(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return peers.sniff(f.read(_HEAD)) == peers.MCP_VCR_YAML
    except OSError:
        return False


def _hidden(relative: Path) -> bool:
    return any(part.startswith(_HIDDEN_PREFIXES) for part in relative.parts)


def identify(name: str, path: Path) -> Source:
    """Read the head of ``path`` and say what it is; an unreadable or empty file is an error."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            magic = f.read(4)
            f.seek(0)
            compression = Compression.NONE
            if magic.startswith(GZIP_MAGIC):
                compression = Compression.GZIP
                head = _gunzip_head(f, name)
            elif magic == ZSTD_MAGIC:
                compression = Compression.ZSTD
                head = _unzstd_head(f, name)
            else:
                head = f.read(_HEAD)
    except OSError as e:
        raise InputError(name, f"cannot read: {e.strerror or e}") from None
    return Source(name, path, size, compression, _detect(name, head))


def _gunzip_head(f: BinaryIO, name: str) -> bytes:
    decompressor = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        return decompressor.decompress(f.read(_HEAD), _HEAD)
    except zlib.error as e:
        raise InputError(name, f"not a valid gzip file: {e}") from None


def _unzstd_head(f: BinaryIO, name: str) -> bytes:
    import zstandard

    try:
        with zstandard.ZstdDecompressor().stream_reader(f) as reader:
            return reader.read(_HEAD)
    except zstandard.ZstdError as e:
        raise InputError(name, f"not a valid zstd file: {e}") from None


def _detect(name: str, head: bytes) -> Format:
    head = head.removeprefix(UTF8_BOM)  # what some editors put first; DuckDB and json.loads skip it too
    stripped = head.lstrip()
    if not stripped:
        raise InputError(name, "empty file" if not head else "file holds only white space")
    first = stripped[:1]
    if first == b"{":
        if is_event_log(stripped.split(b"\n", 1)[0]):
            return Format.EVENT_LOG
        if (peer := peers.sniff(stripped)) is not None:
            return Format(peer)
        return Format.OTLP_JSON_LINES if _first_line_is_document(stripped) else Format.OTLP_JSON
    if first == b"[":
        raise InputError(name, 'a JSON array: not an OTLP trace export (expected {"resourceSpans": …})', 1)
    if (peer := peers.sniff(head)) is not None:
        return Format(peer)  # an mcp-vcr YAML transcript
    if head[:1] == b"\x0a":
        return Format.OTLP_PROTO
    if head[:1] == b"\x00" and len(head) >= 5:
        return Format.OTLP_PROTO_FRAMED
    if _looks_like_text(head):
        raise InputError(name, "not OTLP: expected JSON (starting with '{') or OTLP protobuf", 1)
    raise InputError(name, "not OTLP: binary data that is neither OTLP protobuf nor gzip/zstd")


def _first_line_is_document(head: bytes) -> bool:
    """Whether the file is JSON lines: its first line is one JSON document, or, when the first
    line is broken, its next line is (so the broken line is reported as a line)."""
    lines = [line for line in head.split(b"\n") if line.strip()]
    if len(lines) == 1 and len(head) >= _HEAD:
        return True  # a first line longer than the head: only a JSON lines file has such lines
    return any(_is_object(line) for line in lines[:2])


def _is_object(line: bytes) -> bool:
    try:
        return isinstance(loads(line), dict)
    except ValueError:
        return False


def _looks_like_text(head: bytes) -> bool:
    sample = head[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in sample


@contextmanager
def spool_dir() -> Iterator[str]:
    """A private temporary directory for stdin and converted inputs (removed by the next mcpobs if
    this one is killed)."""
    tmp = TempDir("spool")
    try:
        yield str(tmp.path)
    finally:
        tmp.remove()
