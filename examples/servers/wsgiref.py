"""wsgiref.simple_server from the standard library: one process, one request at a time."""

from __future__ import annotations

from examples.servers._api import Launch, LaunchOptions

SERVER = "wsgiref"
DESCRIPTION = "wsgiref (stdlib): 1 process x 1 thread; --workers and --threads ignored"


def unavailable_reason() -> str | None:
    return None


def build(opts: LaunchOptions) -> Launch:
    argv = [opts.python, "-m", "examples.servers._wsgiref_main", opts.host, str(opts.port), opts.shimmed_app()]
    # wsgiref cannot tell the shim its capacity; it serves one request at a time.
    return Launch(argv=argv, env={"WSGISCOPE_CAPACITY": "1", "WSGISCOPE_PROCESSES": "1", "WSGISCOPE_SERVER": "wsgiref"})
