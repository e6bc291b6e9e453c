"""Traces of slow requests exported by OTLP, against real peers (issue 11, points 4 and 5).

A real gunicorn (gthread, 2 workers x 2 threads) serves the example app with the shim
(WSGISCOPE_SLOW_REQUEST_SECONDS=1); requests of 1.2 s, most with a W3C ``traceparent`` made here,
become traces; the real wsgiscope collector exports their span trees by OTLP (http/protobuf,
http/json with gzip, gRPC) to the real OpenTelemetry Collector (scripts/build-otelcol.sh), which
forwards them by OTLP/HTTP to a Python receiver decoding with the official opentelemetry-proto
classes. The receiver checks content: the caller's trace id and span as parent, a SERVER span as
long as the request, one child per phase with its total, the worker's resource; and that no
request faster than the threshold produced a trace.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

import pytest
from wsgiscope_harness.processes import Collector, Server
from wsgiscope_harness.waiting import wait_for

from .export_peers import otelcol_binary, process_ancestors, start_exporting_collector
from .trace_peers import INTERNAL, SERVER, ReceivedSpan, TraceReceiver, TracesOtelcol

SLOW_MS = 1200
PHASES = {"queue", "read_body", "app", "generate", "write"}
# SpanFlags: the W3C sampled flag, "has is-remote" and "is remote" (trace.proto).
SAMPLED, HAS_IS_REMOTE, IS_REMOTE = 0x01, 0x100, 0x200


@dataclass
class Sent:
    """One request as the client saw it."""

    path: str
    trace_id: Optional[str]  # the traceparent sent, if any
    parent_span_id: Optional[str]
    start_s: float  # time.time() before sending
    elapsed_s: float  # time.monotonic() around the whole exchange
    status: int


def send(url: str, path: str, traced: bool) -> Sent:
    trace_id = secrets.token_hex(16) if traced else None
    span_id = secrets.token_hex(8) if traced else None
    headers = {} if trace_id is None else {"traceparent": f"00-{trace_id}-{span_id}-01"}
    start, t0 = time.time(), time.monotonic()
    with urllib.request.urlopen(urllib.request.Request(f"{url}{path}", headers=headers), timeout=30) as answer:
        answer.read()
        status = int(answer.status)
    return Sent(path, trace_id, span_id, start, time.monotonic() - t0, status)


def send_together(url: str, requests: List[tuple[str, bool]]) -> List[Sent]:
    """Send requests at once, one thread each (the server has 4 lanes); bounded by the urlopen timeout."""
    results: List[Optional[Sent]] = [None] * len(requests)

    def one(i: int, path: str, traced: bool) -> None:
        results[i] = send(url, path, traced)

    threads = [threading.Thread(target=one, args=(i, p, t)) for i, (p, t) in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None for r in results), "a request did not finish"
    return [r for r in results if r is not None]


@pytest.fixture
def trace_receiver() -> Iterator[TraceReceiver]:
    r = TraceReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def started(tmp_path: Path) -> Iterator[List[Callable[[], object]]]:
    """Stop functions of what a test started, called in reverse order."""
    stops: List[Callable[[], object]] = []
    yield stops
    for stop in reversed(stops):
        stop()


def endpoint_env(protocol: str, peer: TracesOtelcol) -> Dict[str, str]:
    env = {
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=otlp-test",
    }
    if protocol == "grpc":
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = peer.grpc_url
    else:
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = f"{peer.http_url}/v1/traces"
    if protocol == "http/json":
        env["OTEL_EXPORTER_OTLP_COMPRESSION"] = "gzip"
    return env


def self_metric(collector: Collector, name: str, labels: str) -> float:
    with urllib.request.urlopen(f"{collector.url}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    assert match is not None, f"{name}{{{labels}}} missing from /metrics"
    return float(match.group(1))


@pytest.mark.timeout(1800)  # the first test may build the OpenTelemetry Collector (bounded in otelcol_binary)
@pytest.mark.parametrize("protocol", ["http/protobuf", "http/json", "grpc"])
def test_slow_requests_reach_a_real_collector_as_span_trees_joined_to_the_callers_trace(
        protocol: str, tmp_path: Path, trace_receiver: TraceReceiver, started: List[Callable[[], object]]) -> None:
    peer = TracesOtelcol(otelcol_binary(), tmp_path, trace_receiver.url)
    started.append(peer.stop)
    peer.start()
    collector = start_exporting_collector(tmp_path, endpoint_env(protocol, peer))
    started.append(collector.stop)
    server = Server("gunicorn_gthread", tmp_path, collector.url, workers=2, threads=2,
                    env={"WSGISCOPE_SLOW_REQUEST_SECONDS": "1", "WSGISCOPE_TRACE_SAMPLE_RATIO": "0"}).start()
    started.append(server.stop)

    # Faster than the threshold, traced by the caller or not: no trace. Sent first, so a trace
    # they wrongly made would arrive no later than the slow requests' ones.
    fast = [send(server.url, "/hello", traced=True) for _ in range(6)]
    fast += send_together(server.url, [("/sleep?ms=300", True), ("/sleep?ms=300", True), ("/sleep?ms=300", False)])
    slow = send_together(server.url, [(f"/sleep?ms={SLOW_MS}", True)] * 3 + [(f"/sleep?ms={SLOW_MS}", False)])
    assert {s.status for s in fast + slow} == {200}

    def four_servers() -> Optional[List[ReceivedSpan]]:
        spans = trace_receiver.spans
        return spans if len([s for s in spans if s.kind == SERVER]) >= 4 else None

    wait_for(four_servers, 30, "4 SERVER spans to reach the receiver through the OpenTelemetry Collector")
    time.sleep(1.0)  # five export delays more: nothing else may come
    spans = trace_receiver.spans
    assert set(trace_receiver.paths) == {"/v1/traces"}
    servers = [s for s in spans if s.kind == SERVER]
    assert len(servers) == 4, [(s.name, s.duration_s) for s in servers]
    fast_ids = {s.trace_id for s in fast if s.trace_id is not None}
    assert not fast_ids & {s.trace_id for s in spans}, "a request faster than the threshold was traced"
    assert all(s.duration_s >= 1.0 for s in servers)
    assert {s.kind for s in spans} == {SERVER, INTERNAL}

    server_pids = set()
    for sent in slow:
        if sent.trace_id is not None:
            mine = [s for s in servers if s.trace_id == sent.trace_id]
            assert len(mine) == 1, f"no single SERVER span in the caller's trace {sent.trace_id}"
            root = mine[0]
            # Joined to the caller's trace: the caller's span is the parent, a remote one.
            assert root.parent_span_id == sent.parent_span_id
            assert root.flags & (SAMPLED | HAS_IS_REMOTE | IS_REMOTE) == SAMPLED | HAS_IS_REMOTE | IS_REMOTE
        else:
            mine = [s for s in servers if s.trace_id not in {x.trace_id for x in slow}]
            assert len(mine) == 1
            root = mine[0]
            assert root.parent_span_id == "" and root.flags & IS_REMOTE == 0  # a trace of its own
        # The SERVER span: the request as the shim timed it, inside what the client saw.
        assert SLOW_MS / 1000 <= root.duration_s <= sent.elapsed_s + 0.005, (root.duration_s, sent.elapsed_s)
        assert sent.start_s - 0.5 <= root.start_ns / 1e9 <= sent.start_s + sent.elapsed_s
        assert root.name.startswith("GET")
        assert root.attributes["http.request.method"] == "GET"
        assert root.attributes["http.response.status_code"] == 200
        assert root.attributes["wsgi.trace.reason"] == "slow"
        assert root.attributes["wsgi.thread.lane"] in (0, 1)
        assert root.status_code == 0  # unset
        assert (root.scope, root.scope_version) == ("wsgiscope", root.resource["wsgiscope.shim.version"])

        # One child per phase that happened, each once, with its total.
        children = [s for s in spans if s.parent_span_id == root.span_id]
        names = [c.name for c in children]
        assert len(names) == len(set(names)) and set(names) <= PHASES, names
        assert {"app", "write"} <= set(names), names
        for child in children:
            assert child.kind == INTERNAL and child.trace_id == root.trace_id
            assert child.attributes["wsgi.phase"] == child.name
            total_us = child.attributes["wsgi.phase.total_us"]
            assert isinstance(total_us, int) and 0 <= total_us <= (child.end_ns - child.start_ns) / 1000 + 1
            if child.name != "queue":
                assert root.start_ns <= child.start_ns <= child.end_ns <= root.end_ns, child.name
        app = next(c for c in children if c.name == "app")
        assert int(app.attributes["wsgi.phase.total_us"]) >= SLOW_MS * 1000

        # The worker's resource, as the metrics export names it, plus OTEL_RESOURCE_ATTRIBUTES.
        r = root.resource
        assert r["service.name"] == "e2e" and r["webengine.name"] == "gunicorn" and r["wsgi.worker.class"] == "gthread"
        assert r["deployment.environment.name"] == "otlp-test"
        pid = int(r["process.pid"])
        assert r["service.instance.id"] == f"{r['host.name']}:{pid}"
        assert server.pid in process_ancestors(pid), f"{pid} is not a worker of the server"
        server_pids.add(pid)
        assert all(c.resource == r for c in children)
    assert 1 <= len(server_pids) <= 2
    # Every span is a SERVER span or the child of one.
    assert {s.parent_span_id for s in spans if s.kind == INTERNAL} <= {s.span_id for s in servers}

    # The collector's self metrics: sent, nothing dropped.
    exported = self_metric(collector, "wsgiscope_collector_otlp_export_requests_total",
                           'signal="traces",outcome="sent"')
    assert exported >= 1
    for reason in ("queue_full", "retries_exhausted", "rejected", "partial", "shutdown"):
        assert self_metric(collector, "wsgiscope_collector_otlp_export_dropped_items_total",
                           f'signal="traces",reason="{reason}"') == 0
