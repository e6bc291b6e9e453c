"""The request record: one tuple per finished request, built on the request thread.

The one definition of its fields, shared by the WSGI middleware, the ASGI middleware (each
builds a ``Record``; mypy checks both against this type) and the encoder
(:func:`wsgiscope.batch.encode_requests`, which unpacks in :data:`FIELDS` order). A plain tuple
is the cheapest thing to build on the request path (a tuple display costs a fifth of a
NamedTuple's construction); every conversion (to microseconds, to Unix time, parsing the queue
header, keeping values inside the schema) happens later, on the flusher thread. Times are raw
``perf_ns`` stamps.
"""

from __future__ import annotations

from typing import Optional, Tuple

FIELDS = (
    "start_ns",        # perf_ns when the middleware was called
    "method",
    "route",           # route template or None
    "status",
    "app_end_ns",      # perf_ns when the app returned (WSGI) / sent response.start (ASGI)
    "first_byte_ns",   # perf_ns of the first body byte handed to the server; 0 = none
    "end_ns",          # perf_ns at close() (WSGI) / the coroutine's end (ASGI)
    "read_ns",         # time inside body reads
    "write_ns",        # time the server spent writing (suspended at yields, in write())
    "cpu_ns",          # thread CPU; -1 = not attributable
    "bytes_in",
    "bytes_out",
    "error",           # exception type name or None
    "lane",            # small per-process number of the thread / greenlet / task
    "queue_raw",       # the front end's raw X-Request-Start / X-Queue-Start, or None
    "app_io_ns",       # reads and writes made during the app call (not app time)
    "gen_ns",          # time inside the response iterable producing the body
)

Record = Tuple[
    int, str, Optional[str], int, int, int, int, int, int, int, int, int, Optional[str], int,
    Optional[str], int, int,
]
