"""The real OpenTelemetry Python SDK and its WSGI instrumentation send to a real collector over
OTLP/HTTP protobuf, OTLP/HTTP JSON and OTLP/gRPC; the collector's request families count every
request exactly once by status, whether the app sends spans, metrics (old or stable semconv,
cumulative or delta) or both."""

from __future__ import annotations

from typing import Callable, Dict

import pytest
from wsgiscope_harness.metrics import scrape

from .conftest import OtlpCollector, SdkApp

TRANSPORTS = ["http-protobuf", "http-json", "grpc"]

# name → (signals, temporality, OTEL_SEMCONV_STABILITY_OPT_IN)
SCENARIOS = {
    "spans": ("traces", "cumulative", None),
    "old-metrics": ("metrics", "cumulative", None),  # http.server.duration (ms), http.method / http.status_code
    "both-stable": ("traces,metrics", "cumulative", "http"),  # http.server.request.duration (s) and spans
    "both-dup-delta": ("traces,metrics", "delta", "http/dup"),  # both metric names, delta, and spans
}

DURATION_COUNT = "http_server_request_duration_seconds_count"


def endpoint(collector: OtlpCollector, transport: str) -> str:
    return f"127.0.0.1:{collector.grpc_port}" if transport == "grpc" else collector.url


def send_round(app: SdkApp, ok: int, missing: int, fail: int, created: int) -> None:
    for _ in range(ok):
        assert app.request("GET", "/ok") == 200
    for _ in range(missing):
        assert app.request("GET", "/missing") == 404
    for _ in range(fail):
        assert app.request("GET", "/fail") == 500
    for _ in range(created):
        assert app.request("POST", "/items", b"{}") == 201


def counts_by_status(collector: OtlpCollector, service: str) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for sample in scrape(collector.url).select(DURATION_COUNT, service_name=service):
        assert sample.labels["server"] == "otlp"
        status = sample.labels["http_response_status_code"]
        out[status] = out.get(status, 0.0) + sample.value
    return out


@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_sdk_counts_every_request_once_by_status(
        transport: str, scenario: str, start_otlp_collector: Callable[..., OtlpCollector],
        start_sdk_app: Callable[..., SdkApp]) -> None:
    collector = start_otlp_collector()
    signals, temporality, semconv = SCENARIOS[scenario]
    service = f"{transport}-{scenario}"
    app = start_sdk_app(transport, endpoint(collector, transport),
                        {"service.name": service, "service.instance.id": f"{service}-1"},
                        signals=signals, temporality=temporality, semconv=semconv)

    send_round(app, ok=3, missing=2, fail=1, created=1)
    app.flush()
    assert counts_by_status(collector, service) == {"200": 3.0, "404": 2.0, "500": 1.0, "201": 1.0}

    send_round(app, ok=2, missing=0, fail=1, created=0)
    app.flush()
    app.flush()  # an export with nothing new (cumulative: the same reading again) adds nothing
    assert counts_by_status(collector, service) == {"200": 5.0, "404": 2.0, "500": 2.0, "201": 1.0}

    page = scrape(collector.url)
    assert page.total(DURATION_COUNT, service_name=service, http_request_method="POST") == 1.0
    # Every duration landed in a finite bucket: the app answers in well under 10 s.
    assert page.total("http_server_request_duration_seconds_bucket", service_name=service, le="10") == 10.0
    accepted = page.total("wsgiscope_collector_otlp_requests_total", outcome="accepted")
    assert accepted >= 2 and page.total("wsgiscope_collector_otlp_requests_total", outcome="rejected") == 0


def test_two_instances_of_one_service_add_up_and_a_restart_counts_on(
        start_otlp_collector: Callable[..., OtlpCollector], start_sdk_app: Callable[..., SdkApp]) -> None:
    """Two processes of one service (cumulative metrics, distinct service.instance.id) add up;
    a process restarted under the same instance id (a new stream start) keeps counting."""
    collector = start_otlp_collector()
    apps = [start_sdk_app("http-protobuf", collector.url, {"service.name": "pair", "service.instance.id": f"p-{i}"},
                          signals="metrics", semconv="http") for i in range(2)]
    for app in apps:
        send_round(app, ok=2, missing=1, fail=0, created=0)
        app.flush()
    assert counts_by_status(collector, "pair") == {"200": 4.0, "404": 2.0}
    apps[0].stop()
    again = start_sdk_app("http-protobuf", collector.url, {"service.name": "pair", "service.instance.id": "p-0"},
                          signals="metrics", semconv="http")
    send_round(again, ok=1, missing=0, fail=0, created=0)
    again.flush()
    assert counts_by_status(collector, "pair") == {"200": 5.0, "404": 2.0}
