"""The collector goes away: the app does not notice, drops are bounded and counted exactly."""

from __future__ import annotations

import statistics

from wsgiscope_harness.load import Request, run_load
from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import CollectorFactory, ServerFactory
from wsgiscope_harness.waiting import poll_until

BASELINE, OUTAGE, AFTER = 300, 1000, 50
# Small, so the outage overflows what a worker keeps (its buffer + one pending batch) and drops.
BUFFER_RECORDS, BATCH_RECORDS, WORKERS = 200, 100, 2
HELLO = [Request("GET", "/hello")]


def _counted(collector_url: str) -> float:
    s = scrape(collector_url)
    return s.total("http_server_request_duration_seconds_count") + s.total("wsgi_shim_dropped_records_total")


def test_requests_are_unaffected_and_drops_counted_while_the_collector_is_down(
        start_collector: CollectorFactory, start_server: ServerFactory) -> None:
    collector = start_collector()
    server = start_server(
        "gunicorn_gthread", collector.url, workers=WORKERS, threads=4,
        env={"WSGISCOPE_MAX_BUFFER_RECORDS": str(BUFFER_RECORDS), "WSGISCOPE_MAX_BATCH_RECORDS": str(BATCH_RECORDS)},
    )
    baseline = run_load(server.url, HELLO, concurrency=4, max_requests=BASELINE)
    assert baseline.status_counts() == {200: BASELINE}
    assert poll_until(lambda: _counted(collector.url), lambda n: n >= BASELINE, 20) == BASELINE
    # A burst can overflow the small buffer even with the collector up; the shim's dropped
    # counter is cumulative per worker, so the restarted collector will see these again.
    dropped_before = scrape(collector.url).total("wsgi_shim_dropped_records_total")

    port = collector.port
    assert port is not None
    assert collector.stop() == 0
    outage = run_load(server.url, HELLO, concurrency=4, max_requests=OUTAGE)
    assert outage.status_counts() == {200: OUTAGE}, outage.errors[:5]
    base_median, outage_median = statistics.median(baseline.latencies_s), statistics.median(outage.latencies_s)
    # Generous for a shared 2-core machine, yet far below a blocking send (timeouts are seconds).
    assert outage_median <= base_median * 2 + 0.002, (base_median, outage_median)

    collector.start(port=port)  # the shim's URL is fixed: same port
    # Every outage request is either delivered late or counted as dropped, exactly once.
    expected = OUTAGE + dropped_before
    poll_until(lambda: _counted(collector.url), lambda n: n >= expected, 30)
    final = scrape(collector.url)
    counted = final.total("http_server_request_duration_seconds_count")
    dropped = final.by_worker("wsgi_shim_dropped_records_total")
    assert counted + sum(dropped.values()) == expected, (counted, dropped, dropped_before)
    assert sum(dropped.values()) - dropped_before >= OUTAGE - WORKERS * (BUFFER_RECORDS + BATCH_RECORDS)

    assert run_load(server.url, HELLO, concurrency=2, max_requests=AFTER).status_counts() == {200: AFTER}

    assert poll_until(lambda: _counted(collector.url), lambda n: n >= expected + AFTER, 20) == expected + AFTER
