"""Capacity is detected inside each worker however the app was wrapped: the README's one line in
a real Flask or Django project, each server started by its own command (issue: plain ``wrap()``
under gunicorn used to report 1 thread, ``default``)."""

from __future__ import annotations

import urllib.request
from typing import Any, Callable

import pytest
from wsgiscope_harness.metrics import wait_for_requests
from wsgiscope_harness.processes import Collector

from tests.deployments.deploy import ALL, SERVICES, Deployment

REQUESTS = 24


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return bytes(answer.read())


@pytest.mark.parametrize("deployment", ALL, ids=lambda d: d.id)
def test_capacity_detected_and_every_request_counted_once(
        deployment: Deployment, collector: Collector, serve: Callable[..., Any]) -> None:
    server = serve(deployment, collector.url)
    for _ in range(REQUESTS):
        assert get(f"{server.url}/").startswith(b"Hello from")
    service = SERVICES[deployment.framework]

    s = wait_for_requests(collector.url, REQUESTS)
    counts = {sample.labels["service_name"]: sample.value
              for sample in s.select("http_server_request_duration_seconds_count")}
    assert counts == {service: REQUESTS}, f"counted once, under one service\n{server.log()}"
    infos = s.select("wsgi_worker_info", service_name=service)
    assert infos, s.text
    for info in infos:
        labels = info.labels
        source = "detected" if deployment.expect_threads else "unbounded"
        assert (labels["server"], labels["worker_class"], labels["capacity_source"]) == (
            deployment.expect_server, deployment.expect_worker_class, source), labels
        assert labels["capacity_processes"] == str(deployment.expect_processes), labels
    threads = s.by_worker("wsgi_worker_threads", service_name=service)
    if deployment.expect_threads is None:  # a thread per connection: no capacity to show
        assert threads == {}, threads
        assert {i.labels["capacity_source"] for i in infos} == {"unbounded"}
        return
    assert set(threads.values()) == {deployment.expect_threads}, threads
