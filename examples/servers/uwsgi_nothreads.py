"""uWSGI 2.0.26, --workers processes x 1 thread, without --enable-threads: threads stall between requests."""

from __future__ import annotations

from examples.servers import _uwsgi
from examples.servers._api import Launch, LaunchOptions

SERVER = "uwsgi"
DESCRIPTION = (f"uWSGI {_uwsgi.LEGACY_VERSION}: --workers processes (default 2) x 1 thread, no "
               "--enable-threads (Python threads run only while a request runs Python code); "
               "--threads ignored")


def unavailable_reason() -> str | None:
    return _uwsgi.unavailable_reason(legacy=True)


def build(opts: LaunchOptions) -> Launch:
    # uWSGI 2.0.27 made --enable-threads a stub that is always on, so only an older release
    # shows the classic default: without it uWSGI never releases the GIL while it waits for
    # the next request, and the shim's flusher thread sleeps until a request runs Python
    # code. The shim must then flush from the request path (docs/servers.md).
    return _uwsgi.build(opts, threads=1, extra=[], legacy=True)
