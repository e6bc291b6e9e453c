"""The async-comparison launcher modes serve every endpoint of the app and report to the collector."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.waiting import poll_until

PATHS = ("/hello", "/cpu?ms=5", "/sleep?ms=20", "/mixed", "/download?bytes=100000", "/backend?ms=5")


@pytest.mark.parametrize(
    ("mode", "worker_class", "cpu_attributable"),
    [
        ("uvicorn_asgi", "asgi", False),
        ("uvicorn_wsgi_adapter", "", True),
    ],
)
def test_uvicorn_mode_serves_the_app_and_reports_every_request(
    collector: Any, start_server: Any, mode: str, worker_class: str, cpu_attributable: bool
) -> None:
    server = start_server(mode, collector.url, threads=8, env={"WSGISCOPE_SERVICE_NAME": mode})
    for path in PATHS:
        with urllib.request.urlopen(server.url + path, timeout=10) as answer:
            assert answer.status == 200
    upload = urllib.request.Request(server.url + "/upload", data=b"u" * 100_000, method="POST")
    with urllib.request.urlopen(upload, timeout=10) as answer:
        assert answer.read() == b"100000\n"
    metrics = poll_until(
        lambda: scrape(collector.url),
        lambda s: s.total("http_server_request_duration_seconds_count", service_name=mode) >= 7,
        15,
    )
    assert metrics.total("http_server_request_duration_seconds_count", service_name=mode) == 7
    assert metrics.total("http_server_request_body_size_bytes_sum", service_name=mode) == 100_000
    (info,) = metrics.select("wsgi_worker_info", service_name=mode)
    assert (info.labels["server"], info.labels["worker_class"], info.labels["capacity_source"]) == (
        "uvicorn",
        worker_class,
        "configured",
    )
    assert metrics.total("wsgi_worker_threads", service_name=mode) == 8
    has_cpu = metrics.total("wsgi_request_cpu_seconds_count", service_name=mode) > 0
    assert has_cpu == cpu_attributable
