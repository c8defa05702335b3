"""The ``mcpobs`` command's entry point (also ``python -m mcpobs``).

The signal handling is installed before the command-line layer is imported: those imports (typer,
rich, DuckDB, the MCP SDK) take a moment, and Ctrl-C during them must stop as cleanly as later.
"""

from __future__ import annotations

import sys

from mcpobs import interrupt


def main() -> None:
    """Console-script entry point."""
    interrupt.install()
    try:
        from mcpobs.cli import run
    except KeyboardInterrupt as stop:
        if interrupt.first_report():
            sys.stderr.write("mcpobs: interrupted\n")
        from mcpobs.errors import exit_code_for

        interrupt.exit_now(exit_code_for(stop))
    run()


if __name__ == "__main__":
    main()
