"""The ``mcpobs`` command: parse arguments, call the library, render. Nothing else."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer

from mcpobs import __version__, interrupt
from mcpobs.analysis import CALL_VIEWS, COST_VIEWS, GROUPINGS, SORTABLE, VIEWS, Analysis, Query, analyze, check
from mcpobs.analysis.cost import COST_GROUPINGS, DEFAULT_TOP
from mcpobs.analysis.queries import refuse_ignored
from mcpobs.analysis.sql import FIELDS, parse_where
from mcpobs.errors import ExitCode, InputError, McpobsError, UsageError, exit_code_for, is_interrupt
from mcpobs.render import AlertFormat, OutputFormat

# Start-up pays only for the above; each command imports its heavy stack (DuckDB, rich's renderers, the
# mcp SDK, Vega, uvicorn) when it runs, so that `mcpobs --help` is instant (ruff's TID253 keeps it so).
if TYPE_CHECKING:
    from rich.console import Console

    from mcpobs.alerts import Outcome, RuleSet
    from mcpobs.analysis.sql import Calls
    from mcpobs.catalog.definitions import Definition
    from mcpobs.clickhouse import ClickHouseTraces
    from mcpobs.cost import CostOptions, PriceBook
    from mcpobs.expr import Node
    from mcpobs.findings import Findings
    from mcpobs.ingest import LoadReport
    from mcpobs.replay import ReplayConfig
    from mcpobs.store import Store

P = ParamSpec("P")
R = TypeVar("R")

EXIT_CODES_HELP = (
    "Exit status: 0 ok; 1 an alert or lint finding at --fail-on, a replay differs or a check failed; "
    "2 bad usage or rules; "
    "3 unreadable or malformed input; 4 server unreachable; 130 interrupted; 141 stdout closed by its reader "
    "(| head); 143 stopped by SIGTERM."
)


def _stderr() -> Console:
    from rich.console import Console

    console = Console(file=sys.stderr, highlight=False)
    # piped or logged, a message stays one line: a file name split by a newline cannot be found or grepped
    console.soft_wrap = not console.is_terminal
    return console


def _reporting_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn every mcpobs error into one line on stderr and its exit code: the only place that does."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except McpobsError as error:
            err = _stderr()
            for line in error.lines():
                err.print(f"mcpobs: error: {line}", markup=False, soft_wrap=True)
            raise typer.Exit(exit_code_for(error)) from None
        except BrokenPipeError:
            if not _stdout_closed():
                raise  # another pipe (a server's stdin, say) is no reader of ours gone
            # quietly, and neither 1 (click's, which says an alert fired) nor 0 (a gate piped to head
            # would pass with the alerts it could not print): what is left to flush goes nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(ExitCode.PIPE_CLOSED) from None
        except SystemExit as done:
            # rich ends a table printed to a closed stdout so, stdout already sent to /dev/null
            if done.code == 1 and isinstance(done.__context__, BrokenPipeError):
                raise typer.Exit(ExitCode.PIPE_CLOSED) from None
            raise
        except BaseException as error:
            if not is_interrupt(error):
                raise
            _report_interrupt()
            raise typer.Exit(exit_code_for(error)) from None

    return run


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll says POLLERR for its write end then)."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poll.poll(0))
    except (OSError, ValueError):  # no file descriptor (a test's captured stdout)
        return False


def _report_interrupt() -> None:
    if interrupt.first_report():
        _stderr().print("mcpobs: interrupted", markup=False)


app = typer.Typer(
    name="mcpobs",
    help=(
        "MCP observability and cost monitoring: turn OpenTelemetry trace exports of agents' MCP tool "
        "calls into latency, error and session figures.\n\n"
        "Example: mcpobs analyze sample_traces/mcp_agent_session.jsonl\n\n" + EXIT_CODES_HELP
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mcpobs {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """MCP observability and cost monitoring."""


# Options shared by the commands that load files.
Files = Annotated[
    list[str] | None,
    typer.Argument(
        help="OTLP trace files (JSON lines, JSON, protobuf; .gz/.zst), directories, globs, or - for stdin.",
        show_default=False,
    ),
]
DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file to keep the loaded spans in and add to (default: in memory)."),
]
SkipInvalid = Annotated[
    bool,
    typer.Option("--skip-invalid", help="Leave malformed lines out (counted on stderr) instead of stopping."),
]
MemoryLimit = Annotated[
    str, typer.Option("--memory-limit", help="DuckDB memory limit; past it the store spills to disk.")
]
TableOption = Annotated[
    str | None,
    typer.Option(
        "--table",
        help="With a clickhouse://USER:PASSWORD@HOST:PORT/DATABASE, clickhouses:// or chdb:PATH source: the "
        "Collector exporter's table, [DATABASE.]TABLE (default otel.otel_traces; the URL's database replaces otel). "
        "The password may come from MCPOBS_CLICKHOUSE_PASSWORD; a server is read over the last 24 hours by default.",
    ),
]


PricesOption = Annotated[
    Path | None,
    typer.Option(
        "--prices",
        help="YAML price file: prices for custom or unknown models, a fixed cost per call for tools or servers.",
    ),
]
ValueAttrOption = Annotated[
    str | None,
    typer.Option(
        "--value-attr",
        help="A numeric span attribute that holds what the work was worth: reports value / cost.",
    ),
]
FormatOption = Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")]
SinceOption = Annotated[
    str | None, typer.Option(help="Only calls starting at or after this ISO time, or this long ago (30m, 1h, 7d, 2w).")
]
UntilOption = Annotated[
    str | None, typer.Option(help="Only calls starting before this ISO time, or this long ago (30m, 1h, 7d, 2w).")
]
ToolOption = Annotated[list[str] | None, typer.Option("--tool", help="Only these tools.")]
ServerOption = Annotated[list[str] | None, typer.Option("--server", help="Only these servers.")]
SideOption = Annotated[str | None, typer.Option(help="Only the client or the server side of calls (default: both).")]
WhereOption = Annotated[
    str | None,
    typer.Option(
        "--where",
        help=f'Only calls matching this filter, e.g. \'tool == "search" and side == "server"\'. '
        f"Fields: {', '.join(FIELDS)}.",
    ),
]
TopOption = Annotated[int | None, typer.Option(min=1, help="Show only the first N rows of each section.")]


def _need_input(files: list[str] | None, db: Path | None, verb: str) -> None:
    """Something to read: files, or a database that exists (a mistyped --db would read nothing)."""
    if not files and db is None:
        raise UsageError(f"name the trace files to {verb}, or a --db that holds them")
    if not files and db is not None and not db.exists():
        raise InputError(db, "no such database file")


def _open_store(db: Path | None, memory_limit: str, files: list[str] | None = None) -> Store:
    from mcpobs.ingest.sources import estimated_size
    from mcpobs.store import Store, StoreOptions

    expected = estimated_size(files) if db is None and files else 0
    return Store(StoreOptions(path=db, memory_limit=memory_limit, expected_input_bytes=expected))


def _load(store: Store, files: list[str], skip_invalid: bool, what: str = "") -> LoadReport:
    from mcpobs.ingest import load

    err = _stderr()
    if not err.is_terminal:
        report = load(store, files, skip_invalid=skip_invalid)
    else:
        from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

        from mcpobs.ingest.sources import Source

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(source: Source, done: float | None) -> None:
                if source.name not in tasks:
                    tasks[source.name] = bar.add_task(f"loading {source.name}", total=1.0)
                bar.update(tasks[source.name], completed=done if done is not None else 0.0)

            report = load(store, files, skip_invalid=skip_invalid, progress=progress)
    _summarize(report, err, what)
    return report


def _summarize(report: LoadReport, err: Console, what: str = "") -> None:
    shown = 0
    for source in report.sources:
        for problem in source.skipped_lines:
            if shown < 10:
                err.print(f"mcpobs: skipped {source.name}:{problem.line}: {problem.message}", markup=False)
            shown += 1
        if source.backwards_spans:
            err.print(f"mcpobs: {source.name}: {_backwards(source.backwards_spans)}", markup=False)
        if source.conflicting_spans:
            n = source.conflicting_spans
            spans = "1 span was" if n == 1 else f"{n:,} spans were"
            err.print(
                f"mcpobs: warning: {source.name}: {spans} given before with other content (the same trace and "
                f"span id), e.g. {source.conflict_example}; one copy of each is kept, the one with more "
                "attributes, whatever the order of the files",
                markup=False,
            )
        if source.already_loaded:
            why = "unchanged" if source.same_as == source.name else f"the same content as {source.same_as}"
            err.print(f"mcpobs: {source.name}: already loaded ({why}), skipped", markup=False)
    if shown > 10:
        err.print(f"mcpobs: … and {shown - 10} more skipped lines", markup=False)
    files = len(report.sources)
    parts = [f"loaded {report.spans:,} spans from {files} file{'s' if files != 1 else ''}"]
    if report.duplicate_spans:
        parts.append(f"{report.duplicate_spans:,} duplicate spans ignored")
    if report.skipped_lines:
        parts.append(f"{report.skipped_lines:,} invalid lines skipped")
    if report.backwards_spans:
        parts.append(_backwards(report.backwards_spans))
    if known := len(report.already_loaded):
        parts.append(f"{known} file{'s' if known != 1 else ''} already loaded, skipped")
    err.print("mcpobs: " + what + ", ".join(parts), markup=False)


def _backwards(spans: int) -> str:
    ends = f"{spans:,} span ends before it starts" if spans == 1 else f"{spans:,} spans end before they start"
    return f"{ends} (left out of latency figures)"


def _split(values: list[str] | None) -> tuple[str, ...]:
    return tuple(part.strip() for value in values or () for part in value.split(",") if part.strip())


# a relative moment, that long before now: 30m, 1h, 7d, 2w (m is minutes, as in Prometheus)
_AGO = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _moment(value: str | None, option: str, now: datetime | None = None) -> datetime | None:
    """An ISO 8601 date or time (naive: UTC), or a duration before ``now`` (default: the clock's)."""
    if value is None:
        return None
    ago = re.fullmatch(r"(\d+)([smhdw])", value.strip())
    if ago:
        return (now or datetime.now(UTC)) - timedelta(seconds=int(ago[1]) * _AGO[ago[2]])
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{option}: {value!r} is neither an ISO 8601 date or time (e.g. 2026-11-23T10:00Z) "
            "nor a duration before now (e.g. 30m, 1h, 7d, 2w)"
        ) from None


