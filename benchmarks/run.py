"""Every benchmark that has targets, in one command: each row of issue 15 as PASS or FAIL with its ratio.

    python benchmarks/run.py                # the full runs (about 10 min on 2 cores)
    python benchmarks/run.py --quick        # short runs: fewer rounds, smaller files
    python benchmarks/run.py --readme       # and rewrite the README's Performance table from this run
    python benchmarks/run.py --only startup,record
    python benchmarks/run.py --only startup --readme   # only those rows of the table rewritten

Each ``bench_*.py`` that checks targets exposes ``targets(argv) -> list[Target]`` (``common.py``); a
script without it yet is named and skipped. Every ratio is measured within this run, rounds
interleaved, so it compares like with like whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from common import Target, load_average, machine

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
BEGIN, END = "<!-- benchmarks:begin -->", "<!-- benchmarks:end -->"
# In the issue's order: start-up, report, load, analyze, record; then issue 17's ClickHouse rows.
SCRIPTS = ("startup", "ingest", "analyze", "record", "clickhouse")


def collect(names: list[str], quick: bool) -> tuple[list[Target], list[str]]:
    """The targets of each script, and a note for each script that has none (or is missing)."""
    found: list[Target] = []
    notes: list[str] = []
    for name in names:
        module_name = f"bench_{name}"
        if not (HERE / f"{module_name}.py").exists():
            notes.append(f"{module_name}.py: not there; skipped")
            continue
        module = importlib.import_module(module_name)
        measure = getattr(module, "targets", None)
        if measure is None:
            notes.append(f"{module_name}.py has no targets() yet; skipped")
            continue
        began = time.monotonic()
        print(f"== {module_name}{' --quick' if quick else ''}", file=sys.stderr, flush=True)
        rows = measure(["--quick"] if quick else [])
        print(f"   {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
        for target in rows:
            print(target.line(), flush=True)
        found.extend(rows)
    return found, notes


def table(found: list[Target], notes: list[str], header: list[str], quick: bool) -> str:
    """The README's generated block: one line per row, then what ran."""
    lines = [
        BEGIN,
        f"Targets of issue 15, from `python benchmarks/run.py{' --quick' if quick else ''} --readme` "
        f"({datetime.now(UTC):%Y-%m-%d}); each ratio is the median over interleaved rounds of one run:",
        "",
        "| what a user waits for | ratio | target | verdict | compared | figures |",
        "|---|---:|---:|---|---|---|",
    ]
    for t in found:
        bound = "≥" if t.at_least else "≤"
        measured = t.measured.replace("|", "\\|")
        lines.append(
            f"| {t.row} | {t.ratio:.2f}x | {bound} {t.limit:g}x | {'PASS' if t.passed else 'FAIL'} | {measured} | "
            f"{t.detail.replace('|', '/')} |"
        )
    lines += ["", *(f"- {note}" for note in notes), *(f"- {line}" for line in header), END]
    return "\n".join(lines)


def merged(block: str, previous: str, names: list[str]) -> str:
    """``block`` of a run of some scripts only (``--only``) put into the ``previous`` block: its rows
    replace the rows of the same name, the other scripts' rows stay, and its header lines become a
    note of which rows came from this later run (replacing such a note of the same scripts)."""
    rows = [line for line in block.splitlines() if line.startswith("| ") and not line.startswith("| what")]
    fresh = {line.split(" | ", 1)[0]: line for line in rows}
    lines = previous.splitlines()
    kept = [fresh.pop(line.split(" | ", 1)[0], line) if line.startswith("| ") else line for line in lines]
    last_row = max(i for i, line in enumerate(kept) if line.startswith("|"))
    kept[last_row + 1 : last_row + 1] = list(fresh.values())  # rows the table had none of yet
    label = f"- rows of {', '.join(f'bench_{n}.py' for n in names)} from a later run"
    notes = [line.removeprefix("- ") for line in block.splitlines() if line.startswith("- ")]
    kept = [line for line in kept if not line.startswith(label)]
    kept.insert(len(kept) - 1, f"{label} ({datetime.now(UTC):%Y-%m-%d}): " + "; ".join(notes))
    return "\n".join(kept)


def rewrite_readme(block: str, names: list[str] | None = None) -> None:
    """The README's block replaced by ``block``; or, for a run of ``names`` only, ``block`` merged in."""
    text = README.read_text(encoding="utf-8")
    if names is not None and BEGIN in text and END in text:
        previous = text[text.index(BEGIN) : text.index(END) + len(END)]
        block = merged(block, previous, names)
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, count=1, flags=re.DOTALL)
    else:
        heading = "## Performance\n"
        if heading not in text:
            raise SystemExit(f"run.py: {README} has no '{heading.strip()}' section to put the table in")
        text = text.replace(heading, f"{heading}\n{block}\n", 1)
    README.write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs of every script")
    parser.add_argument("--readme", action="store_true", help="rewrite the README's Performance table")
    parser.add_argument("--only", help=f"comma-separated scripts to run, of: {', '.join(SCRIPTS)}")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args()
    names = [n.strip() for n in args.only.split(",")] if args.only else list(SCRIPTS)
    if unknown := [n for n in names if n not in SCRIPTS]:
        parser.error(f"--only: unknown {', '.join(unknown)} (choose from {', '.join(SCRIPTS)})")
    header = machine()
    for line in header:
        print(line)
    found, notes = collect(names, args.quick)
    for note in notes:
        print(f"note: {note}")
    print(load_average())
    passed = sum(t.passed for t in found)
    print(f"{passed} of {len(found)} targets met")
    if args.readme:
        block = table(found, notes, [*header, f"after the run: {load_average()}"], args.quick)
        rewrite_readme(block, names if args.only else None)
        print(f"wrote the Performance table of {README}")
    return 1 if args.strict and passed < len(found) else 0


if __name__ == "__main__":
    sys.exit(main())
