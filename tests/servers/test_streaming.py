"""A streamed body's phases add up on the servers that run only through the launcher (bjoern,
meinheld, wsgiref, gunicorn's gevent worker; the others are covered as users deploy them in
tests/deployments/test_phases.py): the example app's /stream produces 10 chunks, 50 ms of work
before each, inside its generator; read_body + app + generate + write = duration within 10 %."""

from __future__ import annotations

import urllib.request

import pytest
from wsgiscope_harness.metrics import Scrape, scrape
from wsgiscope_harness.processes import Collector, ServerFactory
from wsgiscope_harness.waiting import poll_until

from .matrix import skip_unless_available

CHUNKS, CHUNK_MS, REQUESTS = 10, 50, 3
PHASES = ("read_body", "app", "generate", "write")


@pytest.mark.parametrize("mode", ["bjoern", "meinheld", "wsgiref", "gunicorn_gevent",
                                  "uvicorn_wsgi_adapter"])
def test_streamed_body_phases_add_up_to_the_duration(mode: str, collector: Collector,
                                                     start_server: ServerFactory) -> None:
    skip_unless_available(mode)
    server = start_server(mode, collector.url, workers=1)
    for _ in range(REQUESTS):
        url = f"{server.url}/stream?chunks={CHUNKS}&ms={CHUNK_MS}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.read().count(b"chunk") == CHUNKS

    def seen(s: Scrape) -> bool:
        return s.total("http_server_request_duration_seconds_count") >= REQUESTS

    s = poll_until(lambda: scrape(collector.url), seen, timeout_s=20)
    duration = s.total("http_server_request_duration_seconds_sum")
    phases = {p: s.total("wsgi_request_phase_duration_seconds_sum", phase=p) for p in PHASES}
    produced = REQUESTS * CHUNKS * CHUNK_MS / 1000
    assert phases["generate"] >= 0.9 * produced, (phases, duration)
    assert abs(sum(phases.values()) - duration) <= 0.10 * duration, (phases, duration)
