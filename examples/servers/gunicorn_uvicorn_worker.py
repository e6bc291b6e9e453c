"""gunicorn with the uvicorn-worker ASGI worker class (``-k uvicorn_worker.UvicornWorker``), serving
the example app written as ASGI (examples/app/asgi.py) in wsgiscope.wrap_asgi."""

from __future__ import annotations

from typing import List

from examples.servers import _gunicorn
from examples.servers._api import Launch, LaunchOptions

SERVER = "gunicorn"  # what the ASGI shim reports: gunicorn's UvicornWorker, found on the loop's stack
WORKER_CLASS = "uvicorn_worker.UvicornWorker"
DESCRIPTION = (
    "gunicorn -k uvicorn_worker.UvicornWorker, native ASGI app: --workers processes (default 2) "
    "x 1 event loop; --threads = the concurrency reported as capacity (default 64; not enforced); "
    "--app ignored"
)


def unavailable_reason() -> str | None:
    reason = _gunicorn.unavailable_reason("uvicorn", "uvicorn_worker")
    return reason and reason.replace("uvicorn_worker is", "uvicorn-worker is")


def build(opts: LaunchOptions) -> Launch:
    capacity = opts.threads_or(64)
    app = "examples.app.asgi_instrumented:application" if opts.shim else "examples.app.asgi:application"
    argv: List[str] = _gunicorn.base_argv(opts, WORKER_CLASS)
    # No -c python:wsgiscope.gunicorn: that hook wraps a WSGI callable; the ASGI app is wrapped
    # in its module. An event loop has no thread pool, and UvicornWorker passes no concurrency
    # limit to uvicorn (gunicorn's --worker-connections is not used): the capacity is a nominal
    # concurrency told to the shim (reported as configured), as in the uvicorn_asgi mode.
    return Launch(argv=[*argv, app], env={"WSGISCOPE_CAPACITY": str(capacity)})
