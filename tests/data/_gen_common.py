"""What several generators of tests/data (and sample_traces/generate.py) share. Each generator runs in
an environment of its own (some in a venv with pinned instrumentation), so this module is imported by
putting its folder on ``sys.path``, not through ``tests``; it needs the OpenTelemetry SDK, which every
one of them has, and nothing of mcpobs."""

from __future__ import annotations

import json
import random
from pathlib import Path

from opentelemetry.sdk.trace.id_generator import IdGenerator


class SeededIds(IdGenerator):
    """Trace and span ids from a seeded generator, so a rerun writes the same bytes."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._rng.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._rng.getrandbits(128) or 1


def merge(files: list[Path], out: Path) -> None:
    """The span files of several processes (an agent's, its servers') as one, lines ordered by their
    first span's start: what a Collector receiving from all of them writes."""
    lines: list[tuple[int, str]] = []
    for f in files:
        for line in f.read_text().splitlines():
            if not line.strip():
                continue
            d = json.loads(line)
            start = min(
                int(sp["startTimeUnixNano"])
                for rs in d["resourceSpans"]
                for ss in rs["scopeSpans"]
                for sp in ss["spans"]
            )
            lines.append((start, line))
    lines.sort(key=lambda t: t[0])
    out.write_text("".join(line + "\n" for _, line in lines))
