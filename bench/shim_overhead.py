"""Per-request overhead of WSGI instrumentation, called directly (no server).

    .venv/bin/python bench/shim_overhead.py [--requests 20000] [--repeats 7]

Compares, side by side in one process and one run:
  bare         the hello-world app itself
  wsgiscope    wsgiscope.wrap(app), shipping to a local sink process (real flusher work)
  wsgiscope-nocpu  the same with cpu_time=False (no per-request thread CPU clock reads)
  otel         opentelemetry-instrumentation-wsgi with the SDK (tracer + meter providers,
               spans batched to an exporter that does no I/O: the cheapest honest setup)
  prometheus   a prometheus_client middleware (Histogram + Counter with method/status labels)

Each variant runs the full WSGI cycle (call, iterate the body, close). Variants are
interleaved within each repeat so machine noise hits them alike; we report the median per
request and the overhead over bare, plus the ratios the brief targets.

wsgiscope's cost per request includes shipping the request's record, so each timed window of a
wsgiscope variant ends with a flush of what the window buffered (encoding, JSON, HTTP to the
sink), and the buffer holds a whole window: no record is dropped (the counts are printed; the
default buffer of 20,000 would drop most records at this bench's ~250,000 requests a second,
which no real worker serves, and a dropped record costs less than a shipped one). The sink runs
on another CPU than this process when there is one, as a collector would.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Tuple
from wsgiref.util import setup_testing_defaults

import wsgiscope
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from prometheus_client import CollectorRegistry, Counter, Histogram
from wsgiscope.batch import to_json

WSGIApp = Callable[..., Iterable[bytes]]

SINK = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        body = b'{"accepted": 0, "duplicate": false}'
        self.send_response(202); self.send_header('Content-Length', str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def hello(environ: Dict[str, Any], start_response: Callable[..., Any]) -> List[bytes]:
    body = b"Hello, world!"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "13")])
    return [body]


def make_wsgiscope(sink_port: int, window: int, cpu_time: bool = True) -> WSGIApp:
    return wsgiscope.wrap(
        hello,
        collector_url=f"http://127.0.0.1:{sink_port}",
        service_name="bench",
        cpu_time=cpu_time,
        max_buffer_records=max(20000, 2 * window),  # a whole timed window: nothing dropped
    )


def make_otel() -> WSGIApp:
    class NullExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(NullExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return OpenTelemetryMiddleware(
        hello, tracer_provider=tracer_provider, meter_provider=meter_provider
    )


def make_prometheus() -> WSGIApp:
    registry = CollectorRegistry()
    duration = Histogram(
        "http_request_duration_seconds", "d", ["method", "status"], registry=registry
    )
    count = Counter("http_requests_total", "c", ["method", "status"], registry=registry)

    def middleware(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start = time.perf_counter()
        status_holder: List[str] = []

        def sr(status: str, headers: Any, exc_info: Any = None) -> Any:
            status_holder.append(status[:3])
            return start_response(status, headers, exc_info)

        result = hello(environ, sr)
        try:
            yield from result
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
            status = status_holder[0] if status_holder else "500"
            method = environ["REQUEST_METHOD"]
            duration.labels(method, status).observe(time.perf_counter() - start)
            count.labels(method, status).inc()

    return middleware


def _other_cpus() -> set[int]:
    """The CPUs this process may not use (taskset): the sink goes there, so its work is not
    counted as ours. Empty when this process may use them all."""
    if not hasattr(os, "sched_getaffinity"):
        return set()
    return set(range(os.cpu_count() or 1)) - os.sched_getaffinity(0)


def one_environ() -> Dict[str, Any]:
    env: Dict[str, Any] = {}
    setup_testing_defaults(env)
    return env


def shipping_split(n: int, environ: Dict[str, Any]) -> Tuple[float, float]:
    """ns per record to encode (columns) and to write the JSON of one window's records, best of
    five: the flusher's share of the cost above (it also sends the bytes over HTTP)."""
    app = wsgiscope.wrap(hello, collector_url="http://127.0.0.1:9", service_name="bench",
                         max_buffer_records=2 * n, flush_interval_s=3600)
    agent = app.agent  # type: ignore[attr-defined]
    run(app, n, environ, ship=False)
    records = agent.buffer.drain(n)
    encode = write = float("inf")
    for _ in range(5):
        t0 = time.perf_counter_ns()
        batch = agent.build_batch(records, [])
        t1 = time.perf_counter_ns()
        to_json(batch)
        t2 = time.perf_counter_ns()
        encode, write = min(encode, (t1 - t0) / n), min(write, (t2 - t1) / n)
    return encode, write


