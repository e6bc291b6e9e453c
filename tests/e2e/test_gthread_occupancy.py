"""gunicorn gthread, 2 workers x 4 threads: capacity, busy-thread-seconds and in-flight counts."""

from __future__ import annotations

from wsgiscope_harness.load import Request, run_load
from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import Collector, ServerFactory
from wsgiscope_harness.waiting import poll_until, wait_for

WORKERS, THREADS, REQUESTS, SLEEP_MS = 2, 4, 8, 200


def test_busy_thread_seconds_match_request_time_under_gthread(
        collector: Collector, start_server: ServerFactory) -> None:
    server = start_server("gunicorn_gthread", collector.url, workers=WORKERS, threads=THREADS)

    def both_workers_report_capacity() -> Scrape | None:
        s = scrape(collector.url)
        return s if len(s.by_worker("wsgi_worker_threads")) == WORKERS else None

    before = wait_for(both_workers_report_capacity, 30, f"{WORKERS} workers to report wsgi_worker_threads")
    assert set(before.by_worker("wsgi_worker_threads").values()) == {float(THREADS)}
    infos = before.select("wsgi_worker_info")
    assert len(infos) == WORKERS
    assert all(info.labels.get("capacity_source") == "detected" for info in infos), infos
    busy_before = before.total("wsgi_worker_busy_thread_seconds_total")

    result = run_load(server.url, [Request("GET", f"/sleep?ms={SLEEP_MS}")],
                      concurrency=REQUESTS, max_requests=REQUESTS)
    assert result.status_counts() == {200: REQUESTS}, result.errors

    def all_requests_counted() -> Scrape | None:
        s = scrape(collector.url)
        return s if s.total("http_server_request_duration_seconds_count") == REQUESTS else None

    counted = wait_for(all_requests_counted, 20, f"{REQUESTS} requests in http_server_request_duration_seconds")
    server_time_s = counted.total("http_server_request_duration_seconds_sum")
    # Every request slept 200 ms in the app; the server-side time cannot be less.
    assert REQUESTS * SLEEP_MS / 1000 <= server_time_s <= sum(result.latencies_s) * 1.05

    def busy_s(s: Scrape) -> float:
        return s.total("wsgi_worker_busy_thread_seconds_total") - busy_before

    def settled(s: Scrape) -> bool:
        idle = s.total("http_server_active_requests") == 0
        return idle and abs(busy_s(s) - server_time_s) <= 0.05 * server_time_s

    # Samples trail request records by at most one flush: poll for the sample after the last request.
    last = poll_until(lambda: scrape(collector.url), settled, 10)
    assert abs(busy_s(last) - server_time_s) <= 0.05 * server_time_s, (busy_s(last), server_time_s)
    assert last.by_worker("http_server_active_requests") == {w: 0.0 for w in last.workers()}
    assert set(last.by_worker("wsgi_worker_threads").values()) == {float(THREADS)}
