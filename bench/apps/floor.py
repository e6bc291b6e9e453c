"""The floor under any Python WSGI middleware, served like the shim (issue 13: what blocks 97 %).

    .venv/bin/python bench/server_throughput.py --server uwsgi_threads --variant bare \
        --variant bare:app=bench.apps.floor:passthrough \
        --variant bare:app=bench.apps.floor:minimal --variant shim

- ``passthrough``: a middleware that only calls the app and returns its answer (one Python
  call more per request): the cost of being a Python middleware at all.
- ``minimal``: the least a middleware that times requests until ``close()`` can do: two
  ``perf_counter_ns`` reads, an object standing for the response that the server iterates and
  closes, and a tuple appended to a bounded deque (no flusher, no CPU time, no phases, nothing
  sent). What a measuring middleware cannot go below.
"""

import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, Tuple

from bench.apps.hello import application as hello

StartResponse = Callable[..., Any]

RECORDS: Deque[Tuple[int, int]] = deque(maxlen=10_000)
_perf = time.perf_counter_ns
_append = RECORDS.append


def passthrough(environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    return hello(environ, start_response)


class _Timed:
    __slots__ = ("body", "t0")

    def __init__(self, body: Iterable[bytes], t0: int) -> None:
        self.body = body
        self.t0 = t0

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        _append((self.t0, _perf()))


def minimal(environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    t0 = _perf()
    return _Timed(hello(environ, start_response), t0)
