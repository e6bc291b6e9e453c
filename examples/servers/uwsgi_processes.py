"""uWSGI, --workers processes with one request each; the app is imported in the master, then forked."""

from __future__ import annotations

from examples.servers import _uwsgi
from examples.servers._api import Launch, LaunchOptions

SERVER = "uwsgi"
DESCRIPTION = ("uWSGI: --workers processes (default 2) x 1 thread, --enable-threads, app imported "
               "before fork; --threads ignored")


def unavailable_reason() -> str | None:
    return _uwsgi.unavailable_reason()


def build(opts: LaunchOptions) -> Launch:
    # Forking after the import is uWSGI's default and the case a shim must survive: whatever
    # the import started (threads, sockets) stays behind in the master.
    return _uwsgi.build(opts, threads=1, extra=["--enable-threads"])
