"""uWSGI, --workers processes x 1 thread, without --enable-threads (the classic uWSGI default)."""

from __future__ import annotations

from examples.servers import _uwsgi
from examples.servers._api import Launch, LaunchOptions

SERVER = "uwsgi"
DESCRIPTION = ("uWSGI: --workers processes (default 2) x 1 thread, no --enable-threads, app imported "
               "before fork; --threads ignored")


def unavailable_reason() -> str | None:
    return _uwsgi.unavailable_reason()


def build(opts: LaunchOptions) -> Launch:
    # Before uWSGI 2.0.2x, without --enable-threads the GIL was never released to other threads,
    # so threads the app started did not run between requests (the shim must flush in-request).
    # uWSGI 2.0.31 turned --enable-threads into a stub that is always on: on it, this mode only
    # differs from uwsgi_processes by the option string (docs/servers.md).
    return _uwsgi.build(opts, threads=1, extra=[])
