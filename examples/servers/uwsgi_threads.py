"""uWSGI, --workers processes x --threads threads, each worker importing the app itself (lazy-apps)."""

from __future__ import annotations

from examples.servers import _uwsgi
from examples.servers._api import Launch, LaunchOptions

SERVER = "uwsgi"
DESCRIPTION = ("uWSGI: --workers processes (default 2) x --threads threads (default 4), "
               "--lazy-apps (app imported in each worker)")


def unavailable_reason() -> str | None:
    return _uwsgi.unavailable_reason()


def build(opts: LaunchOptions) -> Launch:
    # --threads implies Python thread support; --lazy-apps shows the other fork model.
    return _uwsgi.build(opts, threads=opts.threads_or(4), extra=["--lazy-apps"])
