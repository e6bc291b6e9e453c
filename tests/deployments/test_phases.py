"""The phases partition the request on every server: a streamed body (Django's
StreamingHttpResponse, a Flask generator) whose chunks take 50 ms each to produce is counted as
body generation, and read_body + app + generate + write add up to the request's duration within
10 % — from the collector's phase histograms, as a user's dashboard reads them."""

from __future__ import annotations

import urllib.request
from typing import Any, Callable, List

import pytest
from wsgiscope_harness.metrics import wait_for_requests
from wsgiscope_harness.processes import Collector

from tests.deployments.deploy import ALL, RUNSERVER, SERVICES, Deployment

CHUNKS, CHUNK_MS, REQUESTS = 10, 50, 3
PHASES = ("read_body", "app", "generate", "write")


def one_per_server() -> List[Deployment]:
    """Every server once, the frameworks taking turns (both are covered, each server once)."""
    chosen: dict[str, Deployment] = {}
    for number, deployment in enumerate(d for d in ALL if d.framework == "flask"):
        framework = "flask" if number % 2 == 0 else "django"
        chosen[deployment.name] = next(d for d in ALL if d.name == deployment.name
                                       and d.framework == framework)
    return [*chosen.values(), RUNSERVER]


@pytest.mark.parametrize("deployment", one_per_server(), ids=lambda d: d.id)
def test_streamed_body_phases_add_up_to_the_duration(
        deployment: Deployment, collector: Collector, serve: Callable[..., Any]) -> None:
    server = serve(deployment, collector.url)
    for _ in range(REQUESTS):
        url = f"{server.url}/stream?chunks={CHUNKS}&ms={CHUNK_MS}"
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.read().count(b"chunk") == CHUNKS
    service = SERVICES[deployment.framework]

    s = wait_for_requests(collector.url, REQUESTS, service_name=service)
    duration = s.total("http_server_request_duration_seconds_sum", service_name=service)
    phases = {phase: s.total("wsgi_request_phase_duration_seconds_sum", service_name=service,
                             phase=phase) for phase in PHASES}
    produced = REQUESTS * CHUNKS * CHUNK_MS / 1000
    assert phases["generate"] >= 0.9 * produced, (phases, duration)
    assert abs(sum(phases.values()) - duration) <= 0.10 * duration, (phases, duration)
