"""cheroot (CherryPy's server): one process, a fixed pool of --threads threads (default 4)."""

from __future__ import annotations

from examples.servers import _inprocess
from examples.servers._api import Launch, LaunchOptions

SERVER = "cheroot"
DESCRIPTION = "cheroot: 1 process x --threads threads (default 4, pool fixed); --workers ignored"


def unavailable_reason() -> str | None:
    return _inprocess.unavailable_reason("cheroot")


def build(opts: LaunchOptions) -> Launch:
    threads = opts.threads_or(4)
    # cheroot tells a WSGI app nothing about its pool size, so the launcher tells the shim.
    return _inprocess.build(opts, SERVER, threads, capacity=threads)
