"""A stand-in HTTP upstream that answers every JSON-RPC POST with a gzip-compressed JSON body.

``python tests/servers/gzip_upstream.py PORT`` on 127.0.0.1: enough to check that a recording proxy passes
compressed bodies on as they are and logs them decoded.
"""

from __future__ import annotations

import gzip
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["content-length"])))
        body = gzip.compress(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": {"ok": "é"}}).encode())
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
