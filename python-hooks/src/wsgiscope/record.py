"""The request record: one tuple per finished request, built on the request thread.

A plain tuple is the cheapest thing to build there; every conversion (to microseconds, to
Unix time, parsing the queue header, keeping values inside the schema) happens later, on the
flusher thread, in :func:`wsgiscope.batch.encode_requests`. Times are raw ``perf_ns`` stamps.
"""

from __future__ import annotations

from typing import Optional, Tuple

# (start_ns, method, route, status, app_end_ns, first_byte_ns (0 = none), end_ns,
#  read_ns, write_ns, cpu_ns (-1 = not attributable), bytes_in, bytes_out, error, lane,
#  raw queue header or None, app_io_ns (reads and writes made during the app call),
#  gen_ns (time inside the response iterable producing the body))
Record = Tuple[
    int, str, Optional[str], int, int, int, int, int, int, int, int, int, Optional[str], int,
    Optional[str], int, int,
]
