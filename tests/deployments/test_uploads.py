"""Uploads to the real Flask and Django projects: the body's bytes and the time reading it are
counted (request body size, the read_body phase), as users deploy them (gunicorn gthread)."""

from __future__ import annotations

import urllib.request
from typing import Any, Callable

import pytest
from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import Collector
from wsgiscope_harness.waiting import poll_until

from tests.deployments.deploy import ALL, SERVICES, Deployment

UPLOAD_BYTES, UPLOADS = 2 * 1024 * 1024, 3


@pytest.mark.parametrize("deployment", [d for d in ALL if d.name == "gunicorn-gthread"],
                         ids=lambda d: d.id)
def test_upload_bytes_and_read_time_are_counted(
        deployment: Deployment, collector: Collector, serve: Callable[..., Any]) -> None:
    server = serve(deployment, collector.url)
    body = bytes(range(256)) * (UPLOAD_BYTES // 256)
    for _ in range(UPLOADS):
        request = urllib.request.Request(f"{server.url}/upload", data=body, method="POST",
                                         headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.read().strip() == str(UPLOAD_BYTES).encode()
    service = SERVICES[deployment.framework]

    def seen(s: Scrape) -> bool:
        return s.total("http_server_request_body_size_bytes_count", service_name=service,
                       http_request_method="POST") >= UPLOADS

    s = poll_until(lambda: scrape(collector.url), seen, timeout_s=20)
    assert s.total("http_server_request_body_size_bytes_sum", service_name=service,
                   http_request_method="POST") == UPLOADS * UPLOAD_BYTES
    assert s.total("wsgi_request_phase_duration_seconds_count", service_name=service,
                   phase="read_body") >= UPLOADS
