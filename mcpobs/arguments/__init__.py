"""Tool-call arguments: the shapes they take, and whether they validate against the advertised inputSchema."""
