"""The ``mcpobs`` command's entry point (also ``python -m mcpobs``).

The signal handling is installed before the command-line layer is imported: those imports (typer,
rich, DuckDB, the MCP SDK) take a moment, and Ctrl-C during them must stop as cleanly as later.
"""

from __future__ import annotations

import sys

from mcpobs import interrupt


def main() -> None:
    """Console-script entry point."""
    # install() inside the try: a signal while it starts its thread is a stop like any other. One
    # before this line (in Python's own start-up and the import of this module, the first ~50 ms)
    # is Python's default: nothing of mcpobs runs yet to handle it.
    try:
        interrupt.install()
        from mcpobs.cli import run
    except KeyboardInterrupt as stop:
        if interrupt.first_report():
            sys.stderr.write("mcpobs: interrupted\n")
        from mcpobs.errors import exit_code_for

        interrupt.exit_now(exit_code_for(stop))
    run()


if __name__ == "__main__":
    main()
