"""meinheld: one process, one thread, a picoev loop switching greenlets at socket waits."""

from __future__ import annotations

from examples.servers import _inprocess
from examples.servers._api import Launch, LaunchOptions

SERVER = "meinheld"
DESCRIPTION = "meinheld: 1 process x 1 thread, greenlets per connection; --workers and --threads ignored"


def unavailable_reason() -> str | None:
    # meinheld 1.0.2 pins greenlet<0.5, which does not build on Python >= 3.11; the install
    # script installs it without that pin (docs/servers.md says why that is safe).
    if not _inprocess.server_installed("greenlet"):
        return "greenlet is not installed in the venv, meinheld needs it (scripts/install-servers.sh)"
    return _inprocess.unavailable_reason("meinheld")


def build(opts: LaunchOptions) -> Launch:
    return _inprocess.build(opts, SERVER, threads=1, capacity=None)
