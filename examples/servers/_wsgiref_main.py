"""Run wsgiref.simple_server in the foreground: ``python -m examples.servers._wsgiref_main HOST PORT APP``.

SIGTERM and SIGINT stop it cleanly (exit 0), so the shim's exit flush runs.
"""

from __future__ import annotations

import sys
from typing import Any, List
from wsgiref.simple_server import WSGIRequestHandler, make_server

from examples._serving import load_app, run_until_terminated


class QuietHandler(WSGIRequestHandler):
    """No access log line per request: load tests would flood the test output."""

    def log_message(self, format: str, *args: Any) -> None:
        pass



def main(argv: List[str]) -> int:
    host, port, spec = argv[0], int(argv[1]), argv[2]
    server = make_server(host, port, load_app(spec), handler_class=QuietHandler)

    run_until_terminated(server.serve_forever, server.server_close,
                         f"wsgiref serving {spec} on http://{host}:{server.server_port}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
