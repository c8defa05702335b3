"""mcpobs: MCP observability and cost monitoring over OpenTelemetry traces and MCP event logs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcpobs-cli")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
