"""bjoern: one process, one thread, a libev event loop; the application is called synchronously."""

from __future__ import annotations

from examples.servers import _inprocess
from examples.servers._api import Launch, LaunchOptions

SERVER = "bjoern"
DESCRIPTION = "bjoern: 1 process x 1 thread (libev loop); --workers and --threads ignored"


def unavailable_reason() -> str | None:
    return _inprocess.unavailable_reason("bjoern")


def build(opts: LaunchOptions) -> Launch:
    # One thread is all bjoern has; the shim detects that from the bjoern module being loaded.
    return _inprocess.build(opts, SERVER, threads=1, capacity=None)
