"""What MCP servers advertised: their tool, prompt and resource definitions, read from recordings and
traces (:mod:`~mcpobs.catalog.definitions`), the tokens each adds to an LLM request, a lock file of
accepted definitions (:mod:`~mcpobs.catalog.lock`), and the difference between two recordings or two
sets of traces (:mod:`~mcpobs.catalog.diff`)."""
