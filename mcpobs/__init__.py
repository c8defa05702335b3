"""mcpobs: MCP observability and cost monitoring over OpenTelemetry traces and MCP event logs."""

# The one place the version is written (pyproject.toml reads it from here): a literal, so that
# `mcpobs --version` does not pay for importlib.metadata (a third of a bare typer start-up).
__version__ = "0.1.0.dev0"
