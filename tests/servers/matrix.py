"""One server mode under known load, checked from the collector's parsed /metrics.

A :class:`Case` says what the shim must report for a mode (capacity, processes, capacity source,
server version, whether per-request CPU is attributable); :func:`check_case` starts the mode
through launch.py, sends ``requests`` sleeps of ``SLEEP_MS`` from ``concurrency`` clients and
asserts, from the collector:

- the request count is exact;
- every worker reports ``wsgi_worker_threads`` == capacity, and there is one worker per process;
- ``wsgi_worker_info`` carries the server, its version and the capacity source;
- busy-thread-seconds equal the server-side request time (the duration histogram's sum) within 5 %
  (on one-thread servers: the known sleep time, see ``Case.busy_is_sleeps``);
- request CPU is recorded for every request, or for none where it is not attributable.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from importlib import metadata
from typing import Dict, Optional

import pytest
from wsgiscope_harness.load import Request, run_load
from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import Collector, ServerFactory
from wsgiscope_harness.waiting import poll_until, wait_for

SLEEP_MS = 200


@dataclass(frozen=True)
class Case:
    mode: str
    capacity: int
    processes: int
    version: str
    concurrency: int
    requests: int
    workers: Optional[int] = None
    threads: Optional[int] = None
    source: str = "detected"
    cpu_attributable: bool = True
    env: Dict[str, str] = field(default_factory=dict)
    # uWSGI without thread support: records wait for the next request (see test_uwsgi.py)
    poke_after_idle_s: float = 0.0
    log_says: str = ""   # a line the server must have logged (proves the configuration)
    # One OS thread (bjoern, meinheld): a response still being written by the loop overlaps the
    # next request's app call, so durations overlap while the one lane is busy only once. The
    # thread was busy for the sleeps (which cannot overlap: they block it), so compare to them.
    busy_is_sleeps: bool = False

    @property
    def id(self) -> str:
        return self.mode


def skip_unless_available(mode: str) -> str:
    """The mode's SERVER name; skips with the mode's own reason when it cannot run here."""
    module = importlib.import_module(f"examples.servers.{mode}")
    reason = module.unavailable_reason()
    if reason is not None:
        pytest.skip(f"{mode}: {reason}")
    return str(module.SERVER)


def distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def count(s: Scrape) -> float:
    return s.total("http_server_request_duration_seconds_count")


def check_case(case: Case, collector: Collector, start_server: ServerFactory) -> Scrape:
    server_name = skip_unless_available(case.mode)
    server = start_server(case.mode, collector.url, workers=case.workers, threads=case.threads,
                          env=case.env)
    result = run_load(server.url, [Request("GET", f"/sleep?ms={SLEEP_MS}")],
                      concurrency=case.concurrency, max_requests=case.requests)
    assert result.status_counts() == {200: case.requests}, result.errors
    expected = case.requests
    if case.poke_after_idle_s:
        time.sleep(case.poke_after_idle_s)  # an idle period is the condition under test
        assert run_load(server.url, [Request("GET", "/hello")], concurrency=1,
                        max_requests=1).status_counts() == {200: 1}
        expected += 1

    if case.log_says:
        assert case.log_says in server.log_path.read_text(errors="replace")
    def all_counted() -> Optional[Scrape]:
        s = scrape(collector.url)
        return s if count(s) >= expected else None

    counted = wait_for(all_counted, 20, f"{expected} requests counted")
    server_time_s = counted.total("http_server_request_duration_seconds_sum")
    assert server_time_s >= case.requests * SLEEP_MS / 1000
    if case.busy_is_sleeps:
        server_time_s = case.requests * SLEEP_MS / 1000

    def busy_s(s: Scrape) -> float:
        return s.total("wsgi_worker_busy_thread_seconds_total")

    def settled(s: Scrape) -> bool:
        idle = s.total("http_server_active_requests") == 0
        return idle and abs(busy_s(s) - server_time_s) <= 0.05 * server_time_s

    last = poll_until(lambda: scrape(collector.url), settled, 10)
    assert count(last) == expected
    assert abs(busy_s(last) - server_time_s) <= 0.05 * server_time_s, (busy_s(last), server_time_s)

    threads = last.by_worker("wsgi_worker_threads")
    assert len(threads) == case.processes, threads
    assert set(threads.values()) == {float(case.capacity)}, threads
    infos = last.select("wsgi_worker_info")
    assert len(infos) == case.processes
    for info in infos:
        assert info.labels["server"] == server_name, info.labels
        assert info.labels["server_version"] == case.version, info.labels
        assert info.labels["capacity_source"] == case.source, info.labels
    cpu_count = last.total("wsgi_request_cpu_seconds_count")
    assert cpu_count == (expected if case.cpu_attributable else 0), cpu_count
    return last
