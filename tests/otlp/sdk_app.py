"""A WSGI app instrumented by the real OpenTelemetry Python SDK and its WSGI instrumentation,
exporting to a collector by OTLP. Run as a process by the tests:

    python sdk_app.py --transport http-protobuf|http-json|grpc --endpoint URL_OR_HOST:PORT
                      --signals traces,metrics [--temporality cumulative|delta]

The resource comes from OTEL_RESOURCE_ATTRIBUTES (service.name, service.instance.id) and the
semconv flavour from OTEL_SEMCONV_STABILITY_OPT_IN, as for any instrumented app. It prints
``listening on PORT``. ``/ok`` answers 200, ``/missing`` 404, ``/fail`` 500, ``POST /items``
201. ``GET /__flush`` (outside the instrumentation) exports what the SDK holds: spans first,
then metrics, and answers 200 once both exporters returned.

http-json: the Python SDK has no OTLP/JSON exporter, so this one encodes the SDK's data with the
SDK's own encoder into the official proto classes (opentelemetry-proto), turns them into OTLP/JSON
with google.protobuf.json_format (camelCase names, int64 as strings, enums as ints) and writes the
ids as hex, as the OTLP/JSON encoding requires.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import urllib.request
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetrics
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetrics
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, UpDownCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

StartResponse = Callable[..., Any]


def app(environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == "/ok":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path == "/items" and environ.get("REQUEST_METHOD") == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"].read(length)
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [b"created"]
    if path == "/fail":
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"failed"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"missing"]


def _hex_ids(node: Any) -> Any:
    """json_format writes bytes as base64; OTLP/JSON wants trace and span ids as hex."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                out[key] = base64.b64decode(value).hex()
            else:
                out[key] = _hex_ids(value)
        return out
    if isinstance(node, list):
        return [_hex_ids(v) for v in node]
    return node


def _post_json(url: str, message: Any) -> bool:
    body = json.dumps(_hex_ids(json_format.MessageToDict(message, use_integers_for_enums=True))).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return bool(answer.status == 200)


class JsonSpanExporter(SpanExporter):
    def __init__(self, url: str) -> None:
        self.url = url

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = _post_json(self.url, encode_spans(spans))
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        return None


class JsonMetricExporter(MetricExporter):
    def __init__(self, url: str, temporality: Dict[type, AggregationTemporality]) -> None:
        super().__init__(preferred_temporality=temporality)
        self.url = url

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        ok = _post_json(self.url, encode_metrics(metrics_data))
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        return None


def exporters(transport: str, endpoint: str,
              temporality: Dict[type, AggregationTemporality]) -> tuple[SpanExporter, MetricExporter]:
    if transport == "http-protobuf":
        return (HttpSpans(endpoint=f"{endpoint}/v1/traces"),
                HttpMetrics(endpoint=f"{endpoint}/v1/metrics", preferred_temporality=temporality))
    if transport == "grpc":
        return (GrpcSpans(endpoint=endpoint, insecure=True),
                GrpcMetrics(endpoint=endpoint, insecure=True, preferred_temporality=temporality))
    if transport == "http-json":
        return JsonSpanExporter(f"{endpoint}/v1/traces"), JsonMetricExporter(f"{endpoint}/v1/metrics", temporality)
    raise SystemExit(f"unknown transport {transport!r}")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transport", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--signals", default="traces,metrics")
    parser.add_argument("--temporality", default="cumulative", choices=["cumulative", "delta"])
    args = parser.parse_args(argv)
    signals = set(args.signals.split(","))

    kind = AggregationTemporality.DELTA if args.temporality == "delta" else AggregationTemporality.CUMULATIVE
    temporality: Dict[type, AggregationTemporality] = {
        Counter: kind, Histogram: kind, UpDownCounter: AggregationTemporality.CUMULATIVE}
    span_exporter, metric_exporter = exporters(args.transport, args.endpoint, temporality)
    resource = Resource.create()  # OTEL_RESOURCE_ATTRIBUTES
    tracer_provider = TracerProvider(resource=resource)
    if "traces" in signals:
        tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter, schedule_delay_millis=3_600_000))
    readers = []
    if "metrics" in signals:
        readers.append(PeriodicExportingMetricReader(metric_exporter, export_interval_millis=3_600_000))
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    instrumented = OpenTelemetryMiddleware(app, tracer_provider=tracer_provider, meter_provider=meter_provider)

    def dispatch(environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/__flush":
            ok = tracer_provider.force_flush(10_000) and meter_provider.force_flush(10_000)
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"flushed" if ok else b"flush failed"]
        return instrumented(environ, start_response)

    server: WSGIServer = make_server("127.0.0.1", 0, dispatch, handler_class=QuietHandler)
    print(f"listening on {server.server_port}", flush=True)
    stop = threading.Event()
    try:
        while not stop.is_set():
            server.handle_request()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
