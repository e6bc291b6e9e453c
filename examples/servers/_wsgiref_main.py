"""Run wsgiref.simple_server in the foreground: ``python -m examples.servers._wsgiref_main HOST PORT APP``.

SIGTERM and SIGINT stop it cleanly (exit 0), so the shim's exit flush runs.
"""

from __future__ import annotations

import importlib
import signal
import sys
from types import FrameType
from typing import Any, List, Optional
from wsgiref.simple_server import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    """No access log line per request: load tests would flood the test output."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def load_app(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr or "application")


def main(argv: List[str]) -> int:
    host, port, spec = argv[0], int(argv[1]), argv[2]
    server = make_server(host, port, load_app(spec), handler_class=QuietHandler)

    def stop(signum: int, frame: Optional[FrameType]) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"wsgiref serving {spec} on http://{host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
