"""Exact request counts under real concurrent load, and the whole metric catalogue exposed."""

from __future__ import annotations

from wsgiscope_harness.load import MIXES, run_load
from wsgiscope_harness.metrics import CATALOGUE, sample_name_for, scrape
from wsgiscope_harness.processes import Collector, ServerFactory
from wsgiscope_harness.waiting import poll_until

REQUESTS = 500


def test_every_request_is_counted_exactly_once_under_concurrent_load(
        collector: Collector, start_server: ServerFactory) -> None:
    server = start_server("gunicorn_gthread", collector.url, workers=2, threads=4)
    result = run_load(server.url, MIXES["default"], concurrency=8, max_requests=REQUESTS)
    assert result.sent == REQUESTS
    assert not result.errors, result.errors[:5]

    final = poll_until(
        lambda: scrape(collector.url),
        lambda s: s.total("http_server_request_duration_seconds_count") >= REQUESTS, 30,
    )
    assert final.total("http_server_request_duration_seconds_count") == REQUESTS
    for status, expected in result.status_counts().items():
        seen = final.total("http_server_request_duration_seconds_count", http_response_status_code=str(status))
        assert seen == expected, f"status {status}: collector counted {seen}, client saw {expected}"
    assert final.total("http_server_request_duration_seconds_count", http_request_method="POST") == sum(
        1 for i in range(REQUESTS) if MIXES["default"][i % len(MIXES["default"])].method == "POST"
    )


def test_every_catalogue_metric_is_exposed_with_service_and_server_labels(
        collector: Collector, start_server: ServerFactory) -> None:
    server = start_server("gunicorn_gthread", collector.url, workers=2, threads=4)
    mix = MIXES["default"]
    run_load(server.url, mix, concurrency=4, max_requests=len(mix) * 3)

    final = poll_until(
        lambda: scrape(collector.url),
        lambda s: all(s.select(sample_name_for(n, k)) for n, k in CATALOGUE), 20,
    )
    missing = [n for n, k in CATALOGUE if not final.select(sample_name_for(n, k))]
    assert missing == []
    for name, kind in CATALOGUE:
        for sample in final.select(sample_name_for(name, kind)):
            assert sample.labels.get("service_name") == "e2e", sample
            assert sample.labels.get("server") == "gunicorn", sample
