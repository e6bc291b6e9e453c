"""The collector goes away: the app does not notice, drops are bounded and counted exactly."""

from __future__ import annotations

import statistics

from examples.load import Request, run_load

from .support.metrics import scrape
from .support.waiting import poll_until

BASELINE, OUTAGE, AFTER = 300, 1000, 50
BUFFER_RECORDS = 200  # small, so the outage overflows the shim's buffer and drops are counted
HELLO = [Request("GET", "/hello")]


def _counted(collector_url: str) -> float:
    s = scrape(collector_url)
    return s.total("http_server_request_duration_seconds_count") + s.total("wsgi_shim_dropped_records_total")


def test_requests_are_unaffected_and_drops_counted_while_the_collector_is_down(start_collector, start_server):
    collector = start_collector()
    server = start_server(
        "gunicorn_gthread", collector.url, workers=2, threads=4,
        env={"WSGISCOPE_MAX_BUFFER_RECORDS": str(BUFFER_RECORDS)},
    )
    baseline = run_load(server.url, HELLO, concurrency=4, max_requests=BASELINE)
    assert baseline.status_counts() == {200: BASELINE}
    assert poll_until(lambda: _counted(collector.url), lambda n: n >= BASELINE, 20) == BASELINE

    port = collector.port
    assert collector.stop() == 0
    outage = run_load(server.url, HELLO, concurrency=4, max_requests=OUTAGE)
    assert outage.status_counts() == {200: OUTAGE}, outage.errors[:5]
    base_median, outage_median = statistics.median(baseline.latencies_s), statistics.median(outage.latencies_s)
    # Generous for a shared 2-core machine, yet far below a blocking send (timeouts are seconds).
    assert outage_median <= base_median * 2 + 0.002, (base_median, outage_median)

    collector.start(port=port)  # the shim's URL is fixed: same port
    # Every outage request is either delivered late or counted as dropped, exactly once.
    assert poll_until(lambda: _counted(collector.url), lambda n: n >= OUTAGE, 30) == OUTAGE
    final = scrape(collector.url)
    assert final.total("wsgi_shim_dropped_records_total") >= OUTAGE - 2 * BUFFER_RECORDS

    assert run_load(server.url, HELLO, concurrency=2, max_requests=AFTER).status_counts() == {200: AFTER}

    assert poll_until(lambda: _counted(collector.url), lambda n: n >= OUTAGE + AFTER, 20) == OUTAGE + AFTER
