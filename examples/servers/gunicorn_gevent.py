"""gunicorn with gevent workers: --workers processes (default 2), --threads = worker connections."""

from __future__ import annotations

from examples.servers import _gunicorn
from examples.servers._api import Launch, LaunchOptions

SERVER = "gunicorn"
DESCRIPTION = "gunicorn gevent: --workers processes (default 2) x --threads greenlets (default 100)"


def unavailable_reason() -> str | None:
    return _gunicorn.unavailable_reason("gevent")


def build(opts: LaunchOptions) -> Launch:
    return _gunicorn.build(opts, "gevent", threads=opts.threads_or(100))
