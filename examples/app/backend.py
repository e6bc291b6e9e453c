"""A slow back end for ``/backend``: answers ``GET /?ms=N`` after sleeping N ms (capped at 60 s).

    python -m examples.app.backend --port 0      # prints "backend listening on http://HOST:PORT"

Point the app at it with ``EXAMPLE_BACKEND_URL=http://HOST:PORT``.
"""

from __future__ import annotations

import argparse
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List, Optional
from urllib.parse import parse_qs, urlsplit

from examples._serving import run_until_terminated

MAX_MS = 60_000


class SlowHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        values = parse_qs(urlsplit(self.path).query).get("ms", ["100"])
        try:
            ms = max(0, min(int(values[0]), MAX_MS))
        except ValueError:
            ms = 100
        time.sleep(ms / 1000.0)
        body = f"slow back end: {ms} ms\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), SlowHandler)
    server.daemon_threads = True

    run_until_terminated(server.serve_forever, server.server_close,
                         f"backend listening on http://{args.host}:{server.server_port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
