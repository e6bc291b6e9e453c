"""uvicorn serving the example app written as ASGI (examples/app/asgi.py) in wsgiscope.asgi.wrap."""

from __future__ import annotations

from examples.servers import _uvicorn
from examples.servers._api import Launch, LaunchOptions

SERVER = "uvicorn"
DESCRIPTION = (
    "uvicorn, native ASGI app: --workers processes (default 1) x 1 event loop; "
    "--threads = concurrency limit (default 64); --app ignored"
)


def unavailable_reason() -> str | None:
    return _uvicorn.unavailable_reason()


def build(opts: LaunchOptions) -> Launch:
    limit = opts.threads_or(64)
    app = "examples.app.asgi_instrumented:application" if opts.shim else "examples.app.asgi:application"
    # An event loop has no thread pool: its capacity is the concurrency limit, told to the shim.
    return _uvicorn.build(opts, app, limit, {"WSGISCOPE_CAPACITY": str(limit)})
