"""OTLP export against real peers (issue 11, points 3 and 5).

What a real wsgiscope collector pushes by OTLP is received by the real OpenTelemetry Collector
(built by scripts/build-otelcol.sh from the pinned modules), which forwards it by OTLP/HTTP to a
Python receiver that decodes it with the official opentelemetry-proto classes; other tests send
straight to that receiver. The receiving side checks content: metric names, units, temporality,
our bucket bounds, resource attributes (the real worker pids), counts exact by status, an expired
worker no longer exported, Retry-After honoured, headers and gzip, drops counted.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Mapping, Sequence, Set, Tuple

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from wsgiscope_harness.metrics import scrape
from wsgiscope_harness.processes import REPO_ROOT, Collector, Server
from wsgiscope_harness.waiting import wait_for

from .export_peers import (
    CUMULATIVE,
    Otelcol,
    OtlpReceiver,
    counts_by_status,
    data_point_count,
    otelcol_binary,
    points,
    process_ancestors,
    start_exporting_collector,
    wait_for_message,
)

DURATION_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]
BODY_BOUNDS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
VECTOR = REPO_ROOT / "packages" / "protocol" / "vectors" / "valid" / "batch-basic.json"
INTERVAL_MS = "500"

REQUEST_METRICS = {
    "http.server.request.duration": ("histogram", "s"),
    "http.server.request.body.size": ("histogram", "By"),
    "http.server.response.body.size": ("histogram", "By"),
    "wsgi.request.phase.duration": ("histogram", "s"),
}
WORKER_METRICS = {
    "http.server.active_requests": ("sum", "{request}"),
    "wsgi.worker.threads": ("sum", "{thread}"),
    "wsgi.worker.busy_threads": ("sum", "{thread}"),
    "wsgi.worker.busy_thread.time": ("sum", "s"),
    "process.cpu.time": ("sum", "s"),
    "process.memory.usage": ("sum", "By"),
    "wsgi.worker.oldest_request.age": ("gauge", "s"),
    "wsgi.shim.dropped_records": ("sum", "{record}"),
}


@pytest.fixture
def receiver() -> Iterator[Callable[..., OtlpReceiver]]:
    started: List[OtlpReceiver] = []

    def start(answers: Sequence[Tuple[int, Mapping[str, str]]] = (), *, always: int = 200) -> OtlpReceiver:
        r = OtlpReceiver(answers, always=always).start()
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


@pytest.fixture
def collectors() -> Iterator[List[Collector]]:
    started: List[Collector] = []
    yield started
    for c in started:
        c.stop()


@pytest.fixture
def otelcol(tmp_path: Path) -> Iterator[Callable[[str], Otelcol]]:
    binary = otelcol_binary()
    started: List[Otelcol] = []

    def start(forward_to: str) -> Otelcol:
        o = Otelcol(binary, tmp_path, forward_to).start()
        started.append(o)
        return o

    yield start
    for o in started:
        o.stop()


def post_vector(collector: Collector) -> Dict[int, int]:
    """POST the shared batch-basic vector as a shim would; its requests counted by status."""
    body = VECTOR.read_bytes()
    request = urllib.request.Request(f"{collector.url}/v1/batches", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 202
    statuses: List[int] = json.loads(body)["requests"]["status"]
    return {s: statuses.count(s) for s in set(statuses)}


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as err:
        err.read()
        return int(err.code)


def worker_pids(message: ExportMetricsServiceRequest) -> Set[int]:
    return {int(p.resource["process.pid"]) for p in points(message) if "process.pid" in p.resource}


@pytest.mark.timeout(1800)  # the first test may build the OpenTelemetry Collector (bounded in otelcol_binary)
def test_real_collector_receives_names_attributes_exact_counts_and_forgets_an_expired_worker(
        tmp_path: Path, receiver: Callable[..., OtlpReceiver], otelcol: Callable[[str], Otelcol],
        collectors: List[Collector]) -> None:
    sink = receiver()
    peer = otelcol(sink.url)
    expiry_s = 3.0
    collector = start_exporting_collector(tmp_path, {
        "OTEL_EXPORTER_OTLP_ENDPOINT": peer.http_url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_METRIC_EXPORT_INTERVAL": INTERVAL_MS,
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=otlp-test",
    }, worker_expiry_s=expiry_s)
    collectors.append(collector)
    server = Server("gunicorn_gthread", tmp_path, collector.url, workers=2, threads=2).start()
    try:
        sent = {200: 0, 404: 0, 500: 0}
        for path, status, n in (("/hello", 200, 10), ("/nope", 404, 4), ("/error", 500, 2)):
            for _ in range(n):
                assert get(f"{server.url}{path}") == status
                sent[status] += 1

        def complete(message: ExportMetricsServiceRequest) -> bool:
            return counts_by_status(message, "e2e") == sent and len(worker_pids(message)) == 2

        got = wait_for_message(sink, complete, 30, f"the OpenTelemetry Collector to forward {sent} and 2 workers")
        assert got.path == "/v1/metrics"
        every = points(got.message)
        names = {p.metric for p in every}
        for name, (kind, unit) in {**REQUEST_METRICS, **WORKER_METRICS}.items():
            found = [p for p in every if p.metric == name]
            assert found, f"{name} missing from the export (got {sorted(names)})"
            assert {(p.kind, p.unit) for p in found} == {(kind, unit)}, name
            assert {p.scope for p in found} == {"wsgiscope-collector"}
            if kind != "gauge":
                assert {p.temporality for p in found} == {CUMULATIVE}, name
        for p in every:
            if p.kind == "histogram":
                assert sum(p.bucket_counts) == p.count and len(p.bucket_counts) == len(p.bounds) + 1
                assert p.bounds == (BODY_BOUNDS if p.unit == "By" else p.bounds)
                if p.metric in ("http.server.request.duration", "wsgi.request.phase.duration"):
                    assert p.bounds == DURATION_BOUNDS
                assert p.start_ns <= p.time_ns
        methods = {p.attributes.get("http.request.method") for p in every if p.metric == "http.server.request.duration"}
        assert methods == {"GET"}
        phases = {str(p.attributes["wsgi.request.phase"]) for p in every if p.metric == "wsgi.request.phase.duration"}
        assert {"read_body", "app", "first_byte", "write"} <= phases

        # Resources: the service's request metrics, one per worker for the worker metrics.
        service = {json.dumps(p.resource, sort_keys=True) for p in every if p.metric == "http.server.request.duration"}
        assert len(service) == 1
        service_resource = json.loads(service.pop())
        assert service_resource["service.name"] == "e2e" and service_resource["webengine.name"] == "gunicorn"
        assert service_resource["deployment.environment.name"] == "otlp-test"
        assert "process.pid" not in service_resource and service_resource["host.name"]
        pids = worker_pids(got.message)
        ours = {int(w.rsplit(":", 1)[1]) for w in scrape(collector.url).workers()}
        assert pids == ours
        for pid in pids:
            assert server.pid in process_ancestors(pid) or pid == server.pid, f"{pid} is not a worker of the server"
        for p in every:
            if "process.pid" in p.resource:
                r = p.resource
                assert r["service.name"] == "e2e" and r["webengine.name"] == "gunicorn" and r["wsgi.worker.class"]
                assert r["service.instance.id"] == f"{r['host.name']}:{r['process.pid']}"
                assert r["deployment.environment.name"] == "otlp-test"
        threads = [p.value for p in every if p.metric == "wsgi.worker.threads"]
        assert threads == [2.0, 2.0]
        busy = [p for p in every if p.metric == "wsgi.worker.busy_thread.time"]
        # Both workers export it; one of them may have served nothing.
        assert len(busy) == 2 and all(p.monotonic and p.value >= 0 for p in busy) and sum(p.value for p in busy) > 0
        cpu_modes = {str(p.attributes["cpu.mode"]) for p in every if p.metric == "process.cpu.time"}
        assert cpu_modes == {"user", "system"}

        # A worker killed: exported until it expires, then no more (its replacement is a new pid).
        victim = sorted(pids)[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()

        def victim_gone(message: ExportMetricsServiceRequest) -> bool:
            now = worker_pids(message)
            return victim not in now and len(now) == 2

        gone = wait_for_message(sink, victim_gone, expiry_s + 30, f"worker {victim} to leave the export")
        assert gone.at - killed_at >= expiry_s - 0.5
        wait_for(lambda: len([r for r in sink.received if r.at > gone.at]) >= 2, 10, "two more exports")
        later = [r for r in sink.received if r.at > gone.at]
        assert all(victim not in worker_pids(r.message) for r in later)
        # Counts are cumulative and survive the worker: nothing is lost from the service.
        assert counts_by_status(later[-1].message, "e2e") == sent
    finally:
        server.stop()


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("protocol", ["http/json", "grpc"])
def test_real_collector_receives_json_and_grpc(
        tmp_path: Path, receiver: Callable[..., OtlpReceiver], otelcol: Callable[[str], Otelcol],
        collectors: List[Collector], protocol: str) -> None:
    sink = receiver()
    peer = otelcol(sink.url)
    collector = start_exporting_collector(tmp_path, {
        "OTEL_EXPORTER_OTLP_ENDPOINT": peer.grpc_url if protocol == "grpc" else peer.http_url,
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        "OTEL_METRIC_EXPORT_INTERVAL": INTERVAL_MS,
    })
    collectors.append(collector)
    expected = post_vector(collector)
    got = wait_for_message(sink, lambda m: counts_by_status(m, "shop") == expected, 30,
                           f"{protocol}: counts {expected} through the OpenTelemetry Collector")
    workers = [p for p in points(got.message) if p.metric == "wsgi.worker.threads"]
    assert [(p.resource["process.pid"], p.resource["host.name"], p.value) for p in workers] == [(4242, "web-1", 4.0)]
    durations = [p for p in points(got.message) if p.metric == "http.server.request.duration"]
    assert {(p.attributes["http.request.method"], p.attributes["http.response.status_code"]) for p in durations} == {
        ("GET", 200), ("POST", 201), ("GET", 500)}


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_is_honoured_and_headers_and_gzip_arrive(
        tmp_path: Path, receiver: Callable[..., OtlpReceiver], collectors: List[Collector], status: int) -> None:
    sink = receiver([(status, {"Retry-After": "2"})])
    collector = start_exporting_collector(tmp_path, {
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": f"{sink.url}/custom/metrics",
        "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=s3cret,x-tenant=team%20a",
        "OTEL_EXPORTER_OTLP_COMPRESSION": "gzip",
        "OTEL_METRIC_EXPORT_INTERVAL": INTERVAL_MS,
    })
    collectors.append(collector)
    expected = post_vector(collector)
    wait_for(lambda: len(sink.received) >= 2, 30, "the refused request and its retry")
    first, retry = sink.received[:2]
    assert first.status == status and retry.status == 200
    # The retry waited for the receiver's Retry-After (2 s), not the 1 s first backoff.
    assert retry.at - first.at >= 1.9
    assert retry.message == first.message  # the same request, sent again
    assert counts_by_status(retry.message, "shop") == expected
    assert retry.path == "/custom/metrics"
    assert retry.headers["x-api-key"] == "s3cret" and retry.headers["x-tenant"] == "team a"
    assert retry.headers["content-encoding"] == "gzip"
    assert retry.headers["content-type"] == "application/x-protobuf"
    assert retry.headers["user-agent"].startswith("wsgiscope-collector/")
    s = scrape(collector.url)
    assert s.total("wsgiscope_collector_otlp_export_requests_total", signal="metrics", outcome="retried") == 1
    assert s.total("wsgiscope_collector_otlp_export_requests_total", signal="metrics", outcome="sent") >= 1
    assert s.total("wsgiscope_collector_otlp_export_dropped_items_total", signal="metrics") == 0


def test_refused_exports_are_dropped_and_counted(
        tmp_path: Path, receiver: Callable[..., OtlpReceiver], collectors: List[Collector]) -> None:
    sink = receiver(always=400)
    collector = start_exporting_collector(tmp_path, {
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url,
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
    })
    collectors.append(collector)
    post_vector(collector)
    wait_for(lambda: len(sink.received) >= 3, 30, "three refused exports")
    per_request = data_point_count(sink.received[-1].message)
    assert per_request > 0
    assert all(r.status == 400 and data_point_count(r.message) == per_request for r in sink.received)
    # One scrape: every dropped request (never retried: 400 is final) lost all its data points.
    s = scrape(collector.url)
    dropped = s.total("wsgiscope_collector_otlp_export_requests_total", signal="metrics", outcome="dropped")
    assert dropped >= 3
    assert s.total("wsgiscope_collector_otlp_export_requests_total", signal="metrics", outcome="retried") == 0
    rejected = s.total("wsgiscope_collector_otlp_export_dropped_items_total", signal="metrics", reason="rejected")
    assert rejected == dropped * per_request


def test_a_wsgiscope_collector_counts_what_another_exports_once(tmp_path: Path, collectors: List[Collector]) -> None:
    """A per-host collector exporting to a gateway collector's own OTLP ingest: the gateway's
    request series carry the same counts, service and server (webengine.name), and the cumulative
    exports that keep coming are not counted twice."""
    (tmp_path / "gateway").mkdir()
    (tmp_path / "edge").mkdir()
    gateway = start_exporting_collector(tmp_path / "gateway", {})
    collectors.append(gateway)
    edge = start_exporting_collector(tmp_path / "edge", {
        "OTEL_EXPORTER_OTLP_ENDPOINT": gateway.url,
        "OTEL_METRIC_EXPORT_INTERVAL": "300",
    })
    collectors.append(edge)
    expected = post_vector(edge)

    def counts() -> Dict[int, int]:
        s = scrape(gateway.url)
        series = s.select("http_server_request_duration_seconds_count", service_name="shop", server="gunicorn")
        return {int(x.labels["http_response_status_code"]): int(x.value) for x in series}

    wait_for(lambda: counts() == expected, 30, f"the gateway to count {expected}")
    sent_before = scrape(edge.url).total("wsgiscope_collector_otlp_export_requests_total", outcome="sent")
    wait_for(lambda: scrape(edge.url).total("wsgiscope_collector_otlp_export_requests_total", outcome="sent")
             >= sent_before + 3, 30, "three more exports")
    assert counts() == expected
