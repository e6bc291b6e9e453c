"""gunicorn with gthread workers: --workers processes (default 2) x --threads threads (default 4)."""

from __future__ import annotations

from examples.servers import _gunicorn
from examples.servers._api import Launch, LaunchOptions

SERVER = "gunicorn"
DESCRIPTION = "gunicorn gthread: --workers processes (default 2) x --threads threads (default 4)"


def unavailable_reason() -> str | None:
    return _gunicorn.unavailable_reason()


def build(opts: LaunchOptions) -> Launch:
    return _gunicorn.build(opts, "gthread", threads=opts.threads_or(4))
