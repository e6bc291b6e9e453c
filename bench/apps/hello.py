"""The smallest honest WSGI app: what overhead benchmarks measure against."""

from typing import Any, Callable, Dict, List

BODY = b"Hello, world!"


def application(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]
