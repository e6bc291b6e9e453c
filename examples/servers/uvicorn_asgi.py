"""uvicorn serving the example app written as ASGI (examples/app/asgi.py) in wsgiscope.asgi.wrap."""

from __future__ import annotations

from examples.servers import _uvicorn
from examples.servers._api import Launch, LaunchOptions

SERVER = "uvicorn"
DESCRIPTION = (
    "uvicorn, native ASGI app: --workers processes (default 1) x 1 event loop; "
    "--threads = the concurrency reported as capacity (default 64; not enforced); --app ignored"
)


def unavailable_reason() -> str | None:
    return _uvicorn.unavailable_reason()


def build(opts: LaunchOptions) -> Launch:
    capacity = opts.threads_or(64)
    app = "examples.app.asgi_instrumented:application" if opts.shim else "examples.app.asgi:application"
    # An event loop has no thread pool: its capacity is a nominal concurrency, told to the shim
    # (reported as configured). It is not enforced with --limit-concurrency: uvicorn would answer
    # 503 to requests a plain uvicorn serves, changing the very behaviour the lab measures.
    return _uvicorn.build(opts, app, None, {"WSGISCOPE_CAPACITY": str(capacity)})
