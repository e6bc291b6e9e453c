"""gunicorn -k uvicorn_worker.UvicornWorker (the async comparison): the ASGI app in
wsgiscope.wrap_asgi, one event loop per gunicorn worker process."""

from __future__ import annotations

import urllib.request

from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import Collector, ServerFactory
from wsgiscope_harness.waiting import poll_until

from .matrix import Case, check_case, distribution_version, skip_unless_available

MODE = "gunicorn_uvicorn_worker"

# The ASGI shim finds gunicorn's UvicornWorker on the event loop's stack: server gunicorn (its
# version), worker class uvicorn, gunicorn's worker count. An event loop has no thread pool and
# UvicornWorker gives uvicorn no concurrency limit, so the launcher tells the shim a nominal
# capacity (--threads): reported as configured. Every request's CPU is shared with the loop's
# other requests: not attributable.
# One worker: an event loop accepts every connection it can, so with two workers one of them
# may take all 16 requests and never start its shim (seen once in the gate); which worker
# serves is the kernel's choice, not something the test can assert.
CASE = Case(MODE, capacity=8, processes=1, version=distribution_version("gunicorn"), workers=1,
            threads=8, concurrency=8, requests=16, source="configured", cpu_attributable=False)


def test_gunicorn_uvicorn_worker_reports_counts_capacity_and_busy_time(
        collector: Collector, start_server: ServerFactory) -> None:
    last = check_case(CASE, collector, start_server)
    for info in last.select("wsgi_worker_info"):
        assert info.labels["worker_class"] == "uvicorn", info.labels


PATHS = ("/hello", "/cpu?ms=5", "/sleep?ms=20", "/mixed", "/download?bytes=100000",
         "/backend?ms=5")


def test_gunicorn_uvicorn_worker_serves_every_endpoint(
        collector: Collector, start_server: ServerFactory) -> None:
    skip_unless_available(MODE)
    server = start_server(MODE, collector.url, workers=1, threads=8)
    for path in PATHS:
        with urllib.request.urlopen(server.url + path, timeout=10) as answer:
            assert answer.status == 200, path
    upload = urllib.request.Request(server.url + "/upload", data=b"u" * 100_000, method="POST")
    with urllib.request.urlopen(upload, timeout=10) as answer:
        assert answer.read() == b"100000\n"
    requests = len(PATHS) + 1
    metrics = poll_until(
        lambda: scrape(collector.url),
        lambda s: s.total("http_server_request_duration_seconds_count") >= requests, 15)
    assert metrics.total("http_server_request_duration_seconds_count") == requests
    assert metrics.total("http_server_request_body_size_bytes_sum") == 100_000
