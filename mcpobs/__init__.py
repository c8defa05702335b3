"""mcpobs: MCP observability and cost monitoring over OpenTelemetry traces and MCP event logs."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # looked up when asked for, not on import: the command's start-up (and its Ctrl-C handling) waits for none of it
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("mcpobs-cli")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0.0.0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
