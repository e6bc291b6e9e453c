"""Run a WSGI server that has no command line of its own (or none that stops cleanly) in the foreground.

    python -m examples.servers._inprocess_main SERVER HOST PORT APP [THREADS]

SERVER is one of waitress, cheroot, bjoern, meinheld. SIGTERM and SIGINT stop the server with
exit status 0, so the shim's exit flush (``atexit``) runs; the servers' own command lines either
die by the signal (waitress-serve, cheroot) or have none (bjoern, meinheld).

design: a Python signal handler only runs when the interpreter gets control back. waitress and
cheroot loop in Python (with timeouts), so raising KeyboardInterrupt from the handler is enough.
bjoern and meinheld loop in C; they return to Python for every request and on their own SIGINT
handling, so SIGTERM is turned into the server's own stop call where it has one (meinheld) and
into SIGINT, which the C loop watches, where it has not (bjoern).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from typing import Any, Callable, Dict, List

from examples._serving import load_app, run_until_terminated


def serve_waitress(app: Any, host: str, port: int, threads: int) -> None:
    import waitress.server  # noqa: PLC0415 - import only the server that was asked for

    server = waitress.server.create_server(app, host=host, port=port, threads=threads)
    run_until_terminated(server.run, server.close,
                         f"waitress serving on http://{host}:{port} with {threads} threads")


def serve_cheroot(app: Any, host: str, port: int, threads: int) -> None:
    from cheroot import wsgi  # noqa: PLC0415 - import only the server that was asked for

    # max == min: the pool never grows, so the capacity the shim is told stays the capacity.
    server = wsgi.Server((host, port), app, numthreads=threads, max=threads)
    run_until_terminated(server.start, server.stop,
                         f"cheroot serving on http://{host}:{port} with {threads} threads")


def serve_bjoern(app: Any, host: str, port: int, threads: int) -> None:
    import bjoern  # noqa: PLC0415 - import only the server that was asked for

    signal.signal(signal.SIGTERM, lambda signum, frame: os.kill(os.getpid(), signal.SIGINT))
    print(f"bjoern serving on http://{host}:{port} (one thread)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        bjoern.run(app, host, port)


def serve_meinheld(app: Any, host: str, port: int, threads: int) -> None:
    from meinheld import server  # noqa: PLC0415 - import only the server that was asked for

    server.listen((host, port))
    signal.signal(signal.SIGTERM, lambda signum, frame: server.stop())
    signal.signal(signal.SIGINT, lambda signum, frame: server.stop())
    print(f"meinheld serving on http://{host}:{port} (one thread, greenlets)", flush=True)
    server.run(app)


SERVERS: Dict[str, Callable[[Any, str, int, int], None]] = {
    "waitress": serve_waitress,
    "cheroot": serve_cheroot,
    "bjoern": serve_bjoern,
    "meinheld": serve_meinheld,
}


def main(argv: List[str]) -> int:
    if len(argv) not in (4, 5) or argv[0] not in SERVERS:
        print(f"usage: _inprocess_main {{{','.join(SERVERS)}}} HOST PORT APP [THREADS]", file=sys.stderr)
        return 2
    name, host, port, spec = argv[0], argv[1], int(argv[2]), argv[3]
    threads = int(argv[4]) if len(argv) == 5 else 1
    SERVERS[name](load_app(spec), host, port, threads)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
