"""wsgiref.simple_server from the standard library: one process, one request at a time."""

from __future__ import annotations

from examples.servers._api import Launch, LaunchOptions

SERVER = "wsgiref"
DESCRIPTION = "wsgiref (stdlib): 1 process x 1 thread; --workers and --threads ignored"


def unavailable_reason() -> str | None:
    return None


def build(opts: LaunchOptions) -> Launch:
    argv = [opts.python, "-m", "examples.servers._wsgiref_main", opts.host, str(opts.port), opts.shimmed_app()]
    # The shim recognises wsgiref.simple_server (SERVER_SOFTWARE WSGIServer/...): one thread,
    # one process, nothing to configure.
    return Launch(argv=argv)
