"""The shim in-process (direct WSGI calls, no server) against a faulty collector: the buffer
never exceeds its bound, allocations stop growing once it is full, drops are counted, and the
process has exactly one wsgiscope thread whatever the fault."""

from __future__ import annotations

import threading
import tracemalloc
from typing import Any, Callable, Iterable, List
from wsgiref.util import setup_testing_defaults

import pytest
from wsgiscope import wrap
from wsgiscope.middleware import Middleware
from wsgiscope_harness.waiting import poll_until

from .faults import FaultFactory

MAX_BUFFER, MAX_BATCH, REQUESTS, WARMUP = 1000, 250, 20_000, 3000


def hello(environ: Any, start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello\n"]


def call(app: Any) -> None:
    environ: dict = {}
    setup_testing_defaults(environ)
    result = app(environ, lambda status, headers, exc_info=None: None)
    try:
        for _ in result:
            pass
    finally:
        result.close()


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    return poll_until(condition, bool, timeout_s, interval_s=0.05)


def shim_bytes() -> int:
    """Live bytes allocated by wsgiscope's code (the fault server shares this process)."""
    only_shim = [tracemalloc.Filter(True, "*/wsgiscope/*")]
    return sum(stat.size for stat in tracemalloc.take_snapshot().filter_traces(only_shim).statistics("filename"))


def wsgiscope_threads() -> List[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("wsgiscope")]


@pytest.mark.parametrize("mode", ["refuse", "blackhole", "reset", "error"])
def test_buffer_and_allocations_stay_bounded_and_drops_are_counted(mode: str, start_fault: FaultFactory) -> None:
    fault = start_fault("http://127.0.0.1:9", mode, status=503)  # never forwards: no upstream needed
    app = wrap(hello, collector_url=fault.url, service_name="memory", max_buffer_records=MAX_BUFFER,
               max_batch_records=MAX_BATCH, flush_interval_s=0.05, send_timeout_s=0.5, exit_flush_timeout_s=0.2,
               capacity_threads=1)
    assert isinstance(app, Middleware)  # not disabled
    agent = app.agent
    before_threads = len(wsgiscope_threads())
    tracemalloc.start()
    try:
        longest = 0
        for n in range(REQUESTS):
            call(app)
            if n % 100 == 0:
                longest = max(longest, len(agent.buffer))
            if n == WARMUP:
                full = shim_bytes()
        grown = shim_bytes() - full
        running = wsgiscope_threads()
    finally:
        tracemalloc.stop()
        agent.shutdown()
    # Racing request threads may overshoot by one record each; here there is one thread.
    assert longest <= MAX_BUFFER
    # Keeping the 17,000 later records would take ~2.7 MB (160 B each); a batch being encoded at
    # the moment of a snapshot takes ~60 KB.
    assert grown < 512 * 1024, f"{grown} bytes allocated and kept after the buffer filled"
    # Everything beyond what the worker keeps (buffer + one pending batch) was counted.
    assert agent.buffer.dropped >= REQUESTS - MAX_BUFFER - MAX_BATCH
    assert len(running) - before_threads == 1, running
    # ... and it ends at shutdown, even while the collector black-holes it.
    assert wait_for(lambda: len(wsgiscope_threads()) == before_threads, 5), wsgiscope_threads()
