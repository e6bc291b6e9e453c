"""gunicorn with sync workers: --workers processes (default 2), one request at a time each."""

from __future__ import annotations

from examples.servers import _gunicorn
from examples.servers._api import Launch, LaunchOptions

SERVER = "gunicorn"
DESCRIPTION = "gunicorn sync: --workers processes (default 2) x 1 thread; --threads ignored"


def unavailable_reason() -> str | None:
    return _gunicorn.unavailable_reason()


def build(opts: LaunchOptions) -> Launch:
    return _gunicorn.build(opts, "sync", threads=1)
