"""Limits of the real collector: body size (413), per-client rate (429 + Retry-After), the
cardinality guard (routes and services invented per request), series expiry under pid churn."""

from __future__ import annotations

import time
from typing import Any, List

from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import CollectorFactory
from wsgiscope_harness.waiting import poll_until

from .ingest_client import batch_body, post
from .procfs import rss_bytes
from .vectors import records, valid


def series(url: str, kind: str) -> float:
    return scrape(url).total("wsgiscope_collector_series", kind=kind)


def test_a_body_over_the_limit_is_refused_with_413(start_collector: CollectorFactory) -> None:
    collector = start_collector(MAX_BODY_BYTES=4096)
    small = batch_body(valid("batch-basic"))
    big = batch_body({**valid("batch-basic"), "padding": "x" * 5000})
    answer = post(collector.url, big)
    assert answer.status == 413 and "4096" in answer.json()["error"], answer
    assert post(collector.url, small).status == 202  # the connection and the collector carry on
    assert scrape(collector.url).total("wsgiscope_collector_rejected_batches_total", reason="too_large") == 1


def test_a_client_over_its_rate_gets_429_with_retry_after_and_is_served_again_after_it(
        start_collector: CollectorFactory) -> None:
    collector = start_collector(RATE_LIMIT_BATCHES_PER_SECOND=2)
    answers = [post(collector.url, batch_body(valid("batch-basic", worker="rate", seq=n))) for n in range(10)]
    statuses = [a.status for a in answers]
    assert statuses[:4] == [202] * 4 and 429 in statuses, statuses  # a burst of twice the rate
    refused = next(a for a in answers if a.status == 429)
    wait_s = int(refused.headers["retry-after"])
    assert 1 <= wait_s <= 2 and refused.json()["error"], refused
    time.sleep(wait_s)  # the test is about what happens once the asked-for time has passed
    assert post(collector.url, batch_body(valid("batch-basic", worker="rate", seq=10))).status == 202


def _flood(url: str, batches: int, per_batch: int, vary: str, first_seq: int = 0) -> int:
    """Send batches whose every request invents a new route, or whose service is new each batch."""
    sent = 0
    for b in range(first_seq, first_seq + batches):
        batch: Any = valid("batch-with-routes", worker="flood", seq=b)
        if vary == "service":
            batch["resource"]["service_name"] = f"svc-{b}"
        else:
            template = {k: v[0] for k, v in batch["requests"].items()}
            batch["requests"] = {k: [v] * per_batch for k, v in template.items()}
            batch["requests"]["route"] = [f"/invented/{b}/{i}" for i in range(per_batch)]
        answer = post(url, batch_body(batch))
        assert answer.status == 202, answer
        sent += records(batch)
    return sent


# With the V8 heap capped, a collector that kept refused label sets would die of it; RSS without
# the cap grows by GC laziness alone (no retention), which says nothing.
SMALL_HEAP = "--max-old-space-size=40"


def test_routes_invented_per_request_cannot_grow_series_or_memory(start_collector: CollectorFactory) -> None:
    limit = 100
    collector = start_collector(node_options=SMALL_HEAP, MAX_SERIES_PER_METRIC=limit, ROUTES="true")
    assert collector.process is not None
    first = _flood(collector.url, 100, 250, "route")
    rss_early = rss_bytes(collector.process.pid)
    later = _flood(collector.url, 200, 250, "route", first_seq=100)  # 50,000 more distinct routes
    s = scrape(collector.url)
    assert s.total("wsgiscope_collector_series", kind="request") <= limit + 1  # + the overflow series
    assert s.total("http_server_request_duration_seconds_count") == first + later  # nothing lost from totals
    overflow = s.total("http_server_request_duration_seconds_count", http_route="_overflow")
    assert overflow == first + later - limit
    assert s.total("wsgiscope_collector_cardinality_overflows_total", kind="request_records") == overflow
    # Keeping 50,000 series (~1.3 KB of histograms each) would not fit the 40 MB heap at all.
    assert collector.process.poll() is None
    assert rss_bytes(collector.process.pid) - rss_early < 32 * 2**20


def test_services_invented_per_batch_share_one_overflow_service(start_collector: CollectorFactory) -> None:
    limit = 100
    collector = start_collector(node_options=SMALL_HEAP, MAX_SERIES_PER_METRIC=limit)
    sent = _flood(collector.url, 1500, 0, "service")
    s = scrape(collector.url)
    # The services seen first fill the guard (the one filling it gets an overflow series of its
    # own), every later service's records go to the one shared `_overflow` service.
    assert s.total("wsgiscope_collector_series", kind="request") <= limit + 2
    assert s.total("http_server_request_duration_seconds_count") == sent
    shared = s.total("http_server_request_duration_seconds_count", service_name="_overflow", server="_overflow")
    overflow = s.total("http_server_request_duration_seconds_count", http_request_method="_overflow")
    assert sent - shared <= 2 * limit
    assert overflow == s.total("wsgiscope_collector_cardinality_overflows_total", kind="request_records") > 0


def test_a_thousand_worker_restarts_leave_a_bounded_series_count(start_collector: CollectorFactory) -> None:
    expiry_s = 1.0
    collector = start_collector(worker_expiry_s=expiry_s)
    sent_at: List[float] = []
    peak = 0.0
    for pid in range(1, 1001):
        batch = valid("batch-basic", worker=f"web-1:{pid}")
        batch["resource"]["pid"] = pid
        assert post(collector.url, batch_body(batch)).status == 202
        sent_at.append(time.monotonic())
        if pid % 50 == 0:
            workers = series(collector.url, "worker")
            # Alive: the workers heard from within the expiry plus one timer period (expiry / 4),
            # with as much again for a late timer on a loaded machine.
            recent = sum(1 for t in sent_at if t > time.monotonic() - expiry_s * 2.5)
            assert workers <= recent, (pid, workers, recent)
            peak = max(peak, workers)
    s = poll_until(lambda: scrape(collector.url), lambda s: not s.workers(), 5 * expiry_s)
    assert s.workers() == set()
    assert s.total("wsgiscope_collector_series", kind="worker") == 0
    assert s.total("wsgiscope_collector_expired_workers_total") == 1000
    # Request series carry no pid: 1,000 workers made as many label sets as one did.
    assert s.total("wsgiscope_collector_series", kind="request") == 3
    assert s.total("http_server_request_duration_seconds_count") == 3000
    assert peak < 1000
