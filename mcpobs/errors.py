"""One exception hierarchy for the whole tool, and the exit codes it maps to.

The library raises these; only the CLI turns them into messages and exit codes,
in one place (:func:`exit_code_for`).
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

from mcpobs import interrupt


class ExitCode(IntEnum):
    """Exit statuses: a contract documented in ``--help`` and the README."""

    OK = 0
    ALERT = 1  # an alert fired, or a replay differs from its recording
    USAGE = 2  # bad arguments or an invalid rules file
    INPUT = 3  # unreadable or malformed input
    UNREACHABLE = 4  # an MCP server could not be reached
    INTERRUPTED = 130  # Ctrl-C (SIGINT)
    TERMINATED = 143  # SIGTERM, stopped as Ctrl-C is
    PIPE_CLOSED = 141  # stdout's reader went away (`| head`): 128 + SIGPIPE, as a Unix filter ends


class McpobsError(Exception):
    """Base of every error mcpobs reports to a user: the message is one line (or, for a file
    with several problems, one line per problem: :meth:`lines`)."""

    exit_code = ExitCode.INPUT

    def lines(self) -> list[str]:
        """The message as the lines to print, each one whole."""
        return [str(self)]


class UsageError(McpobsError):
    """The request itself is wrong: an unknown option value, a missing argument."""

    exit_code = ExitCode.USAGE


class InputError(McpobsError):
    """An input file cannot be read or holds something that is not what it should be.

    ``line`` is 1-based; for binary formats it is the record number and ``unit``
    says so.
    """

    exit_code = ExitCode.INPUT

    def __init__(self, path: str | Path, message: str, line: int | None = None, *, unit: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = self.path if line is None else f"{self.path}:{unit}{line}"
        super().__init__(f"{where}: {message}")


class StoreError(McpobsError):
    """The DuckDB store cannot be opened or written (locked, corrupt, wrong schema)."""

    exit_code = ExitCode.INPUT


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit status for ``error``: the one place that decides it."""
    if isinstance(error, McpobsError):
        return error.exit_code
    if is_interrupt(error):
        return ExitCode.TERMINATED if interrupt.terminated else ExitCode.INTERRUPTED
    raise TypeError(f"not an mcpobs error: {error!r}")


def is_interrupt(error: BaseException) -> bool:
    """Whether ``error`` is a stop a signal asked for: a KeyboardInterrupt, or DuckDB's word for a query
    it stopped (interrupted by :mod:`mcpobs.interrupt`, or in place of the KeyboardInterrupt it found)."""
    if isinstance(error, KeyboardInterrupt):
        return True
    if type(error).__name__ == "InterruptException" and type(error).__module__.endswith("duckdb"):
        return True  # not imported here: the command's start-up imports this module before DuckDB
    return type(error) is RuntimeError and str(error) == "Query interrupted"
