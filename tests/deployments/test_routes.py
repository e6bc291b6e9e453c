"""Route templates from the framework's own route table reach Prometheus with the README's one
line and default options: Flask's ``url_rule`` and Django's resolved route, the template (not
the path) on ``http_route``; a request that matched no route has no ``http_route``."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any, Callable

import pytest
from wsgiscope_harness.metrics import wait_for_requests
from wsgiscope_harness.processes import Collector

from tests.deployments.deploy import ALL, SERVICES, Deployment

CASES = [d for d in ALL if d.name == "gunicorn-gthread"]


@pytest.mark.parametrize("deployment", CASES, ids=lambda d: d.id)
def test_framework_route_templates_are_http_route(
        deployment: Deployment, collector: Collector, serve: Callable[..., Any]) -> None:
    server = serve(deployment, collector.url)
    for item in (1, 2, 3):
        with urllib.request.urlopen(f"{server.url}/items/{item}", timeout=30) as answer:
            assert answer.read() == b"item %d" % item
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{server.url}/no/such/page", timeout=30)
    service = SERVICES[deployment.framework]

    s = wait_for_requests(collector.url, 4, service_name=service)
    by_route = {(x.labels.get("http_route"), x.labels["http_response_status_code"]): x.value
                for x in s.select("http_server_request_duration_seconds_count",
                                  service_name=service)}
    assert by_route == {("/items/<int:item_id>", "200"): 3, (None, "404"): 1}, by_route
