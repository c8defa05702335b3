"""A real mcp SDK 2.x server that requires OAuth bearer tokens (the SDK's resource-server support).

``python auth_server.py --http PORT [--stateless]`` serves Streamable HTTP on 127.0.0.1:PORT at /mcp
(without sessions with ``--stateless``). It is an OAuth
protected resource (``AuthSettings`` with ``resource_server_url`` and ``required_scopes=["lookup"]``,
and a ``TokenVerifier``): the SDK's ``RequireAuthMiddleware`` answers a request without a valid token
with HTTP 401 and ``WWW-Authenticate: Bearer error="invalid_token", …, resource_metadata="…"`` (RFC
9728), one whose token lacks the scope with 403 ``insufficient_scope``, and it serves the protected
resource metadata at ``/.well-known/oauth-protected-resource/mcp``.

The tokens stand for what an authorization server would issue: ``ada-token`` (scope ``lookup``),
``bob-token`` (scope ``read`` only), and ``dan-1`` (scope ``lookup``, expired after its third use:
the client must get ``dan-2``).
"""

from __future__ import annotations

import sys

from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer

TOKENS = {"ada-token": ["lookup"], "bob-token": ["read"], "dan-1": ["lookup"], "dan-2": ["lookup"]}
EXPIRES_AFTER = {"dan-1": 3}


class Verifier:
    """Accepts the tokens above; ``dan-1`` only for its first uses."""

    def __init__(self) -> None:
        self.uses: dict[str, int] = {}

    async def verify_token(self, token: str) -> AccessToken | None:
        if token not in TOKENS:
            return None
        self.uses[token] = self.uses.get(token, 0) + 1
        if self.uses[token] > EXPIRES_AFTER.get(token, sys.maxsize):
            return None
        return AccessToken(token=token, client_id=token.split("-")[0], scopes=TOKENS[token])


def make(port: int) -> MCPServer:
    srv = MCPServer(
        "vault",
        version="1.0.0",
        log_level="WARNING",
        token_verifier=Verifier(),
        auth=AuthSettings(
            issuer_url="https://auth.example.test",
            resource_server_url=f"http://127.0.0.1:{port}/mcp",
            required_scopes=["lookup"],
            validate_token_resource=False,
        ),
    )

    @srv.tool()
    def lookup(key: str) -> str:
        """Look a key up."""
        return f"value of {key}"

    return srv


if __name__ == "__main__":
    port = int(sys.argv[sys.argv.index("--http") + 1])
    print("vault ready", file=sys.stderr, flush=True)
    make(port).run("streamable-http", host="127.0.0.1", port=port, stateless_http="--stateless" in sys.argv)
