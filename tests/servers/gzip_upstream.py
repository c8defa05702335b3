"""A stand-in HTTP upstream that answers every JSON-RPC POST with a gzip-compressed JSON body.

``python tests/servers/gzip_upstream.py PORT`` on 127.0.0.1: enough to check that a recording proxy passes
compressed bodies on as they are and logs them decoded. A gzip request body is answered with the SHA-256 of
the bytes that arrived (so a test sees them unchanged); a request for the method ``bomb`` with a gzip body
that inflates to ``params.mb`` MB of whitespace around the answer. A request for ``flood`` is answered
with an SSE stream, not compressed: a log notification, then an event of ``params.mb`` MB of ``data:``
lines with no blank line between them (a server that never ends its events), then the answer.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["content-length"]))
        if self.headers.get("content-encoding") == "gzip":
            answer = {"jsonrpc": "2.0", "id": None, "result": {"sha256": hashlib.sha256(raw).hexdigest()}}
            body = gzip.compress(json.dumps(answer).encode())
        else:
            request = json.loads(raw)
            if request.get("method") == "flood":
                self._flood(request)
                return
            answer = {"jsonrpc": "2.0", "id": request["id"], "result": {"ok": "é"}}
            body = gzip.compress(json.dumps(answer).encode())
            if request.get("method") == "bomb":
                body = bomb(json.dumps(answer).encode(), request["params"]["mb"])
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _flood(self, request: dict[str, object]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()  # no length: the stream ends when the connection closes
        note = {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info", "data": "before"}}
        self.wfile.write(f"data: {json.dumps(note)}\n\n".encode())
        line = b"data: " + b"x" * 1017 + b"\n"  # 1 KB
        params = request["params"]
        assert isinstance(params, dict)
        for _ in range(params["mb"]):
            self.wfile.write(line * 1024)
        answer = {"jsonrpc": "2.0", "id": request["id"], "result": {"ok": "after"}}
        self.wfile.write(f"\ndata: {json.dumps(answer)}\n\n".encode())

    def log_message(self, *args: object) -> None:
        pass


def bomb(message: bytes, mb: int) -> bytes:
    """A gzip body of the message followed by ``mb`` MB of spaces, compressed a MB at a time."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [compressor.compress(message)]
    parts += [compressor.compress(b" " * (1 << 20)) for _ in range(mb)]
    return b"".join([*parts, compressor.flush()])


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
