"""The example app under mod_wsgi, wrapped in wsgiscope as a user would, beside mod_wsgi's own
numbers: ``GET /__mod_wsgi_metrics`` answers ``mod_wsgi.process_metrics()`` of the daemon process
that serves it, as JSON.

The side endpoint sits outside the wrap, so wsgiscope never counts it; mod_wsgi does. It reports
what it added itself in this process (``side_requests_completed``, ``side_busy_s``: the completed
side requests and their time from the call to ``close()``, plus this one's time so far), so the
test compares wsgiscope with mod_wsgi's numbers minus those.

mod_wsgi's accessors return ``None`` until ``mod_wsgi.start_recording_metrics()`` has run in the
process (``answered_before_start`` records what ``process_metrics()`` said before it).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable, Dict, Iterable, Iterator, List

import mod_wsgi
import wsgiscope

from examples.app.wsgi import application as plain_application

Environ = Dict[str, object]
StartResponse = Callable[..., object]

METRICS_PATH = "/__mod_wsgi_metrics"

ANSWERED_BEFORE_START = mod_wsgi.process_metrics() is not None
mod_wsgi.start_recording_metrics()

instrumented = wsgiscope.wrap(plain_application)


class _SideRequests:
    """The side endpoint's own share of this process's mod_wsgi numbers (threads: one lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.completed = 0
        self.busy_s = 0.0

    def snapshot(self) -> tuple[int, float]:
        with self._lock:
            return self.completed, self.busy_s

    def add(self, busy_s: float) -> None:
        with self._lock:
            self.completed += 1
            self.busy_s += busy_s


_side = _SideRequests()


class _TimedBody:
    """The side endpoint's body: adds its request's time to ``_side`` when mod_wsgi closes it."""

    def __init__(self, chunks: List[bytes], started_s: float) -> None:
        self._chunks = chunks
        self._started_s = started_s

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        _side.add(time.perf_counter() - self._started_s)


def metrics(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    started_s = time.perf_counter()
    completed, busy_s = _side.snapshot()
    process = mod_wsgi.process_metrics()
    answer = {
        "answered_before_start": ANSWERED_BEFORE_START,
        "process_metrics": process,
        "side_requests_completed": completed,
        # mod_wsgi's busy time includes the requests in flight, this one among them
        "side_busy_s": busy_s + (time.perf_counter() - started_s),
    }
    body = json.dumps(answer, default=str).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return _TimedBody([body], started_s)


def application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == METRICS_PATH:
        return metrics(environ, start_response)
    return instrumented(environ, start_response)
