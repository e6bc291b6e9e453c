"""uvicorn serving the WSGI example app through the a2wsgi WSGI-to-ASGI adapter (a thread pool)."""

from __future__ import annotations

from examples.servers import _uvicorn
from examples.servers._api import Launch, LaunchOptions

SERVER = "uvicorn"
DESCRIPTION = (
    "uvicorn + a2wsgi: --workers processes (default 1) x --threads adapter threads (default 4); "
    "--app ignored"
)


def unavailable_reason() -> str | None:
    return _uvicorn.unavailable_reason("a2wsgi")


def build(opts: LaunchOptions) -> Launch:
    threads = opts.threads_or(4)
    attr = "application" if opts.shim else "plain_application"
    # The shim wraps the WSGI app inside the adapter: its threads are a2wsgi's pool.
    env = {"EXAMPLE_ADAPTER_THREADS": str(threads), "WSGISCOPE_CAPACITY": str(threads)}
    return _uvicorn.build(opts, f"examples.app.wsgi_adapter:{attr}", limit=None, env=env)
