"""waitress: one process, a pool of --threads threads (default 4)."""

from __future__ import annotations

from examples.servers import _inprocess
from examples.servers._api import Launch, LaunchOptions

SERVER = "waitress"
DESCRIPTION = "waitress: 1 process x --threads threads (default 4); --workers ignored"


def unavailable_reason() -> str | None:
    return _inprocess.unavailable_reason("waitress")


def build(opts: LaunchOptions) -> Launch:
    threads = opts.threads_or(4)
    # waitress tells a WSGI app nothing about its pool size, so the launcher tells the shim.
    return _inprocess.build(opts, SERVER, threads, capacity=threads)