def run(app: WSGIApp, n: int, environ: Dict[str, Any], ship: bool = True) -> float:
    """Mean ns per full request cycle over n requests (for wsgiscope, with shipping the
    window's records unless ``ship`` is false: then they stay in its buffer)."""

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[[bytes], None]:
        return lambda data: None

    agent = getattr(app, "agent", None)  # wsgiscope's
    gc.disable()
    t0 = time.perf_counter_ns()
    for _ in range(n):
        env = environ.copy()
        result = app(env, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if agent is not None and ship:  # ship this window's records, inside the timing
        agent.flush(30.0, wait_s=30.0)
    elapsed = time.perf_counter_ns() - t0
    gc.enable()
    return elapsed / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    others = _other_cpus()
    if others:
        os.sched_setaffinity(sink.pid, others)
    try:
        assert sink.stdout is not None
        sink_port = int(sink.stdout.readline())
        variants: List[Tuple[str, WSGIApp]] = [
            ("bare", hello),
            ("wsgiscope", make_wsgiscope(sink_port, args.requests)),
            ("wsgiscope-nocpu", make_wsgiscope(sink_port, args.requests, cpu_time=False)),
            ("otel", make_otel()),
            ("prometheus", make_prometheus()),
        ]
        environ = one_environ()
        for _name, app in variants:  # warm-up: imports, caches, lazy threads
            run(app, 2000, environ)
        samples: Dict[str, List[float]] = {name: [] for name, _ in variants}
        for _ in range(args.repeats):
            for name, app in variants:
                samples[name].append(run(app, args.requests, environ))
    finally:
        sink.terminate()
        sink.wait(timeout=10)

    dropped = {name: app.agent.buffer.dropped for name, app in variants
               if hasattr(app, "agent")}
    med = {name: statistics.median(v) for name, v in samples.items()}
    bare = med["bare"]
    print(f"python {sys.version.split()[0]}, {args.requests} requests x {args.repeats} repeats,"
          f" pid {os.getpid()}")
    print(f"{'variant':<16}{'median ns/req':>15}{'overhead ns':>14}")
    for name in samples:
        print(f"{name:<16}{med[name]:>15.0f}{med[name] - bare:>14.0f}")
    ours = med["wsgiscope"] - bare
    otel = med["otel"] - bare
    prom = med["prometheus"] - bare
    print(f"wsgiscope overhead / otel overhead       = {ours / otel:.3f}  (target <= 0.100)")
    print(f"wsgiscope overhead / prometheus overhead = {ours / prom:.3f}  (target < 1.000)")
    nocpu = med["wsgiscope-nocpu"] - bare
    print(f"wsgiscope-nocpu overhead / prometheus    = {nocpu / prom:.3f}")
    print(f"cost of per-request CPU time             = {ours - nocpu:.0f} ns")
    encode, write = shipping_split(args.requests, environ)
    print(f"shipping a record (flusher): encode {encode:.0f} ns, JSON {write:.0f} ns"
          " (one window's records, best of 5; then HTTP)")
    print("records dropped (must be 0): "
          + ", ".join(f"{name} {count}" for name, count in dropped.items()))


if __name__ == "__main__":
    main()