def _window(
    since: str | None, until: str | None, options: tuple[str, str] = ("--since", "--until"), now: datetime | None = None
) -> tuple[datetime | None, datetime | None]:
    """The moments of a --since/--until pair, read against one ``now``; an empty window is refused (it
    would select nothing and say so nowhere), as is one starting after now (a mistyped year)."""
    from mcpobs.analysis.sql import ns

    now = now or datetime.now(UTC)
    start, end = _moment(since, options[0], now), _moment(until, options[1], now)
    if start is not None and ns(start) > ns(now):
        raise UsageError(
            f"{options[0]} {since} is after now ({now:%Y-%m-%dT%H:%M:%SZ}): nothing recorded is in the window"
        )
    if start is not None and end is not None and ns(end) <= ns(start):
        raise UsageError(f"{options[1]} {until} is not after {options[0]} {since}: the window is empty")
    return start, end


@app.command(
    "analyze",
    epilog=(
        "Examples:\n\n"
        "  mcpobs analyze sample_traces/mcp_agent_session.jsonl\n\n"
        "  mcpobs analyze traces/ --by server,tool --side server --format markdown\n\n"
        "  mcpobs analyze 'exports/*.jsonl.gz' --db obs.duckdb --view sessions --by session --top 20\n\n"
        + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def analyze_command(
    files: Files = None,
    *,
    db: DbOption = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help=f"Group by one or more of: {', '.join(GROUPINGS)} (comma-separated)."),
    ] = None,
    view: Annotated[
        list[str] | None,
        typer.Option(
            "--view",
            help=f"Sections to show: {', '.join(VIEWS)} (default: {', '.join(CALL_VIEWS)}; csv: calls); "
            "or dashboard: the overview of mcpobs report, drawn for the terminal.",
        ),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    tool: ToolOption = None,
    server: ServerOption = None,
    side: SideOption = None,
    where: WhereOption = None,
    top: TopOption = None,
    sort: Annotated[
        str | None,
        typer.Option(
            help=f"Order the calls section's rows by this column, largest first (default calls; by concurrency, "
            f"the buckets in order): {', '.join(SORTABLE)}."
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    cost: Annotated[bool, typer.Option("--cost", help="Add the cost sections (see mcpobs cost --help).")] = False,
    prices: PricesOption = None,
    value_attr: ValueAttrOption = None,
    skip_invalid: SkipInvalid = False,
    memory_limit: MemoryLimit = "512MB",
    table: TableOption = None,
) -> None:
    """Report MCP calls per tool, server, session or method: counts, errors by class, latency.

    Latency percentiles interpolate linearly between the two nearest ranks
    (statistics.quantiles method="inclusive"). Client and server sides of a call
    are counted apart and never mixed. Time to first response is the first
    progress event on a call's span, where the producer records one.

    Error classes: the JSON-RPC error code, tool_error (an isError result),
    timeout, cancelled, abandoned (asked for input, never sent again), not_logged
    (a recorded answer too large to log), auth (HTTP
    401 or 403), transport, other. A session is mcp.session.id, else the trace; a recovery is a call that
    retries a failed one (same method and target, and the same arguments where
    they are recorded). A 2026-07-28 call the server answers input_required and
    the client sends again under a new id is one call of several rounds.

    --cost adds what the LLM calls cost and which tool calls spent it (see
    mcpobs cost --help); --prices or --value-attr imply it.

    --view arguments,argument_shapes,invalid_arguments,invalid_results checks
    each tool call's arguments against the inputSchema its server advertised
    in the same session or file (and results against the outputSchema), where
    the inputs record them: event logs always, traces where the
    instrumentation records arguments and tools/list results.

    --view dashboard draws the overview of mcpobs report in the terminal, 80
    columns wide: figures per side, sparklines of calls and errors over time,
    the tools' error rates as bars, the most frequent errors, the costliest tools.
    """
    if "dashboard" in _split(view):
        _refuse_in_dashboard(by, view, output_format, sort, top)
        query = _query(by, None, CALL_VIEWS, since, until, tool, server, side, where, None, None, output_format)
        _need_input(files, db, "analyze")
        _dashboard(files, db, query, _cost_options(prices, value_attr), skip_invalid, memory_limit, output, table)
        return
    default_views = CALL_VIEWS + (COST_VIEWS if cost or prices or value_attr else ())
    query = _query(by, view, default_views, since, until, tool, server, side, where, top, sort, output_format)
    _need_input(files, db, "analyze")
    options = _cost_options(prices, value_attr)
    _analyze(files, db, query, options, skip_invalid, memory_limit, output_format, output, table)


def _refuse_clickhouse(files: Iterable[str] | None, what: str) -> None:
    """Refuse a ClickHouse source in a command that reads files alone, before anything is read."""
    from mcpobs.clickhouse import is_clickhouse

    if any(is_clickhouse(f) for f in files or ()):
        raise UsageError(f"not yet supported on ClickHouse: {what}")


def _located(files: list[str] | None, db: Path | None, table: str | None) -> None:
    """The source arguments checked, a ClickHouse source's form (neither reached nor read) and its options:
    a command reading two sources tells a mistake in either before it reads the first."""
    from mcpobs.clickhouse import is_clickhouse, locate

    if db is not None and any(is_clickhouse(f) for f in files or ()):
        raise UsageError("--db keeps loaded files: a ClickHouse source is read where it is, leave out --db")
    locate(files, table)


def _sources(
    files: list[str] | None, db: Path | None, baseline: list[str] | None, table: str | None
) -> tuple[str | None, str | None]:
    """--table as the calls' and the baseline's, both sources checked (:func:`_located`) before either is
    read. It names the table of the ClickHouse sources, the baseline's too, and the baseline's alone when
    only the baseline is ClickHouse (files against production)."""
    from mcpobs.clickhouse import is_clickhouse

    on_baseline = table if any(map(is_clickhouse, baseline or ())) else None
    on_calls = None if on_baseline is not None and not any(map(is_clickhouse, files or ())) else table
    _located(files, db, on_calls)
    _located(baseline, None, on_baseline)
    return on_calls, on_baseline


def _clickhouse(
    files: list[str] | None, db: Path | None, table: str | None, query: Query | None = None, what: str = ""
) -> ClickHouseTraces | None:
    """The ClickHouse table the arguments name, opened over the query's --since/--until, and what it read
    said on stderr (as files' loading); None for files."""
    from mcpobs.analysis.sql import ns
    from mcpobs.clickhouse import open_source

    _located(files, db, table)
    since = ns(query.since) if query is not None and query.since else None
    until = ns(query.until) if query is not None and query.until else None
    traces = open_source(files, table, since, until)
    if traces is not None:
        try:
            _stderr().print(f"mcpobs: {what}{traces.read()}", markup=False, soft_wrap=True)
        except BaseException:
            traces.close()
            raise
    return traces


def _refuse_in_dashboard(
    by: list[str] | None, view: list[str] | None, output_format: OutputFormat, sort: str | None, top: int | None
) -> None:
    """What the dashboard cannot show is refused before anything is loaded."""
    if _split(view) != ("dashboard",):
        raise UsageError("--view dashboard is shown alone: leave the other sections out")
    if _split(by) not in ((), ("tool",)):
        raise UsageError("--view dashboard shows tools: leave out --by")
    for option, given in (("--sort", sort), ("--top", top)):
        if given is not None:
            raise UsageError(f"{option} does not apply to --view dashboard (its sections have their own order)")
    if output_format is not OutputFormat.table:
        raise UsageError(
            "--view dashboard is drawn for a terminal: leave out --format (mcpobs report --html for a page)"
        )


def _dashboard(
    files: list[str] | None,
    db: Path | None,
    query: Query,
    cost: CostOptions | None,
    skip_invalid: bool,
    memory_limit: str,
    output: Path | None,
    table: str | None = None,
) -> None:
    from mcpobs.render.dashboard import render_dashboard
    from mcpobs.report import build_report

    if output is not None:
        _writable(output)
    with contextlib.ExitStack() as stack:
        report = build_report(_open_calls(stack, files, db, table, query, memory_limit, skip_invalid), query, cost)
    _warn_notes(report.analysis.notes)
    if output is None:
        render_dashboard(report, _stdout_console())
    else:
        _write(_as_text(lambda console: render_dashboard(report, console), width=80), output)


def _warn_notes(notes: Iterable[str]) -> None:
    err = _stderr()
    for note in notes:
        err.print(f"mcpobs: warning: {note}", markup=False, soft_wrap=True)


def _query(
    by: list[str] | None,
    view: list[str] | None,
    default_views: tuple[str, ...],
    since: str | None,
    until: str | None,
    tool: list[str] | None,
    server: list[str] | None,
    side: str | None,
    where: str | None,
    top: int | None,
    sort: str | None,
    output_format: OutputFormat,
) -> Query:
    views = _split(view) or ((default_views[0],) if output_format is OutputFormat.csv else default_views)
    if output_format is OutputFormat.csv and len(views) != 1:
        raise UsageError("--format csv writes one section: choose it with --view")
    start, end = _window(since, until)
    query = replace(
        _selection(tool, server, side, where),
        by=_split(by) or ("tool",),
        views=views,
        since=start,
        until=end,
        sort=sort,
        top=top,
    )
    check(query)  # before loading: a typo should not cost a long load
    refuse_ignored(_split(view), _split(by), sort)
    return query


def _selection(tool: list[str] | None, server: list[str] | None, side: str | None, where: str | None) -> Query:
    """The calls --tool, --server, --side and --where select, checked before anything is loaded."""
    query = Query(tools=_split(tool), servers=_split(server), side=side, where=_where(where))
    check(query)
    return query


def _where(text: str | None) -> Node | None:
    from mcpobs.expr import ExprError

    if text is None:
        return None
    try:
        return parse_where(text)
    except ExprError as e:
        raise UsageError(f"--where: column {e.column}: {e.message}") from None


def _cost_options(prices: Path | None, value_attr: str | None) -> CostOptions | None:
    """The price file is read before any load; its unusable entries are warned of, not fatal. None (the
    default options) without either: a command that prints no cost imports no cost stack."""
    if prices is None and value_attr is None:
        return None
    from mcpobs.cost import CostOptions

    return CostOptions(_price_book(prices), value_attr)


def _price_book(prices: Path | None) -> PriceBook:
    """The prices of ``--prices`` over genai-prices' own, or genai-prices' alone."""
    from mcpobs.cost import PriceBook, load_prices

    return load_prices(prices) if prices else PriceBook()


def _analyze(
    files: list[str] | None,
    db: Path | None,
    query: Query,
    cost: CostOptions | None,
    skip_invalid: bool,
    memory_limit: str,
    output_format: OutputFormat,
    output: Path | None,
    table: str | None = None,
) -> None:
    if output is not None:
        _writable(output)
    with contextlib.ExitStack() as stack:
        result = analyze(_open_calls(stack, files, db, table, query, memory_limit, skip_invalid), query, cost)
    _warn_notes(result.notes)
    _render(result, output_format, output)


def _render(result: Analysis, output_format: OutputFormat, output: Path | None) -> None:
    from mcpobs.render.text import render_csv, render_json, render_markdown, render_table

    if output_format is OutputFormat.table and output is None:
        render_table(result, _stdout_console())
        return
    if output_format is OutputFormat.table:
        text = _as_text(lambda console: render_table(result, console))
    elif output_format is OutputFormat.json:
        text = render_json(result)
    elif output_format is OutputFormat.markdown:
        text = render_markdown(result)
    else:
        text = render_csv(result.tables[0])
    _write(text, output)


def _as_text(render: Callable[[Console], None], width: int = 160) -> str:
    """What a rich renderer prints, as plain text ``width`` columns wide: the table format written to a file."""
    from rich.console import Console

    console = Console(file=None, width=width, force_terminal=False, no_color=True)
    # what capture() returns, not a recording: rich 15 records nothing printed under capture()
    with console.capture() as captured:
        render(console)
    return captured.get()


def _stdout_console() -> Console:
    from rich.console import Console

    width = None if sys.stdout.isatty() else int(os.environ.get("COLUMNS", "160"))
    return Console(file=sys.stdout, width=width, highlight=False)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text)
    except OSError as e:
        raise UsageError(f"{output}: cannot write: {e.strerror or e}") from None
    _stderr().print(f"mcpobs: wrote {output}", markup=False)


@app.command(
    "cost",
    epilog=(
        "Examples:\n\n"
        "  mcpobs cost sample_traces/agent_cost_session.jsonl\n\n"
        "  mcpobs cost traces/ --by server,tool --prices prices.yaml --format markdown\n\n"
        "  mcpobs cost traces/ --by model --value-attr task.value --view call_cost,models\n\n" + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def cost_command(
    files: Files = None,
    *,
    db: DbOption = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help=f"Group tool-call cost by one or more of: {', '.join(COST_GROUPINGS)}."),
    ] = None,
    view: Annotated[
        list[str] | None,
        typer.Option("--view", help=f"Sections to show: {', '.join(COST_VIEWS)} (default: all; csv: cost)."),
    ] = None,
    prices: PricesOption = None,
    value_attr: ValueAttrOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    tool: ToolOption = None,
    server: ServerOption = None,
    side: SideOption = None,
    where: WhereOption = None,
    top: Annotated[
        int | None,
        typer.Option(min=1, help=f"Show only the first N rows of each section (costliest: {DEFAULT_TOP})."),
    ] = None,
    output_format: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    skip_invalid: SkipInvalid = False,
    memory_limit: MemoryLimit = "512MB",
    table: TableOption = None,
) -> None:
    """Report what LLM calls cost and which MCP tool calls, servers and sessions spent it.

    Each LLM call (a span with gen_ai.usage.* token counts) is priced with
    genai-prices' bundled data at the span's own start time, or with --prices.
    A model with no price is listed as such, never priced at zero.

    Attribution: a tool call is linked to the LLM call that asked for it (the
    one whose gen_ai.output.messages name the call's gen_ai.tool.call.id, where
    the spans record both; else the last LLM call that ended before it started,
    under its parent span, else its grandparent … else in the trace) and to the
    first LLM call that started after it ended, looked for the same way (the
    step that read its result). An LLM call's cost is split equally among
    the tool calls linked to it; one linked to none stays unattributed.
    token_cost = attributed + unattributed. The decisions section counts, per
    model, the tool calls it asked for, those that failed, and
    failed_decision_cost: what choosing the failed calls cost.

    Figures: total_cost = token_cost + tool_cost (fixed per call, from
    --prices). cost_per_call = the tool calls' cost / calls; cost_per_success =
    the same / calls that did not fail; cost_per_successful_session = the same /
    sessions whose last call to each target succeeded; value_per_cost = the sum
    of --value-attr / total_cost. Money is USD, exact to 10^-12.
    """
    query = _query(by, view, COST_VIEWS, since, until, tool, server, side, where, top, None, output_format)
    _need_input(files, db, "cost")
    options = _cost_options(prices, value_attr)
    _analyze(files, db, query, options, skip_invalid, memory_limit, output_format, output, table)


@app.command(
    "load",
    epilog="Example:\n\n  mcpobs load traces/ --db obs.duckdb\n\n" + EXIT_CODES_HELP,
)
@_reporting_errors
def load_command(
    files: Files = None,
    *,
    db: Annotated[Path, typer.Option("--db", help="DuckDB file to load into (created if missing).")],
    skip_invalid: SkipInvalid = False,
    memory_limit: MemoryLimit = "512MB",
) -> None:
    """Load trace files into a DuckDB file without analyzing them; later commands read it with --db."""
    if not files:
        raise UsageError("name the trace files to load")
    _refuse_clickhouse(files, "mcpobs load")
    with _open_store(db, memory_limit, files) as store:
        _load(store, files, skip_invalid)


@app.command(
    "export",
    epilog=(
        "Examples:\n\n  mcpobs export --db obs.duckdb --parquet out/\n\n"
        "  mcpobs export traces.jsonl --parquet out/\n\n" + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def export_command(
    files: Files = None,
    *,
    parquet: Annotated[Path, typer.Option("--parquet", help="Directory to write spans, sources and mcp_calls to.")],
    db: DbOption = None,
    skip_invalid: SkipInvalid = False,
    memory_limit: MemoryLimit = "512MB",
) -> None:
    """Write the store's tables (spans, sources) and the mcp_calls view as Parquet files."""
    _refuse_clickhouse(files, "mcpobs export")
    _need_input(files, db, "export")
    with _open_store(db, memory_limit, files) as store:
        if files:
            _load(store, files, skip_invalid)
        try:
            written = store.export_parquet(parquet)
        except OSError as e:
            raise UsageError(f"{parquet}: cannot write: {e}") from None
    for path in written:
        sys.stdout.write(f"{path}\n")


class ConvertTo(StrEnum):
    eventlog = "eventlog"
    otlp = "otlp"


@app.command(
    "convert",
    epilog=(
        "Examples:\n\n"
        "  mcpobs convert cassettes/golden.json --to eventlog -o golden.jsonl\n\n"
        "  mcpobs convert session.jsonl --to otlp -o session.otlp.jsonl\n\n" + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def convert_command(
    source: Annotated[str, typer.Argument(help="An event log or an mcp-recorder cassette.", show_default=False)],
    *,
    to: Annotated[ConvertTo, typer.Option("--to", help="eventlog (mcpobs' format) or otlp (OTLP JSON spans).")],
    output: OutputOption = None,
) -> None:
    """Convert a recording: an mcp-recorder cassette or an mcpobs event log, to an event log
    (docs/event-log.md) or to OTLP JSON spans of its calls.

    mcp-recorder keeps each call's latency but not when it started, nor the
    server's notifications: a converted cassette lays its calls end to end from
    its recorded_at time, and has no time to first response.
    """
    from mcpobs.eventlog.otlp import to_otlp
    from mcpobs.eventlog.peers import event_log_lines, read_recording

    _refuse_clickhouse((source,), "mcpobs convert")
    log = read_recording(Path(source))
    if to is ConvertTo.eventlog:
        _write(event_log_lines(log), output)
    else:
        _write(json.dumps(to_otlp(log), ensure_ascii=False) + "\n", output)


class FailOn(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


@app.command(
    "check-alerts",
    epilog=(
        "Examples:\n\n"
        "  mcpobs check-alerts --init\n\n"
        "  mcpobs check-alerts --rules alerts.yaml traces.jsonl\n\n"
        "  mcpobs check-alerts --rules alerts.yaml pr/*.jsonl --baseline main/*.jsonl --format github\n\n"
        "  mcpobs check-alerts --rules alerts.yaml clickhouses://reader@host/otel --since 1d"
        " --baseline clickhouses://reader@host/otel --baseline-since 8d --baseline-until 7d\n\n"
        "  mcpobs check-alerts --list-metrics\n\n" + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def check_alerts_command(
    files: Files = None,
    *,
    rules: Annotated[Path | None, typer.Option("--rules", "-r", help="The YAML rules file.")] = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option(
            "--baseline",
            help="Trace files (or a directory or glob) that baseline.<metric> reads, e.g. the main branch's; "
            "repeatable.",
        ),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    tool: ToolOption = None,
    server: ServerOption = None,
    side: SideOption = None,
    where: WhereOption = None,
    baseline_since: Annotated[
        str | None,
        typer.Option(
            help="The baseline's --since: only its calls starting at or after this ISO time, or this long ago."
        ),
    ] = None,
    baseline_until: Annotated[
        str | None,
        typer.Option(help="The baseline's --until: only its calls starting before this ISO time, or this long ago."),
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="The lowest severity that fails the run (exit 1) when it fires.")
    ] = FailOn.warning,
    output_format: Annotated[AlertFormat, typer.Option("--format", "-f", help="Output format.")] = AlertFormat.text,
    output: OutputOption = None,
    prices: PricesOption = None,
    db: DbOption = None,
    list_metrics: Annotated[
        bool, typer.Option("--list-metrics", help="List the metrics conditions can name, and exit.")
    ] = False,
    init: Annotated[
        bool,
        typer.Option("--init", help="Write a starter rules file (the FILE named, or alerts.yaml), and exit."),
    ] = False,
    skip_invalid: SkipInvalid = False,
    memory_limit: MemoryLimit = "512MB",
    table: TableOption = None,
) -> None:
    """Check alert rules against trace files: exit 1 when one fires, so CI can gate on it.

    Each rule has a name and a condition over the metrics analyze reports
    (error_rate > 0.05, token_cost > 100, session_recovery > 3,
    latency_p95_ms > baseline.latency_p95_ms * 1.2), and optionally a scope
    (global, tool, server, session, model: checked per group), a where filter,
    a severity (info, warning, critical), min_calls and a description. A group
    with too few calls, or without a value the condition needs, has no verdict:
    it neither fires nor passes. The rules file is checked before any data is
    loaded; every problem in it is reported as FILE:LINE:COL (exit 2).

    --since/--until, --tool, --server, --side and --where narrow the calls
    checked as they narrow analyze's (and report's), before each rule's own
    where; --baseline-since/--baseline-until the baseline's window, whose
    calls the other filters narrow too. A ClickHouse server is
    read over the last 24 hours (before --until) unless they say otherwise, so
    a server compared with itself needs a baseline window: the last hour
    against the same hour a week ago is --since 1h --baseline-since 169h
    --baseline-until 168h.
    """
    from mcpobs.alerts import RulesError, load_rules
    from mcpobs.render.alerts import (
        metrics_json,
        metrics_table,
        render_github,
        render_junit,
        render_problems_github,
    )
    from mcpobs.render.alerts import render_json as render_alerts_json
    from mcpobs.render.alerts import render_text as render_alerts_text

    if list_metrics:
        if output_format is AlertFormat.json:
            _write(metrics_json(), output)
        else:
            metrics_table(_stdout_console())
        return
    if init:
        if len(files or []) > 1 or (files and rules):
            raise UsageError("--init writes one file: name it once (mcpobs check-alerts --init FILE)")
        _init_rules(rules or Path(files[0] if files else "alerts.yaml"))
        return
    if rules is None:
        raise UsageError("name the rules file with --rules (mcpobs check-alerts --init writes a starter)")
    try:
        ruleset = load_rules(rules)
    except RulesError as error:
        if output_format is AlertFormat.github:
            # the problems as annotations on the rules file too, where the pull request shows them
            _write(render_problems_github(error.problems), output)
        raise
    _check_baseline(rules, ruleset, baseline, files)
    now = datetime.now(UTC)  # one now for every relative moment: --until 7d and --baseline-since 7d meet
    start, end = _window(since, until, now=now)
    options = ("--baseline-since", "--baseline-until")
    base_start, base_end = _window(baseline_since, baseline_until, options, now)
    if not baseline and (baseline_since or baseline_until):
        given = options[0] if baseline_since else options[1]
        raise UsageError(f"{given} narrows the baseline: give the baseline with --baseline")
    selected = _selection(tool, server, side, where)
    window = replace(selected, since=start, until=end)
    base_window = replace(selected, since=base_start, until=base_end)
    _need_input(files, db, "check")
    if output is not None:
        _writable(output)
    cost = _cost_options(prices, None)
    tables = _sources(files, db, baseline, table)
    with contextlib.ExitStack() as stack:
        store = _open_calls(stack, files, db, tables[0], window, memory_limit, skip_invalid)
        outcome = _outcome(
            stack, store, ruleset, baseline, cost, fail_on, skip_invalid, memory_limit, tables[1], (window, base_window)
        )
    _warn_notes(outcome.notes)
    _render_checked(outcome, output_format, output, render_alerts_text, render_alerts_json, render_junit, render_github)
    if outcome.failed:
        raise typer.Exit(ExitCode.ALERT)


def _check_baseline(rules: Path, ruleset: RuleSet, baseline: list[str] | None, files: list[str] | None) -> None:
    from mcpobs.clickhouse import is_clickhouse

    needing = ruleset.needs_baseline
    if needing and not baseline:
        names = ", ".join(repr(r.name) for r in needing)
        given = "give the baseline files with --baseline"
        if any(map(is_clickhouse, files or ())):
            # the server's other hours are the baseline, as the README's CI gate gives them
            given = "give the baseline with --baseline (the same source with --baseline-since/--baseline-until)"
        raise UsageError(f"{rules}: {names} compare with baseline.* metrics: {given}")


def _open_calls(
    stack: contextlib.ExitStack,
    files: list[str] | None,
    db: Path | None,
    table: str | None,
    query: Query,
    memory_limit: str,
    skip_invalid: bool,
) -> Calls:
    """The calls to analyze, check or draw, closed with ``stack``: a ClickHouse table read where it is, else the
    store with ``files`` loaded into it."""
    traces = _clickhouse(files, db, table, query)
    if traces is not None:
        return stack.enter_context(traces)
    store = stack.enter_context(_open_store(db, memory_limit, files))
    if files:
        _load(store, files, skip_invalid)
    return store


def _outcome(
    stack: contextlib.ExitStack,
    store: Calls,
    ruleset: RuleSet,
    baseline: list[str] | None,
    cost: CostOptions | None,
    fail_on: FailOn,
    skip_invalid: bool,
    memory_limit: str,
    base_table: str | None = None,
    windows: tuple[Query, Query] = (Query(), Query()),
) -> Outcome:
    """The rules checked on the loaded store, against the baseline files (loaded into a store of their own)
    or the baseline's ClickHouse table ``base_table`` (:func:`_tables`), each over the calls its query's
    filters select (``windows``: the store's, the baseline's)."""
    from mcpobs.alerts import check_alerts
    from mcpobs.analysis.metrics import Figures

    window, base_window = windows
    figures = Figures(store, cost, window)
    before: Figures | None = None
    if baseline:
        base_traces = _clickhouse(baseline, None, base_table, base_window, "baseline: ")
        base: Calls
        if base_traces is not None:
            base = stack.enter_context(base_traces)
        else:
            base = base_store = stack.enter_context(_open_store(None, memory_limit, baseline))
            _load(base_store, baseline, skip_invalid, "baseline: ")
        before = Figures(base, cost, base_window)
    return check_alerts(ruleset, figures, before, fail_on.value)


@app.command(
    "report",
    epilog=(
        "Examples:\n\n"
        "  mcpobs report sample_traces/agent_cost_session.jsonl --html report.html\n\n"
        "  mcpobs report traces/ --rules alerts.yaml --prices prices.yaml --html report.html\n\n"
        "  mcpobs report --db obs.duckdb --since 2026-11-23 --html - | gzip > report.html.gz\n\n" + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def report_command(
    files: Files = None,
    *,
    html_path: Annotated[
        str | None, typer.Option("--html", help="The HTML page to write (overwritten), or - for stdout.")
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", "-r", help="Also check these alert rules, as check-alerts does, and show what fired."),
    ] = None,
    baseline: Annotated[
        list[str] | None,
        typer.Option("--baseline", help="Trace files that the rules' baseline.<metric> reads; repeatable."),
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="The lowest severity the page marks as failing the rules.")
    ] = FailOn.warning,
    prices: PricesOption = None,
    value_attr: ValueAttrOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    tool: ToolOption = None,
    server: ServerOption = None,
    side: SideOption = None,
    where: WhereOption = None,
    title: Annotated[str, typer.Option("--title", help="The page's title.")] = "mcpobs report",
    db: DbOption = None,
    skip_invalid: SkipInvalid = False,
    memory_limit: MemoryLimit = "512MB",
    table: TableOption = None,
) -> None:
    """Write a report as one self-contained HTML page: an overview, the tool calls with
    their latency distributions, waterfalls of the slowest and the failing traces with the
    cascade of their failures, cost by tool, server, model and session, and errors over time.

    The page needs no network: its scripts (Vega, inlined) and styles are in it. Its
    numbers are those analyze --cost and check-alerts print; charts hold at most the top
    traces, tools and messages, and the page says what it left out. The exit status is
    0 once the page is written, whether or not a rule fired (check-alerts gates on them).
    """
    if not html_path:
        raise UsageError("name the page to write with --html PATH (or --html - for stdout)")
    if html_path == "-" and sys.stdout.isatty():
        raise UsageError("--html -: stdout is a terminal; redirect it to a file, or name the file with --html PATH")
    from mcpobs.alerts import Status, load_rules
    from mcpobs.render.html import render_html
    from mcpobs.report import build_report

    query = _query(None, None, CALL_VIEWS, since, until, tool, server, side, where, None, None, OutputFormat.table)
    ruleset = load_rules(rules) if rules is not None else None
    if rules is not None and ruleset is not None:
        _check_baseline(rules, ruleset, baseline, files)
    elif baseline:
        raise UsageError("--baseline is for the rules' baseline.* metrics: give the rules with --rules")
    _need_input(files, db, "report on")
    if html_path != "-":
        _writable(Path(html_path))
    cost = _cost_options(prices, value_attr)
    tables = _sources(files, db, baseline, table)
    with contextlib.ExitStack() as stack:
        store = _open_calls(stack, files, db, tables[0], query, memory_limit, skip_invalid)
        outcome = None
        if ruleset is not None:
            # the rules over the calls the page shows (its filters); the baseline is another run, whole in
            # time, its calls narrowed by the same --tool, --server, --side and --where
            window = (query, replace(query, since=None, until=None))
            outcome = _outcome(
                stack, store, ruleset, baseline, cost, fail_on, skip_invalid, memory_limit, tables[1], window
            )
        report = build_report(store, query, cost, outcome)
    page = render_html(report, title)
    _warn_notes(
        [*report.analysis.notes, *(n for n in (outcome.notes if outcome else ()) if n not in report.analysis.notes)]
    )
    err = _stderr()
    if html_path == "-":
        # in pieces, each flushed: a reader that stopped early (| head) fails a write here, not after
        # "wrote stdout" (one large write can be taken whole by a pipe whose reader is gone)
        data = page.encode()
        for start in range(0, len(data), 1 << 16):
            sys.stdout.buffer.write(data[start : start + (1 << 16)])
            sys.stdout.buffer.flush()
        where_to = "stdout"
    else:
        try:
            Path(html_path).write_text(page, encoding="utf-8")
        except OSError as e:
            raise UsageError(f"{html_path}: cannot write: {e.strerror or e}") from None
        where_to = html_path
    fired = outcome.count(Status.FIRED) if outcome else 0
    parts = [f"{report.analysis.calls:,} calls", f"{len(report.slowest) + len(report.failing)} trace waterfalls"]
    if outcome is not None:
        parts.append(f"{fired} alert{'s' if fired != 1 else ''} fired")
    err.print(
        f"mcpobs: wrote {where_to} ({len(page.encode()) / 1e6:.1f} MB): {', '.join(parts)}",
        markup=False,
        soft_wrap=True,
    )


def _writable(path: Path) -> None:
    """Refuse a file that cannot be written before the input is loaded (the write checks again)."""
    if path.is_dir():
        problem = "Is a directory"
    elif not path.parent.is_dir():
        problem = "No such file or directory"
    elif not os.access(path if path.exists() else path.parent, os.W_OK):
        problem = "Permission denied"
    else:
        return
    raise UsageError(f"{path}: cannot write: {problem}")


def _init_rules(path: Path) -> None:
    from mcpobs.alerts import STARTER

    if path.exists():
        raise UsageError(f"{path}: already exists; not overwritten")
    try:
        path.write_text(STARTER)
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror or e}") from None
    _stderr().print(
        f"mcpobs: wrote {path}: check with mcpobs check-alerts --rules {path} FILES", markup=False, soft_wrap=True
    )


class LintFailOn(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"


@app.command(
    "lint",
    epilog=(
        "Examples:\n\n"
        "  mcpobs lint session.jsonl traces.jsonl\n\n"
        "  mcpobs lint recordings/ --fail-on warning --ignore unanswered-request --format github\n\n"
        "  mcpobs lint --list-rules\n\n" + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def lint_command(
    files: Annotated[
        list[str] | None,
        typer.Argument(
            help="Event logs, peer recordings (mcp-recorder, mcp-cassette, mcp-vcr) and OTLP trace files, "
            "directories, globs, or - for stdin.",
            show_default=False,
        ),
    ] = None,
    *,
    fail_on: Annotated[
        LintFailOn, typer.Option("--fail-on", help="The lowest severity that fails the run (exit 1).")
    ] = LintFailOn.error,
    ignore: Annotated[
        list[str] | None, typer.Option("--ignore", help="A rule not to check (its id); repeatable.")
    ] = None,
    output_format: Annotated[AlertFormat, typer.Option("--format", "-f", help="Output format.")] = AlertFormat.text,
    output: OutputOption = None,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules, and exit.")] = False,
) -> None:
    """Check recordings against the MCP protocol and trace files against the MCP semantic conventions.

    Event logs (mcpobs record) and peer recordings: malformed JSON-RPC frames,
    stray stdout of a stdio server, responses without a request, requests never
    answered, duplicate ids, notifications with ids, methods the session's
    revision removed or deprecates, 2026-07-28 routing headers and _meta keys,
    MCP-Protocol-Version, a cancelled initialize, undeclared capabilities. OTLP
    trace files: the MCP spans' attributes, names, kinds, error.type and
    status, parents and deprecated names. Each finding names its rule and the
    section of the specification or convention it comes from; exit 1 when one
    is at --fail-on's severity or above.
    """
    from mcpobs.lint import lint
    from mcpobs.render.lint import render_github, render_json, render_junit, render_text, rules_table

    if list_rules:
        rules_table(_stdout_console())
        return
    if not files:
        raise UsageError("name the recordings or trace files to lint")
    _refuse_clickhouse(files, "mcpobs lint")
    if output is not None:
        _writable(output)
    result = lint(files, ignore=tuple(ignore or ()), fail_on=fail_on.value)
    _warn_notes(result.notes)
    _render_checked(result, output_format, output, render_text, render_json, render_junit, render_github)
    if result.failed:
        raise typer.Exit(ExitCode.ALERT)


LockOption = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        help="A lock file of accepted definitions: written when it does not exist, else checked (exit 1 on a change).",
    ),
]


@app.command(
    "tools",
    epilog=(
        "Examples:\n\n"
        "  mcpobs tools session.jsonl\n\n"
        "  mcpobs tools recordings/ --prices prices.yaml --model claude-sonnet-4-5 --llm-calls 12\n\n"
        "  mcpobs tools recordings/ --baseline tools.lock --format github\n\n"
        "  mcpobs tools recordings/ --baseline tools.lock --update\n\n" + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def tools_command(
    files: Files = None,
    *,
    baseline: LockOption = None,
    update: Annotated[
        bool, typer.Option("--update", help="Accept what the inputs show: rewrite the --baseline lock file.")
    ] = False,
    prices: PricesOption = None,
    model: Annotated[
        str | None, typer.Option("--model", help="The LLM whose input price the token tax is priced at.")
    ] = None,
    llm_calls: Annotated[
        int | None, typer.Option("--llm-calls", min=1, help="LLM calls a session makes: prices the tax per session.")
    ] = None,
    output_format: Annotated[
        AlertFormat, typer.Option("--format", "-f", help="Output format (junit and github with --baseline).")
    ] = AlertFormat.text,
    output: OutputOption = None,
    skip_invalid: SkipInvalid = False,
    memory_limit: MemoryLimit = "512MB",
) -> None:
    """The tool, prompt and resource definitions each server advertised, from the tools/list,
    prompts/list and resources/list results in recordings (event logs, mcp-recorder, mcp-vcr,
    mcp-cassette) and in spans that record results (Logfire, OpenLLMetry); per server and protocol
    revision, with the tokens each adds to every LLM request (about its JSON's bytes / 4) and, per
    server, the token tax of its tools (priced with --model, per session with --llm-calls).

    With --baseline the definitions are checked against a lock file: a tool whose
    description, schemas or annotations changed since the lock accepted it, or one it
    never accepted, fails the run (exit 1); --update accepts them.
    """
    from mcpobs.catalog.definitions import Pricing, distinct, token_tax
    from mcpobs.catalog.lock import unrecorded_notes

    if not files:
        raise UsageError("name the recordings or trace files to read the definitions from")
    _refuse_clickhouse(files, "mcpobs tools")
    if update and baseline is None:
        raise UsageError("--update rewrites the lock file: name it with --baseline")
    if baseline is None and output_format in (AlertFormat.junit, AlertFormat.github):
        raise UsageError(f"--format {output_format} reports a check: give the lock file with --baseline")
    if (prices is not None or llm_calls is not None) and model is None:
        raise UsageError("name the model to price the token tax at with --model")
    pricing = Pricing(_price_book(prices), model, llm_calls) if model else None
    if output is not None:
        _writable(output)
    with contextlib.ExitStack() as stack:
        found, notes, _ = _catalogue(stack, files, skip_invalid, memory_limit, everything=False)
    definitions = distinct(found)
    notes += unrecorded_notes(definitions)
    _warn_notes(notes)
    if not definitions:
        _stderr().print(
            "mcpobs: no tools/list, prompts/list or resources/list results in the inputs "
            "(spans hold them only where the instrumentation records results)",
            markup=False,
            soft_wrap=True,
        )
    if baseline is None:
        from mcpobs.render.catalog import render_json, render_text

        taxes = token_tax(definitions, pricing)
        if output_format is AlertFormat.json:
            _write(render_json(definitions, taxes, notes), output)
        elif output is None:
            render_text(definitions, taxes, _stdout_console())
        else:
            _write(_as_text(lambda console: render_text(definitions, taxes, console)), output)
        return
    _lock(baseline, update, definitions, output_format, output)


@app.command(
    "diff",
    epilog=(
        "Examples:\n\n"
        "  mcpobs diff before.jsonl after.jsonl\n\n"
        "  mcpobs diff main-traces/ pr-traces/ --duration-ratio 2 --exit-code --format github\n\n" + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def diff_command(
    a: Annotated[str, typer.Argument(metavar="A", help="The recording or traces before (a file, directory or glob).")],
    b: Annotated[str, typer.Argument(metavar="B", help="The recording or traces after.")],
    *,
    duration_threshold: Annotated[
        float, typer.Option("--duration-threshold", min=0, help="ms a median duration must move to count.")
    ] = 100.0,
    duration_ratio: Annotated[
        float, typer.Option("--duration-ratio", min=1, help="How many times a median duration must move to count.")
    ] = 1.5,
    exit_code: Annotated[
        bool, typer.Option("--exit-code", help="Exit 1 when B regressed (worse or slower calls, new error classes).")
    ] = False,
    output_format: Annotated[AlertFormat, typer.Option("--format", "-f", help="Output format.")] = AlertFormat.text,
    output: OutputOption = None,
    skip_invalid: SkipInvalid = False,
    memory_limit: MemoryLimit = "512MB",
) -> None:
    """Compare two recordings, or two sets of traces: tools, prompts and resources added, removed
    or changed; calls whose outcome got worse or better, matched by server, tool and arguments
    (so order does not matter); median durations that moved by at least --duration-threshold ms
    and --duration-ratio times; error classes that appeared. Exit 0 unless --exit-code and a
    regression (a worse or slower call, an error class that appeared, a definition removed).
    """
    from mcpobs.catalog.definitions import distinct
    from mcpobs.catalog.diff import Thresholds, calls_of, compare

    _refuse_clickhouse((a, b), "mcpobs diff")
    if a == b == "-":
        raise UsageError("A and B are both - (stdin), which can be read once: give one of them as a file")
    if output is not None:
        _writable(output)
    sides = []
    for label, files in (("A", a), ("B", b)):
        with contextlib.ExitStack() as stack:
            found, notes, store = _catalogue(
                stack, [files], skip_invalid, memory_limit, everything=True, what=f"{label}: "
            )
            _warn_notes(notes)
            sides.append((distinct(found), calls_of(store) if store is not None else []))
    findings = compare(sides[0], sides[1], Thresholds(duration_threshold, duration_ratio), (a, b))
    _render_findings(findings, output_format, output)
    if exit_code and findings.failed:
        raise typer.Exit(ExitCode.ALERT)


def _lock(
    path: Path, update: bool, definitions: list[Definition], output_format: AlertFormat, output: Path | None
) -> None:
    """Write the lock file (absent, or --update) or check the definitions against it."""
    from mcpobs.catalog.lock import check, lock_of, lock_text, read_lock, updated
    from mcpobs.findings import Status

    # an empty file (`touch tools.lock`) holds no lock yet: written as an absent one is
    present = path.exists() and not (path.is_file() and not path.read_bytes().strip())
    if present and not update:
        findings = check(read_lock(path), definitions, str(path))
        _render_findings(findings, output_format, output)
        if findings.failed:
            raise typer.Exit(ExitCode.ALERT)
        return
    if not definitions:
        raise InputError(path, "not written: the inputs hold no definitions to accept")
    if present:
        accepted = read_lock(path)
        changes = check(accepted, definitions, str(path))
        # what the check would fail on is what --update accepts: shown, as information
        shown = [replace(f, status=Status.INFO) if f.status is Status.FAIL else f for f in changes.findings]
        _render_findings(replace(changes, findings=shown, verdicts=("accepted (--update)",) * 2), output_format, output)
        lock = updated(accepted, definitions)
    else:
        lock = lock_of(definitions)
    try:
        path.write_text(lock_text(lock), encoding="utf-8")
    except OSError as e:
        raise UsageError(f"{path}: cannot write: {e.strerror or e}") from None
    servers = len({d.server for d in definitions})
    _stderr().print(
        f"mcpobs: {'updated' if update else 'wrote'} {path}: {len(definitions)} definitions of {servers} "
        f"server{'s' if servers != 1 else ''} accepted",
        markup=False,
        soft_wrap=True,
    )


def _catalogue(
    stack: contextlib.ExitStack,
    files: list[str],
    skip_invalid: bool,
    memory_limit: str,
    *,
    everything: bool,
    what: str = "",
) -> tuple[list[Definition], list[str], Store | None]:
    """The definitions in ``files``: recordings read whole, trace files loaded into a store (every file
    with ``everything``, for their calls too). The store stays open as long as ``stack``."""
    from mcpobs.catalog.definitions import from_recording, from_store, split_inputs
    from mcpobs.ingest.sources import spool_dir

    inputs = split_inputs(files, Path(stack.enter_context(spool_dir())))
    found = [d for log in inputs.recordings for d in from_recording(log)]
    loading = inputs.paths if everything else inputs.traces
    if not loading:
        return found, [], None
    store = stack.enter_context(_open_store(None, memory_limit, loading))
    _load(store, loading, skip_invalid, what)
    more, notes = from_store(store)
    return found + more, notes, store


def _render_findings(findings: Findings, output_format: AlertFormat, output: Path | None) -> None:
    from mcpobs.render import findings as render

    _render_checked(
        findings,
        output_format,
        output,
        render.render_text,
        render.render_json,
        render.render_junit,
        render.render_github,
    )


def _render_checked(
    result: R,
    output_format: AlertFormat,
    output: Path | None,
    text: Callable[[R, Console], None],
    json: Callable[[R], str],
    junit: Callable[[R], str],
    github: Callable[[R], str],
) -> None:
    """A result that passes or fails (alerts, lint, tool definitions) in ``output_format``: text printed
    on the terminal, or written plain to ``output``; JSON, JUnit XML or GitHub annotations written."""
    if output_format is AlertFormat.text and output is None:
        text(result, _stdout_console())
    elif output_format is AlertFormat.text:
        _write(_as_text(lambda console: text(result, console)), output)
    else:
        _write(
            {AlertFormat.json: json, AlertFormat.junit: junit, AlertFormat.github: github}[output_format](result),
            output,
        )


@app.command(
    "record",
    context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True},
    epilog=(
        "Examples (configure the MCP client to launch this in place of the server):\n\n"
        "  mcpobs record --out session.jsonl -- python server.py --root ~/docs\n\n"
        "  mcpobs record --out s.jsonl --redact params.arguments.email --redact-regex '\\d{3}-\\d{2}-\\d{4}' "
        "-- npx my-mcp-server\n\n"
        "  mcpobs record --out s.jsonl --upstream http://127.0.0.1:8000/mcp --listen 127.0.0.1:8765\n\n"
        + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def record_command(
    command: Annotated[
        list[str] | None, typer.Argument(help="The server command and its arguments, after --.", show_default=False)
    ] = None,
    *,
    out: Annotated[Path, typer.Option("--out", "-o", help="The event log to write (must not exist).")],
    redact: Annotated[
        list[str] | None,
        typer.Option("--redact", help="A JSON path whose value is redacted, e.g. params.arguments.email (* for any)."),
    ] = None,
    redact_regex: Annotated[
        list[str] | None, typer.Option("--redact-regex", help="A regex whose matches in any string are redacted.")
    ] = None,
    no_redact: Annotated[
        bool, typer.Option("--no-redact", help="Write messages as they are, secrets included.")
    ] = False,
    otlp: Annotated[
        Path | None,
        typer.Option("--otlp", help="When the session ends, also write its calls as OTLP JSON spans to this file."),
    ] = None,
    upstream: Annotated[
        str | None,
        typer.Option("--upstream", help="Record a Streamable HTTP server at this URL instead, as a reverse proxy."),
    ] = None,
    listen: Annotated[
        str, typer.Option("--listen", help="With --upstream: the proxy's HOST:PORT (port 0: any free port).")
    ] = "127.0.0.1:8765",
) -> None:
    """Record an MCP session: start a stdio server (or, with --upstream, proxy a Streamable HTTP one),
    pass every byte both ways unchanged, and log every JSON-RPC message, server stderr line and
    transport event to an event log (docs/event-log.md).

    Each line is written and flushed as it passes, so the log is complete up to
    the last message even if the server crashes or mcpobs is killed. Secrets are
    redacted before they reach the disk: credential headers, keys such as
    password or api_key, strings that look like API keys or bearer tokens, and
    the --redact paths and --redact-regex patterns; the header says which rules
    applied. stdout and stdin belong to the MCP session: mcpobs writes only to
    stderr and the log.
    """
    from mcpobs.eventlog import EventLogWriter, Redactor
    from mcpobs.record import record_stdio
    from mcpobs.record.http import Listen, check_upstream, listen_socket, record_http

    try:
        redactor = Redactor.checked(not no_redact, redact or (), redact_regex or ())
    except ValueError as e:
        raise UsageError(str(e)) from None
    if upstream is not None and command:
        raise UsageError("give either --upstream URL or a server command after --, not both")
    if upstream is None and not command:
        raise UsageError("name the server command after --, e.g. mcpobs record --out log.jsonl -- python server.py")
    if otlp is not None and os.path.lexists(otlp):
        # refused now, not when the session has been recorded: like --out, never overwritten
        raise UsageError(f"{otlp}: already exists; not overwritten")
    sock = listen_socket(Listen.parse(listen)) if upstream else None
    # what the user named goes into the log's header with its credentials redacted too (a database
    # URL with its password among a server's arguments, say)
    transport, server = (
        ("http", {"url": redactor.text(check_upstream(upstream))})
        if upstream
        else ("stdio", {"command": redactor.command(command or ())})
    )
    try:
        log = EventLogWriter(out, redactor, transport, server)
    except FileExistsError:
        raise UsageError(f"{out}: already exists; not overwritten") from None
    except OSError as e:
        raise UsageError(f"{out}: cannot write: {e.strerror or e}") from None
    try:
        if upstream and sock:
            record_http(upstream, sock, log, ready=_say_listening)
        else:
            record_stdio(command or [], log)
    finally:
        log.close()
        if otlp is not None:
            _write_otlp(out, otlp)


def _say_listening(url: str) -> None:
    _stderr().print(f"mcpobs: recording; point the MCP client at {url} (Ctrl-C to stop)", markup=False, soft_wrap=True)


def _write_otlp(log: Path, target: Path) -> None:
    from mcpobs.eventlog.otlp import write_otlp
    from mcpobs.eventlog.reader import read_event_log

    try:
        spans = write_otlp(read_event_log(log), target)
    except FileExistsError:
        raise UsageError(f"{target}: already exists; not overwritten") from None
    except OSError as e:
        raise UsageError(f"{target}: cannot write: {e.strerror or e}") from None
    _stderr().print(f"mcpobs: wrote {spans} spans to {target}", markup=False)


class ServeMatch(StrEnum):
    any = "any"
    strict = "strict"


class ServeTiming(StrEnum):
    none = "none"
    recorded = "recorded"


@app.command(
    "serve",
    epilog=(
        "Examples (configure the client to launch this in place of the server, or point it at the URL):\n\n"
        "  mcpobs serve session.jsonl\n\n"
        "  mcpobs serve session.jsonl --listen 127.0.0.1:8766 --log served.jsonl\n\n"
        "  mcpobs serve session.jsonl --faults faults.yaml --seed 7\n\n"
        "  mcpobs serve session.jsonl --error-rate 0.05 --latency 200 --hang-call 3\n\n" + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def serve_command(
    recording: Annotated[
        str,
        typer.Argument(
            help="The recording (an event log, or an mcp-recorder/mcp-vcr/mcp-cassette file).", show_default=False
        ),
    ],
    *,
    session: Annotated[
        str | None, typer.Option("--session", metavar="N|ID", help="The session to serve, of a log of several.")
    ] = None,
    match: Annotated[
        ServeMatch,
        typer.Option("--match", help="any: a request gets any recorded answer to an equal one; strict: in order."),
    ] = ServeMatch.any,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="A path left out when matching requests, e.g. params.arguments.when."),
    ] = None,
    log: Annotated[
        Path | None, typer.Option("--log", help="Write the served session as an event log here (must not exist).")
    ] = None,
    listen: Annotated[
        str | None,
        typer.Option("--listen", help="Serve Streamable HTTP on HOST:PORT (at /mcp) instead of stdio."),
    ] = None,
    faults: Annotated[
        Path | None, typer.Option("--faults", help="A YAML file of faults to inject (see the README).")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of the faults' random draws.")] = None,
    latency: Annotated[float | None, typer.Option("--latency", min=0.0, help="ms added to every tools/call.")] = None,
    error_rate: Annotated[
        float | None,
        typer.Option("--error-rate", min=0.0, max=1.0, help="Share of tools/call answered with error -32603."),
    ] = None,
    hang_call: Annotated[
        int | None, typer.Option("--hang-call", min=1, help="This tools/call (from 1) is never answered.")
    ] = None,
    drop_after: Annotated[
        int | None, typer.Option("--drop-after", min=0, help="Drop the connection at the tools/call after this many.")
    ] = None,
    timing: Annotated[
        ServeTiming, typer.Option("--timing", help="recorded: answer after the recorded latency; none: at once.")
    ] = ServeTiming.none,
    speed: Annotated[
        float, typer.Option("--speed", min=0.001, help="With --timing recorded: this many times faster.")
    ] = 1.0,
) -> None:
    """Answer as the recorded server: a client or an agent is tested without its server.

    Each request is answered from the recording: the handshake, lists and
    capabilities as recorded, and a request from the recorded exchange with the
    same method and params (JSON compared by value, _meta and --ignore paths
    aside); repeats are answered in turn. An unmatched request gets a JSON-RPC
    error naming the closest recorded request and what differs, and is told on
    stderr. Faults (--faults, --latency, --error-rate, --hang-call,
    --drop-after) make the server slow, failing, hung or gone on the calls
    they name, so an agent's timeouts, retries and recovery can be tested.
    stdout and stdin belong to the MCP session: mcpobs writes only to stderr.
    """
    import random

    import anyio

    from mcpobs.eventlog import EventLogWriter, Redactor
    from mcpobs.record.http import Listen, listen_socket
    from mcpobs.serve import Faults, Served, flag_faults, load_book, load_faults
    from mcpobs.serve.faults import HTTP_ONLY, SESSIONS_ONLY
    from mcpobs.serve.http import serve_http
    from mcpobs.serve.stdio import serve_stdio

    _refuse_clickhouse((recording,), "mcpobs serve")
    path = Path(recording)
    book = load_book(path, session, match.value, list(ignore or []))
    listed, file_seed = load_faults(faults) if faults is not None else ([], None)
    chosen = [*listed, *flag_faults(latency, error_rate, hang_call, drop_after)]
    http_only = sorted({f.kind for f in chosen if f.kind in HTTP_ONLY})
    if http_only and listen is None:
        raise UsageError(f"{', '.join(http_only)}: HTTP faults; serve HTTP with --listen HOST:PORT")
    if (of_sessions := [k for k in http_only if k in SESSIONS_ONLY]) and book.script.stateless:
        revision = book.script.protocol_version
        stated = f"{', '.join(of_sessions)}: the recording is of protocol {revision}, served stateless"
        raise UsageError(f"{stated}: no session expires, no stream resumes")
    if timing is ServeTiming.none and speed != 1.0:
        raise UsageError("--speed scales recorded latencies: give it with --timing recorded")
    sock = listen_socket(Listen.parse(listen)) if listen is not None else None
    writer = None
    if log is not None:
        try:
            writer = EventLogWriter(log, Redactor(), "http" if listen else "stdio", {"recording": str(path)})
        except FileExistsError:
            raise UsageError(f"{log}: already exists; not overwritten") from None
        except OSError as e:
            raise UsageError(f"{log}: cannot write: {e.strerror or e}") from None
    err = _stderr()

    def say(text: str) -> None:
        err.print(f"mcpobs serve: {text}", markup=False, soft_wrap=True)

    rng = random.Random(seed if seed is not None else file_seed)
    served = Served(book, Faults(chosen, rng), timing=timing.value, speed=speed, log=writer, say=say)
    say(f"serving {path} ({book.script.era}, {len(book.exchanges)} recorded requests)")
    try:
        if sock is not None:
            status = serve_http(served, sock, ready=lambda url: say(f"point the MCP client at {url} (Ctrl-C to stop)"))
        else:
            try:
                status = anyio.run(serve_stdio, served, sys.stdin.fileno(), sys.stdout.fileno())
            except KeyboardInterrupt:  # the log says how the session ended: the calls still open failed
                served.event("recorder_stopped", signal="SIGTERM" if interrupt.terminated else "SIGINT")
                raise
    finally:
        if writer is not None:
            writer.close()
    if status:
        raise typer.Exit(status)


class ReplayFormat(StrEnum):
    text = "text"
    json = "json"


class RecoveryMode(StrEnum):
    checkpoint = "checkpoint"
    event_log = "event_log"
    hybrid = "hybrid"
    off = "off"


@app.command(
    "replay",
    epilog=(
        "Examples:\n\n"
        "  mcpobs replay session.jsonl -- python server.py\n\n"
        "  mcpobs replay session.jsonl --url http://127.0.0.1:8000/mcp --ignore result._meta --run-dir runs/r1\n\n"
        "  mcpobs replay s.jsonl --config mcpobs.yaml --recovery event_log --call-timeout 5000 -- npx my-server\n\n"
        "  mcpobs replay --resume runs/r1 -- python server.py\n\n"
        "  mcpobs replay proxy.jsonl --list-sessions\n\n"
        "  mcpobs replay proxy.jsonl --session 2 --before 'git -C repo reset --hard' --url http://127.0.0.1:8000/mcp\n\n"
        + EXIT_CODES_HELP
    ),
)
@_reporting_errors
def replay_command(
    arguments: Annotated[
        list[str] | None,
        typer.Argument(
            help="The recording (an event log, or an mcp-recorder/mcp-vcr/mcp-cassette file), then -- and the "
            "server command (stdio).",
            show_default=False,
            metavar="RECORDING [-- SERVER…]",
        ),
    ] = None,
    *,
    url: Annotated[
        str | None, typer.Option("--url", help="Replay against a Streamable HTTP server at this URL.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="mcpobs.yaml with the replay's settings (default: ./mcpobs.yaml if there)."),
    ] = None,
    call_timeout: Annotated[int | None, typer.Option("--call-timeout", min=1, help="ms a call may take.")] = None,
    session_timeout: Annotated[
        int | None, typer.Option("--session-timeout", min=1, help="ms the whole replay may take.")
    ] = None,
    max_retries: Annotated[int | None, typer.Option("--max-retries", min=0, help="Retries of a call.")] = None,
    backoff: Annotated[
        int | None, typer.Option("--backoff", min=1, help="ms before the first retry (doubling).")
    ] = None,
    error_threshold: Annotated[
        float | None,
        typer.Option("--error-threshold", min=0.0, max=1.0, help="Stop when this share of attempts failed."),
    ] = None,
    recovery: Annotated[
        RecoveryMode | None, typer.Option("--recovery", help="How to recover a crashed or hung server.")
    ] = None,
    max_concurrent: Annotated[
        int | None, typer.Option("--max-concurrent", min=1, help="Independent requests in flight at once.")
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="A path left out of the comparison, e.g. result._meta or result.content.*.text."),
    ] = None,
    run_dir: Annotated[
        Path | None, typer.Option("--run-dir", help="Where the run is written (default: ./replay-TIMESTAMP).")
    ] = None,
    resume_dir: Annotated[
        Path | None, typer.Option("--resume", help="Go on with the interrupted run in this directory.")
    ] = None,
    state_out: Annotated[Path | None, typer.Option("--state-out", help="Also write the session state here.")] = None,
    session: Annotated[
        list[str] | None,
        typer.Option("--session", metavar="N|ID", help="Replay only this session (its number or id; repeatable)."),
    ] = None,
    list_sessions: Annotated[
        bool, typer.Option("--list-sessions", help="List the recording's sessions and replay nothing.")
    ] = False,
    before: Annotated[
        str | None,
        typer.Option(
            "--before", metavar="CMD", help="A shell command to run before each session (reset the server's data)."
        ),
    ] = None,
    output_format: Annotated[ReplayFormat, typer.Option("--format", "-f", help="Report format.")] = ReplayFormat.text,
) -> None:
    """Replay a recorded MCP session against a live server and show where its answers differ.

    Every client message is sent again in order, exactly as recorded; the
    server's own requests (sampling, elicitation, roots) are answered from the
    recording; each answer is compared with the recorded one (a JSON diff, JSON
    inside text compared as JSON). Calls that time out are cancelled and retried
    with exponential backoff; a crashed or hung server is restarted (stdio) or
    reconnected (HTTP) and the session restored (--recovery). The run directory
    holds the report, the session state, an event log and an OTLP trace of the
    replay, for analyze and check-alerts. The server command is only ever taken
    from this command line, never from a recording.

    A recording of several sessions (a recording proxy's log) is replayed a
    session at a time, each on its own connection, with a run directory per
    session and a summary over all.
    """
    from mcpobs.render.replay import render_json as render_replay_json
    from mcpobs.render.replay import render_sessions_json, render_sessions_text
    from mcpobs.render.replay import render_text as render_replay_text
    from mcpobs.replay import BeforeError, Target, replay_sessions, resume_command, resume_sessions
    from mcpobs.replay.rundir import write_private

    words = list(arguments or [])
    if resume_dir is None:
        _refuse_clickhouse(words[:1], "mcpobs replay")
    if list_sessions:
        if resume_dir is not None or not words:
            raise UsageError("--list-sessions lists a recording's sessions: name the recording")
        _list_sessions(Path(words[0]), output_format)
        return
    if resume_dir is not None:
        settings_given = [call_timeout, session_timeout, max_retries, backoff, error_threshold, recovery]
        settings_given.append(max_concurrent)
        if config or ignore or run_dir or session or any(v is not None for v in settings_given):
            raise UsageError("--resume goes on with the run's own settings: give only the server (after -- or --url)")
        if words and Path(words[0]).suffix in (".jsonl", ".json", ".ndjson", ".yaml", ".yml", ".cassette"):
            raise UsageError(f"--resume takes the recording from the run directory: drop {words[0]}")
    if resume_dir is None and not words:
        raise UsageError("name the recording to replay, e.g. mcpobs replay session.jsonl -- python server.py")
    recording = None if resume_dir is not None else Path(words.pop(0))
    if url is not None and words:
        raise UsageError("give either --url or a server command after --, not both")
    if url is None and not words:
        raise UsageError("name the server: a command after -- (stdio) or --url URL (Streamable HTTP)")
    target = Target(command=tuple(words), url=url)
    err = _stderr()
    failed: BeforeError | None = None
    try:
        if resume_dir is not None:
            err.print(f"mcpobs: resuming {resume_dir} against {target}", markup=False, soft_wrap=True)
            summary = resume_sessions(resume_dir, target, before=before)
        else:
            assert recording is not None
            settings = _replay_config(
                config, call_timeout, session_timeout, max_retries, backoff, error_threshold, recovery, max_concurrent
            )
            where = run_dir or Path(f"replay-{datetime.now().strftime('%Y%m%d-%H%M%S')}")
            try:
                summary = replay_sessions(
                    recording, target, where, settings, list(ignore or []), sessions=session, before=before
                )
            except ValueError as e:
                raise UsageError(str(e)) from None
    except BeforeError as e:
        if e.summary is None:
            raise
        summary, failed = e.summary, e  # the sessions replayed before it: their outputs, then exit 4
    except KeyboardInterrupt:
        named = resume_dir or run_dir or "RUN_DIR (the replay-… directory)"
        if interrupt.first_report():  # the stop's one line: the general handler then says nothing more
            hint = f"mcpobs: interrupted; go on with: {resume_command(named, target)}"
            err.print(hint, markup=False, soft_wrap=True)
        raise
    for run in summary.runs:
        text = _as_text(lambda c, report=run.report: render_replay_text(report, c))  # type: ignore[misc]
        write_private(run.report.run_dir / "report.txt", text)
    if summary.several:
        text = _as_text(lambda c: render_sessions_text(summary, c))
        write_private(summary.run_dir / "report.txt", text)
    if state_out is not None:
        states = [{"session": r.session.number, "id": r.session.id, **r.report.state.to_json()} for r in summary.runs]
        state = states if summary.several else summary.runs[0].report.state.to_json()
        _write(json.dumps(state, ensure_ascii=False, indent=2) + "\n", state_out)
    if output_format is ReplayFormat.json:
        _write(render_sessions_json(summary) if summary.several else render_replay_json(summary.runs[0].report), None)
    elif summary.several:
        render_sessions_text(summary, _stdout_console())
    else:
        render_replay_text(summary.runs[0].report, _stdout_console())
    for pattern in summary.unmatched_ignores:
        err.print(f"mcpobs: warning: --ignore {pattern} matched no path in any answer", markup=False, soft_wrap=True)
    err.print(f"mcpobs: run written to {summary.run_dir}", markup=False, soft_wrap=True)
    if failed is not None:
        raise failed
    if summary.differs:
        raise typer.Exit(ExitCode.ALERT)


def _list_sessions(recording: Path, output_format: ReplayFormat) -> None:
    """``--list-sessions``: each session's number, id, start, client and size."""
    from mcpobs.render.replay import render_session_list
    from mcpobs.replay import read_sessions

    sessions = read_sessions(recording)
    if output_format is ReplayFormat.json:
        _write(json.dumps([s.to_json() for s in sessions], ensure_ascii=False, indent=2) + "\n", None)
        return
    render_session_list(sessions, _stdout_console())


def _replay_config(
    path: Path | None,
    call_timeout: int | None,
    session_timeout: int | None,
    max_retries: int | None,
    backoff: int | None,
    error_threshold: float | None,
    recovery: RecoveryMode | None,
    max_concurrent: int | None,
) -> ReplayConfig:
    """The settings file (named, or ./mcpobs.yaml when there) with the flags over it."""
    from mcpobs.replay import ReplayConfig, load_config

    if path is None and Path("mcpobs.yaml").is_file():
        path = Path("mcpobs.yaml")
        _stderr().print("mcpobs: replay settings from ./mcpobs.yaml", markup=False)
    settings = load_config(path) if path is not None else ReplayConfig()
    timeouts: dict[str, float | None] = {
        "tool_call_timeout_ms": call_timeout,
        "session_timeout_ms": session_timeout,
        "max_retries": max_retries,
        "retry_backoff_ms": backoff,
        "error_threshold": error_threshold,
    }
    th = replace(settings.timeout_handling, **{k: v for k, v in timeouts.items() if v is not None})  # type: ignore[arg-type]
    sr = settings.session_recovery
    if recovery is RecoveryMode.off:
        sr = replace(sr, enabled=False)
    elif recovery is not None:
        sr = replace(sr, enabled=True, mode=recovery.value)
    tc = (
        settings.tool_config if max_concurrent is None else replace(settings.tool_config, max_concurrent=max_concurrent)
    )
    return ReplayConfig(timeout_handling=th, session_recovery=sr, tool_config=tc)


def run() -> None:
    """Run the command line as the ``mcpobs`` command does (see :mod:`mcpobs.__main__`): a stop by a
    signal, wherever it comes, is one line on stderr and exit 130 (Ctrl-C) or 143 (SIGTERM)."""
    try:
        app()
    except SystemExit as done:
        # typer ends a KeyboardInterrupt outside a command (while parsing) with a silent 130
        if done.code != ExitCode.INTERRUPTED:
            raise
        stop: BaseException = KeyboardInterrupt()
    except BaseException as error:
        if not is_interrupt(error):
            raise
        stop = error
    _report_interrupt()
    interrupt.exit_now(exit_code_for(stop))


def _resolve_annotations(group: typer.Typer) -> None:
    """Give each command's function its parameters' types as objects, not the strings this module's
    ``from __future__ import annotations`` leaves: typer reads every command's types (for --help and
    --version too) four times over, compiling each string every time; resolved once here, it reads
    objects (about 5 ms less CPU per start: README, Performance)."""
    import typing

    infos = [group.registered_callback, *group.registered_commands]
    for function in (info.callback for info in infos if info is not None and info.callback is not None):
        function.__annotations__ = typing.get_type_hints(function, include_extras=True)


def main() -> None:
    """Console-script entry point."""
    from mcpobs.__main__ import main as entry

    entry()


# after the last command is registered
_resolve_annotations(app)


if __name__ == "__main__":
    main()
