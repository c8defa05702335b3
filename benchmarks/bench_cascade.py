"""Time the waterfall and cascade of one trace of nested failing spans, at several depths.

    python benchmarks/bench_cascade.py                  # depths 100, 400, 2000, 10000
    python benchmarks/bench_cascade.py --depths 50000

Each level is the parent of the next and fails after it, as an exception does on its way up
the stack. Building the trace's view should grow about linearly with the depth (a sort of the
failures aside); it took 2.8 s at 100 levels and 68 s at 400 before the cascade was made linear.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from mcpobs.analysis.waterfall import trace_views
from mcpobs.ingest import load
from mcpobs.store import Store

T0 = 1_800_000_000_000_000_000
TRACE = "d" * 32


def chain(depth: int) -> dict[str, object]:
    """An OTLP request of ``depth`` nested spans, every one failed, the innermost ending first."""
    spans = [
        {
            "traceId": TRACE,
            "spanId": f"{i + 1:016x}",
            "parentSpanId": f"{i:016x}" if i else "",
            "name": f"level {i}",
            "kind": 1,
            "startTimeUnixNano": str(T0 + i * 1_000_000),
            "endTimeUnixNano": str(T0 + (2 * depth - i) * 1_000_000),
            "status": {"code": 2, "message": "boom"},
        }
        for i in range(depth)
    ]
    return {"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--depths", default="100,400,2000,10000", help="comma-separated depths")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for depth in (int(d) for d in args.depths.split(",")):
            path = Path(tmp) / f"chain{depth}.jsonl"
            path.write_text(json.dumps(chain(depth)) + "\n")
            with Store() as store:
                load(store, [str(path)])
                began = time.perf_counter()
                [view] = trace_views(store, (TRACE,), 150)
                took = time.perf_counter() - began
            assert len(view.cascade.rows) == depth
            print(f"depth {depth:>6}: {took:.3f} s ({len(view.spans.rows)} spans kept)")


if __name__ == "__main__":
    main()
